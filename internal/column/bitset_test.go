package column

import (
	"math/rand/v2"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"
)

// TestFromRoaring checks the dense copy of bitmaps with array, bitmap and
// run containers against Has id by id, for universes past, at and short
// of their greatest id.
func TestFromRoaring(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for iter := range 60 {
		rb := roaring.New()
		span := 1 + r.IntN(300_000)
		for range r.IntN(5) {
			switch r.IntN(3) {
			case 0: // sparse: array containers
				for range r.IntN(500) {
					rb.Add(uint32(r.IntN(span)))
				}
			case 1: // dense: bitmap containers
				lo := r.IntN(span)
				for i := lo; i < min(span, lo+70_000); i++ {
					if r.IntN(2) == 0 {
						rb.Add(uint32(i))
					}
				}
			default: // runs
				lo := uint64(r.IntN(span))
				rb.AddRange(lo, lo+uint64(1+r.IntN(100_000)))
			}
		}
		rb.RunOptimize()
		max := 0
		if !rb.IsEmpty() {
			max = int(rb.Maximum())
		}
		for _, n := range []int{max + 1 + r.IntN(1000), max + 1, max/2 + 1, 0} {
			b := FromRoaring(rb, n)
			require.Len(t, b, (n+63)/64)
			want := 0
			for i := range n {
				if rb.Contains(uint32(i)) {
					want++
					require.True(t, b.Has(i), "iter %d: id %d of %d", iter, i, n)
				}
			}
			require.Equal(t, want, b.Count(), "iter %d: universe %d", iter, n)
		}
	}
}
