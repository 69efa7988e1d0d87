package server

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/storage"
)

// logWatch is a slog handler that counts the server's reloads and
// records every warning and error it logs: under load, none is expected.
type logWatch struct {
	reloads atomic.Int64
	fails   *failures
}

func (h *logWatch) Enabled(context.Context, slog.Level) bool { return true }

func (h *logWatch) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "data reloaded" {
		h.reloads.Add(1)
	}
	if r.Level >= slog.LevelWarn {
		var b strings.Builder
		r.Attrs(func(a slog.Attr) bool {
			fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
			return true
		})
		h.fails.add("the server logged %s %q:%s", r.Level, r.Message, b.String())
	}
	return nil
}

func (h *logWatch) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *logWatch) WithGroup(string) slog.Handler      { return h }

// copyDir copies the regular files under src into dst.
func copyDir(t testing.TB, src, dst string) {
	t.Helper()
	require.NoError(t, os.CopyFS(dst, os.DirFS(src)))
}

// reloadVersion is one version of the data directory: its Customer.csv,
// its customers, and the Arrow memory its loaded snapshot holds.
type reloadVersion struct {
	customers []byte
	n         int
	arrow     int
}

// serving returns the customers of the snapshot the server serves.
func serving(s *Server) int {
	ref, err := s.acquire()
	if err != nil {
		return 0
	}
	defer ref.done()
	return ref.snap.NumCustomers()
}

// TestLoadReload has clients read while Customer.csv in the data
// directory is replaced (write a file beside it, rename it over) again
// and again with one of two versions, 2,000 and 2,600 customers, and the
// server's background reload (every 50 ms) swaps its snapshot; each
// replacement waits until the server serves the one before. Every
// answer must come from one whole snapshot: the customers an answer names
// are one of the two totals, and an evaluation's or estimate's members
// are those of the definition over that very version; no request fails.
// Snapshots are released: once the directory stops changing, the Arrow
// memory in use is one snapshot's, and none once everything is closed.
func TestLoadReload(t *testing.T) {
	d := loadDuration(t)
	ctx := t.Context()
	demoDir, catalogPath := testDemo(t)
	root := t.TempDir()
	// The second version: the demo's files, with a Customer.csv of more
	// customers (the orders and the rest name the first 2,000).
	more := filepath.Join(root, "more")
	_, err := demo.Write(ctx, more, demo.Options{Customers: 2600, AsOf: testNow.Truncate(24 * time.Hour)})
	require.NoError(t, err)
	dirB := filepath.Join(root, "b")
	copyDir(t, demoDir, dirB)
	b, err := os.ReadFile(filepath.Join(more, demo.CustomerFile))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dirB, demo.CustomerFile), b, 0o644))
	live := filepath.Join(root, "live")
	copyDir(t, demoDir, live)

	// What each version answers, computed without the server; the
	// evaluations leave out the one that reads a segment's stored members,
	// which refreshes over either version change.
	want := &loadWant{evalDefs: loadEvalDefs[:3], estimates: loadEstimates, evalMembers: map[int][]uint64{}, estMembers: map[int][]uint64{}}
	for _, def := range want.evalDefs {
		require.NotContains(t, def, `"segment"`)
	}
	var versions []reloadVersion
	for _, dir := range []string{demoDir, dirB} {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		snap, err := storage.Load(ctx, dir, storage.Options{Allocator: mem})
		require.NoError(t, err)
		v := reloadVersion{n: snap.NumCustomers(), arrow: mem.CurrentAlloc()}
		v.customers, err = os.ReadFile(filepath.Join(dir, demo.CustomerFile))
		require.NoError(t, err)
		want.customers = append(want.customers, v.n)
		want.evalMembers[v.n], want.estMembers[v.n] = snapshotWant(t, snap, testNow, want.evalDefs, map[string]*roaring.Bitmap{})
		snap.Release()
		mem.AssertSize(t, 0)
		versions = append(versions, v)
	}
	require.Equal(t, []int{2000, 2600}, want.customers)
	require.NotEqual(t, want.evalMembers[2000], want.evalMembers[2600])

	// The server and the catalog load the live directory with one checked
	// allocator.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) }) // last: after everything is closed
	// Without the snapshot file: a reload reads the data files (or, when
	// Customer.csv grew from the version before, appends its new rows).
	src := catalog.NewDirSource(live, storage.Options{Allocator: mem, NoSnapshotCache: true})
	t.Cleanup(func() { src.Close() })
	cat, err := catalog.Open(catalogPath, catalog.Options{Source: src})
	require.NoError(t, err)
	t.Cleanup(func() { cat.Close() })
	segs, err := cat.List(catalog.ListOptions{})
	require.NoError(t, err)
	for _, s := range segs {
		want.fixed = append(want.fixed, s.Name)
		if s.State == catalog.Active {
			want.downloads = append(want.downloads, s.Name)
		}
	}
	fails := &failures{}
	watch := &logWatch{fails: fails}
	srv, err := New(ctx, Options{Catalog: cat, Source: src, ReloadInterval: 50 * time.Millisecond, Logger: slog.New(watch)})
	require.NoError(t, err)
	t.Cleanup(func() { srv.Close() })
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	c := newLoadClient(hs.URL)
	t.Cleanup(c.close)

	weights := [numOps]int{opList: 10, opData: 15, opPreview: 10, opEvaluate: 20, opEstimate: 20, opDownload: 10, opRefresh: 3}
	m := newLoadMix(c, want, testNow, weights, fails)

	// While the clients run, replace Customer.csv with the other version,
	// wait for the server to serve it, wait up to 200 ms more, and again.
	stop := make(chan struct{})
	var swapper sync.WaitGroup
	current, swaps := 0, 0
	swapper.Go(func() {
		rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 3))
		tmp := filepath.Join(live, ".Customer.csv.new")
		for {
			select {
			case <-stop:
				return
			case <-time.After(time.Duration(rng.IntN(200)) * time.Millisecond):
			}
			next := 1 - current
			if err := os.WriteFile(tmp, versions[next].customers, 0o644); err != nil {
				m.fails.add("write %s: %v", tmp, err)
				return
			}
			if err := os.Rename(tmp, filepath.Join(live, demo.CustomerFile)); err != nil {
				m.fails.add("replace Customer.csv: %v", err)
				return
			}
			current = next
			swaps++
			for serving(srv) != versions[next].n {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
			}
		}
	})
	start := time.Now()
	workers := m.run(loadClients/4, d)
	took := time.Since(start)
	close(stop)
	swapper.Wait()
	m.fails.check(t)
	report(t, workers, took)
	// The last version is the first one, loaded whole (from the second,
	// which it is no prefix of), so that its Arrow memory is a load's: a
	// snapshot appended to holds other arrays.
	if current == 1 {
		tmp := filepath.Join(live, ".Customer.csv.new")
		require.NoError(t, os.WriteFile(tmp, versions[0].customers, 0o644))
		require.NoError(t, os.Rename(tmp, filepath.Join(live, demo.CustomerFile)))
		current = 0
	}
	t.Logf("%d swaps of Customer.csv, %d reloads; answers over 2,000 customers: %d, over 2,600: %d; %d refresh jobs",
		swaps, watch.reloads.Load(), m.seen[2000].Load(), m.seen[2600].Load(), m.jobs.Load())
	require.NotZero(t, swaps)
	require.NotZero(t, watch.reloads.Load())
	require.NotZero(t, m.seen[2000].Load(), "no answer read the first version")
	require.NotZero(t, m.seen[2600].Load(), "no answer read the second version")
	for _, op := range []int{opData, opEvaluate, opEstimate, opPreview, opDownload, opList} {
		require.NotZero(t, m.count[op].Load(), "no %s requests", opNames[op])
	}

	// Once the directory rests, the server serves its last version, and
	// the one snapshot in use holds all the Arrow memory: the others were
	// released.
	final := versions[current]
	var data struct {
		Customers int `json:"customers"`
	}
	inUse := 0
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		a, err := c.do("GET", "/api/data", nil)
		require.NoError(t, err)
		require.NoError(t, a.expect(200, &data))
		inUse = mem.CurrentAlloc()
		if data.Customers == final.n && inUse == final.arrow {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the server did not settle on the last version (%d customers): it answers %d; %d bytes of Arrow memory are in use, one snapshot holds %d",
				final.n, data.Customers, inUse, final.arrow)
		}
	}
	t.Logf("at rest: %d bytes of Arrow memory in use, the last version's snapshot (%d customers)", inUse, final.n)
	m.fails.check(t)
}
