package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/segment"
)

// A numeric operand is read twice. For integer, date and datetime columns
// it is the exact rational value of its JSON text, so that an integer
// column compared with 30.5, 9007199254740993.0 or 1e-400 means what it
// says ("compare numerically with any JSON number"). For number columns it
// is the float64 nearest to the text, as a JSON decoder reads it, so that a
// column value written 0.1 equals the value 0.1.
type operand struct {
	r *big.Rat // exact value, for integer, date and datetime columns
	f float64  // nearest float64, for number columns
	// fExact reports that f stands for the operand exactly. It is false
	// only for instants and days converted with ratOperand, whose nearest
	// float is never used for a number column.
	fExact, fAbove bool
}

func numberOperand(n json.Number) (operand, error) {
	s := string(n)
	r, ok := exactRat(s)
	if !ok {
		return operand{}, fmt.Errorf("%w: %q is not a number", segment.ErrValue, s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return operand{}, fmt.Errorf("%w: %q is not a number", segment.ErrValue, s)
	}
	return operand{r: r, f: f, fExact: true}, nil
}

// exactRat returns the exact value of a JSON number's text. Magnitudes
// beyond 1e40, or below 1e-40, are replaced by 1e40 or 1e-40 with the same
// sign: against any int64 (or day, or microsecond) they compare the same,
// and the text "1e999999999" then costs nothing to read.
func exactRat(s string) (*big.Rat, bool) {
	mant, exp, hasExp := strings.Cut(strings.ToLower(s), "e")
	neg := strings.HasPrefix(mant, "-")
	mant = strings.TrimPrefix(mant, "-")
	intPart, frac, _ := strings.Cut(mant, ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if intPart == "" || !allDigits(intPart) || !allDigits(frac) {
		return nil, false
	}
	e := int64(0)
	if hasExp {
		var err error
		if e, err = strconv.ParseInt(strings.TrimPrefix(exp, "+"), 10, 64); err != nil {
			if !isInteger(exp) {
				return nil, false
			}
			e = 1 << 62 // a huge exponent; its sign is restored below
			if strings.HasPrefix(exp, "-") {
				e = -e
			}
		}
	}
	r := new(big.Rat)
	if digits == "" {
		return r, true // zero
	}
	// The value is 0.digits * 10^order.
	order := int64(len(digits)) + e - int64(len(frac))
	switch {
	case order > 40:
		r.SetString("1e40")
	case order < -40:
		r.SetString("1e-40")
	default:
		if _, ok := r.SetString(s); !ok {
			return nil, false
		}
		return r, true
	}
	if neg {
		r.Neg(r)
	}
	return r, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isInteger(s string) bool {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "-"), "+")
	return s != "" && allDigits(s)
}

func ratOperand(r *big.Rat) operand {
	f, exact := r.Float64()
	o := operand{r: r, f: f, fExact: exact}
	if !exact {
		var fr big.Rat
		if !math.IsInf(f, 0) {
			fr.SetFloat64(f)
			o.fAbove = fr.Cmp(r) > 0
		} else {
			o.fAbove = f > 0
		}
	}
	return o
}

const dayMicros int64 = 86400 * 1_000_000

// dateOperand parses YYYY-MM-DD into days since 1970-01-01.
func dateOperand(s string) (operand, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return operand{}, fmt.Errorf("%w: %q is not a date (YYYY-MM-DD)", segment.ErrValue, s)
	}
	return ratOperand(new(big.Rat).SetInt64(exact.FloorDiv(t.Unix(), 86400))), nil
}

// datetimeOperand parses RFC 3339, or YYYY-MM-DD as that day's start in UTC,
// into exact microseconds since the epoch.
func datetimeOperand(s string) (operand, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var err2 error
		t, err2 = time.Parse(time.DateOnly, s)
		if err2 != nil {
			return operand{}, fmt.Errorf("%w: %q is not an RFC 3339 datetime or a YYYY-MM-DD date", segment.ErrValue, s)
		}
	}
	return ratOperand(instantMicros(t)), nil
}

// instantMicros returns t as exact microseconds since the epoch.
func instantMicros(t time.Time) *big.Rat {
	ns := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9))
	ns.Add(ns, big.NewInt(int64(t.Nanosecond())))
	return new(big.Rat).SetFrac(ns, big.NewInt(1000))
}

// utcDay returns the calendar day of t in UTC as days since the epoch.
func utcDay(t time.Time) int64 { return exact.FloorDiv(t.Unix(), 86400) }

func addRat(r *big.Rat, d int64) *big.Rat { return new(big.Rat).Add(r, new(big.Rat).SetInt64(d)) }
