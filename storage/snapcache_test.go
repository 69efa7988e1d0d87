package storage

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// longAgo is when backdate says the files of a data directory were
// written.
var longAgo = time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)

// backdate sets the modification time of every file of dir to longAgo, as
// if the data had been written long before it is loaded.
func backdate(t *testing.T, dir string) {
	t.Helper()
	old := longAgo
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		if !e.IsDir() {
			require.NoError(t, os.Chtimes(filepath.Join(dir, e.Name()), old, old))
		}
	}
}

// loadCached calls LoadCached and reports whether the snapshot came from
// the snapshot file; it checks the snapshot against a plain Load.
func loadCached(t *testing.T, dir string, opts Options) (*Snapshot, bool) {
	t.Helper()
	snap, err := LoadCached(t.Context(), dir, opts)
	require.NoError(t, err)
	require.NoError(t, snap.Verify(t.Context()))
	want, err := Load(t.Context(), dir, Options{})
	require.NoError(t, err)
	defer want.Release()
	if snap.appended {
		// Rows appended to a snapshot file: the values of a load,
		// not its arrays.
		requireSameValues(t, want, snap)
	} else {
		requireSameSnapshot(t, want, snap)
	}
	return snap, snap.LoadInfo().Method == OpenedFile
}

func cacheExists(dir string) bool {
	_, err := os.Stat(SnapshotFilePath(dir))
	return err == nil
}

func TestLoadCached(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := writeDir(t, shopSchema, shopFiles())
	backdate(t, dir)
	snap, cached := loadCached(t, dir, Options{Allocator: mem})
	require.False(t, cached, "no snapshot file yet")
	snap.Release()
	require.True(t, cacheExists(dir))
	require.Equal(t, filepath.Join(dir, ".segmentkit", "snapshot"), SnapshotFilePath(dir))

	snap, cached = loadCached(t, dir, Options{Allocator: mem})
	require.True(t, cached, "the snapshot file is current")
	require.Equal(t, SnapshotFilePath(dir), snap.File())
	require.Zero(t, mem.CurrentAlloc(), "a snapshot from the file holds no Arrow memory")
	snap.Release()

	// The snapshot file has the permissions of schema.json.
	require.NoError(t, os.Chmod(filepath.Join(dir, "schema.json"), 0o640))
	require.NoError(t, os.Remove(SnapshotFilePath(dir)))
	snap, cached = loadCached(t, dir, Options{Allocator: mem})
	require.False(t, cached)
	snap.Release()
	st, err := os.Stat(SnapshotFilePath(dir))
	require.NoError(t, err)
	if runtime.GOOS != "windows" {
		require.Equal(t, os.FileMode(0o640), st.Mode().Perm())
	}

	snap, cached = loadCached(t, dir, Options{Allocator: mem, NoSnapshotCache: true})
	require.False(t, cached, "NoSnapshotCache loads the data files")
	snap.Release()
}

// TestLoadCachedStale changes the data directory in every way a snapshot
// file must notice: each change makes LoadCached load the files again (and
// see the change), then use the rewritten snapshot file.
func TestLoadCachedStale(t *testing.T) {
	dir := writeDir(t, shopSchema, shopFiles())
	order := filepath.Join(dir, "Order.csv")
	changes := []struct {
		name   string
		change func(t *testing.T)
	}{
		{"append a row", func(t *testing.T) {
			f, err := os.OpenFile(order, os.O_APPEND|os.O_WRONLY, 0)
			require.NoError(t, err)
			_, err = f.WriteString("O6,C3,2\n")
			require.NoError(t, err)
			require.NoError(t, f.Close())
		}},
		{"touch", func(t *testing.T) {
			now := time.Now()
			require.NoError(t, os.Chtimes(order, now, now))
		}},
		{"same size, time set back", func(t *testing.T) {
			st, err := os.Stat(order)
			require.NoError(t, err)
			data, err := os.ReadFile(order)
			require.NoError(t, err)
			changed := strings.Replace(string(data), "O1,C1,10", "O1,C1,90", 1)
			require.Len(t, changed, len(data))
			require.NoError(t, os.WriteFile(order, []byte(changed), 0o644))
			require.NoError(t, os.Chtimes(order, st.ModTime(), st.ModTime()))
			if runtime.GOOS != "linux" {
				t.Skip("only the inode change time shows this change")
			}
		}},
		{"replace by rename", func(t *testing.T) {
			st, err := os.Stat(order)
			require.NoError(t, err)
			data, err := os.ReadFile(order)
			require.NoError(t, err)
			changed := strings.Replace(string(data), "O2,C3,20", "O2,C3,80", 1)
			tmp := order + ".new"
			require.NoError(t, os.WriteFile(tmp, []byte(changed), 0o644))
			require.NoError(t, os.Chtimes(tmp, st.ModTime(), st.ModTime()))
			require.NoError(t, os.Rename(tmp, order))
			if runtime.GOOS != "linux" {
				t.Skip("only the inode shows this change")
			}
		}},
		{"edit the schema within its tick", func(t *testing.T) {
			path := filepath.Join(dir, "schema.json")
			st, err := os.Stat(path)
			require.NoError(t, err)
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			// Same size: Qty becomes a number.
			changed := strings.Replace(string(data), `{"name": "Qty",     "type": "integer"}`, `{"name": "Qty",     "type": "number"} `, 1)
			require.NotEqual(t, string(data), changed)
			require.Len(t, changed, len(data))
			require.NoError(t, os.WriteFile(path, []byte(changed), 0o644))
			require.NoError(t, os.Chtimes(path, st.ModTime(), st.ModTime()))
		}},
	}
	backdate(t, dir)
	snap, _ := loadCached(t, dir, Options{})
	snap.Release()
	for _, c := range changes {
		t.Run(c.name, func(t *testing.T) {
			snap, cached := loadCached(t, dir, Options{})
			require.True(t, cached, "current before the change")
			snap.Release()
			c.change(t)
			snap, cached = loadCached(t, dir, Options{})
			require.False(t, cached, "stale after the change")
			snap.Release()
			// Once the files are old enough, the snapshot file is
			// written again.
			backdate(t, dir)
			snap, _ = loadCached(t, dir, Options{})
			snap.Release()
			snap, cached = loadCached(t, dir, Options{})
			require.True(t, cached, "rewritten")
			snap.Release()
		})
	}
}

// TestLoadCachedRecentFiles: data files modified less than racyWindow ago
// get no snapshot file.
func TestLoadCachedRecentFiles(t *testing.T) {
	dir := writeDir(t, shopSchema, shopFiles())
	snap, cached := loadCached(t, dir, Options{})
	require.False(t, cached)
	snap.Release()
	require.False(t, cacheExists(dir), "files written just now")
	backdate(t, dir)
	now := time.Now()
	require.NoError(t, os.Chtimes(filepath.Join(dir, "Case.csv"), now, now))
	snap, _ = loadCached(t, dir, Options{})
	snap.Release()
	require.False(t, cacheExists(dir), "one file modified just now")
}

// TestLoadCachedDamaged: a damaged snapshot file is never used. Damage
// that Open sees makes LoadCached load the files; damage in values, found
// by the background check, makes Verify fail and removes the file; the next
// LoadCached rebuilds it.
func TestLoadCachedDamaged(t *testing.T) {
	dir := writeDir(t, shopSchema, shopFiles())
	backdate(t, dir)
	snap, _ := loadCached(t, dir, Options{})
	snap.Release()
	path := SnapshotFilePath(dir)
	var meta fileMeta
	readTestMeta(t, path, &meta)
	var eager, values *fileSection
	for i, s := range meta.Sections {
		switch {
		case s.Name == "Order.Amount values":
			values = &meta.Sections[i]
		case strings.HasPrefix(s.Name, "Order along") && s.Eager:
			eager = &meta.Sections[i]
		}
	}
	require.NotNil(t, eager)
	require.NotNil(t, values)
	damage := func(off int64) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		require.NoError(t, err)
		b := make([]byte, 1)
		_, err = f.ReadAt(b, off)
		require.NoError(t, err)
		_, err = f.WriteAt([]byte{b[0] ^ 0x10}, off)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}

	damage(eager.Off)
	snap, cached := loadCached(t, dir, Options{})
	require.False(t, cached, "damaged links: loaded from the files")
	snap.Release()
	snap, cached = loadCached(t, dir, Options{})
	require.True(t, cached, "rebuilt")
	snap.Release()

	damage(values.Off + 3)
	snap, err := LoadCached(t.Context(), dir, Options{})
	require.NoError(t, err)
	require.NotEmpty(t, snap.File(), "damaged values: Open accepts the file")
	require.ErrorIs(t, snap.Verify(t.Context()), ErrSnapshotFile)
	snap.Release()
	require.False(t, cacheExists(dir), "the damaged file is removed")
	snap, cached = loadCached(t, dir, Options{})
	require.False(t, cached)
	snap.Release()
	snap, cached = loadCached(t, dir, Options{})
	require.True(t, cached, "rebuilt")
	snap.Release()

	// With VerifySnapshotFile, damaged values make LoadCached load the
	// files.
	damage(values.Off + 3)
	snap, cached = loadCached(t, dir, Options{VerifySnapshotFile: true})
	require.False(t, cached)
	snap.Release()
	snap, cached = loadCached(t, dir, Options{VerifySnapshotFile: true})
	require.True(t, cached, "rebuilt")
	snap.Release()

	require.NoError(t, os.WriteFile(path, []byte("not a snapshot"), 0o644))
	snap, cached = loadCached(t, dir, Options{})
	require.False(t, cached)
	snap.Release()
}

// TestLoadCachedOtherBuilder: a snapshot file written by another build of
// segmentkit is stale.
func TestLoadCachedOtherBuilder(t *testing.T) {
	dir := writeDir(t, shopSchema, shopFiles())
	backdate(t, dir)
	snap, _ := loadCached(t, dir, Options{})
	defer snap.Release()
	sig, err := signDir(dir)
	require.NoError(t, err)
	sig.Builder = "loader 0"
	require.NoError(t, saveFile(t.Context(), snap, SnapshotFilePath(dir), sig, 0))
	got, cached := loadCached(t, dir, Options{})
	require.False(t, cached)
	got.Release()
	got, cached = loadCached(t, dir, Options{})
	require.True(t, cached)
	got.Release()
}

// TestLoadCachedUnwritable: when the snapshot file cannot be written,
// LoadCached still loads.
func TestLoadCachedUnwritable(t *testing.T) {
	dir := writeDir(t, shopSchema, shopFiles())
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".segmentkit"), []byte("a file in the way"), 0o644))
	backdate(t, dir)
	for range 2 {
		snap, cached := loadCached(t, dir, Options{})
		require.False(t, cached)
		snap.Release()
	}
}

// TestLoadCachedErrors: a directory that does not load gives Load's errors.
func TestLoadCachedErrors(t *testing.T) {
	files := shopFiles()
	files["Order.csv"] += "O9,C1,abc\n"
	dir := writeDir(t, shopSchema, files)
	backdate(t, dir)
	_, err := LoadCached(t.Context(), dir, Options{})
	require.ErrorIs(t, err, ErrData)
	_, err = LoadCached(t.Context(), t.TempDir(), Options{})
	require.ErrorIs(t, err, os.ErrNotExist)
	require.False(t, cacheExists(dir))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = LoadCached(ctx, writeDir(t, shopSchema, shopFiles()), Options{})
	require.ErrorIs(t, err, context.Canceled)
}

// TestLoadCachedConcurrent: loads of one directory at once, the snapshot
// file missing or current, all give the data.
func TestLoadCachedConcurrent(t *testing.T) {
	dir := writeDir(t, shopSchema, shopFiles())
	backdate(t, dir)
	want, err := Load(t.Context(), dir, Options{})
	require.NoError(t, err)
	defer want.Release()
	for round := range 2 {
		var wg sync.WaitGroup
		snaps := make([]*Snapshot, 6)
		errs := make([]error, len(snaps))
		for i := range snaps {
			wg.Go(func() { snaps[i], errs[i] = LoadCached(t.Context(), dir, Options{}) })
		}
		wg.Wait()
		for i, s := range snaps {
			require.NoError(t, errs[i], "round %d", round)
			requireSameSnapshot(t, want, s)
			s.Release()
		}
	}
	entries, err := os.ReadDir(filepath.Join(dir, ".segmentkit"))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file is left")
}

// TestSaveRemovesOldTemps: a save removes the temporary files of saves that
// died an hour ago or more, and keeps younger ones.
func TestSaveRemovesOldTemps(t *testing.T) {
	snap, err := loadShop(t, memory.DefaultAllocator, shopFiles())
	require.NoError(t, err)
	defer snap.Release()
	dir := t.TempDir()
	path := filepath.Join(dir, "snapshot")
	old, young := filepath.Join(dir, ".snapshot.1-2.tmp"), filepath.Join(dir, ".snapshot.3-4.tmp")
	for _, p := range []string{old, young} {
		require.NoError(t, os.WriteFile(p, []byte("partial"), 0o644))
	}
	then := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(old, then, then))
	require.NoError(t, Save(t.Context(), snap, path))
	_, err = os.Stat(old)
	require.ErrorIs(t, err, os.ErrNotExist)
	_, err = os.Stat(young)
	require.NoError(t, err)
}
