package httpapi

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Fields collects what is wrong with a request body, field by field.
type Fields []FieldError

// Add records a problem with one field.
func (e *Fields) Add(field, format string, args ...any) {
	*e = append(*e, FieldError{Field: field, Message: fmt.Sprintf(format, args...)})
}

// Text checks a free-text field: trimmed in place, bounded, no control characters.
func (e *Fields) Text(field string, s *string, required bool, max int) {
	*s = strings.TrimSpace(*s)
	switch {
	case *s == "" && required:
		e.Add(field, "is required")
	case utf8.RuneCountInString(*s) > max:
		e.Add(field, "must be at most %d characters", max)
	case strings.ContainsFunc(*s, func(r rune) bool { return unicode.IsControl(r) && r != '\n' && r != '\t' }):
		e.Add(field, "must not contain control characters")
	}
}

// OneOf checks an enumerated field; an empty value passes unless required.
func (e *Fields) OneOf(field, v string, allowed []string, required bool) {
	if v == "" && !required {
		return
	}
	if !slices.Contains(allowed, v) {
		e.Add(field, "must be one of %s", strings.Join(allowed, ", "))
	}
}
