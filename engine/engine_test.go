package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// asOf is the as-of instant of every test here: D = 2026-06-15.
var asOf = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

const testSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "Id", "source": "Customer.csv", "attributes": [
      {"name": "Id", "type": "string"},
      {"name": "I", "type": "integer"},
      {"name": "N", "type": "number"},
      {"name": "S", "type": "string"},
      {"name": "D", "type": "date"},
      {"name": "T", "type": "datetime"},
      {"name": "B", "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.csv", "attributes": [
      {"name": "OrderId", "type": "integer"},
      {"name": "CustomerId", "type": "string"},
      {"name": "Amount", "type": "number"},
      {"name": "Qty", "type": "integer"},
      {"name": "Day", "type": "date"},
      {"name": "Channel", "type": "string"}]},
    {"name": "Line", "key": "LineId", "source": "Line.csv", "attributes": [
      {"name": "LineId", "type": "integer"},
      {"name": "OrderId", "type": "integer"},
      {"name": "Sku", "type": "string"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "Id"}},
    {"name": "LineOrder", "from": {"entity": "Line", "attribute": "OrderId"}, "to": {"entity": "Order", "attribute": "OrderId"}}
  ],
  "measures": [
    {"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}},
    {"name": "LastChannel", "related": "Order", "aggregate": {"function": "last", "attribute": "Order.Channel", "orderBy": "Order.Day"}},
    {"name": "FirstQty", "related": "Order", "aggregate": {"function": "first", "attribute": "Order.Qty", "orderBy": "Order.Day"}}
  ]
}`

// Six customers whose values sit on the boundaries the operators care
// about: nulls, D-90 and D+90, T-90*24h, int64 limits, case variants.
const customerCSV = `Id,I,N,S,D,T,B
c0,5,1.5,Apple,2026-06-15,2026-06-15T12:00:00Z,true
c1,-3,-0.5,apple,2026-03-17,2026-03-17T12:00:00Z,false
c2,,,,,,
c3,0,2,Ärger,2026-06-14,2026-03-17T11:59:59Z,true
c4,9223372036854775807,1e300,banana,2026-09-13,2026-06-15T14:00:00+02:00,false
c5,5,0.1,STRASSE,2026-03-16,2026-09-13T12:00:00Z,true
`

// Orders: c0 has three, c1 one with a null amount, c3 two, c4 one with a
// dangling line; c2 and c5 have none. Order 7 is dangling, 8 has no
// customer.
const orderCSV = `OrderId,CustomerId,Amount,Qty,Day,Channel
1,c0,100,1,2026-06-01,web
2,c0,450,2,2026-06-10,store
3,c0,,3,2026-06-10,web
4,c1,,1,2026-01-01,phone
5,c3,600,9223372036854775807,2026-06-15,web
6,c3,-10,1,2026-03-16,app
7,zz,999,1,2026-06-15,web
8,,5,1,2026-06-15,web
9,c4,20,4,,store
`

const lineCSV = `LineId,OrderId,Sku
1,1,A
2,1,B
3,2,A
4,5,C
5,7,A
6,,B
7,99,C
`

func writeDir(t testing.TB) string {
	dir := t.TempDir()
	for name, body := range map[string]string{
		"schema.json": testSchema, "Customer.csv": customerCSV, "Order.csv": orderCSV, "Line.csv": lineCSV,
	} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

// load returns a snapshot of the test directory whose Arrow memory is
// checked for leaks when the test ends.
func load(t *testing.T) *storage.Snapshot {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	snap, err := storage.Load(context.Background(), writeDir(t), storage.Options{Allocator: mem})
	require.NoError(t, err)
	t.Cleanup(func() {
		snap.Release()
		mem.AssertSize(t, 0)
	})
	return snap
}

// members evaluates a definition given as the JSON of its first group's
// condition (or a whole definition) and returns the member keys.
func members(t *testing.T, snap *storage.Snapshot, defJSON string, opts engine.Options) []string {
	t.Helper()
	if !strings.Contains(defJSON, `"groups"`) {
		defJSON = `{"name": "T", "groups": [{"condition": ` + defJSON + `}]}`
	}
	def, err := segment.Parse([]byte(defJSON))
	require.NoError(t, err, defJSON)
	plan, err := engine.Compile(def, snap, opts)
	require.NoError(t, err, defJSON)
	bm, err := plan.Eval(context.Background(), asOf)
	require.NoError(t, err)
	n, err := plan.EvalCardinality(context.Background(), asOf)
	require.NoError(t, err)
	require.Equal(t, bm.GetCardinality(), n)
	keys := []string{}
	for _, id := range bm.ToArray() {
		keys = append(keys, snap.CustomerKey(id))
	}
	return keys
}

func ks(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

type opCase struct {
	name, cond, want string
}

func runCases(t *testing.T, cases []opCase) {
	snap := load(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, ks(tc.want), members(t, snap, tc.cond, engine.Options{}), tc.cond)
		})
	}
}

func pred(attr, op, value string) string {
	if value == "" {
		return `{"attribute": "Customer.` + attr + `", "operator": "` + op + `"}`
	}
	return `{"attribute": "Customer.` + attr + `", "operator": "` + op + `", "value": ` + value + `}`
}

func TestIntegerOperators(t *testing.T) {
	runCases(t, []opCase{
		{"equals", pred("I", "equals", "5"), "c0 c5"},
		{"equals fraction never", pred("I", "equals", "5.5"), ""},
		{"equals 5.0", pred("I", "equals", "5.0"), "c0 c5"},
		{"notEquals skips null", pred("I", "notEquals", "5"), "c1 c3 c4"},
		{"in", pred("I", "in", "[0, -3, 77]"), "c1 c3"},
		{"notIn skips null", pred("I", "notIn", "[0, -3]"), "c0 c4 c5"},
		{"greaterThan fraction", pred("I", "greaterThan", "4.5"), "c0 c4 c5"},
		{"greaterThan", pred("I", "greaterThan", "5"), "c4"},
		{"greaterThanOrEqual", pred("I", "greaterThanOrEqual", "5"), "c0 c4 c5"},
		{"lessThan", pred("I", "lessThan", "0"), "c1"},
		{"lessThanOrEqual fraction", pred("I", "lessThanOrEqual", "-0.5"), "c1"},
		{"lessThanOrEqual", pred("I", "lessThanOrEqual", "0"), "c1 c3"},
		{"between inclusive", pred("I", "between", "[-3, 5]"), "c0 c1 c3 c5"},
		{"between point", pred("I", "between", "[0, 0]"), "c3"},
		{"max int64 exact", pred("I", "equals", "9223372036854775807"), "c4"},
		{"beyond int64", pred("I", "lessThan", "9223372036854775808"), "c0 c1 c3 c4 c5"},
		{"beyond int64 above", pred("I", "greaterThan", "9223372036854775808"), ""},
		{"2^53+1 is not max", pred("I", "greaterThan", "9223372036854775806"), "c4"},
		{"isNull", pred("I", "isNull", ""), "c2"},
		{"isNotNull", pred("I", "isNotNull", ""), "c0 c1 c3 c4 c5"},
		{"not includes null", `{"not": ` + pred("I", "greaterThan", "0") + `}`, "c1 c2 c3"},
	})
}

func TestNumberOperators(t *testing.T) {
	runCases(t, []opCase{
		{"equals", pred("N", "equals", "1.5"), "c0"},
		{"equals integer", pred("N", "equals", "2"), "c3"},
		{"equals 0.1", pred("N", "equals", "0.1"), "c5"},
		{"notEquals skips null", pred("N", "notEquals", "2"), "c0 c1 c4 c5"},
		{"in", pred("N", "in", "[2, 1.5]"), "c0 c3"},
		{"notIn", pred("N", "notIn", "[2, 1.5]"), "c1 c4 c5"},
		{"greaterThan", pred("N", "greaterThan", "1.5"), "c3 c4"},
		{"greaterThanOrEqual", pred("N", "greaterThanOrEqual", "1.5"), "c0 c3 c4"},
		{"lessThan", pred("N", "lessThan", "0.1"), "c1"},
		{"lessThanOrEqual", pred("N", "lessThanOrEqual", "0.1"), "c1 c5"},
		{"between", pred("N", "between", "[-0.5, 1.5]"), "c0 c1 c5"},
		{"huge", pred("N", "greaterThan", "1e299"), "c4"},
		{"isNull", pred("N", "isNull", ""), "c2"},
	})
}

func TestStringOperators(t *testing.T) {
	runCases(t, []opCase{
		{"equals", pred("S", "equals", `"apple"`), "c1"},
		{"equals ignoreCase", `{"attribute": "Customer.S", "operator": "equals", "value": "APPLE", "ignoreCase": true}`, "c0 c1"},
		{"equals fold non-ASCII", `{"attribute": "Customer.S", "operator": "equals", "value": "äRGER", "ignoreCase": true}`, "c3"},
		{"notEquals skips null", pred("S", "notEquals", `"apple"`), "c0 c3 c4 c5"},
		{"in", pred("S", "in", `["Apple", "banana", "x"]`), "c0 c4"},
		{"notIn", pred("S", "notIn", `["Apple", "banana"]`), "c1 c3 c5"},
		{"in ignoreCase", `{"attribute": "Customer.S", "operator": "in", "value": ["BANANA"], "ignoreCase": true}`, "c4"},
		{"greaterThan byte order", pred("S", "greaterThan", `"Apple"`), "c1 c3 c4 c5"},
		{"lessThan byte order", pred("S", "lessThan", `"B"`), "c0"},
		{"lessThanOrEqual", pred("S", "lessThanOrEqual", `"apple"`), "c0 c1 c5"},
		{"greaterThanOrEqual", pred("S", "greaterThanOrEqual", `"banana"`), "c3 c4"},
		{"contains", pred("S", "contains", `"pp"`), "c0 c1"},
		{"contains ignoreCase", `{"attribute": "Customer.S", "operator": "contains", "value": "PP", "ignoreCase": true}`, "c0 c1"},
		{"notContains skips null", pred("S", "notContains", `"pp"`), "c3 c4 c5"},
		{"startsWith", pred("S", "startsWith", `"A"`), "c0"},
		{"endsWith", pred("S", "endsWith", `"e"`), "c0 c1"},
		{"endsWith ignoreCase", `{"attribute": "Customer.S", "operator": "endsWith", "value": "SSE", "ignoreCase": true}`, "c5"},
		{"contains empty", pred("S", "contains", `""`), "c0 c1 c3 c4 c5"},
		{"isNull", pred("S", "isNull", ""), "c2"},
		{"isNotNull", pred("S", "isNotNull", ""), "c0 c1 c3 c4 c5"},
	})
}

func TestDateOperators(t *testing.T) {
	runCases(t, []opCase{
		{"equals", pred("D", "equals", `"2026-06-15"`), "c0"},
		{"notEquals", pred("D", "notEquals", `"2026-06-15"`), "c1 c3 c4 c5"},
		{"in", pred("D", "in", `["2026-06-14", "2026-09-13"]`), "c3 c4"},
		{"notIn", pred("D", "notIn", `["2026-06-14", "2026-09-13"]`), "c0 c1 c5"},
		{"greaterThan", pred("D", "greaterThan", `"2026-06-14"`), "c0 c4"},
		{"greaterThanOrEqual", pred("D", "greaterThanOrEqual", `"2026-06-14"`), "c0 c3 c4"},
		{"lessThan", pred("D", "lessThan", `"2026-03-17"`), "c5"},
		{"lessThanOrEqual", pred("D", "lessThanOrEqual", `"2026-03-17"`), "c1 c5"},
		{"between", pred("D", "between", `["2026-03-17", "2026-06-14"]`), "c1 c3"},
		{"inLastDays 90 includes D-90 and D", pred("D", "inLastDays", "90"), "c0 c1 c3"},
		{"inLastDays 1", pred("D", "inLastDays", "1"), "c0 c3"},
		{"inNextDays 90 includes D+90", pred("D", "inNextDays", "90"), "c0 c4"},
		{"isNull", pred("D", "isNull", ""), "c2"},
	})
}

func TestDatetimeOperators(t *testing.T) {
	runCases(t, []opCase{
		{"equals instant across offsets", pred("T", "equals", `"2026-06-15T14:00:00+02:00"`), "c0 c4"},
		{"equals", pred("T", "equals", `"2026-06-15T12:00:00Z"`), "c0 c4"},
		{"date value is midnight UTC", pred("T", "greaterThanOrEqual", `"2026-06-15"`), "c0 c4 c5"},
		{"notEquals", pred("T", "notEquals", `"2026-06-15T12:00:00Z"`), "c1 c3 c5"},
		{"in", pred("T", "in", `["2026-03-17T12:00:00Z", "2026-09-13T12:00:00Z"]`), "c1 c5"},
		{"notIn", pred("T", "notIn", `["2026-03-17T12:00:00Z"]`), "c0 c3 c4 c5"},
		{"greaterThan", pred("T", "greaterThan", `"2026-06-15T12:00:00Z"`), "c5"},
		{"lessThan", pred("T", "lessThan", `"2026-03-17T12:00:00Z"`), "c3"},
		{"lessThanOrEqual", pred("T", "lessThanOrEqual", `"2026-03-17T12:00:00Z"`), "c1 c3"},
		{"sub-microsecond bound", pred("T", "greaterThan", `"2026-03-17T11:59:59.0000001Z"`), "c0 c1 c4 c5"},
		{"between", pred("T", "between", `["2026-03-17T12:00:00Z", "2026-06-15"]`), "c1"},
		{"inLastDays 90 is T-90*24h..T", pred("T", "inLastDays", "90"), "c0 c1 c4"},
		{"inNextDays 90 is T..T+90*24h", pred("T", "inNextDays", "90"), "c0 c4 c5"},
		{"isNotNull", pred("T", "isNotNull", ""), "c0 c1 c3 c4 c5"},
	})
}

func TestBooleanOperators(t *testing.T) {
	runCases(t, []opCase{
		{"isTrue", pred("B", "isTrue", ""), "c0 c3 c5"},
		{"isFalse", pred("B", "isFalse", ""), "c1 c4"},
		{"equals true", pred("B", "equals", "true"), "c0 c3 c5"},
		{"equals false", pred("B", "equals", "false"), "c1 c4"},
		{"notEquals true skips null", pred("B", "notEquals", "true"), "c1 c4"},
		{"isNull", pred("B", "isNull", ""), "c2"},
		{"not isTrue includes null", `{"not": ` + pred("B", "isTrue", "") + `}`, "c1 c2 c4"},
	})
}

func rel(where, tail string) string {
	s := `{"related": "Order"`
	if where != "" {
		s += `, "where": ` + where
	}
	return s + tail + `}`
}

func TestRelatedConditions(t *testing.T) {
	web := `{"attribute": "Order.Channel", "operator": "equals", "value": "web"}`
	runCases(t, []opCase{
		{"any", rel(web, ""), "c0 c3"},
		{"shorthand", web, "c0 c3"},
		{"any without where", rel("", ""), "c0 c1 c3 c4"},
		{"all", rel(web, `, "match": "all"`), ""},
		{"all of one row", rel(`{"attribute": "Order.Channel", "operator": "in", "value": ["phone", "store"]}`, `, "match": "all"`), "c1 c4"},
		{"all with null compares false", rel(`{"attribute": "Order.Amount", "operator": "greaterThan", "value": 0}`, `, "match": "all"`), "c4"},
		{"none", rel(web, `, "match": "none"`), "c1 c2 c4 c5"},
		{"none without rows", rel("", `, "match": "none"`), "c2 c5"},
		{"not inside where", rel(`{"not": `+web+`}`, ""), "c0 c1 c3 c4"},
		{"multi-hop", `{"attribute": "Line.Sku", "operator": "equals", "value": "A"}`, "c0"},
		{"multi-hop explicit path", `{"related": "Line", "path": ["LineOrder", "OrderCustomer"], "where": {"attribute": "Line.Sku", "operator": "equals", "value": "C"}}`, "c3"},
		{"count", rel("", `, "aggregate": {"function": "count"}, "operator": "greaterThanOrEqual", "value": 2`), "c0 c3"},
		{"count zero for no rows", rel("", `, "aggregate": {"function": "count"}, "operator": "equals", "value": 0`), "c2 c5"},
		{"count with where", rel(web, `, "aggregate": {"function": "count"}, "operator": "equals", "value": 2`), "c0"},
		{"countDistinct", rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "equals", "value": 2`), "c0 c3"},
		{"countDistinct dates skips null", rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Day"}, "operator": "equals", "value": 0`), "c2 c4 c5"},
		{"sum", rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 550`), "c0 c3"},
		{"sum zero for no values", rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "equals", "value": 0`), "c1 c2 c5"},
		{"sum integer overflow exact", rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Qty"}, "operator": "equals", "value": 9223372036854775808`), "c3"},
		{"sum integer overflow is a number", rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Qty"}, "operator": "greaterThan", "value": 9.2e18`), "c3"},
		{"avg", rel("", `, "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "equals", "value": 275`), "c0"},
		{"avg null for no values", rel("", `, "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 1000000`), "c0 c3 c4"},
		{"avg isNull", rel("", `, "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "isNull"`), "c1 c2 c5"},
		{"min", rel("", `, "aggregate": {"function": "min", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 0`), "c3"},
		{"max date inLastDays", rel("", `, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "inLastDays", "value": 5`), "c0 c3"},
		{"min date", rel("", `, "aggregate": {"function": "min", "attribute": "Order.Day"}, "operator": "lessThan", "value": "2026-06-01"`), "c1 c3"},
		{"seed example", `{"and": [` + rel(`{"attribute": "Order.Day", "operator": "inLastDays", "value": 90}`, `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 500`) + `, ` + pred("B", "isTrue", "") + `]}`, "c0 c3"},
	})
}

func TestMeasures(t *testing.T) {
	m := func(name, op, value string) string {
		return `{"attribute": "Measures.` + name + `", "operator": "` + op + `", "value": ` + value + `}`
	}
	runCases(t, []opCase{
		{"sum measure", m("Spend", "greaterThan", "500"), "c0 c3"},
		{"sum measure zero", m("Spend", "equals", "0"), "c1 c2 c5"},
		{"last by day, tie broken by key", m("LastChannel", "equals", `"web"`), "c0 c3"},
		{"last skips null orderBy", `{"attribute": "Measures.LastChannel", "operator": "isNull"}`, "c2 c4 c5"},
		{"first", m("FirstQty", "equals", "1"), "c0 c1 c3"},
	})
}

func TestGroups(t *testing.T) {
	snap := load(t)
	def := `{"name": "G", "groups": [
	  {"condition": ` + pred("B", "isTrue", "") + `},
	  {"setOperator": "union", "condition": ` + pred("I", "lessThan", "0") + `},
	  {"setOperator": "except", "condition": ` + pred("S", "equals", `"Apple"`) + `},
	  {"setOperator": "intersect", "condition": ` + pred("D", "isNotNull", "") + `}]}`
	// ((c0 c3 c5) ∪ (c1)) \ (c0) ∩ (not null D) = c1 c3 c5
	require.Equal(t, ks("c1 c3 c5"), members(t, snap, def, engine.Options{}))
}

func TestSegmentReference(t *testing.T) {
	snap := load(t)
	other := roaring.BitmapOf(0, 1, 2)
	got := members(t, snap, `{"and": [{"segment": "Other"}, `+pred("I", "isNotNull", "")+`]}`,
		engine.Options{Segments: map[string]*roaring.Bitmap{"Other": other}})
	require.Equal(t, ks("c0 c1"), got)
	require.Equal(t, []uint32{0, 1, 2}, other.ToArray(), "referenced bitmap is not modified")

	def, err := segment.Parse([]byte(`{"name": "X", "groups": [{"condition": {"segment": "Missing"}}]}`))
	require.NoError(t, err)
	_, err = engine.Compile(def, snap, engine.Options{})
	require.ErrorIs(t, err, segment.ErrUnknownSegment)
}

func TestCompileReportsProblems(t *testing.T) {
	snap := load(t)
	def, err := segment.Parse([]byte(`{"name": "X", "groups": [{"condition": {"and": [
	  {"attribute": "Customer.Agee", "operator": "equals", "value": 1},
	  {"attribute": "Customer.S", "operator": "isTrue"}]}}]}`))
	require.NoError(t, err)
	_, err = engine.Compile(def, snap, engine.Options{})
	require.ErrorIs(t, err, segment.ErrUnknownAttribute)
	require.ErrorIs(t, err, segment.ErrOperatorType)
}

func TestEvalCancelled(t *testing.T) {
	snap := load(t)
	def, err := segment.Parse([]byte(`{"name": "X", "groups": [{"condition": ` + pred("I", "isNull", "") + `}]}`))
	require.NoError(t, err)
	plan, err := engine.Compile(def, snap, engine.Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = plan.Eval(ctx, asOf)
	require.True(t, errors.Is(err, context.Canceled), "got %v", err)
}

func TestEvalConcurrent(t *testing.T) {
	snap := load(t)
	def, err := segment.Parse([]byte(`{"name": "X", "groups": [{"condition": ` + rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 0`) + `}]}`))
	require.NoError(t, err)
	plan, err := engine.Compile(def, snap, engine.Options{})
	require.NoError(t, err)
	want, err := plan.Eval(context.Background(), asOf)
	require.NoError(t, err)
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 50 {
				got, err := plan.Eval(context.Background(), asOf)
				if err == nil && !got.Equals(want) {
					err = errors.New("concurrent evaluation differs")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
	require.True(t, slices.Equal(want.ToArray(), []uint32{0, 3, 4}))
}
