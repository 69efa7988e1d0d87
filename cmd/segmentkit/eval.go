package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// The output formats of eval.
var evalFormats = []string{"ids", "count", "csv", "json"}

var evalCommand = &command{
	name:    "eval",
	args:    "--data DIR --segment FILE [--as-of DATE] [--format ids|count|csv|json] [--json] [--catalog FILE]",
	summary: "evaluate a segment definition over a data directory and print its members",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		data := dataFlag(fs)
		noSnapshotCacheFlag(fs)
		seg := segmentFlag(fs, "segment", "the segment definition", "")
		asOf := asOfFlag(fs, "evaluate")
		format := fs.String("format", "ids", "print `FORMAT`: ids (a customer key a line), count, csv (members with their attributes) or json")
		jsonOut := fs.Bool("json", false, "print JSON: the same as --format json")
		cat := catalogFlag(fs, "resolve {\"segment\": ...} references to the members stored in")
		return func(ctx context.Context, c *cli) int {
			a := evalArgs{data: *data, segment: *seg, asOf: *asOf, format: *format, catalog: *cat, now: time.Now}
			if *jsonOut {
				if flagGiven(fs, "format") && a.format != "json" {
					return c.usage(fmt.Errorf("--json and --format %s disagree: give one of them", a.format))
				}
				a.format = "json"
			}
			return c.eval(ctx, a)
		}
	},
}

type evalArgs struct {
	data, segment, asOf, format, catalog string
	now                                  func() time.Time
}

func checkFormat(format string) error {
	if slices.Contains(evalFormats, format) {
		return nil
	}
	msg := fmt.Sprintf("--format %q is not one of ids, count, csv, json", format)
	if s := diag.Nearest(format, evalFormats); s != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", s)
	}
	return errors.New(msg)
}

func (c *cli) eval(ctx context.Context, a evalArgs) int {
	if code := c.dataDir(a.data); code >= 0 {
		return code
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
	var members *roaring.Bitmap
	plan, code := c.withPlan(ctx, a.data, a.segment, a.catalog, func(plan *engine.Plan) (err error) {
		members, err = plan.Eval(ctx, asOf)
		return err
	})
	if code >= 0 {
		return code
	}
	snap, def := plan.Snapshot(), plan.Definition()
	defer snap.Release()
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

// withPlan reads the definition in segFile, checks it against the data
// directory's schema (before loading the data, so that a mistake is
// reported at once, however large the data), loads the data, compiles the
// definition (references resolved through the catalog file) and calls run
// with the plan. A snapshot from the data directory's snapshot file has
// its values checked in the background while run works; what run computed
// from a file found damaged is dropped, and run called again on the data
// files. It returns the plan run was last called with and -1, the plan's
// snapshot for the caller to release, or an exit code.
func (c *cli) withPlan(ctx context.Context, data, segFile, catalogFile string, run func(*engine.Plan) error) (*engine.Plan, int) {
	def, err := c.readSegment("--segment", segFile)
	if err != nil {
		return nil, c.failAt(segFile, err)
	}
	sch, err := readSchema(data)
	if err != nil {
		return nil, c.fail(err)
	}
	refs := definitionRefs(def)
	known := func(string) bool { return true }
	if len(refs) == 0 {
		known = nil
	}
	if err := def.ValidateWith(sch, segment.ValidateOptions{Segments: known}); err != nil {
		return nil, c.failAt(segFile, err)
	}
	lopts := c.storageOptions(nil)
	lopts.VerifySnapshotFile = false
	for {
		snap, _, err := c.loadWith(ctx, data, lopts)
		if err != nil {
			return nil, c.fail(err)
		}
		var plan *engine.Plan
		code := func() int {
			opts := engine.Options{}
			if len(refs) > 0 {
				if opts.Segments, err = catalogMembers(ctx, catalogFile, snap, def, refs); err != nil {
					return c.fail(err)
				}
			}
			if plan, err = engine.Compile(def, snap, opts); err != nil {
				return c.failAt(segFile, err)
			}
			if err := run(plan); err != nil {
				return c.fail(err)
			}
			return -1
		}()
		if code >= 0 {
			snap.Release()
			return nil, code
		}
		err = snap.Verify(ctx)
		if err == nil {
			return plan, -1
		}
		snap.Release()
		if !errors.Is(err, storage.ErrSnapshotFile) || lopts.NoSnapshotCache {
			return nil, c.fail(err)
		}
		fmt.Fprintf(c.stderr, "%s%s; loading the data files\n", c.prefix(), oneLine(err.Error()))
		lopts.NoSnapshotCache = true
	}
}

// definitionRefs returns the names of the segments def references, each
// once, in the order they first appear.
func definitionRefs(def *segment.Definition) []string {
	var names []string
	for _, g := range def.Groups {
		segment.Inspect(g.Condition, func(n segment.Condition) bool {
			if r, ok := n.(*segment.SegmentRef); ok && !slices.Contains(names, r.Name) {
				names = append(names, r.Name)
			}
			return true
		})
	}
	return names
}

// catalogMembers reads the members the catalog file stores for each
// segment and split group def references (names lists the segments), as
// customer ids of snap.
func catalogMembers(ctx context.Context, file string, snap *storage.Snapshot, def *segment.Definition, names []string) (map[string]*roaring.Bitmap, error) {
	if _, err := os.Stat(file); errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("the definition references segments (%s), and catalog %s does not exist; give --catalog FILE", strings.Join(names, ", "), file)
	}
	cat, err := catalog.Open(file, catalog.Options{})
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	out, err := cat.ReferencesIn(ctx, def, snap)
	if err != nil {
		return nil, fmt.Errorf("catalog %s: %w", file, err)
	}
	return out, nil
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

// catalogNames returns whether a segment of that name is in the catalog
// file; nil (no segment exists) when the file does not exist.
func catalogNames(file string) (func(string) bool, error) {
	if _, err := os.Stat(file); errors.Is(err, iofs.ErrNotExist) {
		return nil, nil
	}
	cat, err := catalog.Open(file, catalog.Options{})
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	segs, err := cat.List(catalog.ListOptions{})
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, s := range segs {
		names[s.Name] = true
	}
	return func(n string) bool { return names[n] }, nil
}
