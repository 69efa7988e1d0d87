package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// writeWideDir writes a data directory whose customer entity has attrs
// attributes (an integer key and attrs-1 integers, A1...) and rows rows,
// and whose orders entity as many again.
func writeWideDir(tb testing.TB, attrs, rows int) string {
	tb.Helper()
	dir := tb.TempDir()
	var sch, cust, ord strings.Builder
	sch.WriteString(`{"customerEntity": "Customer", "entities": [{"name": "Customer", "key": "Id", "source": "Customer.csv", "attributes": [{"name": "Id", "type": "integer"}`)
	cust.WriteString("Id")
	for i := 1; i < attrs; i++ {
		fmt.Fprintf(&sch, `, {"name": "A%d", "type": "integer"}`, i)
		fmt.Fprintf(&cust, ",A%d", i)
	}
	sch.WriteString(`]}, {"name": "Order", "key": "OrderId", "source": "Order.csv", "attributes": [{"name": "OrderId", "type": "integer"}, {"name": "CustomerId", "type": "integer"}`)
	ord.WriteString("OrderId,CustomerId")
	for i := 1; i < attrs-1; i++ {
		fmt.Fprintf(&sch, `, {"name": "B%d", "type": "integer"}`, i)
		fmt.Fprintf(&ord, ",B%d", i)
	}
	sch.WriteString(`]}], "relationships": [{"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "Id"}}]}`)
	cust.WriteString("\n")
	ord.WriteString("\n")
	for r := range rows {
		fmt.Fprintf(&cust, "%d", r)
		fmt.Fprintf(&ord, "%d,%d", r, r)
		for i := 1; i < attrs; i++ {
			fmt.Fprintf(&cust, ",%d", (r+i)%10)
			if i < attrs-1 {
				fmt.Fprintf(&ord, ",%d", (r*i)%7)
			}
		}
		cust.WriteString("\n")
		ord.WriteString("\n")
	}
	for name, body := range map[string]string{"schema.json": sch.String(), "Customer.csv": cust.String(), "Order.csv": ord.String()} {
		require.NoError(tb, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

// BenchmarkWideSchema loads a data directory whose entities have 1,000
// or 10,000 attributes (100 rows each) and evaluates a definition that
// reads the last attribute of each: the work per attribute must stay
// constant, so that 10,000 attributes take about ten times as long as
// 1,000, not a hundred.
func BenchmarkWideSchema(b *testing.B) {
	for _, attrs := range []int{1000, 10000} {
		dir := writeWideDir(b, attrs, 100)
		def := fmt.Sprintf(`{"name": "W", "groups": [{"condition": {"and": [
		  {"attribute": "Customer.A%d", "operator": "greaterThan", "value": 4},
		  {"related": "Order", "where": {"attribute": "Order.B%d", "operator": "lessThan", "value": 3}}]}}]}`, attrs-1, attrs-2)
		d, err := segment.Parse([]byte(def))
		require.NoError(b, err)
		b.Run(fmt.Sprintf("attributes=%d/load", attrs), func(b *testing.B) {
			for b.Loop() {
				snap, err := storage.Load(context.Background(), dir, storage.Options{})
				require.NoError(b, err)
				snap.Release()
			}
		})
		snap, err := storage.Load(context.Background(), dir, storage.Options{})
		require.NoError(b, err)
		b.Run(fmt.Sprintf("attributes=%d/eval", attrs), func(b *testing.B) {
			for b.Loop() {
				plan, err := engine.Compile(d, snap, engine.Options{})
				require.NoError(b, err)
				bm, err := plan.Eval(context.Background(), asOf)
				require.NoError(b, err)
				require.NotZero(b, bm.GetCardinality())
			}
		})
		snap.Release()
	}
}
