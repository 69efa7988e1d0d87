package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/storage"
)

// The output formats of eval.
var evalFormats = []string{"ids", "count", "csv", "json"}

var evalCommand = &command{
	name:    "eval",
	args:    "--data DIR --segment FILE [--as-of DATE] [--format ids|count|csv|json]",
	summary: "evaluate a segment definition over a data directory and print its members",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		data := dataFlag(fs)
		seg := segmentFlag(fs)
		asOf := fs.String("as-of", "", "evaluate as of `DATE`: YYYY-MM-DD (the day's start, UTC) or an RFC 3339 instant; default now")
		format := fs.String("format", "ids", "print `FORMAT`: ids (a customer key a line), count, csv (members with their attributes) or json")
		return func(ctx context.Context, c *cli) int {
			return c.eval(ctx, evalArgs{data: *data, segment: *seg, asOf: *asOf, format: *format, now: time.Now})
		}
	},
}

type evalArgs struct {
	data, segment, asOf, format string
	now                         func() time.Time
}

func checkFormat(format string) error {
	if slices.Contains(evalFormats, format) {
		return nil
	}
	msg := fmt.Sprintf("--format %q is not one of ids, count, csv, json", format)
	if s := diag.Nearest(format, evalFormats); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return fmt.Errorf("%s", msg)
}

func (c *cli) eval(ctx context.Context, a evalArgs) int {
	if err := checkDataDir(a.data); err != nil {
		return c.usage(err)
	}
	if a.segment == "" {
		return c.usage(fmt.Errorf("missing --segment FILE: the segment definition to evaluate"))
	}
	asOf, err := parseAsOf(a.asOf, a.now)
	if err != nil {
		return c.usage(err)
	}
	if err := checkFormat(a.format); err != nil {
		return c.usage(err)
	}
	def, err := readSegment(a.segment)
	if err != nil {
		return c.failAt(a.segment, err)
	}
	// Check the definition against schema.json before loading the data, so
	// that a mistake is reported at once, however large the data.
	sch, err := readSchema(a.data)
	if err != nil {
		return c.fail(err)
	}
	if err := def.Validate(sch); err != nil {
		return c.failAt(a.segment, err)
	}
	snap, _, err := c.load(ctx, a.data)
	if err != nil {
		return c.fail(err)
	}
	defer snap.Release()
	plan, err := engine.Compile(def, snap, engine.Options{})
	if err != nil {
		return c.failAt(a.segment, err)
	}
	members, err := plan.Eval(ctx, asOf)
	if err != nil {
		return c.fail(err)
	}
	switch a.format {
	case "count":
		fmt.Fprintln(c.out, members.GetCardinality())
	case "ids":
		writeIDs(c.out, snap, members)
	case "csv":
		err = writeCSV(c.out, snap, members)
	case "json":
		err = writeJSON(c.out, def.Name, asOf, snap, members)
	}
	if err != nil {
		return c.fail(fmt.Errorf("write output: %w", err))
	}
	return exitOK
}

// writeIDs writes the members' customer keys, one a line, in customer id
// order.
func writeIDs(w io.Writer, snap *storage.Snapshot, members *roaring.Bitmap) {
	var line []byte
	it := members.Iterator()
	for it.HasNext() {
		line = append(line[:0], snap.CustomerKey(it.Next())...)
		line = append(line, '\n')
		w.Write(line)
	}
}

// writeCSV writes a header of the customer entity's attribute names, then
// every member's values in customer id order. Nulls are empty fields.
func writeCSV(w io.Writer, snap *storage.Snapshot, members *roaring.Bitmap) error {
	cw := csv.NewWriter(w)
	t := snap.Customers()
	record := make([]string, len(t.Columns))
	for i, col := range t.Columns {
		record[i] = col.Attr.Name
	}
	if err := cw.Write(record); err != nil {
		return err
	}
	it := members.Iterator()
	for it.HasNext() {
		row := int(it.Next())
		for i, col := range t.Columns {
			record[i] = col.Format(row)
		}
		if err := cw.Write(record); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// evalResult is the json output of eval.
type evalResult struct {
	Segment string   `json:"segment"`
	AsOf    string   `json:"asOf"`
	Count   uint64   `json:"count"`
	Members []string `json:"members"`
}

func writeJSON(w io.Writer, name string, asOf time.Time, snap *storage.Snapshot, members *roaring.Bitmap) error {
	res := evalResult{
		Segment: name,
		AsOf:    asOf.UTC().Format(time.RFC3339Nano),
		Count:   members.GetCardinality(),
		Members: make([]string, 0, members.GetCardinality()),
	}
	it := members.Iterator()
	for it.HasNext() {
		res.Members = append(res.Members, snap.CustomerKey(it.Next()))
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(res)
}

// formatCount writes n with thousands separators, for messages.
func formatCount(n int64) string {
	if n < 0 {
		return "-" + formatCount(-n)
	}
	s := strconv.FormatInt(n, 10)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}
