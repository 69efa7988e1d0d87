package quick

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// ValueCount is a value and how many customers have it.
type ValueCount struct {
	// Value is typed as its field: a number for integers and numbers, a
	// YYYY-MM-DD string for dates, an RFC 3339 string for datetimes, a
	// string or a boolean. It can be given back to Estimate and Build.
	Value     segment.Value
	Customers int
}

// ColumnStats is the statistics of one field over all customers. It is
// the caller's.
type ColumnStats struct {
	Field Field
	// Rows is how many rows the values come from: the customers for
	// Profiles and Measures, the rows of the prediction entity for
	// Intelligence (of which those linking to no customer are not counted
	// anywhere else).
	Rows int
	// Customers is how many customers there are; every count below counts
	// customers, each of whom has one value or none.
	Customers int
	// Nulls counts the customers with no value (for Intelligence: also
	// those with no row).
	Nulls int
	// NaN counts the number values that are NaN, which only a measure can
	// produce (a sum overflowing to both infinities). They have no place in
	// the percentiles, match no operator, and are not nulls.
	NaN int
	// Distinct is how many distinct non-null values there are.
	Distinct int
	// Min and Max are the least and greatest values (strings in byte
	// order, false before true); absent (Kind NoValue) when every value is
	// null.
	Min, Max segment.Value
	// Top is the TopValues most frequent values, most frequent first, ties
	// broken by value ascending.
	Top []ValueCount
}

// Insights is what the quick segment dialog shows for a field. It is the
// caller's.
type Insights struct {
	Field Field
	// Customers is how many customers the insights count: all of them, or
	// the members of the set given to InsightsIn.
	Customers int
	// Nulls counts those with no value.
	Nulls int
	// NaN counts number values that are NaN (see ColumnStats.NaN).
	NaN int
	// Distinct is how many distinct values they have.
	Distinct int

	// For categorical fields: Top is the TopValues most frequent values
	// with their customer counts, most frequent first, ties broken by value
	// ascending; Other counts the customers whose value is not in Top.
	// Customers = sum of Top + Other + Nulls.
	Top   []ValueCount
	Other int

	// For numerical fields: Percentiles[p] is the p-th percentile for p =
	// 0..100, nearest-rank over the non-null values: with the n values
	// sorted ascending, the value at rank ceil(p*n/100) counting from 1,
	// so Percentiles[0] is the least value and Percentiles[100] the
	// greatest. It is nil when there is no value. PercentileOf goes the
	// other way.
	Percentiles []segment.Value

	// AsOf is the instant of the view the insights come from (measures and
	// relative dates count from it).
	AsOf time.Time
}

// Column returns the statistics of the named field over all customers,
// computing them on first use.
func (v View) Column(ctx context.Context, field string) (*ColumnStats, error) {
	c, err := v.fieldColumn(ctx, field)
	if err != nil {
		return nil, err
	}
	return &ColumnStats{Field: c.field, Rows: c.rows, Customers: c.customers, Nulls: c.nulls, NaN: c.nan,
		Distinct: c.distinct, Min: c.min, Max: c.max, Top: slices.Clone(c.top)}, nil
}

// insights returns the column's insights for its scale.
func (c *column) insights() *Insights {
	ins := &Insights{Field: c.field, Customers: c.customers, Nulls: c.nulls, NaN: c.nan, Distinct: c.distinct}
	if c.field.Scale == Categorical {
		ins.Top = slices.Clone(c.top)
		ins.Other = c.customers - c.nulls - c.nan
		for _, t := range c.top {
			ins.Other -= t.Customers
		}
		return ins
	}
	ins.Percentiles = slices.Clone(c.percentiles)
	return ins
}

// Insights returns the insights of the named field over all customers:
// for a categorical field its most frequent values, for a numerical one
// its percentiles. Once the field's statistics exist it copies them and
// does no scan.
func (v View) Insights(ctx context.Context, field string) (*Insights, error) {
	c, err := v.fieldColumn(ctx, field)
	if err != nil {
		return nil, err
	}
	ins := c.insights()
	ins.AsOf = v.AsOf()
	return ins, nil
}

// InsightsIn returns the insights of the named field over the customers in
// members (ids the snapshot does not have are ignored), such as the
// members of a draft segment. It reads the members' values, so it takes
// time in proportion to their number; members is not modified. The field
// keeps the scale it has over all customers.
func (v View) InsightsIn(ctx context.Context, field string, members *roaring.Bitmap) (*Insights, error) {
	c, err := v.fieldColumn(ctx, field)
	if err != nil {
		return nil, err
	}
	a, err := readMembers(ctx, c.reader, v.s.snap.NumCustomers(), members)
	if err != nil {
		return nil, err
	}
	ins := build(c.field, a, a.customers, false).insights()
	ins.AsOf = v.AsOf()
	return ins, nil
}

// Rank says where a value falls among a numerical field's values.
type Rank struct {
	// Values counts the customers with a (non-null, non-NaN) value.
	Values int
	// Below counts those whose value is less than the given one, and
	// AtOrBelow those whose value is less or equal.
	Below, AtOrBelow int
	// Percent is the value's percentile: 100 * AtOrBelow / Values, the
	// share of values at or below it; 0 when there are no values. For the
	// nearest-rank percentiles of Insights, Percent of Percentiles[p] is
	// at least p.
	Percent float64
}

// PercentileOf returns where value falls among the values of the named
// field, which must hold numbers, dates or datetimes (integers of either
// kind included). It does no scan once the statistics exist.
func (v View) PercentileOf(ctx context.Context, field string, value segment.Value) (Rank, error) {
	r, err := v.s.lookup(field)
	if err != nil {
		return Rank{}, err
	}
	if r.Type == schema.String || r.Type == schema.Boolean {
		return Rank{}, fmt.Errorf("%w: %s is %s; percentiles need numbers, dates or datetimes", ErrOperator, r.Name, r.Type)
	}
	x, err := r.bound("value", value)
	if err != nil {
		return Rank{}, err
	}
	c, err := v.column(ctx, r)
	if err != nil {
		return Rank{}, err
	}
	rk := Rank{Values: c.count()}
	below, atOrBelow := newMatcher(cond{iv: interval{hi: x, hiOpen: true}}), newMatcher(cond{iv: interval{hi: x}})
	rk.Below, rk.AtOrBelow = below.countSorted(c), atOrBelow.countSorted(c)
	if rk.Values > 0 {
		rk.Percent = 100 * float64(rk.AtOrBelow) / float64(rk.Values)
	}
	return rk, nil
}
