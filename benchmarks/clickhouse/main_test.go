package clickhouse

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The tests need the two-shard cluster. They use the one EnvURL and
// EnvShards name (.ci/run starts one with .ci/clickhouse.sh); without it
// they start a private one with the same script, once per test binary, on
// free ports (the script installs ClickHouse as root when it is missing),
// stopped when the tests end; they fail, never skip, when neither works.

var testServer struct {
	once    sync.Once
	cluster *Cluster
	err     error
	stop    func() error
}

var testDatabases atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	if testServer.stop != nil {
		if err := testServer.stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stopping the private ClickHouse cluster:", err)
		}
	}
	os.Exit(code)
}

// testCluster returns the tests' cluster with a database of the test's
// own, created on every shard and dropped when the test ends.
func testCluster(t *testing.T) *Cluster {
	t.Helper()
	testServer.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		testServer.cluster, testServer.stop, testServer.err = Open(ctx, StartOptions{Script: "../../.ci/clickhouse.sh"})
	})
	require.NoError(t, testServer.err, "the ClickHouse cluster (set %s and %s, or let the tests start one with .ci/clickhouse.sh)", EnvURL, EnvShards)
	c := *testServer.cluster
	db := fmt.Sprintf("sk_test_%d_%d", os.Getpid(), testDatabases.Add(1))
	ctx := context.Background()
	// Both statements run in the default database: a request naming one
	// that does not exist fails.
	for i := range c.Shards {
		require.NoError(t, c.Shard(i).Exec(ctx, "CREATE DATABASE "+QuoteIdent(db)))
	}
	t.Cleanup(func() {
		for i := range c.Shards {
			require.NoError(t, c.Shard(i).Exec(ctx, "DROP DATABASE IF EXISTS "+QuoteIdent(db)))
		}
	})
	c.Database = db
	return &c
}
