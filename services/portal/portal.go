// Package portal is `homeward portal`: the web pages a partnership's staff work in, one instance per
// tenant. It renders server-side HTML with GOV.UK and MoJ Frontend, talks to the tenant's services
// only through their HTTP APIs (the clients generated from their OpenAPI descriptions, forwarding the
// user's session and trace context), and signs people in through the tenant's Kratos, published on the
// portal's own host. It keeps nothing of its own but half-written referrals, sealed, for 24 hours.
package portal

import (
	"bytes"
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/ogen-go/ogen/ogenerrors"
	kratos "github.com/ory/kratos-client-go"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"

	"github.com/homeward-dev/homeward/clients/housing"
	"github.com/homeward-dev/homeward/clients/referral"
	"github.com/homeward-dev/homeward/clients/reporting"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/telemetry"
	"github.com/homeward-dev/homeward/services/portal/ui"
)

// Name is the portal's service name: its Redis ACL user, its span and log name.
const Name = "portal"

//go:embed templates
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Portal serves one partnership's pages.
type Portal struct {
	app       *app.Service
	identity  *identity
	referrals *referral.Client
	reports   *reporting.Client
	housing   *housing.Client
	// kratosAdmin manages the partnership's staff identities, from the server side only.
	kratosAdmin *kratos.APIClient
	pages       map[string]*template.Template
	csrfSecret  []byte
	display     string
	// buffers hold pages while they render, reused so a busy portal does not allocate a page per request.
	buffers sync.Pool
}

// New builds the portal on the kit's service (Redis as the portal's ACL user, Kratos, telemetry).
func New(a *app.Service) (*Portal, error) {
	cfg := a.Config
	var missing []error
	for flagName, v := range map[string]string{"referral-url": cfg.ReferralURL, "housing-url": cfg.HousingURL, "reporting-url": cfg.ReportingURL,
		"kratos-admin-url": cfg.KratosAdminURL} {
		if v == "" {
			missing = append(missing, fmt.Errorf("--%s is required by the portal", flagName))
		}
	}
	if err := errors.Join(missing...); err != nil {
		return nil, err
	}
	public, err := url.Parse(cfg.KratosPublicURL)
	if err != nil {
		return nil, fmt.Errorf("kratos public URL: %w", err)
	}
	// Every page is a call to a service on the same few hosts: keep enough idle connections for all the
	// users at once, or each page pays for a new TCP connection (the default keeps two per host).
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConns, base.MaxIdleConnsPerHost = 256, 64
	transport := otelhttp.NewTransport(base, otelhttp.WithTracerProvider(a.Tracing), otelhttp.WithPropagators(telemetry.Propagator()))
	client := &http.Client{Timeout: 10 * time.Second, Transport: transport}
	refs, err := referral.NewClient(cfg.ReferralURL, forwardedSession{}, referral.WithClient(client))
	if err != nil {
		return nil, fmt.Errorf("referral client: %w", err)
	}
	reports, err := reporting.NewClient(cfg.ReportingURL, reportingSession{}, reporting.WithClient(client))
	if err != nil {
		return nil, fmt.Errorf("reporting client: %w", err)
	}
	homes, err := housing.NewClient(cfg.HousingURL, housingSession{}, housing.WithClient(client))
	if err != nil {
		return nil, fmt.Errorf("housing client: %w", err)
	}
	adminCfg := kratos.NewConfiguration()
	adminCfg.Servers = kratos.ServerConfigurations{{URL: cfg.KratosAdminURL}}
	adminCfg.HTTPClient = client
	memo, err := ui.NewMemo()
	if err != nil {
		return nil, err
	}
	pages, err := parsePages(memo)
	if err != nil {
		return nil, err
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	p := &Portal{
		app: a, identity: &identity{public: public, client: &http.Client{Timeout: 10 * time.Second, Transport: transport}},
		referrals: refs, reports: reports, housing: homes, kratosAdmin: kratos.NewAPIClient(adminCfg), pages: pages, csrfSecret: secret, display: displayName(cfg.Partnership),
		buffers: sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
	p.routes()
	return p, nil
}

// Run is `homeward portal`: it serves the pages until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, o app.Options) error {
	cfg, err := config.Parse(Name, args, getenv)
	if err != nil {
		return err
	}
	a, err := app.New(ctx, Name, cfg, o)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	if _, err := New(a); err != nil {
		return errors.Join(fmt.Errorf("start: %w", err), a.Close(ctx))
	}
	return a.Run(ctx)
}

func (p *Portal) routes() {
	a := p.app
	assets, _ := fs.Sub(assetFS, "assets")
	a.Public("GET /assets/", http.StripPrefix("/assets/", http.FileServerFS(assets)))
	a.Public(kratosserver.PortalKratosPath, p.identity.proxy())
	page := func(pattern string, h http.HandlerFunc) { a.Public(pattern, p.guard(h)) }
	a.Public("GET /login", p.wrap(p.login))
	a.Public("GET /recovery", p.wrap(p.recovery))
	a.Public("GET /settings", p.wrap(p.settings))
	a.Public("GET /verification", p.wrap(p.recovery))
	a.Public("GET /error", p.wrap(p.kratosError))
	a.Public("GET /signed-out", p.wrap(p.static("signed-out", "You have been signed out")))
	a.Public("GET /accessibility", p.wrap(p.static("accessibility", "Accessibility statement")))
	a.Public("GET /privacy", p.wrap(p.static("privacy", "Privacy notice")))
	a.Public("GET /cookies", p.wrap(p.static("cookies", "Cookies")))
	a.Public("POST /sign-out", p.wrap(p.signOut))
	page("GET /{$}", p.home)
	page("GET /referrals", p.board)
	page("GET /my-referrals", p.mine)
	page("GET /referrals/{id}", p.record)
	page("POST /referrals/{id}/key-worker", p.assignMe)
	page("POST /referrals/{id}/first-contact", p.firstContact)
	page("POST /referrals/{id}/notes", p.addNote)
	page("POST /referrals/{id}/actions", p.commission)
	page("POST /referrals/{id}/actions/{action}", p.updateAction)
	page("POST /referrals/{id}/transitions", p.transition)
	page("POST /referrals/{id}/follow-ups/{days}", p.followUp)
	page("POST /referrals/{id}/readmissions", p.readmission)
	page("GET /actions/overdue", p.overdueActions)
	page("GET /audit", p.audit)
	page("GET /units", p.units)
	page("GET /units/new", p.newUnit)
	page("POST /units", p.createUnit)
	page("GET /units/calendar", p.calendar)
	page("GET /units/{id}", p.unitPage)
	page("GET /units/{id}/edit", p.editUnit)
	page("POST /units/{id}", p.createUnit)
	page("POST /units/{id}/transitions", p.unitTransition)
	page("GET /placements/find", p.findUnit)
	page("POST /placements", p.book)
	page("GET /placements/over-stays", p.overStays)
	page("GET /placements/housing-benefit", p.benefitUnclaimed)
	page("GET /placements/{id}", p.placementPage)
	page("POST /placements/{id}/transitions", p.placementTransition)
	page("GET /users", p.users)
	page("GET /users/invite", p.inviteForm)
	page("POST /users/invite", p.invite)
	page("GET /users/{id}", p.userPage)
	page("POST /users/{id}/roles", p.setRoles)
	page("POST /users/{id}/active", p.setActive)
	page("GET /closure-days", p.closureDays)
	page("POST /closure-days", p.changeClosureDays)
	page("GET /rehousing", p.rehousingList)
	page("POST /rehousing", p.openRehousing)
	page("GET /rehousing/{id}", p.rehousingPage)
	page("POST /rehousing/{id}/{step}", p.rehousingStep)
	page("GET /outcomes", p.outcomes)
	page("GET /outcomes.csv", p.outcomesCSV)
	page("GET /follow-ups/due", p.followUpsDue)
	page("GET /refer", p.referForm)
	page("POST /refer", p.referSubmit)
	page("GET /refer/{section}", p.referForm)
	page("POST /refer/{section}", p.referSubmit)
	page("POST /refer/nhs-number", p.nhsNumberCheck)
}

// Handler is the portal's whole HTTP surface.
func (p *Portal) Handler() http.Handler { return p.app.Handler() }

// wrap adds the security headers and cross-origin protection to a page.
func (p *Portal) wrap(h http.HandlerFunc) http.Handler {
	return secureHeaders(http.NewCrossOriginProtection().Handler(h))
}

type principalKey struct{}

// guard lets a page through only with a session of this partnership that holds a role; a browser
// without a session is sent to sign in, and a state-changing form must carry the session's token.
func (p *Portal) guard(h http.HandlerFunc) http.Handler {
	return p.wrap(func(w http.ResponseWriter, r *http.Request) {
		if _, err := r.Cookie(sessionCookie); err != nil {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		who, err := p.app.Auth.Authenticate(r.Context(), r)
		switch {
		case auth.Unavailable(err):
			p.fail(w, r, http.StatusServiceUnavailable, err)
			return
		case err != nil:
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		case who.Partnership != p.app.Config.Partnership || len(who.Roles) == 0:
			p.notAuthorised(w, r)
			return
		}
		if r.Method == http.MethodPost && !p.checkCSRF(r) {
			p.render(w, r, http.StatusForbidden, "problem", view{Title: "Your form could not be sent",
				Message: "The form had expired or did not come from this portal. Go back, reload the page and try again."})
			return
		}
		h(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, who)))
	})
}

func principalOf(r *http.Request) *auth.Principal {
	who, _ := r.Context().Value(principalKey{}).(*auth.Principal)
	return who
}

// forwardedSession hands the services the signed-in user's own session, so each service decides
// and audits with the user's identity; the portal holds no credential of its own.
type forwardedSession struct{}

var skip = ogenerrors.ErrSkipClientSecurity

type sessionValueKey struct{}

func withSession(r *http.Request) context.Context {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return r.Context()
	}
	return context.WithValue(r.Context(), sessionValueKey{}, c.Value)
}

func (forwardedSession) SessionCookie(ctx context.Context, _ referral.OperationName) (referral.SessionCookie, error) {
	v, _ := ctx.Value(sessionValueKey{}).(string)
	return referral.SessionCookie{APIKey: v}, nil
}

func (forwardedSession) Bearer(context.Context, referral.OperationName) (referral.Bearer, error) {
	return referral.Bearer{}, skip
}

func (forwardedSession) SessionToken(context.Context, referral.OperationName) (referral.SessionToken, error) {
	return referral.SessionToken{}, skip
}
