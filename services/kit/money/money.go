// Package money handles amounts of money as integer pence: parsed from decimal strings without
// ever passing through a float, so £536.77 stays exactly 53677 pence.
package money

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
)

// Pence is an amount in the currency's minor unit.
type Pence int64

// ErrInvalid is wrapped by every parse error.
var ErrInvalid = errors.New("invalid amount")

// Parse reads a non-negative decimal string with at most two decimal places: "536.77", "96000",
// "0.5". Signs, exponents, spaces, thousands separators and a third decimal place are refused.
func Parse(s string) (Pence, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	switch {
	case whole == "":
		return 0, fmt.Errorf("%w %q: no whole part", ErrInvalid, s)
	case hasPoint && (len(frac) == 0 || len(frac) > 2):
		return 0, fmt.Errorf("%w %q: want 1 or 2 decimal places", ErrInvalid, s)
	case len(whole) > 1 && whole[0] == '0':
		return 0, fmt.Errorf("%w %q: leading zero", ErrInvalid, s)
	case !digits(whole) || !digits(frac):
		return 0, fmt.Errorf("%w %q: only digits and one decimal point", ErrInvalid, s)
	}
	pounds, err := strconv.ParseInt(whole, 10, 64)
	if err != nil || pounds > math.MaxInt64/100-1 {
		return 0, fmt.Errorf("%w %q: too large", ErrInvalid, s)
	}
	for len(frac) < 2 {
		frac += "0"
	}
	pence, _ := strconv.ParseInt(frac, 10, 64) // two checked digits
	return Pence(pounds*100 + pence), nil
}

func digits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// String formats the amount with two decimal places, e.g. "536.77".
func (p Pence) String() string {
	sign := ""
	v := int64(p)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%02d", sign, v/100, v%100)
}

// Round rounds an exact amount of pence to a whole penny, half away from zero: figures are kept
// exact through a calculation and rounded once, at the end.
func Round(pence *big.Rat) Pence {
	return Pence(RoundRat(pence, 0).Num().Int64())
}

// RoundRat rounds r to places decimal places, half away from zero.
func RoundRat(r *big.Rat, places int) *big.Rat {
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(places)), nil)
	scaled := new(big.Rat).Mul(r, new(big.Rat).SetInt(scale))
	num, den := new(big.Int).Set(scaled.Num()), scaled.Denom()
	neg := num.Sign() < 0
	num.Abs(num)
	// ⌊(2·|n| + d) / 2d⌋ is |n|/d rounded half up; the sign is put back after.
	q := new(big.Int).Div(new(big.Int).Add(new(big.Int).Mul(num, big.NewInt(2)), den), new(big.Int).Mul(den, big.NewInt(2)))
	if neg {
		q.Neg(q)
	}
	return new(big.Rat).SetFrac(q, scale)
}
