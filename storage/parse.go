package storage

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/segmentkit/segmentkit/internal/exact"
)

// The value parsers below implement the text forms of FORMAT.md section 1.
// They are shared by the CSV reader and by CustomerID, so that a key typed
// by a user means what it means in a data file. Each returns a short reason
// on failure, which the caller places after the quoted value.

var (
	errNotInteger = errors.New("is not an integer")
	errIntRange   = errors.New("is not an integer (out of the 64-bit range)")
	errNotNumber  = errors.New("is not a number")
	errNumRange   = errors.New("is not a number (out of the 64-bit float range)")
	errNotDate    = errors.New("is not a date (YYYY-MM-DD)")
	errNoSuchDay  = errors.New("is not a date (no such day)")
	errSubMicro   = errors.New("is not a datetime with microsecond precision (finer digits are not zero)")
	errNotBoolean = errors.New("is not a boolean (true or false)")
	errNotUTF8    = errors.New("is not valid UTF-8")
)

// parseInteger parses a base-10 64-bit signed integer: an optional sign and
// digits, nothing else.
func parseInteger(s string) (int64, error) {
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, errIntRange
		}
		return 0, errNotInteger
	}
	return v, nil
}

// parseNumber parses a 64-bit float written in plain decimal or exponent
// notation. strconv.ParseFloat alone also accepts NaN, Inf, hexadecimal
// and digit separators, which are not numbers in FORMAT.md's sense, so the
// shape is checked first.
func parseNumber(s string) (float64, error) {
	if !isDecimal(s) {
		return 0, errNotNumber
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return 0, errNumRange
		}
		return 0, errNotNumber
	}
	return v, nil
}

// isDecimal reports whether s is [+-]? (digits [. digits?] | . digits)
// ([eE] [+-]? digits)?.
func isDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	mantissa := 0
	for i < len(s) && isDigit(s[i]) {
		i++
		mantissa++
	}
	if i < len(s) && s[i] == '.' {
		i++
		for i < len(s) && isDigit(s[i]) {
			i++
			mantissa++
		}
	}
	if mantissa == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		exp := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			exp++
		}
		if exp == 0 {
			return false
		}
	}
	return i == len(s)
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// parseDate parses exactly YYYY-MM-DD naming a real day by the rules of
// exact.ParseDate, and returns days since 1970-01-01.
func parseDate(s string) (int32, error) {
	d, err := exact.ParseDate(s)
	switch {
	case err == nil:
		return int32(d), nil
	case errors.Is(err, exact.ErrNoSuchDay):
		return 0, errNoSuchDay
	}
	return 0, errNotDate
}

const (
	microsPerSecond = 1_000_000
	secondsPerDay   = 86_400
)

// parseDatetime parses an RFC 3339 date-time by the rules of
// exact.ParseRFC3339 (which every reader of datetimes shares) and returns
// microseconds since the Unix epoch in UTC. Digits of the fraction beyond
// the sixth must be zero.
func parseDatetime(s string) (int64, error) {
	sec, nsec, err := exact.ParseRFC3339(s)
	if err != nil {
		return 0, reasonError{err}
	}
	if nsec%1000 != 0 {
		return 0, errSubMicro
	}
	return sec*microsPerSecond + nsec/1000, nil
}

// reasonError is an error of package exact that reads after the value it
// is about, which the caller quotes.
type reasonError struct{ err error }

func (e reasonError) Error() string { return exact.Reason(e.err) }
func (e reasonError) Unwrap() error { return e.err }

// parseBoolean accepts exactly "true" or "false".
func parseBoolean(s string) (bool, error) {
	switch s {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, errNotBoolean
}

// checkString accepts valid UTF-8.
func checkString(s string) error {
	if !utf8.ValidString(s) {
		return errNotUTF8
	}
	return nil
}

// quoteValue quotes a value for an error message, shortened when long.
func quoteValue(s string) string {
	const maxLen = 64
	if len(s) > maxLen {
		cut := maxLen
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		return strconv.Quote(s[:cut]) + "..."
	}
	return strconv.Quote(s)
}

// describe formats a parse failure as `"12,5" is not a number`.
func describe(s string, err error) string {
	return fmt.Sprintf("%s %v", quoteValue(s), err)
}

// mulExact returns a*b, or false if it overflows int64.
func mulExact(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	c := a * b
	if c/b != a || (a == -1 && b == math.MinInt64) || (b == -1 && a == math.MinInt64) {
		return 0, false
	}
	return c, true
}
