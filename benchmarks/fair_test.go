package benchmarks_test

import (
	"bytes"
	"context"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/benchmarks"
	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
)

// TestTimeCaseProbeAndScratch times a segment and an insight on a small
// dataset with a bandwidth probe: each timing carries the bandwidth
// measured beside it, and the insight segmentkit's time from scratch,
// whose answer the check compares with the kept statistics'.
func TestTimeCaseProbeAndScratch(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := gen.Generate(ctx, dir, gen.Scale{Name: "tiny", Customers: 2000, Orders: 20_000, Cases: 4000, OrderLines: 40_000})
	require.NoError(t, err)
	sk, err := benchmarks.LoadSegmentkit(ctx, dir)
	require.NoError(t, err)
	defer sk.Close()
	require.Positive(t, sk.StatsTime)
	require.Less(t, sk.StatsTime, sk.LoadTime)
	db, err := benchmarks.LoadDuckDB(ctx, dir, benchmarks.DuckDBOptions{Threads: 2})
	require.NoError(t, err)
	defer db.Close()
	probe := benchmarks.NewBandwidthProbe(runtime.GOMAXPROCS(0), 64<<20)
	defer probe.Release()
	require.EqualValues(t, 64<<20, probe.Size())

	cases, err := suite.Cases(gen.AsOf)
	require.NoError(t, err)
	kinds := map[bool]bool{}
	for _, c := range cases {
		insight := c.Kind != suite.Members
		if kinds[insight] {
			continue
		}
		kinds[insight] = true
		chk, err := benchmarks.CheckCase(ctx, sk, db, c)
		require.NoError(t, err)
		require.True(t, chk.Agree(), "%s: %s %s", c.Name, chk.Diff, chk.ScratchDiff)
		tm, err := benchmarks.TimeCase(ctx, sk, db, c, 3, probe)
		require.NoError(t, err)
		require.Positive(t, tm.Bandwidth, c.Name)
		require.Positive(t, tm.Segmentkit, c.Name)
		require.Positive(t, tm.DuckDB, c.Name)
		require.Equal(t, insight, tm.Scratch > 0, "%s: a time from scratch for insights only", c.Name)
		require.Equal(t, !insight, tm.Cached > 0, "%s: a cached re-evaluation for segments only", c.Name)
		noProbe, err := benchmarks.TimeCase(ctx, sk, db, c, 1, nil)
		require.NoError(t, err)
		require.Zero(t, noProbe.Bandwidth)
	}
	require.Len(t, kinds, 2)

	// From scratch answers no segment.
	for _, c := range cases {
		if c.Kind == suite.Members {
			_, err := sk.FromScratch().Result(ctx, c)
			require.ErrorIs(t, err, benchmarks.ErrNotApplicable)
			break
		}
	}
}

// TestReportInsightsApart prints a report of two segments and an
// insight: the insight has a table of its own and stays out of the
// minimum and the target line; "of bandwidth" is against each case's own
// bandwidth.
func TestReportInsightsApart(t *testing.T) {
	seg := func(name string, sk, duck time.Duration, bw float64) benchmarks.Timing {
		return benchmarks.Timing{Case: suite.Case{Name: name, Kind: suite.Members}, Segmentkit: sk, DuckDB: duck,
			Bytes: 10e6, Bandwidth: bw, Cached: time.Microsecond}
	}
	rep := &benchmarks.Report{Scale: "S", Runs: 7, Target: 10, ProbeBytes: 1 << 30, ProbeWorkers: 2,
		SnapshotBytes: 100e6, RawBytes: 110e6, DuckDBOrder: benchmarks.ByCustomer,
		SegmentkitLoad: time.Second, SegmentkitStats: 10 * time.Millisecond,
		DuckDBLoad: 3 * time.Second, DuckDBFileOrder: time.Second,
		LoadRSS: benchmarks.RSSSpan{Before: 50e6, Peak: 300e6}, DuckDBRSS: benchmarks.RSSSpan{Before: 350e6, Peak: 600e6}}
	rep.Timings = []benchmarks.Timing{
		// 10 MB in 1 ms is 10 GB/s: 50% of 20 GB/s, 100% of 10 GB/s.
		seg("Fast", time.Millisecond, 20*time.Millisecond, 20e9),
		seg("Slow", time.Millisecond, 4*time.Millisecond, 10e9),
		{Case: suite.Case{Name: "Top", Kind: suite.TopValues}, Segmentkit: time.Microsecond,
			Scratch: time.Millisecond, DuckDB: 2 * time.Millisecond},
	}
	for _, tm := range rep.Timings {
		rep.Checks = append(rep.Checks, benchmarks.Check{Case: tm.Case, Size: 5})
	}
	require.Equal(t, 4.0, rep.MinSpeedup())
	below := rep.BelowTarget()
	require.Len(t, below, 1)
	require.Equal(t, "Slow", below[0].Case.Name)
	require.Equal(t, 2.0, rep.Timings[2].ScratchSpeedup())
	require.Zero(t, rep.Timings[0].ScratchSpeedup())

	var out bytes.Buffer
	rep.Print(&out)
	text := out.String()
	t.Log("\n" + text)
	segHeader, insHeader := strings.Index(text, "segment "), strings.Index(text, "insight ")
	require.Positive(t, segHeader)
	require.Greater(t, insHeader, segHeader, "the insights come in a table below the segments'")
	require.NotContains(t, text[:insHeader], "Top ")
	require.Contains(t, lineWith(text, "Fast"), "50%")
	require.Contains(t, lineWith(text, "Slow"), "100%")
	require.Contains(t, lineWith(text, "Top "), "2.00x")
	require.Contains(t, text, "2 goroutines summing a 1 GiB buffer")
	require.Contains(t, text, "segments at least 10x faster than duckdb: 1 of 2; below: Slow 4.00x")
	require.Contains(t, text, "in file order 1000 ms: the ordering adds 2000 ms")
	require.Contains(t, text, "segmentkit load peak RSS: 300.0 MB, 3.00x the snapshot bytes")
	require.Contains(t, text, "duckdb load peak RSS: 250.0 MB above")
	lines := strings.Split(strings.TrimSpace(text), "\n")
	require.Equal(t, "min speedup vs duckdb: 4.00", lines[len(lines)-1])

	// No segment timed: no minimum.
	only := &benchmarks.Report{Timings: rep.Timings[2:]}
	require.True(t, math.IsInf(only.MinSpeedup(), 1))
}

// TestPeakRSSReset checks, where /proc tells it, that the peak resident
// memory covers a buffer touched and freed, and that a reset brings it
// back down to what the process holds.
func TestPeakRSSReset(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("no /proc")
	}
	const size = 256 << 20
	buf := make([]byte, size)
	for i := 0; i < len(buf); i += 4096 {
		buf[i] = 1
	}
	require.GreaterOrEqual(t, benchmarks.RSS(), int64(size))
	runtime.KeepAlive(buf)
	buf = nil
	runtime.GC()
	debug.FreeOSMemory()
	peak := benchmarks.PeakRSS()
	require.GreaterOrEqual(t, peak, int64(size))
	if err := benchmarks.ResetPeakRSS(); err != nil {
		t.Skipf("the peak cannot be reset here: %v", err)
	}
	after := benchmarks.PeakRSS()
	require.Less(t, after, peak-size/2, "the reset forgets the freed buffer")
	require.GreaterOrEqual(t, after, benchmarks.RSS()/2)
}
