package storage_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/randgen"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// recordEnds returns the offsets just after each record of a CSV file,
// the header first.
func recordEnds(t require.TestingT, data []byte) []int64 {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	var ends []int64
	for {
		_, err := cr.Read()
		if err == io.EOF {
			return ends
		}
		require.NoError(t, err)
		ends = append(ends, cr.InputOffset())
	}
}

// TestReloadMembers: a random data directory (internal/randgen) whose CSV
// files are written in three parts, the first loaded and the others
// appended in turn (storage.Reload), gives the members a load of the
// whole files gives, for random definitions at random as-of instants.
func TestReloadMembers(t *testing.T) {
	ctx := context.Background()
	root := t.TempDir()
	compared := 0
	rapid.Check(t, func(rt *rapid.T) {
		seed := rapid.Uint64().Draw(rt, "seed")
		r := rand.New(rand.NewPCG(seed, 13))
		fullDir, err := os.MkdirTemp(root, "full")
		require.NoError(rt, err)
		info, err := randgen.Dir(r, fullDir)
		require.NoError(rt, err)
		full, err := storage.Load(ctx, fullDir, storage.Options{})
		require.NoError(rt, err)
		defer full.Release()

		dir, err := os.MkdirTemp(root, "grown")
		require.NoError(rt, err)
		js, err := os.ReadFile(filepath.Join(fullDir, "schema.json"))
		require.NoError(rt, err)
		require.NoError(rt, os.WriteFile(filepath.Join(dir, "schema.json"), js, 0o644))
		// Each file cut at two record ends drawn at random.
		var parts [3]map[string][]byte
		for i := range parts {
			parts[i] = map[string][]byte{}
		}
		for _, e := range full.Schema().Entities {
			data, err := os.ReadFile(filepath.Join(fullDir, e.File))
			require.NoError(rt, err)
			ends := recordEnds(rt, data)
			a := rapid.IntRange(0, len(ends)-1).Draw(rt, e.Name+"Cut1")
			b := rapid.IntRange(a, len(ends)-1).Draw(rt, e.Name+"Cut2")
			parts[0][e.File], parts[1][e.File], parts[2][e.File] = data[:ends[a]], data[ends[a]:ends[b]], data[ends[b]:]
		}
		for file, data := range parts[0] {
			require.NoError(rt, os.WriteFile(filepath.Join(dir, file), data, 0o644))
		}
		cur, err := storage.Load(ctx, dir, storage.Options{})
		require.NoError(rt, err)
		for _, part := range parts[1:] {
			for file, data := range part {
				f, err := os.OpenFile(filepath.Join(dir, file), os.O_APPEND|os.O_WRONLY, 0)
				require.NoError(rt, err)
				_, err = f.Write(data)
				require.NoError(rt, err)
				require.NoError(rt, f.Close())
			}
			next, err := storage.Reload(ctx, dir, cur, storage.Options{NoSnapshotCache: true})
			cur.Release()
			require.NoError(rt, err)
			require.Equal(rt, storage.AppendedRows, next.LoadInfo().Method, next.LoadInfo().String())
			cur = next
		}
		defer cur.Release()
		require.Equal(rt, full.NumCustomers(), cur.NumCustomers())

		for k := range 20 {
			defJSON := randgen.Definition(r, info)
			asOf := randgen.AsOf(r, info)
			def, err := segment.Parse(defJSON)
			require.NoError(rt, err)
			eval := func(s *storage.Snapshot) (string, error) {
				p, err := engine.Compile(def, s, engine.Options{})
				if err != nil {
					return "", err
				}
				bm, err := p.Eval(ctx, asOf)
				if err != nil {
					return "", err
				}
				keys := make([]string, 0, bm.GetCardinality())
				for it := bm.Iterator(); it.HasNext(); {
					keys = append(keys, s.CustomerKey(it.Next()))
				}
				return strings.Join(keys, " "), nil
			}
			want, wantErr := eval(full)
			got, gotErr := eval(cur)
			if wantErr != nil {
				require.Error(rt, gotErr, "definition %d: %s", k, defJSON)
				continue
			}
			require.NoError(rt, gotErr, "definition %d: %s", k, defJSON)
			require.Equal(rt, want, got, "definition %d: %s", k, defJSON)
			compared++
		}
	})
	t.Logf("%d definitions compared", compared)
	require.Positive(t, compared)
}
