package money_test

import (
	"errors"
	"math/big"
	"testing"

	"github.com/homeward-dev/homeward/services/kit/money"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want money.Pence
		bad  bool
	}{
		{in: "536.77", want: 53677},
		{in: "203.77", want: 20377},
		{in: "96000", want: 9600000},
		{in: "0", want: 0},
		{in: "0.5", want: 50},
		{in: "0.05", want: 5},
		{in: "1.10", want: 110},
		{in: "536.777", bad: true},
		{in: "536.", bad: true},
		{in: ".5", bad: true},
		{in: "-1.00", bad: true},
		{in: "+1", bad: true},
		{in: "1e3", bad: true},
		{in: "1,000", bad: true},
		{in: " 1", bad: true},
		{in: "01", bad: true},
		{in: "", bad: true},
		{in: "99999999999999999999", bad: true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := money.Parse(tc.in)
			if tc.bad {
				if !errors.Is(err, money.ErrInvalid) {
					t.Fatalf("Parse(%q) = %v, %v; want ErrInvalid", tc.in, got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Parse(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestStringRoundTrips(t *testing.T) {
	for _, s := range []string{"536.77", "0.05", "96000.00", "0.00"} {
		p, err := money.Parse(s)
		if err != nil {
			t.Fatal(err)
		}
		if p.String() != s {
			t.Errorf("Parse(%q).String() = %q", s, p.String())
		}
	}
	if got := money.Pence(-33300).String(); got != "-333.00" {
		t.Errorf("negative: %q", got)
	}
}

func FuzzParseAgreesWithString(f *testing.F) {
	for _, s := range []string{"536.77", "0", "0.5", "12.345", "-1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := money.Parse(s)
		if err != nil {
			return
		}
		back, err := money.Parse(p.String())
		if err != nil || back != p {
			t.Fatalf("Parse(%q) = %d; Parse(String()) = %d, %v", s, p, back, err)
		}
	})
}

func TestRound(t *testing.T) {
	for _, tc := range []struct {
		num, den int64
		places   int
		want     string
	}{
		{266400, 1, 0, "266400"},
		{1, 2, 0, "1"},               // half a penny rounds up
		{-1, 2, 0, "-1"},             // and away from zero below
		{3, 2, 0, "2"},               // 1.5 → 2
		{29979, 7, 0, "4283"},        // 4282.714…
		{415270, 63400, 2, "131/20"}, // 6.55 exactly
		{1, 3, 2, "33/100"},
		{-5, 1000, 2, "-1/100"},
	} {
		got := money.RoundRat(big.NewRat(tc.num, tc.den), tc.places)
		if got.RatString() != tc.want {
			t.Errorf("RoundRat(%d/%d, %d) = %s, want %s", tc.num, tc.den, tc.places, got.RatString(), tc.want)
		}
	}
	if got := money.Round(big.NewRat(1869112, 7)); got != 267016 {
		t.Errorf("Round(1869112/7) = %d, want 267016", got)
	}
}
