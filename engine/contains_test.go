package engine

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// TestContainsFoldScan checks the folded buffer search against the row by
// row predicate, with non-ASCII values that fold to ASCII letters.
func TestContainsFoldScan(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(8, 9))
	pieces := []string{"a", "B", "k", "K", "\u212a", "s", "\u017f", "é", "É", "x", "-"}
	for iter := range 300 {
		n := 1 + r.IntN(150)
		b := array.NewStringBuilder(mem)
		for range n {
			var sb strings.Builder
			for range r.IntN(7) {
				sb.WriteString(pieces[r.IntN(len(pieces))])
			}
			if r.IntN(15) == 0 {
				b.AppendNull()
			} else {
				b.Append(sb.String())
			}
		}
		arr := b.NewStringArray()
		b.Release()
		needle := ""
		for range 1 + r.IntN(3) {
			needle += []string{"a", "b", "K", "S", "x", "-"}[r.IntN(6)]
		}
		p, err := newPredicate(schema.String, segment.Contains, segment.Str(needle), true)
		require.NoError(t, err)
		k := p.bind(asOfBench)
		require.NotNil(t, k.Fold)
		v, err := column.Of(schema.String, arr)
		require.NoError(t, err)
		got := column.NewBitset(v.N)
		k.Eval(v, got)
		for i := 0; i < v.N; i++ {
			want := arr.IsValid(i) && strings.Contains(column.FoldString(arr.Value(i)), column.FoldString(needle))
			require.Equal(t, want, got.Has(i), "iter %d: %q contains %q", iter, arr.Value(i), needle)
		}
		// The same values dictionary-encoded, one entry per row, searched
		// through the dictionary's buffer.
		codes := make([]int32, v.N)
		for i := range codes {
			codes[i] = int32(i)
		}
		dv := &column.Vec{N: v.N, Type: schema.String, Valid: v.Valid, Codes: codes, Dict: arr}
		dgot := column.NewBitset(v.N)
		k.Prepare(dv, nil).Eval(dv, dgot)
		require.Equal(t, got, dgot)
		arr.Release()
	}
}
