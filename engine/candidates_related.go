package engine

import (
	"math/bits"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// Candidate restriction of related conditions, customer by customer. Under
// a running conjunction (candidates.go), a related condition over rows clustered by
// customer can visit only the candidates: each candidate's rows are tested
// against the where condition 64 at a time, and counted, summed or matched
// in the same visit, while they are in cache. The cost is a few cache
// misses per candidate instead of a pass over every row, so it pays while
// the candidates are fewer than about r/(r+16) of the customers, with r the
// entity's rows per customer (relatedCandidateShare).

// denseWhereShare is the share of customers from which a related
// condition running customer by customer reads its where condition from
// the condition's mask over every row (rowNode.eval) rather than testing
// each candidate's rows (rowNode.words). With dates scanned from two bytes
// with SIMD (column.Narrow), the mask cost less than the candidates' own
// rows from 3% of the customers on at scale M (the suite's DormantVips,
// 2.9-3.3 ms against 3.7-3.8), and more at 0.05% (2.4-3.1 ms against
// 0.9-1.1; docs/performance.md).
const denseWhereShare = 0.01

// relatedCandidateShare is the default share of customers below which a
// related condition over rows rows runs customer by customer.
func relatedCandidateShare(rows, customers int) float64 {
	if customers == 0 {
		return 0
	}
	r := float64(rows) / float64(customers)
	return r / (r + 16)
}

// runsByCandidate reports whether the related condition can run customer by
// customer: any match, or an aggregate that aggregateByCandidate computes.
func (r *relatedNode) runsByCandidate() bool {
	return r.agg == nil || r.agg.aggregatesByCandidate()
}

// evalByCandidate evaluates the related condition for the customers of
// cand only, over rows clustered by customer (starts). The result is right for the
// customers of cand; others are left out.
func (r *relatedNode) evalByCandidate(ec *evalCtx, cand column.Bitset, starts []uint32) (column.Bitset, error) {
	ids := make([]uint32, 0, cand.Count())
	cand.ForEach(func(c int) { ids = append(ids, uint32(c)) })
	var where wordTest
	if r.where != nil {
		where = r.where.words(ec)
		if float64(len(ids)) >= denseWhereShare*float64(ec.n) {
			// Many candidates: their rows' values would be fetched from
			// all over the columns. The where condition's mask over every
			// row, from a scan of the narrow views, is read instead: an
			// eighth of the rows' bits per byte of a value.
			mask, err := r.where.eval(ec, r.rows)
			if err != nil {
				return nil, err
			}
			if a := r.agg; a != nil {
				if s := a.scaled(); s != nil && s.U16 != nil {
					return r.byCandidateHits(ec, ids, func() (*column.Vec, error) { return ec.sumScaledByCandidate(a, s, ids, starts, mask) })
				}
			}
			where = func(lo, n int) uint64 { return mask.BitsAt(lo, n) }
		}
	}
	if r.agg != nil {
		return r.byCandidateHits(ec, ids, func() (*column.Vec, error) { return ec.aggregateByCandidate(r.agg, ids, starts, where) })
	}
	// Matches by candidate index; parts split the indexes at multiples of
	// 64, so that parts write to different words.
	hits := column.NewBitset(len(ids))
	err := ec.eachIndexPart(len(ids), func(from, to int) error {
		for i := from; i < to; i++ {
			if i&1023 == 1023 {
				if err := ec.err(); err != nil {
					return err
				}
			}
			c := ids[i]
			if r.matchAt(where, int(starts[c]), int(starts[c+1])) {
				hits.Set(i)
			}
		}
		return ec.err()
	})
	if err != nil {
		return nil, err
	}
	return candidateSet(ec.n, ids, hits), nil
}

// byCandidateHits compares the aggregate that agg computes, by candidate
// index, and returns the candidates ids whose values pass.
func (r *relatedNode) byCandidateHits(ec *evalCtx, ids []uint32, agg func() (*column.Vec, error)) (column.Bitset, error) {
	v, err := agg()
	if err != nil {
		return nil, err
	}
	hits := column.NewBitset(len(ids))
	if err := ec.run(r.cmp.bind(ec.asOf), v, hits); err != nil {
		return nil, err
	}
	return candidateSet(ec.n, ids, hits), nil
}

// candidateSet returns the customers ids[i] of the indexes i of hits.
func candidateSet(n int, ids []uint32, hits column.Bitset) column.Bitset {
	out := column.NewBitset(n)
	hits.ForEach(func(i int) { out.Set(int(ids[i])) })
	return out
}

// matchAt reports whether the customer whose rows are [lo, hi) matches the
// related condition without an aggregate.
func (r *relatedNode) matchAt(where wordTest, lo, hi int) bool {
	switch r.match {
	case segment.MatchAll:
		if lo == hi {
			return false
		}
		for p := lo; p < hi && where != nil; p += 64 {
			n := min(64, hi-p)
			if where(p, n) != column.LenMask(n) {
				return false
			}
		}
		return true
	case segment.MatchNone:
		return !anyRow(where, lo, hi)
	default:
		return anyRow(where, lo, hi)
	}
}

// anyRow reports whether one of the rows [lo, hi) passes where (nil: every
// row).
func anyRow(where wordTest, lo, hi int) bool {
	if where == nil {
		return lo < hi
	}
	for p := lo; p < hi; p += 64 {
		if where(p, min(64, hi-p)) != 0 {
			return true
		}
	}
	return false
}

// aggregatesByCandidate reports whether aggregateByCandidate computes the
// aggregate: count, the sum or average of a number, and the least or greatest integer, number,
// date or datetime.
func (a *aggSpec) aggregatesByCandidate() bool {
	switch a.fn {
	case segment.Count:
		return true
	case segment.Sum, segment.Avg:
		return a.attrType == schema.Number
	case segment.Min, segment.Max:
		return a.attr.F64 != nil || a.attr.I64 != nil || a.attr.I32 != nil
	}
	return false
}

// aggregateByCandidate computes the aggregate over rows clustered by
// customer (starts), customer by customer, in parallel: for the customers ids, the
// value of ids[i] at index i, or, with ids nil, for every customer. Each
// customer's rows are those where selects (nil: every row), visited in row
// order, so that sums are added in the same order as by aggregate. The
// result has aggregate's types: count an integer, sum a number (0 over no
// rows), avg, min and max null over no values.
func (ec *evalCtx) aggregateByCandidate(a *aggSpec, ids []uint32, starts []uint32, where wordTest) (*column.Vec, error) {
	n := len(ids)
	if ids == nil {
		n = ec.n
	}
	out := &column.Vec{N: n, Type: a.storageType}
	var cnts []int64
	if a.fn != segment.Sum {
		cnts = make([]int64, n)
	}
	attr, scaled := a.attr, a.scaled()
	isMax := a.fn == segment.Max
	switch {
	case a.fn == segment.Count:
		out.I64 = cnts
	case a.fn == segment.Sum || a.fn == segment.Avg || attr.F64 != nil:
		out.F64 = make([]float64, n)
	case attr.I64 != nil:
		out.I64 = make([]int64, n)
	default:
		out.I32 = make([]int32, n)
	}
	err := ec.eachIndexPart(n, func(from, to int) error {
		for i := from; i < to; i++ {
			if i&1023 == 1023 {
				if err := ec.err(); err != nil {
					return err
				}
			}
			c := i
			if ids != nil {
				c = int(ids[i])
			}
			lo, hi := int(starts[c]), int(starts[c+1])
			switch {
			case a.fn == segment.Count:
				cnts[i] = countRows(where, lo, hi)
			case a.fn == segment.Sum && scaled != nil:
				out.F64[i], _ = sumRowsScaled(where, attr, scaled, lo, hi)
			case a.fn == segment.Sum:
				out.F64[i], _ = sumRows(where, attr, lo, hi)
			case a.fn == segment.Avg && scaled != nil:
				var sum float64
				if sum, cnts[i] = sumRowsScaled(where, attr, scaled, lo, hi); cnts[i] > 0 {
					out.F64[i] = sum / float64(cnts[i]) // an exact sum: never an infinity
				}
			case a.fn == segment.Avg:
				var sum float64
				sum, cnts[i] = sumRows(where, attr, lo, hi)
				if cnts[i] > 0 {
					out.F64[i] = exact.AvgOfSum(sum, cnts[i], func() float64 { return exactMeanRows(where, attr, lo, hi) })
				}
			case out.F64 != nil:
				out.F64[i], cnts[i] = bestFloats(where, attr, attr.F64, lo, hi, isMax)
			case out.I64 != nil:
				out.I64[i], cnts[i] = bestInts(where, attr, attr.I64, lo, hi, isMax)
			default:
				out.I32[i], cnts[i] = bestInts(where, attr, attr.I32, lo, hi, isMax)
			}
		}
		return ec.err()
	})
	if err != nil {
		return nil, err
	}
	if a.fn == segment.Count || a.fn == segment.Sum {
		return out, nil
	}
	out.Valid = column.NewBitset(n)
	for i, c := range cnts {
		if c > 0 {
			out.Valid.Set(i)
		}
	}
	return out, nil
}

// selected returns the rows of [p, p+n) that where selects and, if attr is
// not nil, have a value.
func selected(where wordTest, attr *column.Vec, p, n int) uint64 {
	w := column.LenMask(n)
	if where != nil {
		w = where(p, n)
	}
	if attr != nil && attr.Valid != nil {
		w &= attr.Valid.BitsAt(p, n)
	}
	return w
}

// countRows counts the rows of [lo, hi) that where selects.
func countRows(where wordTest, lo, hi int) int64 {
	if where == nil {
		return int64(hi - lo)
	}
	var cnt int64
	for p := lo; p < hi; p += 64 {
		cnt += int64(bits.OnesCount64(where(p, min(64, hi-p))))
	}
	return cnt
}

// sumRows adds the number values of the selected rows of [lo, hi) in row
// order, and counts them.
func sumRows(where wordTest, attr *column.Vec, lo, hi int) (float64, int64) {
	var sum float64
	var cnt int64
	for p := lo; p < hi; p += 64 {
		for w := selected(where, attr, p, min(64, hi-p)); w != 0; w &= w - 1 {
			sum += attr.F64[p+bits.TrailingZeros64(w)]
			cnt++
		}
	}
	return sum, cnt
}

// sumRowsScaled is sumRows over the scaled view s of attr's values (read
// from two or four bytes a row, not eight), added as integers: the same
// sum, exact.
func sumRowsScaled(where wordTest, attr *column.Vec, s *column.Scaled, lo, hi int) (float64, int64) {
	var q, cnt int64
	for p := lo; p < hi; p += 64 {
		w := selected(where, attr, p, min(64, hi-p))
		cnt += int64(bits.OnesCount64(w))
		if s.U16 != nil {
			for ; w != 0; w &= w - 1 {
				q += int64(s.U16[p+bits.TrailingZeros64(w)])
			}
		} else {
			for ; w != 0; w &= w - 1 {
				q += int64(s.U32[p+bits.TrailingZeros64(w)])
			}
		}
	}
	return s.Float(q + cnt*s.Off), cnt
}

// sumScaledByCandidate is aggregateByCandidate for a sum or an average of
// a number attribute with a scaled view of two-byte integers, whose where
// condition is a mask over every row: each candidate's rows are read off
// the mask (with the attribute's validity) and the integers directly,
// without a call per word.
func (ec *evalCtx) sumScaledByCandidate(a *aggSpec, s *column.Scaled, ids, starts []uint32, mask column.Bitset) (*column.Vec, error) {
	sel := mask
	if valid := a.attr.Valid; valid != nil {
		sel = mask.Clone() // the mask may be a cached result
		sel.And(valid)
	}
	n := len(ids)
	out := &column.Vec{N: n, Type: a.storageType, F64: make([]float64, n)}
	avg := a.fn == segment.Avg
	if avg {
		out.Valid = column.NewBitset(n)
	}
	err := ec.eachIndexPart(n, func(from, to int) error {
		for i := from; i < to; i++ {
			if i&1023 == 1023 {
				if err := ec.err(); err != nil {
					return err
				}
			}
			c := ids[i]
			lo, hi := int(starts[c]), int(starts[c+1])
			var q, k int64
			for p := lo; p < hi; p += 64 {
				w := sel.BitsAt(p, min(64, hi-p))
				k += int64(bits.OnesCount64(w))
				for ; w != 0; w &= w - 1 {
					q += int64(s.U16[p+bits.TrailingZeros64(w)])
				}
			}
			switch {
			case k == 0: // a sum of 0, no average
			case avg:
				out.F64[i] = s.Float(q+k*s.Off) / float64(k) // an exact sum: never an infinity
				out.Valid.Set(i)
			default:
				out.F64[i] = s.Float(q + k*s.Off)
			}
		}
		return ec.err()
	})
	return out, err
}

// exactMeanRows returns the exact mean, rounded once, of the values of the
// selected rows of [lo, hi), for an average whose float64 sum overflowed.
func exactMeanRows(where wordTest, attr *column.Vec, lo, hi int) float64 {
	var m exact.Mean
	for p := lo; p < hi; p += 64 {
		for w := selected(where, attr, p, min(64, hi-p)); w != 0; w &= w - 1 {
			m.Add(attr.F64[p+bits.TrailingZeros64(w)])
		}
	}
	return m.Float64()
}

// bestInts returns the greatest (isMax) or least of the values of the
// selected rows of [lo, hi), and how many there are.
func bestInts[T column.Integer](where wordTest, attr *column.Vec, vals []T, lo, hi int, isMax bool) (T, int64) {
	var best T
	var cnt int64
	for p := lo; p < hi; p += 64 {
		n := min(64, hi-p)
		w := selected(where, attr, p, n)
		if w == 0 {
			continue
		}
		if cnt == 0 {
			best = vals[p+bits.TrailingZeros64(w)]
		}
		cnt += int64(bits.OnesCount64(w))
		if w == column.LenMask(n) { // every row: a plain loop, without branches
			if isMax {
				for _, x := range vals[p : p+n] {
					best = max(best, x)
				}
			} else {
				for _, x := range vals[p : p+n] {
					best = min(best, x)
				}
			}
			continue
		}
		for ; w != 0; w &= w - 1 {
			x := vals[p+bits.TrailingZeros64(w)]
			if isMax {
				best = max(best, x)
			} else {
				best = min(best, x)
			}
		}
	}
	return best, cnt
}

// bestFloats is bestInts for numbers, which compare as aggregate's min and
// max do: the first value is kept until a later one is strictly greater
// (less), so that a NaN first is kept and a NaN later is not.
func bestFloats(where wordTest, attr *column.Vec, vals []float64, lo, hi int, isMax bool) (float64, int64) {
	var best float64
	var cnt int64
	for p := lo; p < hi; p += 64 {
		for w := selected(where, attr, p, min(64, hi-p)); w != 0; w &= w - 1 {
			x := vals[p+bits.TrailingZeros64(w)]
			if cnt == 0 || (isMax && x > best) || (!isMax && x < best) {
				best = x
			}
			cnt++
		}
	}
	return best, cnt
}

// eachIndexPart splits the indexes [0, n) into up to ec.par parts, each
// starting at a multiple of 64, and runs part on each in parallel.
func (ec *evalCtx) eachIndexPart(n int, part func(from, to int) error) error {
	parts := min(ec.par, (n+4095)/4096)
	if parts < 2 {
		return part(0, n)
	}
	return runParts(parts, func(k int) error {
		from, to := (n*k/parts)&^63, (n*(k+1)/parts)&^63
		if k == parts-1 {
			to = n
		}
		return part(from, to)
	})
}

// wordTest returns the where condition's result for the rows [lo, lo+n),
// n at most 64: bit j for row lo+j.
type wordTest func(lo, n int) uint64

func (rp rowPred) words(ec *evalCtx) wordTest {
	k := rp.p.bind(ec.asOf).Prepare(rp.v, ec)
	v := rp.v
	valid := func(lo, n int) uint64 {
		if v.Valid == nil {
			return column.LenMask(n)
		}
		return v.Valid.BitsAt(lo, n)
	}
	if k.Kind == column.KindNull {
		return func(lo, n int) uint64 { return column.LenMask(n) &^ valid(lo, n) }
	}
	negate := uint64(0)
	if k.Negate {
		negate = ^uint64(0)
	}
	if k.Kind == column.KindInts && len(k.IR) == 1 {
		from, width := uint64(k.IR[0].Lo), uint64(k.IR[0].Hi)-uint64(k.IR[0].Lo)
		if v.I32 != nil {
			return func(lo, n int) uint64 {
				return (rangeBits(v.I32[lo:lo+n], from, width) ^ negate) & valid(lo, n)
			}
		}
		return func(lo, n int) uint64 {
			return (rangeBits(v.I64[lo:lo+n], from, width) ^ negate) & valid(lo, n)
		}
	}
	test := k.RowTest(v)
	return func(lo, n int) uint64 {
		var w uint64
		for j := range n {
			w |= column.Bit(test(lo+j)) << uint(j)
		}
		return (w ^ negate) & valid(lo, n)
	}
}

// rangeBits tests up to 64 values against the range that starts at from
// and is width wide.
func rangeBits[T column.Integer](vals []T, from, width uint64) uint64 {
	var w uint64
	for j, x := range vals {
		w |= column.Bit(uint64(int64(x))-from <= width) << uint(j)
	}
	return w
}

func (rowConst) words(*evalCtx) wordTest {
	return func(int, int) uint64 { return 0 }
}

func (a rowAnd) words(ec *evalCtx) wordTest {
	kids := make([]wordTest, len(a.kids))
	for i, k := range a.kids {
		kids[i] = k.words(ec)
	}
	return func(lo, n int) uint64 {
		w := kids[0](lo, n)
		for _, k := range kids[1:] {
			if w == 0 {
				break
			}
			w &= k(lo, n)
		}
		return w
	}
}

func (o rowOr) words(ec *evalCtx) wordTest {
	kids := make([]wordTest, len(o.kids))
	for i, k := range o.kids {
		kids[i] = k.words(ec)
	}
	return func(lo, n int) uint64 {
		var w uint64
		for _, k := range kids {
			w |= k(lo, n)
		}
		return w
	}
}

func (n rowNot) words(ec *evalCtx) wordTest {
	kid := n.kid.words(ec)
	return func(lo, cnt int) uint64 { return ^kid(lo, cnt) & column.LenMask(cnt) }
}
