package referral

import (
	"net/http"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// testOpenAPI checks that every route the service registers is described, and nothing else.
func (f *fixture) testOpenAPI(t *testing.T) {
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(OpenAPI(), &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", doc.OpenAPI)
	}
	described := map[string]bool{}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			described[strings.ToUpper(method)+" "+path] = true
			op, _ := ops[method].(map[string]any)
			if responses, _ := op["responses"].(map[string]any); len(responses) == 0 {
				t.Errorf("%s %s has no responses", method, path)
			}
		}
	}
	registered := map[string]bool{}
	for _, route := range f.svc.app.Routes() {
		registered[route] = true
		if !described[route] {
			t.Errorf("route %s is not in openapi.yaml", route)
		}
	}
	for route := range described {
		if !registered[route] {
			t.Errorf("openapi.yaml describes %s, which the service does not serve", route)
		}
	}
	// Every reference points at something.
	var whole map[string]any
	if err := yaml.Unmarshal(OpenAPI(), &whole); err != nil {
		t.Fatal(err)
	}
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				var at any = whole
				for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
					m, _ := at.(map[string]any)
					at = m[part]
				}
				if at == nil {
					t.Errorf("$ref %s points at nothing", ref)
				}
			}
			for _, child := range v {
				walk(child)
			}
		case []any:
			for _, child := range v {
				walk(child)
			}
		}
	}
	walk(whole)
	served := f.anon.As(t).Must(http.StatusOK, "GET", "/openapi.yaml", nil)
	if string(served.Body) != string(OpenAPI()) {
		t.Error("/openapi.yaml differs from the embedded description")
	}
}
