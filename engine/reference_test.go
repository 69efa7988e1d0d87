package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/refeval"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// refData describes a random data directory of testSchema for
// writeRefDir.
type refData struct {
	customers int
	orders    int     // orders in all; each names a random customer or none
	dangling  float64 // share of orders whose customer does not exist
	noKey     float64 // share of orders without a customer key
	nulls     float64 // share of null values in each Order column
	channels  int     // distinct channels, at most 64 stay in a small dictionary
	idle      float64 // share of customers who never order
	plainS    bool    // Customer.S nearly unique: a plain string column
	// dyadic amounts are multiples of 1/8, whose sums are exact in any
	// order: the engine adds them as integers (column.Scaled), of two
	// bytes (narrow) or four (wide, with amounts of 70000).
	dyadic dyadic
}

// dyadic says whether and how writeRefDir's amounts are multiples of 1/8.
type dyadic uint8

const (
	anyAmounts dyadic = iota
	narrowEighths
	wideEighths
)

// writeRefDir writes a data directory of testSchema whose orders are
// drawn as d says: nulls in every order column, dangling and missing
// customer keys, customers without orders, amounts with -0 and values
// whose sums depend on the order of adding. It returns the directory.
func writeRefDir(t *testing.T, r *rand.Rand, d refData) string {
	t.Helper()
	var cust, orders, lines strings.Builder
	cust.WriteString("Id,I,N,S,D,T,B\n")
	for i := range d.customers {
		str := []string{"", "x", "Apple", "apple", "kiwi", "STRASSE", "Straße"}[r.IntN(7)]
		if d.plainS && str != "" {
			str = fmt.Sprintf("%s%d%s", str, i, []string{"", "e", "pp", "-ſ"}[r.IntN(4)])
		}
		fmt.Fprintf(&cust, "c%d,%d,%d,%s,2026-%02d-%02d,,%v\n", i, r.IntN(10), r.IntN(5), str, 1+r.IntN(6), 1+r.IntN(28), r.IntN(3) == 0)
	}
	buyers := []int{}
	for i := range d.customers {
		if r.Float64() >= d.idle {
			buyers = append(buyers, i)
		}
	}
	null := func(s string) string {
		if r.Float64() < d.nulls {
			return ""
		}
		return s
	}
	orders.WriteString("OrderId,CustomerId,Amount,Qty,Day,Channel\n")
	for i := range d.orders {
		c := ""
		switch x := r.Float64(); {
		case x < d.noKey:
		case x < d.noKey+d.dangling || len(buyers) == 0:
			c = fmt.Sprintf("zz%d", r.IntN(5))
		default:
			c = fmt.Sprintf("c%d", buyers[r.IntN(len(buyers))])
		}
		amount := []string{"0.1", "0.2", "0.3", "-0", "1e16", "-1e16", "1", "2.5", "-7.25", "100"}[r.IntN(10)]
		if r.IntN(3) == 0 {
			amount = fmt.Sprintf("%.2f", r.Float64()*200-50)
		}
		if d.dyadic != anyAmounts {
			amount = []string{"-0", "0", "1", "2.5", "-7.25", "100", "0.125", "-3", "70000"}[r.IntN(8+int(d.dyadic-narrowEighths))]
			if r.IntN(2) == 0 {
				amount = fmt.Sprint(float64(r.IntN(2000)-500) / 8)
			}
		}
		qty := fmt.Sprint(r.IntN(12) - 2)
		if r.IntN(50) == 0 {
			qty = []string{"9223372036854775807", "-9223372036854775808"}[r.IntN(2)]
		}
		day := fmt.Sprintf("2026-%02d-%02d", 1+r.IntN(7), 1+r.IntN(28))
		ch := fmt.Sprintf("ch%d", r.IntN(max(1, d.channels)))
		fmt.Fprintf(&orders, "%d,%s,%s,%s,%s,%s\n", i, c, null(amount), null(qty), null(day), null(ch))
	}
	lines.WriteString("LineId,OrderId,Sku\n")
	for i := range d.orders {
		fmt.Fprintf(&lines, "%d,%d,%s\n", i, r.IntN(d.orders+d.orders/50+1), []string{"A", "B", "C", ""}[r.IntN(4)])
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"schema.json": testSchema, "Customer.csv": cust.String(), "Order.csv": orders.String(), "Line.csv": lines.String()} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

// requireReferenceMembers evaluates each condition over the directory
// with the engine, under several options (candidate restriction by
// default, off on one goroutine, always on with the customers split in
// three parallel parts; with a cache shared by every condition) and
// requires the members of the reference evaluator.
func requireReferenceMembers(t *testing.T, dir string, conds []string) {
	t.Helper()
	ref, err := refeval.Load(dir)
	require.NoError(t, err)
	snap, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()
	require.True(t, snap.Links("Order", []string{"OrderCustomer"}).Sorted)
	defer engine.SetParallelRows(64)()
	eval := func(defJSON string, opts engine.Options) []uint32 {
		t.Helper()
		def, err := segment.Parse([]byte(defJSON))
		require.NoError(t, err, defJSON)
		plan, err := engine.Compile(def, snap, opts)
		require.NoError(t, err, defJSON)
		bm, err := plan.Eval(context.Background(), asOf)
		require.NoError(t, err, defJSON)
		if got := bm.ToArray(); got != nil {
			return got
		}
		return []uint32{}
	}
	group := func(c string) string { return `{"name": "R", "groups": [{"condition": ` + c + `}]}` }
	first := pred("I", "lessThan", "3")
	early, err := ref.Eval([]byte(group(first)), asOf, nil)
	require.NoError(t, err)
	wants := make([][]uint32, len(conds))
	for i, c := range conds {
		want, err := ref.Eval([]byte(group(c)), asOf, nil)
		require.NoError(t, err, c)
		wants[i] = want
		for _, opts := range []engine.Options{{}, {CandidateShare: -1, Parallelism: 1}, {CandidateShare: 1, Parallelism: 3}} {
			if got := eval(group(c), opts); !slices.Equal(got, want) {
				require.Failf(t, "members differ from the reference", "%s\noptions %+v\nengine:    %v\nreference: %v", c, opts, got, want)
			}
		}
	}
	// One cache for every condition, which evaluate in reverse, later ones
	// (disjunctions and conjunctions of the earlier ones) first, each as a
	// group intersected with an earlier one, which gives it candidates,
	// then alone: a result restricted to candidates kept as a condition's
	// whole result would show.
	cache := engine.NewCache(snap, 0)
	for i := len(conds) - 1; i >= 0; i-- {
		c, want := conds[i], wants[i]
		two := `{"name": "R", "groups": [{"condition": ` + first + `}, {"setOperator": "intersect", "condition": ` + c + `}]}`
		wantTwo := []uint32{}
		for _, id := range want {
			if _, ok := slices.BinarySearch(early, id); ok {
				wantTwo = append(wantTwo, id)
			}
		}
		// A union group runs on the customers not yet in: its result
		// restricted to those must not be kept either.
		union := `{"name": "R", "groups": [{"condition": ` + first + `}, {"setOperator": "union", "condition": ` + c + `}]}`
		wantUnion := slices.Compact(slices.Sorted(slices.Values(append(slices.Clone(early), want...))))
		if wantUnion == nil {
			wantUnion = []uint32{}
		}
		for _, tc := range []struct {
			def  string
			want []uint32
		}{{two, wantTwo}, {union, wantUnion}, {group(c), want}} {
			if got := eval(tc.def, engine.Options{Cache: cache, CandidateShare: 1}); !slices.Equal(got, tc.want) {
				require.Failf(t, "members with a shared cache differ from the reference", "%s\nengine:    %v\nreference: %v", tc.def, got, tc.want)
			}
		}
	}
}

// referenceShapes are data directories that put the kernels over
// clustered rows on their edges: customers and rows around multiples of
// 64, no orders at all, one customer, masks sparser and denser than the
// customers, many nulls, many dangling rows.
var referenceShapes = []refData{
	{customers: 1, orders: 3, nulls: 0.2, channels: 3},
	{customers: 64, orders: 64, nulls: 0.1, channels: 3, idle: 0.3},
	{customers: 65, orders: 640, dangling: 0.05, noKey: 0.05, nulls: 0.1, channels: 5},
	{customers: 200, orders: 0, channels: 3},
	{customers: 300, orders: 100, dangling: 0.3, noKey: 0.2, nulls: 0.5, channels: 2, idle: 0.5},
	{customers: 1000, orders: 12000, dangling: 0.01, noKey: 0.01, nulls: 0.05, channels: 4, idle: 0.2},
	{customers: 777, orders: 5000, nulls: 0.02, channels: 90, idle: 0.1},
	{customers: 2000, orders: 9000, dangling: 0.02, nulls: 0.05, channels: 6, idle: 0.3, plainS: true},
	{customers: 130, orders: 1300, nulls: 0.3, channels: 3, plainS: true},
	// Amounts summed as integers: a block of 64 customers, parts split at
	// customers between words, idle customers, nulls and dangling rows.
	{customers: 65, orders: 700, dangling: 0.05, noKey: 0.05, nulls: 0.1, channels: 5, dyadic: wideEighths},
	{customers: 1500, orders: 15000, dangling: 0.02, nulls: 0.2, channels: 4, idle: 0.3, dyadic: wideEighths},
	{customers: 129, orders: 3000, dangling: 0.02, noKey: 0.02, nulls: 0.2, channels: 3, idle: 0.1, dyadic: narrowEighths},
	{customers: 1500, orders: 15000, nulls: 0.05, channels: 4, idle: 0.3, dyadic: narrowEighths},
	{customers: 3, orders: 2, channels: 2, idle: 0.5, dyadic: narrowEighths},
}

// referenceConds exercise every kernel of related conditions: matches,
// counts, distinct counts over small and large dictionaries, sums and
// averages of numbers and integers, least and greatest values compared in
// every way (including with null), and disjunctions.
var referenceConds = func() []string {
	wheres := []string{
		"",
		`{"attribute": "Order.Channel", "operator": "equals", "value": "ch1"}`,
		`{"attribute": "Order.Channel", "operator": "notEquals", "value": "ch0"}`,
		`{"attribute": "Order.Qty", "operator": "equals", "value": 7}`,
		`{"attribute": "Order.Amount", "operator": "isNull"}`,
		`{"attribute": "Order.Day", "operator": "inLastDays", "value": 30}`,
		`{"not": {"attribute": "Order.Qty", "operator": "between", "value": [0, 100]}}`,
	}
	tails := []string{"", `, "match": "all"`, `, "match": "none"`,
		`, "aggregate": {"function": "count"}, "operator": "greaterThan", "value": 2`,
		`, "aggregate": {"function": "count"}, "operator": "equals", "value": 0`,
		`, "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "greaterThanOrEqual", "value": 2`,
		`, "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "equals", "value": 1`,
		`, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 0.5`,
		`, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "equals", "value": 0`,
		`, "aggregate": {"function": "sum", "attribute": "Order.Qty"}, "operator": "lessThan", "value": 5`,
		`, "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 10`,
		`, "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "isNull"`,
		`, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "inLastDays", "value": 60`,
		`, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "lessThan", "value": "2026-04-01"`,
		`, "aggregate": {"function": "min", "attribute": "Order.Day"}, "operator": "greaterThanOrEqual", "value": "2026-03-01"`,
		`, "aggregate": {"function": "min", "attribute": "Order.Day"}, "operator": "between", "value": ["2026-02-01", "2026-05-01"]`,
		`, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "notEquals", "value": "2026-07-28"`,
		`, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "isNull"`,
		`, "aggregate": {"function": "min", "attribute": "Order.Day"}, "operator": "isNotNull"`,
		`, "aggregate": {"function": "max", "attribute": "Order.Qty"}, "operator": "greaterThanOrEqual", "value": 9223372036854775807`,
		`, "aggregate": {"function": "min", "attribute": "Order.Qty"}, "operator": "lessThanOrEqual", "value": -1`,
		`, "aggregate": {"function": "max", "attribute": "Order.Qty"}, "operator": "in", "value": [3, 9]`,
		`, "aggregate": {"function": "max", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 99.5`,
		`, "aggregate": {"function": "min", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 0`,
		`, "aggregate": {"function": "max", "attribute": "Order.Amount"}, "operator": "between", "value": [0, 2.5]`,
		`, "aggregate": {"function": "min", "attribute": "Order.Amount"}, "operator": "equals", "value": 0`,
		`, "aggregate": {"function": "max", "attribute": "Order.Amount"}, "operator": "notEquals", "value": 100`,
		`, "aggregate": {"function": "min", "attribute": "Order.Amount"}, "operator": "in", "value": [0.1, 1]`,
		`, "aggregate": {"function": "max", "attribute": "Order.Qty"}, "operator": "greaterThan", "value": 1e300`,
		`, "aggregate": {"function": "max", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 1e16`,
		`, "aggregate": {"function": "min", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": -1e16`,
		`, "aggregate": {"function": "max", "attribute": "Order.Qty"}, "operator": "lessThan", "value": 9223372036854775807`,
	}
	var conds []string
	for _, w := range wheres {
		for _, tl := range tails {
			conds = append(conds, rel(w, tl))
		}
	}
	return append(conds,
		`{"related": "Line", "where": {"attribute": "Line.Sku", "operator": "equals", "value": "A"}}`,
		`{"related": "Line", "match": "all", "where": {"attribute": "Line.Sku", "operator": "in", "value": ["A", "B"]}}`,
		`{"related": "Line", "aggregate": {"function": "countDistinct", "attribute": "Line.Sku"}, "operator": "greaterThan", "value": 1}`,
		`{"or": [`+pred("B", "isTrue", "")+`, `+rel(`{"attribute": "Order.Channel", "operator": "equals", "value": "ch1"}`, "")+`]}`,
		`{"and": [`+pred("I", "lessThan", "5")+`, {"or": [`+pred("S", "endsWith", `"e"`)+`, `+pred("N", "equals", "2")+`, {"not": `+pred("S", "contains", `"i"`)+`}]}]}`,
		`{"or": [`+rel("", `, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "inLastDays", "value": 30`)+`, `+rel("", `, "match": "none"`)+`, `+pred("S", "isNull", "")+`]}`,
		`{"and": [`+pred("B", "isFalse", "")+`, {"or": [`+pred("I", "equals", "3")+`, `+rel(`{"attribute": "Order.Qty", "operator": "greaterThan", "value": 5}`, `, "match": "all"`)+`]}]}`,
		`{"not": {"or": [`+pred("I", "greaterThan", "6")+`, `+rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 100`)+`]}}`,
		`{"or": [`+pred("I", "greaterThanOrEqual", "0")+`, `+pred("S", "endsWith", `"e"`)+`]}`,
		`{"and": [`+pred("N", "lessThan", "1")+`, {"or": [`+pred("I", "greaterThanOrEqual", "0")+`, `+rel("", `, "match": "none"`)+`]}]}`,
		`{"or": [`+pred("B", "isTrue", "")+`, {"not": `+pred("S", "endsWith", `"e"`)+`}, `+pred("S", "startsWith", `"Apple"`)+`]}`,
		`{"and": [`+pred("I", "greaterThan", "4")+`, {"or": [`+pred("B", "isTrue", "")+`, {"attribute": "Customer.S", "operator": "contains", "value": "PP", "ignoreCase": true}, {"attribute": "Customer.S", "operator": "startsWith", "value": "strasse", "ignoreCase": true}, {"attribute": "Customer.S", "operator": "contains", "value": "ss", "ignoreCase": true}]}]}`,
		`{"and": [`+pred("N", "equals", "2")+`, {"or": [`+pred("S", "equals", `"x"`)+`, `+pred("S", "contains", `"pp"`)+`, {"attribute": "Customer.S", "operator": "endsWith", "value": "E", "ignoreCase": true}, `+pred("S", "isNull", "")+`]}]}`,
		`{"or": [{"and": [`+pred("B", "isFalse", "")+`, `+pred("S", "notContains", `"a"`)+`]}, {"and": [`+pred("I", "lessThan", "2")+`, `+rel("", `, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "inLastDays", "value": 90`)+`]}, `+pred("S", "greaterThan", `"kiwi"`)+`]}`,
		`{"or": [`+rel(`{"attribute": "Order.Channel", "operator": "equals", "value": "ch0"}`, `, "aggregate": {"function": "count"}, "operator": "greaterThan", "value": 1`)+`, `+rel(`{"attribute": "Order.Qty", "operator": "lessThan", "value": 3}`, `, "match": "all"`)+`, `+rel("", `, "aggregate": {"function": "min", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 1`)+`, `+rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "greaterThan", "value": 2`)+`]}`,
	)
}()

// TestKernelsAgreeWithReference compares the engine's kernels over rows
// clustered by customer with the reference evaluator on data shaped to
// reach each of their paths.
func TestKernelsAgreeWithReference(t *testing.T) {
	for i, d := range referenceShapes {
		if testing.Short() && d.customers > 1000 {
			continue
		}
		t.Run(fmt.Sprintf("%d_customers_%d_orders", d.customers, d.orders), func(t *testing.T) {
			r := rand.New(rand.NewPCG(uint64(i), 13))
			dir := writeRefDir(t, r, d)
			if d.dyadic != anyAmounts {
				requireScaled(t, dir, "Order", "Amount", d.dyadic == narrowEighths)
			}
			requireReferenceMembers(t, dir, referenceConds)
		})
	}
}

// requireScaled requires the number column of the directory's entity to
// have a scaled view (its sums added as integers), of two-byte integers if
// narrow, so that a test of that path cannot pass without taking it.
func requireScaled(t *testing.T, dir, entity, attr string, narrow bool) {
	t.Helper()
	snap, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()
	col := snap.Table(entity).Column(attr)
	v, err := column.View(col)
	require.NoError(t, err)
	s := column.ScaledOf(col, v)
	require.NotNil(t, s, "%s.%s has no scaled view", entity, attr)
	require.Equal(t, narrow, s.U16 != nil, "%s.%s: two-byte integers", entity, attr)
}
