package app

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/homeward-dev/homeward/services/kit/httpapi"
)

// ErrStale, wrapped by a Mutation's Commit, means the record changed since it was loaded: the caller
// is told to read it again (412).
var ErrStale = errors.New("the record changed since it was read")

// ErrRetry, wrapped by a Mutation's Commit, means something else the change read (not the record
// the caller named, whose version it never saw) changed first: the whole attempt runs again, and
// after Retries attempts the caller is told to try later (503).
var ErrRetry = errors.New("a record the change read changed meanwhile")

// Step changes a copy of a loaded record at now and returns the domain events of the change, or the
// problem that refuses it (nothing is written then).
type Step[T, E any] func(record *T, now time.Time) ([]E, *httpapi.Problem)

// Mutation is the one protocol every change of a stored record through the API follows:
//
//	path id → If-Match → prepare (read the request) → load → compare versions → copy → step →
//	commit under the version guard → reply.
//
// The request is read before anything is loaded, so a malformed one is refused the same way whatever
// the record's state. Answers: 404 for an unknown id, 428 without If-Match, 412 when the record is not
// the version the caller read (before the step, or because it changed before the commit), the step's
// own problem, 503 when storage is away or a retry is exhausted.
type Mutation[T, E any] struct {
	// Kind names the record in problem details ("referral", "rehousing case").
	Kind string
	// ID reads and checks the record's id from the request.
	ID func(*http.Request) (string, *httpapi.Problem)
	// Load reads the record and its version.
	Load func(ctx context.Context, id string) (*T, int64, error)
	// Commit writes after in place of before, guarded by version, with the step's events; it returns
	// the new version. See ErrStale and ErrRetry.
	Commit func(r *http.Request, before, after *T, version int64, events []E, now time.Time) (int64, error)
	// Reply answers a committed change.
	Reply func(w http.ResponseWriter, after *T, version int64, now time.Time)
	// Retries is how many times an attempt that ends in ErrRetry runs again.
	Retries int
	// Busy answers a change whose retries ran out (default: 503 busy).
	Busy func(w http.ResponseWriter, r *http.Request)
	Now  func() time.Time
}

// Handle serves the mutation whose step prepare reads from the request.
func (m Mutation[T, E]) Handle(prepare func(*http.Request) (Step[T, E], *httpapi.Problem)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, prob := m.ID(r)
		var match string
		if prob == nil {
			match, prob = IfMatch(r, m.Kind)
		}
		var step Step[T, E]
		if prob == nil {
			step, prob = prepare(r)
		}
		if prob != nil {
			httpapi.WriteProblem(w, r, prob)
			return
		}
		for attempt := 0; ; attempt++ {
			if done := m.attempt(w, r, id, match, step, attempt < m.Retries); done {
				return
			}
		}
	}
}

// attempt makes one try of the change; it is done unless the commit asked for a retry it may make.
func (m Mutation[T, E]) attempt(w http.ResponseWriter, r *http.Request, id, match string, step Step[T, E], mayRetry bool) (done bool) {
	before, version, err := m.Load(r.Context(), id)
	if err != nil {
		WriteStorageProblem(w, r, err, m.Kind+" "+id)
		return true
	}
	if match != ETag(version) {
		Stale(w, r, m.Kind, version)
		return true
	}
	after, err := Copy(before)
	if err != nil {
		httpapi.Internal(w, r, err)
		return true
	}
	now := m.Now()
	events, prob := step(after, now)
	if prob != nil {
		httpapi.WriteProblem(w, r, prob)
		return true
	}
	next, err := m.Commit(r, before, after, version, events, now)
	switch {
	case errors.Is(err, ErrRetry) && mayRetry:
		return false
	case errors.Is(err, ErrRetry):
		if m.Busy != nil {
			m.Busy(w, r)
		} else {
			w.Header().Set("Retry-After", "1")
			httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusServiceUnavailable, "busy", "The "+m.Kind+" is busy",
				"other changes kept landing first; nothing was written, try again"))
		}
	case errors.Is(err, ErrStale):
		if _, current, err := m.Load(r.Context(), id); err == nil {
			version = current
		}
		Stale(w, r, m.Kind, version)
	case err != nil:
		WriteStorageProblem(w, r, err, m.Kind+" "+id)
	default:
		m.Reply(w, after, next, now)
	}
	return true
}

// Copy is a deep copy of a record through its JSON form, which is what is stored: a step changes
// the copy, and the commit compares it with what was loaded.
func Copy[T any](v *T) (*T, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("copy record: %w", err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("copy record: %w", err)
	}
	return &out, nil
}
