package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/demo"
	"github.com/homeward-dev/homeward/internal/importcmd"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/calendar"
)

// demoAdmin is the identity the demo history is imported by, and the one to sign in to the portal
// with: every staff role but the commissioner's, which sees no person.
type demoAdmin struct {
	Email, Password string
}

var demoRoles = []auth.Role{auth.RolePartnershipAdmin, auth.RoleManager, auth.RoleCoordinator, auth.RoleHousingOfficer, auth.RoleReferrer}

// demoEmail is on the partnership's first allowed domain, so its own rules admit the identity.
func demoEmail(p *v1.Partnership) string {
	domain := p.Name + ".example"
	if d := p.Spec.Identity.AllowedEmailDomains; len(d) > 0 {
		domain = d[0]
	} else if len(p.Spec.Admins) > 0 {
		if _, after, ok := strings.Cut(p.Spec.Admins[0].Email, "@"); ok {
			domain = after
		}
	}
	return "demo.admin@" + domain
}

// endpointOf is a URL the operator published in the partnership's status.
func endpointOf(p *v1.Partnership, name string) (string, error) {
	for _, e := range p.Status.Endpoints.Services {
		if e.Name == name {
			return e.URL, nil
		}
	}
	return "", fmt.Errorf("%s publishes no %s endpoint", p.Name, name)
}

// ensureDemoAdmin makes the demo identity with a password kept in dir, once; a lost password file
// replaces the identity.
func ensureDemoAdmin(ctx context.Context, p *v1.Partnership, dir string) (demoAdmin, error) {
	adminURL, err := endpointOf(p, "kratos-admin")
	if err != nil {
		return demoAdmin{}, err
	}
	api := kratosserver.Client(adminURL)
	a := demoAdmin{Email: demoEmail(p)}
	pwFile := filepath.Join(dir, "admin-password")
	existing, resp, err := api.IdentityAPI.ListIdentities(ctx).CredentialsIdentifier(a.Email).Execute()
	if err != nil {
		return a, fmt.Errorf("find %s: %w", a.Email, kratosserver.DescribeError(resp, err))
	}
	if b, err := os.ReadFile(pwFile); err == nil && len(existing) == 1 {
		a.Password = strings.TrimSpace(string(b))
		return a, nil
	}
	for _, id := range existing {
		if resp, err := api.IdentityAPI.DeleteIdentity(ctx, id.Id).Execute(); err != nil {
			return a, fmt.Errorf("replace %s: %w", a.Email, kratosserver.DescribeError(resp, err))
		}
	}
	secret := make([]byte, 12)
	if _, err := rand.Read(secret); err != nil {
		return a, err
	}
	a.Password = "demo-" + hex.EncodeToString(secret)
	body := kratosserver.PasswordIdentity(a.Email, "Demo Administrator", a.Password, auth.Metadata(p.Name, demoRoles...))
	if _, resp, err := api.IdentityAPI.CreateIdentity(ctx).CreateIdentityBody(body).Execute(); err != nil {
		return a, fmt.Errorf("create %s: %w", a.Email, kratosserver.DescribeError(resp, err))
	}
	if err := os.WriteFile(pwFile, []byte(a.Password+"\n"), 0o600); err != nil {
		return a, fmt.Errorf("keep the demo password: %w", err)
	}
	return a, nil
}

// demoFiles are the partnership's demo history in dir, written on the first run and reused after,
// so a later run imports nothing twice (every row has its import key).
func demoFiles(p *v1.Partnership, dir string, today calendar.Date) ([]string, error) {
	profile, ok := demo.Profiles()[p.Name]
	if !ok {
		profile = demo.Generic(p.Name)
	}
	for _, d := range p.Spec.Policy.FollowUpDays {
		profile.FollowUpDays = append(profile.FollowUpDays, int(d))
	}
	files, err := demo.Generate(profile, today)
	if err != nil {
		return nil, err
	}
	paths := make([]string, 0, len(files))
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
			if err := os.WriteFile(path, f.Data, 0o600); err != nil {
				return nil, fmt.Errorf("write %s: %w", path, err)
			}
		}
		paths = append(paths, path)
	}
	return paths, nil
}

// loadDemo imports the partnership's demo history with `homeward import`, signed in as the demo
// admin, and says what it did.
func loadDemo(ctx context.Context, p *v1.Partnership, stateDir string) (demoAdmin, string, error) {
	dir := filepath.Join(stateDir, "demo", p.Name)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return demoAdmin{}, "", err
	}
	admin, err := ensureDemoAdmin(ctx, p, dir)
	if err != nil {
		return admin, "", err
	}
	paths, err := demoFiles(p, dir, calendar.DateOf(time.Now()))
	if err != nil {
		return admin, "", err
	}
	urls := map[string]string{}
	for _, name := range []string{"referral", "housing", "kratos-public"} {
		if urls[name], err = endpointOf(p, name); err != nil {
			return admin, "", err
		}
	}
	var loaded []string
	for _, path := range paths {
		layout := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(path), p.Name+"-"), ".csv")
		service := "--housing-url=" + urls["housing"]
		if layout == "referrals" {
			service = "--referral-url=" + urls["referral"]
		}
		var out, problems bytes.Buffer
		args := []string{"--layout", layout, service, "--kratos-public-url", urls["kratos-public"],
			"--email", admin.Email, "--password-file", filepath.Join(dir, "admin-password"), path}
		if err := importcmd.Run(ctx, args, func(string) string { return "" }, &out, &problems); err != nil {
			return admin, "", fmt.Errorf("import %s: %w\n%s", filepath.Base(path), err, problems.String())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return admin, "", err
		}
		loaded = append(loaded, fmt.Sprintf("%d %s", bytes.Count(b, []byte("\n"))-1, layout))
	}
	return admin, strings.Join(loaded, ", "), nil
}
