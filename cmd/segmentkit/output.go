package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// Numbers for people are written by two functions, used by every command:
// formatCount for counts (with thousands separators: 15,833) and
// formatNumber for values (shortest form, no float noise: 1493.85).
// Machine output (--json, --format count, CSV) writes plain numbers.

// formatTyped writes a value of a schema type, given as text in a data
// file's form, for people: numbers through formatNumber, anything else as
// it is.
func formatTyped(typ schema.Type, s string) string {
	if typ != schema.Number || s == "" {
		return s
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	return exact.FormatNumber(x)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// round shortens a duration for people.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}

func formatBytes(n int64) string {
	const unit = 1 << 20
	if n < unit {
		return fmt.Sprintf("%.1f KiB", float64(n)/1024)
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/unit)
}

// cell keeps a table cell on one line and never empty.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func plural[N ~int | ~uint64](n N, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// writeLines writes each line of msg (a message that ends with a list of
// problems, one a line) after prefix, so that every problem has its own
// line.
func writeLines(w io.Writer, prefix, msg string) {
	for _, line := range strings.Split(strings.ReplaceAll(msg, "\r", ""), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			io.WriteString(w, prefix+line+"\n")
		}
	}
}

// newTable returns the writer of an aligned text table.
func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

// problemJSON is a problem in JSON output.
// writeProblems writes each problem on its own line, with indent before
// it: "path: message (did you mean X?)".
func writeProblems(w io.Writer, indent string, problems diag.List) {
	for _, p := range problems {
		io.WriteString(w, indent+oneLine(p.Error())+"\n")
	}
}

// segmentDefinitionJSON is a segment's stored definition as JSON: itself
// when it is valid JSON, otherwise the string of its bytes.
func segmentDefinitionJSON(seg *catalog.Segment) []byte {
	if json.Valid(seg.Definition) {
		return seg.Definition
	}
	b, _ := json.Marshal(string(seg.Definition))
	return b
}

// writeJob writes a job's details as text.
func writeJob(w io.Writer, j *catalog.Job) {
	what := strings.Join(j.Requested, ", ")
	if j.All {
		what = "all segments"
	}
	fmt.Fprintf(w, "job %d %s: %s (%s), started %s, processing time %s", j.ID, j.Status, what, j.Trigger,
		formatTime(j.Started), round(j.Duration))
	if !j.AsOf.IsZero() {
		fmt.Fprintf(w, ", as of %s", formatTime(j.AsOf))
	}
	fmt.Fprintln(w)
	if d := j.Data; d != nil {
		fmt.Fprintf(w, "data: %s, %s customers, loaded in %s", d.Source, exact.FormatCount(d.Customers), round(d.LoadDuration))
		if d.Load != "" {
			fmt.Fprintf(w, " (%s)", d.Load)
		}
		fmt.Fprintln(w)
	}
	for _, e := range j.Errors {
		writeLines(w, "error: ", e)
	}
	for _, m := range j.Warnings {
		writeLines(w, "warning: ", m)
	}
	if len(j.Tasks) == 0 {
		return
	}
	tw := newTable(w)
	fmt.Fprintln(tw, "  SEGMENT\tSTATUS\tMEMBERS\tENTERED\tLEFT\tTIME\tREASON")
	for _, t := range j.Tasks {
		members, entered, left := "-", "-", "-"
		if t.Status == catalog.Successful {
			members, entered, left = exact.FormatCount(t.MemberCount), exact.FormatCount(t.Entered), exact.FormatCount(t.Left)
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Segment, t.Status, members, entered, left, round(t.Duration), t.Reason)
	}
	tw.Flush()
	for _, t := range j.Tasks {
		for _, e := range t.Errors {
			writeLines(w, "  "+t.Segment+": error: ", e)
		}
		for _, m := range t.Warnings {
			writeLines(w, "  "+t.Segment+": warning: ", m)
		}
	}
}
