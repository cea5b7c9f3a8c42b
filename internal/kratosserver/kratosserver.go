// Package kratosserver runs a real Ory Kratos server: one per tenant in the local runtime, one per
// suite in tests. Roles and the partnership live in metadata_public, which users cannot edit; the
// identity schema holds only the traits a user may change.
package kratosserver

import (
	"bytes"
	"context"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/internal/process"
)

// IdentitySchema is Homeward's identity schema: email (the login identifier and recovery address)
// and name.
//
//go:embed identity.schema.json
var IdentitySchema []byte

// SchemaID names IdentitySchema in Kratos.
const SchemaID = "homeward"

// DSNMemory keeps identities in memory: fast, gone on restart. Tests use it.
const DSNMemory = "memory"

// Hasher chooses how Kratos hashes passwords.
type Hasher string

const (
	// HasherProduction is Kratos' default, bcrypt cost 12 (~240 ms of CPU per hash).
	HasherProduction Hasher = "production"
	// HasherFastForTests is argon2id with one iteration over 1 MB: fast enough to create many
	// identities in a test, far too weak for real passwords. Never use it outside tests.
	HasherFastForTests Hasher = "fast-for-tests"
)

// Options configure a server.
type Options struct {
	// Path of the kratos binary.
	Path string
	// Dir holds configuration, the identity schema, the SQLite database if any, and the log.
	Dir string
	// DSN is DSNMemory (default) or e.g. "sqlite://<dir>/kratos.db?_fk=true"; SQL DSNs are
	// migrated before the server starts.
	DSN string
	// Schema overrides IdentitySchema.
	Schema []byte
	// Hasher defaults to HasherProduction.
	Hasher Hasher
	// PublicPort and AdminPort at 127.0.0.1; 0 picks free ones, kept across restarts.
	PublicPort, AdminPort int
	// CookieSecret and CipherSecret (32 characters) are generated when empty.
	CookieSecret, CipherSecret string
	// SessionLifespan defaults to 8 hours, one shift.
	SessionLifespan time.Duration
	// StartTimeout bounds how long Start waits for readiness; default 60 s.
	StartTimeout time.Duration
	// Detached servers outlive this process and are adopted by the next Start on the same Dir
	// (see process.Adopt): a restarted operator must not interrupt its tenants.
	Detached bool
	// ExtraEnv is added to the server's environment.
	ExtraEnv []string
	// PortalURL is the tenant portal's base URL ("http://127.0.0.1:8080/"). When set, browsers reach
	// Kratos through the portal at PortalURL + PortalKratosPath, so its cookies belong to the portal's
	// host, and Kratos sends them to the portal's sign-in, recovery, settings and error pages.
	PortalURL string
	// ExternalDSN is an external database (e.g. PostgreSQL) given to Kratos in its environment,
	// for migration and serving, so the credentials it holds are never written to kratos.yaml.
	// It replaces DSN.
	ExternalDSN string
}

// Server is a running (or restartable) Kratos.
type Server struct {
	opts Options
	proc process.Current
}

func (o *Options) validate() error {
	var errs []error
	if o.Path == "" {
		errs = append(errs, errors.New("kratos path is required"))
	}
	if o.Dir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	if o.ExternalDSN != "" {
		o.DSN = ""
	} else if o.DSN == "" {
		o.DSN = DSNMemory
	}
	if o.Schema == nil {
		o.Schema = IdentitySchema
	}
	switch o.Hasher {
	case "":
		o.Hasher = HasherProduction
	case HasherProduction, HasherFastForTests:
	default:
		errs = append(errs, fmt.Errorf("hasher %q: want %q or %q", o.Hasher, HasherProduction, HasherFastForTests))
	}
	if o.CipherSecret != "" && len(o.CipherSecret) != 32 {
		errs = append(errs, fmt.Errorf("cipher secret must be exactly 32 characters, got %d", len(o.CipherSecret)))
	}
	if o.CookieSecret != "" && len(o.CookieSecret) < 16 {
		errs = append(errs, errors.New("cookie secret must be at least 16 characters"))
	}
	if o.SessionLifespan == 0 {
		o.SessionLifespan = 8 * time.Hour
	}
	if o.SessionLifespan < time.Minute {
		errs = append(errs, fmt.Errorf("session lifespan %s is under a minute", o.SessionLifespan))
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 60 * time.Second
	}
	return errors.Join(errs...)
}

// Start writes the configuration into opts.Dir, migrates an SQL database, and starts
// `kratos serve`, returning once the admin readiness endpoint answers 200.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("kratos options: %w", err)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("kratos data dir: %w", err)
	}
	// A folder the caller made (a test's, a data dir) may be open to others; what it holds is not.
	if err := os.Chmod(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("make the data dir private: %w", err)
	}
	if opts.CookieSecret == "" {
		opts.CookieSecret = randomHex(16)
	}
	if opts.CipherSecret == "" {
		opts.CipherSecret = randomHex(16)
	}
	s := &Server{opts: opts}
	if opts.Detached && s.adopt(ctx) {
		return s, nil
	}
	if err := s.start(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) recordPath() string { return filepath.Join(s.opts.Dir, "kratos.process.json") }

// adopt takes over a kratos a previous supervisor left running on this folder, if it is ready.
func (s *Server) adopt(ctx context.Context) bool {
	rec, err := process.ReadRecord(s.recordPath())
	if err != nil || rec.Pid == 0 {
		return false
	}
	proc := process.Adopt("kratos", rec.Pid, s.opts.Dir)
	if proc == nil {
		return false
	}
	s.opts.PublicPort, s.opts.AdminPort = rec.Ports["public"], rec.Ports["admin"]
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if s.Ready(readyCtx) != nil {
		_ = proc.Kill()
		s.opts.PublicPort, s.opts.AdminPort = 0, 0
		return false
	}
	s.proc.Set(proc)
	return true
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool { return s.proc.Running() }

// Done is closed when the current kratos exits; nil when none runs.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

// PublicURL is the base URL of the public (self-service, whoami) API.
func (s *Server) PublicURL() string { return "http://127.0.0.1:" + strconv.Itoa(s.opts.PublicPort) }

// AdminURL is the base URL of the admin API; only the platform may reach it.
func (s *Server) AdminURL() string { return "http://127.0.0.1:" + strconv.Itoa(s.opts.AdminPort) }

// LogPath is where kratos writes its log.
func (s *Server) LogPath() string { return filepath.Join(s.opts.Dir, "kratos.log") }

// Pid is the current process id, 0 when stopped.
func (s *Server) Pid() int { return s.proc.Pid() }

func (s *Server) configPath() string { return filepath.Join(s.opts.Dir, "kratos.yaml") }

func (s *Server) start(ctx context.Context) error {
	return process.RetryOnPortTaken(
		func() { s.opts.PublicPort, s.opts.AdminPort = 0, 0 },
		func() error { return s.startOnce(ctx) },
	)
}

func (s *Server) startOnce(ctx context.Context) error {
	for _, port := range []*int{&s.opts.PublicPort, &s.opts.AdminPort} {
		if *port != 0 {
			continue
		}
		p, err := loopback.FreePort()
		if err != nil {
			return err
		}
		*port = p
	}
	if err := s.writeConfig(); err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}
	proc, err := process.StartReady(ctx, process.Launch{
		Spec: process.Spec{
			Name: "kratos", Path: s.opts.Path, Dir: s.opts.Dir,
			Args: []string{"serve", "--config", s.configPath()},
			// SQLite creates the identity database 0644 (and its journal alike) under the default umask.
			PrivateFiles: true,
			Env:          append(s.dsnEnv(), s.opts.ExtraEnv...),
			Detached:     s.opts.Detached,
		},
		LogPath:      s.LogPath(),
		Ready:        s.Ready,
		Interval:     50 * time.Millisecond,
		Timeout:      s.opts.StartTimeout,
		PortTakenLog: "address already in use",
		Started:      s.record,
	})
	if err != nil {
		return err
	}
	s.proc.Set(proc)
	return nil
}

// record writes a detached process's record as soon as it runs (see process.Launch.Started).
func (s *Server) record(proc *process.Process) error {
	if !s.opts.Detached {
		return nil
	}
	return process.WriteRecord(s.recordPath(), process.Record{Pid: proc.Pid(), Ports: map[string]int{"public": s.opts.PublicPort, "admin": s.opts.AdminPort}})
}

func (s *Server) dsn() string {
	if s.opts.ExternalDSN != "" {
		return s.opts.ExternalDSN
	}
	return s.opts.DSN
}

// dsnEnv is the serving environment: no usage telemetry (the network is closed and tenants' data
// stays home), and the external DSN when there is one.
func (s *Server) dsnEnv() []string {
	env := []string{"SQA_OPT_OUT=true"}
	if s.opts.ExternalDSN != "" {
		env = append(env, "DSN="+s.opts.ExternalDSN)
	}
	return env
}

// Ready checks the admin readiness endpoint, which answers 200 only once the database is usable.
func (s *Server) Ready(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.AdminURL()+"/admin/health/ready", nil)
	if err != nil {
		return fmt.Errorf("kratos readiness request: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("kratos readiness: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("kratos readiness: HTTP %d", resp.StatusCode)
	}
	return nil
}

func (s *Server) migrate(ctx context.Context) error {
	if s.opts.DSN == DSNMemory {
		return nil // the memory DSN migrates itself on start
	}
	cmd := exec.CommandContext(ctx, s.opts.Path, "migrate", "sql", "--read-from-env", "--yes", "--config", s.configPath())
	cmd.Env = append(append(os.Environ(), "DSN="+s.dsn(), "SQA_OPT_OUT=true"), s.opts.ExtraEnv...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := process.WithPrivateUmask(cmd.Start); err != nil {
		return fmt.Errorf("kratos migrate: %w", err)
	}
	if err := cmd.Wait(); err != nil {
		return fmt.Errorf("kratos migrate: %w: %s", err, lastLines(out.String(), 10))
	}
	return nil
}

func (s *Server) writeConfig() error {
	schemaPath := filepath.Join(s.opts.Dir, "identity.schema.json")
	if err := os.WriteFile(schemaPath, s.opts.Schema, 0o600); err != nil {
		return fmt.Errorf("write identity schema: %w", err)
	}
	public := s.PublicURL() + "/"
	if s.opts.PortalURL != "" {
		public = strings.TrimSuffix(s.opts.PortalURL, "/") + PortalKratosPath
	}
	b, err := ConfigFile(Config{
		DSN:       s.opts.DSN,
		PublicURL: public, AdminURL: s.AdminURL() + "/", PortalURL: s.opts.PortalURL,
		Host: "127.0.0.1", PublicPort: s.opts.PublicPort, AdminPort: s.opts.AdminPort,
		SchemaURL:       "file://" + schemaPath,
		SessionLifespan: s.opts.SessionLifespan,
		CookieSecret:    s.opts.CookieSecret, CipherSecret: s.opts.CipherSecret,
		Hasher: s.opts.Hasher,
	})
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.configPath(), b, 0o600); err != nil {
		return fmt.Errorf("write kratos config: %w", err)
	}
	return nil
}

// Config is what kratos.yaml says, in every runtime.
type Config struct {
	// DSN may be empty when the DSN comes from the environment (an external database).
	DSN                   string
	PublicURL, AdminURL   string
	Host                  string
	PublicPort, AdminPort int
	SchemaURL             string
	// PortalURL is where the tenant's portal serves the login, recovery and settings pages;
	// links Kratos builds (invitations among them) point there.
	PortalURL       string
	SessionLifespan time.Duration
	CookieSecret    string
	CipherSecret    string
	Hasher          Hasher
}

// PortalKratosPath is where a portal publishes its tenant's Kratos public API on its own host.
const PortalKratosPath = "/.ory/kratos/public/"

// ConfigFile renders kratos.yaml.
func ConfigFile(c Config) ([]byte, error) {
	config := map[string]any{
		"serve": map[string]any{
			"public": map[string]any{"base_url": c.PublicURL, "host": c.Host, "port": c.PublicPort},
			"admin":  map[string]any{"base_url": c.AdminURL, "host": c.Host, "port": c.AdminPort},
		},
		"identity": map[string]any{
			"default_schema_id": SchemaID,
			"schemas":           []any{map[string]any{"id": SchemaID, "url": c.SchemaURL}},
		},
		"selfservice": map[string]any{
			"default_browser_return_url": c.PublicURL,
			"methods": map[string]any{
				"password": map[string]any{"enabled": true},
				"code":     map[string]any{"enabled": true},
			},
			"flows": map[string]any{
				// Partnership admins invite staff; nobody signs themselves up.
				"registration": map[string]any{"enabled": false},
				"recovery":     map[string]any{"enabled": true, "use": "code"},
				"login":        map[string]any{"lifespan": "10m"},
			},
		},
		"session": map[string]any{"lifespan": c.SessionLifespan.String()},
		"secrets": map[string]any{
			"cookie": []string{c.CookieSecret},
			"cipher": []string{c.CipherSecret},
		},
		"ciphers": map[string]any{"algorithm": "xchacha20-poly1305"},
		"hashers": hashers(c.Hasher),
		// Mail is sent by the tenant's courier, not by the server process; the URI is required
		// by the configuration schema.
		"courier": map[string]any{"smtp": map[string]any{"connection_uri": "smtp://127.0.0.1:25/?disable_starttls=true"}},
		"log":     map[string]any{"level": "warning", "format": "json", "leak_sensitive_values": false},
	}
	if c.DSN != "" {
		config["dsn"] = c.DSN
	}
	if c.PortalURL != "" {
		flows := config["selfservice"].(map[string]any)["flows"].(map[string]any)
		for flow, page := range map[string]string{"login": "login", "recovery": "recovery", "settings": "settings", "verification": "verification", "error": "error"} {
			f, ok := flows[flow].(map[string]any)
			if !ok {
				f = map[string]any{}
				flows[flow] = f
			}
			f["ui_url"] = strings.TrimSuffix(c.PortalURL, "/") + "/" + page
		}
		config["selfservice"].(map[string]any)["default_browser_return_url"] = c.PortalURL
		flows["logout"] = map[string]any{"after": map[string]any{"default_browser_return_url": strings.TrimSuffix(c.PortalURL, "/") + "/signed-out"}}
	}
	b, err := yaml.Marshal(config)
	if err != nil {
		return nil, fmt.Errorf("encode kratos config: %w", err)
	}
	return b, nil
}

func hashers(h Hasher) map[string]any {
	if h == HasherFastForTests {
		return map[string]any{
			"algorithm": "argon2",
			"argon2":    map[string]any{"memory": "1MB", "iterations": 1, "parallelism": 1},
		}
	}
	return map[string]any{"algorithm": "bcrypt", "bcrypt": map[string]any{"cost": 12}}
}

// Kill SIGKILLs kratos, as a crash would. Restart brings it back on the same ports and data.
func (s *Server) Kill() error { return s.proc.Kill() }

// Restart starts kratos again after Kill, Stop or an exit of its own.
func (s *Server) Restart(ctx context.Context) error {
	if s.Running() {
		return errors.New("kratos is still running")
	}
	return s.start(ctx)
}

// Stop shuts kratos down gracefully.
func (s *Server) Stop() error { return s.proc.Stop(10 * time.Second) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
