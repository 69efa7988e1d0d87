package conformance

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

var flagSoak = flag.Duration("conformance.soak", 3*time.Second,
	"how long TestSoak loads, evaluates, refreshes and drops snapshots (60s for the long run)")

// soakDefinitions are the segments TestSoak evaluates and refreshes: the
// demo's example and two that read every entity the demo has.
var soakDefinitions = []string{
	string(demo.ExampleSegment()),
	`{"name": "Escalated", "groups": [{"condition": {"related": "SupportCase", "where": {"attribute": "SupportCase.Escalated", "operator": "equals", "value": true}, "aggregate": {"function": "count"}, "operator": "greaterThanOrEqual", "value": 1}}]}`,
	`{"name": "BigBaskets", "groups": [{"condition": {"related": "Order", "where": {"attribute": "Order.Amount", "operator": "greaterThan", "value": 100}, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 500}}, {"setOperator": "intersect", "condition": {"attribute": "Customer.Email", "operator": "isNotNull"}}]}`,
}

// TestSoak loads, evaluates, refreshes and drops snapshots in a loop for
// -conformance.soak: each round loads a data directory of its own with a
// checked allocator, evaluates the definitions on it and releases it (the
// allocator back at zero), then switches the catalog's live directory to
// the other of two versions of the data and refreshes every segment. The
// Go heap, measured after a collection at intervals, stays flat: its last
// measure is at most 1.5 times its first, after the first round, plus
// 8 MiB. Everything the catalog's source allocated is released at the end.
func TestSoak(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	var versions [2]string
	for i := range versions {
		versions[i] = filepath.Join(root, "v"+string(rune('a'+i)))
		_, err := demo.Write(ctx, versions[i], demo.Options{Customers: 1500, Seed: uint64(i + 1)})
		require.NoError(t, err)
	}
	live := filepath.Join(root, "live")
	require.NoError(t, os.Mkdir(live, 0o755))
	copyVersion(t, versions[0], live)

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	src := catalog.NewDirSource(live, storage.Options{Allocator: mem, NoSnapshotCache: true})
	cat, err := catalog.Open(filepath.Join(root, "catalog.db"), catalog.Options{Source: src})
	require.NoError(t, err)
	var defs []*segment.Definition
	for _, d := range soakDefinitions {
		def, err := segment.Parse([]byte(d))
		require.NoError(t, err)
		defs = append(defs, def)
		_, err = cat.Create(ctx, []byte(d), catalog.CreateOptions{Active: true})
		require.NoError(t, err)
	}

	heap := func() uint64 {
		runtime.GC()
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		return ms.HeapAlloc
	}
	var samples []uint64
	start := time.Now()
	next := start
	rounds := 0
	for rounds < 2 || time.Since(start) < *flagSoak {
		v := versions[rounds%2]
		rm := memory.NewCheckedAllocator(memory.NewGoAllocator())
		snap, err := storage.Load(ctx, v, storage.Options{Allocator: rm, NoSnapshotCache: true})
		require.NoError(t, err)
		for _, def := range defs {
			plan, err := engine.Compile(def, snap, engine.Options{})
			require.NoError(t, err)
			_, err = plan.Eval(ctx, demo.DefaultAsOf)
			require.NoError(t, err)
		}
		snap.Release()
		rm.AssertSize(t, 0)

		copyVersion(t, versions[(rounds+1)%2], live)
		job, err := cat.RefreshAll(ctx)
		require.NoError(t, err)
		require.Equal(t, catalog.Successful, job.Status, "round %d: %+v", rounds, job)
		rounds++
		if rounds == 1 || time.Now().After(next) {
			samples = append(samples, heap())
			next = time.Now().Add(*flagSoak / 16)
		}
	}
	samples = append(samples, heap())
	t.Logf("%d rounds in %v; heap after each interval (MiB): %v", rounds, time.Since(start).Round(time.Millisecond), mib(samples))
	first, last := samples[0], samples[len(samples)-1]
	require.LessOrEqual(t, last, first+first/2+8<<20, "the heap grew from %d to %d bytes over %d rounds", first, last, rounds)

	require.NoError(t, cat.Close())
	require.NoError(t, src.Close())
	mem.AssertSize(t, 0)
}

// copyVersion replaces the data files of dst with those of the data
// directory src, each by a rename, so that a reader never sees half a file.
func copyVersion(t *testing.T, src, dst string) {
	t.Helper()
	entries, err := os.ReadDir(src)
	require.NoError(t, err)
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(src, e.Name()))
		require.NoError(t, err)
		tmp := filepath.Join(dst, "."+e.Name()+".new")
		require.NoError(t, os.WriteFile(tmp, b, 0o644))
		require.NoError(t, os.Rename(tmp, filepath.Join(dst, e.Name())))
	}
}

// mib returns the byte counts in MiB, rounded to a tenth.
func mib(bs []uint64) []float64 {
	return slices.Collect(func(yield func(float64) bool) {
		for _, b := range bs {
			if !yield(float64(b*10>>20) / 10) {
				return
			}
		}
	})
}
