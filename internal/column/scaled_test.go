package column

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestNewScaled checks which number columns get a scaled view and that the
// view gives back every valid value exactly.
func TestNewScaled(t *testing.T) {
	vec := func(valid []bool, xs ...float64) *Vec {
		v := &Vec{N: len(xs), F64: xs}
		if valid != nil {
			v.Valid = NewBitset(len(xs))
			for i, ok := range valid {
				if ok {
					v.Valid.Set(i)
				}
			}
		}
		return v
	}
	for _, tc := range []struct {
		name   string
		v      *Vec
		shift  int
		narrow bool
	}{
		{"whole", vec(nil, 3, -7, 0, 12), 0, true},
		{"quarters", vec(nil, 0.25, 10.75, -3.5), 2, true},
		{"negative zero", vec(nil, math.Copysign(0, -1), 1.5), 1, true},
		{"wide", vec(nil, 0.5, 70000), 1, false},
		{"null slots hold anything", vec([]bool{true, false, true}, 1, math.NaN(), 2), 0, true},
		{"2^-32", vec(nil, math.Ldexp(1, -32), 1), 32, false},
	} {
		s := NewScaled(tc.v)
		require.NotNil(t, s, tc.name)
		require.Equal(t, tc.shift, s.Shift, tc.name)
		require.Equal(t, tc.narrow, s.U16 != nil, tc.name)
		for i, x := range tc.v.F64 {
			if tc.v.IsValid(i) {
				require.Equal(t, x, s.Float(s.Value(i)), "%s: value %d", tc.name, i)
			}
		}
	}
	for _, tc := range []struct {
		name string
		v    *Vec
	}{
		{"a tenth", vec(nil, 0.1, 1)},
		{"2^-33", vec(nil, math.Ldexp(1, -33))},
		{"subnormal", vec(nil, math.SmallestNonzeroFloat64)},
		{"NaN", vec(nil, 1, math.NaN())},
		{"infinity", vec(nil, math.Inf(1))},
		{"2^53", vec(nil, 1<<53)},
		{"offsets beyond four bytes", vec(nil, 0, 1<<33)},
		{"sums may reach 2^53", &Vec{N: 1 << 22, F64: append(make([]float64, 1<<22-1), 1<<31)}},
		{"all null", vec([]bool{false, false}, 1, 2)},
		{"empty", vec(nil)},
		{"not a number column", &Vec{N: 2, I64: []int64{1, 2}}},
	} {
		require.Nil(t, NewScaled(tc.v), tc.name)
	}
	// Just below the bound of sums: 2^22 values of at most 2^30.
	require.NotNil(t, NewScaled(&Vec{N: 1 << 22, F64: append(make([]float64, 1<<22-1), 1<<30)}))
}

func TestFractionBits(t *testing.T) {
	for x, want := range map[float64]int{1: 0, 0.5: 1, 0.75: 2, 1024: 0, -2.125: 3, 0: 0, 0x1p-40: 40, 3e300: 0} {
		got, ok := fractionBits(x)
		require.True(t, ok, x)
		require.Equal(t, want, got, x)
	}
	got, ok := fractionBits(0.1)
	require.True(t, ok)
	require.Equal(t, 55, got) // 0.1 is 3602879701896397·2^-55
	_, ok = fractionBits(math.Inf(-1))
	require.False(t, ok)
}
