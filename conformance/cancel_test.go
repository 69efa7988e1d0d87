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

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// cancelBound is how soon after its context is cancelled a call must
// return: 100 ms, ten times that under the race detector, which slows
// everything about tenfold.
var cancelBound = 100 * time.Millisecond * time.Duration(raceFactor)

// requireCancels runs call three times, with its context cancelled
// after delay, 2*delay and 3*delay. The first must still be working when
// cancelled (one that finished first fails the test, as it would check
// nothing) and must return an error wrapping context.Canceled. The later
// ones may finish first (they are then not counted) or, cancelled in a
// last step that no longer looks at the context, succeed; any other
// error fails. The median time to return after cancellation must be
// within bound, and every one within ten times that (a machine shared
// with other tests stalls a goroutine now and then).
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
			if k == 1 {
				t.Fatalf("the call finished before it was cancelled, after less than %v (err: %v)", delay, err)
			}
			require.NoError(t, err)
			continue
		case <-time.After(time.Duration(k) * delay):
		}
		cancel()
		cancelled := time.Now()
		select {
		case err := <-done:
			took = append(took, time.Since(cancelled))
			if k == 1 || err != nil {
				require.ErrorIs(t, err, context.Canceled)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("the call did not return within 30 s of its context's cancellation")
		}
	}
	slices.Sort(took)
	t.Logf("returned %v after cancellation", took)
	require.LessOrEqual(t, took[(len(took)-1)/2], bound, "the median time to return after cancellation")
	require.LessOrEqual(t, took[len(took)-1], 10*bound, "the longest time to return after cancellation")
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
		requireCancels(t, 100*time.Millisecond, cancelBound, func(ctx context.Context) error {
			s, err := storage.Load(ctx, pqDir, storage.Options{})
			if err == nil {
				s.Release()
			}
			return err
		})
	})
	t.Run("storage.Save", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "snapshot")
		requireCancelsMeasured(t, cancelBound, func(ctx context.Context) error {
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
		requireCancelsMeasured(t, cancelBound, func(ctx context.Context) error {
			_, err := export.Run(ctx, export.NewCSVTo(slowWriter{}, "members.csv"), p, export.FullSet(members), export.RunOptions{})
			return err
		})
	})
	t.Run("storage.Snapshot.Append", func(t *testing.T) {
		rec := newOrders(snap, 1_000_000)
		defer rec.Release()
		requireCancelsMeasured(t, cancelBound, func(ctx context.Context) error {
			next, err := snap.Append(ctx, map[string]arrow.RecordBatch{"Order": rec}, storage.Options{})
			if err == nil {
				next.Release()
			}
			return err
		})
	})
	// The demo's snapshot with 3M more orders: large enough that a
	// verification or a measure over orders takes tens of milliseconds.
	rec := newOrders(snap, 3_000_000)
	big, err := snap.Append(context.Background(), map[string]arrow.RecordBatch{"Order": rec}, storage.Options{})
	rec.Release()
	require.NoError(t, err)
	defer big.Release()
	t.Run("storage.Open and Snapshot.Verify", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "snapshot")
		require.NoError(t, storage.Save(context.Background(), big, path))
		requireCancelsMeasured(t, cancelBound, func(ctx context.Context) error {
			s, err := storage.Open(ctx, path, storage.Options{})
			if err != nil {
				return err
			}
			defer s.Release()
			return s.Verify(ctx)
		})
	})
	t.Run("engine.EvalMeasure", func(t *testing.T) {
		m, err := segment.ParseMeasure([]byte(`{"name": "Heavy", "related": "Order", "aggregate": {"function": "countDistinct", "attribute": "Order.OrderId"}}`))
		require.NoError(t, err)
		requireCancelsMeasured(t, cancelBound, func(ctx context.Context) error {
			_, err := engine.EvalMeasure(ctx, big, m, asOf)
			return err
		})
	})
	t.Run("analysis.Differentiators", func(t *testing.T) {
		// Half the customers against all of them, measures included; a
		// new snapshot's first call also orders its numeric columns.
		half := roaring.New()
		half.AddRange(0, uint64(big.NumCustomers()/2))
		requireCancelsMeasured(t, cancelBound, func(ctx context.Context) error {
			_, err := analysis.Differentiators(ctx, big, analysis.Set{Name: "Half", Members: half}, analysis.DifferentiatorsOptions{AsOf: asOf})
			return err
		})
	})
	t.Run("quick.View.Insights", func(t *testing.T) {
		requireCancelsMeasured(t, cancelBound, func(ctx context.Context) error {
			// A new Stats each time: the first call on a field scans it.
			_, err := quick.New(big, quick.Options{}).At(asOf).Insights(ctx, "Measures.LastChannel")
			return err
		})
	})
	t.Run("export.Diff", func(t *testing.T) {
		p, err := export.NewPlan(context.Background(), snap, export.Fields{}, asOf, roaring.New())
		require.NoError(t, err)
		members := roaring.New()
		members.AddRange(0, uint64(snap.NumCustomers()/2))
		// A destination sent every customer, and millions more no longer
		// in the data.
		sent := keysSent{snap: snap, extra: 5_000_000}
		requireCancelsMeasured(t, cancelBound, func(ctx context.Context) error {
			_, err := export.Diff(ctx, p, sent, members, true)
			return err
		})
	})
	t.Run("catalog.Catalog.DownloadWith", func(t *testing.T) {
		cat, err := catalog.Open(filepath.Join(t.TempDir(), "catalog.db"), catalog.Options{Source: catalog.SnapshotSource{Snap: snap}})
		require.NoError(t, err)
		defer cat.Close()
		_, err = cat.Create(context.Background(), []byte(`{"name": "Everyone", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "isNotNull"}}, {"setOperator": "union", "condition": {"attribute": "Customer.Age", "operator": "isNull"}}]}`), catalog.CreateOptions{Active: true})
		require.NoError(t, err)
		requireCancelsMeasured(t, cancelBound, func(ctx context.Context) error {
			return cat.DownloadWith(ctx, "Everyone", slowWriter{}, nil, catalog.PreviewOptions{AsOf: asOf})
		})
	})
}

// requireCancelsMeasured runs call twice to completion, then checks with
// requireCancels that it returns within bound of a cancellation at a
// sixth, a third and a half of the shorter time. The call must take at least
// 10 ms (ten times that under the race detector), or its input is too
// small to show anything.
func requireCancelsMeasured(t *testing.T, bound time.Duration, call func(ctx context.Context) error) {
	t.Helper()
	var took time.Duration
	for i := range 2 { // the first run may be slower: caches are cold
		start := time.Now()
		require.NoError(t, call(context.Background()))
		if d := time.Since(start); i == 0 || d < took {
			took = d
		}
	}
	t.Logf("uncancelled: %v", took)
	require.GreaterOrEqual(t, took, 10*time.Millisecond*time.Duration(raceFactor), "the input must be large enough to cancel in the middle")
	requireCancels(t, took/6, bound, call)
}

// newOrders returns n orders of snap's customers, in turn, with keys no
// order of the demo has.
func newOrders(snap *storage.Snapshot, n int) arrow.RecordBatch {
	mem := memory.DefaultAllocator
	ids, custs, chans := array.NewStringBuilder(mem), array.NewStringBuilder(mem), array.NewStringBuilder(mem)
	amounts, dates := array.NewFloat64Builder(mem), array.NewDate32Builder(mem)
	day := arrow.Date32FromTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	for i := range n {
		ids.Append("appended-" + strconv.Itoa(i))
		custs.Append(snap.CustomerKey(uint32(i % snap.NumCustomers())))
		amounts.Append(float64(i % 1000))
		dates.Append(day + arrow.Date32(i%365))
		chans.Append([]string{"web", "store", "phone"}[i%3])
	}
	cols := []arrow.Array{ids.NewArray(), custs.NewArray(), amounts.NewArray(), dates.NewArray(), chans.NewArray()}
	names := []string{"OrderId", "CustomerId", "Amount", "OrderDate", "Channel"}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: names[i], Type: c.DataType(), Nullable: true}
		defer c.Release()
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(n))
}

// keysSent is a destination's record of every customer of snap and extra
// keys of customers no longer in the data, produced as ranged over.
type keysSent struct {
	snap  *storage.Snapshot
	extra int
}

func (k keysSent) Range(fn func(key string, hash uint64) error) error {
	for id := range k.snap.NumCustomers() {
		if err := fn(k.snap.CustomerKey(uint32(id)), 1); err != nil {
			return err
		}
	}
	for i := range k.extra {
		if err := fn("gone-"+strconv.Itoa(i), 1); err != nil {
			return err
		}
	}
	return nil
}

// slowWriter takes a millisecond per write and discards it, as a slow
// network destination would.
type slowWriter struct{}

func (slowWriter) Write(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return len(p), nil
}

var _ io.Writer = slowWriter{}
