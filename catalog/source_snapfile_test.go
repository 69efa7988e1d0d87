package catalog

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/storage"
)

// TestDirSourceSnapshotFile: a DirSource writes the data directory's
// snapshot file when it loads, and a new one (a restarted process) opens
// it instead of reading the data files, with the same data; with
// NoSnapshotCache it neither writes nor reads the file.
func TestDirSourceSnapshotFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeData(t, dir, people(5), someOrders(3))
	// Data written long ago, as in a restart (files modified within the
	// last seconds get no snapshot file).
	old := time.Now().Add(-time.Hour)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		require.NoError(t, os.Chtimes(filepath.Join(dir, e.Name()), old, old))
	}

	keys := func(s *storage.Snapshot) []string {
		var out []string
		for id := range s.NumCustomers() {
			out = append(out, s.CustomerKey(uint32(id)))
		}
		return out
	}
	off := NewDirSource(dir, storage.Options{NoSnapshotCache: true})
	defer off.Close()
	plain, release, err := off.Snapshot(ctx)
	require.NoError(t, err)
	defer release()
	require.Empty(t, plain.File())
	_, err = os.Stat(storage.SnapshotFilePath(dir))
	require.ErrorIs(t, err, os.ErrNotExist, "NoSnapshotCache writes no snapshot file")

	first := NewDirSource(dir, storage.Options{})
	s1, r1, err := first.Snapshot(ctx)
	require.NoError(t, err)
	require.Empty(t, s1.File(), "no snapshot file yet")
	r1()
	first.Close()
	_, err = os.Stat(storage.SnapshotFilePath(dir))
	require.NoError(t, err, "the load wrote the snapshot file")

	restarted := NewDirSource(dir, storage.Options{})
	defer restarted.Close()
	s2, r2, err := restarted.Snapshot(ctx)
	require.NoError(t, err)
	defer r2()
	require.Equal(t, storage.SnapshotFilePath(dir), s2.File())
	require.Equal(t, keys(plain), keys(s2))
	require.Equal(t, plain.Table("Order").NumRows, s2.Table("Order").NumRows)

	off2 := NewDirSource(dir, storage.Options{NoSnapshotCache: true})
	defer off2.Close()
	s3, r3, err := off2.Snapshot(ctx)
	require.NoError(t, err)
	defer r3()
	require.Empty(t, s3.File(), "NoSnapshotCache reads the data files")
}
