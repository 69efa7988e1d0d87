package sqlgen_test

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/randgen"
	"github.com/segmentkit/segmentkit/internal/refeval"
	"github.com/segmentkit/segmentkit/internal/shrink"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

var (
	flagSeeds  = flag.Int("sqlgen.seeds", 48, "number of random data directories for TestSQLiteMatchesEngine")
	flagDefs   = flag.Int("sqlgen.defs", 45, "random definitions per data directory")
	flagSeed   = flag.Uint64("sqlgen.seed", 0, "run only the directory of this seed (0: all)")
	flagAll    = flag.Bool("sqlgen.all", false, "report up to 5 mismatches per directory instead of stopping at the first")
	flagShrink = flag.Bool("sqlgen.shrink", true, "shrink a failing case's definition and data before keeping it")
	flagPrint  = flag.Bool("sqlgen.print", false, "print the query of every failing comparison")
)

// seedStream separates the random streams of this test from the
// conformance test's, over the same seeds.
const seedStream = 0x5_9170

// minDefinitions is how many definitions a default run compares at least.
const minDefinitions = 2000

// TestSQLiteMatchesEngine compares the members of the generated SQL, run
// on SQLite, with the engine's, on random data directories and random
// definitions (internal/randgen). Each definition is compiled one of the
// variants' ways in turn: bind parameters or inlined literals, CTEs or
// nested subqueries, set operators or membership conditions. The
// definitions reference two segments, one given as a table of keys and one
// as a definition compiled into the query. A mismatch is shrunk and kept
// as a scripted case, whose path the failure gives; copy it under
// testdata/cases to keep it as a regression test.
func TestSQLiteMatchesEngine(t *testing.T) {
	n := *flagSeeds
	if testing.Short() {
		n = min(n, 6)
	}
	var defs atomic.Int64
	var g grammarRun
	start := time.Now()
	t.Cleanup(func() {
		t.Logf("%d definitions compared in %v", defs.Load(), time.Since(start).Round(time.Millisecond))
		g.log(t)
		if !testing.Short() && *flagSeed == 0 && *flagSeeds*(*flagDefs) >= minDefinitions && !t.Failed() {
			require.GreaterOrEqual(t, defs.Load(), int64(minDefinitions))
		}
	})
	for i := range n {
		seed := uint64(i) + 1
		if *flagSeed != 0 && seed != *flagSeed {
			continue
		}
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			defs.Add(int64(checkSeed(t, seed, *flagDefs, &g)))
		})
	}
}

// checkSeed generates the directory of seed and compares count random
// definitions over it; it returns how many it compared. Each definition
// is compiled for Spark and Trino too, and g parses some or all of those
// queries with the engines' grammars (-sqlgen.grammar).
func checkSeed(t *testing.T, seed uint64, count int, g *grammarRun) int {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seedStream))
	dir := t.TempDir()
	info, err := randgen.Dir(r, dir)
	require.NoError(t, err)
	snap, err := storage.Load(ctx, dir, storage.Options{})
	require.NoError(t, err, "seed %d", seed)
	defer snap.Release()

	// "Earlier" is a table of random members; "Frozen" a random definition
	// (made before info has segments, so it references none).
	var earlier []string
	for id := range uint32(snap.NumCustomers()) {
		if r.IntN(3) == 0 {
			earlier = append(earlier, snap.CustomerKey(id))
		}
	}
	info.NoBehaviour = true // Frozen is referenced by every kind of definition
	rf := refs{keys: map[string][]string{"Earlier": earlier}, defs: map[string][]byte{"Frozen": randgen.Definition(r, info)}}
	info.Segments = []string{"Earlier", "Frozen"}
	key, _ := snap.Schema().Customer().Attribute(snap.Schema().Customer().Key)
	db, err := openDB(ctx, dir, key, rf)
	require.NoError(t, err, "seed %d", seed)
	defer db.Close()

	failures := 0
	var grammarQueries [2][]string
	defer func() { g.validate(t, grammarQueries) }()
	for k := range count {
		// One definition in four may hold behavioural conditions, which
		// SQL cannot express: those must be named unsupported.
		info.NoBehaviour = k%4 != 0
		defJSON := randgen.Definition(r, info)
		asOf := randgen.AsOf(r, info)
		if def, err := segment.Parse(defJSON); err == nil {
			require.NoError(t, g.compile(k, def, snap.Schema(), asOf, rf, &grammarQueries), "seed %d, definition %d: %s", seed, k, defJSON)
		}
		v := (k + int(seed)) % len(variants)
		kind, detail := compareOne(ctx, snap, db, defJSON, asOf, rf, v)
		if kind == "" {
			continue
		}
		kept, small := keepCase(t, dir, defJSON, asOf, rf, v, kind)
		msg := fmt.Sprintf("seed %d, definition %d, variant %s: %s\nas-of: %s\ndefinition: %s\nshrunk: %s\ncase kept in: %s\n%s",
			seed, k, variants[v].name, kind, asOf.Format(time.RFC3339Nano), defJSON, small, kept, detail)
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

// compareOne runs one definition both ways. It returns "" when the members
// agree, else the kind of failure ("sql error", "mismatch", "engine
// error") and what to print.
func compareOne(ctx context.Context, snap *storage.Snapshot, db *sql.DB, defJSON []byte, asOf time.Time, rf refs, v int) (kind, detail string) {
	def, err := segment.Parse(defJSON)
	if err != nil {
		return "parse error", err.Error()
	}
	want, err := engineMembers(ctx, snap, def, asOf, rf)
	if err != nil {
		return "engine error", err.Error()
	}
	opts, err := sqlOptions(v, asOf, rf)
	if err != nil {
		return "options error", err.Error()
	}
	got, q, err := sqlMembers(ctx, db, def, snap, opts)
	if behaviourOnly(err) {
		return "", ""
	}
	query := ""
	if q != nil && *flagPrint {
		query = "query:\n" + q.SQL + fmt.Sprintf("args: %v\n", q.Args)
	}
	if err != nil {
		return "sql error", err.Error() + "\n" + query
	}
	if !slices.Equal(got, want) {
		return "mismatch", fmt.Sprintf("only in SQL:    %s\nonly in engine: %s\n%s",
			describeKeys(minus(got, want)), describeKeys(minus(want, got)), query)
	}
	return "", ""
}

// failureIn loads dir afresh and compares one definition, for shrinking.
func failureIn(dir string, defJSON []byte, asOf time.Time, rf refs, v int) string {
	ctx := context.Background()
	snap, err := storage.Load(ctx, dir, storage.Options{})
	if err != nil {
		return "load error"
	}
	defer snap.Release()
	key, _ := snap.Schema().Customer().Attribute(snap.Schema().Customer().Key)
	db, err := openDB(ctx, dir, key, rf)
	if err != nil {
		return "load error"
	}
	defer db.Close()
	kind, _ := compareOne(ctx, snap, db, defJSON, asOf, rf, v)
	return kind
}

// keepCase copies a failing case's directory to a new one that outlives
// the test, shrinks it while it fails the same way, and writes it as a
// scripted case with the reference evaluator's members as expected.txt.
func keepCase(t *testing.T, dir string, defJSON []byte, asOf time.Time, rf refs, v int, kind string) (path string, shrunk []byte) {
	out, err := os.MkdirTemp("", "sqlgen-case-")
	if err != nil {
		return "(not kept: " + err.Error() + ")", defJSON
	}
	if err := shrink.CopyDir(dir, out); err != nil {
		t.Logf("keep: %v", err)
	}
	small := defJSON
	if *flagShrink {
		failing := func(d []byte) bool { return failureIn(out, d, asOf, rf, v) == kind }
		small = shrink.Definition(defJSON, failing)
		shrink.Rows(out, func() bool { return failing(small) })
	}
	var expected strings.Builder
	expected.WriteString("# members according to the reference evaluator\n")
	if ref, err := refeval.Load(out); err == nil {
		keys := ref.CustomerKeys()
		segments := map[string][]uint32{}
		for name, ks := range rf.keys {
			ids := []uint32{}
			for id, k := range keys {
				if slices.Contains(ks, k) {
					ids = append(ids, uint32(id))
				}
			}
			segments[name] = ids
		}
		for name, d := range rf.defs {
			segments[name], err = ref.Eval(d, asOf, nil)
			if err != nil {
				expected.WriteString("# reference error in " + name + ": " + err.Error() + "\n")
			}
		}
		want, err := ref.Eval(small, asOf, segments)
		var lines []string
		for _, id := range want {
			lines = append(lines, keys[id])
		}
		slices.Sort(lines)
		for _, l := range lines {
			expected.WriteString(l + "\n")
		}
		if err != nil {
			expected.WriteString("# reference error: " + err.Error() + "\n")
		}
	}
	files := map[string]string{
		"definition.json":          string(small) + "\n",
		"original-definition.json": string(defJSON) + "\n",
		"asof.txt":                 asOf.Format(time.RFC3339Nano) + "\n",
		"variant.txt":              variants[v].name + "\n",
		"expected.txt":             expected.String(),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(out, name), []byte(content), 0o644); err != nil {
			t.Logf("keep %s: %v", name, err)
		}
	}
	if err := writeRefs(out, rf); err != nil {
		t.Logf("keep segments.json: %v", err)
	}
	return out, small
}
