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

// Tests of the string search kernels: startsWith and endsWith (affixes),
// and the case-folding contains.

// TestAffixScan checks startsWith and endsWith on plain string columns, with
// and without ignoreCase, against strings.HasPrefix and HasSuffix of the
// folded values row by row: affixes of every length from empty to past 16
// bytes, values shorter and longer than them, non-ASCII values (some of
// which fold to ASCII letters), nulls, arrays sliced at offsets, and batch
// views, so that the eight-byte windows meet both ends of the buffer.
func TestAffixScan(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	r := rand.New(rand.NewPCG(11, 12))
	pieces := []string{"a", "A", "b", "k", "K", "\u212a", "s", "\u017f", "é", "É", ".", "@", "\xff"}
	word := func(max int) string {
		var sb strings.Builder
		for range r.IntN(max) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		return sb.String()
	}
	for iter := range 2000 {
		n := 1 + r.IntN(150)
		ops := []segment.Op{segment.StartsWith, segment.EndsWith}
		op := ops[r.IntN(2)]
		ignoreCase := r.IntN(2) == 0
		operand := word(20)
		vals := make([]string, n)
		b := array.NewStringBuilder(mem)
		for i := range vals {
			vals[i] = word(12)
			switch r.IntN(6) { // values that hold the operand, in some case
			case 0:
				vals[i] += operand
			case 1:
				vals[i] = operand + vals[i]
			case 2:
				vals[i] = strings.ToUpper(operand)
			}
			if r.IntN(15) == 0 {
				b.AppendNull()
			} else {
				b.Append(vals[i])
			}
		}
		full := b.NewStringArray()
		b.Release()
		lo := r.IntN(n)
		hi := lo + r.IntN(n-lo+1)
		arr := array.NewSlice(full, int64(lo), int64(hi)).(*array.String)
		p, err := newPredicate(schema.String, op, segment.Str(operand), ignoreCase)
		require.NoError(t, err)
		k := p.bind(asOfBench)
		v, err := column.Of(schema.String, arr)
		require.NoError(t, err)
		got := column.NewBitset(v.N)
		k.Eval(v, got)
		norm := func(s string) string { return s }
		if ignoreCase {
			norm = column.FoldString
		}
		for i := 0; i < v.N; i++ {
			x := vals[lo+i]
			want := arr.IsValid(i)
			if op == segment.StartsWith {
				want = want && strings.HasPrefix(norm(x), norm(operand))
			} else {
				want = want && strings.HasSuffix(norm(x), norm(operand))
			}
			require.Equal(t, want, got.Has(i), "iter %d: %q %s %q (ignoreCase %v, in place %v)",
				iter, x, op, operand, ignoreCase, k.Affix != nil)
		}
		if v.N > 64 {
			sv := v.Slice(64, v.N)
			sout := column.NewBitset(sv.N)
			k.Eval(sv, sout)
			for i := 0; i < sv.N; i++ {
				require.Equal(t, got.Has(64+i), sout.Has(i))
			}
		}
		arr.Release()
		full.Release()
	}
}

// TestAffixInPlace checks which operands are tested in place: every one
// without ignoreCase, and with it the ASCII ones that no non-ASCII
// character folds to.
func TestAffixInPlace(t *testing.T) {
	for _, c := range []struct {
		operand    string
		ignoreCase bool
		want       bool
	}{
		{"gmail.com", false, true},
		{"gmail.com", true, true},
		{"", true, true},
		{"skip", true, false},
		{"é", true, false},
		{"é", false, true},
	} {
		p, err := newPredicate(schema.String, segment.EndsWith, segment.Str(c.operand), c.ignoreCase)
		require.NoError(t, err)
		require.Equal(t, c.want, p.bind(asOfBench).Affix != nil, "%q ignoreCase %v", c.operand, c.ignoreCase)
	}
}

// TestEmptyOperand checks string operators with an empty operand, with and
// without ignoreCase, on a plain column: every value contains, starts and
// ends with the empty string, and only the empty value equals it.
func TestEmptyOperand(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewStringBuilder(mem)
	vals := []string{"", "a", "Kelvin", "\u212a", "é"}
	b.AppendValues(vals, nil)
	b.AppendNull()
	arr := b.NewStringArray()
	b.Release()
	defer arr.Release()
	v, err := column.Of(schema.String, arr)
	require.NoError(t, err)
	for _, ignoreCase := range []bool{false, true} {
		for op, want := range map[segment.Op]func(string) bool{
			segment.Contains:    func(string) bool { return true },
			segment.NotContains: func(string) bool { return false },
			segment.StartsWith:  func(string) bool { return true },
			segment.EndsWith:    func(string) bool { return true },
			segment.Equals:      func(x string) bool { return x == "" },
		} {
			p, err := newPredicate(schema.String, op, segment.Str(""), ignoreCase)
			require.NoError(t, err)
			out := column.NewBitset(v.N)
			p.bind(asOfBench).Eval(v, out)
			for i, x := range vals {
				require.Equal(t, want(x), out.Has(i), "%q %s \"\" (ignoreCase %v)", x, op, ignoreCase)
			}
			require.False(t, out.Has(len(vals)), "null %s \"\"", op)
		}
	}
}

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
