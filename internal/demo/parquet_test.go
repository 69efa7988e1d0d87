package demo

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	pqschema "github.com/apache/arrow-go/v18/parquet/schema"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// parquetSegments are definitions over every attribute type and both
// relationship paths' depths, evaluated on the CSV and the Parquet
// directory of the same options.
var parquetSegments = []string{
	string(ExampleSegment()),
	`{"name": "LapsedVips", "groups": [{"condition": {"and": [
		{"attribute": "Customer.IsVip", "operator": "isTrue"},
		{"not": {"attribute": "Customer.LastSeen", "operator": "inLastDays", "value": 30}}]}}]}`,
	`{"name": "ToyBaskets", "groups": [{"condition": {"related": "OrderLine",
		"where": {"and": [{"attribute": "OrderLine.Category", "operator": "equals", "value": "Toys"},
		                  {"attribute": "OrderLine.Quantity", "operator": "greaterThanOrEqual", "value": 2}]},
		"aggregate": {"function": "sum", "attribute": "OrderLine.Price"}, "operator": "greaterThan", "value": 60}}]}`,
	`{"name": "LikelyChurners", "groups": [{"condition": {"and": [
		{"attribute": "ChurnScore.Score", "operator": "greaterThan", "value": 0.7},
		{"attribute": "Customer.SignupDate", "operator": "lessThan", "value": "2024-01-01"},
		{"attribute": "Customer.Email", "operator": "endsWith", "value": "@EXAMPLE.COM", "ignoreCase": true},
		{"attribute": "Customer.Age", "operator": "between", "value": [30, 60]}]}}]}`,
}

// TestParquetDirectory writes the same demo as CSV and as Parquet: the
// Parquet directory loads to the same snapshot, value for value, and the
// segments have the same members in both.
func TestParquetDirectory(t *testing.T) {
	opts := Options{Customers: 3000, Seed: 5}
	csvDir, csvSum := write(t, opts)
	opts.Format = Parquet
	pqDir, pqSum := write(t, opts)
	require.Equal(t, Parquet, pqSum.Format)
	require.Equal(t, CSV, csvSum.Format)
	require.Equal(t, csvSum.ExpectedMembers, pqSum.ExpectedMembers)
	require.Equal(t, csvSum.Broken, pqSum.Broken)

	data, err := os.ReadFile(filepath.Join(pqDir, SchemaFile))
	require.NoError(t, err)
	sch, err := schema.Parse(data)
	require.NoError(t, err)
	for _, e := range sch.Entities {
		require.Equal(t, e.Name+"/"+e.Name+".parquet", e.File)
	}

	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	fromCSV, err := storage.Load(ctx, csvDir, storage.Options{Allocator: mem})
	require.NoError(t, err)
	defer fromCSV.Release()
	fromParquet, err := storage.Load(ctx, pqDir, storage.Options{Allocator: mem})
	require.NoError(t, err)
	defer fromParquet.Release()

	require.Equal(t, fromCSV.LinkReports(), fromParquet.LinkReports())
	for _, e := range Schema().Entities {
		a, b := fromCSV.Table(e.Name), fromParquet.Table(e.Name)
		require.Equal(t, a.NumRows, b.NumRows, e.Name)
		require.Positive(t, a.NumRows, e.Name)
		for i, col := range a.Columns {
			other := b.Columns[i]
			require.Equal(t, col.Attr, other.Attr)
			for r := range a.NumRows {
				require.Equal(t, col.Data.IsNull(r), other.Data.IsNull(r), "%s.%s row %d", e.Name, col.Attr.Name, r)
				require.Equal(t, col.Format(r), other.Format(r), "%s.%s row %d", e.Name, col.Attr.Name, r)
			}
		}
	}

	for _, js := range parquetSegments {
		def, err := segment.Parse([]byte(js))
		require.NoError(t, err)
		var counts []uint64
		for _, snap := range []*storage.Snapshot{fromCSV, fromParquet} {
			plan, err := engine.Compile(def, snap, engine.Options{})
			require.NoError(t, err, def.Name)
			members, err := plan.Eval(ctx, pqSum.AsOf)
			require.NoError(t, err, def.Name)
			counts = append(counts, members.GetCardinality())
			if len(counts) == 2 {
				require.Equal(t, counts[0], counts[1], def.Name)
			}
			if def.Name == "HighValueEscalated" {
				require.EqualValues(t, pqSum.ExpectedMembers, members.GetCardinality())
			}
		}
		require.Positive(t, counts[0], "%s has no members: the test compares nothing", def.Name)
	}
}

// TestParquetFiles reads the Parquet files' own schemas and rows: the
// column types are those docs/scale-out.md gives Spark and Trino, and the
// rows are in the order of the CSV files.
func TestParquetFiles(t *testing.T) {
	opts := Options{Customers: 800, Seed: 2}
	csvDir, _ := write(t, opts)
	opts.Format = Parquet
	pqDir, _ := write(t, opts)
	again, _ := write(t, opts)
	for _, f := range Files(Parquet) {
		a, err := os.ReadFile(filepath.Join(pqDir, f))
		require.NoError(t, err)
		b, err := os.ReadFile(filepath.Join(again, f))
		require.NoError(t, err)
		require.True(t, bytes.Equal(a, b), "%s differs between two writes with the same options", f)
	}

	type colType struct {
		physical parquet.Type
		logical  string
	}
	want := map[schema.Type]colType{
		schema.Integer:  {parquet.Types.Int64, pqschema.NewIntLogicalType(64, true).String()},
		schema.Number:   {parquet.Types.Double, pqschema.NoLogicalType{}.String()},
		schema.String:   {parquet.Types.ByteArray, pqschema.StringLogicalType{}.String()},
		schema.Date:     {parquet.Types.Int32, pqschema.DateLogicalType{}.String()},
		schema.Datetime: {parquet.Types.Int64, pqschema.NewTimestampLogicalType(true, pqschema.TimeUnitMicros).String()},
		schema.Boolean:  {parquet.Types.Boolean, pqschema.NoLogicalType{}.String()},
	}
	seen := map[schema.Type]bool{}
	for _, e := range Schema().Entities {
		path := filepath.Join(pqDir, filepath.FromSlash(DataFile(e.Name, Parquet)))
		rdr, err := file.OpenParquetFile(path, false)
		require.NoError(t, err)
		cols := rdr.MetaData().Schema
		require.Equal(t, len(e.Attributes), cols.NumColumns(), e.Name)
		for i, a := range e.Attributes {
			c := cols.Column(i)
			require.Equal(t, a.Name, c.Name())
			require.Equal(t, want[a.Type], colType{c.PhysicalType(), c.LogicalType().String()}, "%s.%s", e.Name, a.Name)
			if a.Type == schema.Datetime {
				ts, ok := c.LogicalType().(pqschema.TimestampLogicalType)
				require.True(t, ok, "%s.%s: %T", e.Name, a.Name, c.LogicalType())
				require.True(t, ts.IsAdjustedToUTC())
				require.Equal(t, pqschema.TimeUnitMicros, ts.TimeUnit())
			}
			seen[a.Type] = true
		}

		// The key column, read plainly, is the CSV file's, in its order.
		fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
		require.NoError(t, err)
		tbl, err := fr.ReadTable(context.Background())
		require.NoError(t, err)
		var keys []string
		key := tbl.Column(e.AttributeIndex(e.Key))
		for _, chunk := range key.Data().Chunks() {
			s := chunk.(*array.String)
			for i := range s.Len() {
				keys = append(keys, s.Value(i))
			}
		}
		tbl.Release()
		require.NoError(t, rdr.Close())
		rows := readCSV(t, filepath.Join(csvDir, e.File))
		var csvKeys []string
		for _, r := range rows[1:] {
			csvKeys = append(csvKeys, r[e.AttributeIndex(e.Key)])
		}
		require.Equal(t, csvKeys, keys, "%s: the Parquet rows are not in the CSV file's order", e.Name)
	}
	require.Len(t, seen, len(want), "the demo schema should have every attribute type")
}

func TestParseFormat(t *testing.T) {
	for name, f := range map[string]Format{"": CSV, "csv": CSV, "parquet": Parquet} {
		got, err := ParseFormat(name)
		require.NoError(t, err)
		require.Equal(t, f, got)
	}
	for _, name := range []string{"CSV", "json", "parquet "} {
		_, err := ParseFormat(name)
		require.ErrorIs(t, err, ErrOptions)
		require.ErrorContains(t, err, "csv, parquet")
	}
	_, err := Write(context.Background(), t.TempDir(), Options{Customers: 5, Format: "orc"})
	require.ErrorIs(t, err, ErrOptions)
}
