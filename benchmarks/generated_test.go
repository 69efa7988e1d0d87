package benchmarks_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/benchmarks"
	"github.com/segmentkit/segmentkit/benchmarks/clickhouse"
	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
)

// testClickHouse returns the cluster that SEGMENTKIT_TEST_CLICKHOUSE and
// _SHARDS name (.ci/run starts it), or a private one started with
// .ci/clickhouse.sh and stopped when the test ends, with a database of
// the test's own, dropped when the test ends.
func testClickHouse(t *testing.T) *clickhouse.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	c, stop, err := clickhouse.Open(ctx, clickhouse.StartOptions{Script: "../.ci/clickhouse.sh"})
	require.NoError(t, err, "the ClickHouse cluster (set %s and %s, or let the test start one with .ci/clickhouse.sh)", clickhouse.EnvURL, clickhouse.EnvShards)
	t.Cleanup(func() { require.NoError(t, stop()) })
	c.Database = fmt.Sprintf("sk_bench_sql_%d", os.Getpid())
	c.Settings = map[string]string{"max_execution_time": "60"}
	t.Cleanup(func() {
		for i := range c.Shards {
			s := c.Shard(i)
			s.Database = ""
			require.NoError(t, s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+clickhouse.QuoteIdent(c.Database)))
		}
	})
	return c
}

// failing is an engine whose every answer and run is an error.
type failing struct{}

var errFailing = errors.New("this engine fails")

func (failing) Result(context.Context, suite.Case) (benchmarks.Result, error) {
	return benchmarks.Result{}, errFailing
}
func (failing) Run(context.Context, suite.Case) error { return errFailing }

// TestGeneratedSQLAgreesScaleS runs every segment of the suite at scale S
// from the SQL sqlgen generates for its definition, on DuckDB and on the
// two-shard ClickHouse cluster, and checks that the members are
// segmentkit's; then it times one case on every engine and prints the
// report.
func TestGeneratedSQLAgreesScaleS(t *testing.T) {
	ctx := context.Background()
	sk, db := loadScaleS(t)
	c := testClickHouse(t)
	load, err := benchmarks.LoadClickHouse(ctx, c, sk.Snap)
	require.NoError(t, err)
	require.Equal(t, 2, load.Shards)
	sc, err := gen.ScaleByName("S")
	require.NoError(t, err)
	require.EqualValues(t, sc.Customers+sc.Orders+sc.Cases+sc.OrderLines, load.Rows)
	require.Positive(t, load.RoundTrip)

	others := []benchmarks.Engine{benchmarks.NewDuckDBSQL(db, sk.Snap.Schema()), benchmarks.NewClickHouseSQL(c, sk.Snap.Schema()), failing{}}
	names := []string{"duckdb (sqlgen)", "clickhouse 2 shards (sqlgen)", "failing"}
	cases, err := suite.Cases(gen.AsOf)
	require.NoError(t, err)
	rep := &benchmarks.Report{Scale: "S", Runs: 1, Engines: names, ClickHouse: load}
	segments := 0
	for _, cs := range cases {
		chk, err := benchmarks.CheckCase(ctx, sk, db, cs, others...)
		require.NoError(t, err)
		require.Len(t, chk.Others, len(others))
		rep.Checks = append(rep.Checks, chk)
		for i, o := range chk.Others[:2] {
			if cs.Kind != suite.Members {
				require.ErrorIs(t, o.Err, benchmarks.ErrNotApplicable, "%s on %s", cs.Name, names[i])
				continue
			}
			require.NoError(t, o.Err, "%s on %s", cs.Name, names[i])
			require.Empty(t, o.Diff, "%s: segmentkit differs from %s", cs.Name, names[i])
		}
		require.ErrorIs(t, chk.Others[2].Err, errFailing)
		require.True(t, chk.Agree(), "a failing engine does not disagree")
		answered := chk.Answered(others)
		require.Len(t, answered, len(others))
		require.Equal(t, cs.Kind == suite.Members, answered[0] != nil && answered[1] != nil, "%s", cs.Name)
		require.Nil(t, answered[2])
		if cs.Kind == suite.Members {
			segments++
		}
	}
	require.Equal(t, 13, segments)

	// One case timed on every engine, the failing one among them.
	cs := cases[2]
	timing, err := benchmarks.TimeCase(ctx, sk, db, cs, 3, nil, others...)
	require.NoError(t, err)
	require.Len(t, timing.Others, len(others))
	for i := range 2 {
		require.NoError(t, timing.Others[i].Err)
		require.Positive(t, timing.Others[i].Median, names[i])
	}
	require.ErrorIs(t, timing.Others[2].Err, errFailing)
	require.Zero(t, timing.Others[2].Median)
	rep.Timings = []benchmarks.Timing{timing}
	var out bytes.Buffer
	rep.Print(&out)
	text := out.String()
	t.Log("\n" + text)
	header, row := lineWith(text, "bytes read"), lineWith(text, cs.Name)
	for _, n := range names {
		require.Contains(t, header, n)
	}
	require.Contains(t, row, "-[1]")
	require.Contains(t, text, "[1] failing, "+cs.Name+": "+errFailing.Error())
	require.Contains(t, text, "load into clickhouse, 2 shards")
	require.NotContains(t, text, "MISMATCH")
}

// lineWith returns the first line of text that contains s, trimmed.
func lineWith(text, s string) string {
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			return strings.TrimSpace(line)
		}
	}
	return ""
}
