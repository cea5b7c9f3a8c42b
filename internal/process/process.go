// Package process runs the real components Homeward depends on (redis-server, kratos,
// kube-controller-manager, the tenant services) as child processes. By default a child dies with its
// parent; a detached child outlives it, so a restarted supervisor can adopt it.
package process

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Spec describes one child process.
type Spec struct {
	// Name labels errors and logs, e.g. "redis-server".
	Name string
	Path string
	Args []string
	// Env is added to the parent's environment.
	Env []string
	Dir string
	// Output receives stdout and stderr; nil discards them.
	Output io.Writer
	// Detached children outlive their parent, so a restarted supervisor can adopt them instead of
	// interrupting the tenant they serve. Everything else dies with its parent.
	Detached bool
	// PrivateFiles starts the child with umask 077: what it creates (a store's data) is its owner's only.
	PrivateFiles bool
}

// Process is a started child. Its methods are safe to call from several goroutines.
type Process struct {
	spec Spec
	pid  int
	done chan struct{}
	err  error
}

// Start launches the process. The child gets SIGKILL if the parent dies, even by SIGKILL, so a
// crashed test or a killed `make dev` leaves nothing behind; it runs in its own process group so a
// terminal's Ctrl-C reaches only the parent, which then stops children in the right order.
func Start(ctx context.Context, spec Spec) (*Process, error) {
	cmd := exec.Command(spec.Path, spec.Args...)
	cmd.Dir = spec.Dir
	cmd.Env = append(os.Environ(), spec.Env...)
	cmd.Stdout = spec.Output
	cmd.Stderr = spec.Output
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if spec.Detached {
		cmd.SysProcAttr.Pdeathsig = 0
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	start := cmd.Start
	if spec.PrivateFiles {
		start = func() error { return WithPrivateUmask(cmd.Start) }
	}
	if err := start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", spec.Name, err)
	}
	p := &Process{spec: spec, pid: cmd.Process.Pid, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the operating-system process id.
func (p *Process) Pid() int { return p.pid }

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Exited reports whether the process has exited, and how.
func (p *Process) Exited() (bool, error) {
	select {
	case <-p.done:
		return true, p.err
	default:
		return false, nil
	}
}

// Kill sends SIGKILL to the process and anything it started, and waits for the exit: the crash a
// supervisor must survive.
func (p *Process) Kill() error {
	if err := p.signalGroup(syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", p.spec.Name, err)
	}
	<-p.done
	return nil
}

// signalGroup signals the process group the child leads, so helpers it started go too.
func (p *Process) signalGroup(sig syscall.Signal) error {
	err := syscall.Kill(-p.pid, sig)
	if errors.Is(err, syscall.ESRCH) {
		return nil // already gone
	}
	return err
}

// Stop asks the process to exit with SIGTERM and kills it if it has not within grace.
func (p *Process) Stop(grace time.Duration) error {
	if err := p.signalGroup(syscall.SIGTERM); err != nil {
		return fmt.Errorf("stop %s: %w", p.spec.Name, err)
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return nil
	case <-timer.C:
		return p.Kill()
	}
}

// WaitReady polls ready until it succeeds, the process exits, or ctx ends. The last readiness
// error is returned so a timeout says why the component never came up.
func (p *Process) WaitReady(ctx context.Context, interval time.Duration, ready func(context.Context) error) error {
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	var last error
	for {
		if last = ready(ctx); last == nil {
			return nil
		}
		select {
		case <-p.done:
			return fmt.Errorf("%s exited before it was ready (%v): %w", p.spec.Name, p.err, last)
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w (last check: %w)", p.spec.Name, ctx.Err(), last)
		case <-ticker.C:
		}
	}
}
