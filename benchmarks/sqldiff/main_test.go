package sqldiff

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/randgen"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/sqlgen"
	"github.com/segmentkit/segmentkit/storage"
)

var (
	flagSeeds = flag.Int("sqldiff.seeds", 12, "random data directories per engine")
	flagDefs  = flag.Int("sqldiff.defs", 45, "random definitions per data directory")
	flagSeed  = flag.Uint64("sqldiff.seed", 0, "run only the directory of this seed (0: all)")
	flagPrint = flag.Bool("sqldiff.print", false, "print the query of a failing comparison")
)

// seedStream separates this package's random streams from the other
// differential tests'.
const seedStream = 0x5_d1ff

// minDefinitions is how many definitions a default run compares at least
// per engine, supported or not.
const minDefinitions = 500

// minSupported is the share of definitions that must compile for an
// engine, so that a dialect that refuses everything does not pass.
const minSupported = 0.6

// rowOrder names the column that orders every table's rows as their data
// file does, where the engine keeps no row order.
const rowOrder = "sk_file_row"

// backend is one SQL engine holding a data directory.
type backend interface {
	// load makes the snapshot's tables (and the table of keyed member
	// segments) the ones queries read.
	load(ctx context.Context, dir string, snap *storage.Snapshot) error
	// members runs a compiled query and returns the member keys.
	members(ctx context.Context, q *sqlgen.Query) ([]string, error)
	// options are the compile options for the engine.
	options() sqlgen.Options
}

// stats counts what a run compared.
type stats struct {
	mu          sync.Mutex
	compared    int
	unsupported int
	reasons     map[string]int
}

func (s *stats) add(compared bool, reason string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if compared {
		s.compared++
		return
	}
	s.unsupported++
	if s.reasons == nil {
		s.reasons = map[string]int{}
	}
	s.reasons[reason]++
}

// reason shortens an unsupported error to its construct, for the log.
func reason(err error) string {
	msg := err.Error()
	if i := strings.Index(msg, ": "); i >= 0 && strings.Contains(msg[i:], "clickhouse: ") {
		msg = msg[strings.Index(msg, "clickhouse: ")+len("clickhouse: "):]
	}
	if i := strings.IndexAny(msg, "\n"); i >= 0 {
		msg = msg[:i]
	}
	for _, cut := range []string{" of ", " adds ", " needs "} {
		if i := strings.Index(msg, cut); i > 0 {
			return strings.TrimSpace(msg[:i]) + cut + "..."
		}
	}
	return msg
}

// run compares the engine's members with the backend's over random
// directories and definitions.
func run(t *testing.T, name string, b backend) {
	var st stats
	start := time.Now()
	t.Cleanup(func() {
		total := st.compared + st.unsupported
		share := 0.0
		if total > 0 {
			share = float64(st.compared) / float64(total)
		}
		t.Logf("%s: %d definitions, %d compared (%.0f%% supported), %d unsupported, in %v",
			name, total, st.compared, 100*share, st.unsupported, time.Since(start).Round(time.Millisecond))
		keys := make([]string, 0, len(st.reasons))
		for k := range st.reasons {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			t.Logf("  unsupported %4d: %s", st.reasons[k], k)
		}
		if t.Failed() || *flagSeed != 0 {
			return
		}
		if *flagSeeds**flagDefs >= minDefinitions {
			require.GreaterOrEqual(t, total, minDefinitions)
		}
		require.GreaterOrEqual(t, share, minSupported, "%s compiles too few definitions", name)
	})
	for i := range *flagSeeds {
		seed := uint64(i) + 1
		if *flagSeed != 0 && seed != *flagSeed {
			continue
		}
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) { checkSeed(t, b, seed, &st) })
	}
}

func checkSeed(t *testing.T, b backend, seed uint64, st *stats) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seedStream))
	dir, err := os.MkdirTemp("", "sqldiff-")
	require.NoError(t, err)
	info, err := randgen.Dir(r, dir)
	require.NoError(t, err)
	snap, err := storage.Load(ctx, dir, storage.Options{})
	require.NoError(t, err, "seed %d", seed)
	defer snap.Release()
	// "Frozen" is a random definition compiled into the query (made
	// before info has segments, so it references none).
	info.NoBehaviour = true // referenced by every definition
	frozenJSON := randgen.Definition(r, info)
	frozen, err := segment.Parse(frozenJSON)
	require.NoError(t, err)
	info.Segments = []string{"Frozen"}
	require.NoError(t, b.load(ctx, dir, snap), "seed %d: loading %s", seed, dir)

	failed := false
	defer func() {
		if !failed {
			os.RemoveAll(dir)
		}
	}()
	for k := range *flagDefs {
		// One definition in four may hold behavioural conditions, which
		// the compiler names unsupported.
		info.NoBehaviour = k%4 != 0
		defJSON := randgen.Definition(r, info)
		asOf := randgen.AsOf(r, info)
		def, err := segment.Parse(defJSON)
		require.NoError(t, err)
		opts := b.options()
		opts.AsOf = asOf
		opts.Segments = map[string]sqlgen.Reference{"Frozen": {Definition: frozen}}
		q, err := sqlgen.Compile(def, snap.Schema(), opts)
		if err != nil {
			require.ErrorIs(t, err, sqlgen.ErrUnsupported, "seed %d, definition %d: %s", seed, k, defJSON)
			st.add(false, reason(err))
			continue
		}
		want, err := engineMembers(ctx, snap, def, asOf, frozen)
		require.NoError(t, err, "seed %d, definition %d: %s", seed, k, defJSON)
		got, err := b.members(ctx, q)
		query := ""
		if *flagPrint {
			query = "\nquery:\n" + q.SQL
		}
		if err != nil {
			failed = true
			t.Fatalf("seed %d, definition %d: the query fails: %v\ndata kept in %s\nas-of %s\nfrozen: %s\ndefinition: %s%s",
				seed, k, err, dir, asOf.Format(time.RFC3339Nano), frozenJSON, defJSON, query)
		}
		slices.Sort(got)
		if !slices.Equal(got, want) {
			failed = true
			t.Fatalf("seed %d, definition %d: members differ\nonly in SQL:    %v\nonly in engine: %v\ndata kept in %s\nas-of %s\nfrozen: %s\ndefinition: %s%s",
				seed, k, minus(got, want), minus(want, got), dir, asOf.Format(time.RFC3339Nano), frozenJSON, defJSON, query)
		}
		st.add(true, "")
	}
}

// engineMembers evaluates a definition with the engine, returning the
// member keys, sorted. A panic is an error.
func engineMembers(ctx context.Context, snap *storage.Snapshot, def *segment.Definition, asOf time.Time, frozen *segment.Definition) (keys []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			keys, err = nil, fmt.Errorf("engine panic: %v\n%s", p, debug.Stack())
		}
	}()
	fp, err := engine.Compile(frozen, snap, engine.Options{})
	if err != nil {
		return nil, fmt.Errorf("segment Frozen: %w", err)
	}
	fm, err := fp.Eval(ctx, asOf)
	if err != nil {
		return nil, err
	}
	plan, err := engine.Compile(def, snap, engine.Options{Segments: map[string]*roaring.Bitmap{"Frozen": fm}})
	if err != nil {
		return nil, fmt.Errorf("engine compile: %w", err)
	}
	bm, err := plan.Eval(ctx, asOf)
	if err != nil {
		return nil, err
	}
	keys = []string{}
	for _, id := range bm.ToArray() {
		keys = append(keys, snap.CustomerKey(id))
	}
	slices.Sort(keys)
	return keys, nil
}

// minus returns the keys of a not in b; both are sorted.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

// rowOrders maps every entity to the row order column.
func rowOrders(snap *storage.Snapshot) map[string]string {
	m := map[string]string{}
	for _, e := range snap.Schema().Entities {
		m[e.Name] = rowOrder
	}
	return m
}
