package conformance

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/randgen"
	"github.com/segmentkit/segmentkit/internal/refeval"
	"github.com/segmentkit/segmentkit/segment"
)

// FuzzDefinition checks the promise validation makes: a definition that
// parses and validates against a data directory's schema evaluates, on
// the engine, without an error, to the members the reference evaluator
// gives, at any as-of instant. The data directory is one random
// directory (internal/randgen, a fixed seed); the seeds are random valid
// definitions over it, which the fuzzer mutates.
//
//	go test ./conformance/ -run '^$' -fuzz FuzzDefinition -fuzztime 10m
func FuzzDefinition(f *testing.F) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, seedStream))
	dir := f.TempDir()
	info, err := randgen.Dir(r, dir)
	require.NoError(f, err)
	ref, err := refeval.Load(dir)
	require.NoError(f, err)
	snap, err := loadSnapshot(ctx, dir)
	require.NoError(f, err)
	f.Cleanup(snap.Release)
	segments := map[string][]uint32{"Earlier": {0, 2, 3}, "Frozen": {}}
	info.Segments = append(info.Segments, "Earlier", "Frozen")
	base := randgen.AsOf(r, info)
	for range 40 {
		f.Add(randgen.Definition(r, info), int64(randgen.AsOf(r, info).Sub(base)/time.Second))
	}
	sch := snap.Schema()
	known := func(name string) bool { _, ok := segments[name]; return ok }
	f.Fuzz(func(t *testing.T, def []byte, offset int64) {
		d, err := segment.Parse(def)
		if err != nil {
			return
		}
		if err := d.ValidateWith(sch, segment.ValidateOptions{Segments: known}); err != nil {
			return
		}
		// Any instant within 100 years of the data's.
		asOf := base.Add(time.Duration(offset%(100*366*86400)) * time.Second)
		want, err := ref.Eval(def, asOf, segments)
		require.NoError(t, err, "the reference does not evaluate a valid definition: %s", def)
		got, err := engineEval(ctx, snap, def, asOf, segments)
		require.NoError(t, err, "a definition that validates must evaluate: %s at %s", def, asOf.Format(time.RFC3339))
		require.True(t, slices.Equal(got, want), "%s at %s\nengine:    %v\nreference: %v", def, asOf.Format(time.RFC3339), got, want)
	})
}
