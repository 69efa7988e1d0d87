package conformance

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/randgen"
	"github.com/segmentkit/segmentkit/internal/refeval"
	"github.com/segmentkit/segmentkit/internal/shrink"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

var (
	flagN      = flag.Int("conformance.n", 100, "number of random data directories")
	flagDefs   = flag.Int("conformance.defs", 50, "random definitions per data directory")
	flagSeed   = flag.Uint64("conformance.seed", 0, "run only the directory of this seed (0: all)")
	flagKeep   = flag.Bool("conformance.keep", false, "keep every generated directory, not only failing cases")
	flagAll    = flag.Bool("conformance.all", false, "report up to 5 mismatches per directory instead of stopping at the first")
	flagShrink = flag.Bool("conformance.shrink", true, "shrink a failing case's data and definition before keeping it")
)

// appendedSeeds counts the directories whose grown snapshot Reload built
// by appending, and appendedRows the rows it appended.
var appendedSeeds, appendedRows atomic.Int64

// seedStream separates the random streams of this test from other users of
// the same seeds.
const seedStream = 0x5e9_6e47

// TestConformance compares the engine with the reference evaluator on
// random data and random definitions. A mismatch is written out as a
// scripted case (data, definition.json, asof.txt and the reference's
// expected.txt), shrunk, whose path the failure message gives.
func TestConformance(t *testing.T) {
	n := *flagN
	if testing.Short() {
		n = min(n, 10)
	}
	var defs atomic.Int64
	start := time.Now()
	appendedSeeds.Store(0)
	appendedRows.Store(0)
	t.Cleanup(func() {
		t.Logf("%d definitions compared in %v; %d of %d directories appended to (%d rows in all)", defs.Load(), time.Since(start).Round(time.Millisecond), appendedSeeds.Load(), n, appendedRows.Load())
	})
	for i := range n {
		seed := uint64(i) + 1
		if *flagSeed != 0 && seed != *flagSeed {
			continue
		}
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			defs.Add(int64(checkSeed(t, seed, *flagDefs)))
		})
	}
}

// checkSeed generates the directory of seed and compares count random
// definitions over it. It returns how many it compared.
func checkSeed(t *testing.T, seed uint64, count int) int {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seedStream))
	dir := t.TempDir()
	if *flagKeep {
		var err error
		dir, err = os.MkdirTemp("", fmt.Sprintf("conformance-seed%d-", seed))
		require.NoError(t, err)
		t.Logf("data directory: %s", dir)
	}
	info, err := randgen.Dir(r, dir)
	require.NoError(t, err)
	ref, err := refeval.Load(dir)
	require.NoError(t, err, "reference load, seed %d", seed)
	snap, err := loadSnapshot(ctx, dir)
	require.NoError(t, err, "engine load, seed %d, dir %s", seed, dir)
	defer snap.Release()
	// Every definition runs on the loaded snapshot and on the same
	// snapshot saved to a snapshot file and opened from it.
	filed, err := reopenSnapshot(ctx, t.TempDir(), snap)
	require.NoError(t, err, "snapshot file, seed %d, dir %s", seed, dir)
	defer filed.Release()
	// And on a snapshot built by appending: the files cut after random
	// records, loaded, grown back and reloaded (storage.Reload).
	grown, err := appendedSnapshot(ctx, rand.New(rand.NewPCG(seed, seedStream+1)), dir, t.TempDir())
	require.NoError(t, err, "appended snapshot, seed %d, dir %s", seed, dir)
	defer grown.Release()
	if info := grown.LoadInfo(); info.Method == storage.AppendedRows {
		appendedSeeds.Add(1)
		for _, n := range info.Appended {
			appendedRows.Add(int64(n))
		}
	} else {
		t.Logf("seed %d: Reload loaded the grown files whole: %s", seed, info.Reason)
	}

	// Two segments to reference, with random members.
	segments := map[string][]uint32{}
	nCust := uint32(len(ref.CustomerKeys()))
	for _, name := range []string{"Earlier", "Frozen"} {
		ids := []uint32{}
		for id := range nCust {
			if r.IntN(3) == 0 {
				ids = append(ids, id)
			}
		}
		segments[name] = ids
		info.Segments = append(info.Segments, name)
	}

	failures := 0
	for k := range count {
		defJSON := randgen.Definition(r, info)
		asOf := randgen.AsOf(r, info)
		want, err := ref.Eval(defJSON, asOf, segments)
		require.NoError(t, err, "reference eval, seed %d def %d: %s", seed, k, defJSON)
		got, err := engineEval(ctx, snap, defJSON, asOf, segments)
		via := ""
		if err == nil && slices.Equal(got, want) {
			if got, err = engineEval(ctx, filed, defJSON, asOf, segments); err == nil && slices.Equal(got, want) {
				if got, err = engineEval(ctx, grown, defJSON, asOf, segments); err == nil && slices.Equal(got, want) {
					continue
				}
				via = "through a snapshot grown by appending (storage.Reload)\n"
			} else {
				via = "through a snapshot file (storage.Save, storage.Open)\n"
			}
		}
		kept, small := keepCase(t, dir, defJSON, asOf, segments)
		msg := fmt.Sprintf("seed %d, definition %d\n%sas-of: %s\ndefinition: %s\nshrunk: %s\ncase kept in: %s\n",
			seed, k, via, asOf.Format(time.RFC3339Nano), defJSON, small, kept)
		if err != nil {
			msg += fmt.Sprintf("engine error: %v\n", err)
		} else {
			keys := ref.CustomerKeys()
			msg += fmt.Sprintf("only in engine:    %s\nonly in reference: %s\n",
				describe(minus(got, want), keys), describe(minus(want, got), keys))
		}
		if !*flagAll {
			t.Fatal(msg)
		}
		t.Error(msg)
		if failures++; failures >= 5 {
			t.FailNow()
		}
	}
	return count
}

// engineEval runs a definition through the engine's public API.
// A panic is returned as an error, so that the case is reported (and
// shrunk) like any other failure.
func engineEval(ctx context.Context, snap *storage.Snapshot, defJSON []byte, asOf time.Time, segments map[string][]uint32) (ids []uint32, err error) {
	defer func() {
		if p := recover(); p != nil {
			ids, err = nil, fmt.Errorf("engine panic: %v\n%s", p, debug.Stack())
		}
	}()
	def, err := segment.Parse(defJSON)
	if err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	var opts engine.Options
	if len(segments) > 0 {
		opts.Segments = map[string]*roaring.Bitmap{}
		for name, ids := range segments {
			opts.Segments[name] = roaring.BitmapOf(ids...)
		}
	}
	// Every definition runs three ways: with the engine's default
	// restriction of conjunctions to their candidates, with it always on,
	// and with it off. All three must give the reference's members.
	for i, share := range []float64{0, 2, -1} {
		opts.CandidateShare = share
		plan, err := engine.Compile(def, snap, opts)
		if err != nil {
			return nil, fmt.Errorf("compile: %w", err)
		}
		bm, err := plan.Eval(ctx, asOf)
		if err != nil {
			return nil, fmt.Errorf("eval: %w", err)
		}
		got := toSlice(bm)
		if i > 0 && !slices.Equal(got, ids) {
			return nil, fmt.Errorf("CandidateShare %v gives %v, the default %v", share, got, ids)
		}
		if i == 0 {
			ids = got
		}
	}
	return ids, nil
}

func toSlice(bm *roaring.Bitmap) []uint32 {
	out := bm.ToArray()
	if out == nil {
		out = []uint32{}
	}
	return out
}

// minus returns the ids of a not in b; both are sorted.
func minus(a, b []uint32) []uint32 {
	var out []uint32
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

func describe(ids []uint32, keys []string) string {
	if len(ids) == 0 {
		return "-"
	}
	var parts []string
	for _, id := range ids {
		key := "?"
		if int(id) < len(keys) {
			key = keys[id]
		}
		parts = append(parts, fmt.Sprintf("%d(key %s)", id, key))
	}
	return strings.Join(parts, " ")
}

// keepCase copies the data directory of a failing comparison to a new
// directory that survives the test, shrinks the data and the definition
// while they keep failing, and writes the result as a scripted case: the
// definition, the as-of and the reference's members. It returns the path
// and the shrunk definition.
func keepCase(t *testing.T, dir string, defJSON []byte, asOf time.Time, segments map[string][]uint32) (path string, shrunk []byte) {
	out, err := os.MkdirTemp("", "conformance-case-")
	if err != nil {
		return "(not kept: " + err.Error() + ")", defJSON
	}
	if err := shrink.CopyDir(dir, out); err != nil {
		t.Logf("keep: %v", err)
	}
	small := defJSON
	if *flagShrink {
		small = shrinkCase(out, defJSON, asOf, segments)
	}
	var expected strings.Builder
	expected.WriteString("# members according to the reference evaluator\n")
	if ref, err := refeval.Load(out); err == nil {
		want, err := ref.Eval(small, asOf, segments)
		keys := ref.CustomerKeys()
		for _, id := range want {
			expected.WriteString(keys[id] + "\n")
		}
		if err != nil {
			expected.WriteString("# reference error: " + err.Error() + "\n")
		}
	}
	// Segment members by row id; scripted cases name them by key instead.
	segJSON, _ := json.Marshal(segments)
	files := map[string]string{
		"definition.json":          string(small) + "\n",
		"original-definition.json": string(defJSON) + "\n",
		"asof.txt":                 asOf.Format(time.RFC3339Nano) + "\n",
		"segments.json":            string(segJSON) + "\n",
		"expected.txt":             expected.String(),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(out, name), []byte(content), 0o644); err != nil {
			t.Logf("keep %s: %v", name, err)
		}
	}
	return out, small
}
