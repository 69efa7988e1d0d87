package storage

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// fromJSON builds an array of type dt from JSON values.
func fromJSON(t *testing.T, mem memory.Allocator, dt arrow.DataType, values string) arrow.Array {
	t.Helper()
	arr, _, err := array.FromJSON(mem, dt, strings.NewReader(values))
	require.NoError(t, err)
	return arr
}

// recordOf builds a record from named arrays; it releases nothing.
func recordOf(names []string, cols []arrow.Array) arrow.RecordBatch {
	fields := make([]arrow.Field, len(names))
	for i, n := range names {
		fields[i] = arrow.Field{Name: n, Type: cols[i].DataType(), Nullable: true}
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(cols[0].Len()))
}

func TestFromRecordsZeroCopy(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	names := []string{"Extra", "B", "T", "D", "S", "N", "I", "Id"}
	dict := fromJSON(t, mem, arrow.BinaryTypes.String, `["x", "y"]`)
	codes := fromJSON(t, mem, arrow.PrimitiveTypes.Int32, `[1, 0, null]`)
	cols := []arrow.Array{
		fromJSON(t, mem, arrow.PrimitiveTypes.Int8, `[1, 2, 3]`),
		fromJSON(t, mem, arrow.FixedWidthTypes.Boolean, `[true, null, false]`),
		fromJSON(t, mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "America/New_York"}, `[0, 1500000, null]`),
		fromJSON(t, mem, arrow.FixedWidthTypes.Date32, `[0, null, 19782]`),
		array.NewDictionaryArray(stringDictType, codes, dict),
		fromJSON(t, mem, arrow.PrimitiveTypes.Float64, `[1.5, null, -2]`),
		fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[null, 7, -7]`),
		fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[10, 11, 12]`),
	}
	dict.Release()
	codes.Release()
	rec := recordOf(names, cols)
	releaseArrays(cols)

	snap, err := FromRecords(t.Context(), mustParseSchema(t, typesSchema), map[string]arrow.RecordBatch{"Customer": rec}, Options{Allocator: mem})
	require.NoError(t, err)
	defer snap.Release()

	tbl := snap.Customers()
	for i, name := range names[1:] {
		t.Run(name, func(t *testing.T) {
			in := rec.Column(i + 1).Data()
			got := tbl.Column(name).Data.Data()
			require.Same(t, in.Buffers()[1], got.Buffers()[1], "values buffer shared")
			require.Same(t, in.Buffers()[0], got.Buffers()[0], "validity buffer shared")
		})
	}
	require.True(t, arrow.TypeEqual(timestampType, tbl.Column("T").Data.DataType()))
	rec.Release() // the snapshot holds its own references

	require.Equal(t, [][]string{
		{"10", "", "1.5", "y", "1970-01-01", "1970-01-01T00:00:00Z", "true"},
		{"11", "7", "", "x", "", "1970-01-01T00:00:01.5Z", ""},
		{"12", "-7", "-2", "", "2024-02-29", "", "false"},
	}, formatAll(tbl))
	id, ok := snap.CustomerID("11")
	require.True(t, ok)
	require.Equal(t, uint32(1), id)
}

func TestFromRecordsConversions(t *testing.T) {
	nanBuilder := func(mem memory.Allocator) arrow.Array {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendValues([]float64{1, math.NaN(), 2}, []bool{true, true, true})
		return b.NewArray()
	}
	nullNaN := func(mem memory.Allocator) arrow.Array {
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		b.AppendValues([]float64{1, math.NaN(), 2}, []bool{true, false, true})
		return b.NewArray()
	}
	badDict := func(mem memory.Allocator) arrow.Array {
		d, _, _ := array.FromJSON(mem, arrow.BinaryTypes.String, strings.NewReader(`["a"]`))
		defer d.Release()
		i, _, _ := array.FromJSON(mem, arrow.PrimitiveTypes.Int32, strings.NewReader(`[0, 5, null]`))
		defer i.Release()
		return array.NewDictionaryArray(stringDictType, i, d)
	}
	largeDict := func(mem memory.Allocator) arrow.Array {
		d, _, _ := array.FromJSON(mem, arrow.BinaryTypes.LargeString, strings.NewReader(`["a", "b"]`))
		defer d.Release()
		i, _, _ := array.FromJSON(mem, arrow.PrimitiveTypes.Uint16, strings.NewReader(`[1, null, 0]`))
		defer i.Release()
		dt := &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Uint16, ValueType: arrow.BinaryTypes.LargeString}
		return array.NewDictionaryArray(dt, i, d)
	}
	invalidUTF8 := func(mem memory.Allocator) arrow.Array {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.AppendValues([]string{"a", "b\xff", "c"}, nil)
		return b.NewArray()
	}
	tests := []struct {
		name    string
		typ     string // attribute type
		dt      arrow.DataType
		json    string
		build   func(memory.Allocator) arrow.Array
		want    []string
		wantErr string
		dictOut bool
	}{
		{name: "int8", typ: "integer", dt: arrow.PrimitiveTypes.Int8, json: `[1, null, -128]`, want: []string{"1", "", "-128"}},
		{name: "int16", typ: "integer", dt: arrow.PrimitiveTypes.Int16, json: `[1, null, -32768]`, want: []string{"1", "", "-32768"}},
		{name: "int32", typ: "integer", dt: arrow.PrimitiveTypes.Int32, json: `[1, null, 2147483647]`, want: []string{"1", "", "2147483647"}},
		{name: "uint8", typ: "integer", dt: arrow.PrimitiveTypes.Uint8, json: `[1, null, 255]`, want: []string{"1", "", "255"}},
		{name: "uint16", typ: "integer", dt: arrow.PrimitiveTypes.Uint16, json: `[1, null, 65535]`, want: []string{"1", "", "65535"}},
		{name: "uint32", typ: "integer", dt: arrow.PrimitiveTypes.Uint32, json: `[1, null, 4294967295]`, want: []string{"1", "", "4294967295"}},
		{name: "uint64", typ: "integer", dt: arrow.PrimitiveTypes.Uint64, json: `[1, 2, 3]`, wantErr: "P: column X has Arrow type uint64, want int64 (integer)"},
		{name: "float32", typ: "number", dt: arrow.PrimitiveTypes.Float32, json: `[1.5, null, -0.25]`, want: []string{"1.5", "", "-0.25"}},
		{name: "float64 NaN", typ: "number", build: nanBuilder, wantErr: "P: row 1: column X: NaN is NaN or infinite"},
		{name: "float64 NaN under null", typ: "number", build: nullNaN, want: []string{"1", "", "2"}},
		{name: "int as number", typ: "number", dt: arrow.PrimitiveTypes.Int64, json: `[1, 2, 3]`, wantErr: "has Arrow type int64, want float64 (number)"},
		{name: "large string", typ: "string", dt: arrow.BinaryTypes.LargeString, json: `["a", null, "b"]`, want: []string{"a", "", "b"}},
		{name: "string view", typ: "string", dt: arrow.BinaryTypes.StringView, json: `["a", null, "a long string past the inline size"]`, want: []string{"a", "", "a long string past the inline size"}},
		{name: "dictionary int8", typ: "string", dt: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}, json: `["a", null, "a"]`, want: []string{"a", "", "a"}, dictOut: true},
		{name: "dictionary large string", typ: "string", build: largeDict, want: []string{"b", "", "a"}},
		{name: "dictionary index out of range", typ: "string", build: badDict, wantErr: "P: row 1: column X: index 5 is outside the dictionary"},
		{name: "invalid UTF-8", typ: "string", build: invalidUTF8, wantErr: `P: row 1: column X: "b\xff" is not valid UTF-8`},
		{name: "binary", typ: "string", dt: arrow.BinaryTypes.Binary, json: `["YQ==", null, "Yg=="]`, wantErr: "has Arrow type binary, want utf8 (string)"},
		{name: "date64", typ: "date", dt: arrow.FixedWidthTypes.Date64, json: `[259200000, null, -86400000]`, want: []string{"1970-01-04", "", "1969-12-31"}},
		{name: "date32 first and last days", typ: "date", dt: arrow.FixedWidthTypes.Date32, json: `[2932896, null, -719528]`, want: []string{"9999-12-31", "", "0000-01-01"}},
		{name: "date32 after year 9999", typ: "date", dt: arrow.FixedWidthTypes.Date32, json: `[0, null, 2932897]`, wantErr: "P: row 2: column X: date32 2932897 is outside years 0000 to 9999"},
		{name: "date64 before year 0000", typ: "date", dt: arrow.FixedWidthTypes.Date64, json: `[-62167305600000, null, 0]`, wantErr: "P: row 0: column X: date64 -62167305600000 is outside years 0000 to 9999"},
		{name: "date64 not a day", typ: "date", dt: arrow.FixedWidthTypes.Date64, json: `[0, 1, null]`, wantErr: "P: row 1: column X: date64 1 is not a whole day"},
		{name: "timestamp s", typ: "datetime", dt: arrow.FixedWidthTypes.Timestamp_s, json: `[1, null, -1]`, want: []string{"1970-01-01T00:00:01Z", "", "1969-12-31T23:59:59Z"}},
		{name: "timestamp ms", typ: "datetime", dt: arrow.FixedWidthTypes.Timestamp_ms, json: `[1500, null, 0]`, want: []string{"1970-01-01T00:00:01.5Z", "", "1970-01-01T00:00:00Z"}},
		{name: "timestamp ns", typ: "datetime", dt: arrow.FixedWidthTypes.Timestamp_ns, json: `[1000, null, -2000]`, want: []string{"1970-01-01T00:00:00.000001Z", "", "1969-12-31T23:59:59.999998Z"}},
		{name: "timestamp ns sub-microsecond", typ: "datetime", dt: arrow.FixedWidthTypes.Timestamp_ns, json: `[1000, 1001, null]`, wantErr: "P: row 1: column X: timestamp 1001 (ns) has sub-microsecond precision"},
		{name: "timestamp s overflow", typ: "datetime", dt: arrow.FixedWidthTypes.Timestamp_s, json: `[0, null, 9223372036854775807]`, wantErr: "row 2: column X: timestamp 9223372036854775807 (s) is out of the range"},
		{name: "timestamp us after year 9999", typ: "datetime", dt: arrow.FixedWidthTypes.Timestamp_us, json: `[0, null, 253402300800000000]`, wantErr: "P: row 2: column X: timestamp 253402300800000000 (us) is outside years 0000 to 9999 in UTC"},
		{name: "timestamp us last instant", typ: "datetime", dt: arrow.FixedWidthTypes.Timestamp_us, json: `[253402300799999999, null, -62167219200000000]`, want: []string{"9999-12-31T23:59:59.999999Z", "", "0000-01-01T00:00:00Z"}},
		{name: "timestamp s before year 0000", typ: "datetime", dt: arrow.FixedWidthTypes.Timestamp_s, json: `[-62167219201, null, 0]`, wantErr: "P: row 0: column X: timestamp -62167219201 (s) is outside years 0000 to 9999 in UTC"},
		{name: "timestamp naive", typ: "datetime", dt: &arrow.TimestampType{Unit: arrow.Microsecond}, json: `[1, null, 2]`, want: []string{"1970-01-01T00:00:00.000001Z", "", "1970-01-01T00:00:00.000002Z"}},
		{name: "bool from int", typ: "boolean", dt: arrow.PrimitiveTypes.Int64, json: `[1, 0, 1]`, wantErr: "has Arrow type int64, want bool (boolean)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			sch := mustParseSchema(t, fmt.Sprintf(`{"customerEntity": "P", "entities": [{"name": "P", "key": "K",
			  "attributes": [{"name": "K", "type": "integer"}, {"name": "X", "type": %q}]}]}`, tt.typ))
			var x arrow.Array
			if tt.build != nil {
				x = tt.build(mem)
			} else {
				x = fromJSON(t, mem, tt.dt, tt.json)
			}
			k := fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[0, 1, 2]`)
			rec := recordOf([]string{"K", "X"}, []arrow.Array{k, x})
			defer rec.Release()
			k.Release()
			x.Release()

			snap, err := FromRecords(t.Context(), sch, map[string]arrow.RecordBatch{"P": rec}, Options{Allocator: mem})
			if tt.wantErr != "" {
				require.ErrorIs(t, err, ErrData)
				require.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			defer snap.Release()
			col := snap.Customers().Column("X")
			require.Equal(t, ArrowType(col.Attr.Type).ID() == arrow.STRING && tt.dictOut, col.Data.DataType().ID() == arrow.DICTIONARY)
			if col.Data.DataType().ID() == arrow.DICTIONARY {
				require.True(t, arrow.TypeEqual(stringDictType, col.Data.DataType()))
			} else {
				require.True(t, arrow.TypeEqual(ArrowType(col.Attr.Type), col.Data.DataType()), "got %s", col.Data.DataType())
			}
			got := make([]string, col.Data.Len())
			for i := range got {
				got[i] = col.Format(i)
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestFromTablesChunks(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	sc := arrow.NewSchema([]arrow.Field{
		{Name: "Id", Type: arrow.PrimitiveTypes.Int32},
		{Name: "I", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "N", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "S", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "D", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "T", Type: arrow.FixedWidthTypes.Timestamp_ms, Nullable: true},
		{Name: "B", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil)
	tbl, err := array.TableFromJSON(mem, sc, []string{
		`[{"Id": 1, "I": 5, "N": 0.5, "S": "a", "D": 1, "T": 1000, "B": true},
		  {"Id": 2, "I": null, "N": null, "S": null, "D": null, "T": null, "B": null}]`,
		`[{"Id": 3, "I": -1, "N": 2, "S": "a", "D": 2, "T": 1, "B": false}]`,
		`[]`,
		`[{"Id": 4, "I": 0, "N": 3, "S": "b", "D": 3, "T": 2, "B": true}]`,
	})
	require.NoError(t, err)
	defer tbl.Release()

	snap, err := FromTables(t.Context(), mustParseSchema(t, typesSchema), map[string]arrow.Table{"Customer": tbl}, Options{Allocator: mem})
	require.NoError(t, err)
	defer snap.Release()
	require.Equal(t, [][]string{
		{"1", "5", "0.5", "a", "1970-01-02", "1970-01-01T00:00:01Z", "true"},
		{"2", "", "", "", "", "", ""},
		{"3", "-1", "2", "a", "1970-01-03", "1970-01-01T00:00:00.001Z", "false"},
		{"4", "0", "3", "b", "1970-01-04", "1970-01-01T00:00:00.002Z", "true"},
	}, formatAll(snap.Customers()))
	for _, c := range snap.Customers().Columns {
		require.Equal(t, 4, c.Data.Len())
		require.Equal(t, 1, c.Data.NullN()-boolToInt(c.Attr.Name == "Id"), c.Attr.Name)
	}
}

func boolToInt(b bool) int {
	if b {
		return -1
	}
	return 0
}

func TestFromRecordsProblems(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sch := mustParseSchema(t, shopSchema)

	orders := func() arrow.RecordBatch {
		id := fromJSON(t, mem, arrow.BinaryTypes.String, `["O1", "O2", "O1"]`)
		cust := fromJSON(t, mem, arrow.BinaryTypes.String, `["C1", null, "C1"]`)
		amt := fromJSON(t, mem, arrow.PrimitiveTypes.Float64, `[1, 2, 3]`)
		defer releaseArrays([]arrow.Array{id, cust, amt})
		return recordOf([]string{"OrderId", "CustomerId", "Amount"}, []arrow.Array{id, cust, amt})
	}()
	defer orders.Release()

	tests := []struct {
		name     string
		records  map[string]arrow.RecordBatch
		sentinel error
		want     string
	}{
		{"unknown entity", map[string]arrow.RecordBatch{"Orders": orders}, ErrData, "no entity Orders in the schema (did you mean Order?)"},
		{"missing entity", map[string]arrow.RecordBatch{"Order": orders}, ErrData, "Customer: no data for entity Customer"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromRecords(t.Context(), sch, tt.records, Options{Allocator: mem})
			require.ErrorIs(t, err, tt.sentinel)
			require.Contains(t, err.Error(), tt.want)
		})
	}

	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		sch := mustParseSchema(t, `{"customerEntity": "Order", "entities": [{"name": "Order", "key": "OrderId",
		  "attributes": [{"name": "OrderId", "type": "string"}]}]}`)
		_, err := FromRecords(ctx, sch, map[string]arrow.RecordBatch{"Order": orders}, Options{Allocator: mem})
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("duplicate key", func(t *testing.T) {
		sch := mustParseSchema(t, `{"customerEntity": "Order", "entities": [{"name": "Order", "key": "OrderId",
		  "attributes": [{"name": "OrderId", "type": "string"}, {"name": "Amount", "type": "number"}]}]}`)
		_, err := FromRecords(t.Context(), sch, map[string]arrow.RecordBatch{"Order": orders}, Options{Allocator: mem})
		require.ErrorIs(t, err, ErrDuplicateKey)
		require.Contains(t, err.Error(), `Order: row 2: column OrderId: duplicate key "O1" (first at row 0)`)
	})
	t.Run("null key", func(t *testing.T) {
		sch := mustParseSchema(t, `{"customerEntity": "Order", "entities": [{"name": "Order", "key": "CustomerId",
		  "attributes": [{"name": "CustomerId", "type": "string"}]}]}`)
		_, err := FromRecords(t.Context(), sch, map[string]arrow.RecordBatch{"Order": orders}, Options{Allocator: mem})
		require.ErrorIs(t, err, ErrNullKey)
		require.ErrorIs(t, err, ErrDuplicateKey)
	})
}

func TestFromRecordsDictionaryKeys(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sch := mustParseSchema(t, `{"customerEntity": "P", "entities": [
	  {"name": "P", "key": "K", "attributes": [{"name": "K", "type": "string"}]},
	  {"name": "E", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}, {"name": "FK", "type": "string"}]}],
	  "relationships": [{"name": "EP", "from": {"entity": "E", "attribute": "FK"}, "to": {"entity": "P", "attribute": "K"}}]}`)

	dictOf := func(values, codes string) arrow.Array {
		d := fromJSON(t, mem, arrow.BinaryTypes.String, values)
		defer d.Release()
		c := fromJSON(t, mem, arrow.PrimitiveTypes.Int32, codes)
		defer c.Release()
		return array.NewDictionaryArray(stringDictType, c, d)
	}
	// The key column is a dictionary with an unused entry; the foreign
	// key a dictionary of its own, with entries in another order.
	k := dictOf(`["unused", "b", "a"]`, `[2, 1]`)
	p := recordOf([]string{"K"}, []arrow.Array{k})
	defer p.Release()
	k.Release()
	id := fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[1, 2, 3, 4]`)
	fk := dictOf(`["b", "x", "a"]`, `[0, 1, null, 2]`)
	e := recordOf([]string{"Id", "FK"}, []arrow.Array{id, fk})
	defer e.Release()
	releaseArrays([]arrow.Array{id, fk})

	snap, err := FromRecords(t.Context(), sch, map[string]arrow.RecordBatch{"P": p, "E": e}, Options{Allocator: mem})
	require.NoError(t, err)
	defer snap.Release()
	require.Equal(t, []int32{1, NoCustomer, NoCustomer, 0}, snap.Links("E", []string{"EP"}).Customer)
	require.Equal(t, []LinkReport{{Relationship: "EP", Null: 1, Dangling: 1}}, snap.LinkReports())
	cid, ok := snap.CustomerID("b")
	require.True(t, ok)
	require.Equal(t, uint32(1), cid)
	require.Equal(t, "a", snap.CustomerKey(0))
}

func TestFromRecordsCluster(t *testing.T) {
	sch := mustParseSchema(t, `{"customerEntity": "P", "entities": [
	  {"name": "P", "key": "K", "attributes": [{"name": "K", "type": "integer"}]},
	  {"name": "E", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}, {"name": "FK", "type": "integer"},
	    {"name": "S", "type": "string"}, {"name": "B", "type": "boolean"}, {"name": "D", "type": "date"}]}],
	  "relationships": [{"name": "EP", "from": {"entity": "E", "attribute": "FK"}, "to": {"entity": "P", "attribute": "K"}}]}`)
	for _, cluster := range []bool{false, true} {
		t.Run(fmt.Sprintf("cluster=%v", cluster), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			k := fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[10, 20]`)
			p := recordOf([]string{"K"}, []arrow.Array{k})
			defer p.Release()
			k.Release()
			cols := []arrow.Array{
				fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[1, 2, 3, 4, 5]`),
				fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[20, null, 10, 20, 10]`),
				fromJSON(t, mem, arrow.BinaryTypes.String, `["a", "b", null, "d", "e"]`),
				fromJSON(t, mem, arrow.FixedWidthTypes.Boolean, `[true, false, true, null, false]`),
				fromJSON(t, mem, arrow.FixedWidthTypes.Date32, `[1, 2, 3, 4, null]`),
			}
			e := recordOf([]string{"Id", "FK", "S", "B", "D"}, cols)
			defer e.Release()
			releaseArrays(cols)

			snap, err := FromRecords(t.Context(), sch, map[string]arrow.RecordBatch{"P": p, "E": e}, Options{Allocator: mem, Cluster: cluster})
			require.NoError(t, err)
			defer snap.Release()
			tbl := snap.Table("E")
			var rows []string
			for r := range tbl.NumRows {
				var cells []string
				for _, c := range tbl.Columns {
					cells = append(cells, c.Format(r))
				}
				rows = append(rows, strings.Join(cells, ","))
			}
			cust := snap.Links("E", []string{"EP"}).Customer
			require.Equal(t, cluster, snap.Links("E", []string{"EP"}).Sorted)
			if !cluster {
				require.Nil(t, snap.Links("E", []string{"EP"}).Starts())
				require.Equal(t, []int32{1, NoCustomer, 0, 1, 0}, cust)
				require.Equal(t, "1,20,a,true,1970-01-02", rows[0])
				return
			}
			// Customer 0 (K=10) first, rows in their order, then
			// customer 1, then the row linked to nobody.
			require.Equal(t, []int32{0, 0, 1, 1, NoCustomer}, cust)
			require.Equal(t, []uint32{0, 2, 4}, snap.Links("E", []string{"EP"}).Starts())
			require.Equal(t, []string{
				"3,10,,true,1970-01-04",
				"5,10,e,false,",
				"1,20,a,true,1970-01-02",
				"4,20,d,,1970-01-05",
				"2,,b,false,1970-01-03",
			}, rows)
		})
	}
}

func TestFromRecordsMalformedArray(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	sch := mustParseSchema(t, `{"customerEntity": "P", "entities": [
	  {"name": "P", "key": "K", "attributes": [{"name": "K", "type": "string"}]}]}`)
	// Offsets that go backwards: a string array no Arrow reader can trust.
	offsets := memory.NewBufferBytes(arrow.Int32Traits.CastToBytes([]int32{0, 3, 1}))
	values := memory.NewBufferBytes([]byte("abc"))
	data := array.NewData(arrow.BinaryTypes.String, 2, []*memory.Buffer{nil, offsets, values}, nil, 0, 0)
	defer data.Release()
	k := array.NewStringData(data)
	defer k.Release()
	rec := recordOf([]string{"K"}, []arrow.Array{k})
	defer rec.Release()
	_, err := FromRecords(t.Context(), sch, map[string]arrow.RecordBatch{"P": rec}, Options{Allocator: mem})
	require.ErrorIs(t, err, ErrData)
	require.Contains(t, err.Error(), "not a valid Arrow array")
}
