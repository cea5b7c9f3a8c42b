package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	kratos "github.com/ory/kratos-client-go"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/singleflight"

	"github.com/homeward-dev/homeward/services/kit/httpapi"
)

// SessionCookie is the name of Kratos' session cookie.
const SessionCookie = "ory_kratos_session"

// Principal is the authenticated caller.
type Principal struct {
	IdentityID  string
	Email       string
	Name        string
	Partnership string
	Roles       []Role
	expires     time.Time // when the cached answer must be asked again
	sessionEnds time.Time
}

// Staff names a member of a partnership's staff as records name them: who made a referral, who
// recorded a follow-up.
type Staff struct {
	ID    string `json:"id"`
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Staff is the principal as a record names them; a missing principal is nobody.
func (p *Principal) Staff() Staff {
	if p == nil {
		return Staff{}
	}
	return Staff{ID: p.IdentityID, Name: p.Name, Email: p.Email}
}

// RoleNames lists the principal's roles as strings.
func (p *Principal) RoleNames() []string {
	out := make([]string, len(p.Roles))
	for i, r := range p.Roles {
		out[i] = string(r)
	}
	return out
}

// ExpiresAt is when the principal's session ends (zero when Kratos did not say).
func (p *Principal) ExpiresAt() time.Time { return p.sessionEnds }

// Has reports whether the principal holds role r.
func (p *Principal) Has(r Role) bool { return slices.Contains(p.Roles, r) }

// Can reports whether the principal holds p.
func (p *Principal) Can(perm Permission) bool { return Allowed(p.Roles, perm) }

type principalKey struct{}

// From returns the principal of an authenticated request.
func From(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok
}

// WithPrincipal is the context a handler sees after authentication.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

var (
	errNoCredential = errors.New("no session: send the session cookie, X-Session-Token or Authorization: Bearer")
	errRejected     = errors.New("the session is not valid or has expired")
)

// unavailableError is Kratos failing to answer, which must never let a request through.
type unavailableError struct{ err error }

func (e *unavailableError) Error() string { return "identity service unavailable: " + e.err.Error() }
func (e *unavailableError) Unwrap() error { return e.err }

// Unavailable reports whether err means Kratos could not be asked, rather than that it said no.
func Unavailable(err error) bool {
	var u *unavailableError
	return errors.As(err, &u)
}

// Options configure an Authenticator.
type Options struct {
	Partnership string
	// KratosPublicURL is the tenant's Kratos public API.
	KratosPublicURL string
	// HTTPClient calls Kratos (instrumented with client spans by the caller).
	HTTPClient *http.Client
	// CacheTTL bounds how long a positive answer is reused; at most 30 s.
	CacheTTL time.Duration
	// MaxEntries bounds the cache.
	MaxEntries int
	Registerer prometheus.Registerer
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// Authenticator checks sessions with Kratos and caches positive answers keyed by a hash of the
// credential, for the shorter of the cache period and the session's remaining life.
type Authenticator struct {
	opts   Options
	kratos *kratos.APIClient
	group  singleflight.Group

	mu    sync.Mutex
	cache map[[32]byte]*Principal

	checks  *prometheus.CounterVec
	cached  prometheus.Counter
	latency prometheus.Histogram
}

// MaxCacheTTL is the longest a session answer is reused: a revoked session stops working within it.
const MaxCacheTTL = 30 * time.Second

// New builds an Authenticator.
func New(opts Options) (*Authenticator, error) {
	if opts.Partnership == "" || opts.KratosPublicURL == "" {
		return nil, errors.New("auth: partnership and Kratos public URL are required")
	}
	if opts.CacheTTL <= 0 || opts.CacheTTL > MaxCacheTTL {
		opts.CacheTTL = MaxCacheTTL
	}
	if opts.MaxEntries <= 0 {
		opts.MaxEntries = 50_000
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{Timeout: 5 * time.Second}
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cfg := kratos.NewConfiguration()
	cfg.Servers = kratos.ServerConfigurations{{URL: strings.TrimSuffix(opts.KratosPublicURL, "/")}}
	cfg.HTTPClient = opts.HTTPClient
	a := &Authenticator{
		opts:   opts,
		kratos: kratos.NewAPIClient(cfg),
		cache:  map[[32]byte]*Principal{},
		checks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "homeward_auth_kratos_checks_total", Help: "Session checks sent to Kratos, by result.",
		}, []string{"result"}),
		cached: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "homeward_auth_cache_hits_total", Help: "Requests authenticated from the session cache.",
		}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "homeward_auth_kratos_check_duration_seconds", Help: "How long Kratos took to answer a session check.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}),
	}
	if opts.Registerer != nil {
		opts.Registerer.MustRegister(a.checks, a.cached, a.latency)
	}
	return a, nil
}

type credential struct {
	cookie string // the whole session cookie, name=value
	token  string
}

func credentialOf(r *http.Request) (credential, bool) {
	if t := r.Header.Get("X-Session-Token"); t != "" {
		return credential{token: t}, true
	}
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, t, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") && t != "" {
			return credential{token: strings.TrimSpace(t)}, true
		}
		return credential{}, false
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		return credential{cookie: c.Name + "=" + c.Value}, true
	}
	return credential{}, false
}

func (c credential) hash() [32]byte {
	if c.token != "" {
		return sha256.Sum256([]byte("token\x00" + c.token))
	}
	return sha256.Sum256([]byte("cookie\x00" + c.cookie))
}

// Authenticate returns the principal of the request's credential.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (*Principal, error) {
	cred, ok := credentialOf(r)
	if !ok {
		return nil, errNoCredential
	}
	key := cred.hash()
	if p, hit := a.lookup(key); hit {
		return p, nil
	}
	// Concurrent requests with the same credential share one Kratos call. A request that missed the
	// cache just before another's call stored its answer looks again inside the flight, rather than
	// asking Kratos a second time.
	v, err, _ := a.group.Do(string(key[:]), func() (any, error) {
		if p, hit := a.lookup(key); hit {
			return p, nil
		}
		p, err := a.whoami(context.WithoutCancel(ctx), cred)
		if err != nil {
			return nil, err
		}
		a.store(key, p)
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*Principal), nil
}

// lookup returns the cached principal of a credential while its answer holds, counting the hit.
func (a *Authenticator) lookup(key [32]byte) (*Principal, bool) {
	now := a.opts.Now()
	a.mu.Lock()
	p, hit := a.cache[key]
	if hit && !now.Before(p.expires) {
		delete(a.cache, key)
		hit = false
	}
	a.mu.Unlock()
	if hit {
		a.cached.Inc()
	}
	return p, hit
}

// Forget drops every cached answer for the identity, so its next request is checked with Kratos:
// how a deactivation or a change of roles takes effect at once rather than within MaxCacheTTL.
func (a *Authenticator) Forget(identityID string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for k, p := range a.cache {
		if p.IdentityID == identityID {
			delete(a.cache, k)
		}
	}
}

// Changes carries the ids of identities whose state or roles changed, published by the portal
// when the partnership admin changes a user (the channel is keyspace.Tenant.AuthChanges).
type Changes interface {
	// Next blocks until an identity id arrives, or fails when the subscription ends.
	Next(ctx context.Context) (string, error)
}

// Follow forgets each identity a change names until ctx ends. A change missed while the
// subscription was down still takes effect within MaxCacheTTL.
func (a *Authenticator) Follow(ctx context.Context, changes Changes) {
	for {
		id, err := changes.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			continue
		}
		a.Forget(id)
	}
}

func (a *Authenticator) store(key [32]byte, p *Principal) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.cache) >= a.opts.MaxEntries {
		now := a.opts.Now()
		for k, v := range a.cache {
			if !now.Before(v.expires) {
				delete(a.cache, k)
			}
		}
		// Still full: forget an arbitrary half rather than grow without bound.
		for k := range a.cache {
			if len(a.cache) < a.opts.MaxEntries/2 {
				break
			}
			delete(a.cache, k)
		}
	}
	a.cache[key] = p
}

func (a *Authenticator) whoami(ctx context.Context, cred credential) (*Principal, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req := a.kratos.FrontendAPI.ToSession(ctx)
	if cred.token != "" {
		req = req.XSessionToken(cred.token)
	} else {
		req = req.Cookie(cred.cookie)
	}
	asked := time.Now()
	session, resp, err := req.Execute()
	a.latency.Observe(time.Since(asked).Seconds())
	if resp != nil && resp.Body != nil {
		_ = resp.Body.Close()
	}
	switch {
	case err == nil:
	case resp != nil && (resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden):
		a.checks.WithLabelValues("rejected").Inc()
		return nil, errRejected
	case resp != nil:
		a.checks.WithLabelValues("error").Inc()
		return nil, &unavailableError{err: fmt.Errorf("kratos answered %s", resp.Status)}
	default:
		a.checks.WithLabelValues("error").Inc()
		return nil, &unavailableError{err: err}
	}
	if session.Active != nil && !*session.Active || session.Identity == nil {
		a.checks.WithLabelValues("rejected").Inc()
		return nil, errRejected
	}
	a.checks.WithLabelValues("accepted").Inc()
	p := principalOf(session)
	expires := a.opts.Now().Add(a.opts.CacheTTL)
	if session.ExpiresAt != nil && session.ExpiresAt.Before(expires) {
		expires = *session.ExpiresAt
	}
	p.expires = expires
	if session.ExpiresAt != nil {
		p.sessionEnds = *session.ExpiresAt
	}
	return p, nil
}

// The keys of an identity's metadata_public: which partnership it belongs to and its roles. The
// operator writes them when it invites an admin; only the admin API can change them.
const (
	MetadataPartnership = "partnership"
	MetadataRoles       = "roles"
)

// Metadata is the metadata_public of a staff identity of the partnership with the roles.
func Metadata(partnership string, roles ...Role) map[string]any {
	names := make([]any, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return map[string]any{MetadataPartnership: partnership, MetadataRoles: names}
}

func principalOf(s *kratos.Session) *Principal {
	p := &Principal{IdentityID: s.Identity.Id}
	if traits, ok := s.Identity.Traits.(map[string]any); ok {
		p.Email, _ = traits["email"].(string)
		p.Name, _ = traits["name"].(string)
	}
	if meta, ok := s.Identity.MetadataPublic.(map[string]any); ok {
		p.Partnership, _ = meta[MetadataPartnership].(string)
		if roles, ok := meta[MetadataRoles].([]any); ok {
			for _, r := range roles {
				if name, ok := r.(string); ok && KnownRole(Role(name)) {
					p.Roles = append(p.Roles, Role(name))
				}
			}
		}
	}
	return p
}

// Middleware authenticates every request and refuses sessions of another partnership, even
// ones Kratos accepted.
func (a *Authenticator) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := a.Authenticate(r.Context(), r)
		var unavailable *unavailableError
		switch {
		case errors.As(err, &unavailable):
			w.Header().Set("Retry-After", "1")
			httpapi.WriteProblem(w, r, httpapi.Unavailable("the identity service cannot be reached; try again shortly"))
			return
		case err != nil:
			w.Header().Set("WWW-Authenticate", `Bearer realm="homeward"`)
			httpapi.WriteProblem(w, r, httpapi.Unauthorized(err.Error()))
			return
		case p.Partnership != a.opts.Partnership:
			httpapi.WriteProblem(w, r, httpapi.Forbidden("this session belongs to another partnership"))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
	})
}

// Require lets a request through only when its principal holds one of perms.
func Require(next http.Handler, perms ...Permission) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok := From(r.Context())
		if !ok {
			httpapi.WriteProblem(w, r, httpapi.Unauthorized(errNoCredential.Error()))
			return
		}
		for _, perm := range perms {
			if p.Can(perm) {
				next.ServeHTTP(w, r)
				return
			}
		}
		httpapi.WriteProblem(w, r, httpapi.Forbidden(fmt.Sprintf("your roles (%s) do not allow this", strings.Join(p.RoleNames(), ", "))))
	})
}

// Ready checks that Kratos answers its readiness probe.
func (a *Authenticator) Ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(a.opts.KratosPublicURL, "/")+"/health/ready", nil)
	if err != nil {
		return err
	}
	resp, err := a.opts.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("kratos: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kratos readiness: %s", resp.Status)
	}
	return nil
}

// ChecksCounter counts the session checks sent to Kratos (all results).
func (a *Authenticator) ChecksCounter() prometheus.Collector { return a.checks }
