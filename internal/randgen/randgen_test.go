package randgen_test

import (
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/randgen"
	"github.com/segmentkit/segmentkit/internal/refeval"
)

// TestDeterministic checks that one seed gives the same files and
// definitions every time.
func TestDeterministic(t *testing.T) {
	gen := func(dir string) ([]byte, []byte, string) {
		r := rand.New(rand.NewPCG(7, 7))
		info, err := randgen.Dir(r, dir)
		require.NoError(t, err)
		schema, err := os.ReadFile(filepath.Join(dir, "schema.json"))
		require.NoError(t, err)
		return schema, randgen.Definition(r, info), randgen.AsOf(r, info).String()
	}
	s1, d1, a1 := gen(t.TempDir())
	s2, d2, a2 := gen(t.TempDir())
	require.Equal(t, string(s1), string(s2))
	require.Equal(t, string(d1), string(d2))
	require.Equal(t, a1, a2)
}

// TestGenerated checks that generated directories load and generated
// definitions are well-formed JSON that the reference evaluator accepts.
func TestGenerated(t *testing.T) {
	for seed := range uint64(30) {
		r := rand.New(rand.NewPCG(seed, 1))
		dir := t.TempDir()
		info, err := randgen.Dir(r, dir)
		require.NoError(t, err)
		d, err := refeval.Load(dir)
		require.NoError(t, err, "seed %d", seed)
		for range 50 {
			def := randgen.Definition(r, info)
			require.True(t, json.Valid(def), "%s", def)
			_, err := d.Eval(def, randgen.AsOf(r, info), nil)
			require.NoError(t, err, "seed %d: %s", seed, def)
		}
	}
}
