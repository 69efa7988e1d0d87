package engine

import (
	"math/bits"

	"github.com/RoaringBitmap/roaring/v2"
)

// bitset is a dense set of row or customer ids: bit i of word i/64. The
// engine keeps intermediate results dense because AND, OR and NOT over a
// universe of a few million ids are a few hundred microseconds of straight
// word loops, with no allocation per operation (DESIGN.md, "Dense where
// dense is faster"). Bits past the universe size are kept zero.
type bitset []uint64

func newBitset(n int) bitset { return make(bitset, (n+63)/64) }

func fullBitset(n int) bitset {
	b := newBitset(n)
	b.fill(n)
	return b
}

// fill sets the bits below n and clears the others.
func (b bitset) fill(n int) {
	for i := range b {
		b[i] = ^uint64(0)
	}
	b.trim(n)
}

// trim clears the bits at and past n.
func (b bitset) trim(n int) {
	if r := n % 64; r != 0 && len(b) > 0 {
		b[len(b)-1] &= (uint64(1) << r) - 1
	}
}

func (b bitset) set(i int)       { b[i>>6] |= 1 << (uint(i) & 63) }
func (b bitset) has(i int) bool  { return b[i>>6]&(1<<(uint(i)&63)) != 0 }
func (b bitset) and(o bitset)    { and(b, o) }
func (b bitset) or(o bitset)     { or(b, o) }
func (b bitset) andNot(o bitset) { andNot(b, o) }
func (b bitset) clone() bitset   { return append(bitset(nil), b...) }
func (b bitset) not(n int)       { not(b); b.trim(n) }
func (b bitset) empty() bool     { return allZero(b) }
func (b bitset) count() (c int) {
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

// forEach calls f with every id in the set, in increasing order.
func (b bitset) forEach(f func(i int)) {
	for wi, w := range b {
		for w != 0 {
			t := bits.TrailingZeros64(w)
			f(wi<<6 | t)
			w &= w - 1
		}
	}
}

// toRoaring returns the set as a new roaring bitmap, run-optimized.
func (b bitset) toRoaring() *roaring.Bitmap {
	rb := roaring.FromDense(b, true)
	rb.RunOptimize()
	return rb
}

// fromRoaring returns a dense copy of rb over a universe of n ids; ids at or
// past n are dropped.
func fromRoaring(rb *roaring.Bitmap, n int) bitset {
	b := newBitset(n)
	it := rb.Iterator()
	for it.HasNext() {
		v := it.Next()
		if int(v) >= n {
			break
		}
		b.set(int(v))
	}
	return b
}
