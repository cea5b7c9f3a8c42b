package app

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"go.opentelemetry.io/otel/trace"

	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/store"
)

// AuditEntry describes the request's caller doing action, for a record's audit trail.
func (s *Service) AuditEntry(r *http.Request, action, detail string) audit.Entry {
	p, _ := auth.From(r.Context())
	e := audit.Entry{At: s.Now(), Action: action, Detail: detail, RequestID: httpapi.RequestID(r.Context())}
	if p != nil {
		e.Actor, e.ActorName, e.Roles = p.IdentityID, p.Email, p.RoleNames()
	}
	if sc := trace.SpanContextFromContext(r.Context()); sc.HasTraceID() {
		e.TraceID = sc.TraceID().String()
	}
	return e
}

// ServeOpenAPI publishes the service's OpenAPI description at /openapi.yaml.
func (s *Service) ServeOpenAPI(doc []byte) {
	s.Public("GET /openapi.yaml", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(doc)
	}))
}

// ETag is the entity tag of a record version.
func ETag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// IfMatch returns the entity tag a change was made against; a change without one is refused, so
// nobody overwrites what they have not seen.
func IfMatch(r *http.Request, what string) (string, *httpapi.Problem) {
	match := r.Header.Get("If-Match")
	if match == "" || match == "*" {
		return "", httpapi.NewProblem(http.StatusPreconditionRequired, "if-match-required",
			"If-Match required", "send the ETag of the "+what+" you read in If-Match, so a change made meanwhile is not overwritten")
	}
	return match, nil
}

// Stale answers a change made against an old version of a record.
func Stale(w http.ResponseWriter, r *http.Request, what string, current int64) {
	w.Header().Set("ETag", ETag(current))
	httpapi.WriteProblem(w, r, httpapi.NewProblem(http.StatusPreconditionFailed, "stale",
		"The "+what+" has changed", "it changed since you read it (now "+ETag(current)+"); read it again and reapply your change"))
}

// StorageProblem is the answer to a storage error: a missing record is a 404, Redis failing a 503
// (not the caller's fault), anything else a 500 logged with the request id.
func StorageProblem(r *http.Request, err error, what string) *httpapi.Problem {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httpapi.NotFound(what)
	case store.Unavailable(err):
		return httpapi.Unavailable("storage cannot be reached; try again")
	}
	if !errors.Is(err, context.Canceled) {
		httpapi.Logger(r.Context()).ErrorContext(r.Context(), "internal error", "err", err, "request_id", httpapi.RequestID(r.Context()))
	}
	return httpapi.NewProblem(http.StatusInternalServerError, "internal", "Internal error",
		"the request failed on the server; quote the request id when reporting it")
}

// WriteStorageProblem writes StorageProblem's answer, with Retry-After when Redis is away.
func WriteStorageProblem(w http.ResponseWriter, r *http.Request, err error, what string) {
	if errors.Is(err, context.Canceled) {
		return
	}
	if store.Unavailable(err) {
		w.Header().Set("Retry-After", "1")
	}
	httpapi.WriteProblem(w, r, StorageProblem(r, err, what))
}
