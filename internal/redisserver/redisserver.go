// Package redisserver runs a real redis-server: the system of record of every tenant, used by the
// local runtime and by tests. Data lives in one folder, so a restart on the same folder recovers
// everything the append-only file holds.
package redisserver

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/internal/process"
)

// AppendFsync values. Health data must never be lost, so Always is the default; EverySec trades up
// to one second of writes for roughly twice the write throughput.
const (
	AppendFsyncAlways   = "always"
	AppendFsyncEverySec = "everysec"
)

// AdminUser is the user the platform itself connects as (ACL bootstrap, health checks).
const AdminUser = "default"

// User is one ACL user. Rules are Redis ACL rules, e.g. "~t:{oldham}:*", "+@read", "-@dangerous".
type User struct {
	Name     string
	Password string
	Rules    []string
}

// Options configure a server.
type Options struct {
	// Path of the redis-server binary.
	Path string
	// Dir holds the configuration, ACL file, append-only files and the log. Required.
	Dir string
	// Port to listen on at 127.0.0.1; 0 picks a free one, kept across restarts.
	Port int
	// AppendFsync is AppendFsyncAlways (default) or AppendFsyncEverySec.
	AppendFsync string
	// AdminPassword protects AdminUser; empty generates one, kept across restarts.
	AdminPassword string
	Users         []User
	// StartTimeout bounds how long Start waits for PING; default 15 s.
	StartTimeout time.Duration
	// Detached servers outlive this process and are adopted by the next Start on the same Dir
	// (see process.Adopt): a restarted operator must not interrupt its tenants.
	Detached bool
}

// Server is a running (or restartable) redis-server.
type Server struct {
	opts Options
	proc process.Current
}

var userName = regexp.MustCompile(`^[A-Za-z0-9_.:-]{1,64}$`)

func (o *Options) validate() error {
	var errs []error
	if o.Path == "" {
		errs = append(errs, errors.New("redis-server path is required"))
	}
	if o.Dir == "" {
		errs = append(errs, errors.New("data dir is required"))
	}
	switch o.AppendFsync {
	case "":
		o.AppendFsync = AppendFsyncAlways
	case AppendFsyncAlways, AppendFsyncEverySec:
	default:
		errs = append(errs, fmt.Errorf("appendfsync %q: want %q or %q", o.AppendFsync, AppendFsyncAlways, AppendFsyncEverySec))
	}
	for _, u := range o.Users {
		if !userName.MatchString(u.Name) || u.Name == AdminUser {
			errs = append(errs, fmt.Errorf("ACL user name %q: want 1-64 of [A-Za-z0-9_.:-], not %q", u.Name, AdminUser))
		}
		if u.Password == "" {
			errs = append(errs, fmt.Errorf("ACL user %q has no password", u.Name))
		}
		for _, r := range u.Rules {
			// A selector, "(~key:* +cmd)", is one rule with words inside its parentheses.
			selector := len(r) > 2 && r[0] == '(' && r[len(r)-1] == ')' && !strings.ContainsAny(r, "\t\r\n")
			if r == "" || strings.ContainsAny(r, " \t\r\n") && !selector {
				errs = append(errs, fmt.Errorf("ACL user %q: rule %q must be one non-empty word or a (selector)", u.Name, r))
			}
		}
	}
	if o.StartTimeout == 0 {
		o.StartTimeout = 15 * time.Second
	}
	return errors.Join(errs...)
}

// Start writes the configuration into opts.Dir and starts redis-server, returning once it answers PING.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if err := opts.validate(); err != nil {
		return nil, fmt.Errorf("redis options: %w", err)
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("redis data dir: %w", err)
	}
	// A folder the caller made (a test's, a data dir) may be open to others; what it holds is not.
	if err := os.Chmod(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("make the data dir private: %w", err)
	}
	if opts.AdminPassword == "" {
		opts.AdminPassword = randomSecret()
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

func (s *Server) recordPath() string { return filepath.Join(s.opts.Dir, "redis.process.json") }

// adopt takes over a redis-server a previous supervisor left running on this folder, if it
// answers with this folder's admin password.
func (s *Server) adopt(ctx context.Context) bool {
	rec, err := process.ReadRecord(s.recordPath())
	if err != nil || rec.Pid == 0 {
		return false
	}
	proc := process.Adopt("redis-server", rec.Pid, s.opts.Dir)
	if proc == nil {
		return false
	}
	s.opts.Port = rec.Ports["redis"]
	client := s.AdminClient()
	defer client.Close()
	pingCtx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if client.Ping(pingCtx).Err() != nil {
		_ = proc.Kill()
		s.opts.Port = 0
		return false
	}
	s.proc.Set(proc)
	return true
}

// Addr is host:port for clients.
func (s *Server) Addr() string { return "127.0.0.1:" + strconv.Itoa(s.opts.Port) }

// AdminPassword authenticates AdminUser.
func (s *Server) AdminPassword() string { return s.opts.AdminPassword }

// Dir is the data folder.
func (s *Server) Dir() string { return s.opts.Dir }

// LogPath is where redis-server writes its log.
func (s *Server) LogPath() string { return filepath.Join(s.opts.Dir, "redis.log") }

// Pid is the current process id, 0 when stopped.
func (s *Server) Pid() int { return s.proc.Pid() }

// Client returns a client authenticated as the given user; the caller closes it.
func (s *Server) Client(user, password string) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: s.Addr(), Username: user, Password: password})
}

// AdminClient returns a client authenticated as AdminUser; the caller closes it.
func (s *Server) AdminClient() *redis.Client { return s.Client(AdminUser, s.opts.AdminPassword) }

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
	if err := s.writeConfig(); err != nil {
		return err
	}
	client := s.AdminClient()
	defer client.Close()
	proc, err := process.StartReady(ctx, process.Launch{
		Spec: process.Spec{
			Name: "redis-server", Path: s.opts.Path, Dir: s.opts.Dir,
			Args:     []string{filepath.Join(s.opts.Dir, "redis.conf")},
			Detached: s.opts.Detached,
			// Redis makes its append-only directory 0755 and files 0644 under the default umask.
			PrivateFiles: true,
		},
		LogPath:      s.LogPath(),
		Ready:        func(ctx context.Context) error { return client.Ping(ctx).Err() },
		Interval:     20 * time.Millisecond,
		Timeout:      s.opts.StartTimeout,
		PortTakenLog: "Address already in use",
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
	return process.WriteRecord(s.recordPath(), process.Record{Pid: proc.Pid(), Ports: map[string]int{"redis": s.opts.Port}})
}

// Running reports whether the server process is alive.
func (s *Server) Running() bool { return s.proc.Running() }

// Done is closed when the current redis-server exits; nil when none runs.
func (s *Server) Done() <-chan struct{} { return s.proc.Done() }

func (s *Server) writeConfig() error {
	dir := s.opts.Dir
	conf := ConfigFile(Config{
		Bind: "127.0.0.1", Port: s.opts.Port, Dir: dir,
		AppendFsync: s.opts.AppendFsync, ACLFile: filepath.Join(dir, "users.acl"),
	})
	if err := os.WriteFile(filepath.Join(dir, "redis.conf"), []byte(conf), 0o600); err != nil {
		return fmt.Errorf("write redis.conf: %w", err)
	}
	acl := ACLFile(s.opts.AdminPassword, s.opts.Users)
	if err := os.WriteFile(filepath.Join(dir, "users.acl"), []byte(acl), 0o600); err != nil {
		return fmt.Errorf("write users.acl: %w", err)
	}
	return nil
}

// Config is what redis.conf says, in every runtime.
type Config struct {
	Bind        string
	Port        int
	Dir         string
	AppendFsync string
	ACLFile     string
}

// ConfigFile renders redis.conf.
func ConfigFile(c Config) string {
	return strings.Join([]string{
		"bind " + c.Bind,
		"port " + strconv.Itoa(c.Port),
		"protected-mode yes",
		"daemonize no",
		fmt.Sprintf("dir %q", c.Dir),
		"appendonly yes",
		"appendfsync " + c.AppendFsync,
		`appenddirname "appendonlydir"`,
		// The append-only file is the only persistence: RDB snapshots would fork a full copy of
		// the data set for nothing.
		`save ""`,
		fmt.Sprintf("aclfile %q", c.ACLFile),
		"",
	}, "\n")
}

// ACLFile renders the ACL file: AdminUser with every permission, then each user with its rules.
// Passwords are stored as SHA-256 digests so the file holds no secret.
func ACLFile(adminPassword string, users []User) string {
	acl := []string{fmt.Sprintf("user %s on #%s ~* &* +@all", AdminUser, digest(adminPassword))}
	for _, u := range users {
		acl = append(acl, fmt.Sprintf("user %s on #%s %s", u.Name, digest(u.Password), strings.Join(u.Rules, " ")))
	}
	return strings.Join(acl, "\n") + "\n"
}

// Kill SIGKILLs redis-server, as a crash would. Restart brings it back on the same folder and port.
func (s *Server) Kill() error { return s.proc.Kill() }

// Restart starts redis-server again on the same folder, port and users after Kill, Stop or an exit
// of its own (Redis exits when it cannot append to its file under appendfsync always).
func (s *Server) Restart(ctx context.Context) error {
	if s.Running() {
		return errors.New("redis-server is still running")
	}
	return s.start(ctx)
}

// Stop shuts redis-server down cleanly (SIGTERM flushes the append-only file).
func (s *Server) Stop() error { return s.proc.Stop(10 * time.Second) }

func digest(password string) string {
	sum := sha256.Sum256([]byte(password))
	return hex.EncodeToString(sum[:])
}

func randomSecret() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on Linux
	return hex.EncodeToString(b)
}
