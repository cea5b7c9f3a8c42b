// Package servicetest runs a tenant service in a test against a real redis-server and a real
// Kratos, with a clock the test controls and an HTTP client that speaks the API's conventions.
package servicetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/keyspace"
)

// Clock is a settable clock.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now reads the clock.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	c.now = t
	c.mu.Unlock()
}

// Advance moves the clock on by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// Tenant is one partnership's real Redis and Kratos.
type Tenant struct {
	Name     string
	Redis    *redisserver.Server
	Identity *testenv.Identity
	// Admin reads Redis as its administrator, to look at raw keys.
	Admin  *redis.Client
	dir    string
	keys   map[string]string // service → password
	piiKey []byte
}

// StartTenant starts Redis (appendfsync always, one ACL user per service with the production
// rules) and Kratos for a partnership.
func StartTenant(t testing.TB, name string) *Tenant {
	return StartTenantWith(t, name, kratosserver.Options{})
}

// StartTenantWith is StartTenant with Kratos options, e.g. the PortalURL a portal test serves on.
func StartTenantWith(t testing.TB, name string, kratos kratosserver.Options) *Tenant {
	t.Helper()
	return StartTenantIn(t, name, "", kratos)
}

// StartTenantIn is StartTenantWith keeping Redis' files in redisDir (a fresh folder when empty),
// e.g. a small filesystem that fills up.
func StartTenantIn(t testing.TB, name, redisDir string, kratos kratosserver.Options) *Tenant {
	t.Helper()
	tn := &Tenant{Name: name, dir: t.TempDir(), keys: map[string]string{}, piiKey: make([]byte, 32)}
	_, _ = rand.Read(tn.piiKey)
	var users []redisserver.User
	for _, svc := range []string{keyspace.ServiceReferral, keyspace.ServiceHousing, keyspace.ServiceReporting, keyspace.ServicePortal} {
		pw := randomString()
		tn.keys[svc] = pw
		users = append(users, redisserver.User{Name: svc, Password: pw, Rules: keyspace.For(name).ACLRules(svc)})
	}
	tn.Redis = testenv.Redis(t, redisserver.Options{Dir: redisDir, AppendFsync: "always", Users: users})
	tn.Admin = tn.Redis.AdminClient()
	t.Cleanup(func() { _ = tn.Admin.Close() })
	tn.Identity = testenv.Kratos(t, kratos)
	return tn
}

func randomString() string {
	b := make([]byte, 18)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ServiceClient is a Redis client as a service's ACL user.
func (tn *Tenant) ServiceClient(service string) *redis.Client {
	return tn.Redis.Client(service, tn.keys[service])
}

// Config is the configuration a service of this tenant runs with.
func (tn *Tenant) Config(t testing.TB, service string, policy config.Policy) config.Config {
	t.Helper()
	pw := filepath.Join(tn.dir, service+".password")
	key := filepath.Join(tn.dir, "pii.key")
	if err := os.WriteFile(pw, []byte(tn.keys[service]), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte(base64.StdEncoding.EncodeToString(tn.piiKey)), 0o600); err != nil {
		t.Fatal(err)
	}
	policyJSON, err := json.Marshal(policy)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(service, []string{
		"--partnership=" + tn.Name, "--listen=127.0.0.1:0", "--redis-addr=" + tn.Redis.Addr(),
		"--redis-password-file=" + pw, "--pii-key-file=" + key, "--kratos-public-url=" + tn.Identity.PublicURL(),
		"--policy=" + string(policyJSON), "--log-level=error",
	}, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Serve builds a service of this tenant, lets register add its routes, and serves it on loopback;
// in a test every exchange is checked against the service's OpenAPI description (see Contract).
func Serve(t testing.TB, cfg config.Config, o app.Options, register func(*app.Service)) (*app.Service, *httptest.Server) {
	t.Helper()
	a, err := app.New(context.Background(), cfg.RedisUser, cfg, o)
	if err != nil {
		t.Fatal(err)
	}
	register(a)
	handler := a.Handler()
	// Tests (not benchmarks, whose figures it would distort) hold the service to its description.
	if tt, ok := t.(*testing.T); ok && a.OpenAPI() != nil {
		contract := NewContract(t, a.Name, a.OpenAPI())
		handler = contract.Handler(tt, handler)
		t.Cleanup(func() {
			t.Logf("contract %s: %d requests and %d responses checked against openapi.yaml",
				a.Name, contract.Requests.Load(), contract.Responses.Load())
		})
	}
	srv := httptest.NewServer(handler)
	t.Cleanup(func() {
		srv.Close()
		_ = a.Close(context.Background())
	})
	return a, srv
}

// Person creates an identity with roles in a partnership and returns a client logged in as it.
func (tn *Tenant) Person(t testing.TB, base, email, partnership string, roles ...string) *Client {
	t.Helper()
	r := make([]any, len(roles))
	for i, role := range roles {
		r[i] = role
	}
	id, token, err := tn.Identity.CreateAndLogin(context.Background(), testenv.Person{
		Email: email, Name: "Test " + email, Password: "correct horse battery staple " + email,
		MetadataPublic: map[string]any{"partnership": partnership, "roles": r},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &Client{Base: base, Token: token, ID: id, t: t}
}

// Client calls a service as one person.
type Client struct {
	Base, Token, ID string
	t               testing.TB
}

// Response is a finished call.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test if it cannot.
func (r *Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Problem decodes an RFC 9457 body.
func (r *Response) Problem(t testing.TB) map[string]any {
	t.Helper()
	if ct := r.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("status %d with Content-Type %q, want application/problem+json: %s", r.Status, ct, r.Body)
	}
	var p map[string]any
	r.JSON(t, &p)
	return p
}

// Do sends a request; body is JSON-encoded unless it is []byte or string. headers are name, value pairs.
func (c *Client) Do(method, path string, body any, headers ...string) *Response {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		j, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: out}
}

// Must sends a request and fails the test unless the status is want.
func (c *Client) Must(want int, method, path string, body any, headers ...string) *Response {
	c.t.Helper()
	r := c.Do(method, path, body, headers...)
	if r.Status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.Status, want, r.Body)
	}
	return r
}

// As is the same client for another test (subtests report their own failures).
func (c *Client) As(t testing.TB) *Client {
	cp := *c
	cp.t = t
	return &cp
}

// String describes the client.
func (c *Client) String() string { return fmt.Sprintf("client %s", c.ID) }
