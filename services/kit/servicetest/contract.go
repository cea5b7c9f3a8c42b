package servicetest

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pb33f/libopenapi"
	validator "github.com/pb33f/libopenapi-validator"
	"github.com/pb33f/libopenapi-validator/config"
	liberrors "github.com/pb33f/libopenapi-validator/errors"
	"github.com/pb33f/libopenapi-validator/helpers"
)

// Contract holds a service to its OpenAPI description for the length of a test: every response
// must match the schema of its operation and status, and a request the description refuses must
// be refused by the service too, so the description and the code cannot drift apart unnoticed.
type Contract struct {
	name      string
	validator validator.Validator
	// Requests and Responses count what was checked, so a test can prove the checker ran.
	Requests, Responses atomic.Int64
}

// NewContract reads an OpenAPI 3.1 description; a description the validator cannot build fails the test.
func NewContract(t testing.TB, name string, doc []byte) *Contract {
	t.Helper()
	document, err := libopenapi.NewDocument(doc)
	if err != nil {
		t.Fatalf("%s openapi.yaml: %v", name, err)
	}
	v, errs := validator.NewValidator(document, config.WithFormatAssertions(),
		// Strict: a property the description does not declare fails too, so a field renamed in the code
		// is caught even where a schema is open. The Kratos session cookie is declared as a security
		// scheme, which strict mode does not read as declaring the cookie; W3C trace context is
		// transport, carried by every caller that traces, not part of any one operation.
		config.WithStrictMode(), config.WithStrictIgnorePaths("$.cookies.ory_kratos_session"),
		config.WithStrictIgnoredHeadersExtra("traceparent", "tracestate", "baggage"))
	if len(errs) > 0 {
		t.Fatalf("%s openapi.yaml: %v", name, errs)
	}
	if ok, problems := v.ValidateDocument(); !ok {
		t.Fatalf("%s openapi.yaml is not valid OpenAPI: %s", name, describe(problems))
	}
	return &Contract{name: name, validator: v}
}

// Handler checks every exchange that passes through next and reports each breach on t.
func (c *Contract) Handler(t testing.TB, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			t.Errorf("contract: read request body: %v", err)
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		check := r.Clone(r.Context())
		check.Body = io.NopCloser(bytes.NewReader(body))
		requestOK, requestProblems := c.validator.ValidateHttpRequestSync(check)
		c.Requests.Add(1)

		rec := httptest.NewRecorder()
		next.ServeHTTP(rec, r)
		for k, vs := range rec.Header() {
			w.Header()[k] = vs
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())

		route := r.Method + " " + r.URL.Path
		if r.Context().Err() != nil && rec.Body.Len() == 0 {
			return // the client went away, and nobody reads the answer
		}
		if undescribed(requestProblems) {
			if rec.Code < 400 || rec.Code >= 500 {
				t.Errorf("contract %s: %s is not described, yet the service answered %d", c.name, route, rec.Code)
			}
			return
		}
		if !requestOK && rec.Code < 400 {
			t.Errorf("contract %s: the description refuses %s (%s), yet the service answered %d",
				c.name, route, describe(requestProblems), rec.Code)
		}
		resp := rec.Result()
		resp.Request = check
		check.Body = io.NopCloser(bytes.NewReader(body))
		if ok, problems := c.validator.ValidateHttpResponse(check, resp); !ok {
			t.Errorf("contract %s: %s answered %d that breaks the description: %s\n%s",
				c.name, route, rec.Code, describe(problems), truncate(rec.Body.String()))
		}
		c.Responses.Add(1)
	})
}

// undescribed reports whether the request's path or method is absent from the description, which
// the service must answer with a client error and the description need not mention.
func undescribed(problems []*liberrors.ValidationError) bool {
	for _, p := range problems {
		if p.ValidationType == helpers.PathValidation && (p.ValidationSubType == helpers.ValidationMissing ||
			p.ValidationSubType == helpers.ValidationMissingOperation) {
			return true
		}
	}
	return false
}

func describe(problems []*liberrors.ValidationError) string {
	var b strings.Builder
	for _, p := range problems {
		b.WriteString("\n  - ")
		b.WriteString(p.Message)
		if p.Reason != "" {
			b.WriteString(": " + p.Reason)
		}
		for _, f := range p.SchemaValidationErrors {
			b.WriteString("\n      " + f.Reason + " at " + f.FieldPath + " (" + f.KeywordLocation + ")")
		}
	}
	return b.String()
}

func truncate(s string) string {
	if len(s) > 600 {
		return s[:600] + "…"
	}
	return s
}
