package servicetest

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

// CheckOpenAPI checks a service's OpenAPI description: version 3.1, every route the service
// registers described (and nothing else), every operation with responses, every $ref resolving,
// and the same bytes served at base/openapi.yaml.
func CheckOpenAPI(t *testing.T, doc []byte, routes []string, base string) {
	t.Helper()
	var spec struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := yaml.Unmarshal(doc, &spec); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", spec.OpenAPI)
	}
	described := map[string]bool{}
	for path, ops := range spec.Paths {
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
	for _, route := range routes {
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
	var whole map[string]any
	if err := yaml.Unmarshal(doc, &whole); err != nil {
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
	resp, err := http.Get(base + "/openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	served, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || string(served) != string(doc) {
		t.Errorf("/openapi.yaml (status %d) differs from the embedded description", resp.StatusCode)
	}
}
