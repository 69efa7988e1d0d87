package benchmarks_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/benchmarks"
	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
)

// dataDir is where the scale S dataset is generated: $SEGMENTKIT_BENCH_DATA/S
// when set (kept between runs), a temporary directory otherwise.
func dataDir(t *testing.T) string {
	if d := os.Getenv("SEGMENTKIT_BENCH_DATA"); d != "" {
		return filepath.Join(d, "S")
	}
	return t.TempDir()
}

// loadScaleS generates the dataset at scale S and loads it into
// segmentkit and DuckDB (its related tables ordered by customer), closed
// when the test ends.
func loadScaleS(t *testing.T) (*benchmarks.Segmentkit, *benchmarks.DuckDB) {
	t.Helper()
	ctx := context.Background()
	sc, err := gen.ScaleByName("S")
	require.NoError(t, err)
	dir := dataDir(t)
	_, err = gen.Generate(ctx, dir, sc)
	require.NoError(t, err)

	sk, err := benchmarks.LoadSegmentkit(ctx, dir)
	require.NoError(t, err)
	t.Cleanup(sk.Close)
	require.Equal(t, int(sc.Customers), sk.Snap.NumCustomers())
	db, err := benchmarks.LoadDuckDB(ctx, dir, benchmarks.DuckDBOptions{Threads: 2})
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return sk, db
}

// TestMembersAgreeScaleS generates the dataset at scale S, loads it into
// segmentkit and DuckDB, and checks that every case of the suite has the
// same answer in both.
func TestMembersAgreeScaleS(t *testing.T) {
	ctx := context.Background()
	sk, db := loadScaleS(t)
	cases, err := suite.Cases(gen.AsOf)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(cases), 10)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			chk, err := benchmarks.CheckCase(ctx, sk, db, c)
			require.NoError(t, err)
			require.Empty(t, chk.Diff, "segmentkit differs from DuckDB")
			require.Empty(t, chk.ScratchDiff, "segmentkit's insight from scratch differs from the kept statistics'")
			// A case that selects nobody, or everybody, checks little.
			require.Positive(t, chk.Size)
			if c.Kind == suite.Members {
				require.Less(t, chk.Size, sk.Snap.NumCustomers())
			}
		})
	}
}

// TestMembersAgreeWithoutOrderLines runs the check on a small dataset
// shaped like scale L, whose OrderLine file has no rows.
func TestMembersAgreeWithoutOrderLines(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := gen.Generate(ctx, dir, gen.Scale{Name: "tiny", Customers: 2000, Orders: 20_000, Cases: 4000})
	require.NoError(t, err)
	sk, err := benchmarks.LoadSegmentkit(ctx, dir)
	require.NoError(t, err)
	defer sk.Close()
	db, err := benchmarks.LoadDuckDB(ctx, dir, benchmarks.DuckDBOptions{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	cases, err := suite.Cases(gen.AsOf)
	require.NoError(t, err)
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			chk, err := benchmarks.CheckCase(ctx, sk, db, c)
			require.NoError(t, err)
			require.Empty(t, chk.Diff, "segmentkit differs from DuckDB")
		})
	}
}
