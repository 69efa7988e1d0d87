package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/refeval"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// TestRelativeDaysAtTheEdges evaluates inLastDays and inNextDays on dates
// and datetimes at the first and last instants a datetime holds, with
// day counts from 1 to past every instant, and requires the reference
// evaluator's members, which must include each window's far end. The
// reference once lost it: a window of more than 106,751 days overflowed
// its time.Duration.
func TestRelativeDaysAtTheEdges(t *testing.T) {
	dir := t.TempDir()
	cust := "Id,I,N,S,D,T,B\n" +
		"c0,1,1,x,9999-12-31,9999-12-31T23:59:59.999999Z,true\n" +
		"c1,1,1,x,9999-12-30,9999-12-31T12:00:00Z,true\n" +
		"c2,1,1,x,0000-01-01,0000-01-01T00:00:00Z,true\n" +
		"c3,1,1,x,2026-01-01,2026-01-01T00:00:00Z,true\n"
	for name, body := range map[string]string{"schema.json": testSchema, "Customer.csv": cust,
		"Order.csv": "OrderId,CustomerId,Amount,Qty,Day,Channel\n1,c0,1,1,9999-12-31,a\n2,c2,1,1,0000-01-01,a\n", "Line.csv": "LineId,OrderId,Sku\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	ref, err := refeval.Load(dir)
	require.NoError(t, err)
	snap, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()
	conds := map[string]string{
		"Customer.D": `{"attribute": "Customer.D", "operator": %q, "value": %s}`,
		"Customer.T": `{"attribute": "Customer.T", "operator": %q, "value": %s}`,
		"Order.Day":  `{"related": "Order", "where": {"attribute": "Order.Day", "operator": %q, "value": %s}}`,
	}
	farEnds := 0
	for _, at := range []string{"9999-12-30T00:00:00Z", "9999-12-31T12:00:00Z", "2026-01-01T00:00:00Z", "0000-01-01T00:00:00Z"} {
		asOf, err := time.Parse(time.RFC3339, at)
		require.NoError(t, err)
		for attr, cond := range conds {
			for _, op := range []string{"inNextDays", "inLastDays"} {
				for _, n := range []string{"1", "2", "106752", "3000000", "100000000000", "100000000000000000000"} {
					def := `{"name": "X", "groups": [{"condition": ` + fmt.Sprintf(cond, op, n) + `}]}`
					want, err := ref.Eval([]byte(def), asOf, nil)
					require.NoError(t, err, def)
					d, err := segment.Parse([]byte(def))
					require.NoError(t, err)
					plan, err := engine.Compile(d, snap, engine.Options{})
					require.NoError(t, err, def)
					bm, err := plan.Eval(context.Background(), asOf)
					require.NoError(t, err, def)
					got := bm.ToArray()
					require.Equal(t, len(want), len(got), "%s at %s: engine %v, reference %v", def, at, got, want)
					require.True(t, slices.Equal(want, got), "%s at %s: engine %v, reference %v", def, at, got, want)
					// A window of 100000000000 days from the last days
					// reaches the first (c2) and from the first the last
					// (c0).
					if n == "100000000000" && attr != "Order.Day" {
						switch {
						case at[0] == '9' && op == "inLastDays":
							require.Contains(t, got, uint32(2), def)
							farEnds++
						case at[0] == '0' && op == "inNextDays":
							require.Contains(t, got, uint32(0), def)
							farEnds++
						}
					}
				}
			}
		}
	}
	require.Equal(t, 3*2, farEnds)
}

// TestAvgNearFloatMax: the mean of values near the float64 maximum is
// finite although their sum overflows, and the engine (every kernel:
// by customer, by row, with candidates) computes it exactly as the
// reference evaluator does; a sum that overflows is +Inf or -Inf, greater
// or less than every number.
func TestAvgNearFloatMax(t *testing.T) {
	dir := t.TempDir()
	cust := "Id,I,N,S,D,T,B\n"
	for i := range 6 {
		cust += fmt.Sprintf("c%d,1,1,x,2026-01-01,2026-01-01T00:00:00Z,true\n", i)
	}
	orders := "OrderId,CustomerId,Amount,Qty,Day,Channel\n" +
		// c0: [1e308, 1e308], mean 1e308, sum +Inf.
		"1,c0,1e308,1,2026-01-01,a\n2,c0,1e308,1,2026-01-01,a\n" +
		// c1: three times the largest float, mean it.
		"3,c1,1.7976931348623157e308,1,2026-01-01,a\n4,c1,1.7976931348623157e308,1,2026-01-01,b\n5,c1,1.7976931348623157e308,1,2026-01-01,a\n" +
		// c2: the sum overflows at the second value and stays +Inf in
		// row order, though the exact sum is 1e308: mean 1e308/3.
		"6,c2,1e308,1,2026-01-01,a\n7,c2,1e308,1,2026-01-01,a\n8,c2,-1e308,1,2026-01-01,a\n" +
		// c3: negative, mean -1e308, sum -Inf.
		"9,c3,-1e308,1,2026-01-01,a\n10,c3,-1e308,1,2026-01-01,a\n" +
		// c4: an ordinary mean, added in row order: (0.1+0.2)/2.
		"11,c4,0.1,1,2026-01-01,a\n12,c4,0.2,1,2026-01-01,a\n"
	for name, body := range map[string]string{"schema.json": testSchema, "Customer.csv": cust, "Order.csv": orders, "Line.csv": "LineId,OrderId,Sku\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	avg := func(where, op, value string) string {
		return rel(where, `, "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "`+op+`", "value": `+value)
	}
	sum := func(op, value string) string {
		return rel("", `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "`+op+`", "value": `+value)
	}
	chA := `{"attribute": "Order.Channel", "operator": "equals", "value": "a"}`
	for _, tc := range []struct {
		cond string
		want []uint32
	}{
		{avg("", "equals", "1e308"), []uint32{0}},
		{avg("", "equals", "1.7976931348623157e308"), []uint32{1}},
		{avg("", "equals", "3.333333333333333e307"), []uint32{2}},
		{avg("", "equals", "-1e308"), []uint32{3}},
		{avg("", "equals", "0.15000000000000002"), []uint32{4}},
		{avg("", "isNull", ""), []uint32{5}},
		{avg(chA, "greaterThanOrEqual", "1e308"), []uint32{0, 1}},
		{sum("greaterThan", "1.7976931348623157e308"), []uint32{0, 1, 2}},
		{sum("lessThan", "-1.7976931348623157e308"), []uint32{3}},
	} {
		cond := strings.Replace(tc.cond, `, "value": }`, `}`, 1)
		def := `{"name": "X", "groups": [{"condition": ` + cond + `}]}`
		d, err := segment.Parse([]byte(def))
		require.NoError(t, err, def)
		snap, err := storage.Load(context.Background(), dir, storage.Options{})
		require.NoError(t, err)
		for _, opts := range []engine.Options{{}, {CandidateShare: -1, Parallelism: 1}, {CandidateShare: 1, Parallelism: 3}} {
			plan, err := engine.Compile(d, snap, opts)
			require.NoError(t, err, def)
			bm, err := plan.Eval(context.Background(), asOf)
			require.NoError(t, err, def)
			got := bm.ToArray()
			if got == nil {
				got = []uint32{}
			}
			require.Equal(t, tc.want, got, "%s %+v", def, opts)
		}
		snap.Release()
		requireReferenceMembers(t, dir, []string{cond})
	}
}
