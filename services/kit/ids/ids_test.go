package ids

import (
	"testing"
	"time"
)

func TestNewSortsByTimeAndIsUnique(t *testing.T) {
	base := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	seen := map[string]bool{}
	prev := ""
	for i := range 2000 {
		id := New(base.Add(time.Duration(i) * time.Millisecond))
		if !Valid(id) {
			t.Fatalf("%q is not valid", id)
		}
		if seen[id] {
			t.Fatalf("duplicate %q", id)
		}
		seen[id] = true
		if id <= prev {
			t.Fatalf("%q does not sort after %q", id, prev)
		}
		prev = id
	}
	for _, bad := range []string{"", "01ARZ3NDEKTSV4RRFFQ69G5FA", "01ARZ3NDEKTSV4RRFFQ69G5FAI", "81ARZ3NDEKTSV4RRFFQ69G5FAV", "01arz3ndektsv4rrffq69g5fav"} {
		if Valid(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
