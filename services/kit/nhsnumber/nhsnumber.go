// Package nhsnumber validates NHS numbers with the Modulus 11 check digit.
package nhsnumber

import (
	"errors"
	"strings"
)

// ErrInvalid is returned for anything that is not a valid NHS number.
var ErrInvalid = errors.New("not a valid NHS number: 10 digits with a Modulus 11 check digit")

// Normalize strips the spaces and hyphens people write NHS numbers with ("943 476 5919") and
// returns the 10 digits when the check digit is right.
func Normalize(s string) (string, error) {
	digits := make([]byte, 0, 10)
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case c == ' ' || c == '-':
		default:
			return "", ErrInvalid
		}
	}
	if len(digits) != 10 || !checkDigitOK(digits) {
		return "", ErrInvalid
	}
	return string(digits), nil
}

// checkDigitOK applies Modulus 11: weights 10 down to 2 on the first nine digits; the check digit
// is 11 minus the remainder, 11 becomes 0, and 10 means the number can never be issued.
func checkDigitOK(d []byte) bool {
	sum := 0
	for i := 0; i < 9; i++ {
		sum += int(d[i]-'0') * (10 - i)
	}
	check := 11 - sum%11
	if check == 11 {
		check = 0
	}
	return check != 10 && check == int(d[9]-'0')
}

// Format writes a normalized NHS number the way the NHS prints it: 3-3-4 digits.
func Format(n string) string {
	if len(n) != 10 {
		return n
	}
	return strings.Join([]string{n[:3], n[3:6], n[6:]}, " ")
}
