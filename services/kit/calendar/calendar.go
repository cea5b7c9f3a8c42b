// Package calendar counts working days in England and Wales: weekends, the bank holidays
// gov.uk publishes, and days a tenant declares closed.
package calendar

import (
	"errors"
	"fmt"
	"time"

	// Deadlines are London clock times wherever the service runs, distroless images included.
	_ "time/tzdata"
)

// London is the zone every Homeward deadline is set in.
var london = mustLoad("Europe/London")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(fmt.Sprintf("time zone %s: %v (embedded by time/tzdata)", name, err))
	}
	return loc
}

// London returns the Europe/London location.
func London() *time.Location { return london }

// FirstYear and LastYear bound the built-in bank holidays.
const (
	FirstYear = 2024
	LastYear  = 2030
)

// ErrOutsideCalendar is returned when a count would run past the years whose bank holidays are known.
var ErrOutsideCalendar = fmt.Errorf("working days are known from %d to %d only", FirstYear, LastYear)

// bankHolidays are the England and Wales bank holidays as published on gov.uk, substitute days
// included (a holiday falling at a weekend moves to the next weekday).
var bankHolidays = map[Date]string{}

func init() {
	for name, days := range map[string][]string{
		"New Year's Day": {"2024-01-01", "2025-01-01", "2026-01-01", "2027-01-01", "2028-01-03", "2029-01-01", "2030-01-01"},
		"Good Friday":    {"2024-03-29", "2025-04-18", "2026-04-03", "2027-03-26", "2028-04-14", "2029-03-30", "2030-04-19"},
		"Easter Monday":  {"2024-04-01", "2025-04-21", "2026-04-06", "2027-03-29", "2028-04-17", "2029-04-02", "2030-04-22"},
		"Early May":      {"2024-05-06", "2025-05-05", "2026-05-04", "2027-05-03", "2028-05-01", "2029-05-07", "2030-05-06"},
		"Spring":         {"2024-05-27", "2025-05-26", "2026-05-25", "2027-05-31", "2028-05-29", "2029-05-28", "2030-05-27"},
		"Summer":         {"2024-08-26", "2025-08-25", "2026-08-31", "2027-08-30", "2028-08-28", "2029-08-27", "2030-08-26"},
		"Christmas Day":  {"2024-12-25", "2025-12-25", "2026-12-25", "2027-12-27", "2028-12-25", "2029-12-25", "2030-12-25"},
		"Boxing Day":     {"2024-12-26", "2025-12-26", "2026-12-28", "2027-12-28", "2028-12-26", "2029-12-26", "2030-12-26"},
	} {
		for _, s := range days {
			d, err := ParseDate(s)
			if err != nil {
				panic(err)
			}
			bankHolidays[d] = name
		}
	}
}

// Date is a calendar day with no time or zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// MaxPeriodDays bounds the period a report covers: five years, leap days included.
const MaxPeriodDays = 5*365 + 2

// IsZero reports whether d is the zero Date, which is no day at all.
func (d Date) IsZero() bool { return d == Date{} }

// ParseDate reads YYYY-MM-DD and refuses impossible dates.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("%q is not a date (YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// DateOf is the day of t in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// String writes YYYY-MM-DD.
func (d Date) String() string {
	if d.Year < 0 || d.Year > 9999 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
	}
	// Lists and matches format thousands of dates per request: no fmt on the common path.
	b := [10]byte{
		byte('0' + d.Year/1000), byte('0' + d.Year/100%10), byte('0' + d.Year/10%10), byte('0' + d.Year%10), '-',
		byte('0' + int(d.Month)/10), byte('0' + int(d.Month)%10), '-', byte('0' + d.Day/10), byte('0' + d.Day%10),
	}
	return string(b[:])
}

// In is the time on day d at the given clock time in loc.
func (d Date) In(loc *time.Location, hour, minute, sec, nsec int) time.Time {
	return time.Date(d.Year, d.Month, d.Day, hour, minute, sec, nsec, loc)
}

// AddDays moves by n calendar days.
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.Compare(o) < 0 }

// Compare returns -1, 0 or 1.
func (d Date) Compare(o Date) int {
	a := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	b := time.Date(o.Year, o.Month, o.Day, 0, 0, 0, 0, time.UTC)
	return a.Compare(b)
}

// DaysUntil is the number of calendar days from d to o (negative when o is earlier).
func (d Date) DaysUntil(o Date) int {
	a := time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC)
	b := time.Date(o.Year, o.Month, o.Day, 0, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Hours() / 24)
}

// MarshalText writes YYYY-MM-DD.
func (d Date) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText reads YYYY-MM-DD.
func (d *Date) UnmarshalText(b []byte) error {
	v, err := ParseDate(string(b))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// BankHoliday names the England and Wales bank holiday on d, if it is one.
func BankHoliday(d Date) (string, bool) {
	name, ok := bankHolidays[d]
	return name, ok
}

// Calendar is the working-day calendar of one tenant.
type Calendar struct {
	closed map[Date]bool
}

// New builds a calendar with the tenant's declared closure days.
func New(closures []Date) *Calendar {
	c := &Calendar{closed: make(map[Date]bool, len(closures))}
	for _, d := range closures {
		c.closed[d] = true
	}
	return c
}

// WorkingDay reports whether d is a weekday that is neither a bank holiday nor a closure day.
func (c *Calendar) WorkingDay(d Date) (bool, error) {
	if d.Year < FirstYear || d.Year > LastYear {
		return false, ErrOutsideCalendar
	}
	wd := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
	if wd == time.Saturday || wd == time.Sunday {
		return false, nil
	}
	if _, ok := bankHolidays[d]; ok {
		return false, nil
	}
	return !c.closed[d], nil
}

// AddWorkingDays is the time n working days after t, at the same Europe/London clock time: the
// first working day counted is the one after t's day, whatever t's day is.
func (c *Calendar) AddWorkingDays(t time.Time, n int) (time.Time, error) {
	if n < 0 {
		return time.Time{}, errors.New("working days to add must not be negative")
	}
	local := t.In(london)
	d := DateOf(local)
	for counted := 0; counted < n; {
		d = d.AddDays(1)
		ok, err := c.WorkingDay(d)
		if err != nil {
			return time.Time{}, err
		}
		if ok {
			counted++
		}
	}
	return d.In(london, local.Hour(), local.Minute(), local.Second(), local.Nanosecond()), nil
}
