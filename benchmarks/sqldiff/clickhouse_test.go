package sqldiff

import (
	"context"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/benchmarks/clickhouse"
	"github.com/segmentkit/segmentkit/sqlgen"
	"github.com/segmentkit/segmentkit/storage"
)

type clickhouseBackend struct {
	c    *clickhouse.Cluster
	snap *storage.Snapshot
}

func (b *clickhouseBackend) load(ctx context.Context, dir string, snap *storage.Snapshot) error {
	b.snap = snap
	_, err := clickhouse.LoadSnapshot(ctx, b.c, snap, nil)
	return err
}

func (b *clickhouseBackend) members(ctx context.Context, q *sqlgen.Query) ([]string, error) {
	return b.c.Query(ctx, q.SQL)
}

func (b *clickhouseBackend) options() sqlgen.Options {
	return sqlgen.Options{Dialect: sqlgen.ClickHouse, RowOrder: rowOrders(b.snap)}
}

// TestClickHouseMatchesEngine runs the differential test on the two-shard
// cluster that SEGMENTKIT_TEST_CLICKHOUSE and _SHARDS name (.ci/run
// starts it), through its Distributed tables.
func TestClickHouseMatchesEngine(t *testing.T) {
	c, ok, err := clickhouse.FromEnv()
	require.NoError(t, err)
	require.True(t, ok, "no ClickHouse cluster: set %s and %s (.ci/clickhouse.sh start prints them)", clickhouse.EnvURL, clickhouse.EnvShards)
	ctx := context.Background()
	db := fmt.Sprintf("sk_sqldiff_%d", os.Getpid())
	for i := range c.Shards {
		s := c.Shard(i)
		s.Database = ""
		require.NoError(t, s.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+clickhouse.QuoteIdent(db)))
	}
	t.Cleanup(func() {
		for i := range c.Shards {
			s := c.Shard(i)
			s.Database = ""
			require.NoError(t, s.Exec(ctx, "DROP DATABASE IF EXISTS "+clickhouse.QuoteIdent(db)))
		}
	})
	c.Database = db
	c.RowOrder = rowOrder
	run(t, "clickhouse", &clickhouseBackend{c: c})
}
