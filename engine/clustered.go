package engine

import (
	"math/bits"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/storage"
)

// Kernels over rows clustered by customer. When a related entity's rows
// are in customer order (storage.Links.Sorted), customer c's rows are the
// range starts[c] to starts[c+1]-1, so what a row mask says about a
// customer (is one of its rows set, are all, how many) is read off the
// mask's words over that range, never from the links row by row:
//
//   - with a dense mask, as the difference of two ranks of the mask (the
//     number of set bits before each end of the range): one pass over the
//     customers, with no branch that depends on the data;
//   - with a sparse one (fewer set rows than customers), by visiting its
//     set rows, the links read for those rows only.

// rowRank counts the set bits of a row mask before any row.
type rowRank struct {
	mask   column.Bitset // nil: every row is set
	before []uint32      // before[w]: set bits in words 0 to w-1
}

// newRowRank returns the ranks of mask (nil: every row set).
func newRowRank(mask column.Bitset) rowRank {
	if mask == nil {
		return rowRank{}
	}
	before := make([]uint32, len(mask)+1)
	var n uint32
	for w, x := range mask {
		before[w] = n
		n += uint32(bits.OnesCount64(x))
	}
	before[len(mask)] = n
	return rowRank{mask: mask, before: before}
}

// rankAt returns the number of bits of mask set before row p, with before
// mask's word ranks; p is at most the mask's length in bits.
func rankAt(mask column.Bitset, before []uint32, p uint32) uint32 {
	w := p >> 6
	var x uint64
	if int(w) < len(mask) { // else p is the mask's end and no bit is added
		x = mask[w]
	}
	return before[w] + uint32(bits.OnesCount64(x&(1<<(p&63)-1)))
}

// setBefore returns the number of bits of mask set among rows [0, end).
func setBefore(mask column.Bitset, end int) int {
	n := 0
	for _, x := range mask[:end>>6] {
		n += bits.OnesCount64(x)
	}
	if end&63 != 0 {
		n += bits.OnesCount64(mask[end>>6] & column.LenMask(end&63))
	}
	return n
}

// clusteredAny returns the customers with a row set in mask (nil: every
// row), over links whose rows are clustered by customer (starts is
// l.Starts()).
func (ec *evalCtx) clusteredAny(l *storage.Links, starts []uint32, mask column.Bitset) (column.Bitset, error) {
	n := ec.n
	if mask == nil || n == 0 {
		return ec.clusteredByRank(starts, rowRank{}, false)
	}
	end := int(starts[n]) // the rows of customers; NoCustomer rows follow
	if setBefore(mask, end) >= n {
		return ec.clusteredByRank(starts, newRowRank(mask), false)
	}
	// Fewer set rows than customers: visit the set rows. (Skipping to the
	// end of each row's customer would make every visit wait for the
	// previous one's read of the links; visiting each set row lets those
	// reads overlap.)
	out := column.NewBitset(n)
	cust := l.Customer
	err := ec.eachPart(l, end, func(lo, hi int) error {
		hi = min(hi, end)
		for wi := lo >> 6; wi<<6 < hi; wi++ {
			for w := maskWord(mask, wi, lo, hi); w != 0; w &= w - 1 {
				c := cust[wi<<6|bits.TrailingZeros64(w)]
				out[c>>6] |= 1 << (uint32(c) & 63)
			}
			if wi&1023 == 1023 {
				if err := ec.err(); err != nil {
					return err
				}
			}
		}
		return ec.err()
	})
	return out, err
}

// clusteredAll returns the customers with at least one row whose rows are
// all set in mask (nil: every row).
func (ec *evalCtx) clusteredAll(l *storage.Links, starts []uint32, mask column.Bitset) (column.Bitset, error) {
	n := ec.n
	var rr rowRank
	if mask != nil && n > 0 {
		end := int(starts[n])
		if unset := end - setBefore(mask, end); unset < n {
			// Few rows fail: the customers with rows, less those of a
			// failing row.
			has, err := ec.clusteredAny(l, starts, nil)
			if err != nil {
				return nil, err
			}
			bad := mask.Clone()
			bad.Not(end)
			failing, err := ec.clusteredAny(l, starts, bad)
			if err != nil {
				return nil, err
			}
			has.AndNot(failing)
			return has, nil
		}
		rr = newRowRank(mask)
	}
	return ec.clusteredByRank(starts, rr, true)
}

// clusteredByRank returns the customers with a row set in rr's mask, or
// with all, at least one, set.
func (ec *evalCtx) clusteredByRank(starts []uint32, rr rowRank, all bool) (column.Bitset, error) {
	n := ec.n
	out := column.NewBitset(n)
	if n == 0 {
		return out, ec.err()
	}
	mask, before := rr.mask, rr.before
	err := ec.eachIndexPart(n, func(from, to int) error {
		var prev uint32
		if mask != nil {
			prev = rankAt(mask, before, starts[from])
		}
		for w := from >> 6; w<<6 < to; w++ {
			if w&255 == 255 {
				if err := ec.err(); err != nil {
					return err
				}
			}
			lo, hi := w<<6, min(to, w<<6+64)
			var word uint64
			switch {
			case mask == nil:
				for c := lo; c < hi; c++ {
					word |= column.Bit(starts[c+1] != starts[c]) << uint(c&63)
				}
			case all:
				for c := lo; c < hi; c++ {
					end := starts[c+1]
					next := rankAt(mask, before, end)
					word |= column.Bit(next != prev && next-prev == end-starts[c]) << uint(c&63)
					prev = next
				}
			default:
				for c := lo; c < hi; c++ {
					next := rankAt(mask, before, starts[c+1])
					word |= column.Bit(next != prev) << uint(c&63)
					prev = next
				}
			}
			out[w] = word
		}
		return ec.err()
	})
	return out, err
}

// clusteredCounts sets cnt[c], for every customer c, to the number of its
// rows set in mask (nil: every row), over links whose rows are clustered
// by customer. A sparse mask's rows are counted one by one, into cnt as
// given: zeros.
func (ec *evalCtx) clusteredCounts(l *storage.Links, starts []uint32, mask column.Bitset, cnt []int64) error {
	n := ec.n
	if n == 0 {
		return ec.err()
	}
	var before []uint32
	if mask != nil {
		end := int(starts[n])
		if setBefore(mask, end) < n/4 {
			cust := l.Customer
			return ec.eachPart(l, end, func(lo, hi int) error {
				hi = min(hi, end)
				for wi := lo >> 6; wi<<6 < hi; wi++ {
					for w := maskWord(mask, wi, lo, hi); w != 0; w &= w - 1 {
						cnt[cust[wi<<6|bits.TrailingZeros64(w)]]++
					}
					if wi&1023 == 1023 {
						if err := ec.err(); err != nil {
							return err
						}
					}
				}
				return ec.err()
			})
		}
		before = newRowRank(mask).before
	}
	return ec.eachIndexPart(n, func(from, to int) error {
		var prev uint32
		if mask != nil {
			prev = rankAt(mask, before, starts[from])
		}
		for c := from; c < to; c++ {
			if c&16383 == 16383 {
				if err := ec.err(); err != nil {
					return err
				}
			}
			end := starts[c+1]
			if mask == nil {
				cnt[c] = int64(end - starts[c])
				continue
			}
			next := rankAt(mask, before, end)
			cnt[c] = int64(next - prev)
			prev = next
		}
		return ec.err()
	})
}
