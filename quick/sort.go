package quick

import (
	"math"
	"math/bits"
	"runtime"
	"slices"
	"sync"
	"unsafe"
)

// radixMin is the length below which a comparison sort beats the radix
// sort's fixed cost of clearing and summing its histograms.
const radixMin = 2048

const signBit = 1 << 63

// Digits of the radix sort: 6 passes of 11 bits cover 64-bit keys. On
// 1M keys this measured faster than 8 passes over bytes, although each
// pass writes to 2048 places instead of 256.
const (
	digitBits = 11
	digits    = (64 + digitBits - 1) / digitBits
	digitMask = 1<<digitBits - 1
)

// sortInt64s sorts xs ascending. Statistics sort a whole column once, so
// an LSD radix sort pays: one pass computes every digit's histogram, and a
// digit that is the same for every value (the high bits of ages, days or
// recent timestamps) is skipped, so a column of small integers takes one
// or two passes instead of a comparison sort's log n.
func sortInt64s(xs []int64) {
	if len(xs) < radixMin {
		slices.Sort(xs)
		return
	}
	// Flipping the sign bit maps int64 order to uint64 order; the keys
	// are computed in place, in the same memory.
	keys := unsafe.Slice((*uint64)(unsafe.Pointer(&xs[0])), len(xs))
	for i, k := range keys {
		keys[i] = k ^ signBit
	}
	radixSort(keys)
	for i, k := range keys {
		keys[i] = k ^ signBit
	}
}

// floatKey maps a float64 to a uint64 with the same order: negative
// numbers have every bit flipped, others only the sign bit. -0 sorts just
// before 0, which compare equal, so comparisons on the result still see
// one run of zeros.
func floatKey(f float64) uint64 {
	k := math.Float64bits(f)
	return k ^ (uint64(int64(k)>>63) | signBit)
}

// floatOfKey inverts floatKey.
func floatOfKey(k uint64) float64 {
	return math.Float64frombits(k ^ (uint64(int64(^k)>>63) | signBit))
}

// sortFloat64s sorts xs, which holds no NaN, ascending; see sortInt64s.
func sortFloat64s(xs []float64) {
	if len(xs) < radixMin {
		slices.Sort(xs)
		return
	}
	keys := unsafe.Slice((*uint64)(unsafe.Pointer(&xs[0])), len(xs))
	for i, x := range xs {
		keys[i] = floatKey(x)
	}
	radixSort(keys)
	for i, k := range keys {
		xs[i] = floatOfKey(k)
	}
}

// parallelMin is the length from which radixSort spreads each pass over
// several goroutines.
const parallelMin = 1 << 17

// radixSort sorts keys ascending, least significant digit first. Keys
// are taken relative to the least one, so that the digits above the
// span of the values (most of them, for ages or days) cost nothing, and a
// digit shared by every key is skipped.
//
// Large inputs are split into one chunk per core: each pass counts every
// chunk's digits, gives each (digit, chunk) pair its place so that equal
// digits keep their order (chunk by chunk), and scatters the chunks in
// parallel.
func radixSort(keys []uint64) {
	n := len(keys)
	lo, hi := keys[0], keys[0]
	for _, k := range keys {
		lo, hi = min(lo, k), max(hi, k)
	}
	if lo == hi {
		return
	}
	used := (bits.Len64(hi-lo) + digitBits - 1) / digitBits
	workers := 1
	if n >= parallelMin {
		workers = min(runtime.GOMAXPROCS(0), n/(parallelMin/2), 16)
	}
	bounds := make([]int, workers+1)
	for w := range bounds {
		bounds[w] = w * n / workers
	}
	counts := make([][1 << digitBits]int, workers)
	parallel := func(f func(w int)) {
		if workers == 1 {
			f(0)
			return
		}
		var wg sync.WaitGroup
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				f(w)
			}()
		}
		wg.Wait()
	}
	src, dst := keys, make([]uint64, n)
	for d := range used {
		shift := uint(d * digitBits)
		parallel(func(w int) {
			c := &counts[w]
			clear(c[:])
			for _, k := range src[bounds[w]:bounds[w+1]] {
				c[((k-lo)>>shift)&digitMask]++
			}
		})
		digit := ((src[0] - lo) >> shift) & digitMask
		total := 0
		for w := range workers {
			total += counts[w][digit]
		}
		if total == n {
			continue // every key has this digit
		}
		// counts[w][b] becomes where chunk w writes its first key of digit b.
		pos := 0
		for b := range 1 << digitBits {
			for w := range workers {
				counts[w][b], pos = pos, pos+counts[w][b]
			}
		}
		parallel(func(w int) {
			c := &counts[w]
			for _, k := range src[bounds[w]:bounds[w+1]] {
				b := ((k - lo) >> shift) & digitMask
				dst[c[b]] = k
				c[b]++
			}
		})
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
}
