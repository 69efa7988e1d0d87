package column

import (
	"math/bits"

	"github.com/RoaringBitmap/roaring/v2"
)

// Bitset is a dense set of row or customer ids: bit i of word i/64. The
// engine keeps intermediate results dense because AND, OR and NOT over a
// universe of a few million ids are a few hundred microseconds of straight
// word loops, with no allocation per operation (DESIGN.md, "Dense where
// dense is faster"). Bits past the universe size are kept zero.
type Bitset []uint64

// NewBitset returns an empty set over a universe of n ids.
func NewBitset(n int) Bitset { return make(Bitset, (n+63)/64) }

// FullBitset returns the set of all n ids of a universe of n.
func FullBitset(n int) Bitset {
	b := NewBitset(n)
	b.Fill(n)
	return b
}

// Fill sets the bits below n and clears the others.
func (b Bitset) Fill(n int) {
	for i := range b {
		b[i] = ^uint64(0)
	}
	b.Trim(n)
}

// Trim clears the bits at and past n.
func (b Bitset) Trim(n int) {
	if r := n % 64; r != 0 && len(b) > 0 {
		b[len(b)-1] &= (uint64(1) << r) - 1
	}
}

// Set adds id i to the set.
func (b Bitset) Set(i int) { b[i>>6] |= 1 << (uint(i) & 63) }

// Has reports whether id i is in the set.
func (b Bitset) Has(i int) bool { return b[i>>6]&(1<<(uint(i)&63)) != 0 }

// And keeps in b the ids that are also in o, which is at least as long.
func (b Bitset) And(o Bitset) { and(b, o) }

// Or adds to b the ids of o, which is at least as long.
func (b Bitset) Or(o Bitset) { or(b, o) }

// AndNot removes from b the ids of o, which is at least as long.
func (b Bitset) AndNot(o Bitset) { andNot(b, o) }

// Clone returns a copy of b.
func (b Bitset) Clone() Bitset { return append(Bitset(nil), b...) }

// Not complements b within a universe of n ids.
func (b Bitset) Not(n int) { not(b); b.Trim(n) }

// Empty reports whether the set has no id.
func (b Bitset) Empty() bool { return allZero(b) }

// Count returns how many ids the set has.
func (b Bitset) Count() (c int) {
	for _, w := range b {
		c += bits.OnesCount64(w)
	}
	return c
}

func and(dst, src []uint64) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] &= src[i]
	}
}

func or(dst, src []uint64) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] |= src[i]
	}
}

func andNot(dst, src []uint64) {
	src = src[:len(dst)]
	for i := range dst {
		dst[i] &^= src[i]
	}
}

func not(dst []uint64) {
	for i := range dst {
		dst[i] = ^dst[i]
	}
}

func allZero(b []uint64) bool {
	for _, w := range b {
		if w != 0 {
			return false
		}
	}
	return true
}

// ForEach calls f with every id in the set, in increasing order.
func (b Bitset) ForEach(f func(i int)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			f(wi<<6 | t)
			w &= w - 1
		}
	}
}

// ToRoaring returns the set as a new roaring bitmap, run-optimized.
func (b Bitset) ToRoaring() *roaring.Bitmap {
	rb := roaring.FromDense(b, true)
	rb.RunOptimize()
	return rb
}

// FromRoaring returns a dense copy of rb over a universe of n ids; ids at or
// past n are dropped.
func FromRoaring(rb *roaring.Bitmap, n int) Bitset {
	b := NewBitset(n)
	if rb.IsEmpty() {
		return b
	}
	if int64(rb.Maximum()) < int64(n) {
		rb.WriteDenseTo(b) // container by container: a copy per full one
		return b
	}
	it := rb.Iterator()
	for it.HasNext() {
		v := it.Next()
		if int(v) >= n {
			break
		}
		b.Set(int(v))
	}
	return b
}

// LenMask has the low n bits set, 0 <= n <= 64.
func LenMask(n int) uint64 {
	if n >= 64 {
		return ^uint64(0)
	}
	return 1<<uint(n) - 1
}

// BitsAt returns the n bits of b from bit lo, n at most 64, low bit first.
func (b Bitset) BitsAt(lo, n int) uint64 {
	w, s := lo>>6, uint(lo)&63
	x := b[w] >> s
	if s != 0 && int(s)+n > 64 {
		x |= b[w+1] << (64 - s)
	}
	return x & LenMask(n)
}

// AnyIn reports whether b has a bit set in [lo, hi).
func (b Bitset) AnyIn(lo, hi int) bool {
	for lo < hi {
		n := min(64, hi-lo)
		if b.BitsAt(lo, n) != 0 {
			return true
		}
		lo += n
	}
	return false
}
