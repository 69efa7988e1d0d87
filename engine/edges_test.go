package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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
