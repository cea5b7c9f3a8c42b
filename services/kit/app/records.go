package app

import (
	"context"
	"errors"
	"net/http"
	"regexp"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/trace"

	"github.com/homeward-dev/homeward/services/kit/audit"
	"github.com/homeward-dev/homeward/services/kit/auth"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
	"github.com/homeward-dev/homeward/services/kit/ids"
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
	s.openAPI = doc
	s.Public("GET /openapi.yaml", http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/yaml")
		_, _ = w.Write(doc)
	}))
}

// OpenAPI is the description ServeOpenAPI publishes, or nil.
func (s *Service) OpenAPI() []byte { return s.openAPI }

// ETag is the entity tag of a record version.
func ETag(version int64) string { return `"v` + strconv.FormatInt(version, 10) + `"` }

// PathID reads the record id in the path's {name}; an id that is not one of ours is a record that
// does not exist.
func PathID(r *http.Request, name, what string) (string, *httpapi.Problem) {
	id := r.PathValue(name)
	if !ids.Valid(id) {
		return "", httpapi.NotFound(what + " " + strconv.Quote(id))
	}
	return id, nil
}

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
	return StorageProblemContext(r.Context(), err, what)
}

// StorageProblemContext is StorageProblem where a step has the request's context only.
func StorageProblemContext(ctx context.Context, err error, what string) *httpapi.Problem {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return httpapi.NotFound(what)
	case store.Unavailable(err):
		return httpapi.Unavailable("storage cannot be reached; try again")
	}
	if !errors.Is(err, context.Canceled) {
		httpapi.Logger(ctx).ErrorContext(ctx, "internal error", "err", err, "request_id", httpapi.RequestID(ctx))
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

// AuditTrail serves the audit trail of the record whose id is the path's {id}: up to limit
// (1–1000, default 100) entries, oldest first, after the entry id after.
func (s *Service) AuditTrail(kind string) http.HandlerFunc { return s.trail(kind, ids.Valid) }

// identityID matches a Kratos identity id, the actors of audit entries.
var identityID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// ActorTrail serves the trail of what the person whose identity id is the path's {id} did, on any
// record of any kind (each entry names its kind and record), in the same pages as AuditTrail.
func (s *Service) ActorTrail() http.HandlerFunc {
	return s.trail(audit.ActorKind, identityID.MatchString)
}

func (s *Service) trail(kind string, valid func(string) bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		if !valid(id) {
			httpapi.WriteProblem(w, r, httpapi.NotFound(kind+" "+strconv.Quote(id)))
			return
		}
		q := r.URL.Query()
		limit := 100
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 1000 {
				httpapi.WriteProblem(w, r, httpapi.BadRequest("limit must be 1 to 1000"))
				return
			}
			limit = n
		}
		after := q.Get("after")
		if after != "" && !streamID(after) {
			httpapi.WriteProblem(w, r, httpapi.BadRequest("after must be an audit entry id such as 1764000000000-0"))
			return
		}
		entries, err := audit.Trail(r.Context(), s.Redis, s.Keys, kind, id, after, int64(limit))
		if err != nil {
			WriteStorageProblem(w, r, err, "the "+kind)
			return
		}
		if len(entries) == 0 && after == "" {
			httpapi.WriteProblem(w, r, httpapi.NotFound(kind+" "+id))
			return
		}
		resp := map[string]any{"items": entries}
		if len(entries) == limit {
			resp["next"] = entries[len(entries)-1].ID
		}
		httpapi.WriteJSON(w, http.StatusOK, resp)
	}
}

func streamID(s string) bool {
	ms, seq, ok := strings.Cut(s, "-")
	_, err1 := strconv.ParseUint(ms, 10, 64)
	_, err2 := strconv.ParseUint(seq, 10, 64)
	return ok && err1 == nil && err2 == nil
}
