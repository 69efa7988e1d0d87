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
