package column

import "encoding/binary"

// Affix tests startsWith and endsWith on plain string columns in place:
// the bytes of each value where the affix would sit are compared with it a
// word at a time, without building a string per row. With fold the affix is
// ASCII and folded (letters upper case), and a letter matches in either
// case (see FoldNeedle); it is used only when no non-ASCII character folds
// to one of the affix's letters, so that a value matches under simple case
// folding exactly when its first (last) bytes are ASCII and match.
type Affix struct {
	s   []byte // the affix, letters upper-cased when fold
	end bool   // endsWith, else startsWith
	// The region where the affix would sit is tested through two words,
	// its first and its last eight bytes: a word x of the value matches
	// when (x|or)^eq has no bits under mask. Shorter than eight bytes, the
	// region is read as the eight bytes that end (endsWith) or start
	// (startsWith) with it, and the mask keeps the region's bytes.
	or0, eq0, mask0 uint64
	or1, eq1        uint64
	fold            bool
}

// NewAffix returns the test of startsWith (endsWith with end) for the
// affix s, already folded (letters upper case) with fold.
func NewAffix(s string, end, fold bool) *Affix {
	a := &Affix{s: []byte(s), end: end, fold: fold}
	n := len(s)
	switch {
	case n == 0:
		// Every value starts and ends with the empty string.
	case n >= 8:
		a.or0, a.eq0 = a.pattern(a.s[:8])
		a.or1, a.eq1 = a.pattern(a.s[n-8:])
		a.mask0 = ^uint64(0)
	case end:
		// The region is the window's last n bytes, its high bytes.
		or, eq := a.pattern(a.s)
		shift := uint(8*(8-n)) & 63
		a.or0, a.eq0, a.mask0 = or<<shift, eq<<shift, ^uint64(0)<<shift
	default:
		a.or0, a.eq0 = a.pattern(a.s)
		a.mask0 = 1<<(8*uint(n)) - 1
	}
	return a
}

// pattern returns the or and eq words that test up to eight bytes against
// b, low byte first.
func (a *Affix) pattern(b []byte) (or, eq uint64) {
	for i, c := range b {
		o, e := uint64(0), uint64(c)
		if a.fold && c >= 'A' && c <= 'Z' {
			o, e = 0x20, uint64(c|0x20)
		}
		or |= o << (8 * i)
		eq |= e << (8 * i)
	}
	return or, eq
}

// scan marks the rows of a plain string column that have the affix. Null
// rows may be marked: the caller masks them.
func (a *Affix) scan(v *Vec, out Bitset) {
	offs := v.Str.ValueOffsets()[v.Base : v.Base+v.N+1]
	base := int(v.Str.ValueOffsets()[0])
	data := v.Str.ValueBytes()
	n := len(a.s)
	switch {
	case n == 0 || n > 16 || len(data) < max(n, 8):
		a.scanEach(offs, base, data, out)
		return
	case n < 8:
		a.scanShort(offs, base, data, out)
		return
	}
	// Branch free: whether a value has the affix is unpredictable. A value
	// shorter than the affix is tested at a position clamped into the
	// buffer, and its result dropped.
	if a.end {
		affixEnds(offs, base, data, n, a.or0, a.eq0, a.or1, a.eq1, out)
	} else {
		affixStarts(offs, base, data, n, a.or0, a.eq0, a.or1, a.eq1, out)
	}
}

// affixEnds marks in out the values of offs (from base in data) whose
// last n bytes, 8 <= n <= 16 <= len(data), read as two words x (the
// first eight) and y (the last eight), have (x|or0)^eq0 and (y|or1)^eq1
// zero. Its loop keeps its few values in registers: one offset load and
// two data loads per value.
func affixEnds(offs []int32, base int, data []byte, n int, or0, eq0, or1, eq1 uint64, out Bitset) {
	last := len(data) - n
	data = data[:last+n]
	prev := int(offs[0])
	rows := offs[1:]
	for w := 0; w*64 < len(rows); w++ {
		var word uint64
		for j, o := range rows[w*64 : w*64+min(64, len(rows)-w*64)] {
			hi := int(o)
			long := Bit(hi-prev >= n)
			prev = hi
			at := min(max(hi-base-n, 0), last)
			tail := data[at : at+n]
			x := binary.LittleEndian.Uint64(tail)
			y := binary.LittleEndian.Uint64(tail[len(tail)-8:])
			word |= long & Bit(((x|or0)^eq0)|((y|or1)^eq1) == 0) << (uint(j) & 63)
		}
		out[w] = word
	}
}

// affixStarts is affixEnds for the first n bytes of each value.
func affixStarts(offs []int32, base int, data []byte, n int, or0, eq0, or1, eq1 uint64, out Bitset) {
	last := len(data) - n
	lo := int(offs[0])
	rows := offs[1:]
	for w := 0; w*64 < len(rows); w++ {
		var word uint64
		for j, o := range rows[w*64 : w*64+min(64, len(rows)-w*64)] {
			hi := int(o)
			long := Bit(hi-lo >= n)
			at := min(max(lo-base, 0), last)
			lo = hi
			head := data[at : at+n]
			x := binary.LittleEndian.Uint64(head)
			y := binary.LittleEndian.Uint64(head[len(head)-8:])
			word |= long & Bit(((x|or0)^eq0)|((y|or1)^eq1) == 0) << (uint(j) & 63)
		}
		out[w] = word
	}
}

// scanShort is scan for affixes of one to seven bytes in a buffer of at
// least eight: each value's region is read as the eight bytes that end
// (endsWith) or start (startsWith) with it, and a window that would leave
// the buffer, at its ends only, is tested by at.
func (a *Affix) scanShort(offs []int32, base int, data []byte, out Bitset) {
	n := len(a.s)
	or0, eq0, mask0 := a.or0, a.eq0, a.mask0
	shift := 0 // from the region's first byte to the window's
	if a.end {
		shift = n - 8
	}
	last := len(data) - 8
	lo := int(offs[0]) - base
	rows := offs[1:]
	for w := 0; w*64 < len(rows); w++ {
		var word uint64
		for j, o := range rows[w*64 : w*64+min(64, len(rows)-w*64)] {
			hi := int(o) - base
			from := lo
			if a.end {
				from = hi - n
			}
			long := hi-lo >= n
			lo = hi
			at := from + shift
			var hit bool
			if uint(at) <= uint(last) {
				hit = ((binary.LittleEndian.Uint64(data[at:at+8])|or0)^eq0)&mask0 == 0
			} else if long {
				hit = a.at(data, from)
			}
			word |= Bit(long && hit) << (uint(j) & 63)
		}
		out[w] = word
	}
}

// scanEach is scan for the empty affix, affixes longer than 16 bytes, and
// buffers shorter than the affix or eight bytes, a value at a time.
func (a *Affix) scanEach(offs []int32, base int, data []byte, out Bitset) {
	n := len(a.s)
	for w := 0; w*64 < len(offs)-1; w++ {
		var word uint64
		o := offs[w*64 : w*64+min(64, len(offs)-1-w*64)+1]
		for j := 0; j+1 < len(o); j++ {
			lo, hi := int(o[j])-base, int(o[j+1])-base
			if hi-lo < n {
				continue
			}
			if a.end {
				lo = hi - n
			}
			word |= Bit(a.at(data, lo)) << uint(j)
		}
		out[w] = word
	}
}

// at reports whether data[lo:lo+len(a.s)] holds the affix.
func (a *Affix) at(data []byte, lo int) bool {
	n := len(a.s)
	if n >= 8 {
		x := binary.LittleEndian.Uint64(data[lo:])
		y := binary.LittleEndian.Uint64(data[lo+n-8:])
		if ((x|a.or0)^a.eq0)|((y|a.or1)^a.eq1) != 0 {
			return false
		}
		return n <= 16 || a.equal(data[lo+8:lo+n-8], a.s[8:n-8])
	}
	// A window of eight bytes around the region, inside the buffer.
	from := lo
	if a.end {
		from = lo + n - 8
	}
	if from < 0 || from+8 > len(data) {
		return a.equal(data[lo:lo+n], a.s)
	}
	x := binary.LittleEndian.Uint64(data[from:])
	return ((x|a.or0)^a.eq0)&a.mask0 == 0
}

// equal compares b with the affix bytes s, folding ASCII letters with fold.
func (a *Affix) equal(b, s []byte) bool {
	if !a.fold {
		return string(b) == string(s)
	}
	return equalFoldASCII(b, s)
}
