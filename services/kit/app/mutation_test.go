package app

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/store"
)

type counter struct{ N int }

// The protocol's decisions, over a record held in memory: what is answered, and whether anything
// was loaded or written, for each way a change can go.
func TestMutationProtocol(t *testing.T) {
	for _, tc := range []struct {
		name                string
		ifMatch             string
		prepare             *httpapi.Problem
		stepProblem         *httpapi.Problem
		commitErrs          []error // one per attempt; nil commits
		wantStatus          int
		wantLoads, wantN    int
		wantCommitsAttempts int
	}{
		{name: "a change lands", ifMatch: `"v1"`, wantStatus: 200, wantLoads: 1, wantN: 1, wantCommitsAttempts: 1},
		{name: "no If-Match is refused before anything is read", wantStatus: 428},
		{name: "a bad request is refused before anything is read", ifMatch: `"v1"`, prepare: httpapi.BadRequest("bad"), wantStatus: 400},
		{name: "an old version is refused", ifMatch: `"v0"`, wantStatus: 412, wantLoads: 1},
		{name: "a refused step writes nothing", ifMatch: `"v1"`, stepProblem: httpapi.NewProblem(409, "no", "No", "no"), wantStatus: 409, wantLoads: 1},
		{name: "a change made meanwhile is stale", ifMatch: `"v1"`, commitErrs: []error{ErrStale}, wantStatus: 412, wantLoads: 2, wantCommitsAttempts: 1},
		{name: "a moved dependency is retried", ifMatch: `"v1"`, commitErrs: []error{ErrRetry, ErrRetry, nil}, wantStatus: 200, wantLoads: 3, wantN: 1, wantCommitsAttempts: 3},
		{name: "retries run out", ifMatch: `"v1"`, commitErrs: []error{ErrRetry, ErrRetry, ErrRetry}, wantStatus: 503, wantLoads: 3, wantCommitsAttempts: 3},
		{name: "a record gone meanwhile is not found", ifMatch: `"v1"`, commitErrs: []error{store.ErrNotFound}, wantStatus: 404, wantLoads: 1, wantCommitsAttempts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			stored, loads, attempts := &counter{}, 0, 0
			m := Mutation[counter, string]{
				Kind: "counter",
				ID:   func(*http.Request) (string, *httpapi.Problem) { return "c1", nil },
				Load: func(context.Context, string) (*counter, int64, error) { loads++; return stored, 1, nil },
				Commit: func(_ *http.Request, before, after *counter, version int64, evs []string, _ time.Time) (int64, error) {
					attempts++
					if before == after || len(evs) != 1 || version != 1 {
						t.Errorf("commit got the loaded record itself, or lost the events: %v", evs)
					}
					if i := attempts - 1; i < len(tc.commitErrs) && tc.commitErrs[i] != nil {
						return 0, tc.commitErrs[i]
					}
					*stored = *after
					return 2, nil
				},
				Reply: func(w http.ResponseWriter, after *counter, version int64, _ time.Time) {
					w.Header().Set("ETag", ETag(version))
				},
				Retries: 2,
				Now:     time.Now,
			}
			h := m.Handle(func(*http.Request) (Step[counter, string], *httpapi.Problem) {
				if tc.prepare != nil {
					return nil, tc.prepare
				}
				return func(c *counter, _ time.Time) ([]string, *httpapi.Problem) {
					if tc.stepProblem != nil {
						return nil, tc.stepProblem
					}
					c.N++
					return []string{"incremented"}, nil
				}, nil
			})
			r := httptest.NewRequest(http.MethodPost, "/counters/c1", nil)
			if tc.ifMatch != "" {
				r.Header.Set("If-Match", tc.ifMatch)
			}
			w := httptest.NewRecorder()
			h(w, r)
			if w.Code != tc.wantStatus || loads != tc.wantLoads || stored.N != tc.wantN || attempts != tc.wantCommitsAttempts {
				t.Errorf("status %d, %d loads, N=%d, %d commits; want %d, %d, %d, %d: %s",
					w.Code, loads, stored.N, attempts, tc.wantStatus, tc.wantLoads, tc.wantN, tc.wantCommitsAttempts, w.Body)
			}
			if len(tc.commitErrs) > 0 && errors.Is(tc.commitErrs[0], ErrStale) && w.Header().Get("ETag") != `"v1"` {
				t.Errorf("a stale answer gives the current ETag, got %q", w.Header().Get("ETag"))
			}
		})
	}
}
