package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/storage"
)

// TestCancelAnyMoment cancels loads of a demo directory (five entities,
// paths of two hops) at moments spread over a whole load, in CSV and in
// Parquet: each gives its snapshot or context.Canceled, never a panic,
// and frees all it allocated. A customer entity whose load failed after
// its keys were ready once freed the key column its dependents were
// still resolving their foreign keys with.
func TestCancelAnyMoment(t *testing.T) {
	for _, format := range []demo.Format{"csv", "parquet"} {
		t.Run(string(format), func(t *testing.T) {
			dir := t.TempDir()
			_, err := demo.Write(context.Background(), dir, demo.Options{Customers: 4000, Seed: 5, Format: format})
			require.NoError(t, err)
			start := time.Now()
			snap, err := storage.Load(context.Background(), dir, storage.Options{})
			require.NoError(t, err)
			full := time.Since(start)
			snap.Release()
			steps := 60
			if raceEnabled {
				steps = 15
			}
			cancelled := 0
			for i := range steps {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				ctx, cancel := context.WithCancel(context.Background())
				timer := time.AfterFunc(full*time.Duration(i)/time.Duration(steps), cancel)
				snap, err := storage.Load(ctx, dir, storage.Options{Allocator: mem})
				timer.Stop()
				cancel()
				if err != nil {
					require.ErrorIs(t, err, context.Canceled, "step %d", i)
					cancelled++
				} else {
					snap.Release()
				}
				mem.AssertSize(t, 0)
			}
			require.Positive(t, cancelled, "no load was cancelled")
		})
	}
}
