package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// EvalMeasureFor computes a customer attribute measure at asOf, as
// EvalMeasure does, for the customers of snap in customers only, such as
// the members shown beside a segment: the result has their values, and
// the other customers have none (null). Where the measure's related rows
// are clustered by customer, only the rows of those customers are read.
func EvalMeasureFor(ctx context.Context, snap *storage.Snapshot, m *segment.Measure, asOf time.Time, customers *roaring.Bitmap) (*Values, error) {
	if customers == nil {
		return nil, fmt.Errorf("%w: nil customers", ErrCompile)
	}
	return evalMeasure(ctx, snap, m, asOf, customers)
}

// measureFor computes the measure's values of the customers in only (ids
// beyond the snapshot's are ignored), with the type typ.
func (ec *evalCtx) measureFor(m *measureNode, only *roaring.Bitmap, typ schema.Type) (*Values, error) {
	cand := fromRoaring(only, ec.n)
	var mask bitset
	starts := m.links.Starts()
	switch {
	case starts != nil:
		// The candidates' rows, and of them those that pass where.
		list, domain := rowsOf(starts, cand, m.rows)
		mask = domain
		if m.where != nil {
			mask = evalAt(m.where.words(ec), list, domain)
		}
	case m.where != nil:
		var err error
		if mask, err = m.where.eval(ec, m.rows); err != nil {
			return nil, err
		}
	}
	v, err := ec.aggregate(m.links, m.rows, mask, m.agg)
	if err != nil {
		return nil, err
	}
	return &Values{v: v, typ: typ, only: cand}, nil
}
