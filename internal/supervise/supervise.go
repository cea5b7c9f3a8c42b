// Package supervise keeps a server process running: when it exits it is restarted, with backoff,
// until the supervisor is told to stop. The local runtime supervises each tenant's Redis, Kratos and
// services with it.
package supervise

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
)

// Server is a process that can be restarted: redisserver.Server, kratosserver.Server and
// serviceserver.Server are.
type Server interface {
	Running() bool
	// Done is closed when the running instance exits.
	Done() <-chan struct{}
	Kill() error
	Restart(ctx context.Context) error
	Stop() error
}

// Backoff bounds the waits between restarts.
type Backoff struct{ First, Max time.Duration }

// DefaultBackoff waits 100 ms before the first restart, doubling up to 30 s.
var DefaultBackoff = Backoff{First: 100 * time.Millisecond, Max: 30 * time.Second}

// Process is a supervised server.
type Process[S Server] struct {
	Server S
	stop   chan struct{}
	done   chan struct{}
	// crashed is set when the server exits and cleared once reported, so every crash can be shown
	// even when the restart is faster than whoever reports it.
	crashed atomic.Bool
}

// Start supervises srv, which is running: whenever it exits it is restarted after a backoff, and
// changed is called on each exit and each successful restart.
func Start[S Server](srv S, backoff Backoff, log logr.Logger, changed func()) *Process[S] {
	p := &Process[S]{Server: srv, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(p.done)
		for {
			select {
			case <-p.stop:
				return
			case <-srv.Done():
			}
			log.Info("process exited; restarting")
			p.crashed.Store(true)
			changed()
			wait := backoff.First
			for {
				select {
				case <-p.stop:
					return
				case <-time.After(wait):
				}
				_ = srv.Kill() // clears the exited instance so Restart may start a new one
				ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
				err := srv.Restart(ctx)
				cancel()
				if err == nil {
					log.Info("process restarted")
					changed()
					break
				}
				log.Error(err, "restart failed", "retryIn", wait)
				wait = min(wait*2, backoff.Max)
			}
		}
	}()
	return p
}

// Crashed reports whether the server exited since the last call.
func (p *Process[S]) Crashed() bool { return p.crashed.Swap(false) }

// Release stops supervising and leaves the server as it is.
func (p *Process[S]) Release() {
	if p == nil {
		return
	}
	close(p.stop)
	<-p.done
}

// Halt stops supervising and stops the server, keeping its data.
func (p *Process[S]) Halt() error {
	if p == nil {
		return nil
	}
	p.Release()
	return p.Server.Stop()
}
