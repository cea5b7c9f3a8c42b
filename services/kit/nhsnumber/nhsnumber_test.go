package nhsnumber

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"9434765919", "9434765919", true},
		{"943 476 5919", "9434765919", true},
		{"943-476-5919", "9434765919", true},
		{"4010232137", "4010232137", true},
		{"9434765918", "", false},  // wrong check digit
		{"943476591", "", false},   // nine digits
		{"94347659190", "", false}, // eleven digits
		{"943476591X", "", false},
		{"", "", false},
		{"0000000060", "", false}, // remainder 1 gives check digit 10: never issued
		{"1000000010", "", false}, // check digit should be 1
		{"0000000000", "0000000000", true},
	}
	for _, tt := range tests {
		got, err := Normalize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
	if got := Format("9434765919"); got != "943 476 5919" {
		t.Errorf("Format = %q", got)
	}
}

// FuzzNormalize: anything is either refused with ErrInvalid or gives ten digits whose Modulus 11
// check digit is right, which print and read back as themselves.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"943 476 5919", "943-476-5919", "9434765918", "999 000 0018", "", "12345678901", "94347659١٩", "0000000000"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := Normalize(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) || n != "" {
				t.Fatalf("Normalize(%q) = %q, %v", s, n, err)
			}
			return
		}
		if len(n) != 10 || strings.Trim(n, "0123456789") != "" {
			t.Fatalf("Normalize(%q) = %q: not ten digits", s, n)
		}
		sum := 0
		for i, weight := 0, 10; i < 9; i, weight = i+1, weight-1 {
			sum += int(n[i]-'0') * weight
		}
		if want := (11 - sum%11) % 11; want == 10 || int(n[9]-'0') != want {
			t.Fatalf("Normalize(%q) accepted %q, whose check digit is wrong", s, n)
		}
		if again, err := Normalize(Format(n)); err != nil || again != n {
			t.Fatalf("Format(%q) = %q reads back as %q, %v", n, Format(n), again, err)
		}
	})
}
