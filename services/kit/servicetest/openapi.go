package servicetest

import (
	"fmt"
	"io"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/homeward-dev/homeward/services/kit/app"
	"github.com/homeward-dev/homeward/services/kit/httpapi"
)

// PermissionsExtension is the operation field stating which permissions let a caller in (any one
// of them); a role's permissions are auth's table. A route without it needs no session.
const PermissionsExtension = "x-homeward-permissions"

// CheckOpenAPI checks a service's OpenAPI description: version 3.1, every route the service
// registers described (and nothing else), every operation with a unique operationId, a summary,
// the problem responses its inputs imply and exactly the permissions the route is registered
// with, every $ref resolving, and the same bytes served at base/openapi.yaml.
func CheckOpenAPI(t *testing.T, doc []byte, svc *app.Service, base string) {
	t.Helper()
	routes, registeredPermissions := svc.Routes(), svc.Permissions()
	var spec struct {
		OpenAPI    string                    `json:"openapi"`
		Paths      map[string]map[string]any `json:"paths"`
		Components struct {
			Parameters map[string]any `json:"parameters"`
			Schemas    struct {
				Problem struct {
					Properties map[string]any `json:"properties"`
				} `json:"Problem"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := yaml.Unmarshal(doc, &spec); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(spec.OpenAPI, "3.1") {
		t.Errorf("openapi %q, want 3.1", spec.OpenAPI)
	}
	var problemFields []string
	for f := range reflect.TypeFor[httpapi.Problem]().Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		problemFields = append(problemFields, name)
		if _, ok := spec.Components.Schemas.Problem.Properties[name]; !ok {
			t.Errorf("the Problem schema lacks %q, which the kit writes", name)
		}
	}
	if len(spec.Components.Schemas.Problem.Properties) != len(problemFields) {
		t.Errorf("the Problem schema has %d properties, the kit's problem %d: %v",
			len(spec.Components.Schemas.Problem.Properties), len(problemFields), problemFields)
	}
	described := map[string]bool{}
	operationIDs := map[string]string{}
	for path, ops := range spec.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			route := strings.ToUpper(method) + " " + path
			described[route] = true
			op, _ := ops[method].(map[string]any)
			responses, _ := op["responses"].(map[string]any)
			if len(responses) == 0 {
				t.Errorf("%s has no responses", route)
			}
			id, _ := op["operationId"].(string)
			if id == "" {
				t.Errorf("%s has no operationId", route)
			} else if other, dup := operationIDs[id]; dup {
				t.Errorf("%s and %s share the operationId %q", route, other, id)
			}
			operationIDs[id] = route
			if summary, _ := op["summary"].(string); summary == "" {
				t.Errorf("%s has no summary", route)
			}
			var stated []string
			if list, ok := op[PermissionsExtension].([]any); ok {
				for _, p := range list {
					stated = append(stated, fmt.Sprint(p))
				}
			}
			var registered []string
			for _, p := range registeredPermissions[route] {
				registered = append(registered, string(p))
			}
			slices.Sort(stated)
			slices.Sort(registered)
			if !slices.Equal(stated, registered) {
				t.Errorf("%s states %s %v; the service registers it with %v", route, PermissionsExtension, stated, registered)
			}
			for _, status := range problemsExpected(path, op, ops["parameters"], spec.Components.Parameters) {
				if _, ok := responses[status]; !ok {
					t.Errorf("%s does not document the %s problem its inputs can cause", route, status)
				}
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

// problemsExpected lists the problem statuses an operation must document, from what it takes: any
// /v1 call can lack a session (401), lack the role (403) or meet Redis away (503); a body can be
// malformed (400), too large (413), not JSON (415) or break a rule (422); query parameters can be
// malformed (400); a path id can name nothing (404); If-Match can be missing (428) or stale (412).
func problemsExpected(path string, op map[string]any, pathParams any, shared map[string]any) []string {
	if !strings.HasPrefix(path, "/v1/") {
		return nil
	}
	want := []string{"401", "403", "503"}
	if _, ok := op["requestBody"]; ok {
		want = append(want, "400", "413", "415", "422")
	}
	if strings.Contains(path, "{") {
		want = append(want, "404")
	}
	params, _ := op["parameters"].([]any)
	if more, ok := pathParams.([]any); ok {
		params = append(params, more...)
	}
	for _, p := range params {
		param, _ := p.(map[string]any)
		if ref, ok := param["$ref"].(string); ok {
			param, _ = shared[ref[strings.LastIndex(ref, "/")+1:]].(map[string]any)
		}
		switch {
		case param["in"] == "query":
			want = append(want, "400")
		case param["in"] == "header" && param["name"] == "If-Match":
			want = append(want, "412", "428")
		}
	}
	return want
}
