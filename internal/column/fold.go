package column

import (
	"encoding/binary"
	"math/bits"
	"unicode"
	"unicode/utf8"
)

// Search under ASCII case folding, for contains with ignoreCase. A position
// of the value buffer is a candidate when the needle's first byte and its
// last byte match there; candidates, which are rare, are verified in full.
// The candidates are found 32 positions at a time by foldBlocks: with AVX2
// on amd64 (fold_amd64.s), or eight positions to a 64-bit word elsewhere
// (foldBlocksGo).

// FoldNeedle is a needle of ASCII letters and symbols, prepared for a search
// under ASCII case folding.
type FoldNeedle struct {
	upper []byte // the needle, letters in upper case
	// A byte b matches the needle's first (last) byte when
	// b|or0 == eq0 (b|orN == eqN): a letter is matched in either case by
	// setting bit 0x20, lower-casing it; other bytes are matched as they
	// are. Bytes of 0x80 and above never match.
	or0, eq0, orN, eqN byte
	// wide reports whether the needle has a letter (k or s) that a
	// non-ASCII character folds to.
	wide bool
}

// NewFoldNeedle prepares upper, ASCII with its letters in upper case, for
// a search under ASCII case folding.
func NewFoldNeedle(upper string) *FoldNeedle {
	f := &FoldNeedle{upper: []byte(upper)}
	f.or0, f.eq0 = foldTest(upper[0])
	f.orN, f.eqN = foldTest(upper[len(upper)-1])
	f.wide = FoldsWide(upper)
	return f
}

// FoldsWide reports whether a non-ASCII character folds to one of the
// characters of the ASCII string s (the Kelvin sign to k, the long s to s).
func FoldsWide(s string) bool {
	for i := 0; i < len(s); i++ {
		for r := unicode.SimpleFold(rune(s[i])); r != rune(s[i]); r = unicode.SimpleFold(r) {
			if r >= utf8.RuneSelf {
				return true
			}
		}
	}
	return false
}

func foldTest(c byte) (or, eq byte) {
	if c >= 'A' && c <= 'Z' {
		return 0x20, c | 0x20
	}
	return 0, c
}

// foldBlocks scans s for candidates from position i on, 32 positions at a
// time, while the block and the needle's last byte after it (last bytes on)
// fit in s. It returns the start of the first block with a candidate and
// the block's candidates, bit k for position at+k; or, when no block has
// one, the first position it did not scan and 0. A flagged position may be
// a false candidate; none is missed.
var foldBlocks = foldBlocksGo

// index returns the index of the first match of the needle in s under ASCII
// case folding, or -1.
func (f *FoldNeedle) index(s []byte) int {
	n := len(f.upper)
	i := 0
	for {
		at, mask := foldBlocks(s, i, n-1, f.or0, f.eq0, f.orN, f.eqN)
		if mask == 0 {
			i = at
			break
		}
		for ; mask != 0; mask &= mask - 1 {
			j := at + bits.TrailingZeros32(mask)
			if equalFoldASCII(s[j:j+n], f.upper) {
				return j
			}
		}
		i = at + 32
	}
	for ; i+n <= len(s); i++ {
		if equalFoldASCII(s[i:i+n], f.upper) {
			return i
		}
	}
	return -1
}

// foldBlocksGo is foldBlocks eight positions to a 64-bit word.
func foldBlocksGo(s []byte, i, last int, or0, eq0, orN, eqN byte) (at int, mask uint32) {
	o0, e0 := uint64(or0)*ones, uint64(eq0)*ones
	oN, eN := uint64(orN)*ones, uint64(eqN)*ones
	for ; i+last+32 <= len(s); i += 32 {
		a := (*[32]byte)(s[i:])
		b := (*[32]byte)(s[i+last:])
		m0 := candidates(a[0:8], b[0:8], o0, e0, oN, eN)
		m1 := candidates(a[8:16], b[8:16], o0, e0, oN, eN)
		m2 := candidates(a[16:24], b[16:24], o0, e0, oN, eN)
		m3 := candidates(a[24:32], b[24:32], o0, e0, oN, eN)
		if m0|m1|m2|m3 != 0 {
			return i, highBits(m0) | highBits(m1)<<8 | highBits(m2)<<16 | highBits(m3)<<24
		}
	}
	return i, 0
}

// candidates has the high bit set in byte j when position j may hold a
// match: first and last are the eight bytes at the position and at the
// position of the needle's last byte, tested as foldNeedle describes, with
// the tests' bytes eight times over. A flagged byte may be a false
// candidate (see zeroBytes); none is missed.
func candidates(first, last []byte, or0, eq0, orN, eqN uint64) uint64 {
	a := binary.LittleEndian.Uint64(first)
	b := binary.LittleEndian.Uint64(last)
	return zeroBytes((a|or0)^eq0) & zeroBytes((b|orN)^eqN)
}

// highBits gathers the high bits of the eight bytes of m, the only bits
// set, into the low eight bits, byte k to bit k.
func highBits(m uint64) uint32 {
	return uint32((m >> 7) * 0x0102040810204080 >> 56)
}
