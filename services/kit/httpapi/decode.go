package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"unicode"
)

// DefaultBodyLimit bounds request bodies unless a route says otherwise.
const DefaultBodyLimit = 64 << 10

// Validator is implemented by request bodies that check themselves after decoding.
type Validator interface{ Validate() []FieldError }

// Decode reads exactly one JSON value of at most limit bytes into v, refusing unknown fields,
// trailing data and wrong content types, then runs v's own validation. The returned problem is
// ready to send.
func Decode(r *http.Request, v any, limit int64) *Problem {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return NewProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Send JSON",
				"the body must be application/json")
		}
	}
	body := http.MaxBytesReader(nil, r.Body, limit)
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return decodeProblem(err, limit)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return decodeProblem(err, limit)
		}
		return BadRequest("the body must hold exactly one JSON value")
	}
	if val, ok := v.(Validator); ok {
		if errs := val.Validate(); len(errs) > 0 {
			return BadRequest(fmt.Sprintf("%d field(s) are not valid", len(errs)), errs...)
		}
	}
	return nil
}

func decodeProblem(err error, limit int64) *Problem {
	var maxErr *http.MaxBytesError
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &maxErr):
		return NewProblem(http.StatusRequestEntityTooLarge, "too-large", "Body too large",
			fmt.Sprintf("the body must be at most %d bytes", limit))
	case errors.Is(err, io.EOF):
		return BadRequest("the body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return BadRequest("the body ends in the middle of a JSON value")
	case errors.As(err, &syntaxErr):
		return BadRequest(fmt.Sprintf("the body is not JSON: %v (at byte %d)", syntaxErr, syntaxErr.Offset))
	case errors.As(err, &typeErr):
		field := jsonPath(typeErr.Field)
		want := "another type"
		if typeErr.Type != nil {
			want = jsonKind(typeErr.Type.Kind().String())
		}
		return BadRequest("a field has the wrong type", FieldError{Field: field,
			Message: fmt.Sprintf("must be %s, not JSON %s", want, typeErr.Value)})
	// encoding/json has no typed error for an unknown field; its message is the only way to name it.
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return BadRequest("the body has a field this API does not know", FieldError{Field: name, Message: "unknown field"})
	default:
		// Values that refuse themselves (dates, enums) explain why in their error.
		return BadRequest(err.Error())
	}
}

// jsonPath turns encoding/json's field path into the body's: it names an embedded struct by its
// Go type ("Form.needs"), which the body does not have; JSON names here never start upper case.
func jsonPath(field string) string {
	var parts []string
	for _, p := range strings.Split(field, ".") {
		if p != "" && !unicode.IsUpper(rune(p[0])) {
			parts = append(parts, p)
		}
	}
	if len(parts) == 0 {
		return "(body)"
	}
	return strings.Join(parts, ".")
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	default:
		return "a number"
	}
}
