package engine_test

import (
	"context"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

func TestCacheReusesAndStaysCorrect(t *testing.T) {
	snap := load(t)
	cache := engine.NewCache(snap, 0)
	compile := func(js string, opts engine.Options) *engine.Plan {
		def, err := segment.Parse([]byte(js))
		require.NoError(t, err)
		plan, err := engine.Compile(def, snap, opts)
		require.NoError(t, err)
		return plan
	}
	relative := `{"name": "R", "groups": [{"condition": ` + pred("D", "inLastDays", "1") + `}]}`
	plain := engine.Options{}
	withCache := engine.Options{Cache: cache}

	// The same plan twice: the second evaluation is served from the cache.
	p := compile(relative, withCache)
	first, err := p.Eval(context.Background(), asOf)
	require.NoError(t, err)
	st := cache.Stats()
	again, err := p.Eval(context.Background(), asOf)
	require.NoError(t, err)
	require.True(t, first.Equals(again))
	require.Greater(t, cache.Stats().Hits, st.Hits)

	// A relative condition at another as-of instant is not served from the
	// first instant's result.
	later := asOf.Add(24 * time.Hour * 90)
	got, err := p.Eval(context.Background(), later)
	require.NoError(t, err)
	want, err := compile(relative, plain).Eval(context.Background(), later)
	require.NoError(t, err)
	require.True(t, want.Equals(got), "cached %v, uncached %v", got.ToArray(), want.ToArray())
	require.False(t, first.Equals(got))

	// A definition sharing a condition reuses it.
	shared := `{"name": "S", "groups": [{"condition": ` + pred("D", "inLastDays", "1") + `}, {"setOperator": "union", "condition": ` + pred("B", "isTrue", "") + `}]}`
	st = cache.Stats()
	res, err := compile(shared, withCache).Eval(context.Background(), asOf)
	require.NoError(t, err)
	require.Greater(t, cache.Stats().Hits, st.Hits)
	uncached, err := compile(shared, plain).Eval(context.Background(), asOf)
	require.NoError(t, err)
	require.True(t, uncached.Equals(res))

	// Segment references are inputs, never cached: new members, new result.
	ref := `{"name": "F", "groups": [{"condition": {"segment": "Other"}}]}`
	a, err := compile(ref, engine.Options{Cache: cache, Segments: map[string]*roaring.Bitmap{"Other": roaring.BitmapOf(1)}}).Eval(context.Background(), asOf)
	require.NoError(t, err)
	b, err := compile(ref, engine.Options{Cache: cache, Segments: map[string]*roaring.Bitmap{"Other": roaring.BitmapOf(2)}}).Eval(context.Background(), asOf)
	require.NoError(t, err)
	require.Equal(t, []uint32{1}, a.ToArray())
	require.Equal(t, []uint32{2}, b.ToArray())

	cache.Clear()
	require.Zero(t, cache.Stats().Entries)
}

// TestCacheKeepsConjunctionsWhole checks that a conjunction whose later
// conditions ran restricted to its candidates is still cached whole, as is
// a group evaluated for the customers of the groups before it: evaluated
// again, the definition is served from the cache without a miss.
func TestCacheKeepsConjunctionsWhole(t *testing.T) {
	snap := load(t)
	js := `{"name": "P", "groups": [
		{"condition": {"and": [` + pred("I", "greaterThan", "0") + `, ` +
		rel(`{"attribute": "Order.Day", "operator": "inLastDays", "value": 90}`, `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 10`) + `]}},
		{"setOperator": "except", "condition": ` + pred("I", "equals", "3") + `}]}`
	def, err := segment.Parse([]byte(js))
	require.NoError(t, err)
	want, err := mustCompile(t, def, snap, engine.Options{CandidateShare: -1}).Eval(context.Background(), asOf)
	require.NoError(t, err)
	cache := engine.NewCache(snap, 0)
	plan := mustCompile(t, def, snap, engine.Options{Cache: cache, CandidateShare: 1})
	for i := range 2 {
		before := cache.Stats()
		got, err := plan.Eval(context.Background(), asOf)
		require.NoError(t, err)
		require.True(t, want.Equals(got), "run %d: %v, want %v", i, got.ToArray(), want.ToArray())
		if i == 1 {
			require.Equal(t, before.Misses, cache.Stats().Misses, "the second evaluation missed the cache")
		}
	}
}

func mustCompile(t *testing.T, def *segment.Definition, snap *storage.Snapshot, opts engine.Options) *engine.Plan {
	t.Helper()
	plan, err := engine.Compile(def, snap, opts)
	require.NoError(t, err)
	return plan
}

// TestEvalCancelledCached checks that a cancelled evaluation fails even
// when every condition is served from the cache.
func TestEvalCancelledCached(t *testing.T) {
	snap := load(t)
	def, err := segment.Parse([]byte(`{"name": "X", "groups": [{"condition": ` + pred("I", "isNull", "") + `}]}`))
	require.NoError(t, err)
	plan, err := engine.Compile(def, snap, engine.Options{Cache: engine.NewCache(snap, 0)})
	require.NoError(t, err)
	_, err = plan.Eval(context.Background(), asOf)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = plan.Eval(ctx, asOf)
	require.ErrorIs(t, err, context.Canceled)
}
