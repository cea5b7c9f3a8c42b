package ui

import (
	"bytes"
	"encoding/json"
	"html/template"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

type fixtureFile struct {
	Component string `json:"component"`
	Fixtures  []struct {
		Name    string          `json:"name"`
		Options json.RawMessage `json:"options"`
		HTML    string          `json:"html"`
	} `json:"fixtures"`
}

// normalise turns HTML into a comparable form: tokens with sorted attributes, text with runs of
// whitespace collapsed, whitespace-only text dropped.
func normalise(t *testing.T, s string) []string {
	t.Helper()
	var out []string
	z := html.NewTokenizer(strings.NewReader(s))
	for {
		switch z.Next() {
		case html.ErrorToken:
			return out
		case html.TextToken:
			if text := strings.Join(strings.Fields(html.UnescapeString(string(z.Text()))), " "); text != "" {
				out = append(out, "text:"+text)
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			tok := z.Token()
			attrs := make([]string, len(tok.Attr))
			for i, a := range tok.Attr {
				attrs[i] = a.Key + "=" + strings.Join(strings.Fields(a.Val), " ")
			}
			slices.Sort(attrs)
			out = append(out, tok.Type.String()+":"+tok.Data+"["+strings.Join(attrs, " ")+"]")
		}
	}
}

// TestComponentsMatchGOVUKFixtures renders every fixture whose options the port supports and compares
// the HTML with govuk-frontend's own; fixtures with options the portal never uses are counted, not
// silently passed.
func TestComponentsMatchGOVUKFixtures(t *testing.T) {
	tmpl := template.Must(template.ParseFS(Templates, "components.html"))
	for _, tc := range []struct {
		file, template string
		new            func() any
		minSupported   int
	}{
		{"tag", "govukTag", func() any { return &Tag{} }, 9},
		{"error-summary", "govukErrorSummary", func() any { return &ErrorSummary{} }, 3},
		{"notification-banner", "govukNotificationBanner", func() any { return &NotificationBanner{} }, 1},
		{"panel", "govukPanel", func() any { return &Panel{} }, 1},
		{"back-link", "govukBackLink", func() any { return &BackLink{} }, 2},
		{"input", "govukInput", func() any { return &Input{} }, 8},
		{"button", "govukButton", func() any { return &Button{} }, 6},
		{"skip-link", "govukSkipLink", func() any { return &SkipLink{} }, 2},
		{"textarea", "govukTextarea", func() any { return &Textarea{} }, 10},
		{"select", "govukSelect", func() any { return &Select{} }, 8},
		{"radios", "govukRadios", func() any { return &Radios{} }, 10},
		{"checkboxes", "govukCheckboxes", func() any { return &Checkboxes{} }, 10},
		{"table", "", func() any { return &Table{} }, 15},
		{"summary-list", "", func() any { return &SummaryList{} }, 15},
		{"date-input", "", func() any { return &DateInput{} }, 20},
		{"task-list", "", func() any { return &TaskList{} }, 5},
		{"pagination", "", func() any { return &Pagination{} }, 5},
		{"generic-header", "", func() any { return &GenericHeader{} }, 3},
		{"service-navigation", "", func() any { return &ServiceNavigation{} }, 8},
	} {
		t.Run(tc.file, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "fixtures", "govuk", tc.file+".json"))
			if err != nil {
				t.Fatal(err)
			}
			var f fixtureFile
			if err := json.Unmarshal(b, &f); err != nil {
				t.Fatal(err)
			}
			supported := 0
			for _, fx := range f.Fixtures {
				opts := tc.new()
				dec := json.NewDecoder(bytes.NewReader(fx.Options))
				dec.DisallowUnknownFields()
				if dec.Decode(opts) != nil || !portable(tc.file, fx.Options) {
					continue
				}
				supported++
				var got bytes.Buffer
				if r, ok := opts.(interface{ HTML() template.HTML }); ok && tc.template == "" {
					got.WriteString(string(r.HTML()))
				} else if err := tmpl.ExecuteTemplate(&got, tc.template, opts); err != nil {
					t.Fatalf("%s: %v", fx.Name, err)
				}
				if want, have := normalise(t, fx.HTML), normalise(t, got.String()); !slices.Equal(want, have) {
					t.Errorf("%s %q:\nwant %q\n got %q", tc.file, fx.Name, want, have)
				}
			}
			if supported < tc.minSupported {
				t.Errorf("only %d of %d fixtures use options the port supports, want at least %d", supported, len(f.Fixtures), tc.minSupported)
			}
			t.Logf("%s: %d of %d fixtures replayed", tc.file, supported, len(f.Fixtures))
		})
	}
}

// portable leaves out fixtures whose options the portal's port fixes: the banner is always a success
// banner, the panel always a confirmation with a title.
func portable(component string, options json.RawMessage) bool {
	var o map[string]any
	_ = json.Unmarshal(options, &o)
	switch component {
	case "notification-banner":
		return o["type"] == "success"
	case "panel":
		_, title := o["titleText"]
		return title
	}
	return true
}
