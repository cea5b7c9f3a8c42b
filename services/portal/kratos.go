package portal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"

	"github.com/homeward-dev/homeward/internal/kratosserver"
)

// sessionCookie is Kratos' session cookie, set on the portal's host through the proxy.
const sessionCookie = "ory_kratos_session"

// identity speaks to the tenant's Kratos public API for the browser: it proxies the self-service
// endpoints onto the portal's host and reads flows to render them as portal pages.
type identity struct {
	public *url.URL
	client *http.Client
}

// proxy publishes Kratos' public API at kratosserver.PortalKratosPath, so the session cookie Kratos
// sets belongs to the portal's host. Kratos keeps its own CSRF protection on every flow.
func (id *identity) proxy() http.Handler {
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(id.public)
			pr.Out.URL.Path = strings.TrimSuffix(id.public.Path, "/") + "/" +
				strings.TrimPrefix(pr.In.URL.Path, kratosserver.PortalKratosPath)
			pr.Out.URL.RawPath = ""
			pr.SetXForwarded()
			pr.Out.Host = pr.In.Host
		},
		Transport: id.client.Transport,
	}
}

// flow is a self-service flow as Kratos returns it; the portal renders its nodes.
type flow struct {
	ID string `json:"id"`
	UI struct {
		Action   string    `json:"action"`
		Method   string    `json:"method"`
		Nodes    []node    `json:"nodes"`
		Messages []message `json:"messages"`
	} `json:"ui"`
	State string `json:"state"`
}

type node struct {
	Type       string `json:"type"`
	Group      string `json:"group"`
	Attributes struct {
		Name     string `json:"name"`
		Type     string `json:"type"`
		Value    any    `json:"value"`
		Required bool   `json:"required"`
		Disabled bool   `json:"disabled"`
		NodeType string `json:"node_type"`
		Autocomp string `json:"autocomplete"`
	} `json:"attributes"`
	Messages []message `json:"messages"`
	Meta     struct {
		Label *message `json:"label"`
	} `json:"meta"`
}

type message struct {
	ID   int64  `json:"id"`
	Text string `json:"text"`
	Type string `json:"type"`
}

// errFlowGone means the flow expired or belongs to another browser: start a new one.
var errFlowGone = errors.New("the flow has expired or is not this browser's")

// getFlow reads a flow of kind (login, recovery, settings) for the browser that sent r.
func (id *identity) getFlow(ctx context.Context, r *http.Request, kind, flowID string) (*flow, error) {
	u := id.public.JoinPath("self-service", kind, "flows")
	u.RawQuery = url.Values{"id": {flowID}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Cookie", r.Header.Get("Cookie"))
	req.Header.Set("Accept", "application/json")
	resp, err := id.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read %s flow: %w", kind, err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound, http.StatusGone, http.StatusForbidden, http.StatusBadRequest:
		return nil, errFlowGone
	default:
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return nil, fmt.Errorf("read %s flow: HTTP %d: %s", kind, resp.StatusCode, b)
	}
	var f flow
	if err := json.NewDecoder(resp.Body).Decode(&f); err != nil {
		return nil, fmt.Errorf("decode %s flow: %w", kind, err)
	}
	return &f, nil
}

// flowError reads the message of a self-service error Kratos sent the browser to /error with.
func (id *identity) flowError(ctx context.Context, errID string) string {
	u := id.public.JoinPath("self-service", "errors")
	u.RawQuery = url.Values{"id": {errID}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return ""
	}
	resp, err := id.client.Do(req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var e struct {
		Error struct {
			Message string `json:"message"`
			Reason  string `json:"reason"`
		} `json:"error"`
	}
	if json.NewDecoder(resp.Body).Decode(&e) != nil {
		return ""
	}
	if e.Error.Reason != "" {
		return e.Error.Reason
	}
	return e.Error.Message
}

// logoutURL asks Kratos for the browser's sign-out link.
func (id *identity) logoutURL(ctx context.Context, r *http.Request) (string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, id.public.JoinPath("self-service", "logout", "browser").String(), nil)
	if err != nil {
		return "", err
	}
	req.Header.Set("Cookie", r.Header.Get("Cookie"))
	req.Header.Set("Accept", "application/json")
	resp, err := id.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("sign out: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("sign out: HTTP %d", resp.StatusCode)
	}
	var out struct {
		LogoutURL string `json:"logout_url"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return "", fmt.Errorf("decode sign-out link: %w", err)
	}
	return out.LogoutURL, nil
}
