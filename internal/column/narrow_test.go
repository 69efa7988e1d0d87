package column

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/segmentkit/segmentkit/schema"
)

// evalSliced runs k over v in slices of batch rows, as the engine does.
func evalSliced(k *Kernel, v *Vec, batch int) Bitset {
	out := NewBitset(v.N)
	k = k.Prepare(v, nil)
	for lo := 0; lo < v.N; lo += batch {
		hi := min(v.N, lo+batch)
		k.Eval(v.Slice(lo, hi), out[lo/64:(hi+63)/64])
	}
	return out
}

// TestNarrowIntsAgree checks that the kernels give the same rows over a
// column's narrow view as over the column: values spread over spans that
// fit one, two, four and eight bytes, from any base (the extremes
// included), with nulls whose slots hold values outside the span, and
// ranges anywhere around them, negated or not.
func TestNarrowIntsAgree(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		n := rapid.IntRange(0, 400).Draw(t, "n")
		spanBits := rapid.SampledFrom([]uint{0, 1, 7, 8, 9, 16, 17, 32, 33, 63}).Draw(t, "spanBits")
		span := uint64(1)<<spanBits - 1
		base := rapid.SampledFrom([]int64{0, -3, 1 << 40, math.MinInt64, math.MaxInt64 - int64(span)}).Draw(t, "base")
		date := spanBits <= 16 && rapid.Bool().Draw(t, "date")
		if date {
			base = int64(rapid.Int32Range(math.MinInt32, math.MaxInt32-int32(span)).Draw(t, "dayBase"))
		}
		nulls := rapid.Float64Range(0, 0.5).Draw(t, "nulls")
		vals := make([]int64, n)
		valid := NewBitset(n)
		for i := range vals {
			vals[i] = int64(uint64(base) + rapid.Uint64Range(0, span).Draw(t, "off"))
			if rapid.Float64Range(0, 1).Draw(t, "null") < nulls {
				vals[i] = rapid.Int64().Draw(t, "slot") // outside the span, likely
				if date {
					vals[i] = int64(rapid.Int32().Draw(t, "daySlot"))
				}
			} else {
				valid.Set(i)
			}
		}
		wide := &Vec{N: n, Type: schema.Integer, Valid: valid, I64: vals}
		if date {
			wide = &Vec{N: n, Type: schema.Date, Valid: valid, I32: make([]int32, n)}
			for i, x := range vals {
				wide.I32[i] = int32(x)
			}
		}
		narrow := NarrowOf(wide)
		// Dates are narrowed to two bytes only where those are tested
		// with SIMD (twoOfFour).
		if spanBits <= 8 || (spanBits <= 16 && (!date || twoOfFour)) {
			require.True(t, narrow.narrowInts(), "span %d bits not narrowed", spanBits)
		}
		point := func(label string) int64 {
			switch rapid.IntRange(0, 3).Draw(t, label+"Kind") {
			case 0:
				return rapid.Int64().Draw(t, label)
			case 1:
				return rapid.SampledFrom([]int64{math.MinInt64, math.MaxInt64}).Draw(t, label)
			}
			d := rapid.Int64Range(-3, 3).Draw(t, label+"Near")
			return int64(uint64(base) + rapid.Uint64Range(0, span).Draw(t, label+"Off") + uint64(d))
		}
		var rs []IRange
		for range rapid.IntRange(1, 5).Draw(t, "ranges") {
			a, b := point("lo"), point("hi")
			rs = append(rs, IRange{Lo: min(a, b), Hi: max(a, b)})
		}
		k := &Kernel{Kind: KindInts, IR: MergeRanges(rs), Negate: rapid.Bool().Draw(t, "negate")}
		batch := 64 * rapid.IntRange(1, 4).Draw(t, "batch")
		require.Equal(t, evalSliced(k, wide, batch), evalSliced(k, narrow, batch), "ranges %v over base %d span %d", k.IR, base, span)
		test := k.RowTest(narrow)
		for i := range n {
			if valid.Has(i) {
				require.Equal(t, InRanges(vals[i], k.IR), test(i), "row %d", i)
			}
		}
	})
}

// TestNarrowCodesAgree checks string kernels over the byte codes of a
// small dictionary against its int32 codes, and that a dictionary of
// NoCode entries or more is not narrowed.
func TestNarrowCodesAgree(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rapid.Check(t, func(t *rapid.T) {
		entries := rapid.IntRange(1, 300).Draw(t, "entries")
		sb := array.NewStringBuilder(mem)
		for i := range entries {
			sb.Append(string(rune('a'+i%26)) + string(rune('a'+i/26)))
		}
		dict := sb.NewStringArray()
		sb.Release()
		defer dict.Release()
		n := rapid.IntRange(0, 300).Draw(t, "n")
		codes := make([]int32, n)
		valid := NewBitset(n)
		for i := range codes {
			codes[i] = rapid.Int32Range(0, int32(entries-1)).Draw(t, "code")
			if rapid.IntRange(0, 4).Draw(t, "null") == 0 {
				codes[i] = rapid.SampledFrom([]int32{-1, int32(entries), math.MaxInt32}).Draw(t, "slot")
			} else {
				valid.Set(i)
			}
		}
		wide := &Vec{N: n, Type: schema.String, Valid: valid, Codes: codes, Dict: dict}
		narrow := NarrowOf(wide)
		require.Equal(t, entries < NoCode, narrow.U8 != nil)
		want := map[string]bool{}
		for range rapid.IntRange(1, 4).Draw(t, "values") {
			want[dict.Value(rapid.IntRange(0, entries-1).Draw(t, "value"))] = true
		}
		k := &Kernel{Kind: KindStrings, Match: func(s string) bool { return want[s] }, Negate: rapid.Bool().Draw(t, "negate")}
		require.Equal(t, evalSliced(k, wide, 64), evalSliced(k, narrow, 128))
		for i := range n {
			if valid.Has(i) {
				require.Equal(t, wide.StringAt(i), narrow.StringAt(i))
			}
		}
	})
}

// TestRangeBytes checks the byte range test (rangeByteBlocks: AVX2 where
// the machine has it, and the eight-at-a-time Go loop) against the
// comparison one byte at a time, for every lower end and width.
func TestRangeBytes(t *testing.T) {
	native := rangeByteBlocks
	defer func() { rangeByteBlocks = native }()
	vals := make([]uint8, 256*3+5)
	for i := range vals {
		vals[i] = uint8(i * 7)
	}
	out := NewBitset(len(vals))
	for _, impl := range []func([]uint8, uint8, uint8, []uint64){native, rangeBytesGo} {
		rangeByteBlocks = impl
		for lo := range 256 {
			for _, width := range []int{0, 1, 2, 63, 127, 128, 200, 254, 255, lo} {
				rangeBytes(vals, uint8(lo), uint8(width), out)
				for i, x := range vals {
					if x-uint8(lo) <= uint8(width) != out.Has(i) {
						require.Failf(t, "rangeBytes", "value %d, lo %d, width %d", x, lo, width)
					}
				}
			}
		}
	}
}

// TestRangeUint16s checks the two-byte range test (rangeUint16Blocks:
// AVX2 where the machine has it, and the Go loop) against the comparison
// value by value, modulo 2^16, at lengths around the blocks of 64, for
// lower ends and widths across the range (narrow ranges keep lo+width
// below 2^16, where modulo 2^16 is the plain range; wider ones wrap).
func TestRangeUint16s(t *testing.T) {
	native := rangeUint16Blocks
	defer func() { rangeUint16Blocks = native }()
	r := rand.New(rand.NewPCG(3, 4))
	for _, impl := range []func([]uint16, uint16, uint16, []uint64){native, rangeUint16sGo} {
		rangeUint16Blocks = impl
		for range 400 {
			vals := make([]uint16, r.IntN(300))
			for i := range vals {
				vals[i] = uint16(r.Uint32())
				if r.IntN(3) == 0 {
					vals[i] = uint16(r.IntN(8)) // near the ends
				}
			}
			lo := uint16(r.Uint32())
			if r.IntN(4) == 0 {
				lo = uint16(r.IntN(3))
			}
			width := uint16(r.IntN(int(math.MaxUint16-lo) + 1))
			if r.IntN(4) == 0 {
				width = uint16(r.Uint32()) // lo+width may wrap
			}
			out := NewBitset(len(vals))
			rangeUint16s(vals, lo, width, out)
			for i, x := range vals {
				if int(lo)+int(width) <= math.MaxUint16 && (x >= lo && x-lo <= width) != (x-lo <= width) {
					require.Failf(t, "modulo 2^16", "value %d, lo %d, width %d", x, lo, width)
				}
				if x-lo <= width != out.Has(i) {
					require.Failf(t, "rangeUint16s", "value %d, lo %d, width %d", x, lo, width)
				}
			}
		}
	}
}

// TestCodeBytes checks the byte codes' lookup (codeBlocks16 where the
// machine has it, for dictionaries of at most 16 entries, and the table
// of codeBytesGo) against Bitset.Has code by code: random dictionaries of
// 1 to 40 entries, random hits, NoCode among the codes, at lengths around
// the 64-code blocks.
func TestCodeBytes(t *testing.T) {
	rapid.Check(t, func(t *rapid.T) {
		entries := rapid.IntRange(1, 40).Draw(t, "entries")
		n := rapid.IntRange(0, 300).Draw(t, "n")
		codes := make([]uint8, n)
		for i := range codes {
			if rapid.IntRange(0, 9).Draw(t, "null") == 0 {
				codes[i] = NoCode
			} else {
				codes[i] = uint8(rapid.IntRange(0, entries-1).Draw(t, "code"))
			}
		}
		hit := NewBitset(entries)
		for c := range entries {
			if rapid.Bool().Draw(t, "hit") {
				hit.Set(c)
			}
		}
		got := NewBitset(n)
		for i := range got {
			got[i] = ^uint64(0) // overwritten
		}
		codeBytes(codes, hit, entries, got)
		for i, c := range codes {
			require.Equal(t, c != NoCode && hit.Has(int(c)), got.Has(i), "code %d of %d entries at %d", c, entries, i)
		}
	})
}
