package column

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"
)

// TestEvalInt32s compares the int32 range scan (rangeInt32Blocks: AVX2
// where the machine has it, and the Go loop) with the generic evalInts on
// random values and one range anywhere around them, the extremes of
// int32 and int64 included, at lengths around the 64-value blocks.
func TestEvalInt32s(t *testing.T) {
	native := rangeInt32Blocks
	defer func() { rangeInt32Blocks = native }()
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 300).Draw(t, "n")
		base := rapid.SampledFrom([]int32{0, -5, math.MinInt32, math.MaxInt32 - 1000, 20000}).Draw(t, "base")
		vals := make([]int32, n)
		for i := range vals {
			if rapid.IntRange(0, 9).Draw(t, "kind") == 0 {
				vals[i] = rapid.Int32().Draw(t, "any")
			} else {
				vals[i] = base + int32(rapid.IntRange(0, 1000).Draw(t, "off"))
			}
		}
		point := func(label string) int64 {
			switch rapid.IntRange(0, 3).Draw(t, label+"Kind") {
			case 0:
				return rapid.Int64().Draw(t, label)
			case 1:
				return rapid.SampledFrom([]int64{math.MinInt64, math.MaxInt64, math.MinInt32, math.MaxInt32, math.MinInt32 - 1, math.MaxInt32 + 1}).Draw(t, label)
			}
			return int64(base) + int64(rapid.IntRange(-3, 1003).Draw(t, label+"Off"))
		}
		a, b := point("lo"), point("hi")
		rs := []IRange{{Lo: min(a, b), Hi: max(a, b)}}
		want := NewBitset(n)
		evalInts(vals, rs, want)
		for _, impl := range []func([]int32, int32, uint32, []uint64){native, rangeInt32sGo} {
			rangeInt32Blocks = impl
			got := NewBitset(n)
			for i := range got {
				got[i] = ^uint64(0) // overwritten
			}
			evalInt32s(vals, rs, got)
			require.Equal(t, want, got, "range %v", rs)
		}
	})
}
