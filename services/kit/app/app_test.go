package app_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
)

// TestGracefulShutdown: when its context ends, Run stops taking requests, lets the one in flight
// finish, and returns without error.
func TestGracefulShutdown(t *testing.T) {
	tenant := servicetest.StartTenant(t, "oldham")
	cfg := tenant.Config(t, "referral", config.DefaultPolicy())
	port, err := loopback.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listen = "127.0.0.1:" + strconv.Itoa(port)
	cfg.ShutdownGrace = 5 * time.Second
	svc, err := app.New(context.Background(), "referral", cfg, app.Options{})
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	svc.Public("GET /slow", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		close(started)
		time.Sleep(500 * time.Millisecond)
		_, _ = w.Write([]byte("finished"))
	}))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	base := "http://" + cfg.Listen
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get(base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("not ready: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	body := make(chan string, 1)
	go func() {
		resp, err := http.Get(base + "/slow")
		if err != nil {
			body <- "error: " + err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body <- string(b)
	}()
	<-started
	cancel()
	if got := <-body; got != "finished" {
		t.Errorf("in-flight request got %q", got)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	if _, err := http.Get(base + "/healthz"); err == nil {
		t.Error("still serving after shutdown")
	}
}
