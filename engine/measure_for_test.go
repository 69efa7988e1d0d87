package engine_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
)

// TestEvalMeasureFor checks that a measure computed for some customers
// gives them the values EvalMeasure gives them, and the others none, for
// each aggregate, with and without a where, over rows clustered by
// customer (Load) and as given (FromTables, FromRecords), and over a path
// of two relationships.
func TestEvalMeasureFor(t *testing.T) {
	measures := []string{
		`{"name": "Count", "related": "Order", "aggregate": {"function": "count"}}`,
		`{"name": "Web", "related": "Order", "where": {"attribute": "Order.Channel", "operator": "equals", "value": "web"}, "aggregate": {"function": "count"}}`,
		`{"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}}`,
		`{"name": "Recent", "related": "Order", "where": {"attribute": "Order.Day", "operator": "inLastDays", "value": 30}, "aggregate": {"function": "sum", "attribute": "Order.Amount"}}`,
		`{"name": "Qty", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Qty"}}`,
		`{"name": "AvgAmount", "related": "Order", "aggregate": {"function": "avg", "attribute": "Order.Amount"}}`,
		`{"name": "LastDay", "related": "Order", "aggregate": {"function": "max", "attribute": "Order.Day"}}`,
		`{"name": "MinQty", "related": "Order", "aggregate": {"function": "min", "attribute": "Order.Qty"}}`,
		`{"name": "Channels", "related": "Order", "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}}`,
		`{"name": "LastChannel", "related": "Order", "aggregate": {"function": "last", "attribute": "Order.Channel", "orderBy": "Order.Day"}}`,
		`{"name": "Skus", "related": "Line", "aggregate": {"function": "countDistinct", "attribute": "Line.Sku"}}`,
		`{"name": "SkuA", "related": "Line", "where": {"attribute": "Line.Sku", "operator": "equals", "value": "A"}, "aggregate": {"function": "count"}}`,
	}
	subsets := [][]uint32{{}, {0}, {0, 3}, {1, 2, 4}, {0, 1, 2, 3, 4, 5}, {5, 1000}}
	for _, ld := range loaders() {
		t.Run(ld.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			snap := ld.load(t, mem, withMeasures(measures...))
			defer snap.Release()
			require.NoError(t, engine.Measures(snap).Err())
			for _, m := range engine.Measures(snap).List() {
				full, err := engine.EvalMeasure(context.Background(), snap, m, asOf)
				require.NoError(t, err, m.Name)
				for _, ids := range subsets {
					set := roaring.BitmapOf(ids...)
					got, err := engine.EvalMeasureFor(context.Background(), snap, m, asOf, set)
					require.NoError(t, err, m.Name)
					require.Equal(t, full.Type(), got.Type(), m.Name)
					for id := range uint32(snap.NumCustomers()) {
						what := fmt.Sprintf("%s of customer %d for %v", m.Name, id, ids)
						if set.Contains(id) {
							require.Equal(t, full.Valid(id), got.Valid(id), what)
							require.Equal(t, full.Format(id), got.Format(id), what)
							require.Equal(t, full.Value(id), got.Value(id), what)
						} else {
							require.False(t, got.Valid(id), what)
							require.Empty(t, got.Format(id), what)
							require.Nil(t, got.Value(id), what)
						}
					}
				}
			}
		})
	}
	snap := load(t)
	m, ok := engine.Measures(snap).Lookup("Spend")
	require.True(t, ok)
	_, err := engine.EvalMeasureFor(context.Background(), snap, m, asOf, nil)
	require.ErrorIs(t, err, engine.ErrCompile)
	_, err = engine.EvalMeasureFor(context.Background(), snap, &segment.Measure{Name: "X", Entity: "Nope"}, asOf, roaring.New())
	require.Error(t, err)
}
