package engine_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// TestParallelMatchesSequential evaluates aggregates and matches over rows
// clustered by customer with the customer range split across goroutines,
// and checks every result against a one-goroutine evaluation.
func TestParallelMatchesSequential(t *testing.T) {
	defer engine.SetParallelRows(64)()
	r := rand.New(rand.NewPCG(7, 7))
	var cust, orders strings.Builder
	cust.WriteString("Id,I,N,S,D,T,B\n")
	const customers = 1000
	for i := range customers {
		fmt.Fprintf(&cust, "c%d,%d,,,,,\n", i, i%7)
	}
	orders.WriteString("OrderId,CustomerId,Amount,Qty,Day,Channel\n")
	for i := range 20_000 {
		c := fmt.Sprintf("c%d", r.IntN(customers+50)) // some dangling
		if r.IntN(50) == 0 {
			c = ""
		}
		amount := fmt.Sprintf("%.2f", r.Float64()*100)
		if r.IntN(10) == 0 {
			amount = ""
		}
		qty := r.Int64N(1<<62) * int64(1-2*r.IntN(2)) // sums overflow int64
		fmt.Fprintf(&orders, "%d,%s,%s,%d,2026-%02d-%02d,%s\n", i, c, amount, qty, 1+r.IntN(6), 1+r.IntN(28), []string{"web", "app", "store"}[r.IntN(3)])
	}
	dir := t.TempDir()
	for name, body := range map[string]string{"schema.json": testSchema, "Customer.csv": cust.String(), "Order.csv": orders.String(), "Line.csv": "LineId,OrderId,Sku\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	snap, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()
	require.True(t, snap.Links("Order", []string{"OrderCustomer"}).Sorted)

	web := `{"attribute": "Order.Channel", "operator": "equals", "value": "web"}`
	conds := []string{
		rel(web, ""),
		rel(`{"attribute": "Order.Amount", "operator": "isNotNull"}`, `, "match": "all"`),
		rel(web, `, "match": "none"`),
		rel(web, `, "aggregate": {"function": "count"}, "operator": "greaterThan", "value": 6`),
		rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 1000`),
		rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Qty"}, "operator": "greaterThan", "value": 0`),
		rel("", `, "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 45`),
		rel("", `, "aggregate": {"function": "min", "attribute": "Order.Amount"}, "operator": "lessThan", "value": 2`),
		rel("", `, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "greaterThan", "value": "2026-06-20"`),
		rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "equals", "value": 3`),
		`{"attribute": "Measures.LastChannel", "operator": "equals", "value": "app"}`,
		`{"attribute": "Measures.FirstQty", "operator": "greaterThan", "value": 0}`,
		`{"related": "Order", "sequence": {"attribute": "Order.Day", "first": ` + web + `, "then": {"attribute": "Order.Channel", "operator": "equals", "value": "store"}, "withinDays": 3}}`,
		`{"related": "Order", "where": ` + web + `, "stopped": {"attribute": "Order.Day", "lastDays": 30, "priorDays": 60}}`,
		rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Day", "period": "week"}, "operator": "greaterThan", "value": 12`),
	}
	for i, c := range conds {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			members := requireSameAtEveryParallelism(t, snap, asOf, c, []int{1, 2, 3, 8}, c)
			require.NotEqual(t, "[]", members, "a test condition should select someone: %s", c)
		})
	}
}

// TestParallelFewCustomers splits aggregates over few customers, fewer
// than the goroutines times 64, and compares with one goroutine.
func TestParallelFewCustomers(t *testing.T) {
	defer engine.SetParallelRows(1)()
	for _, customers := range []int{1, 2, 63, 64, 65, 129, 200} {
		r := rand.New(rand.NewPCG(uint64(customers), 9))
		var cust, orders strings.Builder
		cust.WriteString("Id,I,N,S,D,T,B\n")
		for i := range customers {
			fmt.Fprintf(&cust, "c%d,%d,,,,,\n", i, i%7)
		}
		orders.WriteString("OrderId,CustomerId,Amount,Qty,Day,Channel\n")
		for i := range 2000 {
			c := fmt.Sprintf("c%d", r.IntN(customers+2))
			fmt.Fprintf(&orders, "%d,%s,%d,%d,2026-%02d-%02d,%s\n", i, c, r.IntN(100), r.IntN(9), 1+r.IntN(6), 1+r.IntN(28), []string{"web", "app", "store"}[r.IntN(3)])
		}
		dir := t.TempDir()
		for name, body := range map[string]string{"schema.json": testSchema, "Customer.csv": cust.String(), "Order.csv": orders.String(), "Line.csv": "LineId,OrderId,Sku\n"} {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
		}
		snap, err := storage.Load(context.Background(), dir, storage.Options{})
		require.NoError(t, err)
		conds := []string{
			rel(`{"attribute": "Order.Channel", "operator": "equals", "value": "web"}`, `, "match": "all"`),
			rel("", `, "aggregate": {"function": "count"}, "operator": "greaterThan", "value": 20`),
			rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 1000`),
			rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Qty"}, "operator": "greaterThan", "value": 100`),
			rel("", `, "aggregate": {"function": "min", "attribute": "Order.Qty"}, "operator": "equals", "value": 0`),
			rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "equals", "value": 3`),
			rel("", `, "aggregate": {"function": "countDistinct", "attribute": "Order.Qty"}, "operator": "greaterThan", "value": 7`),
			`{"attribute": "Measures.LastChannel", "operator": "equals", "value": "app"}`,
		}
		for _, c := range conds {
			requireSameAtEveryParallelism(t, snap, asOf, c, []int{1, 2, 3, 8, 16}, fmt.Sprintf("%d customers: %s", customers, c))
		}
		snap.Release()
	}
}

// requireSameAtEveryParallelism evaluates the condition cond over snap at
// asOf with each of the parallelisms pars, requires the same members from
// each, and returns them printed.
func requireSameAtEveryParallelism(t *testing.T, snap *storage.Snapshot, asOf time.Time, cond string, pars []int, what string) string {
	t.Helper()
	def, err := segment.Parse([]byte(`{"name": "P", "groups": [{"condition": ` + cond + `}]}`))
	require.NoError(t, err)
	var results []string
	for _, par := range pars {
		plan, err := engine.Compile(def, snap, engine.Options{Parallelism: par})
		require.NoError(t, err)
		bm, err := plan.Eval(context.Background(), asOf)
		require.NoError(t, err)
		results = append(results, fmt.Sprint(bm.ToArray()))
	}
	for _, res := range results[1:] {
		require.Equal(t, results[0], res, what)
	}
	return results[0]
}
