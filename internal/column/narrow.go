package column

import (
	"math"

	"github.com/segmentkit/segmentkit/storage"
)

// Narrow views. A column whose values span a small range is read by the
// predicate kernels in the narrowest unsigned type that holds each value's
// offset from the column's least value: a quantity from 1 to 20 in a
// byte, a datetime column spanning a few weeks of microseconds in four,
// so that a scan reads an eighth or a half of the bytes. Dates (four
// bytes) are narrowed to two bytes (a span of 179 years) only where two
// bytes are tested with SIMD (twoOfFour): in Go, a two-byte view was
// slower to scan than the four-byte column. A small
// dictionary's codes are read as bytes too. The kernels translate their ranges into offsets (narrowRanges)
// and test the offsets; a value's offset is exact, so the results are those
// of the wide column. Null slots hold offset 0 (their values, which may be
// anything, take no part in the range), and the kernels mask them as
// usual.

// narrowKey is the key of a column's narrow view among its derived values.
var narrowKey = storage.NewDerivedKey("column: narrow view")

// NoCode is the byte code that a narrow view of a small dictionary gives a
// code outside the dictionary: no entry has it.
const NoCode = math.MaxUint8

// Narrow returns the narrow view of a snapshot's column, wide its typed
// view (View), built on the first call and shared by every later one: a
// view whose integers, dates or datetimes are offsets in U8, U16 or U32,
// or whose dictionary codes are in U8. When the values do not fit in fewer
// bytes, or the column is of another type, it returns wide. The narrow view
// serves the predicate kernels (Kernel.Eval) only; aggregates read wide.
func Narrow(col *storage.Column, wide *Vec) *Vec {
	d, err := col.Derived(narrowKey, func() (any, error) { return NarrowOf(wide), nil })
	if err != nil {
		return wide
	}
	return d.(*Vec)
}

// NarrowOf returns the narrow view of v (see Narrow), or v itself.
func NarrowOf(v *Vec) *Vec {
	switch {
	case v.Codes != nil:
		if v.Dict.Len() >= NoCode {
			return v
		}
		n := &Vec{N: v.N, Type: v.Type, Valid: v.Valid, Dict: v.Dict, U8: make([]uint8, v.N)}
		size := int32(v.Dict.Len())
		for i, c := range v.Codes {
			if c >= 0 && c < size {
				n.U8[i] = uint8(c)
			} else {
				n.U8[i] = NoCode
			}
		}
		return n
	case v.I64 != nil:
		return narrowInts(v, v.I64, 8)
	case v.I32 != nil:
		return narrowInts(v, v.I32, 4)
	}
	return v
}

// narrowInts returns the narrow view of v's integer-like values vals, of
// width bytes each, or v when their offsets need as many bytes or more.
func narrowInts[T Integer](v *Vec, vals []T, width int) *Vec {
	var lo, hi int64
	has := false
	for i, x := range vals {
		if v.Valid != nil && !v.Valid.Has(i) {
			continue
		}
		if !has {
			lo, hi, has = int64(x), int64(x), true
		}
		lo, hi = min(lo, int64(x)), max(hi, int64(x))
	}
	span := uint64(hi) - uint64(lo)
	var size int
	switch {
	case span <= math.MaxUint8:
		size = 1
	case span <= math.MaxUint16:
		size = 2
	case span <= math.MaxUint32:
		size = 4
	default:
		return v
	}
	// Without SIMD, two bytes pay only against eight: the compare per
	// value of a two-byte view ran slower than that of a four-byte column
	// (20.5 against 15 ms over 16M dates), and a byte view is tested
	// eight at a time (rangeBytes) in every case. With it (twoOfFour),
	// a two-byte view is tested 16 values to a register from half the
	// bytes.
	if size >= width || (size == 2 && width == 4 && !twoOfFour) {
		return v
	}
	n := &Vec{N: v.N, Type: v.Type, Valid: v.Valid, Off: lo, Span: span}
	switch size {
	case 1:
		n.U8 = offsets[uint8](v, vals, lo)
	case 2:
		n.U16 = offsets[uint16](v, vals, lo)
	default:
		n.U32 = offsets[uint32](v, vals, lo)
	}
	return n
}

// offsets returns each valid value's offset from lo, and 0 for null slots.
func offsets[U uint8 | uint16 | uint32, T Integer](v *Vec, vals []T, lo int64) []U {
	out := make([]U, len(vals))
	for i, x := range vals {
		if v.Valid == nil || v.Valid.Has(i) {
			out[i] = U(uint64(int64(x)) - uint64(lo))
		}
	}
	return out
}

// narrowRanges translates the sorted, disjoint value ranges rs into ranges
// of offsets from off, clipped to [0, span], into buf's storage; ranges
// that no offset reaches are dropped.
func narrowRanges(rs []IRange, off int64, span uint64, buf []IRange) []IRange {
	out := buf[:0]
	for _, r := range rs {
		if r.Hi < off {
			continue
		}
		var lo uint64 // the offset of r.Lo, exact since r.Lo >= off
		if r.Lo > off {
			lo = uint64(r.Lo) - uint64(off)
		}
		if lo > span {
			continue
		}
		hi := min(uint64(r.Hi)-uint64(off), span)
		out = append(out, IRange{Lo: int64(lo), Hi: int64(hi)})
	}
	return out
}

// evalNarrowInts is evalInts over a narrow view's offsets.
func evalNarrowInts(v *Vec, rs []IRange, out Bitset) {
	var buf [16]IRange
	nr := narrowRanges(rs, v.Off, v.Span, buf[:])
	if len(nr) == 0 {
		clear(out)
		return
	}
	switch {
	case v.U8 != nil:
		if len(nr) == 1 {
			rangeBytes(v.U8, uint8(nr[0].Lo), uint8(nr[0].Hi-nr[0].Lo), out)
			return
		}
		evalInts(v.U8, nr, out)
	case v.U16 != nil:
		if len(nr) == 1 {
			rangeUint16s(v.U16, uint16(nr[0].Lo), uint16(nr[0].Hi-nr[0].Lo), out)
			return
		}
		evalInts(v.U16, nr, out)
	default:
		evalInts(v.U32, nr, out)
	}
}

const (
	lowBits = 0x0101010101010101
	gather  = 0x0102040810204080 // moves bit 0 of byte j to bit 56+j
)

// subBytes returns x-y byte by byte, each byte modulo 256.
func subBytes(x, y uint64) uint64 { return ((x | highs) - (y &^ highs)) ^ ((x ^ ^y) & highs) }

// rangeBytes marks the bytes b with b-lo (modulo 256) <= width: the
// blocks of 64 through rangeByteBlocks, the rest one by one.
func rangeBytes(vals []uint8, lo, width uint8, out Bitset) {
	rangeNarrow(vals, lo, width, rangeByteBlocks, out)
}

// rangeUint16s marks the values x with x-lo (modulo 2^16) <= width: the
// blocks of 64 through rangeUint16Blocks, the rest one by one.
func rangeUint16s(vals []uint16, lo, width uint16, out Bitset) {
	rangeNarrow(vals, lo, width, rangeUint16Blocks, out)
}

// rangeNarrow marks the values x of vals with x-lo (modulo the type's
// range) <= width: the blocks of 64 through blocks, the rest one by one.
func rangeNarrow[T uint8 | uint16](vals []T, lo, width T, blocks func([]T, T, T, []uint64), out Bitset) {
	full := len(vals) / 64
	blocks(vals[:full*64], lo, width, out[:full])
	if full*64 < len(vals) {
		var word uint64
		for j, x := range vals[full*64:] {
			word |= Bit(x-lo <= width) << uint(j)
		}
		out[full] = word
	}
}

// rangeUint16Blocks is rangeUint16s for a multiple of 64 values, a word of
// out per block: with AVX2 on amd64, 16 values to a register; elsewhere
// and under the purego build tag, rangeUint16sGo.
var rangeUint16Blocks = rangeUint16sGo

// twoOfFour reports whether integers of four bytes (dates) get a narrow
// view of two: where rangeUint16Blocks tests 16 values to a register.
var twoOfFour = false

// rangeUint16sGo tests the values one by one, modulo 2^16 as
// rangeUint16sAVX2 does.
func rangeUint16sGo(vals []uint16, lo, width uint16, out []uint64) {
	for w := range len(vals) / 64 {
		var word uint64
		for j, x := range (*[64]uint16)(vals[w*64:]) {
			word |= Bit(x-lo <= width) << uint(j)
		}
		out[w] = word
	}
}

// rangeByteBlocks is rangeBytes for a multiple of 64 bytes, a word of out
// per block: with AVX2 on amd64, 32 bytes to a register; elsewhere and
// under the purego build tag, rangeBytesGo.
var rangeByteBlocks = rangeBytesGo

// rangeBytesGo tests eight bytes at a time: the differences byte by
// byte, then whether width-d borrows (d > width) read off the high bit of
// each byte.
func rangeBytesGo(vals []uint8, lo, width uint8, out []uint64) {
	l, w := uint64(lo)*lowBits, uint64(width)*lowBits
	for wi := range len(vals) / 64 {
		b := (*[64]uint8)(vals[wi*64:])
		var word uint64
		for j := 0; j < 64; j += 8 {
			x := uint64(b[j]) | uint64(b[j+1])<<8 | uint64(b[j+2])<<16 | uint64(b[j+3])<<24 |
				uint64(b[j+4])<<32 | uint64(b[j+5])<<40 | uint64(b[j+6])<<48 | uint64(b[j+7])<<56
			d := subBytes(x, l)
			above := ((^w & d) | (^(w ^ d) & subBytes(w, d))) & highs
			in := (^above & highs) >> 7
			word |= (in * gather >> 56) << uint(j)
		}
		out[wi] = word
	}
}

// codeBytes maps a narrow view's byte codes to their entries' results
// (hit, at most NoCode entries), through a table of 256 bits. The codes of
// a dictionary of at most 16 entries (below 16, or NoCode) are looked up
// by codeBlocks16 where the machine has it (AVX2: a byte shuffle, 32 codes
// to a register).
func codeBytes(codes []uint8, hit Bitset, entries int, out Bitset) {
	var tbl [256]uint8
	for c := range min(len(hit)*64, NoCode) {
		tbl[c] = uint8(Bit(hit.Has(c)))
	}
	n := len(codes)
	full := n / 64
	if codeBlocks16 != nil && entries <= 16 {
		var t16 [16]uint8
		for c := range t16 {
			t16[c] = tbl[c] << 7
		}
		codeBlocks16(codes[:full*64], &t16, out[:full])
	} else {
		codeBytesGo(codes[:full*64], &tbl, out[:full])
	}
	if full*64 < n {
		var word uint64
		for j, c := range codes[full*64:] {
			word |= uint64(tbl[c]) << uint(j)
		}
		out[full] = word
	}
}

// codeBlocks16, where the machine has it, is codeBytes for a multiple of
// 64 codes of a dictionary of at most 16 entries, a word of out per block,
// with table[c] 0x80 for a code c that hits, else 0.
var codeBlocks16 func(codes []uint8, table *[16]uint8, out []uint64)

// codeBytesGo is codeBytes for a multiple of 64 codes, through tbl (1 for
// a code that hits, else 0), eight codes to a byte of out.
func codeBytesGo(codes []uint8, tbl *[256]uint8, out []uint64) {
	for wi := range len(codes) / 64 {
		b := (*[64]uint8)(codes[wi*64:])
		var word uint64
		for j := 0; j < 64; j += 8 {
			c0 := uint64(tbl[b[j]])
			c1 := uint64(tbl[b[j+1]])
			c2 := uint64(tbl[b[j+2]])
			c3 := uint64(tbl[b[j+3]])
			c4 := uint64(tbl[b[j+4]])
			c5 := uint64(tbl[b[j+5]])
			c6 := uint64(tbl[b[j+6]])
			c7 := uint64(tbl[b[j+7]])
			word |= (c0 | c1<<1 | c2<<2 | c3<<3 | c4<<4 | c5<<5 | c6<<6 | c7<<7) << uint(j)
		}
		out[wi] = word
	}
}
