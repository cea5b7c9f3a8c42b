// Package ui is the portal's port of the GOV.UK Frontend components it uses: each is a Go struct whose
// fields are the Nunjucks macro's options (same names), rendered by a template in components.html. A test
// replays the fixtures shipped in the pinned govuk-frontend package through them and compares the HTML,
// so an upgrade shows exactly what changed.
package ui

import (
	"embed"
	"fmt"
	"html/template"
	"slices"
	"strconv"
)

// Templates holds components.html, which page template sets parse beside their own files.
//
//go:embed components.html
var Templates embed.FS

// Tag is govukTag.
type Tag struct {
	Text    string `json:"text"`
	Classes string `json:"classes"`
}

// ErrorItem is one entry of an error summary's list.
type ErrorItem struct {
	Text string `json:"text"`
	Href string `json:"href"`
}

// ErrorSummary is govukErrorSummary.
type ErrorSummary struct {
	TitleText string      `json:"titleText"`
	ErrorList []ErrorItem `json:"errorList"`
}

// NotificationBanner is govukNotificationBanner of type "success" (the only one the portal shows).
type NotificationBanner struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Panel is govukPanel, the confirmation panel.
type Panel struct {
	TitleText string        `json:"titleText"`
	HTML      template.HTML `json:"html"`
}

// BackLink is govukBackLink.
type BackLink struct {
	Text    string `json:"text"`
	Href    string `json:"href"`
	Classes string `json:"classes"`
}

// Label is a field's label.
type Label struct {
	Text string `json:"text"`
}

// Hint is a field's hint.
type Hint struct {
	Text string `json:"text"`
}

// ErrorMessage is a field's error, shown above it.
type ErrorMessage struct {
	Text string `json:"text"`
}

// Field is what every form field has: an id (or its name), a label, a hint and an error, and extra
// ids that describe it.
type Field struct {
	ID           string        `json:"id"`
	Name         string        `json:"name"`
	Label        Label         `json:"label"`
	Hint         *Hint         `json:"hint"`
	ErrorMessage *ErrorMessage `json:"errorMessage"`
	// DescribedBy adds ids (a live check's message, say) to the ones the hint and error give.
	DescribedBy string `json:"describedBy"`
}

// FieldID is the field's id: id, or else name.
func (f Field) FieldID() string {
	if f.ID != "" {
		return f.ID
	}
	return f.Name
}

// AriaDescribedBy joins the ids that describe the field, in GOV.UK Frontend's order.
func (f Field) AriaDescribedBy() string {
	ids := f.DescribedBy
	add := func(id string) {
		if ids != "" {
			ids += " "
		}
		ids += id
	}
	if f.Hint != nil {
		add(f.FieldID() + "-hint")
	}
	if f.ErrorMessage != nil {
		add(f.FieldID() + "-error")
	}
	return ids
}

// Input is govukInput.
type Input struct {
	Field
	Type         string `json:"type"`
	Value        string `json:"value"`
	Classes      string `json:"classes"`
	Inputmode    string `json:"inputmode"`
	Autocomplete string `json:"autocomplete"`
	Spellcheck   *bool  `json:"spellcheck"`
	// Check is the URL the portal's script asks as the field is typed (data-check).
	Check string `json:"-"`
}

// Button is govukButton as a submit button.
type Button struct {
	// Href makes the button a link that looks like one.
	Href    string `json:"href"`
	Text    string `json:"text"`
	Name    string `json:"name"`
	Value   string `json:"value"`
	Classes string `json:"classes"`
}

// SkipLink is govukSkipLink.
type SkipLink struct {
	Text string `json:"text"`
	Href string `json:"href"`
}

// Textarea is govukTextarea.
type Textarea struct {
	Field
	Value        string `json:"value"`
	Rows         int    `json:"rows"`
	Classes      string `json:"classes"`
	Autocomplete string `json:"autocomplete"`
	Spellcheck   *bool  `json:"spellcheck"`
}

// RowCount is rows, or GOV.UK Frontend's default of 5.
func (t Textarea) RowCount() int {
	if t.Rows > 0 {
		return t.Rows
	}
	return 5
}

// SelectItem is one option of a select. Value absent (nil) means the option has no value attribute
// and is matched by its text; Selected absent means "selected if it matches the select's value".
type SelectItem struct {
	Value    any    `json:"value"`
	Text     string `json:"text"`
	Selected *bool  `json:"selected"`
	Disabled bool   `json:"disabled"`
}

// SelectOption is an option as rendered.
type SelectOption struct {
	Value              string
	HasValue, Selected bool
	Disabled           bool
	Text               string
}

// Select is govukSelect.
type Select struct {
	Field
	Value   any          `json:"value"`
	Classes string       `json:"classes"`
	Items   []SelectItem `json:"items"`
}

// Options are the items as rendered, with GOV.UK Frontend's rule for which is selected: an item's own
// selected wins; otherwise the one whose value (or, without one, text) equals the select's value.
func (s Select) Options() []SelectOption {
	out := make([]SelectOption, 0, len(s.Items))
	want, hasWant := "", false
	if s.Value != nil && s.Value != "" && s.Value != false {
		want, hasWant = fmt.Sprint(s.Value), true
	}
	for _, it := range s.Items {
		if it.Text == "" && it.Value == nil {
			continue
		}
		o := SelectOption{Text: it.Text, Disabled: it.Disabled, HasValue: it.Value != nil}
		effective := it.Text
		if o.HasValue {
			o.Value = fmt.Sprint(it.Value)
			effective = o.Value
		}
		switch {
		case it.Selected != nil:
			o.Selected = *it.Selected
		case hasWant:
			o.Selected = effective == want
		}
		out = append(out, o)
	}
	return out
}

// Legend is a fieldset's legend.
type Legend struct {
	Text          string `json:"text"`
	Classes       string `json:"classes"`
	IsPageHeading bool   `json:"isPageHeading"`
}

// Fieldset groups a set of choices under a legend.
type Fieldset struct {
	Legend      Legend `json:"legend"`
	DescribedBy string `json:"describedBy"`
}

// ChoiceItem is one radio or checkbox. Checked absent means "checked if it matches the value".
type ChoiceItem struct {
	ID string `json:"id"`
	// Name gives a checkbox a name of its own (checkboxes only; radios share the group's).
	Name     string `json:"name"`
	Value    string `json:"value"`
	Text     string `json:"text"`
	Checked  *bool  `json:"checked"`
	Disabled bool   `json:"disabled"`
}

// Radios is govukRadios.
type Radios struct {
	Name         string        `json:"name"`
	IDPrefix     string        `json:"idPrefix"`
	Classes      string        `json:"classes"`
	Value        string        `json:"value"`
	Fieldset     *Fieldset     `json:"fieldset"`
	Hint         *Hint         `json:"hint"`
	ErrorMessage *ErrorMessage `json:"errorMessage"`
	Items        []ChoiceItem  `json:"items"`
}

// Prefix is the ids' prefix: idPrefix, or else name.
func (r Radios) Prefix() string { return Field{ID: r.IDPrefix, Name: r.Name}.FieldID() }

// AriaDescribedBy joins the ids that describe the group, in GOV.UK Frontend's order.
func (r Radios) AriaDescribedBy() string {
	describedBy := ""
	if r.Fieldset != nil {
		describedBy = r.Fieldset.DescribedBy
	}
	return Field{ID: r.Prefix(), Hint: r.Hint, ErrorMessage: r.ErrorMessage, DescribedBy: describedBy}.AriaDescribedBy()
}

// RenderedChoice is an item as rendered, with its id and whether it is checked.
type RenderedChoice struct {
	ID, Name, Value, Text string
	Checked, Disabled     bool
	DescribedBy           string
}

// Choices are the items as rendered.
func (r Radios) Choices() []RenderedChoice {
	return renderChoices(r.Prefix(), r.Items, func(v string) bool { return r.Value != "" && v == r.Value })
}

// Module and InputType name the radios' classes and inputs.
func (Radios) Module() string    { return "radios" }
func (Radios) InputType() string { return "radio" }

// Checkboxes is govukCheckboxes; an item is checked when its value is among Values.
type Checkboxes struct {
	Name         string        `json:"name"`
	IDPrefix     string        `json:"idPrefix"`
	Classes      string        `json:"classes"`
	Values       []string      `json:"values"`
	DescribedBy  string        `json:"describedBy"`
	Fieldset     *Fieldset     `json:"fieldset"`
	Hint         *Hint         `json:"hint"`
	ErrorMessage *ErrorMessage `json:"errorMessage"`
	Items        []ChoiceItem  `json:"items"`
}

func (c Checkboxes) radios() Radios {
	fieldset := c.Fieldset
	if fieldset == nil && c.DescribedBy != "" {
		fieldset = &Fieldset{DescribedBy: c.DescribedBy}
	} else if fieldset != nil && fieldset.DescribedBy == "" && c.DescribedBy != "" {
		f := *fieldset
		f.DescribedBy = c.DescribedBy
		fieldset = &f
	}
	return Radios{Name: c.Name, IDPrefix: c.IDPrefix, Fieldset: fieldset, Hint: c.Hint, ErrorMessage: c.ErrorMessage}
}

// Prefix is the ids' prefix: idPrefix, or else name.
func (c Checkboxes) Prefix() string { return c.radios().Prefix() }

// AriaDescribedBy joins the ids that describe the group.
func (c Checkboxes) AriaDescribedBy() string { return c.radios().AriaDescribedBy() }

// Choices are the items as rendered. Without a fieldset there is nothing to hang the hint and error
// on, so each checkbox carries them itself.
func (c Checkboxes) Choices() []RenderedChoice {
	out := renderChoices(c.Prefix(), c.Items, func(v string) bool { return slices.Contains(c.Values, v) })
	shown := 0
	for _, it := range c.Items {
		if it.Text == "" && it.Value == "" {
			continue
		}
		out[shown].Name = it.Name
		shown++
	}
	if c.Fieldset == nil {
		for i := range out {
			out[i].DescribedBy = c.AriaDescribedBy()
		}
	}
	return out
}

// Module and InputType name the checkboxes' classes and inputs.
func (Checkboxes) Module() string    { return "checkboxes" }
func (Checkboxes) InputType() string { return "checkbox" }

// renderChoices numbers the items' ids (the first is the prefix alone, so an error summary can link to
// it; the others are numbered from 2) and marks the checked ones: an item's own checked wins.
func renderChoices(prefix string, items []ChoiceItem, matches func(value string) bool) []RenderedChoice {
	out := make([]RenderedChoice, 0, len(items))
	for i, it := range items {
		if it.Text == "" && it.Value == "" {
			continue
		}
		c := RenderedChoice{ID: it.ID, Value: it.Value, Text: it.Text, Disabled: it.Disabled}
		if c.ID == "" {
			c.ID = prefix
			if i > 0 {
				c.ID += "-" + strconv.Itoa(i+1)
			}
		}
		if it.Checked != nil {
			c.Checked = *it.Checked
		} else {
			c.Checked = matches(it.Value)
		}
		out = append(out, c)
	}
	return out
}
