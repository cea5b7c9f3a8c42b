package importer

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

var stays = Layout{Name: "stays", Columns: []Column{
	{Name: "importKey", Required: true}, {Name: "arrival", Required: true}, {Name: "planned"}, {Name: "eligible", Required: true},
	{Name: "claimed"}, {Name: "nights", Required: true}, {Name: "extra"}, {Name: "features"},
}}

// cellsOf reads the one data row of a stays file and what each reading said.
func cellsOf(t *testing.T, values string) (*Cells, *Reader) {
	t.Helper()
	rd, err := NewReader(strings.NewReader("importKey,arrival,planned,eligible,claimed,nights,extra,features\n"+values+"\n"), "stays.csv", stays)
	if err != nil {
		t.Fatal(err)
	}
	row, ok := rd.Next()
	if !ok {
		t.Fatalf("no row: %v", rd.Errors)
	}
	return rd.Cells(row, calendar.Date{Year: 2026, Month: 11, Day: 30}), rd
}

func TestCells(t *testing.T) {
	for _, tc := range []struct {
		name, row string
		read      func(c *Cells) any
		want      any
		errors    []string // column: message
	}{
		{"a past date", "k,2026-11-30,,yes,,1,,", func(c *Cells) any { return c.Past("arrival").String() }, "2026-11-30", nil},
		{"a date in the future", "k,2026-12-01,,yes,,1,,", func(c *Cells) any { return c.Past("arrival").String() }, "2026-12-01",
			[]string{"arrival: must not be in the future"}},
		{"any date", "k,2026-11-01,2030-01-01,yes,,1,,", func(c *Cells) any { return c.Date("planned").String() }, "2030-01-01", nil},
		{"not a date", "k,30/11/2026,,yes,,1,,", func(c *Cells) any { return c.Past("arrival") == nil }, true,
			[]string{"arrival: must be a date, YYYY-MM-DD"}},
		{"an empty date", "k,2026-11-01,,yes,,1,,", func(c *Cells) any { return c.Date("planned") == nil }, true, nil},
		{"yes in any case", "k,2026-11-01,,YES,,1,,", func(c *Cells) any { return c.YesNo("eligible") }, true, nil},
		{"n is no", "k,2026-11-01,,n,,1,,", func(c *Cells) any { return c.YesNo("eligible") }, false, nil},
		{"an optional empty yes/no is no", "k,2026-11-01,,yes,,1,,", func(c *Cells) any { return c.YesNo("claimed") }, false, nil},
		{"a required empty yes/no", "k,2026-11-01,,,,1,,", func(c *Cells) any { return c.YesNo("eligible") }, false,
			[]string{"eligible: must be yes or no"}},
		{"maybe", "k,2026-11-01,,maybe,,1,,", func(c *Cells) any { return c.YesNo("eligible") }, false, []string{"eligible: must be yes or no"}},
		{"a number", "k,2026-11-01,,yes,, 14 ,,", func(c *Cells) any { return c.Int("nights") }, 14, nil},
		{"not a number", "k,2026-11-01,,yes,,two,,", func(c *Cells) any { return c.Int("nights") }, 0, []string{"nights: must be a whole number"}},
		{"a required empty number", "k,2026-11-01,,yes,,,,", func(c *Cells) any { return c.Int("nights") }, 0,
			[]string{"nights: is required: a whole number"}},
		{"an optional empty number", "k,2026-11-01,,yes,,1,,", func(c *Cells) any { return c.Int("extra") }, 0, nil},
		{"a list", "k,2026-11-01,,yes,,1,, lift ;;hoist;", func(c *Cells) any { return strings.Join(c.List("features"), "|") }, "lift|hoist", nil},
		{"an empty list", "k,2026-11-01,,yes,,1,,", func(c *Cells) any { return c.List("features") != nil && len(c.List("features")) == 0 }, true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, rd := cellsOf(t, tc.row)
			if got := tc.read(c); got != tc.want {
				t.Errorf("read %v, want %v", got, tc.want)
			}
			var said []string
			for _, e := range rd.Errors {
				if e.Row != 2 || e.File != "stays.csv" {
					t.Errorf("error at %s row %d", e.File, e.Row)
				}
				said = append(said, fmt.Sprintf("%s: %s", e.Column, e.Message))
			}
			if !slices.Equal(said, tc.errors) || c.Bad != (len(tc.errors) > 0) {
				t.Errorf("errors %q (bad %v), want %q", said, c.Bad, tc.errors)
			}
		})
	}
}

func TestRowKeys(t *testing.T) {
	keyOf := func(header, values string) string {
		t.Helper()
		rd, err := NewReader(strings.NewReader(header+"\n"+values+"\n"), "units.csv", units)
		if err != nil {
			t.Fatal(err)
		}
		row, ok := rd.Next()
		if !ok {
			t.Fatalf("no row: %v", rd.Errors)
		}
		return row.Key()
	}
	given := keyOf("importKey,scheme,bedrooms", "u1,Home from Home,1")
	made := keyOf("importKey,scheme,bedrooms", ",Home from Home,1")
	for _, tc := range []struct {
		name      string
		got, want string
		same      bool
	}{
		{"a given key is the key", given, "u1", true},
		{"a made key is the row's digest", made[:4], "row:", true},
		{"a made key does not depend on the columns' order", keyOf("bedrooms,scheme", "1,Home from Home"), made, true},
		{"nor on spaces around values", keyOf("scheme,bedrooms", " Home from Home , 1"), made, true},
		{"another row has another key", keyOf("scheme,bedrooms", "Home from Home,2"), made, false},
	} {
		if (tc.got == tc.want) != tc.same {
			t.Errorf("%s: %q and %q", tc.name, tc.got, tc.want)
		}
	}
	if len(made) != len("row:")+24 || strings.ContainsAny(made, " ,") {
		t.Errorf("made key %q", made)
	}
}
