package exact

import (
	"math"
	"strconv"
)

// Numbers for people: how segmentkit prints a computed number (a sum or an
// average beside a segment's members, an insight's percentile) and a count,
// in the CLI's tables, previews, downloads and messages alike.

// FormatNumber writes x with at most 15 significant digits, so that a sum
// of decimal amounts does not show the float's rounding (1493.8500000000001
// prints as 1493.85), and without an exponent between 1e-6 and 1e21. Every
// float64 written with 15 significant digits reads back to a float within
// one part in 10^15 of it. Infinities and NaN print as strconv does.
func FormatNumber(x float64) string {
	if math.IsInf(x, 0) || math.IsNaN(x) {
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	r, err := strconv.ParseFloat(strconv.FormatFloat(x, 'g', 15, 64), 64)
	if err != nil {
		r = x
	}
	if a := math.Abs(r); a != 0 && (a >= 1e21 || a < 1e-6) {
		return strconv.FormatFloat(r, 'g', -1, 64)
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

// FormatCount writes a count with a comma between groups of three digits:
// 15,833.
func FormatCount[N ~int | ~int64 | ~uint64 | ~int32 | ~uint32](n N) string {
	if n < 0 {
		return "-" + FormatCount(uint64(-int64(n)))
	}
	s := strconv.FormatUint(uint64(n), 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
