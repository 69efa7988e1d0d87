package benchmarks

import (
	"context"
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

// Check is the outcome of comparing one case on both engines.
type Check struct {
	Case suite.Case
	// Size is the number of members, or of insight rows, segmentkit gave.
	Size int
	// Diff is "" when both engines agree; otherwise segmentkit's answer
	// against DuckDB's (Result.Diff).
	Diff string
}

// CheckCase evaluates c on both engines and compares the answers.
func CheckCase(ctx context.Context, sk *Segmentkit, db *DuckDB, c suite.Case) (Check, error) {
	got, err := sk.Result(ctx, c)
	if err != nil {
		return Check{}, err
	}
	want, err := db.Result(ctx, c)
	if err != nil {
		return Check{}, err
	}
	return Check{Case: c, Size: max(len(got.Keys), len(got.Rows)), Diff: got.Diff(want)}, nil
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
}

// Speedup is DuckDB's median over segmentkit's.
func (t Timing) Speedup() float64 {
	return t.DuckDB.Seconds() / t.Segmentkit.Seconds()
}

// TimeCase runs c once on each engine as a warm-up, then runs times on
// each, alternating which engine goes first, and returns the medians. A
// garbage collection runs before every run, outside the timing, so that
// one engine's garbage is not collected during the other's run.
func TimeCase(ctx context.Context, sk *Segmentkit, db *DuckDB, c suite.Case, runs int) (Timing, error) {
	runSK := func() (time.Duration, error) {
		runtime.GC()
		start := time.Now()
		err := sk.Run(ctx, c)
		return time.Since(start), err
	}
	runDB := func() (time.Duration, error) {
		runtime.GC()
		start := time.Now()
		err := db.Run(ctx, c)
		return time.Since(start), err
	}
	if _, err := runSK(); err != nil {
		return Timing{}, err
	}
	if _, err := runDB(); err != nil {
		return Timing{}, err
	}
	skTimes := make([]time.Duration, 0, runs)
	dbTimes := make([]time.Duration, 0, runs)
	for i := range runs {
		var dSK, dDB time.Duration
		var err error
		if i%2 == 0 {
			if dSK, err = runSK(); err == nil {
				dDB, err = runDB()
			}
		} else {
			if dDB, err = runDB(); err == nil {
				dSK, err = runSK()
			}
		}
		if err != nil {
			return Timing{}, err
		}
		skTimes = append(skTimes, dSK)
		dbTimes = append(dbTimes, dDB)
	}
	t := Timing{Case: c, Segmentkit: median(skTimes), DuckDB: median(dbTimes), Bytes: BytesRead(sk.Snap, c)}
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
	// Load times from Parquet.
	SegmentkitLoad, DuckDBLoad time.Duration
	// SnapshotBytes is the snapshot's MemoryBytes; RawBytes the plain
	// column bytes (RawBytes); DuckDBBytes what DuckDB reports in use
	// once loaded.
	SnapshotBytes, RawBytes, DuckDBBytes int64
	// PeakRSS is the process's peak resident memory (both engines and the
	// generator), 0 when unknown.
	PeakRSS int64
}

// MinSpeedup is the smallest speedup over the timed cases.
func (r *Report) MinSpeedup() float64 {
	m := math.Inf(1)
	for _, t := range r.Timings {
		m = min(m, t.Speedup())
	}
	return m
}

// Print writes the report: the table of timings, load times and memory,
// and last the line "min speedup vs duckdb: X.XX".
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "scale %s, median of %d runs, memory read bandwidth %.1f GB/s (2 goroutines, best of 5)\n\n",
		r.Scale, r.Runs, r.Bandwidth/1e9)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tsegmentkit\tduckdb\tspeedup\tbytes read\tGB/s\tof bandwidth\tcached re-eval\tmembers\tagree\t")
	sizes := map[string]Check{}
	for _, c := range r.Checks {
		sizes[c.Case.Name] = c
	}
	for _, t := range r.Timings {
		gbs := float64(t.Bytes) / t.Segmentkit.Seconds()
		agree := "yes"
		if sizes[t.Case.Name].Diff != "" {
			agree = "NO"
		}
		cached := "-"
		if t.Cached > 0 {
			cached = FormatDuration(t.Cached)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t%s\t%.2f\t%.0f%%\t%s\t%d\t%s\t\n", t.Case.Name,
			FormatDuration(t.Segmentkit), FormatDuration(t.DuckDB), t.Speedup(),
			FormatBytes(t.Bytes), gbs/1e9, 100*gbs/r.Bandwidth, cached, sizes[t.Case.Name].Size, agree)
	}
	tw.Flush()
	r.printTail(w)
	fmt.Fprintf(w, "min speedup vs duckdb: %.2f\n", r.MinSpeedup())
}

// printTail writes what follows a table: the load times and memory, and
// every case whose members differ.
func (r *Report) printTail(w io.Writer) {
	fmt.Fprintln(w)
	r.printLoad(w)
	for _, c := range r.Checks {
		if c.Diff != "" {
			fmt.Fprintf(w, "MISMATCH %s: segmentkit %s\n", c.Case.Name, c.Diff)
		}
	}
}

// PrintChecks writes the outcome of the checks alone, with load times and
// memory, for a run that times nothing.
func (r *Report) PrintChecks(w io.Writer) {
	fmt.Fprintf(w, "scale %s, members checked, not timed\n\n", r.Scale)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tmembers\tagree\t")
	bad := 0
	for _, c := range r.Checks {
		agree := "yes"
		if c.Diff != "" {
			agree = "NO"
			bad++
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t\n", c.Case.Name, c.Size, agree)
	}
	tw.Flush()
	r.printTail(w)
	fmt.Fprintf(w, "%d of %d cases agree\n", len(r.Checks)-bad, len(r.Checks))
}

func (r *Report) printLoad(w io.Writer) {
	fmt.Fprintf(w, "load from Parquet: segmentkit %s, duckdb %s\n",
		FormatDuration(r.SegmentkitLoad), FormatDuration(r.DuckDBLoad))
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
