package sqlgen_test

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

var flagCase = flag.String("sqlgen.case", "", "run this case directory instead of testdata/cases/* and the conformance cases")

// TestScripted runs every scripted case through SQLite, in every variant:
// the cases of testdata/cases (mismatches the differential test found, and
// cases written for what random data rarely reaches) and the conformance
// package's cases. Each is a data directory with definition.json, asof.txt,
// expected.txt (the members' keys, one per line, # for comments) and,
// optionally, segments.json (referenced segments: {"Name": {"keys": [...]}}
// or {"Name": {"definition": {...}}}).
func TestScripted(t *testing.T) {
	var dirs []string
	if *flagCase != "" {
		dirs = []string{*flagCase}
	} else {
		for _, pattern := range []string{"testdata/cases/*/definition.json", "../conformance/testdata/*/definition.json"} {
			found, err := filepath.Glob(pattern)
			require.NoError(t, err)
			for _, f := range found {
				dirs = append(dirs, filepath.Dir(f))
			}
		}
	}
	require.NotEmpty(t, dirs)
	for _, dir := range dirs {
		t.Run(filepath.Base(filepath.Dir(dir))+"/"+filepath.Base(dir), func(t *testing.T) {
			runCase(t, dir)
		})
	}
}

func runCase(t *testing.T, dir string) {
	ctx := context.Background()
	defJSON, err := os.ReadFile(filepath.Join(dir, "definition.json"))
	require.NoError(t, err)
	def, err := segment.Parse(defJSON)
	require.NoError(t, err)
	asOfText, err := os.ReadFile(filepath.Join(dir, "asof.txt"))
	require.NoError(t, err)
	asOf, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(string(asOfText)))
	require.NoError(t, err)
	expected := readExpected(t, dir)
	rf, err := readRefs(dir)
	require.NoError(t, err)

	snap, err := storage.Load(ctx, dir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()
	key, _ := snap.Schema().Customer().Attribute(snap.Schema().Customer().Key)
	db, err := openDB(ctx, dir, key, rf)
	require.NoError(t, err)
	defer db.Close()
	for v := range variants {
		opts, err := sqlOptions(v, asOf, rf)
		require.NoError(t, err)
		got, q, err := sqlMembers(ctx, db, def, snap, opts)
		sqlText := ""
		if q != nil {
			sqlText = q.SQL
		}
		require.NoError(t, err, "variant %s\n%s", variants[v].name, sqlText)
		require.Equal(t, expected, got, "variant %s; see %s/README.md\n%s", variants[v].name, dir, sqlText)
	}
}

// readExpected reads expected.txt: keys, one per line, sorted.
func readExpected(t *testing.T, dir string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "expected.txt"))
	require.NoError(t, err)
	out := []string{}
	for line := range strings.Lines(string(b)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, line)
	}
	slices.Sort(out)
	return out
}
