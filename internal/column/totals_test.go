package column

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPackedTotals checks the loop of the machine (assembly on amd64)
// against a plain recount, and against the Go loop, at every start offset
// within a word and lengths around multiples of 64: each customer's stored
// total is the running total at its last row, a customer outside out is
// refused.
func TestPackedTotals(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	for range 300 {
		n := r.IntN(300)
		off := r.IntN(130)
		customers := 1 + r.IntN(20)
		cust := make([]int32, n)
		u := make([]uint16, n)
		c := int32(0)
		for i := range cust {
			if r.IntN(4) == 0 && int(c) < customers-1 {
				c++
			}
			cust[i] = c
			u[i] = uint16(r.Uint32())
		}
		sel := make([]uint64, (off+n+63)/64+r.IntN(2))
		for i := range sel {
			sel[i] = r.Uint64()
		}
		p0 := r.Uint64()
		want := make([]int64, customers)
		p := p0
		for i := range cust {
			if b := off + i; sel[b>>6]>>(b&63)&1 == 1 {
				p += uint64(u[i])<<TotalCountBits | 1
			}
			want[cust[i]] = int64(p)
		}
		for name, f := range map[string]func([]int32, []uint16, []uint64, int, uint64, []int64) (uint64, bool){"machine": packedTotals, "go": packedTotalsGo} {
			got := make([]int64, customers)
			gp, ok := f(cust, u, sel, off, p0, got)
			require.True(t, ok, name)
			require.Equal(t, p, gp, name)
			require.Equal(t, want, got, name)
			if n > 0 {
				// A customer beyond out, and a negative one.
				bad := make([]int32, n)
				copy(bad, cust)
				at := n - 1
				if r.IntN(2) == 0 {
					at = r.IntN(n)
				}
				bad[at] = int32(customers)
				_, ok = f(bad, u, sel, off, p0, make([]int64, customers))
				require.False(t, ok, name)
				bad[at] = -1
				_, ok = f(bad, u, sel, off, p0, make([]int64, customers))
				require.False(t, ok, name)
			}
		}
	}
	require.Panics(t, func() { PackedTotals(make([]int32, 2), make([]uint16, 1), make([]uint64, 1), 0, 0, make([]int64, 1)) })
	require.Panics(t, func() { PackedTotals(make([]int32, 2), make([]uint16, 2), make([]uint64, 1), 63, 0, make([]int64, 1)) })
}
