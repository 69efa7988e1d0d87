package export_test

import (
	"bufio"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/storage"
)

// benchSnapshots caches benchSnapshot's snapshots by size for the life of
// the process: building one of a million customers takes seconds, and
// every sub-benchmark (in this file's package, whatever the destination)
// exports the same one.
var benchSnapshots struct {
	sync.Mutex
	m map[int]*storage.Snapshot
}

// benchSnapshot returns a snapshot of n customers of testSchema with one
// order for every fourth customer, built once per size and process and
// never released (it is shared across tests and benchmarks). The data is
// written with plain appends rather than fmt, so that a million customers
// take seconds.
func benchSnapshot(tb testing.TB, n int) *storage.Snapshot {
	tb.Helper()
	benchSnapshots.Lock()
	defer benchSnapshots.Unlock()
	if s := benchSnapshots.m[n]; s != nil {
		return s
	}
	dir, err := os.MkdirTemp("", "segmentkit-bench-")
	require.NoError(tb, err)
	defer os.RemoveAll(dir)
	require.NoError(tb, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(testSchema), 0o644))
	writeBenchCSV(tb, filepath.Join(dir, "Customer.csv"), "CustomerId,Email,Age,Score,Birthday,SignedUp,VIP\n", n, benchCustomer)
	writeBenchCSV(tb, filepath.Join(dir, "Order.csv"), "OrderId,CustomerId,Amount,Channel,OrderDate\n", n/4, benchOrder)
	snap, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(tb, err)
	if benchSnapshots.m == nil {
		benchSnapshots.m = map[int]*storage.Snapshot{}
	}
	benchSnapshots.m[n] = snap
	return snap
}

func writeBenchCSV(tb testing.TB, path, header string, n int, row func(buf []byte, i int) []byte) {
	tb.Helper()
	f, err := os.Create(path)
	require.NoError(tb, err)
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString(header)
	var buf []byte
	for i := range n {
		buf = row(buf[:0], i)
		w.Write(buf)
	}
	require.NoError(tb, w.Flush())
	require.NoError(tb, f.Close())
}

// benchKey appends customer i's key, as testData writes it.
func benchKey(buf []byte, i int) []byte {
	buf = append(buf, 'C')
	s := strconv.Itoa(i)
	for range 7 - len(s) {
		buf = append(buf, '0')
	}
	return append(buf, s...)
}

func twoDigits(buf []byte, v int) []byte { return append(buf, byte('0'+v/10), byte('0'+v%10)) }

func benchCustomer(buf []byte, i int) []byte {
	h := uint64(i)*0x9e3779b97f4a7c15 + 1
	buf = benchKey(buf, i)
	buf = append(buf, ',')
	if h%5 != 1 {
		if h%5 == 0 {
			buf = append(buf, "  User"...)
		} else {
			buf = append(buf, "user"...)
		}
		buf = strconv.AppendInt(buf, int64(i), 10)
		buf = append(buf, "@example.com"...)
	}
	buf = append(buf, ',')
	if h%10 != 3 {
		buf = strconv.AppendInt(buf, int64(18+h%60), 10)
	}
	buf = append(buf, ',')
	buf = strconv.AppendFloat(buf, float64(h>>8%1000)/8, 'g', -1, 64)
	buf = append(buf, ",19"...)
	buf = twoDigits(buf, 50+int(h>>16%49))
	buf = append(buf, '-')
	buf = twoDigits(buf, 1+int(h>>24%12))
	buf = append(buf, '-')
	buf = twoDigits(buf, 1+int(h>>28%28))
	buf = append(buf, ",2025-"...)
	buf = twoDigits(buf, 1+int(h>>32%12))
	buf = append(buf, '-')
	buf = twoDigits(buf, 1+int(h>>36%28))
	buf = append(buf, 'T')
	buf = twoDigits(buf, int(h>>40%24))
	buf = append(buf, ":30:00Z,"...)
	buf = strconv.AppendBool(buf, h>>44%3 == 0)
	return append(buf, '\n')
}

func benchOrder(buf []byte, i int) []byte {
	h := uint64(i)*0xbf58476d1ce4e5b9 + 7
	buf = append(buf, 'O')
	buf = strconv.AppendInt(buf, int64(i), 10)
	buf = append(buf, ',')
	buf = benchKey(buf, i*4)
	buf = append(buf, ',')
	buf = strconv.AppendInt(buf, int64(h%500), 10)
	buf = append(buf, '.')
	buf = twoDigits(buf, int(h>>12%100))
	buf = append(buf, ',')
	buf = append(buf, [...]string{"web", "store", "phone"}[h>>20%3]...)
	buf = append(buf, ",2026-"...)
	buf = twoDigits(buf, 1+int(h>>24%11))
	buf = append(buf, '-')
	buf = twoDigits(buf, 1+int(h>>28%28))
	return append(buf, '\n')
}

// peakHeap runs fn and returns the peak of the heap's object bytes
// (runtime/metrics "/memory/classes/heap/objects:bytes", sampled about
// every millisecond while fn runs) above their value before fn, after a
// collection.
//
// Object bytes count garbage not yet collected too, and by default the
// collector lets that grow to the live heap's size before it runs: with
// a large snapshot live, the peak would measure the collector's headroom,
// not what fn holds. peakHeap therefore runs fn with GOGC=10, so that
// the sample follows what fn keeps alive (plus a tenth of the live heap).
func peakHeap(fn func()) uint64 {
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	read := func(s []metrics.Sample) uint64 {
		metrics.Read(s)
		return s[0].Value.Uint64()
	}
	const name = "/memory/classes/heap/objects:bytes"
	mine := []metrics.Sample{{Name: name}}
	base := read(mine)
	peak := base
	done := make(chan struct{})
	sampled := make(chan uint64)
	go func() {
		s := []metrics.Sample{{Name: name}}
		max := base
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				sampled <- max
				return
			case <-t.C:
				if v := read(s); v > max {
					max = v
				}
			}
		}
	}()
	fn()
	close(done)
	peak = max(peak, <-sampled, read(mine))
	return peak - base
}
