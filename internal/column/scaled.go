package column

import (
	"math"
	"math/bits"

	"github.com/segmentkit/segmentkit/storage"
)

// Scaled views. FORMAT.md section 6 adds a customer's numbers in row order,
// in float64, which fixes the result when additions round. Many number
// columns hold values whose sums never round: whole amounts, quantities,
// prices in quarters (every value an integer times one power of two, and
// the column too small for a sum of its values to reach 2^53 such units).
// Every partial sum of such values is exact, so the float64 sum in row
// order is the exact sum, in any order. A scaled view holds those values as
// integers: sums of them are added as integers, without the chain of
// floating-point additions each customer's sum otherwise waits on, and read
// from two or four bytes a value instead of eight.

// Scaled is the scaled view of a number column: valid value i is exactly
// (Off + U16[i]) · 2^-Shift (or U32[i]), and any sum of the column's
// values is an integer multiple of 2^-Shift of magnitude below 2^53 of
// them, so that adding the values in any order, in float64 or as
// integers, gives the same, exact, result. Sums of the offsets (U16[i] or
// U32[i]) are below 2^53 too. Null slots hold 0. One of U16 and U32 is
// set.
type Scaled struct {
	Off   int64
	Shift int
	U16   []uint16
	U32   []uint32
	unit  float64 // 2^-Shift
}

// scaledKey is the key of a column's scaled view among its derived values.
var scaledKey = storage.NewDerivedKey("column: scaled view")

// maxShift bounds the power of two a scaled view divides by: values finer
// than 2^-maxShift (most fractions that are not dyadic, like 0.1, need 52
// bits or more) are left to float64 sums.
const maxShift = 32

// ScaledOf returns the scaled view of a snapshot's number column, wide its
// typed view (View), built on the first call and shared by every later
// one; or nil when the column's values have none: a value that is not an
// integer times 2^-maxShift or a larger power of two, an infinity or a NaN,
// or a column whose values could add up to 2^53 units or more, or whose
// integers need more than four bytes.
func ScaledOf(col *storage.Column, wide *Vec) *Scaled {
	d, err := col.Derived(scaledKey, func() (any, error) { return NewScaled(wide), nil })
	if err != nil {
		return nil
	}
	s, _ := d.(*Scaled)
	return s
}

// NewScaled returns the scaled view of the values of v, a number vector, or
// nil (see ScaledOf).
func NewScaled(v *Vec) *Scaled {
	if v.F64 == nil || v.N == 0 {
		return nil
	}
	// The finest power of two every value is a multiple of, and the
	// least and greatest values (scaling by a power of two keeps order).
	shift := 0
	var lox, hix float64
	has := false
	for i, x := range v.F64 {
		if v.Valid != nil && !v.Valid.Has(i) {
			continue
		}
		s, ok := fractionBits(x)
		if !ok || s > maxShift {
			return nil
		}
		shift = max(shift, s)
		if !has {
			lox, hix, has = x, x, true
		}
		lox, hix = min(lox, x), max(hix, x)
	}
	if !has {
		return nil
	}
	scale := math.Ldexp(1, shift)
	if math.Abs(lox*scale) >= 1<<53 || math.Abs(hix*scale) >= 1<<53 {
		return nil
	}
	// Every value as an integer q = x·2^shift, exact since x has no finer
	// bits.
	lo, hi := int64(lox*scale), int64(hix*scale)
	// Any sum of at most N values, or of their offsets from the least,
	// stays below 2^53 units.
	span := uint64(hi - lo)
	big := max(uint64(absInt(lo)), uint64(absInt(hi)), span)
	if hi, lo := bits.Mul64(big, uint64(v.N)); hi != 0 || lo >= 1<<53 {
		return nil
	}
	s := &Scaled{Off: lo, Shift: shift, unit: math.Ldexp(1, -shift)}
	switch {
	case span <= math.MaxUint16:
		s.U16 = scaledOffsets[uint16](v, scale, lo)
	case span <= math.MaxUint32:
		s.U32 = scaledOffsets[uint32](v, scale, lo)
	default:
		return nil
	}
	return s
}

func absInt(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// fractionBits returns the number of binary digits after the point of a
// finite x: the least s with x·2^s an integer. It reports false for an
// infinity or a NaN.
func fractionBits(x float64) (int, bool) {
	b := math.Float64bits(x)
	exp := int(b>>52) & 0x7ff
	if exp == 0x7ff {
		return 0, false
	}
	mant := b & (1<<52 - 1)
	if exp == 0 {
		exp = 1 // a subnormal: no implicit bit
	} else {
		mant |= 1 << 52
	}
	if mant == 0 {
		return 0, true
	}
	// x = mant · 2^(exp-1075); its lowest set bit is 2^(exp-1075+tz).
	low := exp - 1075 + bits.TrailingZeros64(mant)
	return max(0, -low), true
}

// scaledOffsets returns each valid value's integer offset from lo, and 0
// for null slots.
func scaledOffsets[U uint16 | uint32](v *Vec, scale float64, lo int64) []U {
	out := make([]U, len(v.F64))
	for i, x := range v.F64 {
		if v.Valid == nil || v.Valid.Has(i) {
			out[i] = U(int64(x*scale) - lo)
		}
	}
	return out
}

// Float returns the number whose scaled integer is q: q·2^-Shift, exact
// for the sums a scaled view promises.
func (s *Scaled) Float(q int64) float64 { return float64(q) * s.unit }

// Value returns the integer of value i (without its validity).
func (s *Scaled) Value(i int) int64 {
	if s.U16 != nil {
		return s.Off + int64(s.U16[i])
	}
	return s.Off + int64(s.U32[i])
}
