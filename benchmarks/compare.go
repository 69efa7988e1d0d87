package benchmarks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/segmentkit/segmentkit/benchmarks/suite"
)

// Result is a case's answer: the members' customer keys, sorted, or an
// insight's rows as tab-separated text.
type Result struct {
	Keys []int64
	Rows []string
}

// Diff describes how r differs from want, or returns "" when they are the
// same. Differing keys are listed up to a few of each side.
func (r Result) Diff(want Result) string {
	if slices.Equal(r.Keys, want.Keys) && slices.Equal(r.Rows, want.Rows) {
		return ""
	}
	if !slices.Equal(r.Rows, want.Rows) {
		return fmt.Sprintf("rows differ:\n  got  %q\n  want %q", r.Rows, want.Rows)
	}
	onlyGot, onlyWant := keyDiff(r.Keys, want.Keys)
	return fmt.Sprintf("%d members, want %d; only in got (%d): %v; only in want (%d): %v",
		len(r.Keys), len(want.Keys), len(onlyGot), head(onlyGot, 10), len(onlyWant), head(onlyWant, 10))
}

// keyDiff returns the keys only in a and those only in b; both are sorted.
// A key repeated in one side counts as a difference.
func keyDiff(a, b []int64) (onlyA, onlyB []int64) {
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case j == len(b) || (i < len(a) && a[i] < b[j]):
			onlyA = append(onlyA, a[i])
			i++
		case i == len(a) || b[j] < a[i]:
			onlyB = append(onlyB, b[j])
			j++
		default:
			i++
			j++
		}
	}
	return onlyA, onlyB
}

func head(xs []int64, n int) []int64 { return xs[:min(n, len(xs))] }

// Engine answers the suite's cases: Segmentkit, DuckDB with the suite's
// hand-written SQL, and SQL with the queries package sqlgen generates.
type Engine interface {
	// Result answers the case: the members' customer keys, sorted, or an
	// insight's rows.
	Result(ctx context.Context, c suite.Case) (Result, error)
	// Run evaluates the case once, as the timed runs do.
	Run(ctx context.Context, c suite.Case) error
}

// Check is the outcome of comparing one case on the engines.
type Check struct {
	Case suite.Case
	// Size is the number of members, or of insight rows, segmentkit gave.
	Size int
	// Diff is "" when both engines agree; otherwise segmentkit's answer
	// against DuckDB's (Result.Diff).
	Diff string
	// Others are the answers of the other engines CheckCase was given,
	// in their order.
	Others []OtherCheck
}

// OtherCheck is how one of the other engines answered a case.
type OtherCheck struct {
	// Err is why the engine gave no answer: an error wrapping
	// ErrNotApplicable for a case it does not answer (an insight, for
	// SQL), or what went wrong (a query the dialect cannot express, a
	// server's timeout). The case is then not timed on it.
	Err error
	// Diff is "" when the engine's answer is segmentkit's; otherwise
	// segmentkit's answer against the engine's.
	Diff string
}

// Agree reports whether every engine that answered the case gave
// segmentkit's answer.
func (c Check) Agree() bool {
	if c.Diff != "" {
		return false
	}
	for _, o := range c.Others {
		if o.Err == nil && o.Diff != "" {
			return false
		}
	}
	return true
}

// CheckCase evaluates c on segmentkit, DuckDB and every other engine, and
// compares their answers with segmentkit's. An error of segmentkit or
// DuckDB is returned; one of another engine is recorded in its
// OtherCheck.
func CheckCase(ctx context.Context, sk *Segmentkit, db *DuckDB, c suite.Case, others ...Engine) (Check, error) {
	got, err := sk.Result(ctx, c)
	if err != nil {
		return Check{}, err
	}
	want, err := db.Result(ctx, c)
	if err != nil {
		return Check{}, err
	}
	chk := Check{Case: c, Size: max(len(got.Keys), len(got.Rows)), Diff: got.Diff(want)}
	for _, e := range others {
		r, err := e.Result(ctx, c)
		if err != nil {
			chk.Others = append(chk.Others, OtherCheck{Err: err})
			continue
		}
		chk.Others = append(chk.Others, OtherCheck{Diff: got.Diff(r)})
	}
	return chk, nil
}

// Answered returns, for each of the other engines, the engine when it
// answered the check's case and nil when it did not: the engines TimeCase
// times on the case.
func (c Check) Answered(others []Engine) []Engine {
	out := make([]Engine, len(others))
	for i, e := range others {
		if i < len(c.Others) && c.Others[i].Err == nil {
			out[i] = e
		}
	}
	return out
}

// Timing is the timed runs of one case.
type Timing struct {
	Case       suite.Case
	Segmentkit time.Duration // median
	DuckDB     time.Duration // median
	Bytes      int64         // BytesRead
	// Cached is segmentkit's median re-evaluation of the unchanged
	// segment with the result cache kept (0 for insights).
	Cached time.Duration
	// Others are the other engines' timings, in the order TimeCase was
	// given them.
	Others []OtherTiming
}

// OtherTiming is one of the other engines' timing of a case.
type OtherTiming struct {
	// Median is the median of the runs; 0 when the case was not timed on
	// the engine.
	Median time.Duration
	// Err is the error a run of the engine ended with; the engine was
	// not timed further on the case, and Median is 0.
	Err error
}

// Speedup is DuckDB's median over segmentkit's.
func (t Timing) Speedup() float64 {
	return t.DuckDB.Seconds() / t.Segmentkit.Seconds()
}

// TimeCase runs c once on each engine as a warm-up, then runs times on
// each, the engines taking turns at going first, and returns the medians.
// The engines are segmentkit, DuckDB and the others; a nil other is not
// run (a case it does not answer). A garbage collection runs before every
// run, outside the timing, so that one engine's garbage is not collected
// during another's run. An error of segmentkit or DuckDB is returned; an
// other engine that fails is recorded in its OtherTiming and left out of
// the rest of the runs.
func TimeCase(ctx context.Context, sk *Segmentkit, db *DuckDB, c suite.Case, runs int, others ...Engine) (Timing, error) {
	engines := append([]Engine{sk, db}, others...)
	times := make([][]time.Duration, len(engines))
	errs := make([]error, len(engines))
	timeRun := func(k int) error {
		e := engines[k]
		if e == nil || errs[k] != nil {
			return nil
		}
		runtime.GC()
		start := time.Now()
		err := e.Run(ctx, c)
		d := time.Since(start)
		switch {
		case err != nil && k < 2:
			return err
		case err != nil:
			errs[k] = err
		case times[k] != nil:
			times[k] = append(times[k], d)
		}
		return nil
	}
	for k := range engines {
		if err := timeRun(k); err != nil {
			return Timing{}, err
		}
		// The warm-up is not counted.
		times[k] = make([]time.Duration, 0, runs)
	}
	for i := range runs {
		for j := range engines {
			if err := timeRun((i + j) % len(engines)); err != nil {
				return Timing{}, err
			}
		}
	}
	t := Timing{Case: c, Segmentkit: median(times[0]), DuckDB: median(times[1]), Bytes: BytesRead(sk.Snap, c)}
	for k := 2; k < len(engines); k++ {
		o := OtherTiming{Err: errs[k]}
		if engines[k] != nil && o.Err == nil {
			o.Median = median(times[k])
		}
		t.Others = append(t.Others, o)
	}
	if c.Kind == suite.Members {
		// Re-evaluation of the unchanged segment: the cache holds the
		// last run's results.
		cached := make([]time.Duration, 0, runs)
		for range runs {
			runtime.GC()
			start := time.Now()
			if err := sk.Rerun(ctx, c); err != nil {
				return Timing{}, err
			}
			cached = append(cached, time.Since(start))
		}
		t.Cached = median(cached)
	}
	return t, nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// Report is what cmd/compare prints.
type Report struct {
	Scale     string
	Runs      int
	Bandwidth float64 // bytes per second
	Timings   []Timing
	Checks    []Check
	// Engines name the other engines' columns, in the order of
	// Check.Others and Timing.Others.
	Engines []string
	// Load times from Parquet.
	SegmentkitLoad, DuckDBLoad time.Duration
	// SnapshotBytes is the snapshot's MemoryBytes; RawBytes the plain
	// column bytes (RawBytes); DuckDBBytes what DuckDB reports in use
	// once loaded.
	SnapshotBytes, RawBytes, DuckDBBytes int64
	// PeakRSS is the process's peak resident memory (both engines and the
	// generator), 0 when unknown.
	PeakRSS int64
	// ClickHouse is the loading of the ClickHouse cluster, when one was
	// loaded.
	ClickHouse *ClickHouseLoad
}

// MinSpeedup is the smallest speedup over the timed cases.
func (r *Report) MinSpeedup() float64 {
	m := math.Inf(1)
	for _, t := range r.Timings {
		m = min(m, t.Speedup())
	}
	return m
}

// footnotes numbers the reasons an engine has no answer or no time for a
// case, for the lines under the table.
type footnotes []string

// add records why engine has nothing for the case and returns the
// table's cell: "-" for a case the engine does not answer
// (ErrNotApplicable), "-[n]" with a note otherwise.
func (f *footnotes) add(engine, caseName string, err error) string {
	if errors.Is(err, ErrNotApplicable) {
		return "-"
	}
	msg := strings.Join(strings.Fields(err.Error()), " ")
	if n := 400; len(msg) > n {
		for n > 0 && !utf8.RuneStart(msg[n]) {
			n--
		}
		msg = msg[:n] + "..."
	}
	*f = append(*f, fmt.Sprintf("[%d] %s, %s: %s", len(*f)+1, engine, caseName, msg))
	return fmt.Sprintf("-[%d]", len(*f))
}

// otherHeader is the other engines' column names, each followed by a tab.
func (r *Report) otherHeader() string {
	var b strings.Builder
	for _, e := range r.Engines {
		b.WriteString(e + "\t")
	}
	return b.String()
}

// Print writes the report: the table of timings, load times and memory,
// and last the line "min speedup vs duckdb: X.XX". An other engine's
// cell is its median and, in parentheses, that over segmentkit's.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "scale %s, median of %d runs, memory read bandwidth %.1f GB/s (2 goroutines, best of 5)\n\n",
		r.Scale, r.Runs, r.Bandwidth/1e9)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tsegmentkit\tduckdb\tspeedup\t"+r.otherHeader()+"bytes read\tGB/s\tof bandwidth\tcached re-eval\tmembers\tagree\t")
	checks := map[string]Check{}
	for _, c := range r.Checks {
		checks[c.Case.Name] = c
	}
	var notes footnotes
	for _, t := range r.Timings {
		chk := checks[t.Case.Name]
		gbs := float64(t.Bytes) / t.Segmentkit.Seconds()
		agree := "yes"
		if !chk.Agree() {
			agree = "NO"
		}
		cached := "-"
		if t.Cached > 0 {
			cached = FormatDuration(t.Cached)
		}
		var others strings.Builder
		for i, name := range r.Engines {
			var cell string
			switch {
			case i < len(chk.Others) && chk.Others[i].Err != nil:
				cell = notes.add(name, t.Case.Name, chk.Others[i].Err)
			case i >= len(t.Others) || (t.Others[i].Err == nil && t.Others[i].Median == 0):
				cell = "-"
			case t.Others[i].Err != nil:
				cell = notes.add(name, t.Case.Name, t.Others[i].Err)
			default:
				cell = fmt.Sprintf("%s (%.1fx)", FormatDuration(t.Others[i].Median), t.Others[i].Median.Seconds()/t.Segmentkit.Seconds())
			}
			others.WriteString(cell + "\t")
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t%s%s\t%.2f\t%.0f%%\t%s\t%d\t%s\t\n", t.Case.Name,
			FormatDuration(t.Segmentkit), FormatDuration(t.DuckDB), t.Speedup(), others.String(),
			FormatBytes(t.Bytes), gbs/1e9, 100*gbs/r.Bandwidth, cached, chk.Size, agree)
	}
	tw.Flush()
	r.printTail(w, notes)
	fmt.Fprintf(w, "min speedup vs duckdb: %.2f\n", r.MinSpeedup())
}

// printTail writes what follows a table: the footnotes, the load times
// and memory, and every case whose members differ.
func (r *Report) printTail(w io.Writer, notes footnotes) {
	fmt.Fprintln(w)
	for _, n := range notes {
		fmt.Fprintln(w, n)
	}
	r.printLoad(w)
	for _, c := range r.Checks {
		if c.Diff != "" {
			fmt.Fprintf(w, "MISMATCH %s: segmentkit %s\n", c.Case.Name, c.Diff)
		}
		for i, o := range c.Others {
			if o.Err == nil && o.Diff != "" && i < len(r.Engines) {
				fmt.Fprintf(w, "MISMATCH %s, %s: segmentkit %s\n", c.Case.Name, r.Engines[i], o.Diff)
			}
		}
	}
}

// PrintChecks writes the outcome of the checks alone, with load times and
// memory, for a run that times nothing.
func (r *Report) PrintChecks(w io.Writer) {
	fmt.Fprintf(w, "scale %s, members checked, not timed\n\n", r.Scale)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tmembers\t"+r.otherHeader()+"agree\t")
	var notes footnotes
	bad := 0
	for _, c := range r.Checks {
		agree := "yes"
		if !c.Agree() {
			agree = "NO"
			bad++
		}
		var others strings.Builder
		for i, name := range r.Engines {
			cell := "-"
			if i < len(c.Others) {
				switch o := c.Others[i]; {
				case o.Err != nil:
					cell = notes.add(name, c.Case.Name, o.Err)
				case o.Diff != "":
					cell = "NO"
				default:
					cell = "yes"
				}
			}
			others.WriteString(cell + "\t")
		}
		fmt.Fprintf(tw, "%s\t%d\t%s%s\t\n", c.Case.Name, c.Size, others.String(), agree)
	}
	tw.Flush()
	r.printTail(w, notes)
	fmt.Fprintf(w, "%d of %d cases agree\n", len(r.Checks)-bad, len(r.Checks))
}

func (r *Report) printLoad(w io.Writer) {
	fmt.Fprintf(w, "load from Parquet: segmentkit %s, duckdb %s\n",
		FormatDuration(r.SegmentkitLoad), FormatDuration(r.DuckDBLoad))
	if ch := r.ClickHouse; ch != nil {
		fmt.Fprintf(w, "load into clickhouse, %d shards (%d rows from the snapshot, RowBinary over HTTP, and OPTIMIZE FINAL): %s; an HTTP round trip (SELECT 1): %s\n",
			ch.Shards, ch.Rows, FormatDuration(ch.Time), FormatDuration(ch.RoundTrip))
	}
	fmt.Fprintf(w, "segmentkit snapshot memory: %s for %s of raw column bytes (%.2fx); duckdb in use after load: %s\n",
		FormatBytes(r.SnapshotBytes), FormatBytes(r.RawBytes), float64(r.SnapshotBytes)/float64(r.RawBytes),
		FormatBytes(r.DuckDBBytes))
	if r.PeakRSS > 0 {
		fmt.Fprintf(w, "peak resident memory of the process: %s\n", FormatBytes(r.PeakRSS))
	}
}

// PeakRSS returns the peak resident memory of the process (VmHWM), or 0
// where /proc does not tell it.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
}

// FormatDuration writes d in milliseconds with three significant digits,
// or in seconds from 10 s on.
func FormatDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case ms >= 10000:
		return fmt.Sprintf("%.1f s", ms/1000)
	case ms >= 100:
		return fmt.Sprintf("%.0f ms", ms)
	case ms >= 10:
		return fmt.Sprintf("%.1f ms", ms)
	case ms >= 1:
		return fmt.Sprintf("%.2f ms", ms)
	}
	return fmt.Sprintf("%.3f ms", ms)
}

// FormatBytes writes n in MB or GB (powers of ten).
func FormatBytes(n int64) string {
	switch {
	case n >= 1e9:
		return fmt.Sprintf("%.2f GB", float64(n)/1e9)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	}
	return strings.TrimSpace(fmt.Sprintf("%.1f kB", float64(n)/1e3))
}
