package engine

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
)

// TestContainsScan checks the buffer-wide contains search against
// strings.Contains row by row, on sliced arrays too, with matches that
// straddle two values.
func TestContainsScan(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(3, 4))
	for iter := range 300 {
		n := 1 + r.IntN(200)
		vals := make([]string, n)
		b := array.NewStringBuilder(mem)
		for i := range vals {
			var sb strings.Builder
			for range r.IntN(6) {
				sb.WriteByte("abc"[r.IntN(3)])
			}
			vals[i] = sb.String()
			b.Append(vals[i])
		}
		full := b.NewStringArray()
		b.Release()
		lo := r.IntN(n)
		hi := lo + r.IntN(n-lo+1)
		arr := array.NewSlice(full, int64(lo), int64(hi)).(*array.String)
		needle := ""
		for range 1 + r.IntN(3) {
			needle += string("abc"[r.IntN(3)])
		}
		v, err := vecOf(schema.String, arr)
		require.NoError(t, err)
		out := newBitset(v.n)
		containsScan(v, needle, out)
		for i := 0; i < v.n; i++ {
			require.Equal(t, strings.Contains(vals[lo+i], needle), out.has(i), "iter %d row %d %q in %q", iter, i, needle, vals[lo+i])
		}
		if v.n > 64 { // a batch view of the column, as the kernels run it
			sv := v.slice(64, v.n)
			sout := newBitset(sv.n)
			containsScan(sv, needle, sout)
			for i := 0; i < sv.n; i++ {
				require.Equal(t, out.has(64+i), sout.has(i))
			}
		}
		arr.Release()
		full.Release()
	}
}
