package exact

import (
	"math"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func rat(s string) *big.Rat {
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		panic(s)
	}
	return r
}

func TestIntRange(t *testing.T) {
	tests := []struct {
		name           string
		lo             *big.Rat
		loOpen         bool
		hi             *big.Rat
		hiOpen         bool
		wantLo, wantHi int64
		ok             bool
	}{
		{"closed integers", rat("3"), false, rat("7"), false, 3, 7, true},
		{"open integers", rat("3"), true, rat("7"), true, 4, 6, true},
		{"fractions", rat("2.5"), false, rat("-0.5"), false, 0, 0, false},
		{"fraction bounds", rat("-2.5"), true, rat("2.5"), true, -2, 2, true},
		{"point", rat("5"), false, rat("5"), false, 5, 5, true},
		{"empty open point", rat("5"), true, rat("5"), false, 0, 0, false},
		{"unbounded", nil, false, nil, false, math.MinInt64, math.MaxInt64, true},
		{"beyond int64 above", rat("9223372036854775808"), false, nil, false, 0, 0, false},
		{"beyond int64 below", nil, false, rat("-9223372036854775809"), false, 0, 0, false},
		{"clamped", rat("-1e30"), false, rat("1e30"), false, math.MinInt64, math.MaxInt64, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lo, hi, ok := IntRange(tt.lo, tt.loOpen, tt.hi, tt.hiOpen)
			require.Equal(t, tt.ok, ok)
			if ok {
				require.Equal(t, tt.wantLo, lo)
				require.Equal(t, tt.wantHi, hi)
			}
		})
	}
}

func TestFloorDiv(t *testing.T) {
	require.Equal(t, int64(-1), FloorDiv(-1, 86400))
	require.Equal(t, int64(0), FloorDiv(86399, 86400))
	require.Equal(t, int64(1), FloorDiv(86400, 86400))
	require.Equal(t, int64(-1), FloorDiv(-86400, 86400))
	require.Equal(t, int64(-2), FloorDiv(-86401, 86400))
}

// TestAvgOfSum: the row-order sum divided by the count while that sum is
// finite, the exact mean once it overflows.
func TestAvgOfSum(t *testing.T) {
	var m Mean
	for _, x := range []float64{1e308, 1e308, -1e308} {
		m.Add(x)
	}
	x := 1e308 // a variable: constant arithmetic would be exact
	s := x + x - x
	require.True(t, math.IsInf(s, 1))
	require.Equal(t, 1e308/3, AvgOfSum(s, 3, m.Float64))
	called := false
	require.Equal(t, (0.1+0.2)/2, AvgOfSum(0.1+0.2, 2, func() float64 { called = true; return 0 }))
	require.False(t, called)
	var none Mean
	require.Equal(t, 0.0, none.Float64())
}
