package calendar

import (
	"errors"
	"testing"
	"time"
)

// easter computes Easter Sunday (anonymous Gregorian algorithm), independently of the table.
func easter(year int) Date {
	a := year % 19
	b, c := year/100, year%100
	d, e := b/4, b%4
	f := (b + 8) / 25
	g := (b - f + 1) / 3
	h := (19*a + b - d - g + 15) % 30
	i, k := c/4, c%4
	l := (32 + 2*e + 2*i - h - k) % 7
	m := (a + 11*h + 22*l) / 451
	month := (h + l - 7*m + 114) / 31
	day := (h+l-7*m+114)%31 + 1
	return Date{year, time.Month(month), day}
}

func weekday(d Date) time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Weekday()
}

func firstMonday(year int, m time.Month) Date {
	d := Date{year, m, 1}
	for weekday(d) != time.Monday {
		d = d.AddDays(1)
	}
	return d
}

func lastMonday(year int, m time.Month) Date {
	d := Date{year, m + 1, 1}.AddDays(-1)
	for weekday(d) != time.Monday {
		d = d.AddDays(-1)
	}
	return d
}

// substitute moves a weekend holiday to the next weekday not already taken.
func substitute(d Date, taken map[Date]bool) Date {
	for weekday(d) == time.Saturday || weekday(d) == time.Sunday || taken[d] {
		d = d.AddDays(1)
	}
	return d
}

// TestBankHolidaysFollowTheRules checks the published table against the rules that produce it,
// so a mistyped date cannot hide.
func TestBankHolidaysFollowTheRules(t *testing.T) {
	want := map[Date]bool{}
	for y := FirstYear; y <= LastYear; y++ {
		e := easter(y)
		taken := map[Date]bool{}
		for _, d := range []Date{
			substitute(Date{y, time.January, 1}, taken),
			e.AddDays(-2), e.AddDays(1),
			firstMonday(y, time.May), lastMonday(y, time.May), lastMonday(y, time.August),
		} {
			want[d] = true
		}
		xmas := substitute(Date{y, time.December, 25}, taken)
		taken[xmas] = true
		want[xmas] = true
		want[substitute(Date{y, time.December, 26}, taken)] = true
	}
	if len(want) != len(bankHolidays) {
		t.Errorf("rules give %d bank holidays, table has %d", len(want), len(bankHolidays))
	}
	for d := range want {
		if _, ok := bankHolidays[d]; !ok {
			t.Errorf("rules give %s, table lacks it", d)
		}
	}
}

func TestAddWorkingDays(t *testing.T) {
	london := London()
	at := func(s string) time.Time {
		v, err := time.ParseInLocation("2006-01-02 15:04", s, london)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name     string
		from     string
		n        int
		closures []string
		want     string
	}{
		{"within a week", "2026-11-23 09:30", 3, nil, "2026-11-26 09:30"},
		{"over a weekend", "2026-11-26 14:00", 3, nil, "2026-12-01 14:00"},
		{"received on a Saturday", "2026-11-28 10:00", 1, nil, "2026-11-30 10:00"},
		{"received on a Sunday", "2026-11-29 23:59", 3, nil, "2026-12-02 23:59"},
		{"Christmas and Boxing Day substitute", "2026-12-23 11:00", 3, nil, "2026-12-30 11:00"},
		{"Christmas 2027 both substituted", "2027-12-23 08:00", 2, nil, "2027-12-29 08:00"},
		{"Easter 2027", "2027-03-25 16:45", 1, nil, "2027-03-30 16:45"},
		{"New Year 2028 on a Saturday", "2027-12-31 12:00", 1, nil, "2028-01-04 12:00"},
		{"tenant closure day", "2026-11-23 09:30", 3, []string{"2026-11-25"}, "2026-11-27 09:30"},
		{"ten working days with the summer holiday", "2026-08-24 10:00", 10, nil, "2026-09-08 10:00"},
		{"clock change keeps local time", "2026-10-23 09:00", 3, nil, "2026-10-28 09:00"},
		{"zero days", "2026-11-23 09:30", 0, nil, "2026-11-23 09:30"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var closures []Date
			for _, s := range tt.closures {
				d, err := ParseDate(s)
				if err != nil {
					t.Fatal(err)
				}
				closures = append(closures, d)
			}
			got, err := New(closures).AddWorkingDays(at(tt.from).UTC(), tt.n)
			if err != nil {
				t.Fatal(err)
			}
			if want := at(tt.want); !got.Equal(want) {
				t.Errorf("got %s, want %s", got.In(london), want)
			}
		})
	}
}

func TestOutsideCalendar(t *testing.T) {
	_, err := New(nil).AddWorkingDays(time.Date(2030, 12, 30, 9, 0, 0, 0, London()), 3)
	if err != ErrOutsideCalendar {
		t.Fatalf("err = %v, want ErrOutsideCalendar", err)
	}
	if _, err := ParseDate("2026-02-30"); err == nil {
		t.Error("2026-02-30 accepted")
	}
}

func TestDateString(t *testing.T) {
	for _, tc := range []struct {
		d    Date
		want string
	}{
		{Date{2026, time.November, 23}, "2026-11-23"},
		{Date{2024, time.February, 29}, "2024-02-29"},
		{Date{999, time.January, 1}, "0999-01-01"},
		{Date{10000, time.December, 31}, "10000-12-31"},
	} {
		if got := tc.d.String(); got != tc.want {
			t.Errorf("%#v.String() = %q, want %q", tc.d, got, tc.want)
		}
		if tc.d.Year <= 9999 {
			if back, err := ParseDate(tc.want); err != nil || back != tc.d {
				t.Errorf("ParseDate(%q) = %v, %v", tc.want, back, err)
			}
		}
	}
}

// FuzzParseDate: a string is refused or read as a real day that prints and reads back as itself.
func FuzzParseDate(f *testing.F) {
	for _, s := range []string{"2026-11-30", "2024-02-29", "2025-02-29", "2026-13-01", "0000-01-01", "9999-12-31", "2026-1-1", " 2026-11-30", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDate(s)
		if err != nil {
			if !d.IsZero() {
				t.Fatalf("ParseDate(%q) refused but returned %v", s, d)
			}
			return
		}
		if back, err := ParseDate(d.String()); err != nil || back != d {
			t.Fatalf("ParseDate(%q) = %v, which reads back as %v, %v", s, d, back, err)
		}
		if d.AddDays(1).AddDays(-1) != d || !d.Before(d.AddDays(1)) {
			t.Fatalf("%v is not a day the calendar can move through", d)
		}
	})
}

// FuzzAddWorkingDays: from any moment, n working days later is a working day with exactly n
// working days after the start day up to and including it — or the calendar says it does not
// know those years.
func FuzzAddWorkingDays(f *testing.F) {
	f.Add(int64(0), uint16(3), []byte{1, 2})
	f.Add(int64(86400*200+3600*23), uint16(10), []byte{})
	f.Add(int64(86400*365*3), uint16(400), []byte{0, 0, 7})
	first := time.Date(FirstYear, 1, 1, 0, 0, 0, 0, London())
	span := time.Date(LastYear+1, 6, 1, 0, 0, 0, 0, London()).Sub(first)
	f.Fuzz(func(t *testing.T, offset int64, n uint16, closureDays []byte) {
		if offset < 0 {
			offset = -offset
		}
		start := first.Add(time.Duration(offset%int64(span.Seconds())) * time.Second)
		days := int(n % 500)
		startDay := DateOf(start.In(London()))
		var closures []Date
		for _, b := range closureDays {
			closures = append(closures, startDay.AddDays(int(b)))
		}
		c := New(closures)
		end, err := c.AddWorkingDays(start, days)
		if err != nil {
			if !errors.Is(err, ErrOutsideCalendar) {
				t.Fatalf("AddWorkingDays(%v, %d): %v", start, days, err)
			}
			return
		}
		endDay := DateOf(end.In(London()))
		if days == 0 {
			if endDay != startDay {
				t.Fatalf("0 working days after %v is %v", start, end)
			}
			return
		}
		if ok, _ := c.WorkingDay(endDay); !ok {
			t.Fatalf("%d working days after %v is %v, not a working day", days, start, end)
		}
		counted := 0
		for d := startDay.AddDays(1); !endDay.Before(d); d = d.AddDays(1) {
			if ok, _ := c.WorkingDay(d); ok {
				counted++
			}
		}
		if counted != days {
			t.Fatalf("%v → %v holds %d working days, want %d", start, end, counted, days)
		}
	})
}
