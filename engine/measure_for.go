package engine

import (
	"context"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/internal/column"
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
// beyond the snapshot's are ignored), with the type typ: over their rows
// alone when the rows are clustered by customer, else over every row.
func (ec *evalCtx) measureFor(m *measureNode, only *roaring.Bitmap, typ schema.Type) (*Values, error) {
	cand := column.FromRoaring(only, ec.n)
	var v *column.Vec
	var err error
	if starts := m.links.Starts(); starts == nil {
		v, err = ec.measure(m)
	} else {
		// The candidates' rows, and of them those that pass where.
		list, mask := rowsOf(starts, cand, m.rows)
		if m.where != nil {
			mask = evalAt(m.where.words(ec), list, mask)
		}
		v, err = ec.aggregate(m.links, m.rows, mask, m.agg)
	}
	if err != nil {
		return nil, err
	}
	return &Values{v: v, typ: typ, only: cand}, nil
}
