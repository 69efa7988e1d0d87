package quick_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

const worldSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "attributes": [
      {"name": "CustomerId", "type": "integer"}, {"name": "Age", "type": "integer"},
      {"name": "Level", "type": "integer"}, {"name": "Balance", "type": "number"},
      {"name": "Country", "type": "string"}, {"name": "Vip", "type": "boolean"},
      {"name": "Signup", "type": "date"}, {"name": "LastSeen", "type": "datetime"}]},
    {"name": "Order", "key": "OrderId", "attributes": [
      {"name": "OrderId", "type": "integer"}, {"name": "CustomerId", "type": "integer"},
      {"name": "Amount", "type": "number"}, {"name": "Qty", "type": "integer"},
      {"name": "Day", "type": "date"}, {"name": "Channel", "type": "string"}]},
    {"name": "Churn", "key": "CustomerId", "prediction": true, "attributes": [
      {"name": "CustomerId", "type": "integer"}, {"name": "Score", "type": "number"},
      {"name": "Risk", "type": "integer"}, {"name": "Label", "type": "string"},
      {"name": "Flag", "type": "boolean"}, {"name": "Until", "type": "date"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "CustomerId"}},
    {"name": "ChurnCustomer", "from": {"entity": "Churn", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "CustomerId"}}
  ],
  "measures": [
    {"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}},
    {"name": "Spend30d", "related": "Order", "where": {"attribute": "Order.Day", "operator": "inLastDays", "value": 30},
     "aggregate": {"function": "sum", "attribute": "Order.Amount"}},
    {"name": "Orders", "related": "Order", "aggregate": {"function": "count"}},
    {"name": "Units", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Qty"}},
    {"name": "MaxQty", "related": "Order", "aggregate": {"function": "max", "attribute": "Order.Qty"}},
    {"name": "LastDay", "related": "Order", "aggregate": {"function": "max", "attribute": "Order.Day"}},
    {"name": "LastChannel", "related": "Order", "aggregate": {"function": "last", "attribute": "Order.Channel", "orderBy": "Order.Day"}}
  ]
}`

// naive is one customer's value of a field, as the test reads it from the
// data it generated (or from the engine, for measures).
type naive struct {
	null, nan bool
	r         *big.Rat // integer, number, date (days), datetime (microseconds)
	s         string
	b         bool
}

func (v naive) key() string {
	if v.r != nil {
		return v.r.RatString()
	}
	return fmt.Sprintf("s:%q b:%v", v.s, v.b)
}

// world is random data with the customers' values of every field.
type world struct {
	n      int
	asOf   time.Time
	values map[string][]naive // by field name, for profile and prediction fields
	tables map[string][]col
}

var (
	stringPool = []string{"US", "DE", "FR", "JP", "BR", "", "é", "us", "a,b"}
	floatPool  = []float64{0, math.Copysign(0, -1), 0.5, -1.25, 3, 7.75, 0.1, 1e300, -1e300, 1e-300, 12345.678}
)

// genNull draws whether a value is null, with probability about 1/5.
func genNull(t *rapid.T) bool { return rapid.IntRange(0, 4).Draw(t, "null") == 0 }

func genInts(t *rapid.T, n int, label string) []any {
	mode := rapid.IntRange(0, 3).Draw(t, label+"Mode")
	out := make([]any, n)
	for i := range out {
		if genNull(t) {
			continue
		}
		switch mode {
		case 0: // few distinct values: categorical
			out[i] = int64(rapid.IntRange(-2, 4).Draw(t, label))
		case 1:
			out[i] = int64(rapid.IntRange(-1000, 1000).Draw(t, label))
		case 2:
			out[i] = rapid.SampledFrom([]int64{math.MinInt64, math.MaxInt64, -1, 0, 1, 1 << 53, 1<<53 + 1}).Draw(t, label)
		default:
			out[i] = rapid.Int64().Draw(t, label)
		}
	}
	return out
}

func genFloats(t *rapid.T, n int, label string) []any {
	out := make([]any, n)
	for i := range out {
		if genNull(t) {
			continue
		}
		if rapid.Bool().Draw(t, label+"Pool") {
			out[i] = rapid.SampledFrom(floatPool).Draw(t, label)
		} else {
			out[i] = float64(rapid.IntRange(-400, 400).Draw(t, label)) / 8
		}
	}
	return out
}

func genStrings(t *rapid.T, n int, label string) []any {
	out := make([]any, n)
	for i := range out {
		if !genNull(t) {
			out[i] = rapid.SampledFrom(stringPool).Draw(t, label)
		}
	}
	return out
}

func genBools(t *rapid.T, n int, label string) []any {
	out := make([]any, n)
	for i := range out {
		if !genNull(t) {
			out[i] = rapid.Bool().Draw(t, label)
		}
	}
	return out
}

func genDays(t *rapid.T, n int, from, to int, label string) []any {
	out := make([]any, n)
	for i := range out {
		if !genNull(t) {
			out[i] = int32(rapid.IntRange(from, to).Draw(t, label))
		}
	}
	return out
}

func genMicros(t *rapid.T, n int, label string) []any {
	base := int64(1_700_000_000_000_000)
	out := make([]any, n)
	for i := range out {
		if genNull(t) {
			continue
		}
		switch rapid.IntRange(0, 2).Draw(t, label+"Mode") {
		case 0:
			out[i] = base + int64(rapid.IntRange(-5, 5).Draw(t, label))*86_400_000_000
		case 1:
			out[i] = base + int64(rapid.IntRange(-3_000_000, 3_000_000).Draw(t, label))
		default:
			out[i] = base + rapid.Int64Range(-1e15, 1e15).Draw(t, label)
		}
	}
	return out
}

func genWorld(t *rapid.T) *world {
	n := rapid.IntRange(0, 60).Draw(t, "customers")
	asOf := time.Date(2024, 6, 30, 12, 0, 0, 0, time.UTC).Add(time.Duration(rapid.IntRange(-40, 40).Draw(t, "asOfDays")) * 24 * time.Hour)
	asOfDay := int(asOf.Unix() / 86400)
	keys := make([]any, n)
	for i := range keys {
		keys[i] = int64(i*7 + 3)
	}
	w := &world{n: n, asOf: asOf, values: map[string][]naive{}, tables: map[string][]col{}}
	w.tables["Customer"] = []col{
		{name: "CustomerId", typ: schema.Integer, vals: keys},
		{name: "Age", typ: schema.Integer, vals: genInts(t, n, "age")},
		{name: "Level", typ: schema.Integer, vals: genInts(t, n, "level")},
		{name: "Balance", typ: schema.Number, vals: genFloats(t, n, "balance")},
		{name: "Country", typ: schema.String, vals: genStrings(t, n, "country"), dict: rapid.Bool().Draw(t, "dict")},
		{name: "Vip", typ: schema.Boolean, vals: genBools(t, n, "vip")},
		{name: "Signup", typ: schema.Date, vals: genDays(t, n, -800, 20000, "signup")},
		{name: "LastSeen", typ: schema.Datetime, vals: genMicros(t, n, "lastSeen")},
	}

	m := rapid.IntRange(0, 3*n+1).Draw(t, "orders")
	orderIDs, orderCust := make([]any, m), make([]any, m)
	qty := make([]any, m)
	for i := range m {
		orderIDs[i] = int64(i + 1)
		switch {
		case n > 0 && rapid.IntRange(0, 9).Draw(t, "linked") > 0:
			orderCust[i] = keys[rapid.IntRange(0, n-1).Draw(t, "orderCustomer")]
		case rapid.Bool().Draw(t, "dangling"):
			orderCust[i] = int64(-1)
		}
		if !genNull(t) {
			if rapid.IntRange(0, 9).Draw(t, "huge") == 0 {
				qty[i] = rapid.SampledFrom([]int64{math.MaxInt64 / 2, math.MinInt64 / 2, math.MaxInt64}).Draw(t, "qty")
			} else {
				qty[i] = int64(rapid.IntRange(-3, 30).Draw(t, "qty"))
			}
		}
	}
	w.tables["Order"] = []col{
		{name: "OrderId", typ: schema.Integer, vals: orderIDs},
		{name: "CustomerId", typ: schema.Integer, vals: orderCust},
		{name: "Amount", typ: schema.Number, vals: genFloats(t, m, "amount")},
		{name: "Qty", typ: schema.Integer, vals: qty},
		{name: "Day", typ: schema.Date, vals: genDays(t, m, asOfDay-60, asOfDay+5, "day")},
		{name: "Channel", typ: schema.String, vals: genStrings(t, m, "channel"), dict: true},
	}

	// Churn: at most one row per customer, and rows of unknown customers.
	var churnKeys []any
	rowOf := make([]int, n)
	for i := range n {
		rowOf[i] = -1
		if rapid.IntRange(0, 3).Draw(t, "scored") > 0 {
			rowOf[i] = len(churnKeys)
			churnKeys = append(churnKeys, keys[i])
		}
	}
	for i := range rapid.IntRange(0, 3).Draw(t, "unknownScores") {
		churnKeys = append(churnKeys, int64(-10-i))
	}
	k := len(churnKeys)
	w.tables["Churn"] = []col{
		{name: "CustomerId", typ: schema.Integer, vals: churnKeys},
		{name: "Score", typ: schema.Number, vals: genFloats(t, k, "score")},
		{name: "Risk", typ: schema.Integer, vals: genInts(t, k, "risk")},
		{name: "Label", typ: schema.String, vals: genStrings(t, k, "label")},
		{name: "Flag", typ: schema.Boolean, vals: genBools(t, k, "flag")},
		{name: "Until", typ: schema.Date, vals: genDays(t, k, asOfDay-3, asOfDay+3, "until")},
	}

	for _, c := range w.tables["Customer"][1:] {
		vs := make([]naive, n)
		for i, v := range c.vals {
			vs[i] = naiveOf(c.typ, v)
		}
		w.values["Customer."+c.name] = vs
	}
	for _, c := range w.tables["Churn"][1:] {
		vs := make([]naive, n)
		for i := range n {
			if rowOf[i] < 0 {
				vs[i] = naive{null: true}
				continue
			}
			vs[i] = naiveOf(c.typ, c.vals[rowOf[i]])
		}
		w.values["Churn."+c.name] = vs
	}
	return w
}

// naiveOf converts a generated value.
func naiveOf(t schema.Type, v any) naive {
	switch x := v.(type) {
	case nil:
		return naive{null: true}
	case int64:
		return naive{r: new(big.Rat).SetInt64(x)}
	case int32:
		return naive{r: new(big.Rat).SetInt64(int64(x))}
	case float64:
		return naive{r: new(big.Rat).SetFloat64(x)}
	case string:
		return naive{s: x}
	case bool:
		return naive{b: x}
	}
	panic(fmt.Sprintf("test data value %T", v))
}

// naiveOfEngine converts a measure value computed by the engine.
func naiveOfEngine(t schema.Type, v any) naive {
	switch x := v.(type) {
	case nil:
		return naive{null: true}
	case int64:
		return naive{r: new(big.Rat).SetInt64(x)}
	case float64:
		if math.IsNaN(x) {
			return naive{nan: true}
		}
		if math.IsInf(x, 0) {
			panic("test data overflowed a measure to infinity; keep the pools smaller")
		}
		return naive{r: new(big.Rat).SetFloat64(x)}
	case *big.Rat:
		return naive{r: x}
	case time.Time:
		if t == schema.Date {
			return naive{r: big.NewRat(x.Unix()/86400, 1)}
		}
		return naive{r: new(big.Rat).SetInt64(x.UnixMicro())}
	case string:
		return naive{s: x}
	case bool:
		return naive{b: x}
	}
	panic(fmt.Sprintf("engine value %T", v))
}

// fieldValues returns the customers' values of f.
func (w *world) fieldValues(t *rapid.T, ctx context.Context, q quick.View, f quick.Field) []naive {
	if f.Origin != quick.Measures {
		return w.values[f.Name]
	}
	ms, err := segment.ParseMeasures(q.Stats().Snapshot().Schema())
	require.NoError(t, err)
	for _, m := range ms {
		if m.Name != f.Attribute {
			continue
		}
		vals, err := engine.EvalMeasure(ctx, q.Stats().Snapshot(), m, w.asOf)
		require.NoError(t, err)
		out := make([]naive, w.n)
		for i := range out {
			out[i] = naiveOfEngine(f.Type, vals.Value(uint32(i)))
		}
		return out
	}
	t.Fatalf("no measure %s", f.Attribute)
	return nil
}

// floatStored reports whether the values of f are float64s: number
// attributes and measures (the sum of integers Units included).
func floatStored(f quick.Field) bool { return f.Type == schema.Number }

// pointOf returns an ordered value as the engine compares it with the
// values of f.
func pointOf(f quick.Field, v segment.Value) *big.Rat {
	if floatStored(f) {
		return floatRat(v)
	}
	return ratOf(f.Type, v)
}

// valueKey converts a value from the package's output to a naive key.
func valueKey(f quick.Field, v segment.Value) string {
	t := f.Type
	switch v.Kind {
	case segment.StringValue:
		if t == schema.String {
			return naive{s: v.Str}.key()
		}
	case segment.BoolValue:
		return naive{b: v.Bool}.key()
	}
	r := pointOf(f, v)
	if r == nil {
		return "unparsable " + fmt.Sprint(v)
	}
	return r.RatString()
}

type valueCount struct {
	Key   string
	Count int
}

// expected is what the insights of a set of values must be, computed
// plainly.
type expected struct {
	Customers, Nulls, NaN, Distinct int
	Top                             []valueCount
	Other                           int
	Percentiles                     []string
}

func naiveInsights(kind quick.Scale, vals []naive) expected {
	var e expected
	counts := map[string]int{}
	firstRat := map[string]*big.Rat{}
	var sorted []*big.Rat
	for _, v := range vals {
		e.Customers++
		switch {
		case v.null:
			e.Nulls++
			continue
		case v.nan:
			e.NaN++
			continue
		}
		counts[v.key()]++
		if v.r != nil {
			firstRat[v.key()] = v.r
			sorted = append(sorted, v.r)
		}
	}
	e.Distinct = len(counts)
	if kind == quick.Categorical {
		var all []valueCount
		for k, c := range counts {
			all = append(all, valueCount{k, c})
		}
		slices.SortFunc(all, func(a, b valueCount) int {
			if a.Count != b.Count {
				return b.Count - a.Count
			}
			ra, rb := firstRat[a.Key], firstRat[b.Key]
			if ra != nil && rb != nil {
				return ra.Cmp(rb)
			}
			return compareNaiveKeys(a.Key, b.Key)
		})
		if len(all) > quick.TopValues {
			all = all[:quick.TopValues]
		}
		e.Top = all
		e.Other = e.Customers - e.Nulls - e.NaN
		for _, vc := range all {
			e.Other -= vc.Count
		}
		return e
	}
	slices.SortFunc(sorted, func(a, b *big.Rat) int { return a.Cmp(b) })
	if n := len(sorted); n > 0 {
		// Nearest rank: the least value with at least p% of the values at or
		// below it; p0 is the least value.
		for p := 0; p <= 100; p++ {
			i := 0
			for p > 0 && (i+1)*100 < p*n {
				i++
			}
			e.Percentiles = append(e.Percentiles, sorted[i].RatString())
		}
	}
	return e
}

// compareNaiveKeys orders the keys of strings and booleans as their
// values: strings in byte order, false before true.
func compareNaiveKeys(a, b string) int {
	var sa, sb string
	var ba, bb bool
	fmt.Sscanf(a, "s:%q b:%v", &sa, &ba)
	fmt.Sscanf(b, "s:%q b:%v", &sb, &bb)
	if sa != sb {
		if sa < sb {
			return -1
		}
		return 1
	}
	switch {
	case ba == bb:
		return 0
	case !ba:
		return -1
	}
	return 1
}

func gotInsights(f quick.Field, ins *quick.Insights) expected {
	e := expected{Customers: ins.Customers, Nulls: ins.Nulls, NaN: ins.NaN, Distinct: ins.Distinct, Other: ins.Other}
	for _, vc := range ins.Top {
		e.Top = append(e.Top, valueCount{valueKey(f, vc.Value), vc.Customers})
	}
	for _, p := range ins.Percentiles {
		e.Percentiles = append(e.Percentiles, valueKey(f, p))
	}
	return e
}

// genValue draws a value for f and op: often one the data holds, nearby
// or between values, or far away.
func genValue(t *rapid.T, f quick.Field, op quick.Op, vals []naive) segment.Value {
	if op == quick.Between {
		lo, hi := genScalar(t, f, vals), genScalar(t, f, vals)
		if pointOf(f, lo).Cmp(pointOf(f, hi)) > 0 {
			lo, hi = hi, lo
		}
		return segment.List(lo, hi)
	}
	return genScalar(t, f, vals)
}

func genScalar(t *rapid.T, f quick.Field, vals []naive) segment.Value {
	var have []naive
	for _, v := range vals {
		if !v.null && !v.nan {
			have = append(have, v)
		}
	}
	switch f.Type {
	case schema.String:
		return segment.Str(rapid.SampledFrom(append(slices.Clone(stringPool), "XX")).Draw(t, "string"))
	case schema.Boolean:
		return segment.Bool(rapid.Bool().Draw(t, "bool"))
	}
	var r *big.Rat
	if len(have) > 0 && rapid.IntRange(0, 3).Draw(t, "existing") > 0 {
		r = have[rapid.IntRange(0, len(have)-1).Draw(t, "pick")].r
	} else {
		r = new(big.Rat).SetInt64(rapid.Int64Range(-2000, 2000).Draw(t, "far"))
		if f.Type == schema.Datetime {
			r.Add(r, big.NewRat(1_700_000_000_000_000, 1))
		}
	}
	nudge := rapid.IntRange(0, 5).Draw(t, "nudge")
	switch f.Type {
	case schema.Integer, schema.Number:
		switch nudge {
		case 4:
			// Just below an integer, closer than any float64 there: the
			// exact decimal and the nearest float64 fall on either side.
			if r.IsInt() && r.Sign() > 0 {
				return jsonNumber(new(big.Int).Sub(r.Num(), big.NewInt(1)).String() + ".99999999999999999999")
			}
			return jsonNumber("0.1")
		case 5:
			return jsonNumber("-1e-999999999")
		case 1:
			r = new(big.Rat).Add(r, big.NewRat(1, 2))
		case 2:
			r = new(big.Rat).Sub(r, big.NewRat(1, 1))
		case 3:
			f64, _ := r.Float64()
			return segment.Float(f64 * 1.0000001)
		}
		if r.IsInt() && rapid.Bool().Draw(t, "digits") {
			return jsonNumber(r.Num().String())
		}
		f64, _ := r.Float64()
		if math.IsInf(f64, 0) {
			return jsonNumber(r.Num().String())
		}
		return segment.Float(f64)
	case schema.Date:
		day, _ := r.Float64()
		d := int64(day) + int64(nudge%3) - 1
		return segment.Str(time.Unix(d*86400, 0).UTC().Format(time.DateOnly))
	default: // datetime
		us, _ := r.Float64()
		tm := time.UnixMicro(int64(us)).UTC()
		switch nudge {
		case 1:
			tm = tm.Add(500 * time.Nanosecond)
		case 2:
			tm = tm.Add(-time.Microsecond)
		case 3:
			return segment.Str(tm.Format(time.DateOnly))
		case 4:
			return segment.Str(tm.In(time.FixedZone("", 2*3600)).Format(time.RFC3339Nano))
		}
		return segment.Str(tm.Format(time.RFC3339Nano))
	}
}

// naiveCount counts the values that satisfy op and value, plainly.
func naiveCount(f quick.Field, op quick.Op, value segment.Value, vals []naive, in func(i int) bool) int {
	n := 0
	for i, v := range vals {
		if v.null || v.nan || !in(i) {
			continue
		}
		ok := false
		switch {
		case f.Type == schema.String:
			ok = v.s == value.Str
		case f.Type == schema.Boolean:
			ok = v.b == value.Bool
		case op == quick.Is:
			ok = v.r.Cmp(pointOf(f, value)) == 0
		case op == quick.Between:
			ok = v.r.Cmp(pointOf(f, value.List[0])) >= 0 && v.r.Cmp(pointOf(f, value.List[1])) <= 0
		case op == quick.GreaterThan:
			ok = v.r.Cmp(pointOf(f, value)) > 0
		case op == quick.LessThan:
			ok = v.r.Cmp(pointOf(f, value)) < 0
		}
		if ok {
			n++
		}
	}
	return n
}

func TestPropertyEstimateMatchesEngine(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		w := genWorld(rt)
		snap := snapshotOf(t, worldSchema, w.tables)
		ctx := context.Background()
		st := quick.New(snap, quick.Options{})
		q := st.At(w.asOf)

		var fields []quick.Field
		for _, src := range quick.Origins() {
			fs, err := q.Fields(ctx, src)
			require.NoError(rt, err)
			fields = append(fields, fs...)
		}
		require.Len(rt, fields, 7+7+5)

		subset := roaring.New()
		for i := range w.n {
			if rapid.Bool().Draw(rt, "member") {
				subset.Add(uint32(i))
			}
		}
		subset.Add(uint32(w.n + 5)) // not a customer: ignored
		inSubset := func(i int) bool { return subset.Contains(uint32(i)) }

		for range rapid.IntRange(1, 6).Draw(rt, "queries") {
			f := rapid.SampledFrom(fields).Draw(rt, "field")
			vals := w.fieldValues(rt, ctx, q, f)

			// Kind, statistics and insights against plain counts.
			want := naiveInsights(f.Scale, vals)
			if f.Type == schema.Integer {
				require.Equal(rt, want.Distinct <= quick.CategoricalLimit, f.Scale == quick.Categorical, "kind of %s", f.Name)
			}
			ins, err := q.Insights(ctx, f.Name)
			require.NoError(rt, err)
			require.Equal(rt, want, gotInsights(f, ins), "insights of %s", f.Name)

			var sub []naive
			for i, v := range vals {
				if inSubset(i) {
					sub = append(sub, v)
				}
			}
			insIn, err := q.InsightsIn(ctx, f.Name, subset)
			require.NoError(rt, err)
			require.Equal(rt, naiveInsights(f.Scale, sub), gotInsights(f, insIn), "insights of %s in a subset", f.Name)

			// Estimate against the engine and against plain counts.
			op := rapid.SampledFrom(f.Scale.Ops()).Draw(rt, "op")
			value := genValue(rt, f, op, vals)
			size, err := q.Estimate(ctx, f.Name, op, value)
			require.NoError(rt, err, "%s %s %v", f.Name, op, value)
			def, err := q.Build(ctx, "Quick", "", f.Name, op, value)
			require.NoError(rt, err)
			plan, err := engine.Compile(def, snap, engine.Options{})
			require.NoError(rt, err)
			members, err := plan.Eval(ctx, w.asOf)
			require.NoError(rt, err)
			js, _ := def.MarshalJSON()
			require.Equal(rt, int(members.GetCardinality()), size.MemberCount, "estimate of %s", js)
			require.Equal(rt, naiveCount(f, op, value, vals, func(int) bool { return true }), size.MemberCount, "plain count of %s", js)
			require.Equal(rt, w.n, size.Customers)

			sizeIn, err := q.EstimateIn(ctx, f.Name, op, value, subset)
			require.NoError(rt, err)
			require.Equal(rt, int(roaring.And(members, subset).GetCardinality()), sizeIn.MemberCount, "estimate in a subset of %s", js)
			require.Equal(rt, len(sub), sizeIn.Customers)

			// Percentile of a value: plain counts of the values below it.
			if f.Type != schema.String && f.Type != schema.Boolean {
				x := genScalar(rt, f, vals)
				rk, err := q.PercentileOf(ctx, f.Name, x)
				require.NoError(rt, err)
				xr := pointOf(f, x)
				var below, atOrBelow, values int
				for _, v := range vals {
					if v.null || v.nan {
						continue
					}
					values++
					if v.r.Cmp(xr) < 0 {
						below++
					}
					if v.r.Cmp(xr) <= 0 {
						atOrBelow++
					}
				}
				require.Equal(rt, [3]int{values, below, atOrBelow}, [3]int{rk.Values, rk.Below, rk.AtOrBelow}, "rank of %v in %s", x, f.Name)
			}
		}
	})
}

func jsonNumber(s string) segment.Value {
	return segment.Value{Kind: segment.NumberValue, Num: json.Number(s)}
}
