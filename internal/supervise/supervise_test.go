package supervise

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
)

// flaky is a server whose exits and failed restarts the test decides: the faults a real process
// produces at its own times, here on cue.
type flaky struct {
	mu          sync.Mutex
	done        chan struct{}
	running     bool
	failRestart int // restarts to refuse before one succeeds
	restarts    atomic.Int32
	stopped     atomic.Bool
}

func newFlaky() *flaky { return &flaky{done: make(chan struct{}), running: true} }

func (f *flaky) exit() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.running = false
	close(f.done)
}

func (f *flaky) Running() bool { f.mu.Lock(); defer f.mu.Unlock(); return f.running }

func (f *flaky) Done() <-chan struct{} { f.mu.Lock(); defer f.mu.Unlock(); return f.done }

func (f *flaky) Kill() error { return nil }

func (f *flaky) Restart(context.Context) error {
	f.restarts.Add(1)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.failRestart > 0 {
		f.failRestart--
		return errors.New("port taken")
	}
	f.running, f.done = true, make(chan struct{})
	return nil
}

func (f *flaky) Stop() error { f.stopped.Store(true); return nil }

func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("%s did not happen", what)
}

func TestAnExitedServerIsRestartedAndTheCrashReportedOnce(t *testing.T) {
	srv := newFlaky()
	var changes atomic.Int32
	p := Start(srv, Backoff{First: time.Millisecond, Max: 4 * time.Millisecond}, logr.Discard(), func() { changes.Add(1) })
	defer p.Release()
	if p.Crashed() {
		t.Fatal("a crash before any exit")
	}
	srv.failRestart = 2
	srv.exit()
	eventually(t, "a restart after two refused ones", func() bool { return srv.Running() })
	if n := srv.restarts.Load(); n != 3 {
		t.Errorf("%d restarts, want 3 (two refused, one taken)", n)
	}
	eventually(t, "an exit and a restart reported", func() bool { return changes.Load() == 2 })
	if !p.Crashed() || p.Crashed() {
		t.Error("the crash is not reported exactly once")
	}
	srv.exit()
	eventually(t, "a second restart", func() bool { return srv.Running() && srv.restarts.Load() == 4 })
}

func TestHaltStopsTheServerAndTheSupervision(t *testing.T) {
	srv := newFlaky()
	p := Start(srv, DefaultBackoff, logr.Discard(), func() {})
	if err := p.Halt(); err != nil {
		t.Fatal(err)
	}
	if !srv.stopped.Load() {
		t.Error("the server was not stopped")
	}
	srv.exit()
	time.Sleep(20 * time.Millisecond)
	if srv.restarts.Load() != 0 {
		t.Error("a halted server was restarted")
	}
	var none *Process[*flaky]
	if none.Halt() != nil {
		t.Error("halting nothing fails")
	}
	none.Release()
}
