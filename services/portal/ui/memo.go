package ui

import (
	"bytes"
	"fmt"
	"html/template"
	"sync"
)

// memoLimit bounds how many distinct renders a Memo keeps. The portal's keys come from fixed lists
// (a filter's options and the value chosen among them, a status), far fewer than this; past it a
// Memo still renders, it only stops remembering.
const memoLimit = 4096

// Memo renders components whose input repeats from request to request — a filter's options with
// one of them selected, a form whose choices come from the workflow — once, and serves the same HTML afterwards. On a
// caseload page these are most of html/template's work, and the HTML is the component template's
// own output, escaped as it would be inside the page.
type Memo struct {
	tmpl *template.Template
	mu   sync.RWMutex
	html map[string]template.HTML
}

// NewMemo parses the components.
func NewMemo() (*Memo, error) {
	t, err := template.ParseFS(Templates, "components.html")
	if err != nil {
		return nil, fmt.Errorf("parse components: %w", err)
	}
	return &Memo{tmpl: t, html: map[string]template.HTML{}}, nil
}

// Render returns the HTML of the component template name for data. key must identify data
// completely: two inputs with the same key are taken to render the same HTML.
func (m *Memo) Render(name, key string, data any) (template.HTML, error) {
	k := name + "\x00" + key
	m.mu.RLock()
	h, ok := m.html[k]
	m.mu.RUnlock()
	if ok {
		return h, nil
	}
	var buf bytes.Buffer
	if err := m.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		return "", fmt.Errorf("render %s: %w", name, err)
	}
	h = template.HTML(buf.String()) // #nosec G203 -- the output of html/template, escaped in its own context
	m.mu.Lock()
	if len(m.html) < memoLimit {
		m.html[k] = h
	}
	m.mu.Unlock()
	return h, nil
}
