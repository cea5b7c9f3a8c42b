package ui

import "html/template"

// The helpers below build the small pieces of HTML a table cell or summary value holds — a link, a
// line of small print, a visually hidden explanation — escaping every value they are given, so pages
// that fill a Table or SummaryList from Go never concatenate unescaped text.

// Escape is text as HTML.
func Escape(text string) template.HTML { return template.HTML(template.HTMLEscapeString(text)) } // #nosec G203 -- escaped

// Join puts pieces of HTML one after another.
func Join(parts ...template.HTML) template.HTML {
	var w writer
	for _, p := range parts {
		w.WriteString(string(p))
	}
	return w.html()
}

// LineBreak is <br>.
const LineBreak template.HTML = "<br>"

// Link is a GOV.UK link to href reading text, with extra classes.
func Link(href, text string, classes ...string) template.HTML {
	return LinkHTML(href, Escape(text), classes...)
}

// LinkHTML is a GOV.UK link whose content is HTML (say, text and a visually hidden explanation).
func LinkHTML(href string, content template.HTML, classes ...string) template.HTML {
	var w writer
	w.raw("<a")
	w.class("govuk-link", classes...)
	w.url("href", href)
	w.raw(">", string(content), "</a>")
	return w.html()
}

// VisuallyHidden is text read by screen readers and not shown.
func VisuallyHidden(text string) template.HTML {
	return Join(`<span class="govuk-visually-hidden">`, Escape(text), "</span>")
}

// Small is a line of small print.
func Small(text string) template.HTML {
	return Join(`<span class="govuk-body-s">`, Escape(text), "</span>")
}

// Muted is text in the hint colour, for "not assigned" and the like.
func Muted(text string) template.HTML {
	return Join(`<span class="govuk-hint">`, Escape(text), "</span>")
}

// HTML renders the tag.
func (t Tag) HTML() template.HTML {
	var w writer
	t.write(&w)
	return w.html()
}
