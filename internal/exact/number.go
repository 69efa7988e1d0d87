package exact

import (
	"fmt"
	"math"
	"math/big"
	"strconv"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
)

// Number is a JSON number read both ways the engine compares it: exactly,
// with integer, date and datetime columns (so that an integer compared
// with 30.5, 9007199254740993 or 1e-400 means what it says), and as the
// float64 nearest to its text, with number columns (so that a value
// written 0.1 equals the value 0.1).
type Number struct {
	// Rat is the exact value. Magnitudes beyond 1e40, or below 1e-40, are
	// 1e40 or 1e-40 with the same sign: against any int64 (day,
	// microsecond) they compare the same, and "1e999999999" costs nothing
	// to read.
	Rat *big.Rat
	// Float is the float64 nearest to the text; ±Inf when ParseNumber
	// returns ErrFloatRange.
	Float float64
	// Int is the value when the text is an integer written without a
	// fraction or exponent that fits int64 (IsInt).
	Int   int64
	IsInt bool
}

// ParseNumber reads s, the text of a JSON number. Its errors wrap
// ErrNotNumber, or ErrFloatRange for a number that is valid but beyond
// float64 (the returned Number is then complete, its Float infinite).
func ParseNumber(s string) (Number, error) {
	if !ValidNumber(s) {
		return Number{}, fmt.Errorf("%s %w", quote(s), ErrNotNumber)
	}
	n := Number{Rat: exactDecimal(s)}
	// Only integer texts are tried: a failed ParseInt allocates its error.
	if !strings.ContainsAny(s, ".eE") {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			n.Int, n.IsInt = i, true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	n.Float = f
	if err != nil || math.IsInf(f, 0) {
		return n, fmt.Errorf("%s %w", Clip(s), ErrFloatRange)
	}
	return n, nil
}

// exactDecimal returns the exact value of s, a valid JSON number, clamped
// as Number.Rat says.
func exactDecimal(s string) *big.Rat {
	mant, exp, _ := strings.Cut(strings.ToLower(s), "e")
	neg := strings.HasPrefix(mant, "-")
	intPart, frac, _ := strings.Cut(strings.TrimPrefix(mant, "-"), ".")
	digits := strings.TrimLeft(intPart+frac, "0")
	if digits == "" {
		return new(big.Rat)
	}
	var e int64
	if exp != "" { // a failed ParseInt allocates its error: not for ""
		var err error
		if e, err = strconv.ParseInt(strings.TrimPrefix(exp, "+"), 10, 64); err != nil {
			e = math.MaxInt64 / 2 // beyond any clamp; the sign is restored below
			if strings.HasPrefix(exp, "-") {
				e = -e
			}
		}
	}
	// The value is 0.digits * 10^order.
	order := int64(len(digits)) + e - int64(len(frac))
	r := new(big.Rat)
	switch {
	case order > 40:
		r.SetString("1e40")
	case order < -40:
		r.SetString("1e-40")
	default:
		if _, ok := r.SetString(s); !ok {
			panic("BUG: a valid JSON number does not read as a big.Rat: " + s)
		}
		return r
	}
	if neg {
		r.Neg(r)
	}
	return r
}

// ValidNumber reports whether s is a number as JSON writes it: an optional
// minus, 0 or digits without a leading 0, then an optional fraction and
// exponent.
func ValidNumber(s string) bool {
	i := 0
	digits := func() int {
		j := i
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		return i - j
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	switch {
	case i < len(s) && s[i] == '0':
		i++
	case digits() == 0:
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// Value errors. Each reads after the value it is about, which the
// functions of this package put first: `"2024-02-30" is not a day of the
// calendar`. Callers wrap them in their own package's value sentinel.
var (
	// ErrNotNumber: the text is not a JSON number.
	ErrNotNumber = diag.NewSentinel("exact.not_number", "is not a number")
	// ErrFloatRange: a number beyond the range of float64.
	ErrFloatRange = diag.NewSentinel("exact.float_range", "is out of range of a 64-bit float")
	// ErrNotDate: the text is not written YYYY-MM-DD.
	ErrNotDate = diag.NewSentinel("exact.not_date", "is not in the form YYYY-MM-DD")
	// ErrNoSuchDay: the text is written YYYY-MM-DD but names no day of the
	// calendar (2024-02-30).
	ErrNoSuchDay = diag.NewSentinel("exact.no_such_day", "is not a day of the calendar")
	// ErrNotDatetime: the text is neither an RFC 3339 datetime nor a
	// YYYY-MM-DD date.
	ErrNotDatetime = diag.NewSentinel("exact.not_datetime", "is not an RFC 3339 datetime or a YYYY-MM-DD date")
	// ErrLeapSecond: a datetime whose seconds are 60, which segmentkit
	// does not count (see ParseRFC3339).
	ErrLeapSecond = diag.NewSentinel("exact.leap_second", "is a leap second, which segmentkit does not count")
	// ErrDatetimeRange: an instant outside years 0000 to 9999 in UTC
	// (MinMicros to MaxMicros).
	ErrDatetimeRange = diag.NewSentinel("exact.datetime_range", "is outside years 0000 to 9999 in UTC")
	// ErrDateRange: a day outside years 0000 to 9999 (MinDay to MaxDay),
	// which no date of YYYY-MM-DD writes.
	ErrDateRange = diag.NewSentinel("exact.date_range", "is outside years 0000 to 9999")
	// ErrBetweenOrder: a between whose low bound is above its high bound
	// (see Key).
	ErrBetweenOrder = diag.NewSentinel("exact.between_order", "between low is greater than high")
	// ErrDays: a day count (inLastDays, inNextDays) that is not a positive
	// whole number.
	ErrDays = diag.NewSentinel("exact.days", "is not a positive whole number of days")
)

// BetweenOrderError returns the error for a between whose low bound, lo
// as written, is above hi: "between low 30 is greater than high 18". It
// wraps ErrBetweenOrder.
func BetweenOrderError(lo, hi string) error { return betweenError{Clip(lo), Clip(hi)} }

type betweenError struct{ lo, hi string }

func (e betweenError) Error() string {
	return "between low " + e.lo + " is greater than high " + e.hi
}

func (e betweenError) Is(target error) bool { return target == ErrBetweenOrder }

// quote returns s quoted for an error message, cut after 60 characters.
func quote(s string) string { return Clip(strconv.Quote(s)) }

// Clip cuts s after 60 characters, marking the cut with "...", for
// quoting a value in a message.
func Clip(s string) string {
	const limit = 60
	n := 0
	for i := range s {
		if n == limit {
			return s[:i] + "..."
		}
		n++
	}
	return s
}
