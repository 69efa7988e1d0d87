package exact

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseNumber(t *testing.T) {
	tests := []struct {
		text  string
		exact string // big.Rat form
		f     float64
		isInt bool
	}{
		{"30", "30", 30, true},
		{"30.5", "61/2", 30.5, false},
		{"-0", "0", math.Copysign(0, -1), true},
		{"9007199254740993", "9007199254740993", 9007199254740992, true},
		{"9007199254740993.0", "9007199254740993", 9007199254740992, false},
		{"9223372036854775807e0", "9223372036854775807", 9223372036854775808, false},
		{"9223372036854775808", "9223372036854775808", 9223372036854775808, false},
		{"1e-400", "1/10000000000000000000000000000000000000000", 0, false},
		{"-1e-400", "-1/10000000000000000000000000000000000000000", math.Copysign(0, -1), false},
		{"1E+3", "1000", 1000, false},
		{"0.001", "1/1000", 0.001, false},
		{"-2.5e1", "-25", -25, false},
		{"1e-99999999999999999999", "1/10000000000000000000000000000000000000000", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			n, err := ParseNumber(tt.text)
			require.NoError(t, err)
			require.Equal(t, tt.exact, n.Rat.RatString())
			require.Equal(t, tt.f, n.Float)
			require.Equal(t, math.Signbit(tt.f), math.Signbit(n.Float))
			require.Equal(t, tt.isInt, n.IsInt)
		})
	}
	t.Run("beyond float64", func(t *testing.T) {
		for _, s := range []string{"1e400", "-1e999999999999999999999"} {
			n, err := ParseNumber(s)
			require.ErrorIs(t, err, ErrFloatRange, s)
			require.True(t, math.IsInf(n.Float, 0), s)
			require.Equal(t, 41, len(n.Rat.Num().String())-btoi(n.Rat.Sign() < 0), "clamped to 1e40: %s", n.Rat.RatString())
		}
	})
	for _, bad := range []string{"", "abc", "1e", "--1", "1.2.3", ".5", "0x10", "01", "1.", "+1", "NaN", "Infinity", " 1"} {
		_, err := ParseNumber(bad)
		require.ErrorIs(t, err, ErrNotNumber, bad)
		require.False(t, ValidNumber(bad), bad)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestParseDate(t *testing.T) {
	tests := []struct {
		text string
		day  int64
	}{
		{"1970-01-01", 0},
		{"1970-01-02", 1},
		{"1969-12-31", -1},
		{"1900-01-01", -25567},
		{"0001-01-01", -719162},
		{"2024-02-29", 19782}, // leap day
		{"2000-02-29", 11016}, // a century divisible by 400 leaps
		{"2026-06-30", 20634},
	}
	for _, tt := range tests {
		d, err := ParseDate(tt.text)
		require.NoError(t, err, tt.text)
		require.Equal(t, tt.day, d, tt.text)
		require.Equal(t, tt.text, FormatDay(d))
		require.Equal(t, d, Day(DayTime(d)))
	}
	for _, s := range []string{"2024-02-30", "2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-04-31"} {
		_, err := ParseDate(s)
		require.ErrorIs(t, err, ErrNoSuchDay, s)
	}
	for _, s := range []string{"", "2024-2-3", "yesterday", "2024-02-03T00:00:00Z", "20240203", "2024/02/03"} {
		_, err := ParseDate(s)
		require.ErrorIs(t, err, ErrNotDate, s)
		require.NotErrorIs(t, err, ErrNoSuchDay, s)
	}
}

func TestParseDatetime(t *testing.T) {
	tests := []struct {
		text   string
		micros string // exact, as a big.Rat
		day    int64
	}{
		{"1970-01-01T00:00:00Z", "0", 0},
		{"1970-01-01", "0", 0},
		{"1969-12-31T23:59:59Z", "-1000000", -1},
		{"1969-12-31T23:59:59.999999Z", "-1", -1},
		{"2026-06-30T12:00:00+02:00", "1782813600000000", 20634},
		{"2024-02-29T23:30:00-01:00", "1709253000000000", 19783}, // the next UTC day
		{"2026-06-30T00:00:00.0000005Z", "3565555200000001/2", 20634},
		{"2026-06-30", "1782777600000000", 20634},
	}
	for _, tt := range tests {
		tm, err := ParseDatetime(tt.text)
		require.NoError(t, err, tt.text)
		require.Equal(t, tt.micros, Micros(tm).RatString(), tt.text)
		require.Equal(t, tt.day, Day(tm), tt.text)
	}
	for _, s := range []string{"", "yesterday", "2024-02-30", "2024-02-30T00:00:00Z", "2026-06-30 12:00:00", "2026-06-30T12:00:00"} {
		_, err := ParseDatetime(s)
		require.ErrorIs(t, err, ErrNotDatetime, s)
	}
	require.Equal(t, "1969-12-31T23:59:59.999999Z", FormatMicros(-1))
	require.Equal(t, int64(-1), MicrosTime(-1).UnixMicro())
}

func TestDayBeforeEpoch(t *testing.T) {
	// Day floors: the second before 1970 is day -1, not day 0.
	require.Equal(t, int64(-1), Day(time.Unix(-1, 0)))
	require.Equal(t, int64(-1), Day(time.Unix(-86400, 0)))
	require.Equal(t, int64(-2), Day(time.Unix(-86401, 0)))
	require.Equal(t, int64(0), Day(time.Unix(86399, 0)))
	// The day is the UTC day, whatever the location of t.
	east := time.FixedZone("east", 10*3600)
	require.Equal(t, int64(-1), Day(time.Date(1970, 1, 1, 9, 0, 0, 0, east)))
}

func TestBetweenOrder(t *testing.T) {
	num := func(s string) Key {
		n, err := ParseNumber(s)
		require.NoError(t, err)
		return n.Key()
	}
	day := func(s string) Key {
		d, err := ParseDate(s)
		require.NoError(t, err)
		return DayKey(d)
	}
	instant := func(s string) Key {
		tm, err := ParseDatetime(s)
		require.NoError(t, err)
		return TimeKey(tm)
	}
	tests := []struct {
		name   string
		lo, hi Key
		above  bool
	}{
		{"integers", num("30"), num("18"), true},
		{"equal integers", num("18"), num("18"), false},
		{"integers beyond 2^53 compare as int64", num("9007199254740993"), num("9007199254740992"), true},
		{"fractions", num("1.5"), num("1.25"), true},
		{"integer and fraction", num("2"), num("1.5"), true},
		{"fraction and integer", num("1.5"), num("2"), false},
		{"equal as float64", num("9007199254740993.0"), num("9007199254740992"), false},
		{"days", day("2024-02-01"), day("2024-01-31"), true},
		{"days before 1970", day("1969-12-30"), day("1969-12-31"), false},
		{"instants", instant("2026-06-30T12:00:00+02:00"), instant("2026-06-30T11:00:00Z"), false},
		{"instants a nanosecond apart", instant("2026-06-30T00:00:00.000000001Z"), instant("2026-06-30"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.above, tt.lo.Above(tt.hi))
		})
	}
	err := BetweenOrderError("30", "18")
	require.ErrorIs(t, err, ErrBetweenOrder)
	require.NotErrorIs(t, err, ErrNotNumber)
}

// TestParseRFC3339 checks the one set of datetime rules every reader
// shares: the form, the offsets RFC 3339 writes, leap seconds refused
// with why, and instants of years 0000-9999 in UTC only.
func TestParseRFC3339(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // the instant in UTC, or the error's sentinel below
		err  error
		msg  string
	}{
		{in: "2026-06-30T16:05:00+02:00", want: "2026-06-30T14:05:00Z"},
		{in: "2026-06-30T14:05:00.123456789Z", want: "2026-06-30T14:05:00.123456789Z"},
		{in: "2026-06-30T14:05:00.1234567890000Z", want: "2026-06-30T14:05:00.123456789Z"},
		{in: "2026-06-30T14:05:00.1234567891Z", err: ErrNotDatetime, msg: "digits below the nanosecond must be zero"},
		{in: "9999-12-31T23:59:59.999999999Z", want: "9999-12-31T23:59:59.999999999Z"},
		{in: "0000-01-01T00:00:00Z", want: "0000-01-01T00:00:00Z"},
		{in: "0000-01-01T00:59:59+00:59", want: "0000-01-01T00:00:59Z"},
		{in: "9999-12-31T23:30:00-01:00", err: ErrDatetimeRange, msg: `"9999-12-31T23:30:00-01:00" is outside years 0000 to 9999 in UTC: it is 10000-01-01T00:30:00Z in UTC`},
		{in: "0000-01-01T00:00:00+00:01", err: ErrDatetimeRange, msg: "it is -0001-12-31T23:59:00Z in UTC"},
		{in: "2016-12-31T23:59:60Z", err: ErrLeapSecond, msg: `"2016-12-31T23:59:60Z" is a leap second, which segmentkit does not count: segmentkit counts time as Unix time does`},
		{in: "2016-12-31T23:59:61Z", err: ErrNotDatetime},
		{in: "2026-01-01T00:00:00+24:00", err: ErrNotDatetime, msg: "an offset runs from -23:59 to +23:59"},
		{in: "2026-01-01T00:00:00-24:00", err: ErrNotDatetime, msg: "an offset runs from -23:59 to +23:59"},
		{in: "2026-01-01T00:00:00+23:60", err: ErrNotDatetime, msg: "an offset runs"},
		{in: "2026-02-29T00:00:00Z", err: ErrNotDatetime, msg: "no such day"},
		{in: "2026-01-01t00:00:00z", err: ErrNotDatetime},
		{in: "2026-01-01T24:00:00Z", err: ErrNotDatetime},
		{in: "2026-01-01T00:00:00", err: ErrNotDatetime},
		{in: "2026-01-01 00:00:00Z", err: ErrNotDatetime},
	} {
		sec, nsec, err := ParseRFC3339(tc.in)
		if tc.err != nil {
			require.ErrorIs(t, err, tc.err, tc.in)
			require.Contains(t, err.Error(), tc.msg, tc.in)
			require.Equal(t, tc.msg != "", Specific(err), tc.in)
			// Every reader refuses it alike.
			_, err = ParseDatetime(tc.in)
			require.ErrorIs(t, err, tc.err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		got := time.Unix(sec, nsec).UTC()
		require.Equal(t, tc.want, got.Format(time.RFC3339Nano), tc.in)
		// What prints reads back.
		sec2, nsec2, err := ParseRFC3339(got.Format(time.RFC3339Nano))
		require.NoError(t, err)
		require.Equal(t, [2]int64{sec, nsec}, [2]int64{sec2, nsec2})
		d, err := ParseDatetime(tc.in)
		require.NoError(t, err)
		require.True(t, d.Equal(got))
	}
	// The first and last instants, and just outside them.
	require.True(t, InRange(MinMicros) && InRange(MaxMicros) && !InRange(MinMicros-1) && !InRange(MaxMicros+1))
	require.Equal(t, "0000-01-01T00:00:00Z", FormatMicros(MinMicros))
	require.Equal(t, "9999-12-31T23:59:59.999999Z", FormatMicros(MaxMicros))
	// A date as a datetime: its start in UTC.
	d, err := ParseDatetime("9999-12-31")
	require.NoError(t, err)
	require.Equal(t, "9999-12-31T00:00:00Z", d.Format(time.RFC3339))
	_, err = ParseDatetime("2026-02-30")
	require.ErrorIs(t, err, ErrNotDatetime)
	_, err = ParseDatetime("soon")
	require.EqualError(t, err, `"soon" is not an RFC 3339 datetime or a YYYY-MM-DD date`)
}
