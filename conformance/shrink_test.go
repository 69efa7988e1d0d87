package conformance

import (
	"context"
	"fmt"
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
