package export_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
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

// streamDests are the destinations the streaming benchmark and test
// export to: CSV and Parquet files, and a webhook whose server discards
// the bodies. BatchSize is each one's batch size.
func streamDests(tb testing.TB) []struct {
	name      string
	dest      func(dir string) export.Destination
	batchSize int
} {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	tb.Cleanup(srv.Close)
	return []struct {
		name      string
		dest      func(dir string) export.Destination
		batchSize int
	}{
		{"csv", func(dir string) export.Destination { return export.NewCSV(filepath.Join(dir, "members.csv")) }, 0},
		{"parquet", func(dir string) export.Destination { return export.NewParquet(filepath.Join(dir, "members.parquet")) }, 0},
		{"webhook", func(string) export.Destination {
			d, err := export.NewWebhook(srv.URL, export.WebhookOptions{})
			require.NoError(tb, err)
			return d
		}, 10_000},
	}
}

// BenchmarkExport1M exports a million members with every field to CSV,
// Parquet and a webhook (batches of 10,000), reporting rows/s and the peak
// heap above the snapshot (one export measured by peakHeap before the
// timed ones).
func BenchmarkExport1M(b *testing.B) {
	const n = 1_000_000
	snap := benchSnapshot(b, n)
	p, members := benchPlan(b, snap)
	for _, f := range streamDests(b) {
		b.Run(f.name, func(b *testing.B) {
			dest := f.dest(b.TempDir())
			run := func() {
				if _, err := export.Run(context.Background(), dest, p, export.FullSet(members), export.RunOptions{BatchSize: f.batchSize}); err != nil {
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

// TestExportStreamsInBoundedHeap: exports of 200,000 members to CSV,
// Parquet and a webhook hold less than 64 MiB of heap above the snapshot
// and the plan.
func TestExportStreamsInBoundedHeap(t *testing.T) {
	snap := benchSnapshot(t, 200_000)
	p, members := benchPlan(t, snap)
	for _, f := range streamDests(t) {
		var st export.Stats
		peak := peakHeap(func() {
			var err error
			st, err = export.Run(context.Background(), f.dest(t.TempDir()), p, export.FullSet(members), export.RunOptions{BatchSize: f.batchSize})
			require.NoError(t, err)
		})
		require.EqualValues(t, members.GetCardinality(), st.Rows)
		t.Logf("%s: %d rows, %d bytes, peak heap %.1f MiB above the snapshot", f.name, st.Rows, st.Bytes, float64(peak)/(1<<20))
		require.Less(t, peak, uint64(64<<20), "%s export's peak heap", f.name)
	}
}
