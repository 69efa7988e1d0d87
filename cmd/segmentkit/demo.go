package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// demoShown is how many members the demo prints.
const demoShown = 5

var demoCommand = &command{
	name:    "demo",
	args:    "[--customers N] [--out DIR] [--format csv|parquet] [--seed N] [--json]",
	summary: "write a retail demo data directory and evaluate the example segment on it",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		customers := fs.Int("customers", demo.DefaultCustomers, "generate `N` customers (ten orders and two support cases each)")
		out := fs.String("out", "", "write the data to `DIR` and keep it: a new or empty directory, or one a demo wrote (default: a temporary directory, removed at exit)")
		format := fs.String("format", string(demo.CSV), "write the data files as `FORMAT`: "+demoFormatNames()+" (Parquet: one folder per entity, for Spark, Trino and other warehouses)")
		seed := fs.Uint64("seed", 0, "seed the generator with `N`; the same seed gives the same data")
		jsonOut := jsonFlag(fs)
		return func(ctx context.Context, c *cli) int {
			return c.demo(ctx, demoArgs{customers: *customers, out: *out, format: *format, seed: *seed, json: *jsonOut})
		}
	},
}

// demoFormatNames lists the formats of --format: "csv or parquet".
func demoFormatNames() string {
	var names []string
	for _, f := range demo.Formats() {
		names = append(names, string(f))
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

// demoArgs are the demo command's flags.
type demoArgs struct {
	customers int
	out       string
	format    string
	seed      uint64
	json      bool
}

// demoJSON is what demo --json prints.
type demoJSON struct {
	Dir          string        `json:"dir,omitempty"`
	Format       string        `json:"format"`
	Seed         uint64        `json:"seed"`
	AsOf         string        `json:"asOf"`
	Customers    int           `json:"customers"`
	Orders       int           `json:"orders"`
	OrderLines   int           `json:"orderLines"`
	SupportCases int           `json:"supportCases"`
	ChurnScores  int           `json:"churnScores"`
	Bytes        int64         `json:"bytes"`
	WriteTime    time.Duration `json:"writeDuration"`
	LoadTime     time.Duration `json:"loadDuration"`
	BrokenLinks  []demoLink    `json:"brokenLinks"`
	Segment      string        `json:"segment"`
	Members      uint64        `json:"members"`
	First        []demoMember  `json:"first"`
}

// demoLink is a relationship with broken links.
type demoLink struct {
	Relationship string `json:"relationship"`
	Null         int    `json:"null"`
	Dangling     int    `json:"dangling"`
}

// demoMember is one of the members the demo shows.
type demoMember struct {
	CustomerID string   `json:"customerId"`
	Country    string   `json:"country"`
	Spend90d   *float64 `json:"spend90d"`
}

// checkDemoDir refuses a directory that holds anything the demo does not
// write: the demo overwrites its own files, and must not overwrite or mix
// with others.
func checkDemoDir(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, iofs.ErrNotExist):
		return nil
	case err != nil:
		return fmt.Errorf("--out %s: %w", dir, unwrapPath(err))
	case !st.IsDir():
		return fmt.Errorf("--out %s: not a directory", dir)
	}
	ours := map[string]bool{}
	for _, format := range demo.Formats() {
		for _, f := range demo.Files(format) {
			ours[f] = true
			for d := path.Dir(f); d != "."; d = path.Dir(d) {
				ours[d+"/"] = true
			}
		}
	}
	// WalkDir does not follow a root that is a symbolic link: walk the
	// directory it names.
	root, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return fmt.Errorf("--out %s: %w", dir, unwrapPath(err))
	}
	var foreign []string
	err = filepath.WalkDir(root, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			rel += "/"
		}
		if d.IsDir() && rel == path.Dir(filepath.ToSlash(storage.SnapshotFilePath("")))+"/" {
			// The snapshot file of an earlier load: a cache, which a
			// demo written over it makes stale.
			return filepath.SkipDir
		}
		if !ours[rel] || !d.IsDir() && !d.Type().IsRegular() {
			foreign = append(foreign, rel)
			if d.IsDir() {
				return filepath.SkipDir
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("--out %s: %w", dir, unwrapPath(err))
	}
	if len(foreign) > 0 {
		if len(foreign) > 3 {
			foreign = append(foreign[:3], "...")
		}
		return fmt.Errorf("--out %s holds files the demo does not write (%s); give a new or empty directory, or one a demo wrote", dir, strings.Join(foreign, ", "))
	}
	return nil
}

func (c *cli) demo(ctx context.Context, a demoArgs) int {
	customers, out, seed, jsonOut := a.customers, a.out, a.seed, a.json
	if customers <= 0 || customers > demo.MaxCustomers {
		return c.usage(fmt.Errorf("--customers must be between 1 and %s, not %d", exact.FormatCount(demo.MaxCustomers), customers))
	}
	format, err := demo.ParseFormat(a.format)
	if err != nil || a.format == "" {
		return c.usage(fmt.Errorf("--format must be %s, not %q", demoFormatNames(), a.format))
	}
	dir := out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "segmentkit-demo-")
		if err != nil {
			return c.fail(fmt.Errorf("create a temporary directory: %w", err))
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if err := checkDemoDir(dir); err != nil {
		return c.fail(err)
	}

	start := time.Now()
	sum, err := demo.Write(ctx, dir, demo.Options{Customers: customers, Seed: seed, Format: format})
	if err != nil {
		return c.fail(err)
	}
	written := time.Since(start)

	snap, loaded, err := c.load(ctx, dir)
	if err != nil {
		return c.fail(err)
	}
	defer snap.Release()

	def, err := segment.Parse(demo.ExampleSegment())
	if err != nil {
		return c.failAt(sum.Segment, err)
	}
	start = time.Now()
	plan, err := engine.Compile(def, snap, engine.Options{})
	if err != nil {
		return c.failAt(sum.Segment, err)
	}
	compiled := time.Since(start)
	start = time.Now()
	members, err := plan.Eval(ctx, sum.AsOf)
	if err != nil {
		return c.fail(err)
	}
	evaluated := time.Since(start)

	var shown []uint32
	it := members.Iterator()
	for it.HasNext() && len(shown) < demoShown {
		shown = append(shown, it.Next())
	}
	first, err := demoMembers(ctx, snap, shown, sum.AsOf)
	if err != nil {
		return c.fail(err)
	}
	broken := []demoLink{}
	for _, r := range snap.LinkReports() {
		if r.Null > 0 || r.Dangling > 0 {
			broken = append(broken, demoLink{r.Relationship, r.Null, r.Dangling})
		}
	}
	if jsonOut {
		res := demoJSON{Format: string(sum.Format), Seed: sum.Seed, AsOf: sum.AsOf.Format(time.RFC3339), Customers: sum.Customers, Orders: sum.Orders,
			OrderLines: sum.OrderLines, SupportCases: sum.SupportCases, ChurnScores: sum.ChurnScores, Bytes: sum.Bytes,
			WriteTime: written, LoadTime: loaded, BrokenLinks: broken, Segment: def.Name,
			Members: members.GetCardinality(), First: first}
		if out != "" {
			res.Dir = dir
		}
		return c.emit(res)
	}

	w := c.out
	fmt.Fprintf(w, "Demo data (seed %d): %s customers, %s orders, %s order lines, %s support cases, %s churn scores\n",
		sum.Seed, exact.FormatCount(sum.Customers), exact.FormatCount(sum.Orders), exact.FormatCount(sum.OrderLines),
		exact.FormatCount(sum.SupportCases), exact.FormatCount(sum.ChurnScores))
	where := dir
	if out == "" {
		where = "a temporary directory (use --out DIR to keep it)"
	}
	if sum.Format == demo.Parquet {
		where += " as Parquet"
	}
	fmt.Fprintf(w, "  written to %s: %s in %s\n", where, formatBytes(sum.Bytes), round(written))
	fmt.Fprintf(w, "  loaded in %s\n", round(loaded))
	var links []string
	for _, r := range broken {
		links = append(links, fmt.Sprintf("%s %s null, %s dangling", r.Relationship, exact.FormatCount(r.Null), exact.FormatCount(r.Dangling)))
	}
	if len(links) == 0 {
		links = []string{"none"}
	}
	fmt.Fprintf(w, "  broken links: %s\n\n", strings.Join(links, "; "))

	fmt.Fprintf(w, "Segment %s: %s\n", def.Name, def.DisplayName)
	fmt.Fprintf(w, "  %s\n", def.Description)
	fmt.Fprintf(w, "  as of %s: %s members of %s customers\n", sum.AsOf.Format(time.DateOnly),
		exact.FormatCount(members.GetCardinality()), exact.FormatCount(snap.NumCustomers()))
	fmt.Fprintf(w, "  compiled in %s, evaluated in %s\n", round(compiled), round(evaluated))

	if len(first) > 0 {
		fmt.Fprintf(w, "\nFirst %d members:\n", len(first))
		keyWidth := len("CustomerId")
		for _, m := range first {
			keyWidth = max(keyWidth, len(m.CustomerID))
		}
		fmt.Fprintf(w, "  %-*s  %-7s  %10s\n", keyWidth, "CustomerId", "Country", "Spend90d")
		for _, m := range first {
			sp := "-"
			if m.Spend90d != nil {
				sp = exact.FormatNumber(*m.Spend90d)
			}
			fmt.Fprintf(w, "  %-*s  %-7s  %10s\n", keyWidth, m.CustomerID, m.Country, sp)
		}
	}
	if out != "" {
		seg := filepath.Join(dir, demo.SegmentFile)
		fmt.Fprintf(w, "\nEvaluate it again with:\n  segmentkit eval --data %s --segment %s --as-of %s --format count\n",
			dir, seg, sum.AsOf.Format(time.DateOnly))
	}
	return exitOK
}

// demoMembers returns the shown members with their country and their
// spend in the last 90 days: the demo schema's measure, computed by the
// engine at asOf as the example segment compares it.
func demoMembers(ctx context.Context, snap *storage.Snapshot, ids []uint32, asOf time.Time) ([]demoMember, error) {
	out := make([]demoMember, 0, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	ms, err := segment.ParseMeasures(snap.Schema())
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ms, func(m *segment.Measure) bool { return m.Name == demo.SpendMeasure })
	if i < 0 {
		return nil, fmt.Errorf("the demo schema has no measure %s", demo.SpendMeasure)
	}
	spend, err := engine.EvalMeasure(ctx, snap, ms[i], asOf)
	if err != nil {
		return nil, err
	}
	country := snap.Customers().Column("Country")
	for _, id := range ids {
		m := demoMember{CustomerID: snap.CustomerKey(id)}
		if country != nil {
			m.Country = country.Format(int(id))
		}
		if v, ok := spend.Value(id).(float64); ok {
			m.Spend90d = &v
		}
		out = append(out, m)
	}
	return out, nil
}
