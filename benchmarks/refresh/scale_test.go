package refresh_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/storage"
)

// TestReloadScaleS: the benchmark's CSV directory (scale S, or the one
// SEGMENTKIT_REFRESH_DATA names) written with up to 3% of every file's
// rows held back, loaded, then the rest appended in two random steps,
// each reloaded with storage.Reload: every suite segment has the members
// of a full load. The cuts are drawn from a seed that failures name.
func TestReloadScaleS(t *testing.T) {
	if testing.Short() {
		t.Skip("scale S")
	}
	ctx := context.Background()
	f := setup(t)
	full, err := storage.Load(ctx, f.dir, storage.Options{})
	require.NoError(t, err)
	defer full.Release()
	cases, err := suite.Cases(gen.AsOf)
	require.NoError(t, err)
	files := map[string][]byte{}
	for _, e := range full.Schema().Entities {
		files[e.File], err = os.ReadFile(filepath.Join(f.dir, e.File))
		require.NoError(t, err)
	}
	seed := uint64(time.Now().UnixNano())
	for run := range 3 {
		r := rand.New(rand.NewPCG(seed, uint64(run)))
		dir := t.TempDir()
		js, err := os.ReadFile(filepath.Join(f.dir, "schema.json"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "schema.json"), js, 0o644))
		// Two cuts per file, at line ends (the files hold no quoted line
		// breaks) in its last 3%.
		cut := func(data []byte, from int) int {
			at := from + r.IntN(len(data)-from+1)
			if i := bytes.IndexByte(data[at:], '\n'); i >= 0 {
				return at + i + 1
			}
			return len(data)
		}
		cuts := map[string][2]int{}
		for name, data := range files {
			a := cut(data, len(data)-len(data)*3/100)
			cuts[name] = [2]int{a, cut(data, a)}
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), data[:a], 0o644))
		}
		cur, err := storage.Load(ctx, dir, storage.Options{})
		require.NoError(t, err)
		for step := range 2 {
			for name, data := range files {
				c := cuts[name]
				end := c[1]
				if step == 1 {
					end = len(data)
				}
				fh, err := os.OpenFile(filepath.Join(dir, name), os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(t, err)
				_, err = fh.Write(data[c[step]:end])
				require.NoError(t, err)
				require.NoError(t, fh.Close())
			}
			next, err := storage.Reload(ctx, dir, cur, storage.Options{NoSnapshotCache: true})
			cur.Release()
			require.NoError(t, err)
			cur = next
			require.Equal(t, storage.AppendedRows, cur.LoadInfo().Method, "seed %d run %d: %s", seed, run, cur.LoadInfo())
		}
		t.Logf("seed %d run %d: %s", seed, run, cur.LoadInfo())
		for _, c := range cases {
			if c.Kind != suite.Members {
				continue
			}
			want := members(t, full, c)
			require.Equal(t, want, members(t, cur, c), "seed %d run %d: %s", seed, run, c.Name)
		}
		cur.Release()
	}
}

// members evaluates a suite case on snap and returns its members' keys.
func members(t *testing.T, snap *storage.Snapshot, c suite.Case) string {
	p, err := engine.Compile(c.Def, snap, engine.Options{})
	require.NoError(t, err, c.Name)
	bm, err := p.Eval(context.Background(), gen.AsOf)
	require.NoError(t, err, c.Name)
	var b strings.Builder
	for it := bm.Iterator(); it.HasNext(); {
		b.WriteString(snap.CustomerKey(it.Next()))
		b.WriteByte(' ')
	}
	return b.String()
}
