package exact

import (
	"errors"
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
	if d, ok := civilDays(s); ok {
		return d, nil
	}
	if dateShaped(s) {
		return 0, fmt.Errorf("%s %w", quote(s), ErrNoSuchDay)
	}
	return 0, fmt.Errorf("%s %w", quote(s), ErrNotDate)
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

// The instants a datetime can hold: years 0000 to 9999 in UTC, the years
// RFC 3339 writes and a date column holds, so that every datetime prints
// in a form that reads back. MinMicros is 0000-01-01T00:00:00Z and
// MaxMicros 9999-12-31T23:59:59.999999Z, in microseconds since the epoch.
const (
	MinMicros int64 = minSeconds * 1_000_000
	MaxMicros int64 = (maxSeconds+1)*1_000_000 - 1

	minSeconds int64 = -62167219200 // 0000-01-01T00:00:00Z
	maxSeconds int64 = 253402300799 // 9999-12-31T23:59:59Z
)

// The days a date can hold, as days since 1970-01-01: 0000-01-01 to
// 9999-12-31, the days YYYY-MM-DD writes.
const (
	MinDay int64 = minSeconds / daySeconds
	MaxDay int64 = maxSeconds / daySeconds
)

// DayInRange reports whether the day d (days since 1970-01-01) lies
// within MinDay and MaxDay.
func DayInRange(d int64) bool { return MinDay <= d && d <= MaxDay }

// InRange reports whether the instant us (microseconds since the epoch)
// lies within MinMicros and MaxMicros.
func InRange(us int64) bool { return MinMicros <= us && us <= MaxMicros }

// RangeError is the error for the instant us outside MinMicros and
// MaxMicros, as a data file or an Arrow column holds it; it wraps
// ErrDatetimeRange.
func RangeError(us int64) error {
	return &datetimeError{what: fmt.Sprintf("%d microseconds since 1970-01-01T00:00:00Z", us), err: ErrDatetimeRange}
}

// datetimeError is a datetime that does not read: what (the text, quoted,
// or a description), the sentinel, words that replace the sentinel's own
// when set, and why when the words need more.
type datetimeError struct {
	what, words, why string
	err              error
}

func (e *datetimeError) Error() string { return e.what + " " + e.reason() }

func (e *datetimeError) reason() string {
	w := e.words
	if w == "" {
		w = e.err.Error()
	}
	if e.why != "" {
		w += ": " + e.why
	}
	return w
}

func (e *datetimeError) Unwrap() error { return e.err }

// Reason returns the words of a datetime error of this package after the
// value they are about ("is a leap second, ..."), for a caller that
// quotes the value its own way; for another error, its whole text.
func Reason(err error) string {
	var de *datetimeError
	if errors.As(err, &de) {
		return de.reason()
	}
	return err.Error()
}

// Specific reports whether err, an error of ParseRFC3339 or
// ParseDatetime, says more than that the text has the wrong form: a leap
// second, a year out of range, an offset of 24 hours, a day that does not
// exist. A caller with its own words for the wrong form uses them only
// when it does not.
func Specific(err error) bool {
	var de *datetimeError
	return errors.As(err, &de) && (de.err != ErrNotDatetime || de.why != "")
}

// ParseRFC3339 reads s, an RFC 3339 date-time
// YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM), as seconds since the
// epoch and nanoseconds within the second. These are the rules of every
// datetime segmentkit reads (data files, definitions, --as-of, the HTTP
// API), in this one function:
//
//   - the separators are T and Z in upper case, the fraction follows a
//     dot, and its digits past the ninth (the nanosecond) must be zero;
//   - an offset's hours are 00 to 23 and its minutes 00 to 59, as RFC 3339
//     writes them (+24:00 is refused);
//   - a leap second (:60) is refused with ErrLeapSecond: segmentkit counts
//     time as Unix time does, every day 86,400 seconds, so 23:59:60 names
//     no instant of its own;
//   - the instant, in UTC, lies in years 0000 to 9999 (ErrDatetimeRange:
//     9999-12-31T23:30:00-01:00 is in the year 10000).
//
// Other errors wrap ErrNotDatetime.
func ParseRFC3339(s string) (sec, nsec int64, err error) {
	bad := func(why string) (int64, int64, error) {
		return 0, 0, &datetimeError{what: quote(s), words: "is not a datetime (RFC 3339)", why: why, err: ErrNotDatetime}
	}
	if len(s) < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return bad("")
	}
	days, ok := civilDays(s[:10])
	if !ok {
		if dateShaped(s[:10]) {
			return bad("no such day")
		}
		return bad("")
	}
	hh, mm, ss := digits(s, 11, 13), digits(s, 14, 16), digits(s, 17, 19)
	if hh < 0 || mm < 0 || ss < 0 || hh > 23 || mm > 59 || ss > 60 {
		return bad("")
	}
	i := 19
	if s[i] == '.' {
		i++
		start := i
		for i < len(s) && isDigit(s[i]) {
			d := int64(s[i] - '0')
			switch n := i - start; {
			case n < 9:
				nsec = nsec*10 + d
			case d != 0:
				return bad("digits below the nanosecond must be zero")
			}
			i++
		}
		n := i - start
		if n == 0 {
			return bad("")
		}
		for ; n < 9; n++ {
			nsec *= 10
		}
	}
	var offset int64
	switch {
	case i == len(s)-1 && s[i] == 'Z':
	case i == len(s)-6 && (s[i] == '+' || s[i] == '-') && s[i+3] == ':':
		oh, om := digits(s, i+1, i+3), digits(s, i+4, i+6)
		if oh < 0 || om < 0 {
			return bad("")
		}
		if oh > 23 || om > 59 {
			return bad("an offset runs from -23:59 to +23:59")
		}
		offset = int64(oh*3600 + om*60)
		if s[i] == '-' {
			offset = -offset
		}
	default:
		return bad("")
	}
	if ss == 60 {
		return 0, 0, &datetimeError{what: quote(s), err: ErrLeapSecond,
			why: "segmentkit counts time as Unix time does, 86,400 seconds every day; write 59.999999 or the next minute's :00"}
	}
	// Years 0000-9999 keep every intermediate value far inside int64.
	sec = days*daySeconds + int64(hh*3600+mm*60+ss) - offset
	if sec < minSeconds || sec > maxSeconds {
		return 0, 0, &datetimeError{what: quote(s), err: ErrDatetimeRange,
			why: "it is " + time.Unix(sec, nsec).UTC().Format(time.RFC3339Nano) + " in UTC"}
	}
	return sec, nsec, nil
}

// ParseDatetime reads s as an instant: an RFC 3339 datetime (read by
// ParseRFC3339, whose rules it has), or a YYYY-MM-DD date meaning that
// day's start in UTC. The instant is in UTC. Errors wrap ErrNotDatetime,
// ErrLeapSecond or ErrDatetimeRange.
func ParseDatetime(s string) (time.Time, error) {
	if dateShaped(s) {
		if d, ok := civilDays(s); ok {
			return DayTime(d), nil
		}
		return time.Time{}, &datetimeError{what: quote(s), why: "no such day", err: ErrNotDatetime}
	}
	sec, nsec, err := ParseRFC3339(s)
	if err != nil {
		var de *datetimeError
		if errors.As(err, &de) && de.err == ErrNotDatetime && de.why == "" {
			// Neither form: say both.
			return time.Time{}, fmt.Errorf("%s %w", quote(s), ErrNotDatetime)
		}
		return time.Time{}, err
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// civilDays reads s, written YYYY-MM-DD, as its day number; ok is false
// when s has another form or names no day.
func civilDays(s string) (days int64, ok bool) {
	if !dateShaped(s) {
		return 0, false
	}
	y, m, d := digits(s, 0, 4), digits(s, 5, 7), digits(s, 8, 10)
	if m < 1 || m > 12 || d < 1 || d > DaysIn(y, m) {
		return 0, false
	}
	return CivilDay(y, m, d), true
}

// DaysIn returns the number of days of month m (1 to 12) of year y in the
// proleptic Gregorian calendar.
func DaysIn(y, m int) int {
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

// CivilDay returns the day number (days since 1970-01-01) of the proleptic
// Gregorian date y-m-d (H. Hinnant's algorithm), exact for any year
// 0000-9999.
func CivilDay(y, m, d int) int64 {
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

// LocalDay returns the calendar day of t in the time zone loc, in days
// since 1970-01-01: Day(t) when loc is UTC.
func LocalDay(t time.Time, loc *time.Location) int64 {
	y, m, d := t.In(loc).Date()
	return CivilDay(y, int(m), d)
}

// DateOf returns the year, month and day of the day d, in days since
// 1970-01-01: the inverse of CivilDay.
func DateOf(d int64) (y, m, day int) {
	// Howard Hinnant's civil_from_days, in whole numbers only.
	z := d + 719468
	era := FloorDiv(z, 146097)
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day = int(doy - (153*mp+2)/5 + 1)
	m = int(mp + 3)
	if m > 12 {
		m -= 12
	}
	y = int(yoe + era*400)
	if m <= 2 {
		y++
	}
	return y, m, day
}
