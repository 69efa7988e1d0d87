package exact

import (
	"fmt"
	"math"
	"math/big"
	"time"
)

// Days and instants. A date is a day number, days since 1970-01-01 (negative
// before); a datetime is microseconds since 1970-01-01T00:00:00Z. The
// calendar day of an instant is the UTC day it falls in.

// DayMicros is the number of microseconds in a day.
const DayMicros int64 = 86400 * 1_000_000

const daySeconds = 86400

// ParseDate reads s, written YYYY-MM-DD, as its day number. Errors wrap
// ErrNoSuchDay when s has the form but names no day (2024-02-30), and
// ErrNotDate otherwise.
func ParseDate(s string) (int64, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		if dateShaped(s) {
			return 0, fmt.Errorf("%s %w", quote(s), ErrNoSuchDay)
		}
		return 0, fmt.Errorf("%s %w", quote(s), ErrNotDate)
	}
	return Day(t), nil
}

// dateShaped reports whether s is written YYYY-MM-DD, digits and dashes,
// whether or not it names a real day.
func dateShaped(s string) bool {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return false
	}
	for i := range len(s) {
		if i != 4 && i != 7 && (s[i] < '0' || s[i] > '9') {
			return false
		}
	}
	return true
}

// ParseDatetime reads s as an instant: an RFC 3339 datetime, or a
// YYYY-MM-DD date meaning that day's start in UTC. Errors wrap
// ErrNotDatetime.
func ParseDatetime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s %w", quote(s), ErrNotDatetime)
}

// Day returns the calendar day of t in UTC as a day number.
func Day(t time.Time) int64 { return FloorDiv(t.Unix(), daySeconds) }

// DayTime returns the start of day d, 00:00:00 UTC.
func DayTime(d int64) time.Time { return time.Unix(d*daySeconds, 0).UTC() }

// FormatDay writes day d as YYYY-MM-DD.
func FormatDay(d int64) string { return DayTime(d).Format(time.DateOnly) }

// MicrosTime returns the instant us microseconds after the epoch, in UTC.
func MicrosTime(us int64) time.Time { return time.UnixMicro(us).UTC() }

// FormatMicros writes the instant us in RFC 3339 (UTC, with as many
// fraction digits as it needs).
func FormatMicros(us int64) string { return MicrosTime(us).Format(time.RFC3339Nano) }

// Micros returns t as exact microseconds since the epoch: a fraction when
// t has nanoseconds below the microsecond.
func Micros(t time.Time) *big.Rat {
	ns := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9))
	ns.Add(ns, big.NewInt(int64(t.Nanosecond())))
	return new(big.Rat).SetFrac(ns, big.NewInt(1000))
}

// MostDays is the largest day count Days returns: a window of more days
// than that reaches beyond every instant a datetime column can hold, so
// larger counts mean the same and are clamped to it.
const MostDays = math.MaxInt64 / DayMicros

// Days reads s, the text of a JSON number, as the day count of inLastDays
// or inNextDays: a positive whole number, exactly (1.0000000000000001 is
// not whole, though the nearest float64 is), clamped to MostDays. Its
// errors wrap ErrDays. Validation and evaluation both read day counts
// with it, so that a definition that validates evaluates.
func Days(s string) (int64, error) {
	if !ValidNumber(s) {
		return 0, fmt.Errorf("%s %w", Clip(s), ErrDays)
	}
	r := exactDecimal(s)
	if !r.IsInt() || r.Sign() <= 0 {
		return 0, fmt.Errorf("%s %w", Clip(s), ErrDays)
	}
	if n := r.Num(); n.IsInt64() && n.Int64() <= MostDays {
		return n.Int64(), nil
	}
	return MostDays, nil
}
