package quick

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/storage"
)

// TestFieldsShareSnapshotMeasures checks that the measure fields of quick
// segments are the snapshot's parsed measures (engine.Measures), not a
// parse of their own.
func TestFieldsShareSnapshotMeasures(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"schema.json": `{"customerEntity": "Customer",
		  "entities": [
		    {"name": "Customer", "key": "Id", "source": "Customer.csv", "attributes": [{"name": "Id", "type": "string"}]},
		    {"name": "Order", "key": "OrderId", "source": "Order.csv", "attributes": [
		      {"name": "OrderId", "type": "integer"}, {"name": "CustomerId", "type": "string"}, {"name": "Amount", "type": "number"}]}],
		  "relationships": [{"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "Id"}}],
		  "measures": [
		    {"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}},
		    {"name": "Orders", "related": "Order", "aggregate": {"function": "count"}}]}`,
		"Customer.csv": "Id\nc0\nc1\n",
		"Order.csv":    "OrderId,CustomerId,Amount\n1,c0,5\n2,c0,7\n3,c1,1\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	snap, err := storage.Load(t.Context(), dir, storage.Options{Allocator: mem})
	require.NoError(t, err)
	defer snap.Release()

	ms := engine.Measures(snap)
	for _, st := range []*Stats{New(snap, Options{}), New(snap, Options{})} {
		require.NoError(t, st.measureErr)
		for _, name := range []string{"Spend", "Orders"} {
			want, ok := ms.Lookup(name)
			require.True(t, ok)
			r, ok := st.fields["Measures."+name]
			require.True(t, ok, name)
			require.Same(t, want, r.measure, name)
		}
	}
}
