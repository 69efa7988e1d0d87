package conformance

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/internal/refeval"
	"github.com/segmentkit/segmentkit/internal/shrink"
	"github.com/segmentkit/segmentkit/storage"
)

// failure says how the engine and the reference disagree on the definition
// over the directory dir: "" when they agree (or the reference rejects the
// input, so it is no valid candidate), else "panic", "error" or "mismatch".
func failure(dir string, defJSON []byte, asOf time.Time, segments map[string][]uint32) string {
	ref, err := refeval.Load(dir)
	if err != nil {
		return ""
	}
	want, err := ref.Eval(defJSON, asOf, segments)
	if err != nil {
		return ""
	}
	ctx := context.Background()
	snap, err := loadSnapshot(ctx, dir)
	if err != nil {
		return errorKind(err)
	}
	defer snap.Release()
	tmp, err := os.MkdirTemp("", "conformance-snapshot-")
	if err != nil {
		return "error"
	}
	defer os.RemoveAll(tmp)
	filed, err := reopenSnapshot(ctx, tmp, snap)
	if err != nil {
		return errorKind(err)
	}
	defer filed.Release()
	for _, s := range []*storage.Snapshot{snap, filed} {
		got, err := engineEval(ctx, s, defJSON, asOf, segments)
		switch {
		case err != nil:
			return errorKind(err)
		case !slices.Equal(got, want):
			return "mismatch"
		}
	}
	return ""
}

func errorKind(err error) string {
	if strings.Contains(err.Error(), "panic:") {
		return "panic"
	}
	return "error"
}

// shrinkCase reduces a failing case in place: the definition and the rows of
// dir's CSV files, keeping the same kind of failure (so that a mismatch
// does not drift into an unrelated panic). It returns the reduced
// definition.
func shrinkCase(dir string, defJSON []byte, asOf time.Time, segments map[string][]uint32) []byte {
	kind := failure(dir, defJSON, asOf, segments)
	if kind == "" {
		return defJSON
	}
	failing := func(def []byte) bool { return failure(dir, def, asOf, segments) == kind }
	def := shrink.Definition(defJSON, failing)
	if !strings.Contains(string(def), `"segment"`) {
		// Removing customer rows would renumber the members of the
		// referenced segments.
		shrink.Rows(dir, func() bool { return failing(def) })
	}
	return def
}

// loadSnapshot loads dir with the storage package, returning a panic as an
// error.
func loadSnapshot(ctx context.Context, dir string) (snap *storage.Snapshot, err error) {
	defer func() {
		if p := recover(); p != nil {
			snap, err = nil, fmt.Errorf("storage panic: %v", p)
		}
	}()
	return storage.Load(ctx, dir, storage.Options{})
}

// reopenSnapshot saves snap to a snapshot file in dir (storage.Save) and
// opens it (storage.Open), checked whole, returning a panic as an error.
func reopenSnapshot(ctx context.Context, dir string, snap *storage.Snapshot) (filed *storage.Snapshot, err error) {
	defer func() {
		if p := recover(); p != nil {
			filed, err = nil, fmt.Errorf("storage panic: %v", p)
		}
	}()
	path := filepath.Join(dir, "snapshot")
	if err := storage.Save(ctx, snap, path); err != nil {
		return nil, err
	}
	filed, err = storage.Open(ctx, path, storage.Options{})
	if err != nil {
		return nil, err
	}
	if err := filed.Verify(ctx); err != nil {
		filed.Release()
		return nil, err
	}
	return filed, nil
}

// appendedSnapshot returns the snapshot of dir built the way a data
// directory that grows is: dir's files, each cut after a random number of
// its records (r draws them), are copied to work and loaded, then the
// rest of each file is written after its cut and storage.Reload appends
// the new rows to that snapshot (its LoadInfo says whether it did, or
// why it loaded the grown files whole). A panic is returned as an error.
func appendedSnapshot(ctx context.Context, r *rand.Rand, dir, work string) (snap *storage.Snapshot, err error) {
	defer func() {
		if p := recover(); p != nil {
			snap, err = nil, fmt.Errorf("storage panic: %v", p)
		}
	}()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	grown := map[string][]byte{} // the cut files, whole
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(e.Name(), ".csv") {
			grown[e.Name()] = b
			b = b[:csvCut(r, b)]
		}
		if err := os.WriteFile(filepath.Join(work, e.Name()), b, 0o644); err != nil {
			return nil, err
		}
	}
	old, err := storage.Load(ctx, work, storage.Options{})
	if err != nil {
		return nil, fmt.Errorf("load of the cut files: %w", err)
	}
	defer old.Release()
	for name, b := range grown {
		if err := os.WriteFile(filepath.Join(work, name), b, 0o644); err != nil {
			return nil, err
		}
	}
	snap, err = storage.Reload(ctx, work, old, storage.Options{NoSnapshotCache: true})
	if err != nil {
		return nil, fmt.Errorf("reload of the grown files: %w", err)
	}
	return snap, nil
}

// csvCut returns the length of a prefix of the CSV file b that ends after
// its header and a random number of whole records: the byte offset
// encoding/csv reports after that record, so that a quoted field with a
// line break is never cut. A file that ends without a line break is cut
// before its last record at most.
func csvCut(r *rand.Rand, b []byte) int {
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = -1
	cr.LazyQuotes = true
	var ends []int64
	for {
		if _, err := cr.Read(); err != nil {
			break
		}
		if off := cr.InputOffset(); off > 0 && b[off-1] == '\n' {
			ends = append(ends, off)
		}
	}
	if len(ends) == 0 {
		return len(b)
	}
	return int(ends[r.IntN(len(ends))])
}
