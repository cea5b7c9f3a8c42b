package importer

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/homeward-dev/homeward/services/kit/calendar"
)

// Cells reads one row's values as the types the layouts share, recording each problem on the
// reader, so every service reads yes/no, dates and lists the same way and says the same of them.
type Cells struct {
	rd    *Reader
	row   Row
	today calendar.Date
	// Bad is true once any value of the row had a problem.
	Bad bool
}

// Cells reads a row; today bounds the dates that must not be in the future.
func (rd *Reader) Cells(row Row, today calendar.Date) *Cells {
	return &Cells{rd: rd, row: row, today: today}
}

// Get is the row's value in a column.
func (c *Cells) Get(column string) string { return c.row.Get(column) }

// Fail records a problem with a column's value.
func (c *Cells) Fail(column, message string) {
	c.rd.Fail(c.row, column, message)
	c.Bad = true
}

// Date is a YYYY-MM-DD value, any day; nil when the cell is empty or not a date.
func (c *Cells) Date(column string) *calendar.Date {
	v := c.Get(column)
	if v == "" {
		return nil
	}
	d, err := calendar.ParseDate(v)
	if err != nil {
		c.Fail(column, "must be a date, YYYY-MM-DD")
		return nil
	}
	return &d
}

// Past is a YYYY-MM-DD value that must not be after today: what happened before Homeward.
func (c *Cells) Past(column string) *calendar.Date {
	d := c.Date(column)
	if d != nil && c.today.Before(*d) {
		c.Fail(column, "must not be in the future")
	}
	return d
}

// YesNo is a yes/no value (true/false, y/n and 1/0 too, in any case). An empty cell is no, unless
// the layout requires the column.
func (c *Cells) YesNo(column string) bool {
	switch strings.ToLower(c.Get(column)) {
	case "yes", "true", "y", "1":
		return true
	case "no", "false", "n", "0":
		return false
	case "":
		if !c.rd.layout.required(column) {
			return false
		}
	}
	c.Fail(column, "must be yes or no")
	return false
}

// List is a value of items separated by semicolons, each trimmed, empty ones dropped; never nil.
func (c *Cells) List(column string) []string {
	items := []string{}
	for _, it := range strings.Split(c.Get(column), ";") {
		if it = strings.TrimSpace(it); it != "" {
			items = append(items, it)
		}
	}
	return items
}

// Entries is a list of entries whose parts are separated by |: e.g. 2026-03-01|Oldham Council.
// Each has min to max parts, trimmed, and is padded with empty parts to max; an entry with too few
// or too many is a problem, named by its place in the list.
func (c *Cells) Entries(column string, min, max int) [][]string {
	var out [][]string
	for i, entry := range c.List(column) {
		parts := strings.Split(entry, "|")
		for j := range parts {
			parts[j] = strings.TrimSpace(parts[j])
		}
		if len(parts) < min || len(parts) > max {
			c.Fail(column, fmt.Sprintf("entry %d (%q) must have %d to %d parts separated by |", i+1, entry, min, max))
			continue
		}
		out = append(out, append(parts, make([]string, max-len(parts))...))
	}
	return out
}

// Int is a whole number; 0 when the cell is empty, unless the layout requires the column.
func (c *Cells) Int(column string) int {
	v := c.Get(column)
	if v == "" {
		if c.rd.layout.required(column) {
			c.Fail(column, "is required: a whole number")
		}
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		c.Fail(column, "must be a whole number")
	}
	return n
}

func (l Layout) required(column string) bool {
	return slices.ContainsFunc(l.Columns, func(c Column) bool { return c.Name == column && c.Required })
}
