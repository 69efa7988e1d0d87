// Command compare generates the retail dataset at a scale, loads it into
// segmentkit and into DuckDB, checks that every segment of the suite has
// the same members in both, and prints how long each takes:
//
//	go run ./cmd/compare --scale S [--data DIR] [--runs 7] [--duckdb-order customer|file]
//
// DuckDB's related tables are ordered by customer as it loads them, as
// segmentkit clusters its related rows, unless --duckdb-order=file keeps
// the files' order. The engines run interleaved, the memory bandwidth is
// measured beside every case, and each load's peak resident memory is
// measured apart. The insights are compared in a table of their own, out
// of the minimum.
//
// With --sql duckdb,clickhouse it also runs each segment from the SQL that
// package sqlgen generates for its definition, on the same DuckDB and on a
// two-shard ClickHouse cluster (the one --clickhouse and
// --clickhouse-shards name, by default SEGMENTKIT_TEST_CLICKHOUSE and
// SEGMENTKIT_TEST_CLICKHOUSE_SHARDS, or else a private one started with
// ../.ci/clickhouse.sh), loaded from segmentkit's snapshot.
//
// The last line of its output is "min speedup vs duckdb: X.XX". It exits
// with status 1 when the engines disagree on a segment.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/benchmarks"
	"github.com/segmentkit/segmentkit/benchmarks/clickhouse"
	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
)

func main() {
	scale := flag.String("scale", "S", "dataset scale: S, M or L")
	data := flag.String("data", "", "data directory (default data/<scale>); generated there unless it holds the scale")
	runs := flag.Int("runs", 7, "timed runs per engine and segment (at least 7)")
	threads := flag.Int("duckdb-threads", 2, "DuckDB threads")
	duckMem := flag.String("duckdb-memory", "10GB", "DuckDB memory_limit")
	duckOrder := flag.String("duckdb-order", "customer", "order of DuckDB's related tables: customer (ordered by customer at load, as segmentkit clusters them) or file (the Parquet files' order)")
	target := flag.Float64("target", 10, "the speedup over DuckDB the segments are held to: the report names those below it (0: none)")
	only := flag.String("only", "", "run only the cases whose name matches this regular expression")
	checkOnly := flag.Bool("check-only", false, "check that the engines agree, without timing")
	var o sqlOptions
	flag.StringVar(&o.engines, "sql", "", "also run sqlgen's SQL of each segment on these engines, comma-separated: duckdb, clickhouse")
	flag.StringVar(&o.url, "clickhouse", os.Getenv(clickhouse.EnvURL), "HTTP URL of the ClickHouse server queries go to (default $"+clickhouse.EnvURL+"; without one, a private cluster is started with ../.ci/clickhouse.sh)")
	flag.StringVar(&o.shards, "clickhouse-shards", os.Getenv(clickhouse.EnvShards), "every ClickHouse shard's HTTP URL, in shard order, space-separated (default $"+clickhouse.EnvShards+")")
	flag.StringVar(&o.database, "clickhouse-db", "segmentkit_bench", "ClickHouse database to load the data into (dropped at the end)")
	flag.DurationVar(&o.timeout, "clickhouse-timeout", 2*time.Minute, "ClickHouse max_execution_time of every query")
	flag.Parse()
	if os.Getenv("GOMEMLIMIT") == "" {
		// Both engines share the machine: a soft limit makes Go collect
		// the garbage of loading before the heap doubles, so that scale
		// L fits in 24 GiB beside DuckDB's memory_limit.
		debug.SetMemoryLimit(12 << 30)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	order, err := benchmarks.ParseDuckDBOrder(*duckOrder)
	if err != nil {
		fmt.Fprintln(os.Stderr, "compare: --duckdb-order:", err)
		os.Exit(2)
	}
	duck := duckOptions{opts: benchmarks.DuckDBOptions{Threads: *threads, MemoryLimit: *duckMem, Order: order}, target: *target}
	if err := run(ctx, *scale, *data, *runs, duck, *only, *checkOnly, o); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// duckOptions are the flags of DuckDB and of the comparison with it.
type duckOptions struct {
	opts   benchmarks.DuckDBOptions
	target float64
}

// probeBytes is the size of the bandwidth probe's buffer: four times the
// machine's 260 MiB of L3 cache, so that every pass reads memory.
const probeBytes = 1 << 30

// sqlOptions are the flags of the generated SQL's engines.
type sqlOptions struct {
	engines, url, shards, database string
	timeout                        time.Duration
}

// parse returns whether each engine is asked for.
func (o sqlOptions) parse() (duck, ch bool, err error) {
	if o.engines == "" {
		return false, false, nil
	}
	for _, e := range strings.Split(o.engines, ",") {
		switch strings.TrimSpace(e) {
		case "duckdb":
			duck = true
		case "clickhouse":
			ch = true
		default:
			return false, false, fmt.Errorf("--sql %q: %q is not an engine: duckdb or clickhouse", o.engines, e)
		}
	}
	if ch && o.timeout < time.Second {
		return false, false, fmt.Errorf("--clickhouse-timeout %s: at least 1s", o.timeout)
	}
	return duck, ch, nil
}

// openClickHouse returns the cluster the options name, or a private one
// started with the script, checked, with its function to stop it.
func (o sqlOptions) openClickHouse(ctx context.Context) (*clickhouse.Cluster, func() error, error) {
	var c *clickhouse.Cluster
	stop := func() error { return nil }
	if o.url != "" {
		c = &clickhouse.Cluster{URL: o.url, Shards: strings.Fields(o.shards)}
		if len(c.Shards) == 0 {
			return nil, nil, fmt.Errorf("--clickhouse %s: --clickhouse-shards names no shard", o.url)
		}
		if err := c.Check(ctx); err != nil {
			return nil, nil, err
		}
	} else {
		logf("no ClickHouse cluster named: starting a private one with ../.ci/clickhouse.sh")
		var err error
		if c, stop, err = clickhouse.Open(ctx, clickhouse.StartOptions{Script: filepath.Join("..", ".ci", "clickhouse.sh")}); err != nil {
			return nil, nil, err
		}
	}
	c.Database = o.database
	c.Settings = map[string]string{"max_execution_time": strconv.Itoa(int(o.timeout.Seconds()))}
	return c, stop, nil
}

func run(ctx context.Context, scaleName, dir string, runs int, duck duckOptions, only string, checkOnly bool, sqlOpts sqlOptions) error {
	sc, err := gen.ScaleByName(scaleName)
	if err != nil {
		return err
	}
	sqlDuck, sqlCH, err := sqlOpts.parse()
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

	// Each load's peak resident memory is measured from a reset of the
	// peak just before it; peak keeps the largest of them, from the
	// generator's on.
	peak := benchmarks.PeakRSS()
	span := func(step func() error) (benchmarks.RSSSpan, error) {
		debug.FreeOSMemory()
		var sp benchmarks.RSSSpan
		if err := benchmarks.ResetPeakRSS(); err != nil {
			logf("%v: the peak is the process's since it started", err)
			sp.SinceStart = true
		}
		sp.Before = benchmarks.RSS()
		err := step()
		sp.Peak = benchmarks.PeakRSS()
		peak = max(peak, sp.Peak)
		return sp, err
	}

	var sk *benchmarks.Segmentkit
	loadRSS, err := span(func() (err error) {
		sk, err = benchmarks.LoadSegmentkit(ctx, dir)
		return err
	})
	if err != nil {
		return err
	}
	defer sk.Close()
	logf("segmentkit loaded in %s (statistics %s), peak RSS %s", sk.LoadTime.Round(time.Millisecond),
		sk.StatsTime.Round(time.Millisecond), benchmarks.FormatBytes(loadRSS.Peak))

	// With the ordering, the same load in file order is timed first, in
	// a database of its own, for the ordering's share of the load.
	var fileOrder time.Duration
	if duck.opts.Order != benchmarks.FileOrder {
		ref := duck.opts
		ref.Order = benchmarks.FileOrder
		if _, err := span(func() error {
			d, err := benchmarks.LoadDuckDB(ctx, dir, ref)
			if err != nil {
				return err
			}
			fileOrder = d.LoadTime
			return d.Close()
		}); err != nil {
			return err
		}
		logf("duckdb loaded in file order in %s (closed again)", fileOrder.Round(time.Millisecond))
	}
	var db *benchmarks.DuckDB
	duckRSS, err := span(func() (err error) {
		db, err = benchmarks.LoadDuckDB(ctx, dir, duck.opts)
		return err
	})
	if err != nil {
		return err
	}
	defer db.Close()
	version, err := db.Version(ctx)
	if err != nil {
		return err
	}
	logf("duckdb %s loaded in %s (%s order)", version, db.LoadTime.Round(time.Millisecond), db.Order)

	rep := &benchmarks.Report{Scale: sc.Name, Runs: runs, Target: duck.target, ProbeBytes: probeBytes, ProbeWorkers: runtime.GOMAXPROCS(0),
		SegmentkitLoad: sk.LoadTime, SegmentkitStats: sk.StatsTime,
		DuckDBLoad: db.LoadTime, DuckDBFileOrder: fileOrder, DuckDBOrder: db.Order, DuckDBTables: db.Tables,
		SnapshotBytes: sk.Snap.MemoryBytes(), RawBytes: benchmarks.RawBytes(sk.Snap),
		LoadRSS: loadRSS, DuckDBRSS: duckRSS}
	if rep.DuckDBBytes, err = db.MemoryBytes(ctx); err != nil {
		return err
	}
	var others []benchmarks.Engine
	if sqlDuck {
		e := benchmarks.NewDuckDBSQL(db, sk.Snap.Schema())
		others = append(others, e)
		rep.Engines = append(rep.Engines, e.Name)
	}
	if sqlCH {
		c, stopCH, err := sqlOpts.openClickHouse(ctx)
		if err != nil {
			return err
		}
		defer func() {
			if err := stopCH(); err != nil {
				logf("stopping the private ClickHouse cluster: %v", err)
			}
		}()
		defer dropClickHouse(c)
		logf("loading the snapshot into ClickHouse (%s, database %s)", strings.Join(c.Shards, " "), c.Database)
		if rep.ClickHouse, err = benchmarks.LoadClickHouse(ctx, c, sk.Snap); err != nil {
			return err
		}
		logf("clickhouse loaded %d rows in %s; HTTP round trip %s", rep.ClickHouse.Rows,
			rep.ClickHouse.Time.Round(time.Millisecond), benchmarks.FormatDuration(rep.ClickHouse.RoundTrip))
		e := benchmarks.NewClickHouseSQL(c, sk.Snap.Schema())
		others = append(others, e)
		rep.Engines = append(rep.Engines, e.Name)
	}
	mismatch := false
	checks := map[string]benchmarks.Check{}
	for _, c := range cases {
		if !filter.MatchString(c.Name) {
			continue
		}
		chk, err := benchmarks.CheckCase(ctx, sk, db, c, others...)
		if err != nil {
			return err
		}
		// The member lists of a large scale are garbage now; free them
		// rather than let Go's heap grow beside DuckDB's.
		debug.FreeOSMemory()
		rep.Checks = append(rep.Checks, chk)
		checks[c.Name] = chk
		if chk.Diff != "" {
			logf("%s: MISMATCH: segmentkit %s", c.Name, chk.Diff)
		} else {
			logf("%s: %d agree", c.Name, chk.Size)
		}
		for i, o := range chk.Others {
			switch {
			case o.Err != nil && !errors.Is(o.Err, benchmarks.ErrNotApplicable):
				logf("%s: %s: not run: %v", c.Name, rep.Engines[i], o.Err)
			case o.Err == nil && o.Diff != "":
				logf("%s: MISMATCH: %s: segmentkit %s", c.Name, rep.Engines[i], o.Diff)
			case o.Err == nil:
				logf("%s: %s agrees", c.Name, rep.Engines[i])
			}
		}
		mismatch = mismatch || !chk.Agree()
	}
	if checkOnly {
		rep.PeakRSS = max(peak, benchmarks.PeakRSS())
		rep.PrintChecks(os.Stdout)
		if mismatch {
			return errDisagree
		}
		return nil
	}
	// The probe's buffer is allocated once the loads are measured, and
	// read once per repetition of every case (TimeCase).
	debug.FreeOSMemory()
	probe := benchmarks.NewBandwidthProbe(runtime.GOMAXPROCS(0), probeBytes)
	defer probe.Release()
	logf("memory read bandwidth before the runs: %.1f GB/s", probe.Measure()/1e9)
	for _, c := range cases {
		if !filter.MatchString(c.Name) {
			continue
		}
		t, err := benchmarks.TimeCase(ctx, sk, db, c, runs, probe, checks[c.Name].Answered(others)...)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s: segmentkit %s, duckdb %s", c.Name, benchmarks.FormatDuration(t.Segmentkit), benchmarks.FormatDuration(t.DuckDB))
		if t.Scratch > 0 {
			line += ", segmentkit from scratch " + benchmarks.FormatDuration(t.Scratch)
		}
		line += fmt.Sprintf(" (bandwidth %.1f GB/s)", t.Bandwidth/1e9)
		for i, o := range t.Others {
			switch {
			case o.Err != nil:
				line += fmt.Sprintf(", %s failed: %v", rep.Engines[i], o.Err)
			case o.Median > 0:
				line += fmt.Sprintf(", %s %s", rep.Engines[i], benchmarks.FormatDuration(o.Median))
			}
		}
		logf("%s", line)
		rep.Timings = append(rep.Timings, t)
	}
	rep.PeakRSS = max(peak, benchmarks.PeakRSS())
	rep.Print(os.Stdout)
	if mismatch {
		return errDisagree
	}
	return nil
}

var errDisagree = errors.New("segmentkit and another engine disagree on some segments")

// dropClickHouse drops the database the data was loaded into, on every
// shard.
func dropClickHouse(c *clickhouse.Cluster) {
	for i := range c.Shards {
		s := c.Shard(i)
		s.Database = ""
		if err := s.Exec(context.Background(), "DROP DATABASE IF EXISTS "+clickhouse.QuoteIdent(c.Database)); err != nil {
			logf("dropping ClickHouse database %s on shard %d: %v", c.Database, i+1, err)
		}
	}
}
