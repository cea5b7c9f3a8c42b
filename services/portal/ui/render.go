package ui

import (
	"encoding/json"
	"fmt"
	"html/template"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// The components in this file are rendered by Go rather than by a template: they hold a page's rows
// (the caseload board's table, a record's summary list), where html/template's reflection on every
// cell was most of the portal's cost per page. Each escapes what it writes exactly as a template
// would, and the same fixture test holds them to GOV.UK Frontend's HTML.

// Text is a text option that GOV.UK Frontend's fixtures sometimes give as a number.
type Text string

// UnmarshalJSON takes a string or a number.
func (t *Text) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		*t = Text(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("text: want a string or a number, got %s", b)
	}
	*t = Text(n.String())
	return nil
}

// Attributes are extra HTML attributes of an element, as the macros' attributes option.
type Attributes map[string]string

// writer builds HTML, escaping every value it is given as text or as an attribute.
type writer struct{ strings.Builder }

func (w *writer) raw(parts ...string) {
	for _, p := range parts {
		w.WriteString(p)
	}
}

func (w *writer) text(s string) { w.WriteString(template.HTMLEscapeString(s)) }

// content writes h when set, else t as text: the macros' "html if html else text".
func (w *writer) content(h template.HTML, t string) {
	if h != "" {
		w.WriteString(string(h))
		return
	}
	w.text(t)
}

// url writes a URL attribute, refusing schemes other than http(s), mailto and tel as html/template
// does, so a link can never run script.
func (w *writer) url(name, value string) {
	if scheme, _, found := strings.Cut(value, ":"); found && !strings.ContainsAny(scheme, "/?#") {
		switch strings.ToLower(scheme) {
		case "http", "https", "mailto", "tel":
		default:
			value = "#ZgotmplZ"
		}
	}
	w.attr(name, value)
}

func (w *writer) attr(name, value string) {
	w.raw(" ", name, `="`)
	w.text(value)
	w.WriteByte('"')
}

// class writes a class attribute of base and, when set, extra.
func (w *writer) class(base string, extra ...string) {
	w.raw(` class="`, base)
	for _, e := range extra {
		if e != "" {
			w.WriteByte(' ')
			w.text(e)
		}
	}
	w.WriteByte('"')
}

func (w *writer) attrs(a Attributes) {
	switch len(a) {
	case 0:
	case 1:
		for k, v := range a {
			w.attr(k, v)
		}
	default:
		for _, k := range slices.Sorted(maps.Keys(a)) {
			w.attr(k, a[k])
		}
	}
}

func (w *writer) html() template.HTML {
	return template.HTML(w.String()) // #nosec G203 -- every value above was escaped as it was written
}

// TableCell is a cell of govukTable's head or of one of its rows.
type TableCell struct {
	Text       Text          `json:"text"`
	HTML       template.HTML `json:"html"`
	Format     string        `json:"format"`
	Classes    string        `json:"classes"`
	Colspan    int           `json:"colspan"`
	Rowspan    int           `json:"rowspan"`
	Attributes Attributes    `json:"attributes"`
}

// write writes the cell as a th or td element with its scope, its base class and, when formatted,
// the base class's format modifier.
func (c TableCell) write(w *writer, tag, scope, base string, formatted bool) {
	w.raw("<", tag)
	if scope != "" {
		w.attr("scope", scope)
	}
	format := ""
	if formatted && c.Format != "" {
		format = base + "--" + c.Format
	}
	w.class(base, format, c.Classes)
	c.spans(w)
	w.raw(">")
	w.content(c.HTML, string(c.Text))
	w.raw("</", tag, ">")
}

func (c TableCell) spans(w *writer) {
	if c.Colspan != 0 {
		w.attr("colspan", strconv.Itoa(c.Colspan))
	}
	if c.Rowspan != 0 {
		w.attr("rowspan", strconv.Itoa(c.Rowspan))
	}
	w.attrs(c.Attributes)
}

// Table is govukTable. A nil row is left out, as the macro leaves out falsy rows.
type Table struct {
	Caption           string        `json:"caption"`
	CaptionClasses    string        `json:"captionClasses"`
	FirstCellIsHeader bool          `json:"firstCellIsHeader"`
	Head              []TableCell   `json:"head"`
	Rows              [][]TableCell `json:"rows"`
	Classes           string        `json:"classes"`
	Attributes        Attributes    `json:"attributes"`
}

// HTML renders the table.
func (t Table) HTML() template.HTML {
	var w writer
	w.Grow(512 + 512*len(t.Rows))
	w.raw("<table")
	w.class("govuk-table", t.Classes)
	w.attrs(t.Attributes)
	w.raw(">")
	if t.Caption != "" {
		w.raw("<caption")
		w.class("govuk-table__caption", t.CaptionClasses)
		w.raw(">")
		w.text(t.Caption)
		w.raw("</caption>")
	}
	if t.Head != nil {
		w.raw(`<thead class="govuk-table__head"><tr class="govuk-table__row">`)
		for _, h := range t.Head {
			h.write(&w, "th", "col", "govuk-table__header", true)
		}
		w.raw("</tr></thead>")
	}
	w.raw(`<tbody class="govuk-table__body">`)
	for _, row := range t.Rows {
		if row == nil {
			continue
		}
		w.raw(`<tr class="govuk-table__row">`)
		for i, c := range row {
			if i == 0 && t.FirstCellIsHeader {
				c.write(&w, "th", "row", "govuk-table__header", false) // the macro gives a row header no format
				continue
			}
			c.write(&w, "td", "", "govuk-table__cell", true)
		}
		w.raw("</tr>")
	}
	w.raw("</tbody></table>")
	return w.html()
}

// SummaryText is a summary list row's key or value.
type SummaryText struct {
	Text    string        `json:"text"`
	HTML    template.HTML `json:"html"`
	Classes string        `json:"classes"`
}

// SummaryAction is a link beside a summary list row, such as "Change".
type SummaryAction struct {
	Href               string        `json:"href"`
	Text               string        `json:"text"`
	HTML               template.HTML `json:"html"`
	VisuallyHiddenText string        `json:"visuallyHiddenText"`
	Classes            string        `json:"classes"`
	Attributes         Attributes    `json:"attributes"`
}

// SummaryActions are a row's actions.
type SummaryActions struct {
	Items   []SummaryAction `json:"items"`
	Classes string          `json:"classes"`
}

// SummaryRow is one row of a summary list.
type SummaryRow struct {
	Key     SummaryText     `json:"key"`
	Value   SummaryText     `json:"value"`
	Actions *SummaryActions `json:"actions"`
	Classes string          `json:"classes"`
}

// SummaryList is govukSummaryList without the card variant. A nil row is left out.
type SummaryList struct {
	Rows       []*SummaryRow `json:"rows"`
	Classes    string        `json:"classes"`
	Attributes Attributes    `json:"attributes"`
}

// HTML renders the summary list.
func (s SummaryList) HTML() template.HTML {
	anyActions := false
	for _, r := range s.Rows {
		if r != nil && r.Actions != nil && len(r.Actions.Items) > 0 {
			anyActions = true
		}
	}
	var w writer
	w.raw("<dl")
	w.class("govuk-summary-list", s.Classes)
	w.attrs(s.Attributes)
	w.raw(">")
	for _, r := range s.Rows {
		if r == nil {
			continue
		}
		noActions := ""
		if anyActions && (r.Actions == nil || r.Actions.Items == nil) {
			noActions = "govuk-summary-list__row--no-actions"
		}
		w.raw("<div")
		w.class("govuk-summary-list__row", noActions, r.Classes)
		w.raw("><dt")
		w.class("govuk-summary-list__key", r.Key.Classes)
		w.raw(">")
		w.content(r.Key.HTML, r.Key.Text)
		w.raw("</dt><dd")
		w.class("govuk-summary-list__value", r.Value.Classes)
		w.raw(">")
		w.content(r.Value.HTML, r.Value.Text)
		w.raw("</dd>")
		if r.Actions != nil && len(r.Actions.Items) > 0 {
			w.raw("<dd")
			w.class("govuk-summary-list__actions", r.Actions.Classes)
			w.raw(">")
			if len(r.Actions.Items) == 1 {
				r.Actions.Items[0].write(&w)
			} else {
				w.raw(`<ul class="govuk-summary-list__actions-list">`)
				for _, a := range r.Actions.Items {
					w.raw(`<li class="govuk-summary-list__actions-list-item">`)
					a.write(&w)
					w.raw("</li>")
				}
				w.raw("</ul>")
			}
			w.raw("</dd>")
		}
		w.raw("</div>")
	}
	w.raw("</dl>")
	return w.html()
}

func (a SummaryAction) write(w *writer) {
	w.raw("<a")
	w.class("govuk-link", a.Classes)
	w.url("href", a.Href)
	w.attrs(a.Attributes)
	w.raw(">")
	w.content(a.HTML, a.Text)
	if a.VisuallyHiddenText != "" {
		w.raw(`<span class="govuk-visually-hidden"> `)
		w.text(a.VisuallyHiddenText)
		w.raw("</span>")
	}
	w.raw("</a>")
}

// DateInputItem is one box of a date input: day, month or year.
type DateInputItem struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	Label        string `json:"label"`
	Value        string `json:"value"`
	Classes      string `json:"classes"`
	Inputmode    string `json:"inputmode"`
	Autocomplete string `json:"autocomplete"`
	Pattern      string `json:"pattern"`
	// Error marks this box as the one in error; false keeps it unmarked when the whole input is.
	Error      *bool      `json:"error"`
	Attributes Attributes `json:"attributes"`
}

func (it DateInputItem) hasError() bool {
	return (it.Error != nil && *it.Error) || strings.Contains(it.Classes, "govuk-input--error")
}

// DateInput is govukDateInput. Without items it has empty day, month and year boxes.
type DateInput struct {
	ID           string          `json:"id"`
	NamePrefix   string          `json:"namePrefix"`
	Items        []DateInputItem `json:"items"`
	Hint         *Hint           `json:"hint"`
	ErrorMessage *ErrorMessage   `json:"errorMessage"`
	Fieldset     *Fieldset       `json:"fieldset"`
	Classes      string          `json:"classes"`
}

// HTML renders the date input.
func (d DateInput) HTML() template.HTML {
	items := d.Items
	if len(items) == 0 {
		items = []DateInputItem{{Name: "day"}, {Name: "month"}, {Name: "year"}}
	}
	anyError := false
	for _, it := range items {
		anyError = anyError || it.hasError()
	}
	describedBy := ""
	if d.Fieldset != nil {
		describedBy = d.Fieldset.DescribedBy
	}
	addID := func(id string) {
		if describedBy != "" {
			describedBy += " "
		}
		describedBy += id
	}
	var inner writer
	if d.Hint != nil {
		addID(d.ID + "-hint")
		inner.raw("<div")
		inner.attr("id", d.ID+"-hint")
		inner.raw(` class="govuk-hint">`)
		inner.text(d.Hint.Text)
		inner.raw("</div>")
	}
	if d.ErrorMessage != nil {
		addID(d.ID + "-error")
		inner.raw("<p")
		inner.attr("id", d.ID+"-error")
		inner.raw(` class="govuk-error-message"><span class="govuk-visually-hidden">Error:</span> `)
		inner.text(d.ErrorMessage.Text)
		inner.raw("</p>")
	}
	inner.raw("<div")
	inner.class("govuk-date-input", d.Classes)
	if d.ID != "" {
		inner.attr("id", d.ID)
	}
	inner.raw(">")
	prefix := ""
	if d.NamePrefix != "" {
		prefix = d.NamePrefix + "-"
	}
	for _, it := range items {
		d.writeItem(&inner, it, prefix, anyError)
	}
	inner.raw("</div>")

	var w writer
	group := ""
	if d.ErrorMessage != nil {
		group = "govuk-form-group--error"
	}
	w.raw("<div")
	w.class("govuk-form-group", group)
	w.raw(">")
	if d.Fieldset != nil {
		w.raw(`<fieldset class="govuk-fieldset" role="group"`)
		if describedBy != "" {
			w.attr("aria-describedby", describedBy)
		}
		w.raw(">")
		d.Fieldset.Legend.write(&w)
		w.WriteString(inner.String())
		w.raw("</fieldset>")
	} else {
		w.WriteString(inner.String())
	}
	w.raw("</div>")
	return w.html()
}

func (d DateInput) writeItem(w *writer, it DateInputItem, prefix string, anyError bool) {
	width := "2"
	if it.Name == "year" {
		width = "4"
	}
	var classes []string
	if !strings.Contains(it.Classes, "govuk-input--error") && (it.hasError() || ((it.Error == nil || *it.Error) && d.ErrorMessage != nil && !anyError)) {
		classes = append(classes, "govuk-input--error")
	}
	if !strings.Contains(it.Classes, "govuk-input--width-") {
		classes = append(classes, "govuk-input--width-"+width)
	}
	if it.Classes != "" {
		classes = append(classes, it.Classes)
	}
	id := it.ID
	if id == "" {
		id = d.ID + "-" + it.Name
	}
	label := it.Label
	if label == "" && it.Name != "" {
		label = strings.ToUpper(it.Name[:1]) + strings.ToLower(it.Name[1:])
	}
	inputmode := it.Inputmode
	if inputmode == "" {
		inputmode = "numeric"
	}
	w.raw(`<div class="govuk-date-input__item"><div class="govuk-form-group"><label class="govuk-label govuk-date-input__label"`)
	w.attr("for", id)
	w.raw(">")
	w.text(label)
	w.raw("</label><input")
	w.class("govuk-input govuk-date-input__input", strings.Join(classes, " "))
	w.attr("id", id)
	w.attr("name", prefix+it.Name)
	w.raw(` type="text"`)
	if it.Value != "" {
		w.attr("value", it.Value)
	}
	w.attr("inputmode", inputmode)
	if it.Autocomplete != "" {
		w.attr("autocomplete", it.Autocomplete)
	}
	if it.Pattern != "" {
		w.attr("pattern", it.Pattern)
	}
	w.attrs(it.Attributes)
	w.raw("></div></div>")
}

func (l Legend) write(w *writer) {
	if l.Text == "" {
		return
	}
	w.raw("<legend")
	w.class("govuk-fieldset__legend", l.Classes)
	w.raw(">")
	if l.IsPageHeading {
		w.raw(`<h1 class="govuk-fieldset__heading">`)
		w.text(l.Text)
		w.raw("</h1>")
	} else {
		w.text(l.Text)
	}
	w.raw("</legend>")
}

// TaskTitle is a task's name.
type TaskTitle struct {
	Text    string `json:"text"`
	Classes string `json:"classes"`
}

// TaskStatus is where a task has got to: a tag, or plain text.
type TaskStatus struct {
	Tag     *Tag   `json:"tag"`
	Text    string `json:"text"`
	Classes string `json:"classes"`
}

// TaskItem is one task of a task list.
type TaskItem struct {
	Title   TaskTitle  `json:"title"`
	Href    string     `json:"href"`
	Hint    *Hint      `json:"hint"`
	Status  TaskStatus `json:"status"`
	Classes string     `json:"classes"`
}

// TaskList is govukTaskList.
type TaskList struct {
	IDPrefix string     `json:"idPrefix"`
	Items    []TaskItem `json:"items"`
	Classes  string     `json:"classes"`
}

// HTML renders the task list.
func (t TaskList) HTML() template.HTML {
	prefix := t.IDPrefix
	if prefix == "" {
		prefix = "task-list"
	}
	var w writer
	w.raw("<ul")
	w.class("govuk-task-list", t.Classes)
	w.raw(">")
	for i, it := range t.Items {
		n := strconv.Itoa(i + 1)
		hintID, statusID := prefix+"-"+n+"-hint", prefix+"-"+n+"-status"
		withLink := ""
		if it.Href != "" {
			withLink = "govuk-task-list__item--with-link"
		}
		w.raw("<li")
		w.class("govuk-task-list__item", withLink, it.Classes)
		w.raw(`><div class="govuk-task-list__name-and-hint">`)
		if it.Href != "" {
			describedBy := statusID
			if it.Hint != nil {
				describedBy = hintID + " " + statusID
			}
			w.raw("<a")
			w.class("govuk-link govuk-task-list__link", it.Title.Classes)
			w.url("href", it.Href)
			w.attr("aria-describedby", describedBy)
			w.raw(">")
			w.text(it.Title.Text)
			w.raw("</a>")
		} else {
			w.raw("<div")
			if it.Title.Classes != "" {
				w.attr("class", it.Title.Classes)
			}
			w.raw(">")
			w.text(it.Title.Text)
			w.raw("</div>")
		}
		if it.Hint != nil {
			w.raw("<div")
			w.attr("id", hintID)
			w.raw(` class="govuk-task-list__hint">`)
			w.text(it.Hint.Text)
			w.raw("</div>")
		}
		w.raw("</div><div")
		w.class("govuk-task-list__status", it.Status.Classes)
		w.attr("id", statusID)
		w.raw(">")
		if it.Status.Tag != nil {
			it.Status.Tag.write(&w)
		} else {
			w.text(it.Status.Text)
		}
		w.raw("</div></li>")
	}
	w.raw("</ul>")
	return w.html()
}

func (t Tag) write(w *writer) {
	w.raw("<strong")
	w.class("govuk-tag", t.Classes)
	w.raw(">")
	w.text(t.Text)
	w.raw("</strong>")
}

// PageLink is the previous or next link of a pagination.
type PageLink struct {
	Href      string `json:"href"`
	Text      string `json:"text"`
	LabelText string `json:"labelText"`
}

// Pagination is govukPagination's block form: a previous and a next link, as lists read by
// cursor have (they cannot number their pages).
type Pagination struct {
	Previous      *PageLink `json:"previous"`
	Next          *PageLink `json:"next"`
	LandmarkLabel string    `json:"landmarkLabel"`
	Classes       string    `json:"classes"`
}

const (
	arrowPrevious = `<svg class="govuk-pagination__icon govuk-pagination__icon--prev" xmlns="http://www.w3.org/2000/svg" height="13" width="15" aria-hidden="true" focusable="false" viewBox="0 0 15 13"><path d="m6.5938-0.0078125-6.7266 6.7266 6.7441 6.4062 1.377-1.449-4.1856-3.9768h12.896v-2h-12.984l4.2931-4.293-1.414-1.414z"></path></svg>`
	arrowNext     = `<svg class="govuk-pagination__icon govuk-pagination__icon--next" xmlns="http://www.w3.org/2000/svg" height="13" width="15" aria-hidden="true" focusable="false" viewBox="0 0 15 13"><path d="m8.107-0.0078125-1.4136 1.414 4.2926 4.293h-12.986v2h12.896l-4.1855 3.9766 1.377 1.4492 6.7441-6.4062-6.7246-6.7266z"></path></svg>`
)

// HTML renders the pagination.
func (p Pagination) HTML() template.HTML {
	label := p.LandmarkLabel
	if label == "" {
		label = "Pagination"
	}
	block := ""
	if p.Previous != nil || p.Next != nil {
		block = "govuk-pagination--block"
	}
	var w writer
	w.raw("<nav")
	w.class("govuk-pagination", block, p.Classes)
	w.attr("aria-label", label)
	w.raw(">")
	for _, l := range []struct {
		link         *PageLink
		kind, arrow  string
		defaultTitle string
	}{
		{p.Previous, "prev", arrowPrevious, "Previous"},
		{p.Next, "next", arrowNext, "Next"},
	} {
		if l.link == nil || l.link.Href == "" {
			continue
		}
		w.raw(`<div class="govuk-pagination__`, l.kind, `"><a class="govuk-link govuk-pagination__link"`)
		w.url("href", l.link.Href)
		w.raw(` rel="`, l.kind, `">`, l.arrow)
		decorated := ""
		if l.link.LabelText == "" {
			decorated = "govuk-pagination__link-title--decorated"
		}
		w.raw("<span")
		w.class("govuk-pagination__link-title", decorated)
		w.raw(">")
		if l.link.Text != "" {
			w.text(l.link.Text)
		} else {
			w.raw(l.defaultTitle, `<span class="govuk-visually-hidden"> page</span>`)
		}
		w.raw("</span>")
		if l.link.LabelText != "" {
			w.raw(`<span class="govuk-visually-hidden">:</span><span class="govuk-pagination__link-label">`)
			w.text(l.link.LabelText)
			w.raw("</span>")
		}
		w.raw("</a></div>")
	}
	w.raw("</nav>")
	return w.html()
}

// GenericHeader is govukGenericHeader: the partnership's name as the home link, with no crown.
type GenericHeader struct {
	URL              string `json:"url"`
	LogoText         string `json:"logoText"`
	Classes          string `json:"classes"`
	ContainerClasses string `json:"containerClasses"`
}

// HTML renders the header.
func (h GenericHeader) HTML() template.HTML {
	url, container := h.URL, h.ContainerClasses
	if url == "" {
		url = "/"
	}
	if container == "" {
		container = "govuk-width-container"
	}
	var w writer
	w.raw("<div")
	w.class("govuk-generic-header", h.Classes)
	w.raw("><div")
	w.class("govuk-generic-header__container", container)
	w.raw(`><div class="govuk-generic-header__logo"><a`)
	w.url("href", url)
	w.raw(` class="govuk-generic-header__homepage-link">`)
	w.text(h.LogoText)
	w.raw("</a></div></div></div>")
	return w.html()
}

// NavigationItem is one link of the service navigation.
type NavigationItem struct {
	Href    string `json:"href"`
	Text    string `json:"text"`
	Current bool   `json:"current"`
	Active  bool   `json:"active"`
}

// NavigationSlots are HTML placed in the service navigation.
type NavigationSlots struct {
	NavigationEnd template.HTML `json:"navigationEnd"`
}

// ServiceNavigation is govukServiceNavigation without a service name: the partnership's name is in
// the header above it.
type ServiceNavigation struct {
	Navigation      []NavigationItem `json:"navigation"`
	NavigationLabel string           `json:"navigationLabel"`
	NavigationID    string           `json:"navigationId"`
	MenuButtonText  string           `json:"menuButtonText"`
	Classes         string           `json:"classes"`
	Slots           *NavigationSlots `json:"slots"`
}

// HTML renders the navigation.
func (n ServiceNavigation) HTML() template.HTML {
	menu, id := n.MenuButtonText, n.NavigationID
	if menu == "" {
		menu = "Menu"
	}
	if id == "" {
		id = "navigation"
	}
	label := n.NavigationLabel
	if label == "" {
		label = menu
	}
	var end template.HTML
	if n.Slots != nil {
		end = n.Slots.NavigationEnd
	}
	var w writer
	w.raw("<div")
	w.class("govuk-service-navigation", n.Classes)
	w.raw(` data-module="govuk-service-navigation"><div class="govuk-width-container"><div class="govuk-service-navigation__container">`)
	if len(n.Navigation) > 0 || end != "" {
		w.raw(`<nav`)
		w.attr("aria-label", label)
		w.raw(` class="govuk-service-navigation__wrapper">`)
		if len(n.Navigation) > 1 {
			w.raw(`<button type="button" class="govuk-service-navigation__toggle govuk-js-service-navigation-toggle"`)
			w.attr("aria-controls", id)
			w.raw(` hidden aria-hidden="true">`)
			w.text(menu)
			w.raw("</button>")
		}
		w.raw(`<ul class="govuk-service-navigation__list"`)
		w.attr("id", id)
		w.raw(">")
		for _, it := range n.Navigation {
			on := it.Current || it.Active
			active, ariaCurrent := "", "true"
			if on {
				active = "govuk-service-navigation__item--active"
			}
			if it.Current {
				ariaCurrent = "page"
			}
			w.raw("<li")
			w.class("govuk-service-navigation__item", active)
			w.raw(">")
			if it.Href != "" {
				w.raw(`<a class="govuk-service-navigation__link"`)
				w.url("href", it.Href)
			} else {
				w.raw(`<span class="govuk-service-navigation__text"`)
			}
			if on {
				w.attr("aria-current", ariaCurrent)
			}
			w.raw(">")
			if on {
				w.raw(`<strong class="govuk-service-navigation__active-fallback">`)
				w.text(it.Text)
				w.raw("</strong>")
			} else {
				w.text(it.Text)
			}
			if it.Href != "" {
				w.raw("</a>")
			} else {
				w.raw("</span>")
			}
			w.raw("</li>")
		}
		w.WriteString(string(end))
		w.raw("</ul></nav>")
	}
	w.raw("</div></div></div>")
	return w.html()
}
