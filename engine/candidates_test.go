package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// TestCandidateRestrictionMatchesUnrestricted evaluates conjunctions whose later
// conditions run restricted to the customers still in the running, over
// row ranges or customer by customer (in parallel: more than 8192
// candidates), and checks them against unrestricted evaluation. A result
// restricted to candidates must not be cached as the condition's whole
// result: each later condition is then evaluated alone with the same cache.
func TestCandidateRestrictionMatchesUnrestricted(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	var cust, orders strings.Builder
	cust.WriteString("Id,I,N,S,D,T,B\n")
	const customers = 10000
	for i := range customers {
		s := []string{"", "Apple", "apple", "Kiwi", "ÄRGER", "x"}[r.IntN(6)]
		fmt.Fprintf(&cust, "c%d,%d,,%s,,,\n", i, i%7, s)
	}
	orders.WriteString("OrderId,CustomerId,Amount,Qty,Day,Channel\n")
	for i := range 10 * customers {
		c := fmt.Sprintf("c%d", r.IntN(customers+20))
		amount := fmt.Sprintf("%.2f", r.Float64()*100)
		if r.IntN(5) == 0 {
			amount = ""
		}
		ch := []string{"web", "app", "store", "", "Web shop"}[r.IntN(5)]
		qty := ""
		if r.IntN(4) != 0 {
			qty = fmt.Sprint(r.IntN(10))
		}
		fmt.Fprintf(&orders, "%d,%s,%s,%s,2026-%02d-%02d,%s\n", i, c, amount, qty, 1+r.IntN(6), 1+r.IntN(28), ch)
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"schema.json": testSchema, "Customer.csv": cust.String(), "Order.csv": orders.String(), "Line.csv": "LineId,OrderId,Sku\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	snap, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()

	firsts := []string{
		pred("I", "lessThan", "3"),
		pred("I", "equals", "3"),
		pred("S", "equals", `"Apple"`),
		pred("S", "isNull", ""),
	}
	wheres := []string{
		`{"attribute": "Order.Channel", "operator": "notEquals", "value": "web"}`,
		`{"attribute": "Order.Channel", "operator": "contains", "value": "EB", "ignoreCase": true}`,
		`{"attribute": "Order.Channel", "operator": "isNull"}`,
		`{"attribute": "Order.Qty", "operator": "notEquals", "value": 3}`,
		`{"attribute": "Order.Qty", "operator": "between", "value": [2, 5]}`,
		`{"attribute": "Order.Amount", "operator": "greaterThan", "value": 50}`,
		`{"not": {"attribute": "Order.Qty", "operator": "isNull"}}`,
		`{"or": [{"attribute": "Order.Qty", "operator": "isNull"}, {"attribute": "Order.Day", "operator": "inLastDays", "value": 60}]}`,
	}
	tails := []string{"", `, "match": "all"`, `, "match": "none"`,
		`, "aggregate": {"function": "count"}, "operator": "greaterThan", "value": 2`,
		`, "aggregate": {"function": "sum", "attribute": "Order.Qty"}, "operator": "lessThan", "value": 5`,
		`, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 100`,
		`, "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 40`,
		`, "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "equals", "value": 2`,
		`, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "inLastDays", "value": 60`,
	}
	var conds, laters []string
	for _, f := range firsts {
		for _, w := range wheres {
			for _, tl := range tails {
				conds = append(conds, `{"and": [`+f+`, `+rel(w, tl)+`]}`)
				laters = append(laters, rel(w, tl))
				conds = append(conds, `{"and": [`+f+`, {"not": `+rel(w, tl)+`}]}`)
				laters = append(laters, `{"not": `+rel(w, tl)+`}`)
			}
		}
		conds = append(conds, `{"and": [`+f+`, `+pred("S", "contains", `"pp"`)+`]}`)
		laters = append(laters, pred("S", "contains", `"pp"`))
		conds = append(conds, `{"and": [`+f+`, `+pred("S", "notEquals", `"apple"`)+`]}`)
		laters = append(laters, pred("S", "notEquals", `"apple"`))
	}
	eval := func(c string, opts engine.Options) string {
		def, err := segment.Parse([]byte(`{"name": "P", "groups": [{"condition": ` + c + `}]}`))
		require.NoError(t, err)
		plan, err := engine.Compile(def, snap, opts)
		require.NoError(t, err)
		bm, err := plan.Eval(context.Background(), asOf)
		require.NoError(t, err)
		return fmt.Sprint(bm.ToArray())
	}
	for i, c := range conds {
		cache := engine.NewCache(snap, 0)
		var results []string
		for _, opts := range []engine.Options{{CandidateShare: -1}, {}, {CandidateShare: 1}, {CandidateShare: 1, Parallelism: 1}, {Cache: cache, CandidateShare: 1}} {
			results = append(results, eval(c, opts))
		}
		for _, res := range results[1:] {
			require.Equal(t, results[0], res, c)
		}
		require.Equal(t, eval(laters[i], engine.Options{}), eval(laters[i], engine.Options{Cache: cache}), "after %s", c)
	}
}

// TestRestrictedGroupIsNotCached evaluates a conjunction as a group
// intersected with an earlier one, which restricts it to the earlier
// group's members, then alone with the same cache: the restricted result
// is not the conjunction's, and must not be kept as its result.
func TestRestrictedGroupIsNotCached(t *testing.T) {
	snap := load(t)
	for _, cond := range []string{
		`{"and": [` + pred("I", "greaterThanOrEqual", "0") + `, ` + pred("B", "isTrue", "") + `]}`,
		`{"or": [` + pred("I", "greaterThan", "1") + `, ` + pred("B", "isTrue", "") + `]}`,
	} {
		want := members(t, snap, cond, engine.Options{})
		for _, op := range []string{"intersect", "except"} {
			cache := engine.NewCache(snap, 0)
			two := `{"name": "T", "groups": [{"condition": ` + pred("I", "lessThan", "1") + `}, {"setOperator": "` + op + `", "condition": ` + cond + `}]}`
			require.Equal(t, members(t, snap, two, engine.Options{CandidateShare: -1}), members(t, snap, two, engine.Options{Cache: cache}), two)
			require.Equal(t, want, members(t, snap, cond, engine.Options{Cache: cache}), "%s after %s", cond, two)
		}
	}
}
