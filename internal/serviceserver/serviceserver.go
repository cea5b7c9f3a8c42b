// Package serviceserver runs a Homeward tenant service (`homeward referral`, …) as a local
// process on a loopback port: its secrets in files beside it, its configuration in its
// environment, ready once /readyz answers.
package serviceserver

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/internal/process"
	"github.com/homeward-dev/homeward/services/kit/config"
)

// Options say which service to run for which tenant.
type Options struct {
	// Path of the homeward binary.
	Path string
	// Service is the subcommand, e.g. "referral".
	Service     string
	Partnership string
	// Dir holds the service's secret files, process record and log.
	Dir             string
	RedisAddr       string
	RedisPassword   string
	PIIKey          []byte
	KratosPublicURL string
	// Policy is the Partnership's {"policy": …, "costModel": …} as JSON.
	Policy       string
	OTLPEndpoint string
	// TraceSampleRatio is the share of the traces the service starts that are kept ("" keeps all).
	TraceSampleRatio string
	// ReferralURL, HousingURL and ReportingURL are the tenant's service APIs, for the portal.
	ReferralURL, HousingURL, ReportingURL string
	// KratosAdminURL and AllowedEmailDomains are the portal's, for the partnership admin's user pages.
	KratosAdminURL, AllowedEmailDomains string
	// Port on 127.0.0.1; 0 picks a free one, kept across restarts.
	Port         int
	Detached     bool
	StartTimeout time.Duration
}

// Server is a running (or restartable) service process.
type Server struct {
	opts Options
	proc process.Current
}

func (o *Options) validate() error {
	var errs []error
	for name, v := range map[string]string{"path": o.Path, "service": o.Service, "partnership": o.Partnership, "dir": o.Dir,
		"redis address": o.RedisAddr, "redis password": o.RedisPassword, "kratos public URL": o.KratosPublicURL} {
		if v == "" {
			errs = append(errs, fmt.Errorf("%s is required", name))
		}
	}
	if len(o.PIIKey) != 32 {
		errs = append(errs, errors.New("the personal-data key must be 32 bytes"))
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 30 * time.Second
	}
	return errors.Join(errs...)
}

// Start runs the service, or adopts the one a previous supervisor left running with the same
// configuration, and returns once it is ready.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("%s options: %w", opts.Service, err)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("%s dir: %w", opts.Service, err)
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

func (s *Server) recordPath() string {
	return filepath.Join(s.opts.Dir, s.opts.Service+".process.json")
}

// Digest covers everything that changes the process's behaviour, secrets included (hashed): a
// supervisor restarts the service when it changes.
func (o Options) Digest() string {
	h := sha256.New()
	for _, part := range []string{o.Path, o.Service, o.Partnership, o.RedisAddr, o.RedisPassword,
		string(o.PIIKey), o.KratosPublicURL, o.Policy, o.OTLPEndpoint, o.TraceSampleRatio, o.ReferralURL, o.HousingURL, o.ReportingURL,
		o.KratosAdminURL, o.AllowedEmailDomains} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

func (s *Server) digest() string { return s.opts.Digest() }

func (s *Server) adopt(ctx context.Context) bool {
	rec, err := process.ReadRecord(s.recordPath())
	if err != nil || rec.Pid == 0 {
		return false
	}
	proc := process.Adopt(s.opts.Service, rec.Pid, s.opts.Dir)
	if proc == nil {
		return false
	}
	if rec.Config != s.digest() {
		_ = proc.Stop(10 * time.Second) // started with another configuration: replace it
		return false
	}
	s.opts.Port = rec.Ports["http"]
	readyCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if s.ready(readyCtx) != nil {
		_ = proc.Kill()
		s.opts.Port = 0
		return false
	}
	s.proc.Set(proc)
	return true
}

// URL is the service's base URL.
func (s *Server) URL() string { return "http://" + s.Addr() }

// Addr is host:port.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.opts.Port) }

// LogPath is where the service writes its log.
func (s *Server) LogPath() string { return filepath.Join(s.opts.Dir, s.opts.Service+".log") }

// Pid is the current process id, 0 when stopped.
func (s *Server) Pid() int { return s.proc.Pid() }

// Service is the subcommand the process runs, e.g. "referral".
func (s *Server) Service() string { return s.opts.Service }

// Running reports whether the process is alive.
func (s *Server) Running() bool { return s.proc.Running() }

// Done is closed when the current process exits.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

// Kill SIGKILLs the service, as a crash would.
func (s *Server) Kill() error { return s.proc.Kill() }

// Stop lets in-flight requests finish, then stops the service.
func (s *Server) Stop() error { return s.proc.Stop(25 * time.Second) }

// Restart starts the service again on the same port after Kill, Stop or an exit of its own.
func (s *Server) Restart(ctx context.Context) error {
	if s.Running() {
		return fmt.Errorf("%s is still running", s.opts.Service)
	}
	return s.start(ctx)
}

func (s *Server) ready(ctx context.Context) error { return loopback.GetOK(ctx, s.URL()+"/readyz") }

func (s *Server) start(ctx context.Context) error {
	return process.RetryOnPortTaken(func() { s.opts.Port = 0 }, func() error { return s.startOnce(ctx) })
}

func (s *Server) startOnce(ctx context.Context) error {
	if s.opts.Port == 0 {
		port, err := loopback.FreePort()
		if err != nil {
			return err
		}
		s.opts.Port = port
	}
	passwordFile := filepath.Join(s.opts.Dir, "redis-password")
	keyFile := filepath.Join(s.opts.Dir, "pii-key")
	if err := os.WriteFile(passwordFile, []byte(s.opts.RedisPassword), 0o600); err != nil {
		return fmt.Errorf("write redis password: %w", err)
	}
	if err := os.WriteFile(keyFile, []byte(base64.StdEncoding.EncodeToString(s.opts.PIIKey)), 0o600); err != nil {
		return fmt.Errorf("write personal-data key: %w", err)
	}
	settings := config.Config{Partnership: s.opts.Partnership, Listen: s.Addr(), RedisAddr: s.opts.RedisAddr, RedisUser: s.opts.Service,
		RedisPasswordFile: passwordFile, PIIKeyFile: keyFile, KratosPublicURL: s.opts.KratosPublicURL, PolicyJSON: s.opts.Policy,
		OTLPEndpoint: s.opts.OTLPEndpoint, TraceSampleRatio: s.opts.TraceSampleRatio,
		ReferralURL: s.opts.ReferralURL, HousingURL: s.opts.HousingURL, ReportingURL: s.opts.ReportingURL,
		KratosAdminURL: s.opts.KratosAdminURL, AllowedEmailDomains: s.opts.AllowedEmailDomains}
	var env []string
	for _, v := range settings.Environ() {
		env = append(env, v.Name+"="+v.Value)
	}
	proc, err := process.StartReady(ctx, process.Launch{
		Spec: process.Spec{
			Name: s.opts.Service, Path: s.opts.Path, Dir: s.opts.Dir,
			Args: []string{s.opts.Service}, Env: env, Detached: s.opts.Detached,
		},
		LogPath:      s.LogPath(),
		Ready:        s.ready,
		Interval:     20 * time.Millisecond,
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
	return process.WriteRecord(s.recordPath(), process.Record{Pid: proc.Pid(), Ports: map[string]int{"http": s.opts.Port}, Config: s.digest()})
}
