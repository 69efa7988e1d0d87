package engine_test

import (
	"context"
	"math"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

const nullSlotsSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "Id", "attributes": [{"name": "Id", "type": "string"}]},
    {"name": "Order", "key": "OrderId", "attributes": [
      {"name": "OrderId", "type": "integer"}, {"name": "CustomerId", "type": "string"},
      {"name": "Amount", "type": "number"}, {"name": "Qty", "type": "integer"},
      {"name": "Day", "type": "date"}, {"name": "Channel", "type": "string"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "Id"}}
  ]
}`

// TestNullSlotsAreNotRead gives the engine Arrow columns whose null slots
// hold what no valid value may: NaN and infinities under null numbers,
// extreme integers and days under null ones, a dictionary code outside the
// dictionary under a null string. The kernels over rows clustered by
// customer read values and codes a word of rows at a time; whatever a
// null slot holds must not reach a result. Customer c3 has no orders and
// order 6 dangles.
func TestNullSlotsAreNotRead(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	day := int32(asOf.Unix() / 86400)
	type order struct {
		cust    string
		amount  float64
		amountV bool
		qty     int64
		qtyV    bool
		day     int32
		dayV    bool
		code    int32
		codeV   bool
	}
	orders := []order{
		{"c0", 5, true, 2, true, day - 3, true, 0, true},
		{"c0", nan, false, math.MaxInt64, false, math.MaxInt32, false, 1 << 30, false},
		{"c1", inf, false, math.MinInt64, false, math.MinInt32, false, -7, false},
		{"c1", -3, true, 1, true, day - 200, true, 1, true},
		{"c2", nan, false, 9, false, day, false, 99, false},
		{"zz", 7, true, 5, true, day, true, 0, true},
	}
	for _, clustered := range []bool{true, false} {
		// Without clustering the rows come in another order: the
		// aggregates then run row by row.
		list := orders
		if !clustered {
			list = []order{orders[3], orders[1], orders[4], orders[0], orders[5], orders[2]}
		}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		sch, err := schema.Parse([]byte(nullSlotsSchema))
		require.NoError(t, err)
		cb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{{Name: "Id", Type: arrow.BinaryTypes.String}}, nil))
		for _, id := range []string{"c0", "c1", "c2", "c3"} {
			cb.Field(0).(*array.StringBuilder).Append(id)
		}
		ob := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
			{Name: "OrderId", Type: arrow.PrimitiveTypes.Int64},
			{Name: "CustomerId", Type: arrow.BinaryTypes.String},
			{Name: "Amount", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
			{Name: "Qty", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
			{Name: "Day", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		}, nil))
		codes := array.NewInt32Builder(mem)
		for i, o := range list {
			ob.Field(0).(*array.Int64Builder).Append(int64(i))
			ob.Field(1).(*array.StringBuilder).Append(o.cust)
			ob.Field(2).(*array.Float64Builder).AppendValues([]float64{o.amount}, []bool{o.amountV})
			ob.Field(3).(*array.Int64Builder).AppendValues([]int64{o.qty}, []bool{o.qtyV})
			ob.Field(4).(*array.Date32Builder).AppendValues([]arrow.Date32{arrow.Date32(o.day)}, []bool{o.dayV})
			codes.AppendValues([]int32{o.code}, []bool{o.codeV})
		}
		dictB := array.NewStringBuilder(mem)
		dictB.AppendValues([]string{"web", "app"}, nil)
		dict, idx := dictB.NewArray(), codes.NewArray()
		channel := array.NewDictionaryArray(&arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, idx, dict)
		ord := ob.NewRecordBatch()
		cols := append(ord.Columns(), channel)
		fields := append(ord.Schema().Fields(), arrow.Field{Name: "Channel", Type: channel.DataType(), Nullable: true})
		rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(list)))
		cust := cb.NewRecordBatch()
		snap, err := storage.FromRecords(context.Background(), sch, map[string]arrow.RecordBatch{"Customer": cust, "Order": rec}, storage.Options{Cluster: clustered})
		for _, r := range []interface{ Release() }{cust, ord, rec, channel, dict, idx, codes, dictB, ob, cb} {
			r.Release()
		}
		require.NoError(t, err)
		require.Equal(t, clustered, snap.Links("Order", []string{"OrderCustomer"}).Sorted)

		agg := func(fn, attr, op, value string) string {
			s := `{"related": "Order", "aggregate": {"function": "` + fn + `"`
			if attr != "" {
				s += `, "attribute": "Order.` + attr + `"`
			}
			s += `}, "operator": "` + op + `"`
			if value != "" {
				s += `, "value": ` + value
			}
			return s + `}`
		}
		cases := []struct{ cond, want string }{
			{agg("max", "Amount", "greaterThan", "4"), "c0"},
			{agg("max", "Amount", "lessThanOrEqual", "5"), "c0 c1"},
			{agg("min", "Amount", "lessThan", "0"), "c1"},
			{agg("min", "Amount", "between", "[-3, 5]"), "c0 c1"},
			{agg("max", "Amount", "isNull", ""), "c2 c3"},
			{agg("min", "Amount", "isNotNull", ""), "c0 c1"},
			{agg("sum", "Amount", "equals", "5"), "c0"},
			{agg("sum", "Amount", "equals", "0"), "c2 c3"},
			{agg("avg", "Amount", "lessThan", "0"), "c1"},
			{agg("avg", "Amount", "isNull", ""), "c2 c3"},
			{agg("count", "", "equals", "2"), "c0 c1"},
			{agg("max", "Qty", "lessThan", "3"), "c0 c1"},
			{agg("min", "Qty", "greaterThanOrEqual", "2"), "c0"},
			{agg("sum", "Qty", "greaterThan", "2"), ""},
			{agg("max", "Day", "inLastDays", "30"), "c0"},
			{agg("min", "Day", "lessThan", `"2026-01-01"`), "c1"},
			{agg("max", "Day", "isNull", ""), "c2 c3"},
			{agg("countDistinct", "Channel", "equals", "1"), "c0 c1"},
			{agg("countDistinct", "Channel", "equals", "0"), "c2 c3"},
			{`{"related": "Order", "match": "all", "where": {"attribute": "Order.Amount", "operator": "isNotNull"}}`, ""},
			{`{"related": "Order", "match": "none", "where": {"attribute": "Order.Channel", "operator": "equals", "value": "app"}}`, "c0 c2 c3"},
			{`{"related": "Order", "where": {"attribute": "Order.Amount", "operator": "greaterThan", "value": 1e300}}`, ""},
		}
		for _, tc := range cases {
			for _, opts := range []engine.Options{{}, {CandidateShare: 1}, {CandidateShare: -1, Parallelism: 1}} {
				require.Equal(t, ks(tc.want), members(t, snap, tc.cond, opts), "clustered %v, %s, options %+v", clustered, tc.cond, opts)
			}
		}
		snap.Release()
		mem.AssertSize(t, 0)
	}
}
