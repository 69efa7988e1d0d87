package catalog

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/storage"
)

// TestDirSourceAppends: rows appended to a data directory's CSV file are
// appended to the DirSource's snapshot (the job's data says so), only the
// segments that read the entity are evaluated again, and the members are
// those of a full load; a rewritten file is a full load that says why.
func TestDirSourceAppends(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeData(t, dir, people(10), someOrders(4))
	src := NewDirSource(dir, storage.Options{NoSnapshotCache: true})
	defer src.Close()
	clock := clockwork.NewFakeClockAt(t0)
	cat, err := Open(filepath.Join(t.TempDir(), "catalog.db"), Options{Clock: clock, Source: src})
	require.NoError(t, err)
	defer cat.Close()
	names := []string{"Older", "BigSpenders"}
	for _, d := range [][]byte{
		def("Older", ageOver(25)),
		def("BigSpenders", `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 450}`),
	} {
		_, err := cat.Create(ctx, d, CreateOptions{Active: true})
		require.NoError(t, err)
	}
	job, err := cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, "full load", job.Data.Load)

	orders := filepath.Join(dir, "Order.csv")
	f, err := os.OpenFile(orders, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("O9001,C005,500,2026-03-01,web\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	clock.Advance(time.Hour)
	job, err = cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	require.Equal(t, "append: 1 row to Order", job.Data.Load)
	require.True(t, taskOf(t, job, "Older").Reused)
	require.False(t, taskOf(t, job, "BigSpenders").Reused)

	// A catalog on a full load of the same files has the same members.
	full := NewDirSource(dir, storage.Options{NoSnapshotCache: true})
	defer full.Close()
	cat2, err := Open(filepath.Join(t.TempDir(), "catalog.db"), Options{Clock: clock, Source: full})
	require.NoError(t, err)
	defer cat2.Close()
	for _, n := range names {
		seg, err := cat.Get(n)
		require.NoError(t, err)
		_, err = cat2.Create(ctx, seg.Definition, CreateOptions{Active: true})
		require.NoError(t, err)
	}
	job2, err := cat2.RefreshAllWith(ctx, RefreshOptions{AsOf: job.AsOf})
	require.NoError(t, err)
	require.Equal(t, "full load", job2.Data.Load)
	keys := func(c *Catalog, s Source, n string) []string {
		snap, release, err := s.Snapshot(ctx)
		require.NoError(t, err)
		defer release()
		bm, err := c.Members(ctx, n)
		require.NoError(t, err)
		var out []string
		for it := bm.Iterator(); it.HasNext(); {
			out = append(out, snap.CustomerKey(it.Next()))
		}
		return out
	}
	for _, n := range names {
		require.Equal(t, keys(cat2, full, n), keys(cat, src, n), n)
	}
	require.Contains(t, keys(cat, src, "BigSpenders"), "C005")

	// A rewritten file: a full load, and why.
	b, err := os.ReadFile(orders)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(orders, []byte(strings.Replace(string(b), "O9001,C005,500", "O9001,C005,100", 1)), 0o644))
	job, err = cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	require.True(t, strings.HasPrefix(job.Data.Load, "full load: Order.csv changed in its first"), job.Data.Load)
	require.False(t, taskOf(t, job, "Older").Reused)
	require.NotContains(t, keys(cat, src, "BigSpenders"), "C005")
}
