package benchmarks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/segmentkit/segmentkit/benchmarks/gen"
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
	// ScratchDiff is, for an insight, "" when segmentkit's answer from
	// statistics computed anew (Segmentkit.FromScratch) is the one from
	// the statistics kept since load; otherwise how it differs.
	ScratchDiff string
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
	if c.Diff != "" || c.ScratchDiff != "" {
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
// compares their answers with segmentkit's; an insight is also answered
// by segmentkit from scratch (Segmentkit.FromScratch), which must give
// the answer of the statistics kept. An error of segmentkit or
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
	if c.Kind != suite.Members {
		fresh, err := sk.FromScratch().Result(ctx, c)
		if err != nil {
			return Check{}, err
		}
		chk.ScratchDiff = fresh.Diff(got)
	}
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
	// Scratch is, for an insight, segmentkit's median answer from
	// statistics computed in the run (Segmentkit.FromScratch), as DuckDB
	// computes its answer; 0 for a segment.
	Scratch time.Duration
	// Bandwidth is the median of the memory read bandwidth measured once
	// per repetition of the case's runs, in bytes per second; 0 when
	// TimeCase had no probe.
	Bandwidth float64
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

// ScratchSpeedup is, for an insight, DuckDB's median over segmentkit's
// from statistics computed in the run; 0 for a segment.
func (t Timing) ScratchSpeedup() float64 {
	if t.Scratch == 0 {
		return 0
	}
	return t.DuckDB.Seconds() / t.Scratch.Seconds()
}

// TimeCase runs c once on each engine as a warm-up, then runs repetitions
// of one run on each engine, interleaved: in every repetition each engine
// runs once, the engines taking turns at going first, so that a busy
// moment of the machine falls on all of them alike. The engines are
// segmentkit, DuckDB, for an insight segmentkit from scratch
// (Segmentkit.FromScratch), and the others; a nil other is not run (a
// case it does not answer). It returns the medians. A garbage collection
// runs before every run, outside the timing, so that one engine's garbage
// is not collected during another's run. With a probe, every repetition
// starts with one measurement of the memory bandwidth, outside the
// timing, and Timing.Bandwidth is their median. An error of segmentkit or
// DuckDB is returned; an other engine that fails is recorded in its
// OtherTiming and left out of the rest of the runs.
func TimeCase(ctx context.Context, sk *Segmentkit, db *DuckDB, c suite.Case, runs int, probe *BandwidthProbe, others ...Engine) (Timing, error) {
	// The engines whose errors are returned come first.
	engines := []Engine{sk, db}
	if c.Kind != suite.Members {
		engines = append(engines, sk.FromScratch())
	}
	required := len(engines)
	engines = append(engines, others...)
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
		case err != nil && k < required:
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
	var bandwidths []float64
	for i := range runs {
		if probe != nil {
			bandwidths = append(bandwidths, probe.Measure())
		}
		for j := range engines {
			if err := timeRun((i + j) % len(engines)); err != nil {
				return Timing{}, err
			}
		}
	}
	t := Timing{Case: c, Segmentkit: median(times[0]), DuckDB: median(times[1]), Bytes: BytesRead(sk.Snap, c)}
	if len(bandwidths) > 0 {
		slices.Sort(bandwidths)
		n := len(bandwidths)
		t.Bandwidth = (bandwidths[(n-1)/2] + bandwidths[n/2]) / 2
	}
	if required > 2 {
		t.Scratch = median(times[2])
	}
	for k := required; k < len(engines); k++ {
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
	Scale string
	Runs  int
	// Timings are the timed cases: the segments go in the main table,
	// the insights in a table of their own below it.
	Timings []Timing
	Checks  []Check
	// Engines name the other engines' columns, in the order of
	// Check.Others and Timing.Others.
	Engines []string
	// Target is the speedup over DuckDB the segments are held to: the
	// report names those below it. Zero names none.
	Target float64
	// ProbeBytes is the size of the buffer the bandwidth probe reads,
	// ProbeWorkers the goroutines reading it.
	ProbeBytes   int64
	ProbeWorkers int

	// SegmentkitLoad is segmentkit's load from Parquet, the insight
	// statistics included (SegmentkitStats of it).
	SegmentkitLoad, SegmentkitStats time.Duration
	// DuckDBLoad is DuckDB's load from Parquet in DuckDBOrder, its
	// ordering included; DuckDBFileOrder is the same load in file order
	// when it was timed too (0 otherwise). DuckDBTables are the tables'
	// load times, in the order of gen.Entities.
	DuckDBLoad, DuckDBFileOrder time.Duration
	DuckDBOrder                 DuckDBOrder
	DuckDBTables                []time.Duration
	// SnapshotBytes is the snapshot's MemoryBytes; RawBytes the plain
	// column bytes (RawBytes); DuckDBBytes what DuckDB reports in use
	// once loaded.
	SnapshotBytes, RawBytes, DuckDBBytes int64
	// LoadRSS is the process's resident memory during segmentkit's load
	// (PeakRSS reset just before it), with nothing else allocated beside
	// it: the bandwidth probe's buffer comes later.
	LoadRSS RSSSpan
	// DuckDBRSS is the same for DuckDB's load, which starts with
	// segmentkit's snapshot in memory.
	DuckDBRSS RSSSpan
	// PeakRSS is the process's peak resident memory over the whole run
	// (both engines, the generator, the bandwidth probe's buffer), 0
	// when unknown.
	PeakRSS int64
	// ClickHouse is the loading of the ClickHouse cluster, when one was
	// loaded.
	ClickHouse *ClickHouseLoad
}

// RSSSpan is the resident memory of the process over one step.
type RSSSpan struct {
	// Before is the resident memory when the step began; Peak the peak
	// during it (VmHWM). Both are 0 when /proc does not tell them.
	Before, Peak int64
	// SinceStart is set when the peak could not be reset before the
	// step: Peak is then the process's peak since it started.
	SinceStart bool
}

// Segments are the timings of the segments, in the report's order.
func (r *Report) Segments() []Timing {
	var ts []Timing
	for _, t := range r.Timings {
		if t.Case.Kind == suite.Members {
			ts = append(ts, t)
		}
	}
	return ts
}

// Insights are the timings of the insights, in the report's order.
func (r *Report) Insights() []Timing {
	var ts []Timing
	for _, t := range r.Timings {
		if t.Case.Kind != suite.Members {
			ts = append(ts, t)
		}
	}
	return ts
}

// MinSpeedup is the smallest speedup over the timed segments; the
// insights are left out (they are compared apart). It is +Inf when no
// segment was timed.
func (r *Report) MinSpeedup() float64 {
	m := math.Inf(1)
	for _, t := range r.Segments() {
		m = min(m, t.Speedup())
	}
	return m
}

// BelowTarget returns the timed segments whose speedup is below
// r.Target, slowest first; none when Target is 0.
func (r *Report) BelowTarget() []Timing {
	var ts []Timing
	if r.Target <= 0 {
		return nil
	}
	for _, t := range r.Segments() {
		if t.Speedup() < r.Target {
			ts = append(ts, t)
		}
	}
	slices.SortStableFunc(ts, func(a, b Timing) int { return cmp.Compare(a.Speedup(), b.Speedup()) })
	return ts
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

// orderText says how DuckDB's related tables are ordered.
func (r *Report) orderText() string {
	if r.DuckDBOrder == FileOrder {
		return "duckdb's tables in file order (--duckdb-order=file), segmentkit's related rows clustered by customer"
	}
	return "duckdb's related tables ordered by customer at load, as segmentkit clusters them"
}

// Print writes the report: the table of the segments' timings, the table
// of the insights (apart, out of the minimum), load times and memory,
// the segments below the target, and last the line "min speedup vs
// duckdb: X.XX" (over the segments). An other engine's cell is its
// median and, in parentheses, that over segmentkit's. A case's *of
// bandwidth* is against the bandwidth measured beside its own runs.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "scale %s, medians of %d interleaved repetitions (every engine runs once in each, taking turns at going first); %s\n",
		r.Scale, r.Runs, r.orderText())
	if r.ProbeBytes > 0 {
		fmt.Fprintf(w, "bandwidth: measured beside each case, once per repetition (%d goroutines summing a %s buffer), the median of the case's\n",
			r.ProbeWorkers, formatBinary(r.ProbeBytes))
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tsegmentkit\tduckdb\tspeedup\t"+r.otherHeader()+"bytes read\tGB/s\tbandwidth\tof bandwidth\tcached re-eval\tmembers\tagree\t")
	checks := map[string]Check{}
	for _, c := range r.Checks {
		checks[c.Case.Name] = c
	}
	var notes footnotes
	for _, t := range r.Segments() {
		chk := checks[t.Case.Name]
		gbs := float64(t.Bytes) / t.Segmentkit.Seconds()
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
		bw, ofBW := "-", "-"
		if t.Bandwidth > 0 {
			bw = fmt.Sprintf("%.1f", t.Bandwidth/1e9)
			ofBW = fmt.Sprintf("%.0f%%", 100*gbs/t.Bandwidth)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%.2fx\t%s%s\t%.2f\t%s\t%s\t%s\t%d\t%s\t\n", t.Case.Name,
			FormatDuration(t.Segmentkit), FormatDuration(t.DuckDB), t.Speedup(), others.String(),
			FormatBytes(t.Bytes), gbs/1e9, bw, ofBW, cached, chk.Size, agreeText(chk))
	}
	tw.Flush()
	if ins := r.Insights(); len(ins) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "insights, apart and out of the minimum: segmentkit answers from statistics it builds at load (kept); from scratch, it builds them in the run, as duckdb computes its answer in the run")
		fmt.Fprintln(w)
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "insight\tsegmentkit (kept)\tsegmentkit (from scratch)\tduckdb\tspeedup from scratch\tspeedup kept\trows\tagree\t")
		for _, t := range ins {
			chk := checks[t.Case.Name]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%.2fx\t%.0fx\t%d\t%s\t\n", t.Case.Name,
				FormatDuration(t.Segmentkit), FormatDuration(t.Scratch), FormatDuration(t.DuckDB),
				t.ScratchSpeedup(), t.Speedup(), chk.Size, agreeText(chk))
		}
		tw.Flush()
	}
	r.printTail(w, notes)
	if r.Target > 0 {
		below := r.BelowTarget()
		names := make([]string, len(below))
		for i, t := range below {
			names[i] = fmt.Sprintf("%s %.2fx", t.Case.Name, t.Speedup())
		}
		line := fmt.Sprintf("segments at least %gx faster than duckdb: %d of %d", r.Target, len(r.Segments())-len(below), len(r.Segments()))
		if len(below) > 0 {
			line += "; below: " + strings.Join(names, ", ")
		}
		fmt.Fprintln(w, line)
	}
	fmt.Fprintf(w, "min speedup vs duckdb: %.2f\n", r.MinSpeedup())
}

// agreeText is a check's agree cell.
func agreeText(c Check) string {
	if c.Agree() {
		return "yes"
	}
	return "NO"
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
		if c.ScratchDiff != "" {
			fmt.Fprintf(w, "MISMATCH %s, segmentkit from scratch: %s\n", c.Case.Name, c.ScratchDiff)
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
	fmt.Fprintf(w, "scale %s, members checked, not timed; %s\n\n", r.Scale, r.orderText())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "segment\tmembers\t"+r.otherHeader()+"agree\t")
	var notes footnotes
	bad := 0
	for _, c := range r.Checks {
		if !c.Agree() {
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
		fmt.Fprintf(tw, "%s\t%d\t%s%s\t\n", c.Case.Name, c.Size, others.String(), agreeText(c))
	}
	tw.Flush()
	r.printTail(w, notes)
	fmt.Fprintf(w, "%d of %d cases agree\n", len(r.Checks)-bad, len(r.Checks))
}

func (r *Report) printLoad(w io.Writer) {
	duck := FormatDuration(r.DuckDBLoad)
	switch {
	case r.DuckDBOrder == FileOrder:
		duck += " in file order"
	case r.DuckDBFileOrder > 0:
		duck += fmt.Sprintf(" ordered by customer (in file order %s: the ordering adds %s)",
			FormatDuration(r.DuckDBFileOrder), FormatDuration(r.DuckDBLoad-r.DuckDBFileOrder))
	default:
		duck += " ordered by customer"
	}
	fmt.Fprintf(w, "load from Parquet: segmentkit %s (the insight statistics %s of it), duckdb %s\n",
		FormatDuration(r.SegmentkitLoad), FormatDuration(r.SegmentkitStats), duck)
	if len(r.DuckDBTables) == len(gen.Entities) {
		parts := make([]string, len(gen.Entities))
		for i, e := range gen.Entities {
			parts[i] = e + " " + FormatDuration(r.DuckDBTables[i])
		}
		fmt.Fprintf(w, "duckdb's tables: %s\n", strings.Join(parts, ", "))
	}
	if ch := r.ClickHouse; ch != nil {
		fmt.Fprintf(w, "load into clickhouse, %d shards (%d rows from the snapshot, RowBinary over HTTP, and OPTIMIZE FINAL): %s; an HTTP round trip (SELECT 1): %s\n",
			ch.Shards, ch.Rows, FormatDuration(ch.Time), FormatDuration(ch.RoundTrip))
	}
	fmt.Fprintf(w, "segmentkit snapshot memory: %s for %s of raw column bytes (%.2fx); duckdb in use after load: %s\n",
		FormatBytes(r.SnapshotBytes), FormatBytes(r.RawBytes), float64(r.SnapshotBytes)/float64(r.RawBytes),
		FormatBytes(r.DuckDBBytes))
	if l := r.LoadRSS; l.Peak > 0 {
		since := fmt.Sprintf("the process held %s before it", FormatBytes(l.Before))
		if l.SinceStart {
			since = "the peak since the process started: it could not be reset before the load"
		}
		fmt.Fprintf(w, "segmentkit load peak RSS: %s, %.2fx the snapshot bytes (%s); %s\n",
			FormatBytes(l.Peak), float64(l.Peak)/float64(r.SnapshotBytes), FormatBytes(r.SnapshotBytes), since)
	}
	if d := r.DuckDBRSS; d.Peak > 0 && !d.SinceStart {
		fmt.Fprintf(w, "duckdb load peak RSS: %s above the %s the process held before it\n",
			FormatBytes(d.Peak-d.Before), FormatBytes(d.Before))
	}
	if r.PeakRSS > 0 {
		fmt.Fprintf(w, "peak resident memory of the process: %s (both engines, and the bandwidth probe's buffer while timing)\n", FormatBytes(r.PeakRSS))
	}
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

// formatBinary writes n in MiB or GiB.
func formatBinary(n int64) string {
	if n >= 1<<30 && n%(1<<30) == 0 {
		return fmt.Sprintf("%d GiB", n>>30)
	}
	return fmt.Sprintf("%d MiB", n>>20)
}
