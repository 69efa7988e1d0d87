package storage

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
)

// shopSchema is the schema of most tests: customers, their orders, the
// lines of the orders, and support cases that name both a customer and an
// order (two paths to the customer).
const shopSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.csv",
     "attributes": [
       {"name": "CustomerId", "type": "string"},
       {"name": "Age",        "type": "integer"},
       {"name": "Score",      "type": "number"},
       {"name": "Country",    "type": "string"},
       {"name": "SignupDate", "type": "date"},
       {"name": "LastSeen",   "type": "datetime"},
       {"name": "IsVip",      "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.csv",
     "attributes": [
       {"name": "OrderId",    "type": "string"},
       {"name": "CustomerId", "type": "string"},
       {"name": "Amount",     "type": "number"}]},
    {"name": "OrderLine", "key": "LineId", "source": "OrderLine.csv",
     "attributes": [
       {"name": "LineId",  "type": "integer"},
       {"name": "OrderId", "type": "string"},
       {"name": "Qty",     "type": "integer"}]},
    {"name": "Case", "key": "CaseId", "source": "Case.csv",
     "attributes": [
       {"name": "CaseId",     "type": "integer"},
       {"name": "CustomerId", "type": "string"},
       {"name": "OrderId",    "type": "string"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer",
     "from": {"entity": "Order", "attribute": "CustomerId"},
     "to":   {"entity": "Customer", "attribute": "CustomerId"}},
    {"name": "LineOrder",
     "from": {"entity": "OrderLine", "attribute": "OrderId"},
     "to":   {"entity": "Order", "attribute": "OrderId"}},
    {"name": "CaseCustomer",
     "from": {"entity": "Case", "attribute": "CustomerId"},
     "to":   {"entity": "Customer", "attribute": "CustomerId"}},
    {"name": "CaseOrder",
     "from": {"entity": "Case", "attribute": "OrderId"},
     "to":   {"entity": "Order", "attribute": "OrderId"}}
  ]
}`

// shopFiles is valid data for shopSchema.
func shopFiles() map[string]string {
	return map[string]string{
		"Customer.csv": "CustomerId,Age,Score,Country,SignupDate,LastSeen,IsVip\n" +
			"C1,30,1.5,FR,2024-02-29,2024-03-10T12:00:00+02:00,true\n" +
			"C2,,,,,,\n" +
			"C3,41,-2,FR,1970-01-01,2024-03-10T10:00:00.25Z,false\n",
		"Order.csv": "OrderId,CustomerId,Amount\n" +
			"O1,C1,10\n" +
			"O2,C3,20\n" +
			"O3,,5\n" + // null foreign key
			"O4,C9,7\n" + // dangling
			"O5,C1,1\n",
		"OrderLine.csv": "LineId,OrderId,Qty\n" +
			"1,O1,2\n" +
			"2,O4,1\n" + // order O4 has no customer: broken in the middle
			"3,O9,1\n" + // dangling order
			"4,O2,3\n" +
			"5,O1,1\n",
		"Case.csv": "CaseId,CustomerId,OrderId\n" +
			"100,C2,O2\n" +
			"101,,O5\n",
	}
}

// writeDir writes schema.json and files to a new temporary directory.
func writeDir(t testing.TB, schemaJSON string, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(schemaJSON), 0o644))
	for name, data := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	return dir
}

// loadShop loads shopSchema with files, with mem as the allocator.
func loadShop(t *testing.T, mem memory.Allocator, files map[string]string) (*Snapshot, error) {
	t.Helper()
	return Load(context.Background(), writeDir(t, shopSchema, files), Options{Allocator: mem})
}

func mustParseSchema(t testing.TB, s string) *schema.Schema {
	t.Helper()
	sch, err := schema.Parse([]byte(s))
	require.NoError(t, err)
	return sch
}

// formatAll returns every value of t as text, row by row.
func formatAll(t *Table) [][]string {
	out := make([][]string, t.NumRows)
	for r := range out {
		for _, c := range t.Columns {
			out[r] = append(out[r], c.Format(r))
		}
	}
	return out
}

// inKeyOrder returns the customer of every row of entity in the order of
// the entity's keys, shorter keys first: the files of these tests list their
// rows in that order, while Load clusters rows by customer.
func inKeyOrder(t *testing.T, snap *Snapshot, entity string, l *Links) []int32 {
	t.Helper()
	tbl := snap.Table(entity)
	require.NotNil(t, tbl)
	key := tbl.Column(tbl.Entity.Key)
	rows := make([]int, tbl.NumRows)
	for i := range rows {
		rows[i] = i
	}
	sort.SliceStable(rows, func(a, b int) bool {
		ka, kb := key.Format(rows[a]), key.Format(rows[b])
		if len(ka) != len(kb) {
			return len(ka) < len(kb)
		}
		return ka < kb
	})
	out := make([]int32, len(rows))
	for i, r := range rows {
		out[i] = l.Customer[r]
	}
	return out
}

// writeParquet writes tbl as a Parquet file to w, Snappy-compressed: one
// column per attribute, named after it, in its normalized Arrow type
// (strings keep their dictionary encoding), in row groups of at most
// groupRows rows (0: one row group). Load reads it back with the same
// values. tbl is only read, and w is not closed.
func writeParquet(t testing.TB, w io.Writer, tbl *Table, groupRows int64) {
	t.Helper()
	fields := make([]arrow.Field, len(tbl.Columns))
	cols := make([]arrow.Array, len(tbl.Columns))
	for i, c := range tbl.Columns {
		fields[i] = arrow.Field{Name: c.Attr.Name, Type: c.Data.DataType(), Nullable: true}
		cols[i] = c.Data
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(tbl.NumRows))
	defer rec.Release()
	at := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec})
	defer at.Release()
	if groupRows <= 0 {
		groupRows = max(int64(tbl.NumRows), 1)
	}
	props := parquet.NewWriterProperties(parquet.WithCompression(compress.Codecs.Snappy))
	// The anonymous struct hides a Close method of w: the Parquet writer
	// would otherwise close it.
	require.NoError(t, pqarrow.WriteTable(at, struct{ io.Writer }{w}, groupRows, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())))
}
