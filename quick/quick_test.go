package quick_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// unitSchema has a customer attribute of every type, an order entity for
// measures, and a prediction entity.
const unitSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "Id", "attributes": [
      {"name": "Id", "type": "integer"}, {"name": "N", "type": "integer"},
      {"name": "X", "type": "number"}, {"name": "D", "type": "date"},
      {"name": "T", "type": "datetime"}, {"name": "S", "type": "string"},
      {"name": "B", "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "attributes": [
      {"name": "OrderId", "type": "integer"}, {"name": "CustomerId", "type": "integer"},
      {"name": "Qty", "type": "integer"}, {"name": "Day", "type": "date"}]},
    {"name": "Churn", "key": "ChurnId", "prediction": true, "attributes": [
      {"name": "ChurnId", "type": "integer"}, {"name": "CustomerId", "type": "integer"},
      {"name": "Score", "type": "number"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "Id"}},
    {"name": "ChurnCustomer", "from": {"entity": "Churn", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "Id"}}
  ],
  "measures": [
    {"name": "Units", "displayName": "Units ordered", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Qty"}},
    {"name": "Units7d", "related": "Order", "where": {"attribute": "Order.Day", "operator": "inLastDays", "value": 7},
     "aggregate": {"function": "sum", "attribute": "Order.Qty"}},
    {"name": "Orders", "related": "Order", "aggregate": {"function": "count"}}
  ]
}`

// unitData returns tables for unitSchema: the customer columns given
// (each with len(ids) values) plus orders and churn rows.
type unitData struct {
	customer []col
	orders   [][3]any // customer id, qty, day
	churn    [][2]any // customer id, score
}

func (d unitData) snapshot(t testing.TB) *storage.Snapshot {
	n := len(d.customer[0].vals)
	ids := make([]any, n)
	for i := range ids {
		ids[i] = int64(i)
	}
	custCols := append([]col{{name: "Id", typ: schema.Integer, vals: ids}}, d.customer...)
	byName := map[string]bool{}
	for _, c := range custCols {
		byName[c.name] = true
	}
	for _, a := range []struct {
		name string
		typ  schema.Type
	}{{"N", schema.Integer}, {"X", schema.Number}, {"D", schema.Date}, {"T", schema.Datetime}, {"S", schema.String}, {"B", schema.Boolean}} {
		if !byName[a.name] {
			custCols = append(custCols, col{name: a.name, typ: a.typ, vals: make([]any, n)})
		}
	}
	orders := []col{{name: "OrderId", typ: schema.Integer}, {name: "CustomerId", typ: schema.Integer},
		{name: "Qty", typ: schema.Integer}, {name: "Day", typ: schema.Date}}
	for i, o := range d.orders {
		orders[0].vals = append(orders[0].vals, int64(i))
		for j := range 3 {
			orders[j+1].vals = append(orders[j+1].vals, o[j])
		}
	}
	churn := []col{{name: "ChurnId", typ: schema.Integer}, {name: "CustomerId", typ: schema.Integer}, {name: "Score", typ: schema.Number}}
	for i, c := range d.churn {
		churn[0].vals = append(churn[0].vals, int64(i))
		churn[1].vals = append(churn[1].vals, c[0])
		churn[2].vals = append(churn[2].vals, c[1])
	}
	if len(d.orders) == 0 {
		for j := range orders {
			orders[j].vals = []any{}
		}
	}
	if len(d.churn) == 0 {
		for j := range churn {
			churn[j].vals = []any{}
		}
	}
	return snapshotOf(t, unitSchema, map[string][]col{"Customer": custCols, "Order": orders, "Churn": churn})
}

var asOf = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

func view(t testing.TB, d unitData) quick.View {
	return quick.New(d.snapshot(t), quick.Options{}).At(asOf)
}

// texts returns the values as their JSON text.
func texts(t *testing.T, vs []segment.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		b, err := v.MarshalJSON()
		require.NoError(t, err)
		out[i] = string(b)
	}
	return out
}

func day(s string) int32 {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return int32(d.Unix() / 86400)
}

func TestPercentileDefinition(t *testing.T) {
	ctx := context.Background()
	// Nearest rank over the non-null values: with n values sorted, p is the
	// value at rank ceil(p*n/100) counting from 1; p0 is the least value.
	t.Run("25 integers", func(t *testing.T) {
		vals := []any{nil}
		for i := 25; i >= 1; i-- { // 25 distinct integers: numerical
			vals = append(vals, int64(10*i))
			if i%10 == 0 {
				vals = append(vals, nil)
			}
		}
		q := view(t, unitData{customer: []col{{name: "N", typ: schema.Integer, vals: vals}}})
		ins, err := q.Insights(ctx, "Customer.N")
		require.NoError(t, err)
		require.Equal(t, quick.Numerical, ins.Field.Scale)
		require.Equal(t, 28, ins.Customers)
		require.Equal(t, 3, ins.Nulls)
		require.Len(t, ins.Percentiles, 101)
		// 25 values 10, 20, ..., 250: rank ceil(p/4).
		got := texts(t, ins.Percentiles)
		for p, want := range map[int]string{0: "10", 1: "10", 4: "10", 5: "20", 8: "20", 9: "30", 50: "130",
			51: "130", 52: "130", 53: "140", 96: "240", 97: "250", 100: "250"} {
			require.Equal(t, want, got[p], "p%d", p)
		}
		for p := range 101 {
			rank := max(1, (p+3)/4)
			require.Equal(t, strconv.Itoa(10*rank), got[p], "p%d", p)
		}
	})
	t.Run("three numbers", func(t *testing.T) {
		q := view(t, unitData{customer: []col{{name: "X", typ: schema.Number, vals: ints(0.5, nil, -1.0, 2.25)}}})
		ins, err := q.Insights(ctx, "Customer.X")
		require.NoError(t, err)
		got := texts(t, ins.Percentiles)
		require.Equal(t, []string{"-1", "-1", "0.5", "0.5", "2.25", "2.25"},
			[]string{got[0], got[33], got[34], got[66], got[67], got[100]})
	})
	t.Run("dates with a tie", func(t *testing.T) {
		q := view(t, unitData{customer: []col{{name: "D", typ: schema.Date, vals: ints(
			day("2024-01-01"), day("2024-01-03"), nil, day("2024-01-02"), day("2024-01-02"))}}})
		ins, err := q.Insights(ctx, "Customer.D")
		require.NoError(t, err)
		got := texts(t, ins.Percentiles)
		require.Equal(t, []string{`"2024-01-01"`, `"2024-01-01"`, `"2024-01-02"`, `"2024-01-02"`, `"2024-01-02"`, `"2024-01-03"`, `"2024-01-03"`},
			[]string{got[0], got[25], got[26], got[50], got[75], got[76], got[100]})
	})
	t.Run("one value", func(t *testing.T) {
		q := view(t, unitData{customer: []col{{name: "T", typ: schema.Datetime, vals: ints(nil, int64(1_500_000), nil)}}})
		ins, err := q.Insights(ctx, "Customer.T")
		require.NoError(t, err)
		for _, v := range texts(t, ins.Percentiles) {
			require.Equal(t, `"1970-01-01T00:00:01.5Z"`, v)
		}
	})
	t.Run("only nulls", func(t *testing.T) {
		q := view(t, unitData{customer: []col{{name: "X", typ: schema.Number, vals: ints(nil, nil)}}})
		ins, err := q.Insights(ctx, "Customer.X")
		require.NoError(t, err)
		require.Nil(t, ins.Percentiles)
		require.Equal(t, 2, ins.Nulls)
		rk, err := q.PercentileOf(ctx, "Customer.X", segment.Int(1))
		require.NoError(t, err)
		require.Equal(t, quick.Rank{}, rk)
	})
}

func TestPercentileOf(t *testing.T) {
	ctx := context.Background()
	vals := []any{nil}
	for i := 1; i <= 10; i++ {
		vals = append(vals, int64(i*100))
	}
	q := view(t, unitData{customer: []col{{name: "N", typ: schema.Integer, vals: vals}}})
	for _, c := range []struct {
		value            segment.Value
		below, atOrBelow int
		percent          float64
	}{
		{segment.Int(0), 0, 0, 0},
		{segment.Int(100), 0, 1, 10},
		{segment.Float(100.5), 1, 1, 10},
		{segment.Int(500), 4, 5, 50},
		{segment.Int(1000), 9, 10, 100},
		{segment.Float(1e30), 10, 10, 100},
	} {
		rk, err := q.PercentileOf(ctx, "Customer.N", c.value)
		require.NoError(t, err)
		require.Equal(t, quick.Rank{Values: 10, Below: c.below, AtOrBelow: c.atOrBelow, Percent: c.percent}, rk, "%v", c.value)
	}
	// The percentile of the p-th percentile is at least p.
	ins, err := q.Insights(ctx, "Customer.N")
	require.NoError(t, err)
	for p, v := range ins.Percentiles {
		rk, err := q.PercentileOf(ctx, "Customer.N", v)
		require.NoError(t, err)
		require.GreaterOrEqual(t, rk.Percent, float64(p))
	}
	_, err = q.PercentileOf(ctx, "Customer.S", segment.Str("a"))
	require.ErrorIs(t, err, quick.ErrOperator)
}

func TestTopValuesTies(t *testing.T) {
	ctx := context.Background()
	var ss, ns []any
	add := func(s string, n int64, times int) {
		for range times {
			ss = append(ss, s)
			ns = append(ns, n)
		}
	}
	add("c", 3, 3)
	add("b", 2, 2)
	add("a", 1, 2)
	for i, s := range []string{"m", "l", "k", "j", "i", "h", "g", "f", "e", "d"} {
		add(s, int64(20+i), 1)
	}
	ss, ns = append(ss, nil), append(ns, nil)
	q := view(t, unitData{customer: []col{
		{name: "S", typ: schema.String, vals: ss, dict: true},
		{name: "N", typ: schema.Integer, vals: ns},
	}})
	ins, err := q.Insights(ctx, "Customer.S")
	require.NoError(t, err)
	require.Equal(t, []string{`"c"`, `"a"`, `"b"`, `"d"`, `"e"`, `"f"`, `"g"`, `"h"`, `"i"`, `"j"`}, topTexts(t, ins.Top))
	require.Equal(t, []int{3, 2, 2, 1, 1, 1, 1, 1, 1, 1}, topCounts(ins.Top))
	require.Equal(t, 3, ins.Other, "k, l and m")
	require.Equal(t, 1, ins.Nulls)
	require.Equal(t, 13, ins.Distinct)
	require.Nil(t, ins.Percentiles)

	// 13 distinct integers: categorical, ties by value ascending.
	ins, err = q.Insights(ctx, "Customer.N")
	require.NoError(t, err)
	require.Equal(t, quick.Categorical, ins.Field.Scale)
	require.Equal(t, []string{"3", "1", "2", "20", "21", "22", "23", "24", "25", "26"}, topTexts(t, ins.Top))
	require.Equal(t, 3, ins.Other)

	cs, err := q.Column(ctx, "Customer.S")
	require.NoError(t, err)
	require.Equal(t, `"a"`, texts(t, []segment.Value{cs.Min})[0])
	require.Equal(t, `"m"`, texts(t, []segment.Value{cs.Max})[0])
	require.Equal(t, 18, cs.Rows)
	require.Equal(t, 18, cs.Customers)
}

func topTexts(t *testing.T, top []quick.ValueCount) []string {
	vs := make([]segment.Value, len(top))
	for i, vc := range top {
		vs[i] = vc.Value
	}
	return texts(t, vs)
}

func topCounts(top []quick.ValueCount) []int {
	out := make([]int, len(top))
	for i, vc := range top {
		out[i] = vc.Customers
	}
	return out
}

func TestFieldsAndKinds(t *testing.T) {
	ctx := context.Background()
	mk := func(distinct int) []any {
		out := make([]any, 30)
		for i := range out {
			out[i] = int64(i % distinct)
		}
		return out
	}
	q := view(t, unitData{
		customer: []col{{name: "N", typ: schema.Integer, vals: mk(quick.CategoricalLimit)}},
		churn:    [][2]any{{int64(0), 0.5}},
	})
	fs, err := q.Fields(ctx, quick.Profiles)
	require.NoError(t, err)
	kinds := map[string]quick.Scale{}
	for _, f := range fs {
		require.Equal(t, quick.Profiles, f.Origin)
		require.Equal(t, f.Entity+"."+f.Attribute, f.Name)
		kinds[f.Name] = f.Scale
	}
	require.Equal(t, map[string]quick.Scale{
		"Customer.N": quick.Categorical, "Customer.X": quick.Numerical, "Customer.D": quick.Numerical,
		"Customer.T": quick.Numerical, "Customer.S": quick.Categorical, "Customer.B": quick.Categorical,
	}, kinds, "every attribute but the key")

	q = view(t, unitData{customer: []col{{name: "N", typ: schema.Integer, vals: mk(quick.CategoricalLimit + 1)}}})
	f, err := q.Field(ctx, "Customer.N")
	require.NoError(t, err)
	require.Equal(t, quick.Numerical, f.Scale, "one distinct integer over the limit")

	ms, err := q.Fields(ctx, quick.Measures)
	require.NoError(t, err)
	require.Equal(t, []quick.Field{
		{Name: "Measures.Units", Origin: quick.Measures, Entity: "Measures", Attribute: "Units", DisplayName: "Units ordered", Type: schema.Number, Scale: quick.Numerical},
		{Name: "Measures.Units7d", Origin: quick.Measures, Entity: "Measures", Attribute: "Units7d", Type: schema.Number, Scale: quick.Numerical},
		{Name: "Measures.Orders", Origin: quick.Measures, Entity: "Measures", Attribute: "Orders", Type: schema.Integer, Scale: quick.Categorical},
	}, ms)

	is, err := q.Fields(ctx, quick.Intelligence)
	require.NoError(t, err)
	require.Equal(t, []quick.Field{{Name: "Churn.Score", Origin: quick.Intelligence, Entity: "Churn", Attribute: "Score", Type: schema.Number, Scale: quick.Numerical}}, is,
		"the key and the foreign key are left out")

	_, err = q.Fields(ctx, quick.Origin(7))
	require.ErrorIs(t, err, quick.ErrUnknownOrigin)
}

func TestErrors(t *testing.T) {
	ctx := context.Background()
	q := view(t, unitData{customer: []col{
		{name: "N", typ: schema.Integer, vals: ints(int64(1), int64(2))},
		{name: "X", typ: schema.Number, vals: ints(1.5, nil)},
		{name: "D", typ: schema.Date, vals: ints(int32(1), nil)},
		{name: "T", typ: schema.Datetime, vals: ints(int64(1), nil)},
	}})
	for _, c := range []struct {
		name  string
		field string
		op    quick.Op
		value segment.Value
		want  error
	}{
		{"unknown field", "Customer.Agee", quick.Is, segment.Int(1), quick.ErrUnknownField},
		{"unknown measure", "Measures.Nope", quick.Is, segment.Int(1), quick.ErrUnknownField},
		{"is on numerical", "Customer.X", quick.Is, segment.Float(1.5), quick.ErrOperator},
		{"greaterThan on categorical", "Customer.S", quick.GreaterThan, segment.Str("a"), quick.ErrOperator},
		{"between on a categorical integer", "Customer.N", quick.Between, segment.List(segment.Int(1), segment.Int(2)), quick.ErrOperator},
		{"unknown operator", "Customer.X", quick.Op(9), segment.Float(1), quick.ErrOperator},
		{"string for a number", "Customer.X", quick.GreaterThan, segment.Str("1"), quick.ErrValue},
		{"number for a string", "Customer.S", quick.Is, segment.Int(1), quick.ErrValue},
		{"string for a boolean", "Customer.B", quick.Is, segment.Str("true"), quick.ErrValue},
		{"number for a date", "Customer.D", quick.GreaterThan, segment.Int(3), quick.ErrValue},
		{"not a date", "Customer.D", quick.GreaterThan, segment.Str("2024-02-30"), quick.ErrValue},
		{"datetime for a date", "Customer.D", quick.LessThan, segment.Str("2024-02-03T00:00:00Z"), quick.ErrValue},
		{"not a datetime", "Customer.T", quick.LessThan, segment.Str("yesterday"), quick.ErrValue},
		{"not a JSON number", "Customer.X", quick.LessThan, segment.Value{Kind: segment.NumberValue, Num: "0x10"}, quick.ErrValue},
		{"infinite", "Customer.X", quick.LessThan, segment.Value{Kind: segment.NumberValue, Num: "1e999"}, quick.ErrValue},
		{"missing value", "Customer.X", quick.LessThan, segment.Value{}, quick.ErrValue},
		{"null value", "Customer.X", quick.LessThan, segment.Value{Kind: segment.NullValue}, quick.ErrValue},
		{"list for greaterThan", "Customer.X", quick.GreaterThan, segment.List(segment.Int(1)), quick.ErrValue},
		{"between with one value", "Customer.X", quick.Between, segment.List(segment.Int(1)), quick.ErrValue},
		{"between with a scalar", "Customer.X", quick.Between, segment.Int(1), quick.ErrValue},
		{"between low above high", "Customer.X", quick.Between, segment.List(segment.Int(2), segment.Float(1.5)), quick.ErrValue},
		{"between dates low above high", "Customer.D", quick.Between, segment.Strs("2024-01-02", "2024-01-01"), quick.ErrValue},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := q.Estimate(ctx, c.field, c.op, c.value)
			require.ErrorIs(t, err, c.want)
			_, err = q.Build(ctx, "Name", "", c.field, c.op, c.value)
			require.ErrorIs(t, err, c.want)
			_, err = q.EstimateIn(ctx, c.field, c.op, c.value, roaring.BitmapOf(0))
			require.ErrorIs(t, err, c.want)
		})
	}

	t.Run("did you mean", func(t *testing.T) {
		for name, want := range map[string]string{"Customer.x": "Customer.X", "Customer.NN": "Customer.N", "Units": "Measures.Units", "Score": "Churn.Score"} {
			_, err := q.Insights(ctx, name)
			require.ErrorIs(t, err, quick.ErrUnknownField)
			var p *diag.Problem
			require.True(t, errors.As(err, &p))
			require.Equal(t, want, p.Suggestion, name)
			require.Contains(t, err.Error(), "did you mean "+want)
		}
	})
	t.Run("invalid name", func(t *testing.T) {
		_, err := q.Build(ctx, "has space", "", "Customer.X", quick.GreaterThan, segment.Int(1))
		require.ErrorIs(t, err, segment.ErrName)
	})
	t.Run("parse", func(t *testing.T) {
		_, err := quick.ParseOrigin("profile")
		require.ErrorIs(t, err, quick.ErrUnknownOrigin)
		src, err := quick.ParseOrigin("Intelligence")
		require.NoError(t, err)
		require.Equal(t, quick.Intelligence, src)
		_, err = quick.ParseOp("equals")
		require.ErrorIs(t, err, quick.ErrOperator)
		op, err := quick.ParseOp("greaterthan")
		require.NoError(t, err)
		require.Equal(t, quick.GreaterThan, op)
		require.Equal(t, "Op(9)", quick.Op(9).String())
		require.Equal(t, "Origin(9)", quick.Origin(9).String())
		require.Equal(t, "Scale(9)", quick.Scale(9).String())
	})
}

func TestParseValue(t *testing.T) {
	f := func(typ schema.Type) quick.Field { return quick.Field{Name: "E.A", Type: typ} }
	for _, c := range []struct {
		typ  schema.Type
		op   quick.Op
		text string
		want string // JSON, or "" for an error
	}{
		{schema.Integer, quick.Is, "42", "42"},
		{schema.Integer, quick.GreaterThan, " -1.5e3 ", "-1.5e3"},
		{schema.Number, quick.Between, "1, 2.5", "[1,2.5]"},
		{schema.Number, quick.Between, "1", ""},
		{schema.Number, quick.Between, "1,2,3", ""},
		{schema.Number, quick.LessThan, "NaN", ""},
		{schema.Number, quick.LessThan, "0x1p3", ""},
		{schema.Date, quick.Between, "2024-01-01,2024-12-31", `["2024-01-01","2024-12-31"]`},
		{schema.Date, quick.LessThan, "2024-13-01", ""},
		{schema.Datetime, quick.GreaterThan, "2024-01-01T10:00:00+02:00", `"2024-01-01T10:00:00+02:00"`},
		{schema.Datetime, quick.GreaterThan, "2024-01-01", `"2024-01-01"`},
		{schema.Datetime, quick.GreaterThan, "noon", ""},
		{schema.Boolean, quick.Is, "True", "true"},
		{schema.Boolean, quick.Is, "yes", ""},
		{schema.String, quick.Is, " a,b ", `" a,b "`},
	} {
		v, err := quick.ParseValue(f(c.typ), c.op, c.text)
		if c.want == "" {
			require.ErrorIs(t, err, quick.ErrValue, "%s %q", c.typ, c.text)
			continue
		}
		require.NoError(t, err, "%s %q", c.typ, c.text)
		b, err := v.MarshalJSON()
		require.NoError(t, err)
		require.Equal(t, c.want, string(b))
	}
}

func TestBuildShapes(t *testing.T) {
	ctx := context.Background()
	q := view(t, unitData{
		customer: []col{{name: "X", typ: schema.Number, vals: ints(1.0, 40.0)}, {name: "S", typ: schema.String, vals: ints("x", nil)}},
		orders:   [][3]any{{int64(0), int64(2), day("2026-06-29")}},
		churn:    [][2]any{{int64(1), 0.9}},
	})
	for _, c := range []struct {
		field string
		op    quick.Op
		value segment.Value
		json  string
	}{
		{"Customer.X", quick.GreaterThan, segment.Int(30),
			`{"name":"Q","displayName":"Quick one","groups":[{"condition":{"attribute":"Customer.X","operator":"greaterThan","value":30}}]}`},
		{"Measures.Units", quick.Between, segment.List(segment.Int(1), segment.Int(5)),
			`{"name":"Q","displayName":"Quick one","groups":[{"condition":{"attribute":"Measures.Units","operator":"between","value":[1,5]}}]}`},
		{"Churn.Score", quick.LessThan, segment.Float(0.95),
			`{"name":"Q","displayName":"Quick one","groups":[{"condition":{"attribute":"Churn.Score","operator":"lessThan","value":0.95}}]}`},
		{"Customer.S", quick.Is, segment.Str("x"),
			`{"name":"Q","displayName":"Quick one","groups":[{"condition":{"attribute":"Customer.S","operator":"equals","value":"x"}}]}`},
	} {
		def, err := q.Build(ctx, "Q", "Quick one", c.field, c.op, c.value)
		require.NoError(t, err)
		b, err := def.MarshalJSON()
		require.NoError(t, err)
		require.JSONEq(t, c.json, string(b))
		size, err := q.Estimate(ctx, c.field, c.op, c.value)
		require.NoError(t, err)
		require.Equal(t, 1, size.MemberCount, c.field)
		require.Equal(t, 2, size.Customers)
		require.Equal(t, 0.5, size.Share)
		require.Equal(t, size.MemberCount, engineCount(t, q, def))
	}
}

func engineCount(t *testing.T, q quick.View, def *segment.Definition) int {
	t.Helper()
	plan, err := engine.Compile(def, q.Stats().Snapshot(), engine.Options{})
	require.NoError(t, err)
	n, err := plan.EvalCardinality(context.Background(), q.AsOf())
	require.NoError(t, err)
	return int(n)
}

func TestPredictionCountsCustomers(t *testing.T) {
	ctx := context.Background()
	// Customers 0..4; churn rows for 1, 3, a missing customer (7) and a null
	// link: 2 customers have a score, 3 are null.
	q := view(t, unitData{
		customer: []col{{name: "X", typ: schema.Number, vals: ints(nil, nil, nil, nil, nil)}},
		churn:    [][2]any{{int64(3), 0.25}, {int64(7), 0.5}, {nil, 0.75}, {int64(1), 0.75}},
	})
	cs, err := q.Column(ctx, "Churn.Score")
	require.NoError(t, err)
	require.Equal(t, 4, cs.Rows)
	require.Equal(t, 5, cs.Customers)
	require.Equal(t, 3, cs.Nulls)
	require.Equal(t, 2, cs.Distinct)
	for _, c := range []struct {
		op    quick.Op
		value segment.Value
		want  int
	}{
		{quick.GreaterThan, segment.Float(0.3), 1},
		{quick.LessThan, segment.Int(1), 2},
		{quick.Between, segment.List(segment.Float(0.5), segment.Float(0.75)), 1},
	} {
		size, err := q.Estimate(ctx, "Churn.Score", c.op, c.value)
		require.NoError(t, err)
		require.Equal(t, c.want, size.MemberCount)
		def, err := q.Build(ctx, "Q", "", "Churn.Score", c.op, c.value)
		require.NoError(t, err)
		require.Equal(t, c.want, engineCount(t, q, def))
	}
	ins, err := q.InsightsIn(ctx, "Churn.Score", roaring.BitmapOf(0, 1, 2, 99))
	require.NoError(t, err)
	require.Equal(t, 3, ins.Customers, "99 is not a customer")
	require.Equal(t, 2, ins.Nulls)
	require.Equal(t, "0.75", texts(t, ins.Percentiles)[0])
}

func TestNotOneToOne(t *testing.T) {
	ctx := context.Background()
	q := view(t, unitData{
		customer: []col{{name: "X", typ: schema.Number, vals: ints(nil, nil)}},
		churn:    [][2]any{{int64(1), 0.25}, {int64(0), 0.5}, {int64(1), 0.75}},
	})
	_, err := q.Insights(ctx, "Churn.Score")
	require.ErrorIs(t, err, quick.ErrNotOneToOne)
	_, err = q.Estimate(ctx, "Churn.Score", quick.GreaterThan, segment.Int(0))
	require.ErrorIs(t, err, quick.ErrNotOneToOne)
	_, err = q.Build(ctx, "Q", "", "Churn.Score", quick.GreaterThan, segment.Int(0))
	require.ErrorIs(t, err, quick.ErrNotOneToOne)
	require.Contains(t, err.Error(), "rows 1 and 3 for customer 1")
	_, err = q.Fields(ctx, quick.Intelligence)
	require.NoError(t, err, "a number field's scale needs no statistics")
	_, err = q.Insights(ctx, "Customer.X")
	require.NoError(t, err, "other sources still work")
}

// severalPaths has a prediction entity with two relationship paths to the
// customer: definitions then need an explicit path.
const severalPaths = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}]},
    {"name": "Account", "key": "AccountId", "attributes": [
      {"name": "AccountId", "type": "integer"}, {"name": "Owner", "type": "integer"}]},
    {"name": "Propensity", "key": "Id", "prediction": true, "attributes": [
      {"name": "Id", "type": "integer"}, {"name": "Account", "type": "integer"},
      {"name": "Customer", "type": "integer"}, {"name": "Likely", "type": "boolean"}]}
  ],
  "relationships": [
    {"name": "AccountOwner", "from": {"entity": "Account", "attribute": "Owner"}, "to": {"entity": "Customer", "attribute": "Id"}},
    {"name": "PropensityAccount", "from": {"entity": "Propensity", "attribute": "Account"}, "to": {"entity": "Account", "attribute": "AccountId"}},
    {"name": "PropensityCustomer", "from": {"entity": "Propensity", "attribute": "Customer"}, "to": {"entity": "Customer", "attribute": "Id"}}
  ]
}`

func TestSeveralPaths(t *testing.T) {
	ctx := context.Background()
	snap := snapshotOf(t, severalPaths, map[string][]col{
		"Customer": {{name: "Id", typ: schema.Integer, vals: ints(int64(1), int64(2), int64(3))}},
		"Account": {{name: "AccountId", typ: schema.Integer, vals: ints(int64(10), int64(11))},
			{name: "Owner", typ: schema.Integer, vals: ints(int64(3), int64(3))}},
		"Propensity": {{name: "Id", typ: schema.Integer, vals: ints(int64(100), int64(101), int64(102))},
			{name: "Account", typ: schema.Integer, vals: ints(int64(10), int64(11), nil)},
			{name: "Customer", typ: schema.Integer, vals: ints(int64(1), int64(2), int64(3))},
			{name: "Likely", typ: schema.Boolean, vals: ints(true, true, false)}},
	})
	q := quick.New(snap, quick.Options{}).At(asOf)
	fs, err := q.Fields(ctx, quick.Intelligence)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	require.Equal(t, "Propensity.Likely", fs[0].Name)
	size, err := q.Estimate(ctx, "Propensity.Likely", quick.Is, segment.Bool(true))
	require.NoError(t, err)
	require.Equal(t, 2, size.MemberCount, "along the shortest path, PropensityCustomer")
	def, err := q.Build(ctx, "Likely", "", "Propensity.Likely", quick.Is, segment.Bool(true))
	require.NoError(t, err)
	rel, ok := def.Groups[0].Condition.(*segment.Related)
	require.True(t, ok)
	require.Equal(t, []string{"PropensityCustomer"}, rel.Path)
	require.Equal(t, 2, engineCount(t, q, def))
}

func TestHugeSums(t *testing.T) {
	ctx := context.Background()
	q := view(t, unitData{
		customer: []col{{name: "X", typ: schema.Number, vals: ints(nil, nil, nil, nil)}},
		orders: [][3]any{
			{int64(0), int64(math.MaxInt64), nil}, {int64(0), int64(math.MaxInt64), nil},
			{int64(1), int64(math.MinInt64 / 2), nil}, {int64(1), int64(math.MinInt64 / 2), nil}, {int64(1), int64(math.MinInt64 / 2), nil},
			{int64(2), int64(5), nil},
			// Overflows, then comes back into int64.
			{int64(3), int64(math.MaxInt64), nil}, {int64(3), int64(1), nil}, {int64(3), int64(math.MinInt64), nil},
		},
	})
	// Sums are numbers (FORMAT.md section 3): 2^64-2 and -3*2^62 are the
	// float64s nearest them.
	ins, err := q.Insights(ctx, "Measures.Units")
	require.NoError(t, err)
	got := texts(t, ins.Percentiles)
	require.Equal(t, []string{"-1.3835058055282164e+19", "-1.3835058055282164e+19", "0", "0", "5", "5", "1.8446744073709552e+19", "1.8446744073709552e+19"},
		[]string{got[0], got[25], got[26], got[50], got[51], got[75], got[76], got[100]})
	for _, c := range []struct {
		op    quick.Op
		value segment.Value
		want  int
	}{
		{quick.GreaterThan, segment.Int(math.MaxInt64), 1},
		{quick.LessThan, segment.Int(math.MinInt64), 1},
		// A number column compares with the float64 nearest the text: 2^64.
		{quick.GreaterThan, segment.Value{Kind: segment.NumberValue, Num: "18446744073709551613"}, 0},
		{quick.LessThan, segment.Value{Kind: segment.NumberValue, Num: "18446744073709551616.5"}, 3},
		{quick.Between, segment.List(segment.Float(-1.4e19), segment.Float(1e19)), 3},
		{quick.LessThan, segment.Float(1e30), 4},
	} {
		size, err := q.Estimate(ctx, "Measures.Units", c.op, c.value)
		require.NoError(t, err)
		require.Equal(t, c.want, size.MemberCount, "%s %v", c.op, c.value)
		in, err := q.EstimateIn(ctx, "Measures.Units", c.op, c.value, roaring.BitmapOf(0, 1, 2, 3))
		require.NoError(t, err)
		require.Equal(t, c.want, in.MemberCount)
		def, err := q.Build(ctx, "Q", "", "Measures.Units", c.op, c.value)
		require.NoError(t, err)
		require.Equal(t, c.want, engineCount(t, q, def))
	}
}

// TestIntegerComparisons checks that an integer column compares with the
// exact decimal a JSON number writes, not the float64 nearest to it.
func TestIntegerComparisons(t *testing.T) {
	ctx := context.Background()
	vals := []any{int64(math.MinInt64), int64(2), int64(3), int64(math.MaxInt64)}
	for i := range 30 {
		vals = append(vals, int64(100+i)) // numerical
	}
	q := view(t, unitData{customer: []col{{name: "N", typ: schema.Integer, vals: vals}}})
	num := func(s string) segment.Value { return segment.Value{Kind: segment.NumberValue, Num: json.Number(s)} }
	for _, c := range []struct {
		op    quick.Op
		value segment.Value
		want  int
	}{
		{quick.LessThan, num("2.99999999999999999999"), 2},     // the float64 would be 3
		{quick.GreaterThan, num("2.99999999999999999999"), 32}, // 3 and above
		{quick.LessThan, num("-9.223372036854776e+18"), 0},     // the decimal is below -2^63
		{quick.GreaterThan, num("9.223372036854775807e18"), 0},
		{quick.LessThan, num("-1e-999999999"), 1},
		{quick.GreaterThan, num("1e300"), 0},
		{quick.Between, segment.List(num("2"), num("3.0")), 2},
		{quick.Between, segment.List(num("3.00000000000000000001"), num("3")), 0}, // as floats low = high
	} {
		size, err := q.Estimate(ctx, "Customer.N", c.op, c.value)
		require.NoError(t, err, "%s %v", c.op, c.value)
		require.Equal(t, c.want, size.MemberCount, "%s %v", c.op, c.value)
		def, err := q.Build(ctx, "Q", "", "Customer.N", c.op, c.value)
		require.NoError(t, err)
		require.Equal(t, c.want, engineCount(t, q, def), "%s %v", c.op, c.value)
	}
}

func TestMeasuresDependOnAsOf(t *testing.T) {
	ctx := context.Background()
	d := unitData{
		customer: []col{{name: "X", typ: schema.Number, vals: ints(nil, nil, nil)}},
		orders: [][3]any{
			{int64(0), int64(4), day("2026-06-29")},
			{int64(1), int64(4), day("2026-06-25")},
			{int64(2), int64(4), day("2026-06-10")},
		},
	}
	st := quick.New(d.snapshot(t), quick.Options{MeasureInstants: 1})
	// Units7d counts the orders of the days D-7..D.
	want := map[string]int{"2026-06-30": 2, "2026-06-26": 1, "2026-06-15": 1, "2026-06-01": 0}
	for range 2 { // the second round recomputes what the first evicted
		for at, n := range want {
			asOf, err := time.Parse(time.DateOnly, at)
			require.NoError(t, err)
			q := st.At(asOf)
			size, err := q.Estimate(ctx, "Measures.Units7d", quick.GreaterThan, segment.Int(0))
			require.NoError(t, err)
			require.Equal(t, n, size.MemberCount, at)
			def, err := q.Build(ctx, "Q", "", "Measures.Units7d", quick.GreaterThan, segment.Int(0))
			require.NoError(t, err)
			require.Equal(t, n, engineCount(t, q, def), at)
		}
	}
}

func TestEmpty(t *testing.T) {
	ctx := context.Background()
	q := view(t, unitData{customer: []col{{name: "X", typ: schema.Number, vals: []any{}}}})
	for _, f := range []string{"Customer.N", "Customer.X", "Customer.D", "Customer.T", "Customer.S", "Customer.B", "Measures.Units", "Churn.Score"} {
		ins, err := q.Insights(ctx, f)
		require.NoError(t, err, f)
		require.Zero(t, ins.Customers)
		require.Empty(t, ins.Top)
		require.Nil(t, ins.Percentiles)
		ins, err = q.InsightsIn(ctx, f, roaring.BitmapOf(1, 2))
		require.NoError(t, err, f)
		require.Zero(t, ins.Customers)
	}
	size, err := q.Estimate(ctx, "Customer.X", quick.GreaterThan, segment.Int(0))
	require.NoError(t, err)
	require.Equal(t, quick.Size{}, size)
	size, err = q.EstimateIn(ctx, "Customer.S", quick.Is, segment.Str("a"), nil)
	require.NoError(t, err)
	require.Equal(t, quick.Size{}, size)
}

func TestConcurrentFirstUse(t *testing.T) {
	ctx := context.Background()
	vals := make([]any, 5000)
	for i := range vals {
		vals[i] = float64(i % 977)
	}
	snap := unitData{customer: []col{{name: "X", typ: schema.Number, vals: vals}},
		orders: [][3]any{{int64(1), int64(3), day("2026-06-29")}}}.snapshot(t)
	st := quick.New(snap, quick.Options{MeasureInstants: 2})
	var wg sync.WaitGroup
	sizes := make([]int, 32)
	for i := range sizes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			q := st.At(asOf.Add(time.Duration(i%4) * time.Hour)) // four instants over a limit of two
			s, err := q.Estimate(ctx, "Customer.X", quick.LessThan, segment.Int(100))
			if err != nil {
				sizes[i] = -1
				return
			}
			m, err := q.Estimate(ctx, "Measures.Units", quick.GreaterThan, segment.Int(0))
			if err != nil || m.MemberCount != 1 {
				sizes[i] = -1
				return
			}
			sizes[i] = s.MemberCount
		}()
	}
	wg.Wait()
	for _, s := range sizes {
		require.Equal(t, 5000/977*100+100, s)
	}
}

func TestCanceled(t *testing.T) {
	q := view(t, unitData{customer: []col{{name: "X", typ: schema.Number, vals: ints(1.0, 2.0)}}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := q.Insights(ctx, "Customer.X")
	require.ErrorIs(t, err, context.Canceled)
	_, err = q.Estimate(ctx, "Measures.Units", quick.GreaterThan, segment.Int(1))
	require.ErrorIs(t, err, context.Canceled)
	// A cancelled first use is not cached.
	ins, err := q.Insights(context.Background(), "Customer.X")
	require.NoError(t, err)
	require.Equal(t, []string{"1", "2"}, []string{texts(t, ins.Percentiles)[0], texts(t, ins.Percentiles)[100]})
}
