package storage

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"unicode/utf8"
)

// The value parsers below implement the text forms of FORMAT.md section 1.
// They are shared by the CSV reader and by CustomerID, so that a key typed
// by a user means what it means in a data file. Each returns a short reason
// on failure, which the caller places after the quoted value.

var (
	errNotInteger  = errors.New("is not an integer")
	errIntRange    = errors.New("is not an integer (out of the 64-bit range)")
	errNotNumber   = errors.New("is not a number")
	errNumRange    = errors.New("is not a number (out of the 64-bit float range)")
	errNotDate     = errors.New("is not a date (YYYY-MM-DD)")
	errNoSuchDay   = errors.New("is not a date (no such day)")
	errNotDatetime = errors.New("is not a datetime (RFC 3339)")
	errSubMicro    = errors.New("is not a datetime with microsecond precision (finer digits are not zero)")
	errNotBoolean  = errors.New("is not a boolean (true or false)")
	errNotUTF8     = errors.New("is not valid UTF-8")
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

// digits returns the value of the decimal digits s[i:j], or -1 if one of
// them is not a digit.
func digits(s string, i, j int) int {
	v := 0
	for ; i < j; i++ {
		if !isDigit(s[i]) {
			return -1
		}
		v = v*10 + int(s[i]-'0')
	}
	return v
}

// parseDate parses exactly YYYY-MM-DD naming a real day, and returns days
// since 1970-01-01.
func parseDate(s string) (int32, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, errNotDate
	}
	y, m, d := digits(s, 0, 4), digits(s, 5, 7), digits(s, 8, 10)
	if y < 0 || m < 0 || d < 0 {
		return 0, errNotDate
	}
	if m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0, errNoSuchDay
	}
	return int32(daysFromCivil(y, m, d)), nil
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant's algorithm), exact for any year this package accepts.
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 && y%400 != 0 {
		era--
	}
	yoe := y - era*400
	mp := (m + 9) % 12
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

const (
	microsPerSecond = 1_000_000
	secondsPerDay   = 86_400
)

// parseDatetime parses an RFC 3339 date-time,
// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), and returns microseconds
// since the Unix epoch in UTC. Digits of the fraction beyond the sixth must
// be zero. It accepts a subset of what time.Parse(time.RFC3339Nano, s)
// accepts: no comma before the fraction and no offsets of 24 hours or more.
func parseDatetime(s string) (int64, error) {
	if len(s) < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return 0, errNotDatetime
	}
	days, err := parseDate(s[:10])
	if err != nil {
		if err == errNoSuchDay {
			return 0, err
		}
		return 0, errNotDatetime
	}
	hh, mm, ss := digits(s, 11, 13), digits(s, 14, 16), digits(s, 17, 19)
	if hh < 0 || mm < 0 || ss < 0 || hh > 23 || mm > 59 || ss > 59 {
		return 0, errNotDatetime
	}
	i := 19
	var micros int64
	if s[i] == '.' {
		i++
		start := i
		for i < len(s) && isDigit(s[i]) {
			d := int64(s[i] - '0')
			switch n := i - start; {
			case n < 6:
				micros = micros*10 + d
			case d != 0:
				return 0, errSubMicro
			}
			i++
		}
		n := i - start
		if n == 0 {
			return 0, errNotDatetime
		}
		for ; n < 6; n++ {
			micros *= 10
		}
	}
	var offset int64
	switch {
	case i == len(s)-1 && s[i] == 'Z':
	case i == len(s)-6 && (s[i] == '+' || s[i] == '-') && s[i+3] == ':':
		oh, om := digits(s, i+1, i+3), digits(s, i+4, i+6)
		if oh < 0 || om < 0 || oh > 23 || om > 59 {
			return 0, errNotDatetime
		}
		offset = int64(oh*3600 + om*60)
		if s[i] == '-' {
			offset = -offset
		}
	default:
		return 0, errNotDatetime
	}
	// Years 0000-9999 keep every intermediate value far inside int64.
	secs := int64(days)*secondsPerDay + int64(hh*3600+mm*60+ss) - offset
	return secs*microsPerSecond + micros, nil
}

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
