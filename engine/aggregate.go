package engine

import (
	"cmp"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// aggSpec is a compiled aggregate function over the rows of one entity.
type aggSpec struct {
	fn       segment.Func
	attr     *column.Vec // nil for count
	attrType schema.Type
	col      *storage.Column // attr's column
	orderBy  *column.Vec     // first, last
	key      *column.Vec     // first, last: the entity's key breaks ties
	// storageType is the type of the per-customer result vector: integer
	// for counts, number for sum and avg, the attribute's type for min,
	// max, first and last (FORMAT.md section 3).
	storageType schema.Type
}

// scaled returns the scaled view of a sum's or an average's number
// attribute, whose sums are exact (column.Scaled), or nil. The view is
// built on first use, by the kernels that read it, so that a column whose
// sums never take those paths holds no copy.
func (a *aggSpec) scaled() *column.Scaled {
	if (a.fn != segment.Sum && a.fn != segment.Avg) || a.attrType != schema.Number || a.col == nil {
		return nil
	}
	return column.ScaledOf(a.col, a.attr)
}

// measureNode is a compiled customer attribute measure.
type measureNode struct {
	links *storage.Links
	rows  int
	where rowNode
	agg   *aggSpec
}

// measure returns the measure's per-customer values, computing them once
// per evaluation.
func (ec *evalCtx) measure(m *measureNode) (*column.Vec, error) {
	if v, ok := ec.measures[m]; ok {
		return v, nil
	}
	var mask column.Bitset
	if m.where != nil {
		var err error
		if mask, err = m.where.eval(ec, m.rows); err != nil {
			return nil, err
		}
	}
	v, err := ec.aggregate(m.links, m.rows, mask, m.agg)
	if err != nil {
		return nil, err
	}
	ec.measures[m] = v
	return v, nil
}

const idBatch = 4096

// parallelRows is the fewest related rows worth splitting across cores.
var parallelRows = 1 << 18

// eachBatch calls fn with the rows of mask (nil: every row) that link to a
// customer, in increasing row order, a batch of ids at a time, so that the
// aggregate loops run over plain slices. Rows of one customer are visited
// in row order, which fixes the order of floating-point sums.
//
// When the rows are clustered by customer (l.Sorted), the customers are
// split into ranges, each a multiple of 64 ids, and the ranges run in
// parallel: fn calls for different ranges touch different customers and
// different words of any per-customer bitset, so they need no locks.
func (ec *evalCtx) eachBatch(l *storage.Links, rows int, mask column.Bitset, fn func(batch []uint32)) error {
	return ec.eachPart(l, rows, func(lo, hi int) error { return ec.eachBatchRange(l, lo, hi, mask, fn) })
}

// eachPart calls part with row ranges [lo, hi) that together cover every
// row: one range, or, for rows clustered by customer, one range per core,
// each holding every row of its customers (a multiple of 64 customers), run
// in parallel.
func (ec *evalCtx) eachPart(l *storage.Links, rows int, part func(lo, hi int) error) error {
	if !l.Sorted || ec.par < 2 || rows < parallelRows {
		return part(0, rows)
	}
	parts := ec.par
	bounds := make([]int, parts+1)
	for k := 1; k < parts; k++ {
		c := int32((ec.n * k / parts) &^ 63)
		bounds[k] = firstRowOf(l.Customer, c)
	}
	bounds[parts] = rows
	return runParts(parts, func(k int) error { return part(bounds[k], max(bounds[k], bounds[k+1])) })
}

// runParts runs part(0) .. part(parts-1) on goroutines of their own and
// returns the first error.
func runParts(parts int, part func(k int) error) error {
	var g errgroup.Group
	for k := range parts {
		g.Go(func() error { return part(k) })
	}
	return g.Wait()
}

// firstRowOf returns the first row of sorted links whose customer is c or
// later; the NoCustomer rows at the end count as after every customer.
func firstRowOf(cust []int32, c int32) int {
	lo, hi := 0, len(cust)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if x := cust[m]; x != storage.NoCustomer && x < c {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo
}

// eachBatchRange is eachBatch over the rows [lo, hi).
func (ec *evalCtx) eachBatchRange(l *storage.Links, lo, hi int, mask column.Bitset, fn func(batch []uint32)) error {
	cust := l.Customer
	buf := make([]uint32, 0, idBatch)
	flush := func() error {
		if len(buf) > 0 {
			fn(buf)
			buf = buf[:0]
		}
		return ec.err()
	}
	for wi := lo >> 6; wi<<6 < hi; wi++ {
		w := maskWord(mask, wi, lo, hi)
		for w != 0 {
			r := wi<<6 | bits.TrailingZeros64(w)
			w &= w - 1
			if cust[r] >= 0 {
				buf = append(buf, uint32(r))
			}
		}
		if len(buf) >= idBatch-64 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

// aggregate computes a per-customer vector of the aggregate over the rows of
// mask. Rows scatter into dense per-customer arrays: one pass, no hash table.
func (ec *evalCtx) aggregate(l *storage.Links, rows int, mask column.Bitset, a *aggSpec) (*column.Vec, error) {
	if starts := l.Starts(); starts != nil && (a.fn == segment.Min || a.fn == segment.Max) && a.aggregatesByCandidate() {
		// Rows clustered by customer: each customer's rows in one visit,
		// without reading the links row by row. (Sums scatter row by row
		// below, which costs less than a visit per customer when most
		// customers have few rows; counts are ranks of the mask.)
		var where wordTest
		if mask != nil {
			where = mask.BitsAt
		}
		return ec.aggregateByCandidate(a, nil, starts, where)
	}
	n := ec.n
	cust := l.Customer
	out := &column.Vec{N: n, Type: a.storageType}
	if starts := l.Starts(); starts != nil && a.fn == segment.Count {
		// Each customer's count is the difference of two ranks of the mask
		// (clustered.go).
		out.I64 = make([]int64, n)
		return out, ec.clusteredCounts(l, starts, mask, out.I64)
	}
	switch a.fn {
	case segment.Count:
		cnt := make([]int64, n)
		out.I64 = cnt
		return out, ec.eachPart(l, rows, func(lo, hi int) error {
			for wi := lo >> 6; wi<<6 < hi; wi++ {
				w := maskWord(mask, wi, lo, hi)
				for w != 0 {
					r := wi<<6 | bits.TrailingZeros64(w)
					w &= w - 1
					if c := cust[r]; c >= 0 {
						cnt[c]++
					}
				}
				if wi&1023 == 1023 {
					if err := ec.err(); err != nil {
						return err
					}
				}
			}
			return ec.err()
		})
	case segment.CountDistinct:
		return ec.countDistinct(l, rows, mask, a)
	case segment.Sum, segment.Avg:
		return ec.sumAvg(l, rows, mask, a)
	case segment.Min, segment.Max:
		return ec.minMax(l, rows, mask, a)
	case segment.First, segment.Last:
		return ec.firstLast(l, rows, mask, a)
	}
	return nil, ec.err()
}

func (ec *evalCtx) sumAvg(l *storage.Links, rows int, mask column.Bitset, a *aggSpec) (*column.Vec, error) {
	n, cust, v := ec.n, l.Customer, a.attr
	var cnt []int64
	if a.fn == segment.Avg || a.attrType != schema.Number {
		cnt = make([]int64, n) // a sum of numbers needs no count
	}
	out := &column.Vec{N: n, Type: a.storageType}
	var err error
	if a.attrType == schema.Number {
		sum := make([]float64, n)
		var s *column.Scaled
		starts := l.Starts()
		if l.Sorted && starts != nil && denseRows(mask, rows) {
			s = a.scaled()
		}
		if s != nil {
			if cnt == nil {
				cnt = make([]int64, n)
			}
			err = ec.sumScaled(l, starts, rows, mask, v.Valid, s, sum, cnt)
		} else {
			err = ec.sumFloats(l, rows, mask, v, sum, cnt)
		}
		if err != nil {
			return nil, err
		}
		if a.fn == segment.Avg {
			// A sum that overflowed (values near 1e308) has a finite mean:
			// those customers' values are added again, exactly.
			var exactMeans map[int32]*exact.Mean
			for c, s := range sum {
				if math.IsInf(s, 0) && cnt[c] > 0 {
					if exactMeans == nil {
						exactMeans = map[int32]*exact.Mean{}
					}
					exactMeans[int32(c)] = new(exact.Mean)
				}
			}
			if exactMeans != nil {
				err = ec.eachBatchRange(l, 0, rows, mask, func(b []uint32) {
					for _, r := range b {
						if m, ok := exactMeans[cust[r]]; ok && v.IsValid(int(r)) {
							m.Add(v.F64[r])
						}
					}
				})
				if err != nil {
					return nil, err
				}
			}
			out.Valid = column.NewBitset(n)
			for c := range sum {
				if cnt[c] > 0 {
					sum[c] = exact.AvgOfSum(sum[c], cnt[c], func() float64 { return exactMeans[int32(c)].Float64() })
					out.Valid.Set(c)
				}
			}
		}
		out.F64 = sum
		return out, nil
	}
	// Integer sums are added exactly (int64 while they fit, big integers
	// for the customers whose sum overflows) and rounded to a number once:
	// FORMAT.md types sum and avg as number.
	sum := make([]int64, n)
	overflowed := make([]bool, n) // written per customer: safe across ranges
	err = ec.eachBatch(l, rows, mask, func(b []uint32) {
		for _, r := range b {
			if !v.IsValid(int(r)) {
				continue
			}
			c, x := cust[r], v.I64[r]
			cnt[c]++
			s := sum[c] + x
			if (x > 0 && s < sum[c]) || (x < 0 && s > sum[c]) {
				overflowed[c] = true
			}
			sum[c] = s
		}
	})
	if err != nil {
		return nil, err
	}
	// The rare customers whose sum left int64 are added again, exactly.
	overflow := map[int32]*big.Int{}
	for c, o := range overflowed {
		if o {
			overflow[int32(c)] = new(big.Int)
		}
	}
	if len(overflow) > 0 {
		err = ec.eachBatchRange(l, 0, rows, mask, func(b []uint32) {
			for _, r := range b {
				if o, ok := overflow[cust[r]]; ok && v.IsValid(int(r)) {
					o.Add(o, big.NewInt(v.I64[r]))
				}
			}
		})
		if err != nil {
			return nil, err
		}
	}
	res := make([]float64, n)
	if a.fn == segment.Avg {
		out.Valid = column.NewBitset(n)
	}
	const exactFloat = 1 << 53
	for c := range res {
		o, huge := overflow[int32(c)]
		if a.fn == segment.Sum {
			if huge {
				res[c], _ = new(big.Rat).SetInt(o).Float64()
			} else {
				res[c] = float64(sum[c]) // correctly rounded
			}
			continue
		}
		if cnt[c] == 0 {
			continue
		}
		out.Valid.Set(c)
		if !huge && sum[c] <= exactFloat && sum[c] >= -exactFloat {
			res[c] = float64(sum[c]) / float64(cnt[c]) // one correctly rounded division
			continue
		}
		if !huge {
			o = big.NewInt(sum[c])
		}
		res[c], _ = new(big.Rat).SetFrac(o, big.NewInt(cnt[c])).Float64()
	}
	out.F64 = res
	return out, nil
}

func (ec *evalCtx) minMax(l *storage.Links, rows int, mask column.Bitset, a *aggSpec) (*column.Vec, error) {
	n, cust, v := ec.n, l.Customer, a.attr
	isMax := a.fn == segment.Max
	has := column.NewBitset(n)
	out := &column.Vec{N: n, Type: a.storageType, Valid: has}
	var err error
	switch {
	case v.F64 != nil:
		out.F64, err = minMaxInts(ec, l, rows, mask, v, v.F64, has, isMax)
	case v.I64 != nil:
		out.I64, err = minMaxInts(ec, l, rows, mask, v, v.I64, has, isMax)
	case v.I32 != nil:
		out.I32, err = minMaxInts(ec, l, rows, mask, v, v.I32, has, isMax)
	default:
		// min and max of strings or booleans: ordered by value.
		best := make([]int32, n)
		err = ec.eachBatch(l, rows, mask, func(b []uint32) {
			for _, r := range b {
				if !v.IsValid(int(r)) {
					continue
				}
				c := int(cust[r])
				if !has.Has(c) {
					best[c] = int32(r)
					has.Set(c)
					continue
				}
				d := compareAt(v, int(r), int(best[c]))
				if (isMax && d > 0) || (!isMax && d < 0) {
					best[c] = int32(r)
				}
			}
		})
		if err != nil {
			return nil, err
		}
		return gather(v, best, has), nil
	}
	return out, err
}

// minMaxInts computes min or max of numbers, integers, dates or datetimes:
// a later value replaces a customer's best only when strictly greater
// (less), so a NaN first is kept and a NaN later is not.
func minMaxInts[T column.Integer | ~float64](ec *evalCtx, l *storage.Links, rows int, mask column.Bitset, v *column.Vec, vals []T, has column.Bitset, isMax bool) ([]T, error) {
	cust := l.Customer
	best := make([]T, ec.n)
	err := ec.eachBatch(l, rows, mask, func(b []uint32) {
		for _, r := range b {
			if !v.IsValid(int(r)) {
				continue
			}
			c, x := int(cust[r]), vals[r]
			if !has.Has(c) || (isMax && x > best[c]) || (!isMax && x < best[c]) {
				best[c] = x
				has.Set(c)
			}
		}
	})
	return best, err
}

// compareAt orders values i and j of v, both valid.
func compareAt(v *column.Vec, i, j int) int {
	switch {
	case v.I64 != nil:
		return cmp.Compare(v.I64[i], v.I64[j])
	case v.F64 != nil:
		return cmp.Compare(v.F64[i], v.F64[j])
	case v.I32 != nil:
		return cmp.Compare(v.I32[i], v.I32[j])
	case v.B != nil:
		bi, bj := v.B.Has(i), v.B.Has(j)
		switch {
		case bi == bj:
			return 0
		case bj:
			return -1
		}
		return 1
	}
	return strings.Compare(v.StringAt(i), v.StringAt(j))
}

// gather returns a vector over customers holding, for each customer c with
// has set, value rowOf[c] of v (which may itself be null).
func gather(v *column.Vec, rowOf []int32, has column.Bitset) *column.Vec {
	n := len(rowOf)
	out := &column.Vec{N: n, Type: v.Type, Valid: column.NewBitset(n)}
	switch {
	case v.I64 != nil:
		out.I64 = make([]int64, n)
	case v.F64 != nil:
		out.F64 = make([]float64, n)
	case v.I32 != nil:
		out.I32 = make([]int32, n)
	case v.B != nil:
		out.B = column.NewBitset(n)
	default:
		out.Strs = make([]string, n)
	}
	has.ForEach(func(c int) {
		r := int(rowOf[c])
		if !v.IsValid(r) {
			return
		}
		out.Valid.Set(c)
		switch {
		case v.I64 != nil:
			out.I64[c] = v.I64[r]
		case v.F64 != nil:
			out.F64[c] = v.F64[r]
		case v.I32 != nil:
			out.I32[c] = v.I32[r]
		case v.B != nil:
			if v.B.Has(r) {
				out.B.Set(c)
			}
		default:
			out.Strs[c] = v.StringAt(r)
		}
	})
	return out
}

// firstLast orders the where-matching rows with a non-null orderBy by
// (orderBy, key) and takes the attribute of the first or last of them.
func (ec *evalCtx) firstLast(l *storage.Links, rows int, mask column.Bitset, a *aggSpec) (*column.Vec, error) {
	n, cust := ec.n, l.Customer
	isLast := a.fn == segment.Last
	best := make([]int32, n)
	has := column.NewBitset(n)
	ob, key := a.orderBy, a.key
	err := ec.eachBatch(l, rows, mask, func(b []uint32) {
		for _, r := range b {
			if !ob.IsValid(int(r)) {
				continue
			}
			c := int(cust[r])
			if !has.Has(c) {
				best[c] = int32(r)
				has.Set(c)
				continue
			}
			cur := int(best[c])
			d := compareAt(ob, int(r), cur)
			if d == 0 {
				d = compareAt(key, int(r), cur)
			}
			if (isLast && d > 0) || (!isLast && d < 0) {
				best[c] = int32(r)
			}
		}
	})
	if err != nil {
		return nil, err
	}
	return gather(a.attr, best, has), nil
}

// countDistinct counts the distinct non-null values per customer by sorting
// (customer, value) pairs.
func (ec *evalCtx) countDistinct(l *storage.Links, rows int, mask column.Bitset, a *aggSpec) (*column.Vec, error) {
	n, v := ec.n, a.attr
	cnt := make([]int64, n)
	out := &column.Vec{N: n, Type: schema.Integer, I64: cnt}
	if l.Sorted {
		return out, ec.countDistinctClustered(l, rows, mask, v, cnt)
	}
	if v.Codes == nil && v.Str == nil && v.Strs == nil {
		return out, countPairs(ec, l, rows, mask, v, func(r int) uint64 { return distinctKey(v, r) }, cnt)
	}
	return out, countPairs(ec, l, rows, mask, v, v.StringAt, cnt)
}

// countPairs counts, per customer, the distinct keys of the non-null values
// of the rows of mask, by sorting (customer, key) pairs: for rows in no
// particular customer order.
func countPairs[K cmp.Ordered](ec *evalCtx, l *storage.Links, rows int, mask column.Bitset, v *column.Vec, key func(r int) K, cnt []int64) error {
	type pair struct {
		c int32
		k K
	}
	cust := l.Customer
	var pairs []pair
	err := ec.eachBatchRange(l, 0, rows, mask, func(b []uint32) {
		for _, r := range b {
			if v.IsValid(int(r)) {
				pairs = append(pairs, pair{cust[r], key(int(r))})
			}
		}
	})
	if err != nil {
		return err
	}
	slices.SortFunc(pairs, func(x, y pair) int {
		if c := cmp.Compare(x.c, y.c); c != 0 {
			return c
		}
		return cmp.Compare(x.k, y.k)
	})
	for i, p := range pairs {
		if i == 0 || p != pairs[i-1] {
			cnt[p.c]++
		}
	}
	return nil
}

// distinctKey maps a non-string value to a key equal for equal values:
// 0 and -0 are one number.
func distinctKey(v *column.Vec, i int) uint64 {
	switch {
	case v.I64 != nil:
		return uint64(v.I64[i])
	case v.F64 != nil:
		f := v.F64[i]
		if f == 0 {
			f = 0
		}
		return math.Float64bits(f)
	case v.I32 != nil:
		return uint64(v.I32[i])
	case v.B != nil && v.B.Has(i):
		return 1
	}
	return 0
}

// countDistinctClustered counts distinct values over rows clustered by
// customer: each customer's values arrive together, so they are counted in
// a small reused buffer, customer after customer, in parallel by range.
func (ec *evalCtx) countDistinctClustered(l *storage.Links, rows int, mask column.Bitset, v *column.Vec, cnt []int64) error {
	cust := l.Customer
	var canon []int32 // dictionary code -> first code of the same string
	if v.Codes != nil {
		canon = make([]int32, v.Dict.Len())
		first := make(map[string]int32, v.Dict.Len())
		for i := range canon {
			s := v.Dict.Value(i)
			if c, ok := first[s]; ok {
				canon[i] = c
			} else {
				first[s], canon[i] = int32(i), int32(i)
			}
		}
	}
	if canon != nil && len(canon) <= 64 {
		return ec.countSmallDict(l, rows, mask, v, canon, cnt)
	}
	plain := v.Str != nil || v.Strs != nil
	return ec.eachPart(l, rows, func(lo, hi int) error {
		var keys []uint64
		var strs []string
		cur := int32(-1)
		flush := func() {
			if cur >= 0 {
				if plain {
					slices.Sort(strs)
					cnt[cur] = int64(len(slices.Compact(strs)))
				} else {
					slices.Sort(keys)
					cnt[cur] = int64(len(slices.Compact(keys)))
				}
			}
			keys, strs = keys[:0], strs[:0]
		}
		err := ec.eachBatchRange(l, lo, hi, mask, func(b []uint32) {
			for _, r := range b {
				if !v.IsValid(int(r)) {
					continue
				}
				if c := cust[r]; c != cur {
					flush()
					cur = c
				}
				switch {
				case canon != nil:
					keys = append(keys, uint64(canon[v.Codes[r]]))
				case plain:
					strs = append(strs, v.StringAt(int(r)))
				default:
					keys = append(keys, distinctKey(v, int(r)))
				}
			}
		})
		flush()
		return err
	})
}

// countSmallDict is countDistinctClustered for a dictionary column of at
// most 64 entries: each customer's values are a set of canonical codes in
// one word. The rows arrive clustered by customer, so the set starts over
// where the customer changes, and every row writes its customer's count
// so far: no branch on the customer, whose changes no predictor foresees.
func (ec *evalCtx) countSmallDict(l *storage.Links, rows int, mask column.Bitset, v *column.Vec, canon []int32, cnt []int64) error {
	cust, codes, valid := l.Customer, v.Codes, v.Valid
	end := rows // the rows of customers: NoCustomer rows come last
	if starts := l.Starts(); starts != nil {
		end = int(starts[ec.n])
	}
	bit := make([]uint64, len(canon)) // code -> its canonical code's bit
	for i, c := range canon {
		bit[i] = 1 << uint(c)
	}
	return ec.eachPart(l, end, func(lo, hi int) error {
		hi = min(hi, end)
		cur := int32(-1)
		var set uint64
		for wi := lo >> 6; wi<<6 < hi; wi++ {
			w := maskWord(mask, wi, lo, hi)
			if valid != nil {
				w &= valid[wi]
			}
			for ; w != 0; w &= w - 1 {
				r := wi<<6 | bits.TrailingZeros64(w)
				c := cust[r]
				set = set&-column.Bit(c == cur) | bit[codes[r]]
				cnt[c] = int64(bits.OnesCount64(set))
				cur = c
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

// maskWord returns word wi of mask (every bit, for a nil mask) with the bits
// outside rows [lo, hi) cleared.
func maskWord(mask column.Bitset, wi, lo, hi int) uint64 {
	w := ^uint64(0)
	if mask != nil {
		w = mask[wi]
	}
	if base := wi << 6; base < lo {
		w &^= (uint64(1) << uint(lo-base)) - 1
	}
	if end := (wi + 1) << 6; end > hi {
		w &= (uint64(1) << uint(64-(end-hi))) - 1
	}
	return w
}

// sumFloats adds the non-null values of the rows of mask into sum per
// customer, counting them into cnt unless cnt is nil. It is the hottest
// aggregate loop, so it walks the mask words itself: validity is one AND
// per 64 rows, and there is no batch buffer or callback per row.
func (ec *evalCtx) sumFloats(l *storage.Links, rows int, mask column.Bitset, v *column.Vec, sum []float64, cnt []int64) error {
	cust, vals, valid := l.Customer, v.F64, v.Valid
	if fo := l.FileOrder(); fo != nil {
		// Rows whose row order is not their file order (a path other than
		// the first): add each customer's rows in file order, as FORMAT.md
		// says sums of numbers add.
		for i, r := range fo {
			if i&0xffff == 0xffff {
				if err := ec.err(); err != nil {
					return err
				}
			}
			if int(r) >= rows || (mask != nil && !mask.Has(int(r))) || (valid != nil && !valid.Has(int(r))) {
				continue
			}
			if c := cust[r]; c >= 0 {
				sum[c] += vals[r]
				if cnt != nil {
					cnt[c]++
				}
			}
		}
		return ec.err()
	}
	if l.Sorted {
		return ec.eachPart(l, rows, func(lo, hi int) error { return ec.sumSorted(cust, lo, hi, mask, v, sum, cnt) })
	}
	return ec.eachPart(l, rows, func(lo, hi int) error {
		for wi := lo >> 6; wi<<6 < hi; wi++ {
			w := maskWord(mask, wi, lo, hi)
			if valid != nil {
				w &= valid[wi]
			}
			for w != 0 {
				r := wi<<6 | bits.TrailingZeros64(w)
				w &= w - 1
				if c := cust[r]; c >= 0 {
					sum[c] += vals[r]
					if cnt != nil {
						cnt[c]++
					}
				}
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

// sumSorted is sumFloats over the rows [lo, hi) of links in customer order,
// whose customers' rows all lie in [lo, hi): each customer's rows are
// consecutive, so its sum and count are kept in registers and stored once,
// when its rows end. (Adding into sum[c] row by row waits on the store of
// the row before, which costs more than the misprediction of where a
// customer's rows end.)
func (ec *evalCtx) sumSorted(cust []int32, lo, hi int, mask column.Bitset, v *column.Vec, sum []float64, cnt []int64) error {
	vals, valid := v.F64, v.Valid
	cur := storage.NoCustomer
	var acc float64
	var k int64
	flush := func() {
		if cur >= 0 {
			sum[cur] = acc
			if cnt != nil {
				cnt[cur] = k
			}
		}
	}
	for wi := lo >> 6; wi<<6 < hi; wi++ {
		w := maskWord(mask, wi, lo, hi)
		if valid != nil {
			w &= valid[wi]
		}
		for w != 0 {
			r := wi<<6 | bits.TrailingZeros64(w)
			w &= w - 1
			if c := cust[r]; c != cur {
				flush()
				if c < 0 { // the rows of no customer, after every customer's
					return ec.err()
				}
				cur, acc, k = c, 0, 0
			}
			acc += vals[r]
			k++
		}
		if wi&1023 == 1023 {
			if err := ec.err(); err != nil {
				return err
			}
		}
	}
	flush()
	return ec.err()
}

// sumScaled is sumFloats for a number attribute with a scaled view s (whose
// sums are exact in any order, and equal to sumFloats' in row order), over
// links clustered by customer (starts): cnt is not nil. Each part keeps a
// running total of the selected rows' integers and count, and stores it at
// every row into the row's customer (the last store is the total at the
// customer's last row): one pass without a branch per row or per customer.
// A customer's sum and count are then its totals less the ones before.
func (ec *evalCtx) sumScaled(l *storage.Links, starts []uint32, rows int, mask, valid column.Bitset, s *column.Scaled, sum []float64, cnt []int64) error {
	cust := l.Customer
	end := min(rows, int(starts[ec.n])) // later rows are of no customer
	return ec.eachPart(l, rows, func(lo, hi int) error {
		hi = min(hi, end)
		if lo >= hi {
			return ec.err()
		}
		first, last := int(cust[lo]), int(cust[hi-1])
		// One total holds the sum in its high bits and the count in its
		// low column.TotalCountBits when every customer's differences fit:
		// a count below 2^TotalCountBits, and two-byte offsets whose sum
		// then stays below 2^(64-TotalCountBits).
		most := uint32(0)
		for c := first; c <= last; c++ {
			most = max(most, starts[c+1]-starts[c])
		}
		packed := s.U16 != nil && most < 1<<column.TotalCountBits
		var t, k int64
		var pt uint64
		sel := make([]uint64, scaledBlock/64+1) // a block not at a multiple of 64 spans one word more
		for p := lo; p < hi; p += scaledBlock {
			q := min(p+scaledBlock, hi)
			// The block's rows to add, from bit 0 for row p&^63.
			for i := range sel {
				wi := p>>6 + i
				if wi<<6 >= q {
					break
				}
				w := maskWord(mask, wi, lo, hi)
				if valid != nil {
					w &= valid[wi]
				}
				sel[i] = w
			}
			switch {
			case packed:
				var ok bool
				if pt, ok = column.PackedTotals(cust[p:q], s.U16[p:q], sel, p&63, pt, cnt); !ok {
					return fmt.Errorf("engine: links of %d customers name one outside them", ec.n)
				}
			case s.U16 != nil:
				t, k = runningTotals(cust[p:q], s.U16[p:q], sel, p&63, t, k, sum, cnt)
			default:
				t, k = runningTotals(cust[p:q], s.U32[p:q], sel, p&63, t, k, sum, cnt)
			}
			if err := ec.err(); err != nil {
				return err
			}
		}
		// The totals run from lo: every part's customers have all their
		// rows in it.
		var prevT, prevK int64
		var prevP uint64
		for c := first; c <= last; c++ {
			if starts[c] == starts[c+1] {
				continue
			}
			var dt, dk int64
			if packed {
				d := uint64(cnt[c]) - prevP // modulo 2^64: the customer's own
				prevP = uint64(cnt[c])
				dt, dk = int64(d>>column.TotalCountBits), int64(d&(1<<column.TotalCountBits-1))
			} else {
				// The offsets' totals are integers below 2^53 (Scaled):
				// the float64s hold them exactly.
				t := int64(sum[c])
				dt, dk = t-prevT, cnt[c]-prevK
				prevT, prevK = t, cnt[c]
			}
			cnt[c] = dk
			sum[c] = s.Float(dt + dk*s.Off)
		}
		return ec.err()
	})
}

// denseRows reports whether mask (nil: every row) selects enough of the
// rows for sumScaled, which visits every row, to cost less than sumFloats,
// which visits the selected ones at about three times the cost a row
// (BenchmarkRelatedKernel: avg_where_exact against sum_where).
func denseRows(mask column.Bitset, rows int) bool {
	if mask == nil {
		return true
	}
	return mask.Count()*3 >= rows
}

// scaledBlock is the rows sumScaled adds between checks of the context.
const scaledBlock = 1 << 16

// runningTotals is column.PackedTotals with the sum and the count apart,
// the sum stored as a float64 (exact: below 2^53, Scaled).
//
//go:noinline
func runningTotals[U uint16 | uint32](cs []int32, us []U, sel []uint64, off int, t, k int64, sum []float64, cnt []int64) (int64, int64) {
	us = us[:len(cs)]
	w := sel[0] >> uint(off)
	for i, c := range cs {
		if r := off + i; r&63 == 0 {
			w = sel[r>>6]
		}
		b := int64(w & 1)
		w >>= 1
		t += int64(us[i]) & -b
		k += b
		sum[c] = float64(t)
		cnt[c] = k
	}
	return t, k
}
