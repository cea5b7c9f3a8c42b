package ui

import "html/template"

// MoJ Frontend ships no fixtures, so its components are ported from their macros alone; the tests
// of the pages that use them check their markup.

// SubNavigationItem is a link of a MoJ sub-navigation.
type SubNavigationItem struct {
	Text   string
	HTML   template.HTML
	Href   string
	Active bool
}

// SubNavigation is mojSubNavigation: tabs that are links, the current one marked.
type SubNavigation struct {
	Label   string
	Classes string
	Items   []SubNavigationItem
}

// HTML renders the sub-navigation.
func (n SubNavigation) HTML() template.HTML {
	label := n.Label
	if label == "" {
		label = "Secondary navigation region"
	}
	var w writer
	w.raw("<nav")
	w.class("moj-sub-navigation", n.Classes)
	w.attr("aria-label", label)
	w.raw(`><ul class="moj-sub-navigation__list">`)
	for _, it := range n.Items {
		w.raw(`<li class="moj-sub-navigation__item"><a class="moj-sub-navigation__link"`)
		if it.Active {
			w.raw(` aria-current="page"`)
		}
		w.url("href", it.Href)
		w.raw(">")
		w.content(it.HTML, it.Text)
		w.raw("</a></li>")
	}
	w.raw("</ul></nav>")
	return w.html()
}
