package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// TestEmptyAndTinyTables evaluates every kind of condition over no
// customers, one customer without orders, and all-null columns.
func TestEmptyAndTinyTables(t *testing.T) {
	conds := []string{
		pred("I", "greaterThan", "3"), pred("I", "notEquals", "3"), pred("I", "isNull", ""),
		pred("N", "notIn", "[1, 2.25]"), pred("S", "contains", `"pp"`), pred("S", "notContains", `"pp"`),
		`{"attribute": "Customer.S", "operator": "contains", "value": "APP", "ignoreCase": true}`,
		pred("S", "isNull", ""), pred("D", "inLastDays", "100"), pred("T", "inNextDays", "3"), pred("B", "isTrue", ""),
		`{"not": ` + pred("B", "isTrue", "") + `}`,
		rel(`{"attribute": "Order.Channel", "operator": "contains", "value": "eb"}`, ""),
		rel(`{"attribute": "Order.Channel", "operator": "notEquals", "value": "web"}`, `, "match": "all"`),
		rel(`{"attribute": "Order.Channel", "operator": "contains", "value": "eb"}`, `, "match": "none"`),
		rel("", `, "aggregate": {"function": "count"}, "operator": "equals", "value": 0`),
		rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "equals", "value": 0`),
		rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Qty"}, "operator": "equals", "value": 0`),
		rel("", `, "aggregate": {"function": "avg", "attribute": "Order.Qty"}, "operator": "isNull"`),
		rel("", `, "aggregate": {"function": "min", "attribute": "Order.Day"}, "operator": "isNull"`),
		rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "equals", "value": 0`),
		`{"attribute": "Measures.LastChannel", "operator": "isNull"}`,
		`{"attribute": "Measures.FirstQty", "operator": "isNull"}`,
		`{"attribute": "Measures.Spend", "operator": "equals", "value": 0}`,
		`{"and": [` + pred("I", "isNull", "") + `, ` + rel(`{"attribute": "Order.Qty", "operator": "notEquals", "value": 3}`, `, "match": "none"`) + `]}`,
	}
	for _, tc := range []struct {
		name, customers, orders string
	}{
		{"no customers", "Id,I,N,S,D,T,B\n", "OrderId,CustomerId,Amount,Qty,Day,Channel\n1,zz,1,1,2026-06-01,web\n"},
		{"one customer no orders", "Id,I,N,S,D,T,B\nc0,,,,,,\n", "OrderId,CustomerId,Amount,Qty,Day,Channel\n"},
		{"one customer null orders", "Id,I,N,S,D,T,B\nc0,,,,,,\n", "OrderId,CustomerId,Amount,Qty,Day,Channel\n1,c0,,,,\n2,c0,,,,\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, body := range map[string]string{"schema.json": testSchema, "Customer.csv": tc.customers, "Order.csv": tc.orders, "Line.csv": "LineId,OrderId,Sku\n"} {
				require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
			}
			snap, err := storage.Load(context.Background(), dir, storage.Options{})
			require.NoError(t, err)
			defer snap.Release()
			for _, c := range conds {
				def, err := segment.Parse([]byte(`{"name": "P", "groups": [{"condition": ` + c + `}]}`))
				require.NoError(t, err)
				for _, opts := range []engine.Options{{}, {CandidateShare: 1}, {Cache: engine.NewCache(snap, 0)}} {
					plan, err := engine.Compile(def, snap, opts)
					require.NoError(t, err, c)
					bm, err := plan.Eval(context.Background(), asOf)
					require.NoError(t, err, c)
					require.LessOrEqual(t, bm.GetCardinality(), uint64(snap.NumCustomers()), c)
				}
			}
		})
	}
}
