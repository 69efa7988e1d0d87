package column

import (
	"bytes"
	"encoding/binary"
	"math"

	"github.com/segmentkit/segmentkit/schema"
)

// Eval writes into out (len (v.n+63)/64 words, overwritten) the rows where
// the predicate holds. Null rows never hold, except for isNull. The loops
// build one 64-bit word at a time from typed slices; the operator was fixed
// when the kernel was built.
func (k *Kernel) Eval(v *Vec, out Bitset) {
	n := v.N
	switch k.Kind {
	case KindNull:
		if v.Valid == nil {
			clear(out)
			return
		}
		copy(out, v.Valid)
		out.Not(n)
		return
	case KindNotNull:
		if v.Valid == nil {
			out.Fill(n)
			return
		}
		copy(out, v.Valid)
		return
	case KindNone:
		clear(out)
		return
	case KindInts:
		switch {
		case v.narrowInts():
			evalNarrowInts(v, k.IR, out)
		case v.I64 != nil:
			evalInts(v.I64, k.IR, out)
		default:
			evalInt32s(v.I32, k.IR, out)
		}
	case KindFloats:
		evalFloats(v.F64, k.FR, out)
	case KindStrings:
		k.evalStrings(v, out)
	case KindBool:
		copy(out, v.B)
		if !k.Want {
			out.Not(n)
		}
	}
	if k.Negate {
		out.Not(n)
	}
	if v.Valid != nil {
		out.And(v.Valid)
	}
}

// Integer is the element types of integer-like columns: days (int32),
// and integers and microseconds (int64), and the offsets of narrow views
// (uint8, uint16, uint32).
type Integer interface {
	~int32 | ~int64 | ~uint8 | ~uint16 | ~uint32
}

// rangeInt32Blocks marks, for each block of 64 of vals (whose length is
// a multiple of 64), the values with uint32(x-lo) <= width in a word of
// out. On amd64 with AVX2 it compares eight values at a time (one
// compare per value in Go ran at about 1 ns a value, 15 ms over 16M
// dates); rangeInt32sGo elsewhere and under the purego build tag.
var rangeInt32Blocks = rangeInt32sGo

func rangeInt32sGo(vals []int32, lo int32, width uint32, out []uint64) {
	for w := range len(vals) / 64 {
		out[w] = rangeWord((*[64]int32)(vals[w*64:]), uint64(int64(lo)), uint64(width))
	}
}

// evalInt32s is evalInts for a column of int32 (dates): one range that
// meets int32's runs through rangeInt32Blocks, clamped to it (an int32
// value is in [lo, hi] exactly when it is in the clamped range), and the
// values after the last whole block through evalInts.
func evalInt32s(vals []int32, rs []IRange, out Bitset) {
	full := len(vals) / 64 * 64
	if len(rs) != 1 || full == 0 || rs[0].Lo > math.MaxInt32 || rs[0].Hi < math.MinInt32 {
		evalInts(vals, rs, out)
		return
	}
	lo, hi := max(rs[0].Lo, math.MinInt32), min(rs[0].Hi, math.MaxInt32)
	rangeInt32Blocks(vals[:full], int32(lo), uint32(hi-lo), out[:full/64])
	evalInts(vals[full:], rs, out[full/64:])
}

func evalInts[T Integer](vals []T, rs []IRange, out Bitset) {
	n := len(vals)
	if len(rs) == 1 {
		// One range is one unsigned comparison: x-lo <= hi-lo in wrapping
		// arithmetic holds exactly when lo <= x <= hi.
		lo, width := uint64(rs[0].Lo), uint64(rs[0].Hi)-uint64(rs[0].Lo)
		full := n / 64
		for w := 0; w < full; w++ {
			out[w] = rangeWord((*[64]T)(vals[w*64:]), lo, width)
		}
		if full*64 < n {
			var word uint64
			for j, x := range vals[full*64:] {
				word |= Bit(uint64(int64(x))-lo <= width) << uint(j)
			}
			out[full] = word
		}
		return
	}
	if len(rs) <= 16 {
		// A few ranges (an in list): one unrolled pass per range over
		// each block of 64 values, which stays in the L1 cache.
		full := n / 64
		for w := 0; w < full; w++ {
			b := (*[64]T)(vals[w*64:])
			var word uint64
			for _, r := range rs {
				word |= rangeWord(b, uint64(r.Lo), uint64(r.Hi)-uint64(r.Lo))
			}
			out[w] = word
		}
		if full*64 < n {
			var word uint64
			for j, x := range vals[full*64:] {
				word |= Bit(InRanges(int64(x), rs)) << uint(j)
			}
			out[full] = word
		}
		return
	}
	for w := 0; w*64 < n; w++ {
		block := vals[w*64 : min(n, w*64+64)]
		var word uint64
		for j, x := range block {
			if InRanges(int64(x), rs) {
				word |= 1 << uint(j)
			}
		}
		out[w] = word
	}
}

// rangeWord tests 64 values at once. The eight-way unrolling gives the
// processor independent compare chains to run side by side; the fixed-size
// array lets the compiler drop the bounds checks.
func rangeWord[T Integer](b *[64]T, lo, width uint64) uint64 {
	var word uint64
	for j := 0; j < 64; j += 8 {
		c0 := Bit(uint64(int64(b[j]))-lo <= width)
		c1 := Bit(uint64(int64(b[j+1]))-lo <= width)
		c2 := Bit(uint64(int64(b[j+2]))-lo <= width)
		c3 := Bit(uint64(int64(b[j+3]))-lo <= width)
		c4 := Bit(uint64(int64(b[j+4]))-lo <= width)
		c5 := Bit(uint64(int64(b[j+5]))-lo <= width)
		c6 := Bit(uint64(int64(b[j+6]))-lo <= width)
		c7 := Bit(uint64(int64(b[j+7]))-lo <= width)
		word |= (c0 | c1<<1 | c2<<2 | c3<<3 | c4<<4 | c5<<5 | c6<<6 | c7<<7) << uint(j)
	}
	return word
}

// InRanges reports whether x is in one of the sorted, disjoint ranges.
func InRanges(x int64, rs []IRange) bool {
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case x < rs[m].Lo:
			hi = m
		case x > rs[m].Hi:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

func evalFloats(vals []float64, rs []FRange, out Bitset) {
	n := len(vals)
	// Open ends become closed ones at the next float inward, so that every
	// range is one pair of comparisons; NaN fails both, as it must.
	closed := make([][2]float64, 0, len(rs))
	for _, r := range rs {
		lo, hi := r.Lo, r.Hi
		if r.LoOpen {
			if math.IsInf(lo, 1) {
				continue
			}
			lo = math.Nextafter(lo, math.Inf(1))
		}
		if r.HiOpen {
			if math.IsInf(hi, -1) {
				continue
			}
			hi = math.Nextafter(hi, math.Inf(-1))
		}
		if lo <= hi {
			closed = append(closed, [2]float64{lo, hi})
		}
	}
	full := n / 64
	for w := 0; w < full; w++ {
		b := (*[64]float64)(vals[w*64:])
		var word uint64
		for _, r := range closed {
			word |= floatRangeWord(b, r[0], r[1])
		}
		out[w] = word
	}
	if full*64 < n {
		var word uint64
		for j, x := range vals[full*64:] {
			for _, r := range closed {
				word |= Bit(x >= r[0] && x <= r[1]) << uint(j)
			}
		}
		out[full] = word
	}
}

// floatRangeWord tests 64 values against [lo, hi], unrolled like rangeWord.
func floatRangeWord(b *[64]float64, lo, hi float64) uint64 {
	var word uint64
	for j := 0; j < 64; j += 4 {
		c0 := Bit(b[j] >= lo) & Bit(b[j] <= hi)
		c1 := Bit(b[j+1] >= lo) & Bit(b[j+1] <= hi)
		c2 := Bit(b[j+2] >= lo) & Bit(b[j+2] <= hi)
		c3 := Bit(b[j+3] >= lo) & Bit(b[j+3] <= hi)
		word |= (c0 | c1<<1 | c2<<2 | c3<<3) << uint(j)
	}
	return word
}

// evalStrings runs the string predicate once per dictionary entry when the
// column is dictionary-encoded, then maps codes; plain strings are tested
// row by row.
func (k *Kernel) evalStrings(v *Vec, out Bitset) {
	n := v.N
	clear(out)
	if v.U8 != nil && v.Dict != nil {
		hit := k.Hit
		if hit == nil {
			hit = k.DictHits(v, nil)
		}
		codeBytes(v.U8, hit, v.Dict.Len(), out)
		return
	}
	if v.Codes != nil {
		hit := k.Hit
		if hit == nil {
			hit = k.DictHits(v, nil)
		}
		full := n / 64
		for w := 0; w < full; w++ {
			out[w] = codeWord((*[64]int32)(v.Codes[w*64:]), hit)
		}
		if full*64 < n {
			var word uint64
			for j, c := range v.Codes[full*64:] {
				word |= Bit(hit.HasCode(c)) << uint(j)
			}
			out[full] = word
		}
		return
	}
	if v.Str != nil && k.Affix != nil {
		k.Affix.scan(v, out)
		return
	}
	if v.Str != nil && k.Needle != "" {
		if k.Fold != nil {
			k.containsFoldScan(v, out)
		} else {
			containsScan(v, k.Needle, out)
		}
		return
	}
	for i := 0; i < n; i++ {
		if v.IsValid(i) && k.Match(v.StringAt(i)) {
			out.Set(i)
		}
	}
}

// containsScan marks the rows of a plain string column that contain
// needle. It searches the column's value buffer, all rows back to back,
// with bytes.Index (vectorized by the Go runtime), and maps each match to
// its row by walking the offsets forward; a match that crosses into the
// next value is not one, and the search goes on from the byte after it.
// Null rows may be marked: the caller masks them.
func containsScan(v *Vec, needle string, out Bitset) {
	offs := v.Str.ValueOffsets()[v.Base : v.Base+v.N+1]
	scanRows(v.Str.ValueBytes(), offs, int(v.Str.ValueOffsets()[0]), []byte(needle), 0, out)
}

// containsFoldScan marks the rows of a plain string column that contain
// the needle under simple case folding, for a folded needle of ASCII letters
// and symbols (k.needle, with k.fold prepared). The folded form of an ASCII
// letter is its upper case, so the value buffer is searched with ASCII case
// folding, in place (foldNeedle.index). Only the Kelvin sign and the long s
// fold to ASCII letters (k and s) from outside ASCII: when the needle has
// one of those, a value with non-ASCII bytes may match where the buffer
// search cannot see it, so those rows are decided by match, the row by row
// predicate. The buffer search never matches wrongly, since the needle's
// ASCII bytes are never part of a multibyte character.
func (k *Kernel) containsFoldScan(v *Vec, out Bitset) {
	offs := v.Str.ValueOffsets()[v.Base : v.Base+v.N+1]
	all := v.Str.ValueOffsets()[0]
	data := v.Str.ValueBytes()
	scanRowsWith(data, offs, int(all), len(k.Needle), 0, out, k.Fold.index)
	if !k.Fold.wide {
		return
	}
	src := data[int(offs[0]-all):int(offs[v.N]-all)]
	if !hasNonASCII(src) {
		return
	}
	for i := 0; i < v.N; i++ {
		lo, hi := int(offs[i]-offs[0]), int(offs[i+1]-offs[0])
		if !isASCIIBytes(src[lo:hi]) && v.IsValid(i) && k.Match(v.StringAt(i)) {
			out.Set(i)
		}
	}
}

// zeroBytes has the high bit set in every byte of x that is zero; a byte
// above a zero byte may be flagged too, which callers verify.
func zeroBytes(x uint64) uint64 { return (x - ones) &^ x & highs }

func upperByte(c byte) byte {
	if c >= 'a' && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}

func equalFoldASCII(a, upper []byte) bool {
	for k, c := range a {
		if upperByte(c) != upper[k] {
			return false
		}
	}
	return true
}

// hasNonASCII reports whether b has a byte of 0x80 or above.
func hasNonASCII(b []byte) bool {
	var acc uint64
	i := 0
	for ; i+8 <= len(b); i += 8 {
		acc |= binary.LittleEndian.Uint64(b[i:])
	}
	for ; i < len(b); i++ {
		acc |= uint64(b[i])
	}
	return acc&highs != 0
}

// scanRows marks, in out, row first+r for every value r,
// data[offs[r]-base:offs[r+1]-base], that contains nb.
func scanRows(data []byte, offs []int32, base int, nb []byte, first int, out Bitset) {
	scanRowsWith(data, offs, base, len(nb), first, out, func(s []byte) int { return bytes.Index(s, nb) })
}

// scanRowsWith is scanRows with the search given: index returns the first
// match in s of a needle n bytes long, or -1. The values are searched back
// to back; each match is mapped to its row by walking the offsets forward,
// a match that crosses into the next value is not one, and after a match
// the search goes on from the next row.
func scanRowsWith(data []byte, offs []int32, base, n, first int, out Bitset, index func(s []byte) int) {
	rows := len(offs) - 1
	lo, hi := int(offs[0])-base, int(offs[rows])-base
	row := 0
	for pos := lo; pos < hi; {
		i := index(data[pos:hi])
		if i < 0 {
			return
		}
		p := pos + i
		for int(offs[row+1])-base <= p {
			row++
		}
		end := int(offs[row+1]) - base
		if p+n <= end {
			out.Set(first + row)
			pos = end
			continue
		}
		pos = p + 1
	}
}

const (
	ones  = 0x0101010101010101
	highs = 0x8080808080808080
)

func isASCIIBytes(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return false
		}
	}
	return true
}

// HasCode reports whether dictionary code c is in the set; codes outside
// the dictionary are not.
func (b Bitset) HasCode(c int32) bool {
	i := uint32(c) >> 6
	return i < uint32(len(b)) && b[i]&(1<<(uint32(c)&63)) != 0
}

// codeWord maps 64 dictionary codes to their entries' results, unrolled
// like rangeWord.
func codeWord(b *[64]int32, hit Bitset) uint64 {
	var word uint64
	for j := 0; j < 64; j += 8 {
		c0 := Bit(hit.HasCode(b[j]))
		c1 := Bit(hit.HasCode(b[j+1]))
		c2 := Bit(hit.HasCode(b[j+2]))
		c3 := Bit(hit.HasCode(b[j+3]))
		c4 := Bit(hit.HasCode(b[j+4]))
		c5 := Bit(hit.HasCode(b[j+5]))
		c6 := Bit(hit.HasCode(b[j+6]))
		c7 := Bit(hit.HasCode(b[j+7]))
		word |= (c0 | c1<<1 | c2<<2 | c3<<3 | c4<<4 | c5<<5 | c6<<6 | c7<<7) << uint(j)
	}
	return word
}

// BatchRows is how many rows a kernel runs between cancellation checks; a
// multiple of 64 so that batches split bitsets on word boundaries. A
// dictionary of more entries is evaluated like a plain column.
const BatchRows = 1 << 16

// A Runner evaluates a kernel over a whole view into out, as Kernel.Eval
// does: the engine's runs it in batches spread over the cores.
type Runner interface {
	Run(k *Kernel, v *Vec, out Bitset)
}

// DictHits evaluates the string predicate once per dictionary entry of v.
// A large dictionary (one entry per customer, say) is evaluated like a
// plain column, through run when it is not nil, with the buffer-wide
// search for contains.
func (k *Kernel) DictHits(v *Vec, run Runner) Bitset {
	hit := NewBitset(v.Dict.Len())
	if k.Needle != "" || v.Dict.Len() > BatchRows {
		if dv, err := Of(schema.String, v.Dict); err == nil {
			positive := *k
			positive.Negate, positive.Hit = false, nil
			if run != nil {
				run.Run(&positive, dv, hit)
				return hit
			}
			positive.Eval(dv, hit)
			return hit
		}
	}
	for i := 0; i < v.Dict.Len(); i++ {
		if v.Dict.IsValid(i) && k.Match(v.Dict.Value(i)) {
			hit.Set(i)
		}
	}
	return hit
}

// Prepare returns the kernel to run over the batches of v: for a
// dictionary column, a copy holding the per-entry results (DictHits, with
// run), so that they are computed once per column rather than once per
// batch.
func (k *Kernel) Prepare(v *Vec, run Runner) *Kernel {
	if k.Kind != KindStrings || v.Dict == nil {
		return k
	}
	kk := *k
	kk.Hit = k.DictHits(v, run)
	return &kk
}

// Bit converts a comparison result to 0 or 1 without a branch, so that
// kernels with unpredictable outcomes do not pay for mispredictions.
func Bit(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
