package servicetest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const contractDoc = `openapi: 3.1.0
info: {title: contract test, version: v1}
paths:
  /v1/things:
    post:
      operationId: createThing
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, additionalProperties: false, required: [name], properties: {name: {type: string, maxLength: 5}}}
      responses:
        "201":
          description: Created.
          content:
            application/json:
              schema: {type: object, required: [id, name], properties: {id: {type: string}, name: {type: string}}}
        "400": {description: Bad., content: {application/problem+json: {schema: {type: object, properties: {title: {type: string}}}}}}
`

// breaches records what the contract reports instead of failing the test.
type breaches struct {
	testing.TB
	got []string
}

func (b *breaches) Errorf(format string, args ...any) {
	b.got = append(b.got, fmt.Sprintf(format, args...))
}

func TestContractReportsEachKindOfDrift(t *testing.T) {
	for _, tc := range []struct {
		name         string
		method, path string
		body         string
		status       int
		answer       string
		contentType  string
		want         string // "" for no breach
	}{
		{"a valid exchange", "POST", "/v1/things", `{"name":"a"}`, 201, `{"id":"1","name":"a"}`, "application/json", ""},
		{"a response with an undeclared field", "POST", "/v1/things", `{"name":"a"}`, 201, `{"id":"1","name":"a","colour":"red"}`, "application/json", "not declared"},
		{"a response missing a required field", "POST", "/v1/things", `{"name":"a"}`, 201, `{"name":"a"}`, "application/json", "breaks the description"},
		{"an undocumented status", "POST", "/v1/things", `{"name":"a"}`, 409, `{"title":"clash"}`, "application/problem+json", "breaks the description"},
		{"a request the description refuses, accepted", "POST", "/v1/things", `{"name":"much too long"}`, 201, `{"id":"1","name":"x"}`, "application/json", "the description refuses"},
		{"a request the description refuses, refused", "POST", "/v1/things", `{"nom":"a"}`, 400, `{"title":"bad"}`, "application/problem+json", ""},
		{"an undescribed route answered 200", "GET", "/v1/elsewhere", "", 200, `{}`, "application/json", "is not described"},
		{"an undescribed route answered 404", "GET", "/v1/elsewhere", "", 404, `{}`, "application/problem+json", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			contract := NewContract(t, "test", []byte(contractDoc))
			rec := &breaches{TB: t}
			h := contract.Handler(rec, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.answer))
			}))
			req := httptest.NewRequest(tc.method, tc.path, strings.NewReader(tc.body))
			if tc.body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tc.status || w.Body.String() != tc.answer {
				t.Errorf("the client got %d %s, want the service's own %d %s", w.Code, w.Body, tc.status, tc.answer)
			}
			switch {
			case tc.want == "" && len(rec.got) > 0:
				t.Errorf("reported %q for a faithful exchange", rec.got)
			case tc.want != "" && (len(rec.got) != 1 || !strings.Contains(rec.got[0], tc.want)):
				t.Errorf("reported %q, want one breach saying %q", rec.got, tc.want)
			}
		})
	}
}
