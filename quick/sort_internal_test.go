package quick

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRadixSort(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 5, radixMin - 1, radixMin, 3*radixMin + 17, parallelMin + 12345} {
		gens := map[string]func() float64{
			"normal": func() float64 { return r.NormFloat64() * 1000 },
			"small":  func() float64 { return float64(r.IntN(7) - 3) },
			"special": func() float64 {
				return []float64{0, math.Copysign(0, -1), math.Inf(1), math.Inf(-1), math.MaxFloat64, -math.MaxFloat64,
					math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 1, -1}[r.IntN(10)]
			},
		}
		for name, gen := range gens {
			fs := make([]float64, n)
			is := make([]int64, n)
			for i := range fs {
				fs[i] = gen()
				is[i] = int64(r.Uint64())
				if name == "small" {
					is[i] = int64(r.IntN(100))
				}
				if name == "special" {
					is[i] = []int64{math.MinInt64, math.MaxInt64, 0, -1, 1}[r.IntN(5)]
				}
			}
			wantF, wantI := slices.Clone(fs), slices.Clone(is)
			slices.Sort(wantF)
			slices.Sort(wantI)
			sortFloat64s(fs)
			sortInt64s(is)
			require.Equal(t, wantI, is, "%s %d", name, n)
			for i := range fs { // -0 and 0 may be in either order in wantF
				require.True(t, fs[i] == wantF[i], "%s %d: %v at %d", name, n, fs[i], i)
				if i > 0 {
					require.False(t, fs[i] < fs[i-1])
				}
			}
		}
	}
}

func BenchmarkSort(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 2))
	src := make([]float64, 1_000_000)
	for i := range src {
		src[i] = r.NormFloat64()*20_000 + 60_000
	}
	xs := make([]float64, len(src))
	b.ReportAllocs()
	b.Run("radix", func(b *testing.B) {
		for b.Loop() {
			copy(xs, src)
			sortFloat64s(xs)
		}
	})
	b.Run("pdq", func(b *testing.B) {
		for b.Loop() {
			copy(xs, src)
			slices.Sort(xs)
		}
	})
}
