package portal

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/internal/testenv"
	"github.com/homeward-dev/homeward/services/kit/app"
)

// lockedBuffer is a log sink the processes' loggers share.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type jaegerSpan struct {
	TraceID, SpanID, OperationName, ProcessID string
	References                                []struct{ RefType, SpanID string }
	Tags                                      []struct {
		Key   string
		Value any
	}
}

type jaegerTrace struct {
	Spans     []jaegerSpan
	Processes map[string]struct{ ServiceName string }
}

// jaegerGet reads traces from Jaeger's query API.
func jaegerGet(t *testing.T, url string) []jaegerTrace {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got struct{ Data []jaegerTrace }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil && resp.StatusCode == http.StatusOK {
		t.Fatal(err)
	}
	return got.Data
}

// A staff member's click is one trace an SRE can follow: sending a referral from the portal is a
// portal span, the portal's call to the referral service beneath it, the referral service's span
// beneath that, and its Redis and Kratos calls beneath those — read back from a real Jaeger by the
// request id the portal answered with. And in every span and log line of the whole journey there is
// no trace of the person referred.
func TestOneClickIsOneTrace(t *testing.T) {
	jaeger := testenv.Jaeger(t)
	logs := &lockedBuffer{}
	e := startEnvWith(t, "oldham", jaeger.OTLPEndpoint(), app.Options{
		Logger: slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	referrer, pw := e.person(t, "ward.nurse@oldham.example", "oldham", "referrer")
	b := e.browser(t)
	b.signIn(referrer, pw)
	answers := referAnswers("401 023 2137")
	answers.Set("name", "Wren Traceable")
	answers.Set("address", "7 Hidden Lane, Oldham")
	answers.Set("postcode", "OL9 9ZZ")
	answers.Set("phone", "07700 900123")
	check := b.fillReferral(answers)
	// The click is the POST that sends; its answer is a redirect, which the browser follows after.
	noFollow := *b.c
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, _ := http.NewRequest(http.MethodPost, e.url+"/refer", strings.NewReader(url.Values{"step": {"send"}, "csrf": {check.csrf()}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.url)
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	requestID := resp.Header.Get("X-Request-Id")
	if sent := b.get(resp.Header.Get("Location")); resp.StatusCode != http.StatusSeeOther || !strings.Contains(sent.body, "Referral sent") {
		t.Fatalf("sending: %d, then %d %q", resp.StatusCode, sent.status, sent.h1())
	}
	b.get("/my-referrals")
	var click jaegerTrace
	deadline := time.Now().Add(30 * time.Second)
	for {
		if found := jaegerGet(t, jaeger.QueryURL()+"/api/traces/"+requestID); len(found) == 1 {
			click = found[0]
			services := map[string]bool{}
			for _, p := range click.Processes {
				services[p.ServiceName] = true
			}
			if services["homeward-portal"] && services["homeward-referral"] {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no trace %q with the portal and the referral service in Jaeger: %+v", requestID, click)
		}
		time.Sleep(300 * time.Millisecond)
	}

	byID := map[string]jaegerSpan{}
	for _, s := range click.Spans {
		byID[s.SpanID] = s
	}
	service := func(s jaegerSpan) string { return click.Processes[s.ProcessID].ServiceName }
	parent := func(s jaegerSpan) (jaegerSpan, bool) {
		for _, r := range s.References {
			if r.RefType == "CHILD_OF" {
				p, ok := byID[r.SpanID]
				return p, ok
			}
		}
		return jaegerSpan{}, false
	}
	// under reports whether a span descends from one of a service's server spans named op.
	under := func(s jaegerSpan, svc, op string) bool {
		for p, ok := parent(s); ok; p, ok = parent(p) {
			if service(p) == svc && p.OperationName == op {
				return true
			}
		}
		return false
	}
	var roots, referralServer, redisUnderReferral, kratos int
	for _, s := range click.Spans {
		if _, ok := parent(s); !ok {
			roots++
			if service(s) != "homeward-portal" {
				t.Errorf("the trace starts in %s (%s), not the portal", service(s), s.OperationName)
			}
		}
		if service(s) == "homeward-referral" && s.OperationName == "POST /v1/referrals" {
			referralServer++
			if p, ok := parent(s); !ok || service(p) != "homeward-portal" {
				t.Errorf("the referral service's span is not a child of the portal's call: %+v", p)
			}
		}
		op := strings.ToLower(s.OperationName)
		if service(s) == "homeward-referral" && (strings.Contains(op, "evalsha") || strings.Contains(op, "eval")) && under(s, "homeward-referral", "POST /v1/referrals") {
			redisUnderReferral++
		}
		for _, tag := range s.Tags {
			// Kratos is asked who the session belongs to.
			if (tag.Key == "url.full" || tag.Key == "http.url") && strings.Contains(fmt.Sprint(tag.Value), "/sessions/whoami") {
				kratos++
			}
		}
	}
	if roots != 1 || referralServer != 1 || redisUnderReferral == 0 || kratos == 0 {
		var ops []string
		for _, s := range click.Spans {
			ops = append(ops, service(s)+": "+s.OperationName)
		}
		t.Errorf("the click's trace: %d roots, %d referral spans, %d Redis spans beneath it, %d Kratos calls; spans %v",
			roots, referralServer, redisUnderReferral, kratos, ops)
	}

	// Not a trace of the person anywhere: every span of the journey, in every service, and every log line.
	var everything bytes.Buffer
	for _, svc := range []string{"homeward-portal", "homeward-referral"} {
		raw, _ := json.Marshal(jaegerGet(t, jaeger.QueryURL()+"/api/traces?limit=500&lookback=1h&service="+svc))
		everything.Write(raw)
	}
	everything.WriteString(logs.String())
	if !strings.Contains(everything.String(), requestID) {
		t.Fatal("the journey's traces and logs were not read")
	}
	for _, secret := range []string{"Wren", "Traceable", "4010232137", "401 023 2137", "Hidden Lane", "OL9 9ZZ", "07700", "900123"} {
		if strings.Contains(everything.String(), secret) {
			t.Errorf("%q is in the traces or logs", secret)
		}
	}
}
