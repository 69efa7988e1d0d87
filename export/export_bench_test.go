package export_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/storage"
)

// benchPlan returns a plan of every customer of snap with fileFields, and
// the members.
func benchPlan(tb testing.TB, snap *storage.Snapshot) (*export.Plan, *roaring.Bitmap) {
	tb.Helper()
	members := roaring.New()
	members.AddRange(0, uint64(snap.NumCustomers()))
	p, err := export.NewPlan(context.Background(), snap, fileFields, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), members)
	require.NoError(tb, err)
	return p, members
}

// BenchmarkExport1M exports a million members with every field to each
// file format, reporting rows/s and the peak heap above the snapshot (one
// export measured by peakHeap before the timed ones).
func BenchmarkExport1M(b *testing.B) {
	const n = 1_000_000
	snap := benchSnapshot(b, n)
	p, members := benchPlan(b, snap)
	for _, f := range []struct {
		name string
		dest func(string) export.Destination
	}{{"csv", export.NewCSV}, {"parquet", export.NewParquet}} {
		b.Run(f.name, func(b *testing.B) {
			dest := f.dest(filepath.Join(b.TempDir(), "members."+f.name))
			run := func() {
				if _, err := export.Run(context.Background(), dest, p, export.FullSet(members), export.RunOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			peak := peakHeap(run)
			b.ReportAllocs()
			for b.Loop() {
				run()
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

// TestExportStreamsInBoundedHeap: exports of 200,000 members to CSV and
// Parquet hold less than 64 MiB of heap above the snapshot and the plan.
func TestExportStreamsInBoundedHeap(t *testing.T) {
	snap := benchSnapshot(t, 200_000)
	p, members := benchPlan(t, snap)
	for _, f := range []struct {
		name string
		dest func(string) export.Destination
	}{{"csv", export.NewCSV}, {"parquet", export.NewParquet}} {
		path := filepath.Join(t.TempDir(), "members."+f.name)
		var st export.Stats
		peak := peakHeap(func() {
			var err error
			st, err = export.Run(context.Background(), f.dest(path), p, export.FullSet(members), export.RunOptions{})
			require.NoError(t, err)
		})
		require.EqualValues(t, members.GetCardinality(), st.Rows)
		info, err := os.Stat(path)
		require.NoError(t, err)
		t.Logf("%s: %d rows, %d bytes, peak heap %.1f MiB above the snapshot", f.name, st.Rows, info.Size(), float64(peak)/(1<<20))
		require.Less(t, peak, uint64(64<<20), "%s export's peak heap", f.name)
	}
}
