package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"
)

// ErrPortTaken means the component lost the race for a port picked moments before; the caller
// picks another and tries again.
var ErrPortTaken = errors.New("port taken")

// Launch describes how to bring up a server component and know it is up.
type Launch struct {
	Spec
	// LogPath receives the process output, appended across restarts.
	LogPath string
	// Ready is polled every Interval until it succeeds or Timeout passes.
	Ready    func(context.Context) error
	Interval time.Duration
	Timeout  time.Duration
	// PortTakenLog is the text the component logs when its port is already bound.
	PortTakenLog string
	// Started, when set, is called as soon as the process runs, before it is ready: a detached
	// component writes its process record there, so a supervisor that dies while waiting leaves a
	// process its successor adopts (or kills), never an unknown second server on the same data.
	Started func(*Process) error
}

// StartReady starts the process and waits for it to be ready. On failure the process is killed and,
// when its log says its port was taken, the error wraps ErrPortTaken. A detached process is started
// only after any unrecorded one of the same program in its folder is stopped (see StopStrays).
func StartReady(ctx context.Context, l Launch) (*Process, error) {
	logFile, err := os.OpenFile(l.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("%s log: %w", l.Name, err)
	}
	defer logFile.Close()
	l.Output = logFile
	if l.Detached && l.Dir != "" {
		if err := StopStrays(l.Path, l.Dir); err != nil {
			return nil, fmt.Errorf("%s: %w", l.Name, err)
		}
	}
	proc, err := Start(ctx, l.Spec)
	if err == nil && l.Started != nil {
		if err = l.Started(proc); err != nil {
			_ = proc.Kill()
		}
	}
	if err != nil {
		return nil, err
	}
	waitCtx, cancel := context.WithTimeout(ctx, l.Timeout)
	defer cancel()
	if err := proc.WaitReady(waitCtx, l.Interval, l.Ready); err != nil {
		_ = proc.Kill()
		if logged, _ := os.ReadFile(l.LogPath); l.PortTakenLog != "" && strings.Contains(string(logged), l.PortTakenLog) {
			return nil, fmt.Errorf("%s: %w", l.Name, ErrPortTaken)
		}
		return nil, fmt.Errorf("%s did not start (log %s): %w", l.Name, l.LogPath, err)
	}
	return proc, nil
}

// Current holds the running instance of a component that can be killed and restarted.
type Current struct {
	mu   sync.Mutex
	proc *Process
}

// Set records a newly started instance.
func (c *Current) Set(p *Process) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.proc = p
}

// Running reports whether an instance is set and has not exited.
func (c *Current) Running() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return false
	}
	exited, _ := c.proc.Exited()
	return !exited
}

// Done is closed when the running instance exits; nil (blocks for ever) when none runs.
func (c *Current) Done() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	return c.proc.Done()
}

// Pid is the running instance's process id, 0 when none runs.
func (c *Current) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return 0
	}
	return c.proc.Pid()
}

func (c *Current) take() *Process {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.proc
	c.proc = nil
	return p
}

// Kill SIGKILLs the running instance, as a crash would.
func (c *Current) Kill() error {
	if p := c.take(); p != nil {
		return p.Kill()
	}
	return nil
}

// Stop shuts the running instance down gracefully, killing it after grace.
func (c *Current) Stop(grace time.Duration) error {
	if p := c.take(); p != nil {
		return p.Stop(grace)
	}
	return nil
}

// RetryOnPortTaken calls start up to three times while it fails with ErrPortTaken, calling reset
// before each retry so the caller picks fresh ports.
func RetryOnPortTaken(reset func(), start func() error) error {
	const attempts = 3
	var err error
	for i := range attempts {
		if i > 0 {
			reset()
		}
		if err = start(); !errors.Is(err, ErrPortTaken) {
			return err
		}
	}
	return fmt.Errorf("no free port after %d attempts: %w", attempts, err)
}
