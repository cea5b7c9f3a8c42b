// Package jaegerserver runs a real Jaeger (v2, all in one, in-memory storage) on loopback ports,
// so tests can check the traces services export over OTLP.
package jaegerserver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/internal/process"
)

// Options say where the binary is and where its files go.
type Options struct {
	Path string
	Dir  string
}

// Server is a running Jaeger.
type Server struct {
	opts                Options
	otlpPort, queryPort int
	queryGRPC           int
	proc                *process.Process
}

// config receives OTLP over gRPC and serves the query API, keeping traces in memory.
func config(otlp, query, queryGRPC int) string {
	return fmt.Sprintf(`service:
  extensions: [jaeger_storage, jaeger_query]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 10000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:%d
    grpc:
      endpoint: 127.0.0.1:%d
receivers:
  otlp:
    protocols:
      grpc:
        endpoint: 127.0.0.1:%d
processors:
  batch:
    timeout: 100ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
`, query, queryGRPC, otlp)
}

// Start runs Jaeger and returns once its query API answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Path == "" || opts.Dir == "" {
		return nil, errors.New("jaeger: path and dir are required")
	}
	s := &Server{opts: opts}
	err := process.RetryOnPortTaken(func() {}, func() error {
		var err error
		for _, p := range []*int{&s.otlpPort, &s.queryPort, &s.queryGRPC} {
			if *p, err = loopback.FreePort(); err != nil {
				return err
			}
		}
		conf := filepath.Join(opts.Dir, "jaeger.yaml")
		if err := os.WriteFile(conf, []byte(config(s.otlpPort, s.queryPort, s.queryGRPC)), 0o600); err != nil {
			return fmt.Errorf("write jaeger config: %w", err)
		}
		s.proc, err = process.StartReady(ctx, process.Launch{
			Spec:         process.Spec{Name: "jaeger", Path: opts.Path, Dir: opts.Dir, Args: []string{"--config", conf}},
			LogPath:      filepath.Join(opts.Dir, "jaeger.log"),
			Ready:        s.ready,
			Interval:     50 * time.Millisecond,
			Timeout:      60 * time.Second,
			PortTakenLog: "address already in use",
		})
		return err
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Server) ready(ctx context.Context) error {
	return loopback.GetOK(ctx, s.QueryURL()+"/api/services")
}

// OTLPEndpoint is host:port of the OTLP/gRPC receiver.
func (s *Server) OTLPEndpoint() string { return "127.0.0.1:" + strconv.Itoa(s.otlpPort) }

// QueryURL is the base URL of the query API (/api/traces, /api/services).
func (s *Server) QueryURL() string { return "http://127.0.0.1:" + strconv.Itoa(s.queryPort) }

// Stop shuts Jaeger down.
func (s *Server) Stop() error { return s.proc.Stop(10 * time.Second) }
