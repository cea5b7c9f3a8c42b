// Package importer reads the CSV files a partnership brings its history in with: a published layout
// of columns per kind of record, checked row by row as it streams, so a file of any size is read in
// constant memory and every error is named by file, row and column. Writing is the services' part:
// they validate each row with the live API's rules and write nothing unless the whole file is clean.
package importer

import (
	"bytes"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"unicode/utf8"
)

// Column is one column of a layout.
type Column struct {
	Name     string
	Required bool
	// Doc says what the column holds, for docs/import.md and for error messages.
	Doc string
}

// Layout is the published column layout of one kind of record.
type Layout struct {
	Name    string
	Columns []Column
}

// Error is one problem with a file: where it is and what is wrong. Row 1 is the header; Column is
// empty for a problem with a whole row or the file.
type Error struct {
	File    string `json:"file"`
	Row     int    `json:"row"`
	Column  string `json:"column,omitempty"`
	Message string `json:"message"`
}

func (e Error) Error() string {
	where := fmt.Sprintf("%s row %d", e.File, e.Row)
	if e.Column != "" {
		where += " column " + e.Column
	}
	return where + ": " + e.Message
}

// Row is one data row: its number in the file (the header is row 1) and its values by column.
type Row struct {
	Number int
	values map[string]string
}

// Get is the row's value in a column, with surrounding spaces removed.
func (r Row) Get(column string) string { return strings.TrimSpace(r.values[column]) }

// KeyColumn holds a row's own key in the partnership's old records.
const KeyColumn = "importKey"

// Key is the row's import key: its importKey, or, where the old records have none, one made from
// the row's values ("row:" and 24 hex digits of their SHA-256), so the same row sent again is the
// same record — and a row corrected is a new one.
func (r Row) Key() string {
	if k := r.Get(KeyColumn); k != "" {
		return k
	}
	columns := make([]string, 0, len(r.values))
	for c := range r.values {
		if c != KeyColumn {
			columns = append(columns, c)
		}
	}
	slices.Sort(columns)
	h := sha256.New()
	for _, c := range columns {
		fmt.Fprintf(h, "%s\x1f%s\x1e", c, r.Get(c))
	}
	return "row:" + hex.EncodeToString(h.Sum(nil))[:24]
}

// MaxErrors bounds the errors one file reports; past it the file is abandoned, with a last error
// saying so, so a file of garbage is answered quickly and briefly.
const MaxErrors = 1000

// Reader reads a file in a layout row by row.
type Reader struct {
	file    string
	layout  Layout
	csv     *csv.Reader
	columns []string // the header's columns, in the file's order
	row     int
	Errors  []Error
}

// utf8BOM is the byte-order mark some spreadsheets write first; it is not part of the header.
var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// NewReader reads the header of a file and checks it against the layout: every column named once,
// each one of the layout's, every required one present, in any order.
func NewReader(r io.Reader, file string, layout Layout) (*Reader, error) {
	br := newBOMSkipper(r)
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	rd := &Reader{file: file, layout: layout, csv: cr, row: 1}
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, rd.fail(1, "", "the file is empty: it needs a header row naming its columns")
	}
	if err != nil {
		return nil, rd.fail(1, "", "the header is not CSV: "+csvMessage(err))
	}
	known := map[string]bool{}
	for _, c := range layout.Columns {
		known[c.Name] = true
	}
	seen := map[string]bool{}
	for _, h := range header {
		h = strings.TrimSpace(h)
		switch {
		case !utf8.ValidString(h):
			rd.add(1, "", "the header is not UTF-8 text")
		case !known[h]:
			rd.add(1, h, fmt.Sprintf("is not a column of the %s layout (docs/import.md)", layout.Name))
		case seen[h]:
			rd.add(1, h, "is named twice")
		}
		seen[h] = true
		rd.columns = append(rd.columns, h)
	}
	for _, c := range layout.Columns {
		if c.Required && !seen[c.Name] {
			rd.add(1, c.Name, "is required and missing from the header")
		}
	}
	if len(rd.Errors) > 0 {
		return nil, rd.errs()
	}
	cr.FieldsPerRecord = len(header)
	return rd, nil
}

// Next reads the next row; it returns false at the end of the file or once MaxErrors errors have
// been found. A row that cannot be read records its error and is skipped.
func (rd *Reader) Next() (Row, bool) {
	for len(rd.Errors) < MaxErrors {
		rec, err := rd.csv.Read()
		rd.row++
		if errors.Is(err, io.EOF) {
			return Row{}, false
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rd.row = pe.StartLine
			}
			rd.add(rd.row, "", csvMessage(err))
			if !errors.Is(err, csv.ErrFieldCount) {
				return Row{}, false // the rest of the file cannot be trusted to line up
			}
			continue
		}
		row := Row{Number: rd.row, values: make(map[string]string, len(rec))}
		bad := false
		for i, v := range rec {
			if !utf8.ValidString(v) {
				rd.add(rd.row, rd.columns[i], "is not UTF-8 text (save the file as CSV UTF-8)")
				bad = true
				continue
			}
			row.values[rd.columns[i]] = v
		}
		if !bad {
			return row, true
		}
	}
	if len(rd.Errors) >= MaxErrors {
		rd.Errors = append(rd.Errors[:MaxErrors], Error{File: rd.file, Row: rd.row, Message: fmt.Sprintf("more than %d errors: the rest of the file was not read", MaxErrors)})
	}
	return Row{}, false
}

// Fail records an error found in a row's value by the service's own rules.
func (rd *Reader) Fail(row Row, column, message string) { rd.add(row.Number, column, message) }

func (rd *Reader) add(row int, column, message string) {
	if len(rd.Errors) < MaxErrors {
		rd.Errors = append(rd.Errors, Error{File: rd.file, Row: row, Column: column, Message: message})
	}
}

func (rd *Reader) fail(row int, column, message string) error {
	rd.add(row, column, message)
	return rd.errs()
}

func (rd *Reader) errs() error { return Errors(rd.Errors) }

// Errors is every error of a file.
type Errors []Error

func (es Errors) Error() string {
	msgs := make([]string, 0, min(len(es), 3))
	for _, e := range es[:min(len(es), 3)] {
		msgs = append(msgs, e.Error())
	}
	if len(es) > 3 {
		msgs = append(msgs, fmt.Sprintf("and %d more", len(es)-3))
	}
	return strings.Join(msgs, "; ")
}

func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		switch {
		case errors.Is(pe.Err, csv.ErrFieldCount):
			return "has a different number of columns from the header"
		case errors.Is(pe.Err, csv.ErrQuote), errors.Is(pe.Err, csv.ErrBareQuote):
			return "has a quote out of place: quote a whole value, and double a quote inside one"
		}
		return pe.Err.Error()
	}
	return err.Error()
}

// bomSkipper drops a UTF-8 byte-order mark at the start of a stream.
type bomSkipper struct {
	r       io.Reader
	checked bool
	pending []byte
}

func newBOMSkipper(r io.Reader) *bomSkipper { return &bomSkipper{r: r} }

func (b *bomSkipper) Read(p []byte) (int, error) {
	if !b.checked {
		b.checked = true
		head := make([]byte, len(utf8BOM))
		n, err := io.ReadFull(b.r, head)
		head = head[:n]
		if !bytes.Equal(head, utf8BOM) {
			b.pending = head
		}
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
			return 0, err
		}
	}
	if len(b.pending) > 0 {
		n := copy(p, b.pending)
		b.pending = b.pending[n:]
		return n, nil
	}
	return b.r.Read(p)
}

// ColumnNames lists a layout's column names in order, for an example header.
func (l Layout) ColumnNames() []string {
	out := make([]string, len(l.Columns))
	for i, c := range l.Columns {
		out[i] = c.Name
	}
	return slices.Clip(out)
}
