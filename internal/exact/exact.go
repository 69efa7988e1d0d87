// Package exact holds the value rules of segment definitions, in one
// place for the engine, quick segments, validation and the CLI: reading a
// JSON number exactly (ParseNumber), dates and datetimes as day and
// microsecond numbers (ParseDate, ParseDatetime, Day, Micros), the order of
// between bounds (Key), and the wording of value errors (ErrNotNumber,
// ...). It also holds the exact arithmetic that turns the numbers of a
// segment definition into bounds over integer columns (integers, days,
// microseconds), shared by the engine and quick segments so that both
// count the same customers.
package exact

import (
	"math"
	"math/big"
)

// IntRange returns the int64 values x within the bounds: lo < x (loOpen) or
// lo <= x, and x < hi (hiOpen) or x <= hi. A nil bound is no bound. Bounds
// beyond int64 are clamped; ok is false when no int64 lies within them.
func IntRange(lo *big.Rat, loOpen bool, hi *big.Rat, hiOpen bool) (min, max int64, ok bool) {
	min, max = math.MinInt64, math.MaxInt64
	if lo != nil {
		// x > r is x >= floor(r)+1; x >= r is x >= ceil(r).
		var b *big.Int
		if loOpen {
			b = Floor(lo)
			b.Add(b, big.NewInt(1))
		} else {
			b = Ceil(lo)
		}
		switch {
		case b.IsInt64():
			min = b.Int64()
		case b.Sign() > 0:
			return 0, 0, false
		}
	}
	if hi != nil {
		// x < r is x <= ceil(r)-1; x <= r is x <= floor(r).
		var b *big.Int
		if hiOpen {
			b = Ceil(hi)
			b.Sub(b, big.NewInt(1))
		} else {
			b = Floor(hi)
		}
		switch {
		case b.IsInt64():
			max = b.Int64()
		case b.Sign() < 0:
			return 0, 0, false
		}
	}
	return min, max, min <= max
}

// Floor returns the greatest integer <= r as a new big.Int; a Rat's
// denominator is positive, so Euclidean division floors.
func Floor(r *big.Rat) *big.Int {
	if r.IsInt() {
		return new(big.Int).Set(r.Num())
	}
	return new(big.Int).Div(r.Num(), r.Denom())
}

// Ceil returns the least integer >= r as a new big.Int.
func Ceil(r *big.Rat) *big.Int {
	f := Floor(r)
	if !r.IsInt() {
		f.Add(f, big.NewInt(1))
	}
	return f
}

// FloorDiv returns a/b rounded toward negative infinity, for b > 0: the
// calendar day of a Unix second is FloorDiv(sec, 86400).
func FloorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// Mean adds float64 values exactly, for the mean of values whose float64
// sum overflows. The mean of numbers is their sum in row order divided by
// their count (FORMAT.md section 6), which is what SQL's SUM(x) / COUNT(x)
// gives; only when that sum leaves the float64 range, which values near
// 1e308 make it do although their mean is finite, is the mean instead the
// exact one, rounded once. The engine and the reference evaluator both
// use this rule (AvgOfSum).
type Mean struct {
	sum big.Rat
	n   int64
}

// Add adds x, a finite float64, exactly.
func (m *Mean) Add(x float64) {
	var r big.Rat
	m.sum.Add(&m.sum, r.SetFloat64(x))
	m.n++
}

// Float64 returns the mean of the values added, correctly rounded; 0 for
// none.
func (m *Mean) Float64() float64 {
	if m.n == 0 {
		return 0
	}
	f, _ := new(big.Rat).Quo(&m.sum, new(big.Rat).SetInt64(m.n)).Float64()
	return f
}

// AvgOfSum returns the mean of n > 0 finite values whose float64 sum in
// row order is sum: sum/n, or, when sum overflowed to an infinity, the
// exact mean that exactMean computes (with a Mean).
func AvgOfSum(sum float64, n int64, exactMean func() float64) float64 {
	if math.IsInf(sum, 0) {
		return exactMean()
	}
	return sum / float64(n)
}
