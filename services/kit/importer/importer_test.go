package importer

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

var units = Layout{Name: "units", Columns: []Column{
	{Name: KeyColumn}, {Name: "scheme", Required: true}, {Name: "bedrooms", Required: true}, {Name: "features"},
}}

func readAll(t *testing.T, src io.Reader) ([]Row, []Error) {
	t.Helper()
	rd, err := NewReader(src, "units.csv", units)
	if err != nil {
		es, ok := err.(Errors)
		if !ok {
			t.Fatalf("not the file's errors: %v", err)
		}
		return nil, es
	}
	var rows []Row
	for {
		row, ok := rd.Next()
		if !ok {
			return rows, rd.Errors
		}
		rows = append(rows, row)
	}
}

func TestReadingALayout(t *testing.T) {
	for _, tc := range []struct {
		name    string
		file    string
		rows    int
		errs    []string // "row column: message part"
		firstKV [2]string
	}{
		{name: "a clean file, columns in any order", file: "scheme,importKey,bedrooms\nHome from Home,u1,1\nHome from Home,u2, 2 \n", rows: 2, firstKV: [2]string{"importKey", "u1"}},
		{name: "a byte-order mark is not part of the header", file: "\uFEFFimportKey,scheme,bedrooms\nu1,HfH,1\n", rows: 1, firstKV: [2]string{"importKey", "u1"}},
		{name: "quoted values keep their commas", file: "importKey,scheme,bedrooms\nu1,\"Home, from Home\",1\n", rows: 1, firstKV: [2]string{"scheme", "Home, from Home"}},
		{name: "an empty file", file: "", errs: []string{"1 : the file is empty"}},
		{name: "every header problem at once", file: "importKey,scheme,colour,scheme\n",
			errs: []string{"1 colour: is not a column of the units layout", "1 scheme: is named twice", "1 bedrooms: is required and missing"}},
		{name: "a row with too few columns is named and the rest read", file: "importKey,scheme,bedrooms\nu1,HfH\nu2,HfH,1\n", rows: 1,
			errs: []string{"2 : has a different number of columns"}},
		{name: "a stray quote stops the file", file: "importKey,scheme,bedrooms\nu1,Home \"from\" Home,1\nu2,HfH,1\n",
			errs: []string{"2 : has a quote out of place"}},
		{name: "text that is not UTF-8", file: "importKey,scheme,bedrooms\nu1,Caf\xe9,1\n", errs: []string{"2 scheme: is not UTF-8 text"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rows, errs := readAll(t, strings.NewReader(tc.file))
			if len(rows) != tc.rows {
				t.Errorf("%d rows, want %d", len(rows), tc.rows)
			}
			if tc.firstKV[0] != "" && (len(rows) == 0 || rows[0].Get(tc.firstKV[0]) != tc.firstKV[1]) {
				t.Errorf("first row's %s is not %q", tc.firstKV[0], tc.firstKV[1])
			}
			if len(errs) != len(tc.errs) {
				t.Fatalf("errors %v, want %v", errs, tc.errs)
			}
			for i, want := range tc.errs {
				got := fmt.Sprintf("%d %s: %s", errs[i].Row, errs[i].Column, errs[i].Message)
				if !strings.HasPrefix(got, want) || errs[i].File != "units.csv" {
					t.Errorf("error %d is %q in %s, want %q", i, got, errs[i].File, want)
				}
			}
		})
	}
}

// A file of garbage is answered with at most MaxErrors errors and a last one saying the rest was not
// read, however large it is.
func TestAFileOfGarbageEndsAtTheErrorLimit(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("importKey,scheme,bedrooms\n")
	rng := rand.New(rand.NewPCG(1, 2))
	for b.Len() < 8<<20 {
		fmt.Fprintf(&b, "%d,%d\n", rng.Int(), rng.Int()) // two columns where three are wanted
	}
	rows, errs := readAll(t, &b)
	if len(rows) != 0 || len(errs) != MaxErrors+1 || !strings.Contains(errs[MaxErrors].Message, "the rest of the file was not read") {
		t.Fatalf("%d rows, %d errors, last %+v", len(rows), len(errs), errs[len(errs)-1])
	}
	if left := b.Len(); left < 7<<20 {
		t.Errorf("read %d bytes of a file abandoned after %d errors", 8<<20-left, MaxErrors)
	}
}
