package conformance

import (
	"context"
	"io"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// cancelBound is how soon after its context is cancelled a call must
// return: 100 ms, ten times that under the race detector, which slows
// everything about tenfold.
var cancelBound = 100 * time.Millisecond * time.Duration(raceFactor)

// requireCancels runs call three times, with its context cancelled
// after delay, 2*delay and 3*delay, and checks that each returns an error
// wrapping context.Canceled: the median within bound of the
// cancellation (bound), and every one within ten times that (a machine shared
// with other tests stalls a goroutine now and then). The call must still
// be working when the context is cancelled: one that finished first
// fails the test, as it would check nothing.
func requireCancels(t *testing.T, delay, bound time.Duration, call func(ctx context.Context) error) {
	t.Helper()
	var took []time.Duration
	for k := 1; k <= 3; k++ {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- call(ctx) }()
		select {
		case err := <-done:
			cancel()
			t.Fatalf("the call finished before it was cancelled, after less than %v (err: %v)", time.Duration(k)*delay, err)
		case <-time.After(time.Duration(k) * delay):
		}
		cancel()
		cancelled := time.Now()
		select {
		case err := <-done:
			took = append(took, time.Since(cancelled))
			require.ErrorIs(t, err, context.Canceled)
		case <-time.After(30 * time.Second):
			t.Fatal("the call did not return within 30 s of its context's cancellation")
		}
	}
	slices.Sort(took)
	t.Logf("returned %v after cancellation", took)
	require.LessOrEqual(t, took[1], bound, "the median time to return after cancellation")
	require.LessOrEqual(t, took[2], 10*bound, "the longest time to return after cancellation")
}

// TestCancelWithin checks every entry point of the library that does
// work proportional to its input: cancelled in the middle of a large
// input, each returns context.Canceled within 100 ms.
func TestCancelWithin(t *testing.T) {
	if testing.Short() {
		t.Skip("writes and loads 50,000 customers (500,000 orders)")
	}
	root := t.TempDir()
	csvDir, pqDir := filepath.Join(root, "csv"), filepath.Join(root, "parquet")
	sum, err := demo.Write(context.Background(), csvDir, demo.Options{Customers: 50_000, Seed: 3})
	require.NoError(t, err)
	_, err = demo.Write(context.Background(), pqDir, demo.Options{Customers: 20_000, Seed: 3, Format: "parquet"})
	require.NoError(t, err)
	asOf := sum.AsOf
	snap, err := storage.Load(context.Background(), csvDir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()
	t.Run("storage.Load CSV", func(t *testing.T) {
		requireCancels(t, 150*time.Millisecond, cancelBound, func(ctx context.Context) error {
			s, err := storage.Load(ctx, csvDir, storage.Options{})
			if err == nil {
				s.Release()
			}
			return err
		})
	})
	t.Run("storage.Load Parquet", func(t *testing.T) {
		// A Parquet row group's dictionary codes are placed as one task,
		// which does not look at the context: a cancelled load waits for
		// the row groups being placed (up to a few hundred milliseconds on
		// a busy machine), hence the longer bound.
		requireCancels(t, 100*time.Millisecond, 3*cancelBound, func(ctx context.Context) error {
			s, err := storage.Load(ctx, pqDir, storage.Options{})
			if err == nil {
				s.Release()
			}
			return err
		})
	})
	t.Run("storage.Save", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "snapshot")
		requireCancels(t, 20*time.Millisecond, cancelBound, func(ctx context.Context) error {
			return storage.Save(ctx, snap, path)
		})
	})
	// Every order's lines, related twice over, in a disjunction the engine
	// cannot narrow: seconds of work at this size.
	var ors []string
	for i := range 400 {
		ors = append(ors, `{"related": "Order", "where": {"attribute": "Order.Amount", "operator": "greaterThan", "value": `+strconv.Itoa(i)+`}, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": `+strconv.Itoa(1000+i)+`}`)
	}
	heavy := []byte(`{"name": "Heavy", "groups": [{"condition": {"or": [` + strings.Join(ors, ",") + `]}}]}`)
	t.Run("engine.Plan.Eval", func(t *testing.T) {
		def, err := segment.Parse(heavy)
		require.NoError(t, err)
		plan, err := engine.Compile(def, snap, engine.Options{})
		require.NoError(t, err)
		requireCancels(t, 15*time.Millisecond, cancelBound, func(ctx context.Context) error {
			_, err := plan.Eval(ctx, asOf)
			return err
		})
	})
	t.Run("catalog.Catalog.RefreshAll", func(t *testing.T) {
		cat, err := catalog.Open(filepath.Join(t.TempDir(), "catalog.db"), catalog.Options{Source: catalog.SnapshotSource{Snap: snap}})
		require.NoError(t, err)
		defer cat.Close()
		// Saved active; its first refresh, cancelled at once, is not the
		// one measured.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err = cat.Create(ctx, heavy, catalog.CreateOptions{Active: true})
		require.ErrorIs(t, err, context.Canceled)
		requireCancels(t, 20*time.Millisecond, cancelBound, func(ctx context.Context) error {
			_, err := cat.RefreshAllWith(ctx, catalog.RefreshOptions{AsOf: asOf})
			return err
		})
	})
	t.Run("export.Run", func(t *testing.T) {
		def, err := segment.Parse(demo.ExampleSegment())
		require.NoError(t, err)
		plan, err := engine.Compile(def, snap, engine.Options{})
		require.NoError(t, err)
		members, err := plan.Eval(context.Background(), asOf)
		require.NoError(t, err)
		members.AddRange(0, uint64(snap.NumCustomers()))
		p, err := export.NewPlan(context.Background(), snap, export.Fields{}, asOf, members)
		require.NoError(t, err)
		requireCancels(t, 20*time.Millisecond, cancelBound, func(ctx context.Context) error {
			_, err := export.Run(ctx, export.NewCSVTo(slowWriter{}, "members.csv"), p, export.FullSet(members), export.RunOptions{})
			return err
		})
	})
}

// slowWriter takes a millisecond per write and discards it, as a slow
// network destination would.
type slowWriter struct{}

func (slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return len(p), nil
}

var _ io.Writer = slowWriter{}
