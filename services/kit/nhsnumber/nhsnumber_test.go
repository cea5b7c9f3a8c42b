package nhsnumber

import "testing"

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
