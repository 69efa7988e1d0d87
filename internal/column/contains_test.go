package column

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
		v, err := Of(schema.String, arr)
		require.NoError(t, err)
		out := NewBitset(v.N)
		containsScan(v, needle, out)
		for i := 0; i < v.N; i++ {
			require.Equal(t, strings.Contains(vals[lo+i], needle), out.Has(i), "iter %d row %d %q in %q", iter, i, needle, vals[lo+i])
		}
		if v.N > 64 { // a batch view of the column, as the kernels run it
			sv := v.Slice(64, v.N)
			sout := NewBitset(sv.N)
			containsScan(sv, needle, sout)
			for i := 0; i < sv.N; i++ {
				require.Equal(t, out.Has(64+i), sout.Has(i))
			}
		}
		arr.Release()
		full.Release()
	}
}

// TestFoldIndex checks the folded search against a plain one, with the
// portable block scan and with the one this machine uses (AVX2 on amd64).
func TestFoldIndex(t *testing.T) {
	native := foldBlocks
	defer func() { foldBlocks = native }()
	for name, scan := range map[string]func([]byte, int, int, byte, byte, byte, byte) (int, uint32){"go": foldBlocksGo, "native": native} {
		t.Run(name, func(t *testing.T) {
			foldBlocks = scan
			testFoldIndex(t)
		})
	}
}

func testFoldIndex(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	alphabet := []byte("aAnNdD.@z\x80\xc3\x84{`")
	for range 20000 {
		// Long enough for the 32-position blocks, with matches in every
		// word of a block and across blocks.
		s := make([]byte, r.IntN(120))
		for i := range s {
			s[i] = alphabet[r.IntN(len(alphabet))]
		}
		nd := make([]byte, 1+r.IntN(5))
		for i := range nd {
			nd[i] = "AND@."[r.IntN(5)]
		}
		want := -1
		for i := 0; i+len(nd) <= len(s); i++ {
			if equalFoldASCII(s[i:i+len(nd)], nd) {
				want = i
				break
			}
		}
		require.Equal(t, want, NewFoldNeedle(string(nd)).index(s), "%q in %q", nd, s)
	}
}

// TestFoldNeedleWide checks which needles need the row by row pass over
// non-ASCII values: only those with a letter that a non-ASCII character
// folds to.
func TestFoldNeedleWide(t *testing.T) {
	for c := byte(0x20); c < 0x7f; c++ {
		nd := string(upperByte(c))
		want := nd == "K" || nd == "S"
		require.Equal(t, want, NewFoldNeedle("A"+nd+"B").wide, "%q", nd)
	}
}
