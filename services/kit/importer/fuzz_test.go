package importer

import (
	"bytes"
	"testing"
	"unicode/utf8"
)

// FuzzReader: any bytes as a units file end in rows or errors named by row — never a crash, never a
// row with a value that is not UTF-8, never more than MaxErrors errors and the one saying so.
func FuzzReader(f *testing.F) {
	f.Add([]byte("importKey,scheme,bedrooms,features\nU1,Home from Home,1,lift\n"))
	f.Add([]byte("\xef\xbb\xbfscheme,bedrooms\nA,2\nB\n"))
	f.Add([]byte("scheme,bedrooms\n\"unterminated,1\n"))
	f.Add([]byte("scheme,scheme,bedrooms\n"))
	f.Add([]byte("scheme,bedrooms\n\xff\xfe,1\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rd, err := NewReader(bytes.NewReader(data), "units.csv", units)
		if err != nil {
			es, ok := err.(Errors)
			if !ok || len(es) == 0 {
				t.Fatalf("the header's refusal is not the file's errors: %v", err)
			}
			return
		}
		rows := 0
		for {
			row, ok := rd.Next()
			if !ok {
				break
			}
			rows++
			if row.Number < 2 {
				t.Fatalf("data row numbered %d", row.Number)
			}
			for _, c := range units.Columns {
				if !utf8.ValidString(row.Get(c.Name)) {
					t.Fatalf("row %d column %s is not UTF-8", row.Number, c.Name)
				}
			}
			if rows > len(data) {
				t.Fatal("more rows than bytes")
			}
		}
		if len(rd.Errors) > MaxErrors+1 {
			t.Fatalf("%d errors", len(rd.Errors))
		}
		for _, e := range rd.Errors {
			if e.Row < 1 || e.Message == "" || e.File != "units.csv" {
				t.Fatalf("error without a place or a message: %+v", e)
			}
		}
	})
}
