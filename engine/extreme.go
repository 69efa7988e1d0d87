package engine

import (
	"math"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Least and greatest values compared with a value, as row predicates. Over
// a customer's selected rows S (those that satisfy where and have a value)
// and a range R = [lo, hi]:
//
//	max(S) in R  <=>  a row of S is in R, and no row of S is above hi
//	min(S) in R  <=>  a row of S is in R, and no row of S is below lo
//
// and max and min are null exactly when S is empty (FORMAT.md: min and max
// use the non-null values and are null over none, and a comparison with
// null is false). So instead of each customer's max, the rows are tested
// against R and against "above hi" with the column kernels, and each
// customer's rows are looked up in the two masks (clustered.go). The
// column's own least and greatest values drop a test that no row can
// pass or fail: for max(OrderDate) inLastDays 30 no order is after the
// as-of day, and only "in R" is left.
//
// Numbers are finite (storage rejects NaN and infinities), so that every
// number is in R, above it or below it, as the rewriting needs; the
// aggregate keeps its first value against a later NaN, which no snapshot
// holds.

// valueRange is the least and greatest non-null value of a column.
type valueRange struct {
	has      bool // some value is not null
	lo, hi   int64
	flo, fhi float64
}

var valueRangeKey = storage.NewDerivedKey("engine: least and greatest value")

// columnRange returns the least and greatest value of col, whose typed
// view is v, computing them once per snapshot.
func columnRange(col *storage.Column, v *column.Vec) valueRange {
	d, _ := col.Derived(valueRangeKey, func() (any, error) { return rangeOf(v), nil })
	return d.(valueRange)
}

// rangeOf returns the least and greatest value of v's integers, dates,
// datetimes or numbers.
func rangeOf(v *column.Vec) valueRange {
	var vr valueRange
	for i := 0; i < v.N; i++ {
		if !v.IsValid(i) {
			continue
		}
		switch {
		case v.F64 != nil:
			x := v.F64[i]
			if !vr.has {
				vr.flo, vr.fhi = x, x
			}
			vr.flo, vr.fhi = min(vr.flo, x), max(vr.fhi, x)
		case v.I64 != nil:
			x := v.I64[i]
			if !vr.has {
				vr.lo, vr.hi = x, x
			}
			vr.lo, vr.hi = min(vr.lo, x), max(vr.hi, x)
		default:
			x := int64(v.I32[i])
			if !vr.has {
				vr.lo, vr.hi = x, x
			}
			vr.lo, vr.hi = min(vr.lo, x), max(vr.hi, x)
		}
		vr.has = true
	}
	return vr
}

// extremeOfValues reports whether a is the min or max of integers,
// numbers, dates or datetimes.
func (a *aggSpec) extremeOfValues() bool {
	return (a.fn == segment.Min || a.fn == segment.Max) && a.col != nil &&
		(a.attr.F64 != nil || a.attr.I64 != nil || a.attr.I32 != nil)
}

// extremeTests returns the kernels of the row tests that decide
// "min or max in the comparison's range": in, the rows in the range (nil:
// every row with a value), and beyond, the rows above it for max and below
// it for min (nil: no row). ok is false when the comparison is not one
// range of values (a list, notEquals), which the aggregate then computes.
// For isNull and isNotNull, in is nil and beyond is nil.
func extremeTests(k *column.Kernel, isMax bool, vr valueRange) (in, beyond *column.Kernel, ok bool) {
	switch k.Kind {
	case column.KindInts:
		if k.Negate || len(k.IR) != 1 {
			return nil, nil, false
		}
		lo, hi := k.IR[0].Lo, k.IR[0].Hi
		// Whether some value is above hi, and some below lo.
		above, below := vr.hi > hi, vr.lo < lo
		inner, outer := below, above // in drops below lo; beyond is above hi
		if !isMax {
			inner, outer = above, below
		}
		if inner {
			in = &column.Kernel{Kind: column.KindInts, IR: []column.IRange{{Lo: lo, Hi: hi}}}
		}
		if outer {
			r := column.IRange{Lo: hi + 1, Hi: math.MaxInt64}
			if !isMax {
				r = column.IRange{Lo: math.MinInt64, Hi: lo - 1}
			}
			beyond = &column.Kernel{Kind: column.KindInts, IR: []column.IRange{r}}
		}
		return in, beyond, true
	case column.KindFloats:
		if k.Negate || len(k.FR) != 1 {
			return nil, nil, false
		}
		fr := k.FR[0]
		above := vr.fhi > fr.Hi || fr.HiOpen && vr.fhi == fr.Hi
		below := vr.flo < fr.Lo || fr.LoOpen && vr.flo == fr.Lo
		inner, outer := below, above
		if !isMax {
			inner, outer = above, below
		}
		if inner {
			in = &column.Kernel{Kind: column.KindFloats, FR: []column.FRange{fr}}
		}
		if outer {
			r := column.FRange{Lo: fr.Hi, Hi: math.Inf(1), LoOpen: !fr.HiOpen}
			if !isMax {
				r = column.FRange{Lo: math.Inf(-1), Hi: fr.Lo, HiOpen: !fr.LoOpen}
			}
			beyond = &column.Kernel{Kind: column.KindFloats, FR: []column.FRange{r}}
		}
		return in, beyond, true
	case column.KindNull, column.KindNotNull, column.KindNone:
		return nil, nil, true
	}
	return nil, nil, false
}

// extremeByRows evaluates the related condition, a min or max compared
// with a value over rows clustered by customer (starts), as row
// predicates; where is the mask of the where condition (nil: every row).
// ok is false when the comparison is not one that extremeTests rewrites.
func (r *relatedNode) extremeByRows(ec *evalCtx, starts []uint32, where column.Bitset) (b column.Bitset, ok bool, err error) {
	a := r.agg
	k := r.cmp.bind(ec.asOf)
	vr := columnRange(a.col, a.attr)
	in, beyond, ok := extremeTests(k, a.fn == segment.Max, vr)
	if !ok {
		return nil, false, nil
	}
	if k.Kind == column.KindNone || !vr.has && k.Kind != column.KindNull {
		return column.NewBitset(ec.n), true, ec.err()
	}
	// test returns the selected rows that pass t (nil: that have a value).
	test := func(t *column.Kernel) (column.Bitset, error) {
		v := a.attr
		if t == nil && v.Valid == nil {
			return where, nil
		}
		out := column.NewBitset(r.rows)
		if t == nil {
			copy(out, v.Valid)
		} else if err := ec.run(t, column.Narrow(a.col, v), out); err != nil {
			return nil, err
		}
		if where != nil {
			out.And(where)
		}
		return out, nil
	}
	sel, err := test(in)
	if err != nil {
		return nil, true, err
	}
	hit, err := ec.clusteredAny(r.links, starts, sel)
	if err != nil {
		return nil, true, err
	}
	switch k.Kind {
	case column.KindNull:
		hit.Not(ec.n)
		return hit, true, nil
	case column.KindNotNull:
		return hit, true, nil
	}
	if beyond != nil {
		out, err := test(beyond)
		if err != nil {
			return nil, true, err
		}
		past, err := ec.clusteredAny(r.links, starts, out)
		if err != nil {
			return nil, true, err
		}
		hit.AndNot(past)
	}
	return hit, true, nil
}
