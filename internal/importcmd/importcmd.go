// Package importcmd is `homeward import`: it signs a partnership admin in to the tenant's Kratos and
// sends CSV files of past records to the tenant's services, printing what each import did or every
// problem it found, by file, row and column.
package importcmd

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/services/kit/app"
)

// layouts are the layouts each service imports, by the flag naming the service's URL.
var layouts = map[string]string{"referrals": "referral-url", "units": "housing-url", "placements": "housing-url", "voids": "housing-url", "rehousing-cases": "housing-url"}

// layoutNames lists the layouts in the order a partnership brings them: a placement names its unit
// and its referral, so those come first.
var layoutNames = []string{"referrals", "units", "placements", "voids", "rehousing-cases"}

// Run is `homeward import [flags] FILE...`.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("import", flag.ContinueOnError)
	fs.SetOutput(stderr)
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	layout := fs.String("layout", "referrals", "the files' layout (docs/import.md): "+strings.Join(layoutNames, ", "))
	urls := map[string]*string{
		"referral-url": fs.String("referral-url", env("HOMEWARD_REFERRAL_URL", ""), "the tenant's referral API (referrals)"),
		"housing-url":  fs.String("housing-url", env("HOMEWARD_HOUSING_URL", ""), "the tenant's housing-options API (units, placements, voids, rehousing-cases)"),
	}
	kratosURL := fs.String("kratos-public-url", env("HOMEWARD_KRATOS_PUBLIC_URL", ""), "the tenant's Kratos public API, to sign in")
	email := fs.String("email", env("HOMEWARD_IMPORT_EMAIL", ""), "the partnership admin's email")
	passwordFile := fs.String("password-file", env("HOMEWARD_IMPORT_PASSWORD_FILE", ""), "a file holding the admin's password")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var errs []error
	serviceFlag, ok := layouts[*layout]
	serviceURL := ""
	if ok {
		serviceURL = *urls[serviceFlag]
	} else {
		errs = append(errs, fmt.Errorf("--layout %q: want one of %s", *layout, strings.Join(layoutNames, ", ")))
		serviceFlag, serviceURL = "referral-url", "-"
	}
	for _, f := range []struct{ name, value string }{{serviceFlag, serviceURL}, {"kratos-public-url", *kratosURL}, {"email", *email}, {"password-file", *passwordFile}} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("--%s is required", f.name))
		}
	}
	if fs.NArg() == 0 {
		errs = append(errs, errors.New("name at least one CSV file"))
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	pw, err := os.ReadFile(*passwordFile)
	if err != nil {
		return fmt.Errorf("read the password: %w", err)
	}
	client := &http.Client{Timeout: app.ImportTimeLimit + time.Minute}
	token, err := signIn(ctx, client, *kratosURL, *email, strings.TrimSpace(string(pw)))
	if err != nil {
		return err
	}
	failed := 0
	for _, path := range fs.Args() {
		ok, err := send(ctx, client, serviceURL, *layout, token, path, stdout, stderr)
		if err != nil {
			return err
		}
		if !ok {
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d file(s) not imported in full: see the problems above", failed)
	}
	return nil
}

// signIn logs in through Kratos' native login flow and returns the session token.
func signIn(ctx context.Context, c *http.Client, kratos, email, password string) (string, error) {
	var flow struct {
		UI struct {
			Action string `json:"action"`
		} `json:"ui"`
	}
	if err := call(ctx, c, http.MethodGet, strings.TrimRight(kratos, "/")+"/self-service/login/api", nil, &flow); err != nil {
		return "", fmt.Errorf("start signing in: %w", err)
	}
	body, _ := json.Marshal(map[string]string{"method": "password", "identifier": email, "password": password})
	var session struct {
		Token string `json:"session_token"`
	}
	if err := call(ctx, c, http.MethodPost, flow.UI.Action, body, &session); err != nil {
		return "", fmt.Errorf("sign in as %s: %w", email, err)
	}
	if session.Token == "" {
		return "", errors.New("signed in without a session token")
	}
	return session.Token, nil
}

func call(ctx context.Context, c *http.Client, method, u string, body []byte, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %d: %s", u, resp.StatusCode, strings.TrimSpace(string(b)))
	}
	return json.Unmarshal(b, out)
}

// send imports one file; ok is false when the service found problems in it (printed to stderr).
func send(ctx context.Context, c *http.Client, service, layout, token, path string, stdout, stderr io.Writer) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, fmt.Errorf("open %s: %w", path, err)
	}
	defer func() { _ = f.Close() }()
	u := strings.TrimRight(service, "/") + "/v1/imports?" + url.Values{"layout": {layout}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, f)
	if err != nil {
		return false, err
	}
	req.Header.Set("Content-Type", "text/csv")
	req.Header.Set("X-Import-File", filepath.Base(path))
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return false, fmt.Errorf("send %s: %w", path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return false, err
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var rep struct {
			File                      string
			SHA256                    string
			Rows, Imported, Unchanged int
		}
		if err := json.Unmarshal(b, &rep); err != nil {
			return false, fmt.Errorf("read the import's report: %w", err)
		}
		_, err := fmt.Fprintf(stdout, "%s: %d rows, %d imported, %d unchanged (sha256 %s)\n", rep.File, rep.Rows, rep.Imported, rep.Unchanged, rep.SHA256)
		return true, err
	case http.StatusUnprocessableEntity, http.StatusConflict:
		var prob struct {
			Detail       string
			ImportErrors []struct {
				File, Column, Message string
				Row                   int
			}
		}
		if err := json.Unmarshal(b, &prob); err != nil {
			return false, fmt.Errorf("read the import's problems: %w", err)
		}
		for _, e := range prob.ImportErrors {
			where := fmt.Sprintf("%s:%d", e.File, e.Row)
			if e.Column != "" {
				where += ":" + e.Column
			}
			fmt.Fprintf(stderr, "%s: %s\n", where, e.Message)
		}
		fmt.Fprintln(stderr, prob.Detail)
		return false, nil
	}
	return false, fmt.Errorf("import %s: the service answered %d: %s", path, resp.StatusCode, strings.TrimSpace(string(b)))
}
