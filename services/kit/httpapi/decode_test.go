package httpapi

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

type Embedded struct {
	Level int `json:"level"`
}

type sample struct {
	Embedded
	Name  string   `json:"name"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
	Inner *struct {
		OK bool `json:"ok"`
	} `json:"inner"`
}

func (s *sample) Validate() []FieldError {
	if s.Name == "" {
		return []FieldError{{Field: "name", Message: "is required"}}
	}
	return nil
}

func decode(body, contentType string, limit int64) (*sample, *Problem) {
	req := httptest.NewRequest("POST", "/", strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	var s sample
	return &s, Decode(req, &s, limit)
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name, body, contentType string
		status                  int
		field                   string
	}{
		{"valid", `{"name":"a","count":2,"tags":["x"],"inner":{"ok":true}}`, "application/json", 0, ""},
		{"charset allowed", `{"name":"a"}`, "application/json; charset=utf-8", 0, ""},
		{"no content type", `{"name":"a"}`, "", 0, ""},
		{"wrong content type", `{"name":"a"}`, "text/plain", http.StatusUnsupportedMediaType, ""},
		{"empty", ``, "application/json", http.StatusBadRequest, ""},
		{"truncated", `{"name":"a"`, "application/json", http.StatusBadRequest, ""},
		{"syntax", `{"name":}`, "application/json", http.StatusBadRequest, ""},
		{"unknown field", `{"name":"a","nope":1}`, "application/json", http.StatusBadRequest, "nope"},
		{"wrong type", `{"name":"a","count":"two"}`, "application/json", http.StatusBadRequest, "count"},
		{"nested wrong type", `{"name":"a","inner":{"ok":"yes"}}`, "application/json", http.StatusBadRequest, "inner.ok"},
		{"embedded wrong type", `{"name":"a","level":"high"}`, "application/json", http.StatusBadRequest, "level"},
		{"trailing value", `{"name":"a"} {"name":"b"}`, "application/json", http.StatusBadRequest, ""},
		{"trailing garbage", `{"name":"a"} x`, "application/json", http.StatusBadRequest, ""},
		{"array not object", `[1]`, "application/json", http.StatusBadRequest, "(body)"},
		{"fails validation", `{"count":1}`, "application/json", http.StatusBadRequest, "name"},
		{"too large", `{"name":"` + strings.Repeat("a", 200) + `"}`, "application/json", http.StatusRequestEntityTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, p := decode(tt.body, tt.contentType, 100)
			if tt.status == 0 {
				if p != nil {
					t.Fatalf("refused: %v", p)
				}
				return
			}
			if p == nil || p.Status != tt.status {
				t.Fatalf("problem %v, want status %d", p, tt.status)
			}
			if tt.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tt.field) {
				t.Errorf("errors %v, want field %s", p.Errors, tt.field)
			}
		})
	}
}

// FuzzDecode: whatever the body, Decode either accepts a value that passes validation or refuses
// with a 4xx problem; it never panics and never answers 5xx.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{`{"name":"a"}`, `{"name":"a","tags":["x","y"],"inner":{"ok":false}}`, `{"count":1e400}`, `{"name":"\ud800"}`,
		`[`, `{"name":"a"}}`, `null`, `{"name":null}`, `{"inner":null,"name":"b"}`, "\xff\xfe", `{"Name":"case"}`} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, body string) {
		s, p := decode(body, "application/json", 1024)
		if p == nil {
			if s.Name == "" {
				t.Fatalf("accepted %q without a name", body)
			}
			return
		}
		if p.Status < 400 || p.Status > 499 || p.Type == "" || p.Title == "" {
			t.Fatalf("body %q: problem %+v", body, p)
		}
	})
}
