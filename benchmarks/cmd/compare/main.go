// Command compare generates the retail dataset at a scale, loads it into
// segmentkit and into DuckDB, checks that every segment of the suite has
// the same members in both, and prints how long each takes:
//
//	go run ./cmd/compare --scale S [--data DIR] [--runs 7]
//
// The last line of its output is "min speedup vs duckdb: X.XX". It exits
// with status 1 when the engines disagree on a segment.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"time"

	"github.com/segmentkit/segmentkit/benchmarks"
	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
)

func main() {
	scale := flag.String("scale", "S", "dataset scale: S, M or L")
	data := flag.String("data", "", "data directory (default data/<scale>); generated there unless it holds the scale")
	runs := flag.Int("runs", 7, "timed runs per engine and segment (at least 7)")
	threads := flag.Int("duckdb-threads", 2, "DuckDB threads")
	duckMem := flag.String("duckdb-memory", "10GB", "DuckDB memory_limit")
	only := flag.String("only", "", "run only the cases whose name matches this regular expression")
	checkOnly := flag.Bool("check-only", false, "check that the engines agree, without timing")
	flag.Parse()
	if os.Getenv("GOMEMLIMIT") == "" {
		// Both engines share the machine: a soft limit makes Go collect
		// the garbage of loading before the heap doubles, so that scale
		// L fits in 24 GiB beside DuckDB's memory_limit.
		debug.SetMemoryLimit(12 << 30)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *scale, *data, *runs, *threads, *duckMem, *only, *checkOnly); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

func run(ctx context.Context, scaleName, dir string, runs, threads int, duckMem, only string, checkOnly bool) error {
	sc, err := gen.ScaleByName(scaleName)
	if err != nil {
		return err
	}
	if runs < 7 {
		return fmt.Errorf("--runs %d: at least 7", runs)
	}
	if dir == "" {
		dir = filepath.Join("data", sc.Name)
	}
	filter := regexp.MustCompile("")
	if only != "" {
		if filter, err = regexp.Compile(only); err != nil {
			return fmt.Errorf("--only: %w", err)
		}
	}
	cases, err := suite.Cases(gen.AsOf)
	if err != nil {
		return err
	}

	start := time.Now()
	generated, err := gen.Generate(ctx, dir, sc)
	if err != nil {
		return err
	}
	if generated {
		logf("generated scale %s in %s: %s", sc.Name, time.Since(start).Round(time.Millisecond), dir)
	} else {
		logf("scale %s already in %s", sc.Name, dir)
	}

	// Measured before loading, so that the 1 GiB buffer is not held
	// beside both engines' copies of the data.
	var bw float64
	if !checkOnly {
		bw = benchmarks.MemoryBandwidth(runtime.GOMAXPROCS(0), 1<<30, 5)
		logf("memory read bandwidth: %.1f GB/s", bw/1e9)
	}

	sk, err := benchmarks.LoadSegmentkit(ctx, dir)
	if err != nil {
		return err
	}
	defer sk.Close()
	logf("segmentkit loaded in %s", sk.LoadTime.Round(time.Millisecond))
	// Hand the garbage of loading back to the system before DuckDB loads
	// beside it (outside the load time).
	debug.FreeOSMemory()
	db, err := benchmarks.LoadDuckDB(ctx, dir, benchmarks.DuckDBOptions{Threads: threads, MemoryLimit: duckMem})
	if err != nil {
		return err
	}
	defer db.Close()
	version, err := db.Version(ctx)
	if err != nil {
		return err
	}
	logf("duckdb %s loaded in %s", version, db.LoadTime.Round(time.Millisecond))

	rep := &benchmarks.Report{Scale: sc.Name, Runs: runs, Bandwidth: bw,
		SegmentkitLoad: sk.LoadTime, DuckDBLoad: db.LoadTime,
		SnapshotBytes: sk.Snap.MemoryBytes(), RawBytes: benchmarks.RawBytes(sk.Snap)}
	if rep.DuckDBBytes, err = db.MemoryBytes(ctx); err != nil {
		return err
	}
	mismatch := false
	for _, c := range cases {
		if !filter.MatchString(c.Name) {
			continue
		}
		chk, err := benchmarks.CheckCase(ctx, sk, db, c)
		if err != nil {
			return err
		}
		// The member lists of a large scale are garbage now; free them
		// rather than let Go's heap grow beside DuckDB's.
		debug.FreeOSMemory()
		rep.Checks = append(rep.Checks, chk)
		if chk.Diff != "" {
			mismatch = true
			logf("%s: MISMATCH: segmentkit %s", c.Name, chk.Diff)
		} else {
			logf("%s: %d agree", c.Name, chk.Size)
		}
	}
	if checkOnly {
		rep.PeakRSS = benchmarks.PeakRSS()
		rep.PrintChecks(os.Stdout)
		if mismatch {
			return fmt.Errorf("segmentkit and duckdb disagree on some segments")
		}
		return nil
	}
	for _, c := range cases {
		if !filter.MatchString(c.Name) {
			continue
		}
		t, err := benchmarks.TimeCase(ctx, sk, db, c, runs)
		if err != nil {
			return err
		}
		logf("%s: segmentkit %s, duckdb %s", c.Name, benchmarks.FormatDuration(t.Segmentkit), benchmarks.FormatDuration(t.DuckDB))
		rep.Timings = append(rep.Timings, t)
	}
	rep.PeakRSS = benchmarks.PeakRSS()
	rep.Print(os.Stdout)
	if mismatch {
		return fmt.Errorf("segmentkit and duckdb disagree on some segments")
	}
	return nil
}
