package demo

import (
	"context"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// TestLoadAndEvaluate loads a demo directory with the storage package and
// evaluates the example segment with the engine: the broken links are the
// ones written, and the members are the ones a plain reading of the files
// finds.
func TestLoadAndEvaluate(t *testing.T) {
	for _, seed := range []uint64{0, 1, 2} {
		dir, sum := write(t, Options{Customers: 3000, Seed: seed})
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		snap, err := storage.Load(context.Background(), dir, storage.Options{Allocator: mem})
		require.NoError(t, err)

		require.Equal(t, sum.Customers, snap.NumCustomers())
		for name, rows := range map[string]int{"Order": sum.Orders, "OrderLine": sum.OrderLines,
			"SupportCase": sum.SupportCases, "ChurnScore": sum.ChurnScores} {
			require.Equal(t, rows, snap.Table(name).NumRows, name)
		}
		var broken []BrokenLinks
		for _, r := range snap.LinkReports() {
			broken = append(broken, BrokenLinks{Relationship: r.Relationship, Null: r.Null, Dangling: r.Dangling})
		}
		require.Equal(t, sum.Broken, broken)

		def, err := segment.Parse(ExampleSegment())
		require.NoError(t, err)
		plan, err := engine.Compile(def, snap, engine.Options{})
		require.NoError(t, err)
		members, err := plan.Eval(context.Background(), sum.AsOf)
		require.NoError(t, err)
		var got []string
		it := members.Iterator()
		for it.HasNext() {
			got = append(got, snap.CustomerKey(it.Next()))
		}
		want := referenceMembers(t, dir, sum.AsOf)
		require.Equal(t, want, got)
		require.Len(t, got, sum.ExpectedMembers)

		// The same segment written with the schema's measures.
		def, err = segment.Parse([]byte(`{"name": "ByMeasures", "groups": [
			{"condition": {"and": [
				{"attribute": "Measures.Spend90d", "operator": "greaterThanOrEqual", "value": 500},
				{"attribute": "Measures.EscalatedCases", "operator": "greaterThan", "value": 0},
				{"attribute": "Measures.OrderCount", "operator": "greaterThan", "value": 0},
				{"attribute": "Measures.LastOrderDate", "operator": "isNotNull"},
				{"or": [{"attribute": "Measures.LastChannel", "operator": "isNotNull"},
				        {"attribute": "Measures.LastChannel", "operator": "isNull"}]}]}},
			{"setOperator": "except", "condition": {"attribute": "Customer.Country", "operator": "in", "value": ["BR", "JP"]}}]}`))
		require.NoError(t, err)
		plan, err = engine.Compile(def, snap, engine.Options{})
		require.NoError(t, err)
		byMeasures, err := plan.Eval(context.Background(), sum.AsOf)
		require.NoError(t, err)
		require.True(t, members.Equals(byMeasures))

		snap.Release()
		mem.AssertSize(t, 0)
	}
}
