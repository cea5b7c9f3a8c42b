// Package httpapi is the HTTP plumbing every Homeward service shares: RFC 9457 problem details,
// strict JSON decoding, request ids, recovery, access logs, metrics and graceful serving.
package httpapi

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/homeward-dev/homeward/services/kit/importer"
)

// ProblemBase prefixes every problem type; the documentation lists each one.
const ProblemBase = "https://homeward.dev/problems/"

// FieldError points at one bad input field with a JSON-pointer-like path.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Problem is an RFC 9457 problem details body with Homeward's extension members.
type Problem struct {
	Type      string       `json:"type"`
	Title     string       `json:"title"`
	Status    int          `json:"status"`
	Detail    string       `json:"detail,omitempty"`
	Instance  string       `json:"instance,omitempty"`
	RequestID string       `json:"requestId,omitempty"`
	Errors    []FieldError `json:"errors,omitempty"`
	// Allowed lists what would have been accepted, e.g. the workflow moves open from a state.
	Allowed []string `json:"allowed,omitempty"`
	// ImportErrors are every problem of an imported file, by file, row and column.
	ImportErrors []importer.Error `json:"importErrors,omitempty"`
}

func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

// NewProblem makes a problem of a documented type.
func NewProblem(status int, kind, title, detail string) *Problem {
	return &Problem{Type: ProblemBase + kind, Title: title, Status: status, Detail: detail}
}

// Common problems.
func BadRequest(detail string, fields ...FieldError) *Problem {
	p := NewProblem(http.StatusBadRequest, "invalid-request", "The request is not valid", detail)
	p.Errors = fields
	return p
}

// Invalid is a request that is well-formed but breaks a rule.
func Invalid(detail string, fields ...FieldError) *Problem {
	p := NewProblem(http.StatusUnprocessableEntity, "validation", "The request breaks a rule", detail)
	p.Errors = fields
	return p
}

// NotFound is a missing resource.
func NotFound(what string) *Problem {
	return NewProblem(http.StatusNotFound, "not-found", "Not found", what+" does not exist")
}

// Conflict is a change the record's state does not allow: kind names the rule, detail says why.
func Conflict(kind, title, detail string) *Problem {
	return NewProblem(http.StatusConflict, kind, title, detail)
}

// Forbidden is a caller without the permission.
func Forbidden(detail string) *Problem {
	return NewProblem(http.StatusForbidden, "forbidden", "Not allowed", detail)
}

// Unauthorized is a request without a valid session.
func Unauthorized(detail string) *Problem {
	return NewProblem(http.StatusUnauthorized, "unauthenticated", "Sign in first", detail)
}

// Unavailable is a dependency that cannot be reached; the request may be retried.
func Unavailable(detail string) *Problem {
	return NewProblem(http.StatusServiceUnavailable, "unavailable", "Temporarily unavailable", detail)
}

// WriteProblem sends p as application/problem+json, stamped with the request id.
func WriteProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	p.Instance = r.URL.Path
	p.RequestID = RequestID(r.Context())
	if p.Status >= 500 {
		Logger(r.Context()).ErrorContext(r.Context(), "request failed", "status", p.Status, "detail", p.Detail, "request_id", p.RequestID)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// Internal logs err and sends a 500 problem that reveals nothing of it.
func Internal(w http.ResponseWriter, r *http.Request, err error) {
	Logger(r.Context()).ErrorContext(r.Context(), "internal error", "err", err, "request_id", RequestID(r.Context()))
	WriteProblem(w, r, NewProblem(http.StatusInternalServerError, "internal", "Internal error",
		"the request failed on the server; quote the request id when reporting it"))
}

// WriteJSON sends v with a status.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
