package portaltest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// reports records what Axe reports instead of failing the test.
type reports struct {
	testing.TB
	got []string
}

func (r *reports) Errorf(format string, args ...any) {
	r.got = append(r.got, fmt.Sprintf(format, args...))
}

// TestAxeReportsViolations proves the accessibility check can fail: a page with an image without
// alternative text and an unlabelled input breaks WCAG, a clean page does not.
func TestAxeReportsViolations(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		if r.URL.Path == "/bad" {
			fmt.Fprint(w, `<!DOCTYPE html><html lang="en"><head><title>Bad</title></head><body><main><h1>Bad</h1><img src="/x.png"><input type="text"></main></body></html>`)
			return
		}
		fmt.Fprint(w, `<!DOCTYPE html><html lang="en"><head><title>Good</title></head><body><main><h1>Good</h1><label for="a">Name</label><input id="a" type="text"></main></body></html>`)
	}))
	defer srv.Close()
	ctx := Start(t)
	for path, want := range map[string][]string{"/bad": {"image-alt", "label"}, "/good": nil} {
		r := &reports{TB: t}
		Open(r, ctx, srv.URL+path, strings.ToUpper(path[1:2])+path[2:])
		for _, rule := range want {
			if !strings.Contains(strings.Join(r.got, "\n"), "("+rule+")") {
				t.Errorf("%s: axe did not report %s: %q", path, rule, r.got)
			}
		}
		if want == nil && len(r.got) > 0 {
			t.Errorf("%s: reported %q", path, r.got)
		}
	}
}
