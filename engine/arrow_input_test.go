package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// arrowColumn builds a column of type typ from text values ("" is null)
// behind pad leading rows, sliced so that it starts at an offset; strings
// are dictionary-encoded when dict is set.
func arrowColumn(t *testing.T, mem memory.Allocator, typ schema.Type, vals []string, pad int, dict bool) arrow.Array {
	t.Helper()
	all := append(make([]string, pad), vals...)
	for i := range pad {
		all[i] = []string{"", "zz", "1", "true"}[i%4]
	}
	var full arrow.Array
	switch typ {
	case schema.Integer:
		b := array.NewInt64Builder(mem)
		for _, s := range all {
			if v, err := strconv.ParseInt(s, 10, 64); err == nil {
				b.Append(v)
			} else {
				b.AppendNull()
			}
		}
		full = b.NewArray()
		b.Release()
	case schema.Number:
		b := array.NewFloat64Builder(mem)
		for _, s := range all {
			if v, err := strconv.ParseFloat(s, 64); err == nil {
				b.Append(v)
			} else {
				b.AppendNull()
			}
		}
		full = b.NewArray()
		b.Release()
	case schema.Date:
		b := array.NewDate32Builder(mem)
		for _, s := range all {
			if d, err := time.Parse(time.DateOnly, s); err == nil {
				b.Append(arrow.Date32(d.Unix() / 86400))
			} else {
				b.AppendNull()
			}
		}
		full = b.NewArray()
		b.Release()
	case schema.Boolean:
		b := array.NewBooleanBuilder(mem)
		for _, s := range all {
			if v, err := strconv.ParseBool(s); err == nil {
				b.Append(v)
			} else {
				b.AppendNull()
			}
		}
		full = b.NewArray()
		b.Release()
	case schema.String:
		if dict {
			db := array.NewDictionaryBuilder(mem, &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}).(*array.BinaryDictionaryBuilder)
			for _, s := range all {
				if s == "" {
					db.AppendNull()
				} else {
					require.NoError(t, db.AppendString(s))
				}
			}
			full = db.NewArray()
			db.Release()
		} else {
			b := array.NewStringBuilder(mem)
			for _, s := range all {
				if s == "" {
					b.AppendNull()
				} else {
					b.Append(s)
				}
			}
			full = b.NewArray()
			b.Release()
		}
	default:
		t.Fatalf("no builder for %s", typ)
	}
	defer full.Release()
	return array.NewSlice(full, int64(pad), int64(len(all)))
}

// TestArrowInputMatchesCSV loads the same random data from CSV files and
// from Arrow records whose arrays are sliced (non-zero offsets, not on
// byte or word boundaries), strings plain or dictionary-encoded, rows
// clustered or not, and checks that every condition selects the same
// customers. Clustered rows aggregate customer by customer, others row by
// row: the aggregates with and without a where compare the two.
func TestArrowInputMatchesCSV(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	const customers = 150
	custRows := [][]string{}
	for i := range customers {
		row := []string{fmt.Sprintf("c%d", i), "", "", "", "", "", ""}
		if r.IntN(4) != 0 {
			row[1] = fmt.Sprint(r.IntN(20) - 5)
		}
		if r.IntN(4) != 0 {
			row[2] = fmt.Sprint(float64(r.IntN(100)) / 4)
		}
		row[3] = []string{"", "Apple", "apple pie", "Kiwi", "Ärger", "xAPPLEx"}[r.IntN(6)]
		if r.IntN(4) != 0 {
			row[4] = fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(12), 1+r.IntN(28))
		}
		row[6] = []string{"", "true", "false"}[r.IntN(3)]
		custRows = append(custRows, row)
	}
	orderRows := [][]string{}
	for i := range 1000 {
		row := []string{fmt.Sprint(i), fmt.Sprintf("c%d", r.IntN(customers+10)), "", "", "", ""}
		if r.IntN(15) == 0 {
			row[1] = ""
		}
		if r.IntN(5) != 0 {
			row[2] = fmt.Sprint(float64(r.IntN(4000)) / 8)
		}
		if r.IntN(5) != 0 {
			row[3] = fmt.Sprint(r.IntN(10))
		}
		if r.IntN(5) != 0 {
			row[4] = fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(6), 1+r.IntN(28))
		}
		row[5] = []string{"", "web", "app", "store", "Web Shop"}[r.IntN(5)]
		orderRows = append(orderRows, row)
	}
	csvOf := func(header string, rows [][]string) string {
		var sb strings.Builder
		sb.WriteString(header + "\n")
		for _, row := range rows {
			sb.WriteString(strings.Join(row, ",") + "\n")
		}
		return sb.String()
	}
	dir := t.TempDir()
	for name, body := range map[string]string{
		"schema.json":  testSchema,
		"Customer.csv": csvOf("Id,I,N,S,D,T,B", custRows),
		"Order.csv":    csvOf("OrderId,CustomerId,Amount,Qty,Day,Channel", orderRows),
		"Line.csv":     "LineId,OrderId,Sku\n",
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	ref, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	defer ref.Release()
	sch := ref.Schema()

	column := func(rows [][]string, j int) []string {
		out := make([]string, len(rows))
		for i, row := range rows {
			out[i] = row[j]
		}
		return out
	}
	conds := []string{
		pred("I", "greaterThan", "3"),
		pred("I", "notEquals", "3"),
		pred("I", "isNull", ""),
		pred("N", "lessThanOrEqual", "12.5"),
		pred("N", "notIn", "[1, 2.25]"),
		pred("S", "contains", `"pp"`),
		pred("S", "contains", `"APP"`),
		`{"attribute": "Customer.S", "operator": "contains", "value": "APP", "ignoreCase": true}`,
		pred("S", "notContains", `"pp"`),
		pred("S", "notEquals", `"Kiwi"`),
		pred("S", "isNull", ""),
		pred("S", "startsWith", `"a"`),
		pred("D", "inLastDays", "100"),
		pred("D", "isNotNull", ""),
		pred("B", "isTrue", ""),
		pred("B", "isFalse", ""),
		pred("B", "notEquals", "true"),
		`{"not": ` + pred("B", "isTrue", "") + `}`,
		rel(`{"attribute": "Order.Channel", "operator": "equals", "value": "web"}`, ""),
		rel(`{"attribute": "Order.Channel", "operator": "notEquals", "value": "web"}`, `, "match": "all"`),
		rel(`{"attribute": "Order.Channel", "operator": "contains", "value": "eb"}`, `, "match": "none"`),
		rel(`{"attribute": "Order.Channel", "operator": "contains", "value": "WEB", "ignoreCase": true}`, ""),
		rel(`{"attribute": "Order.Channel", "operator": "isNull"}`, ""),
		rel("", `, "aggregate": {"function": "count"}, "operator": "greaterThan", "value": 7`),
		rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 1500`),
		rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Qty"}, "operator": "greaterThan", "value": 30`),
		rel("", `, "aggregate": {"function": "avg", "attribute": "Order.Qty"}, "operator": "lessThan", "value": 4`),
		rel("", `, "aggregate": {"function": "min", "attribute": "Order.Day"}, "operator": "lessThan", "value": "2026-01-10"`),
		rel("", `, "aggregate": {"function": "max", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 480`),
		rel("", `, "aggregate": {"function": "max", "attribute": "Order.Qty"}, "operator": "greaterThanOrEqual", "value": 9`),
		rel("", `, "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 250`),
		rel(`{"attribute": "Order.Channel", "operator": "equals", "value": "web"}`, `, "aggregate": {"function": "count"}, "operator": "greaterThan", "value": 1`),
		rel(`{"attribute": "Order.Qty", "operator": "between", "value": [2, 5]}`, `, "aggregate": {"function": "max", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 300`),
		rel(`{"attribute": "Order.Channel", "operator": "isNull"}`, `, "aggregate": {"function": "min", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 50`),
		rel(`{"attribute": "Order.Day", "operator": "inLastDays", "value": 90}`, `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 500`),
		rel(`{"attribute": "Order.Amount", "operator": "greaterThan", "value": 100}`, `, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "inLastDays", "value": 60`),
		rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "greaterThanOrEqual", "value": 4`),
		rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Qty"}, "operator": "greaterThanOrEqual", "value": 6`),
		`{"attribute": "Measures.LastChannel", "operator": "equals", "value": "web"}`,
		`{"attribute": "Measures.FirstQty", "operator": "greaterThan", "value": 5}`,
		`{"attribute": "Measures.Spend", "operator": "greaterThan", "value": 1000}`,
		`{"and": [` + pred("I", "equals", "2") + `, ` + rel(`{"attribute": "Order.Qty", "operator": "notEquals", "value": 3}`, `, "match": "all"`) + `]}`,
	}
	want := make([]string, len(conds))
	for i, c := range conds {
		want[i] = evalKeys(t, ref, c)
	}

	types := func(e string) []schema.Attribute {
		ent, _ := sch.Entity(e)
		return ent.Attributes
	}
	for _, variant := range []struct {
		dict    bool
		cluster bool
		pad     int
	}{{false, false, 0}, {false, false, 3}, {true, false, 70}, {true, true, 5}, {false, true, 64}, {true, false, 129}} {
		t.Run(fmt.Sprintf("dict=%v,cluster=%v,pad=%d", variant.dict, variant.cluster, variant.pad), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			// Orders in a shuffled order, so that they are not clustered.
			shuffled := append([][]string(nil), orderRows...)
			r.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
			recs := map[string]arrow.RecordBatch{}
			for _, ent := range []struct {
				name string
				rows [][]string
			}{{"Customer", custRows}, {"Order", shuffled}, {"Line", nil}} {
				attrs := types(ent.name)
				cols := make([]arrow.Array, len(attrs))
				names := make([]string, len(attrs))
				for j, a := range attrs {
					typ := a.Type
					vals := column(ent.rows, j)
					if typ == schema.Datetime {
						typ = schema.Integer // T stays null; an integer placeholder is replaced below
					}
					cols[j] = arrowColumn(t, mem, typ, vals, variant.pad, variant.dict && j > 0)
					if a.Type == schema.Datetime {
						b := array.NewTimestampBuilder(mem, &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"})
						for range vals {
							b.AppendNull()
						}
						cols[j].Release()
						cols[j] = b.NewArray()
						b.Release()
					}
					names[j] = a.Name
				}
				fields := make([]arrow.Field, len(cols))
				for j := range cols {
					fields[j] = arrow.Field{Name: names[j], Type: cols[j].DataType(), Nullable: true}
				}
				recs[ent.name] = array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(ent.rows)))
				for _, c := range cols {
					c.Release()
				}
			}
			snap, err := storage.FromRecords(context.Background(), sch, recs, storage.Options{Allocator: mem, Cluster: variant.cluster})
			for _, rec := range recs {
				rec.Release()
			}
			require.NoError(t, err)
			defer snap.Release()
			for i, c := range conds {
				require.Equal(t, want[i], evalKeys(t, snap, c), c)
			}
		})
	}
}

func evalKeys(t *testing.T, snap *storage.Snapshot, cond string) string {
	t.Helper()
	def, err := segment.Parse([]byte(`{"name": "P", "groups": [{"condition": ` + cond + `}]}`))
	require.NoError(t, err)
	plan, err := engine.Compile(def, snap, engine.Options{})
	require.NoError(t, err, cond)
	bm, err := plan.Eval(context.Background(), asOf)
	require.NoError(t, err)
	keys := []string{}
	for _, id := range bm.ToArray() {
		keys = append(keys, snap.CustomerKey(id))
	}
	return strings.Join(keys, " ")
}
