package main

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/storage"
)

// oldDemo writes a small demo data directory whose files were modified
// long ago, as a directory is when a command restarts on it (files modified
// within the last seconds get no snapshot file).
func oldDemo(t *testing.T) (dir, segment, asOf string) {
	t.Helper()
	dir = t.TempDir()
	sum, err := demo.Write(context.Background(), dir, demo.Options{Customers: 300, Seed: 5})
	require.NoError(t, err)
	old := time.Now().Add(-time.Hour)
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			err = os.Chtimes(p, old, old)
		}
		return err
	}))
	return dir, filepath.Join(dir, demo.SegmentFile), sum.AsOf.Format(time.DateOnly)
}

// damageValues flips a byte in the snapshot file's section of the values
// of Order.Amount, which Open checks in the background only.
func damageValues(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var meta struct {
		Sections []struct {
			Name string `json:"name"`
			Off  int64  `json:"off"`
		} `json:"sections"`
	}
	require.NoError(t, json.Unmarshal(data[binary.LittleEndian.Uint64(data[24:]):], &meta))
	for _, s := range meta.Sections {
		if s.Name == "Order.Amount values" {
			data[s.Off+5] ^= 0x40
			require.NoError(t, os.WriteFile(path, data, 0o644))
			return
		}
	}
	t.Fatal("no section Order.Amount values")
}

// TestEvalSnapshotFile: eval writes the data directory's snapshot file and
// the next eval opens it, with the same members; a file whose values are
// damaged is found out, and eval loads the data files instead, with the
// same members again; --no-snapshot-cache and SEGMENTKIT_NO_SNAPSHOT_CACHE
// leave the file alone.
func TestEvalSnapshotFile(t *testing.T) {
	dir, seg, day := oldDemo(t)
	path := storage.SnapshotFilePath(dir)
	eval := func(extra ...string) result {
		t.Helper()
		r := runCLI(t, append([]string{"eval", "--data", dir, "--segment", seg, "--as-of", day}, extra...)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		return r
	}

	off := eval("--no-snapshot-cache")
	require.NoFileExists(t, path)
	t.Setenv(envNoSnapshotCache, "1")
	require.Equal(t, off.stdout, eval().stdout)
	require.NoFileExists(t, path)
	t.Setenv(envNoSnapshotCache, "")

	require.Equal(t, off.stdout, eval().stdout)
	require.FileExists(t, path, "the first load writes the snapshot file")
	st, err := os.Stat(path)
	require.NoError(t, err)
	again := eval()
	require.Equal(t, off.stdout, again.stdout)
	require.Empty(t, again.stderr)
	now, err := os.Stat(path)
	require.NoError(t, err)
	require.True(t, os.SameFile(st, now) && st.ModTime().Equal(now.ModTime()), "a current snapshot file is not written again")

	damageValues(t, path)
	damaged := eval()
	require.Equal(t, off.stdout, damaged.stdout, "members from the data files")
	require.Contains(t, damaged.stderr, "invalid snapshot file")
	require.Contains(t, damaged.stderr, "loading the data files")
	require.NoFileExists(t, path, "the damaged file is removed")
	require.Equal(t, off.stdout, eval().stdout)
	require.FileExists(t, path, "and written again")

	// The other verbs that load the data check the file before using it,
	// and rebuild it when it is damaged.
	plain := runCLI(t, "quick", "insights", "--data", dir, "--field", "Customer.Country", "--no-snapshot-cache")
	require.Equal(t, exitOK, plain.code, plain.stderr)
	damageValues(t, path)
	r := runCLI(t, "quick", "insights", "--data", dir, "--field", "Customer.Country")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, plain.stdout, r.stdout)
	// The damaged file was replaced by a sound one.
	snap, err := storage.Open(context.Background(), path, storage.Options{})
	require.NoError(t, err)
	require.NoError(t, snap.Verify(context.Background()))
	snap.Release()

	// A demo written over the directory takes no offence at the file.
	require.Equal(t, off.stdout, eval().stdout)
	require.FileExists(t, path)
	d := runCLI(t, "demo", "--customers", "300", "--seed", "5", "--out", dir)
	require.Equal(t, exitOK, d.code, d.stderr)
}

// TestSegmentsSnapshotFile: the segments verbs load through a DirSource,
// which uses the snapshot file too.
func TestSegmentsSnapshotFile(t *testing.T) {
	dir, seg, day := oldDemo(t)
	path := storage.SnapshotFilePath(dir)
	cat := filepath.Join(t.TempDir(), "segmentkit.db")
	r := runCLI(t, "segments", "create", "--catalog", cat, "--data", dir, "--segment", seg, "--active", "--as-of", day, "--no-snapshot-cache")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoFileExists(t, path)
	r = runCLI(t, "segments", "refresh", "--all", "--catalog", cat, "--data", dir, "--as-of", day)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.FileExists(t, path)
	r = runCLI(t, "segments", "refresh", "--all", "--catalog", cat, "--data", dir, "--as-of", day, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
}
