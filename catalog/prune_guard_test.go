package catalog

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// TestPruneChangesOutOfOrder writes a segment's three change entries,
// then puts their keys out of order in the file (k3, k1, k2), as damage
// can: bbolt finds keys by binary search, so its Cursor.Delete of the
// first key does nothing, and pruneChanges, which deletes the first key
// until none is left, once looped for ever. Open's page walk refuses such
// a page; this opens the file with bbolt alone and checks pruneChanges'
// own guard: ErrCorrupt, at once.
func TestPruneChangesOutOfOrder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	var keys [][]byte
	for i := range 3 {
		keys = append(keys, historyTimeKey(base.Add(time.Duration(i)*time.Hour+1234567)))
	}
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		root, err := tx.CreateBucket(bucketChanges)
		if err != nil {
			return err
		}
		seg, err := root.CreateBucket(u64(7))
		if err != nil {
			return err
		}
		for _, k := range keys {
			if err := seg.Put(k, []byte("not a change entry")); err != nil {
				return err
			}
		}
		return nil
	}))
	require.NoError(t, db.Close())

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var at []int
	for _, k := range keys {
		require.Equal(t, 1, bytes.Count(b, k), "key %x is in the file once", k)
		at = append(at, bytes.Index(b, k))
	}
	copy(b[at[0]:], keys[2])
	copy(b[at[1]:], keys[0])
	copy(b[at[2]:], keys[1])
	require.NoError(t, os.WriteFile(path, b, 0o600))

	db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	require.NoError(t, err)
	defer db.Close()
	done := make(chan error, 1)
	go func() {
		done <- db.Update(func(tx *bolt.Tx) error {
			_, err := pruneChanges(tx, time.Now(), true)
			return err
		})
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrCorrupt)
		require.ErrorContains(t, err, "out of order")
	case <-time.After(10 * time.Second):
		t.Fatal("pruneChanges did not return within 10 s")
	}
}
