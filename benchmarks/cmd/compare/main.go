// Command compare generates the retail dataset at a scale, loads it into
// segmentkit and into DuckDB, checks that every segment of the suite has
// the same members in both, and prints how long each takes:
//
//	go run ./cmd/compare --scale S [--data DIR] [--runs 7]
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
	if err := run(ctx, *scale, *data, *runs, *threads, *duckMem, *only, *checkOnly, o); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(1)
	}
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

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

func run(ctx context.Context, scaleName, dir string, runs, threads int, duckMem, only string, checkOnly bool, sqlOpts sqlOptions) error {
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
		rep.PeakRSS = benchmarks.PeakRSS()
		rep.PrintChecks(os.Stdout)
		if mismatch {
			return errDisagree
		}
		return nil
	}
	for _, c := range cases {
		if !filter.MatchString(c.Name) {
			continue
		}
		t, err := benchmarks.TimeCase(ctx, sk, db, c, runs, checks[c.Name].Answered(others)...)
		if err != nil {
			return err
		}
		line := fmt.Sprintf("%s: segmentkit %s, duckdb %s", c.Name, benchmarks.FormatDuration(t.Segmentkit), benchmarks.FormatDuration(t.DuckDB))
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
	rep.PeakRSS = benchmarks.PeakRSS()
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
