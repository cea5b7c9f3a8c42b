package verify

// This file: the HTTP edge of a service as it runs (`homeward referral`, its own process, the server
// settings both runtimes use): oversized bodies and headers, malformed chunked bodies, ids that try
// to climb out of their path, clients that send their request a byte at a time or never, and ten
// thousand idle connections. Every answer must be a 4xx (or the connection closed), never a 5xx,
// and the process's memory must stay bounded.

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/binaries"
	"github.com/homeward-dev/homeward/internal/serviceserver"
	"github.com/homeward-dev/homeward/services/kit/config"
	"github.com/homeward-dev/homeward/services/kit/servicetest"
	"github.com/homeward-dev/homeward/services/referral"
)

// rawExchange writes a raw request on a fresh connection and reads the status line's code; 0 when
// the server closed the connection without an answer.
func rawExchange(t *testing.T, addr, request string) (int, string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		return 0, ""
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		return 0, ""
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<16))
	return resp.StatusCode, string(body)
}

// rssMB is a process's resident memory.
func rssMB(t *testing.T, pid int) float64 {
	t.Helper()
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 64)
			return kb / 1024
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// metric reads one unlabelled value from a service's /metrics.
func metric(t *testing.T, base, name string) float64 {
	t.Helper()
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	t.Fatalf("no %s in /metrics", name)
	return 0
}

func TestTheHTTPEdgeAnswers4xxAndStaysBounded(t *testing.T) {
	record(t)
	// Mostly waiting for the server's timeouts: let the other checks run meanwhile.
	t.Parallel()
	ctx := context.Background()
	tn := servicetest.StartTenant(t, "oldham")
	homeward, err := binaries.Path("homeward")
	if err != nil {
		t.Fatal(err)
	}
	cfg := tn.Config(t, referral.Name, config.DefaultPolicy())
	srv, err := serviceserver.Start(ctx, serviceserver.Options{
		Path: homeward, Service: referral.Name, Partnership: "oldham", Dir: filepath.Join(t.TempDir(), "referral"),
		RedisAddr: cfg.RedisAddr, RedisPassword: cfg.RedisPassword, PIIKey: cfg.PIIKey, KratosPublicURL: cfg.KratosPublicURL,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	addr := srv.Addr()
	coordinator := tn.Person(t, srv.URL(), "coordinator@oldham.example", "oldham", "coordinator")
	auth := "Authorization: Bearer " + coordinator.Token + "\r\n"
	idleRSS := rssMB(t, srv.Pid())

	t.Run("bad requests are 4xx", func(t *testing.T) {
		huge := `{"person":{"name":"` + strings.Repeat("A", 2<<20) + `"}}`
		for _, c := range []struct {
			name, request string
			want          int
		}{
			{"a 2 MB body", "POST /v1/referrals HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nContent-Length: " + strconv.Itoa(len(huge)) + "\r\n\r\n" + huge, http.StatusRequestEntityTooLarge},
			{"a 2 MB chunked body", "POST /v1/referrals HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(huge), huge), http.StatusRequestEntityTooLarge},
			{"a 64 KB header", "GET /v1/referrals HTTP/1.1\r\nHost: x\r\n" + auth + "X-Padding: " + strings.Repeat("p", 64<<10) + "\r\n\r\n", http.StatusRequestHeaderFieldsTooLarge},
			{"a chunk size that is not hex", "POST /v1/referrals HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", http.StatusBadRequest},
			{"a chunk longer than it says", "POST /v1/referrals HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n1\r\n{}\r\n0\r\n\r\n", http.StatusBadRequest},
			{"both Content-Length and chunked", "POST /v1/referrals HTTP/1.1\r\nHost: x\r\n" + auth + "Content-Type: application/json\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n", http.StatusBadRequest},
			{"an unknown transfer coding", "POST /v1/referrals HTTP/1.1\r\nHost: x\r\n" + auth + "Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n", http.StatusNotImplemented},
			{"no Host", "GET /v1/referrals HTTP/1.1\r\n" + auth + "\r\n", http.StatusBadRequest},
			{"a climbing id", "GET /v1/referrals/..%2F..%2F..%2Fetc%2Fpasswd HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", http.StatusNotFound},
			{"an encoded slash in an id", "GET /v1/referrals/01KB0000%2F0000000000000000AA HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", http.StatusNotFound},
			// Cleaned, not followed: a redirect to the clean path, which names no file.
			{"a dot-dot path", "GET /v1/referrals/../../metrics HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", http.StatusTemporaryRedirect},
			{"a NUL in the path", "GET /v1/referrals/%00 HTTP/1.1\r\nHost: x\r\n" + auth + "\r\n", http.StatusNotFound},
			{"a request line of garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n", http.StatusBadRequest},
		} {
			code, body := rawExchange(t, addr, c.request)
			if code != c.want {
				t.Errorf("%s: %d, want %d: %.300s", c.name, code, c.want, body)
			}
			if strings.Contains(body, "root:") {
				t.Errorf("%s: the answer carries a system file: %.300s", c.name, body)
			}
		}
	})

	t.Run("slow clients are cut off", func(t *testing.T) {
		// Headers a byte at a time, never finished (slowloris): closed at ReadHeaderTimeout (10 s).
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		start := time.Now()
		closed := false
		for _, b := range []byte("GET /v1/referrals HTTP/1.1\r\nHost: x\r\nX-Slow: " + strings.Repeat("s", 200)) {
			if _, err := conn.Write([]byte{b}); err != nil {
				closed = true
				break
			}
			time.Sleep(100 * time.Millisecond)
			if time.Since(start) > 15*time.Second {
				break
			}
		}
		if !closed {
			// Writes into a closed connection may still succeed once; a read says for sure.
			_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			_, err := conn.Read(make([]byte, 1))
			closed = err != nil && !isTimeout(err)
		}
		if took := time.Since(start); !closed || took > 14*time.Second {
			t.Errorf("a slowloris client kept its connection %s (closed: %v), want it cut at about 10 s", took, closed)
		}
	})

	t.Run("ten thousand idle connections", func(t *testing.T) {
		const idle = 10000
		var conns []net.Conn
		t.Cleanup(func() {
			for _, c := range conns {
				c.Close()
			}
		})
		baseline := metric(t, srv.URL(), "go_goroutines")
		for range idle {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatalf("connection %d: %v", len(conns)+1, err)
			}
			conns = append(conns, c)
		}
		// The service still answers while they wait, and quickly.
		start := time.Now()
		if r := coordinator.As(t).Do("GET", "/v1/referrals?limit=1", nil); r.Status != http.StatusOK {
			t.Fatalf("with %d idle connections: %d %s", idle, r.Status, r.Body)
		}
		busy := rssMB(t, srv.Pid())
		t.Logf("%d idle connections: a list answered in %s; RSS %.0f MB (idle %.0f MB)", idle, time.Since(start).Round(time.Millisecond), busy, idleRSS)
		if busy > idleRSS+400 {
			t.Errorf("RSS %.0f MB with %d idle connections (%.0f MB idle): not bounded", busy, idle, idleRSS)
		}
		// None of them sent a request: each is closed at ReadHeaderTimeout, and its goroutine ends.
		deadline := time.Now().Add(30 * time.Second)
		for metric(t, srv.URL(), "go_goroutines") > baseline+50 {
			if time.Now().After(deadline) {
				t.Fatalf("idle connections still held %s later: %.0f goroutines, %.0f before", 30*time.Second, metric(t, srv.URL(), "go_goroutines"), baseline)
			}
			time.Sleep(500 * time.Millisecond)
		}
	})

	// Nothing above was the server's fault.
	resp, err := http.Get(srv.URL() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	clientErrors := 0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "homeward_http_requests_total") {
			continue
		}
		if strings.Contains(line, `class="5xx"`) {
			t.Errorf("a 5xx was served: %s", line)
		}
		if strings.Contains(line, `class="4xx"`) {
			clientErrors++
		}
	}
	if clientErrors == 0 {
		t.Error("no 4xx counted either: the metric was not read")
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}
