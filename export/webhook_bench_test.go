package export_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/storage"
)

const webhookBenchSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.csv", "attributes": [
      {"name": "CustomerId", "type": "string"},
      {"name": "Email", "type": "string"},
      {"name": "Age", "type": "integer"},
      {"name": "Score", "type": "number"}]}
  ]
}`

// webhookBenchSnapshot loads a data directory of n customers with a few
// columns; the benchmark releases it at cleanup.
func webhookBenchSnapshot(b *testing.B, n int) *storage.Snapshot {
	b.Helper()
	dir := b.TempDir()
	require.NoError(b, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(webhookBenchSchema), 0o644))
	f, err := os.Create(filepath.Join(dir, "Customer.csv"))
	require.NoError(b, err)
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("CustomerId,Email,Age,Score\n")
	var line []byte
	for i := range n {
		line = append(line[:0], 'C')
		line = strconv.AppendInt(line, int64(i), 10)
		line = append(line, ",user"...)
		line = strconv.AppendInt(line, int64(i), 10)
		line = append(line, "@example.com,"...)
		line = strconv.AppendInt(line, int64(18+i%60), 10)
		line = append(line, ',')
		line = strconv.AppendFloat(line, float64(i%1000)/8, 'g', -1, 64)
		line = append(line, '\n')
		w.Write(line)
	}
	require.NoError(b, w.Flush())
	require.NoError(b, f.Close())
	snap, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(b, err)
	b.Cleanup(snap.Release)
	return snap
}

// webhookPeakHeap runs fn while sampling the heap about every
// millisecond, and returns the largest samples, in bytes, of the heap's
// objects (garbage not yet collected included: it follows the GC's pace)
// and of the live heap the last GC marked.
func webhookPeakHeap(fn func()) (objects, live uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}, {Name: "/gc/heap/live:bytes"}}
	read := func() {
		metrics.Read(sample)
		objects = max(objects, sample[0].Value.Uint64())
		live = max(live, sample[1].Value.Uint64())
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	fn()
	close(done)
	wg.Wait()
	read()
	return objects, live
}

// BenchmarkWebhookExport1M exports 1M members in batches of 10000 to a
// server that discards the bodies, and reports the rows per second and
// the peak heap (the snapshot's included, which base-heap-MiB shows;
// peak-live-MiB is the most the GC found live).
func BenchmarkWebhookExport1M(b *testing.B) {
	const n = 1_000_000
	snap := webhookBenchSnapshot(b, n)
	members := roaring.New()
	members.AddRange(0, n)
	ctx := context.Background()
	p, err := export.NewPlan(ctx, snap, export.Fields{Names: []string{"Email", "Age", "Score"}}, time.Now(), members)
	require.NoError(b, err)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	dest, err := export.NewWebhook(srv.URL, export.WebhookOptions{})
	require.NoError(b, err)

	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	b.ReportAllocs()
	var peak, live uint64
	var sent int64
	for b.Loop() {
		o, l := webhookPeakHeap(func() {
			st, err := export.Run(ctx, dest, p, export.FullSet(members), export.RunOptions{BatchSize: 10_000})
			require.NoError(b, err)
			require.EqualValues(b, n, st.Rows)
			sent += st.Bytes
		})
		peak, live = max(peak, o), max(live, l)
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	b.ReportMetric(float64(live)/(1<<20), "peak-live-MiB")
	b.ReportMetric(float64(base)/(1<<20), "base-heap-MiB")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.SetBytes(sent / int64(b.N))
}
