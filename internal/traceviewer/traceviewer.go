// Package traceviewer runs otel-desktop-viewer on loopback ports: an OTLP receiver that keeps
// traces in memory and serves a web UI listing them with their timelines. `make dev` points the
// operator and every tenant process at it, so a developer or SRE sees each request as a trace.
package traceviewer

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/homeward-dev/homeward/internal/loopback"
	"github.com/homeward-dev/homeward/internal/process"
)

// Options say where the binary is and where its log goes.
type Options struct {
	Path string
	Dir  string
	// MaxSize caps the traces kept in memory (the viewer's own format, e.g. "256MB"); the oldest are
	// pruned first. Empty keeps the viewer's default.
	MaxSize string
}

// Server is a running viewer.
type Server struct {
	otlpGRPC, otlpHTTP, browser int
	proc                        *process.Process
}

// Start runs the viewer and returns once its UI answers.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Path == "" || opts.Dir == "" {
		return nil, errors.New("trace viewer: path and dir are required")
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("trace viewer: %w", err)
	}
	s := &Server{}
	err := process.RetryOnPortTaken(func() {}, func() error {
		var err error
		for _, p := range []*int{&s.otlpGRPC, &s.otlpHTTP, &s.browser} {
			if *p, err = loopback.FreePort(); err != nil {
				return err
			}
		}
		args := []string{"--host", "127.0.0.1", "--open-browser=false",
			"--grpc", strconv.Itoa(s.otlpGRPC), "--http", strconv.Itoa(s.otlpHTTP), "--browser-port", strconv.Itoa(s.browser)}
		if opts.MaxSize != "" {
			args = append(args, "--db-max-size", opts.MaxSize)
		}
		s.proc, err = process.StartReady(ctx, process.Launch{
			Spec:         process.Spec{Name: "otel-desktop-viewer", Path: opts.Path, Dir: opts.Dir, Args: args},
			LogPath:      filepath.Join(opts.Dir, "otel-desktop-viewer.log"),
			Ready:        func(ctx context.Context) error { return loopback.GetOK(ctx, s.URL()) },
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

// OTLPEndpoint is host:port of the OTLP/gRPC receiver, the form Homeward's processes are given.
func (s *Server) OTLPEndpoint() string { return "127.0.0.1:" + strconv.Itoa(s.otlpGRPC) }

// URL is the web UI.
func (s *Server) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.browser) + "/" }

// Stop shuts the viewer down; the traces it held are gone.
func (s *Server) Stop() error { return s.proc.Stop(10 * time.Second) }

// Trace is one trace in the viewer's list.
type Trace struct {
	TraceID     string `json:"traceID"`
	HasRootSpan bool   `json:"hasRootSpan"`
	RootSpan    *struct {
		ServiceName string `json:"serviceName"`
		Name        string `json:"name"`
	} `json:"rootSpan"`
	SpanCount int `json:"spanCount"`
}

// Traces lists the traces that started between from and to, newest first.
func (s *Server) Traces(ctx context.Context, from, to time.Time) ([]Trace, error) {
	return List(ctx, s.URL(), from, to)
}

// List asks the viewer whose UI is at uiURL for the traces that started between from and to,
// newest first, through the JSON-RPC API its own UI uses.
func List(ctx context.Context, uiURL string, from, to time.Time) ([]Trace, error) {
	var traces []Trace
	err := call(ctx, uiURL, "searchTraces", []any{strconv.FormatInt(from.UnixNano(), 10), strconv.FormatInt(to.UnixNano(), 10)}, &traces)
	return traces, err
}

func call(ctx context.Context, uiURL, method string, params any, result any) error {
	body, err := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(uiURL, "/")+"/rpc", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("trace viewer %s: %w", method, err)
	}
	defer resp.Body.Close()
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  *struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return fmt.Errorf("trace viewer %s: %s: %w", method, resp.Status, err)
	}
	if out.Error != nil {
		return fmt.Errorf("trace viewer %s: %d %s", method, out.Error.Code, out.Error.Message)
	}
	if len(out.Result) == 0 || string(out.Result) == "null" {
		return nil
	}
	if err := json.Unmarshal(out.Result, result); err != nil {
		return fmt.Errorf("trace viewer %s: %w", method, err)
	}
	return nil
}
