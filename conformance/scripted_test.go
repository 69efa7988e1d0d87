package conformance

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

	"github.com/segmentkit/segmentkit/internal/refeval"
)

var flagCase = flag.String("conformance.case", "", "run this case directory instead of testdata/*")

// scriptedCase is one directory of testdata: a data directory plus
// definition.json, asof.txt and expected.txt.
type scriptedCase struct {
	dir        string
	definition []byte
	asOf       time.Time
	// expected holds the member customers' keys, sorted.
	expected []string
}

func readCase(t *testing.T, dir string) scriptedCase {
	t.Helper()
	c := scriptedCase{dir: dir}
	var err error
	c.definition, err = os.ReadFile(filepath.Join(dir, "definition.json"))
	require.NoError(t, err)
	asOf, err := os.ReadFile(filepath.Join(dir, "asof.txt"))
	require.NoError(t, err)
	c.asOf, err = time.Parse(time.RFC3339Nano, strings.TrimSpace(string(asOf)))
	require.NoError(t, err)
	expected, err := os.ReadFile(filepath.Join(dir, "expected.txt"))
	require.NoError(t, err)
	c.expected = []string{}
	for line := range strings.Lines(string(expected)) {
		line = strings.TrimRight(line, "\r\n")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		c.expected = append(c.expected, line)
	}
	slices.Sort(c.expected)
	return c
}

// keysOf maps customer row ids to their keys, sorted.
func keysOf(ids []uint32, keys []string) []string {
	out := []string{}
	for _, id := range ids {
		out = append(out, keys[id])
	}
	slices.Sort(out)
	return out
}

// TestScripted runs every case under testdata/ through the reference
// evaluator and the engine; both must give exactly the expected members.
func TestScripted(t *testing.T) {
	pattern := filepath.Join("testdata", "*", "definition.json")
	if *flagCase != "" {
		pattern = filepath.Join(*flagCase, "definition.json")
	}
	dirs, err := filepath.Glob(pattern)
	require.NoError(t, err)
	require.NotEmpty(t, dirs)
	for _, def := range dirs {
		dir := filepath.Dir(def)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			c := readCase(t, dir)
			ref, err := refeval.Load(dir)
			require.NoError(t, err)
			keys := ref.CustomerKeys()
			t.Run("reference", func(t *testing.T) {
				ids, err := ref.Eval(c.definition, c.asOf, nil)
				require.NoError(t, err)
				require.Equal(t, c.expected, keysOf(ids, keys))
			})
			t.Run("engine", func(t *testing.T) {
				ctx := context.Background()
				snap, err := loadSnapshot(ctx, dir)
				require.NoError(t, err)
				defer snap.Release()
				ids, err := engineEval(ctx, snap, c.definition, c.asOf, nil)
				require.NoError(t, err)
				require.Equal(t, c.expected, keysOf(ids, keys), "see %s/README.md", dir)
			})
			t.Run("snapshot-file", func(t *testing.T) {
				ctx := context.Background()
				snap, err := loadSnapshot(ctx, dir)
				require.NoError(t, err)
				defer snap.Release()
				filed, err := reopenSnapshot(ctx, t.TempDir(), snap)
				require.NoError(t, err)
				defer filed.Release()
				ids, err := engineEval(ctx, filed, c.definition, c.asOf, nil)
				require.NoError(t, err)
				require.Equal(t, c.expected, keysOf(ids, keys), "see %s/README.md", dir)
			})
		})
	}
}
