package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/homeward-dev/homeward/controllers"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	platformv1alpha1 "github.com/homeward-dev/homeward/api/v1alpha1"
	"github.com/homeward-dev/homeward/internal/kratosserver"
	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/internal/process"
	"github.com/homeward-dev/homeward/internal/redisserver"
	"github.com/homeward-dev/homeward/internal/serviceserver"
	"github.com/homeward-dev/homeward/internal/supervise"
)

// Runtime runs each tenant's Redis and Kratos as local processes on loopback ports, with
// state under DataDir/<partnership>/. Processes are detached: an operator that restarts adopts
// them rather than interrupting its tenants. A process that dies is restarted with exponential
// backoff, and each change is reported through Changed so the tenant's conditions follow.
type Runtime struct {
	DataDir    string
	RedisPath  string
	KratosPath string
	// HomewardPath is the homeward binary that runs the tenant services; empty reports them missing.
	HomewardPath string
	// OTLPEndpoint receives the services' traces.
	OTLPEndpoint string
	// Secrets reads the Secrets tenants' specs point at (an external Kratos DSN) straight from the
	// API: they carry no operator labels, so the operator's cache does not hold them.
	Secrets client.Reader
	// Hasher for the tenants' Kratos; tests set the fast one.
	Hasher kratosserver.Hasher
	// Changed is called with a partnership's name whenever one of its processes stops or starts.
	Changed func(partnership string)
	Log     logr.Logger

	mu      sync.Mutex
	tenants map[string]*localTenant
}

type localTenant struct {
	redis    *supervise.Process[*redisserver.Server]
	kratos   *supervise.Process[*kratosserver.Server]
	services map[string]*supervisedService
}

// supervisedService is a service process and the configuration it runs with.
type supervisedService struct {
	*supervise.Process[*serviceserver.Server]
	digest string
}

// implementedServices are the tenant services the homeward binary provides.
var implementedServices = map[string]bool{controllers.ComponentReferral: true, controllers.ComponentHousing: true, controllers.ComponentReporting: true, controllers.ComponentPortal: true}

// reportCrash says whether a supervised process crashed since the last report; when it did, another
// reconcile is queued to report the recovery.
func reportCrash[S supervise.Server](l *Runtime, partnership string, p *supervise.Process[S]) bool {
	if !p.Crashed() {
		return false
	}
	l.changed(partnership)
	return true
}

// supervised keeps a tenant's process running, reconciling the tenant whenever it exits or returns.
func supervised[S supervise.Server](l *Runtime, partnership, component string, srv S) *supervise.Process[S] {
	return supervise.Start(srv, supervise.DefaultBackoff, l.Log.WithValues("partnership", partnership, "component", component),
		func() { l.changed(partnership) })
}

// Name implements controllers.Runtime.
func (l *Runtime) Name() string { return "local" }

func (l *Runtime) tenant(name string) *localTenant {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.tenants == nil {
		l.tenants = map[string]*localTenant{}
	}
	t, ok := l.tenants[name]
	if !ok {
		t = &localTenant{}
		l.tenants[name] = t
	}
	return t
}

// TenantDir is where a partnership's local state lives.
func (l *Runtime) TenantDir(partnership string) string {
	return filepath.Join(l.DataDir, partnership)
}

func (l *Runtime) changed(partnership string) {
	if l.Changed != nil {
		l.Changed(partnership)
	}
}

// Storage implements controllers.Runtime.
func (l *Runtime) Storage(ctx context.Context, t controllers.Tenant) (string, controllers.State, error) {
	p := t.Partnership
	lt := l.tenant(p.Name)
	if p.Spec.Suspend {
		err := lt.redis.Halt()
		lt.redis = nil
		return "", controllers.Waiting(platformv1alpha1.ReasonSuspended, "redis-server is stopped; its data is kept"), err
	}
	if lt.redis == nil {
		srv, err := redisserver.Start(ctx, redisserver.Options{
			Path: l.RedisPath, Dir: filepath.Join(l.TenantDir(p.Name), "redis"),
			AppendFsync: string(p.Spec.Storage.Redis.AppendFsync), AdminPassword: t.Keys.RedisAdmin,
			Users: controllers.RedisUsers(p.Name, t.Keys), Detached: true,
		})
		if err != nil {
			return "", controllers.State{}, fmt.Errorf("start redis-server: %w", err)
		}
		lt.redis = supervised(l, p.Name, controllers.ComponentRedis, srv)
	}
	srv := lt.redis.Server
	if reportCrash(l, p.Name, lt.redis) || !srv.Running() {
		return srv.Addr(), controllers.Waiting(platformv1alpha1.ReasonRedisStarting, "redis-server exited; it is restarted with backoff"), nil
	}
	st := controllers.Ready("redis-server running, pid " + strconv.Itoa(srv.Pid()))
	st.Endpoints = []platformv1alpha1.ServiceEndpoint{{Name: "redis", URL: "redis://" + srv.Addr()}}
	return srv.Addr(), st, nil
}

// Identity implements controllers.Runtime.
func (l *Runtime) Identity(ctx context.Context, t controllers.Tenant) (string, string, controllers.State, error) {
	p := t.Partnership
	lt := l.tenant(p.Name)
	if p.Spec.Suspend {
		err := lt.kratos.Halt()
		lt.kratos = nil
		return "", "", controllers.Waiting(platformv1alpha1.ReasonSuspended, "kratos is stopped; identities are kept"), err
	}
	if lt.kratos == nil {
		dir := filepath.Join(l.TenantDir(p.Name), "kratos")
		external, state, err := l.externalDSN(ctx, t)
		if err != nil || !state.Ready {
			return "", "", state, err
		}
		portalPort, err := l.portalPort(p.Name)
		if err != nil {
			return "", "", controllers.State{}, err
		}
		srv, err := kratosserver.Start(ctx, kratosserver.Options{
			Path: l.KratosPath, Dir: dir, ExternalDSN: external,
			PortalURL:    "http://127.0.0.1:" + strconv.Itoa(portalPort) + "/",
			DSN:          "sqlite://" + filepath.Join(dir, "kratos.db") + "?_fk=true&mode=rwc",
			Hasher:       l.Hasher,
			CookieSecret: t.Keys.KratosCookie, CipherSecret: t.Keys.KratosCipher,
			SessionLifespan: controllers.SessionLifespan(p),
			Detached:        true,
		})
		if err != nil {
			return "", "", controllers.State{}, fmt.Errorf("start kratos: %w", err)
		}
		lt.kratos = supervised(l, p.Name, controllers.ComponentKratos, srv)
	}
	srv := lt.kratos.Server
	if reportCrash(l, p.Name, lt.kratos) || !srv.Running() {
		return srv.PublicURL(), srv.AdminURL(), controllers.Waiting(platformv1alpha1.ReasonKratosStarting, "kratos exited; it is restarted with backoff"), nil
	}
	st := controllers.Ready("kratos running, pid " + strconv.Itoa(srv.Pid()))
	st.Endpoints = []platformv1alpha1.ServiceEndpoint{{Name: "kratos-public", URL: srv.PublicURL()}, {Name: "kratos-admin", URL: srv.AdminURL()}}
	return srv.PublicURL(), srv.AdminURL(), st, nil
}

// externalDSN reads the DSN of spec.identity.externalDSNSecretRef from the tenant namespace; ""
// when there is none. A missing Secret or key is reported, not retried blindly: the Secret's
// creation does not wake the operator, so the tenant is reconciled again on its next requeue.
func (l *Runtime) externalDSN(ctx context.Context, t controllers.Tenant) (string, controllers.State, error) {
	ref := t.Partnership.Spec.Identity.ExternalDSNSecretRef
	if ref == nil {
		return "", controllers.Ready(""), nil
	}
	if l.Secrets == nil {
		return "", controllers.State{}, errors.New("the local runtime has no API reader for the external DSN Secret")
	}
	var secret corev1.Secret
	err := l.Secrets.Get(ctx, client.ObjectKey{Namespace: t.Namespace, Name: ref.Name}, &secret)
	if apierrors.IsNotFound(err) {
		st := controllers.Waiting(platformv1alpha1.ReasonNotReady, fmt.Sprintf("waiting for Secret %s/%s with the external Kratos DSN", t.Namespace, ref.Name))
		st.RecheckAfter = 5 * time.Second
		return "", st, nil
	}
	if err != nil {
		return "", controllers.State{}, fmt.Errorf("read Secret %s/%s: %w", t.Namespace, ref.Name, err)
	}
	dsn := string(secret.Data[ref.Key])
	if dsn == "" {
		st := controllers.Waiting(platformv1alpha1.ReasonNotReady, fmt.Sprintf("Secret %s/%s has no key %q", t.Namespace, ref.Name, ref.Key))
		st.RecheckAfter = 5 * time.Second
		return "", st, nil
	}
	return dsn, controllers.Ready(""), nil
}

// Services implements Runtime: each wanted service runs as `homeward <service>` on a loopback
// port, restarted when it exits and replaced when its configuration (the policy) changes.
func (l *Runtime) Services(ctx context.Context, t controllers.Tenant) ([]platformv1alpha1.ServiceEndpoint, controllers.State, error) {
	p := t.Partnership
	lt := l.tenant(p.Name)
	if p.Spec.Suspend {
		return nil, controllers.Waiting(platformv1alpha1.ReasonSuspended, "services are stopped"), l.haltServices(lt, nil)
	}
	policy, err := controllers.ServicePolicy(p)
	if err != nil {
		return nil, controllers.State{}, err
	}
	var endpoints []platformv1alpha1.ServiceEndpoint
	var missing, starting []string
	var errs []error
	wanted := map[string]bool{}
	for _, c := range controllers.ServiceComponents {
		if controllers.Replicas(p, c) == 0 {
			continue
		}
		wanted[c] = true
		if !implementedServices[c] || l.HomewardPath == "" {
			missing = append(missing, c)
			continue
		}
		if lt.redis == nil || lt.kratos == nil {
			starting = append(starting, c)
			continue
		}
		redis, kratos := lt.redis.Server, lt.kratos.Server
		opts := serviceserver.Options{
			Path: l.HomewardPath, Service: controllers.ServiceSubcommand(c), Partnership: p.Name,
			Dir:       filepath.Join(l.TenantDir(p.Name), c),
			RedisAddr: redis.Addr(), RedisPassword: t.Keys.RedisUsers[c], PIIKey: t.Keys.PIIKey,
			KratosPublicURL: kratos.PublicURL(), Policy: policy, OTLPEndpoint: l.OTLPEndpoint, Detached: true,
			TraceSampleRatio: controllers.TraceSampleRatio(p),
		}
		if c == controllers.ComponentPortal {
			// The portal fronts the other services, on the port Kratos was told it lives at.
			urls := map[string]string{}
			for _, e := range endpoints {
				urls[e.Name] = e.URL
			}
			opts.ReferralURL, opts.HousingURL, opts.ReportingURL = urls[controllers.ComponentReferral], urls[controllers.ComponentHousing], urls[controllers.ComponentReporting]
			if opts.ReferralURL == "" || opts.HousingURL == "" || opts.ReportingURL == "" {
				starting = append(starting, c)
				continue
			}
			opts.KratosAdminURL, opts.AllowedEmailDomains = kratos.AdminURL(), strings.Join(p.Spec.Identity.AllowedEmailDomains, ",")
			if opts.Port, err = l.portalPort(p.Name); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if cur := lt.services[c]; cur != nil && cur.digest != opts.Digest() {
			errs = append(errs, cur.Halt())
			delete(lt.services, c)
		}
		if lt.services[c] == nil {
			srv, err := serviceserver.Start(ctx, opts)
			if err != nil {
				errs = append(errs, fmt.Errorf("start %s: %w", c, err))
				continue
			}
			if lt.services == nil {
				lt.services = map[string]*supervisedService{}
			}
			lt.services[c] = &supervisedService{Process: supervised(l, p.Name, c, srv), digest: opts.Digest()}
		}
		srv := lt.services[c].Server
		if reportCrash(l, p.Name, lt.services[c].Process) || !srv.Running() {
			starting = append(starting, c)
			continue
		}
		endpoints = append(endpoints, platformv1alpha1.ServiceEndpoint{Name: c, URL: srv.URL()})
	}
	errs = append(errs, l.haltServices(lt, wanted))
	if err := errors.Join(errs...); err != nil {
		return endpoints, controllers.State{}, err
	}
	switch {
	case len(missing) > 0:
		return endpoints, controllers.Waiting(platformv1alpha1.ReasonNoServiceBins,
			fmt.Sprintf("the homeward binary does not provide the %v services yet", missing)), nil
	case len(starting) > 0:
		return endpoints, controllers.Waiting(platformv1alpha1.ReasonServicesStarting, fmt.Sprintf("%v starting or restarting", starting)), nil
	case len(wanted) == 0:
		return nil, controllers.Ready("no service replicas requested"), nil
	}
	return endpoints, controllers.Ready(fmt.Sprintf("%d services running", len(endpoints))), nil
}

// haltServices stops the tenant's services that are not wanted (all of them when wanted is nil).
func (l *Runtime) haltServices(lt *localTenant, wanted map[string]bool) error {
	var errs []error
	for c, s := range lt.services {
		if !wanted[c] {
			errs = append(errs, s.Halt())
			delete(lt.services, c)
		}
	}
	return errors.Join(errs...)
}

// Ingress implements Runtime: locally there is no ingress; the portal's own loopback URL is published.
func (l *Runtime) Ingress(_ context.Context, t controllers.Tenant, publish bool) (string, error) {
	lt := l.tenant(t.Partnership.Name)
	cur := lt.services[controllers.ComponentPortal]
	if !publish || cur == nil {
		return "", nil
	}
	srv := cur.Server
	if !srv.Running() {
		return "", nil
	}
	return srv.URL() + "/", nil
}

// portalPort is the tenant portal's loopback port, chosen once and kept in the tenant's folder: Kratos
// is configured with the portal's URL before the portal starts, and both survive operator restarts.
func (l *Runtime) portalPort(partnership string) (int, error) {
	path := filepath.Join(l.TenantDir(partnership), "portal.port")
	if b, err := os.ReadFile(path); err == nil {
		if port, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil && port > 0 {
			return port, nil
		}
	}
	port, err := loopback.FreePort()
	if err != nil {
		return 0, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return 0, fmt.Errorf("tenant folder: %w", err)
	}
	if err := os.WriteFile(path, []byte(strconv.Itoa(port)+"\n"), 0o600); err != nil {
		return 0, fmt.Errorf("keep the portal port: %w", err)
	}
	return port, nil
}

// Teardown implements Runtime: stops the tenant's processes and, under the Delete policy,
// removes its data folder.
func (l *Runtime) Teardown(_ context.Context, p *platformv1alpha1.Partnership) error {
	l.mu.Lock()
	lt := l.tenants[p.Name]
	delete(l.tenants, p.Name)
	l.mu.Unlock()
	var errs []error
	if lt != nil {
		errs = append(errs, l.haltServices(lt, nil), lt.redis.Halt(), lt.kratos.Halt())
	} else {
		errs = append(errs, l.stopOrphans(p.Name))
	}
	if p.Spec.DeletionPolicy == platformv1alpha1.DeletionDelete {
		errs = append(errs, os.RemoveAll(l.TenantDir(p.Name)))
	}
	return errors.Join(errs...)
}

// stopOrphans stops processes a previous operator left for a tenant this one never supervised
// (it was deleted while no operator ran).
func (l *Runtime) stopOrphans(partnership string) error {
	var errs []error
	orphans := []struct{ dir, record string }{
		{filepath.Join(l.TenantDir(partnership), "redis"), "redis.process.json"},
		{filepath.Join(l.TenantDir(partnership), "kratos"), "kratos.process.json"},
	}
	for _, c := range controllers.ServiceComponents {
		orphans = append(orphans, struct{ dir, record string }{filepath.Join(l.TenantDir(partnership), c), controllers.ServiceSubcommand(c) + ".process.json"})
	}
	for _, c := range orphans {
		rec, err := process.ReadRecord(filepath.Join(c.dir, c.record))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if proc := process.Adopt(c.record, rec.Pid, c.dir); proc != nil {
			errs = append(errs, proc.Stop(10*time.Second))
		}
	}
	return errors.Join(errs...)
}

// Release stops supervising every tenant and leaves their processes running, for the next
// operator to adopt: two supervisors of one process would both restart it.
func (l *Runtime) Release() {
	l.mu.Lock()
	tenants := l.tenants
	l.tenants = nil
	l.mu.Unlock()
	for _, lt := range tenants {
		for _, s := range lt.services {
			s.Release()
		}
		lt.redis.Release()
		lt.kratos.Release()
	}
}

// StopAll stops every tenant's processes and keeps their data: the end of `make dev`.
func (l *Runtime) StopAll() error {
	l.mu.Lock()
	tenants := l.tenants
	l.tenants = nil
	l.mu.Unlock()
	var errs []error
	for _, lt := range tenants {
		errs = append(errs, l.haltServices(lt, nil), lt.redis.Halt(), lt.kratos.Halt())
	}
	return errors.Join(errs...)
}
