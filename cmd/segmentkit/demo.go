package main

import (
	"context"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// demoShown is how many members the demo prints.
const demoShown = 5

var demoCommand = &command{
	name:    "demo",
	args:    "[--customers N] [--out DIR] [--seed N]",
	summary: "write a retail demo data directory and evaluate the example segment on it",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		customers := fs.Int("customers", demo.DefaultCustomers, "generate `N` customers (ten orders and two support cases each)")
		out := fs.String("out", "", "write the data to `DIR` and keep it (default: a temporary directory, removed at exit)")
		seed := fs.Uint64("seed", 0, "seed the generator with `N`; the same seed gives the same data")
		return func(ctx context.Context, c *cli) int {
			return c.demo(ctx, *customers, *out, *seed)
		}
	},
}

func (c *cli) demo(ctx context.Context, customers int, out string, seed uint64) int {
	if customers <= 0 || customers > demo.MaxCustomers {
		return c.usage(fmt.Errorf("--customers must be between 1 and %s, not %d", formatCount(demo.MaxCustomers), customers))
	}
	dir := out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "segmentkit-demo-")
		if err != nil {
			return c.fail(fmt.Errorf("create a temporary directory: %w", err))
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	} else if st, err := os.Stat(dir); err == nil && !st.IsDir() {
		return c.usage(fmt.Errorf("--out %s: not a directory", dir))
	}

	start := time.Now()
	sum, err := demo.Write(ctx, dir, demo.Options{Customers: customers, Seed: seed})
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

	w := c.out
	fmt.Fprintf(w, "Demo data (seed %d): %s customers, %s orders, %s order lines, %s support cases, %s churn scores\n",
		sum.Seed, formatCount(int64(sum.Customers)), formatCount(int64(sum.Orders)), formatCount(int64(sum.OrderLines)),
		formatCount(int64(sum.SupportCases)), formatCount(int64(sum.ChurnScores)))
	where := dir
	if out == "" {
		where = "a temporary directory (use --out DIR to keep it)"
	}
	fmt.Fprintf(w, "  written to %s: %s in %s\n", where, formatBytes(sum.Bytes), round(written))
	fmt.Fprintf(w, "  loaded in %s\n", round(loaded))
	var broken []string
	for _, r := range snap.LinkReports() {
		if r.Null > 0 || r.Dangling > 0 {
			broken = append(broken, fmt.Sprintf("%s %s null, %s dangling", r.Relationship, formatCount(int64(r.Null)), formatCount(int64(r.Dangling))))
		}
	}
	if len(broken) == 0 {
		broken = []string{"none"}
	}
	fmt.Fprintf(w, "  broken links: %s\n\n", strings.Join(broken, "; "))

	fmt.Fprintf(w, "Segment %s: %s\n", def.Name, def.DisplayName)
	fmt.Fprintf(w, "  %s\n", def.Description)
	fmt.Fprintf(w, "  as of %s: %s members of %s customers\n", sum.AsOf.Format(time.DateOnly),
		formatCount(int64(members.GetCardinality())), formatCount(int64(snap.NumCustomers())))
	fmt.Fprintf(w, "  compiled in %s, evaluated in %s\n", round(compiled), round(evaluated))

	var shown []uint32
	it := members.Iterator()
	for it.HasNext() && len(shown) < demoShown {
		shown = append(shown, it.Next())
	}
	if len(shown) > 0 {
		fmt.Fprintf(w, "\nFirst %d members:\n", len(shown))
		spend := spendLastDays(snap, shown, sum.AsOf, 90)
		country := snap.Customers().Column("Country")
		keyWidth := len("CustomerId")
		for _, id := range shown {
			keyWidth = max(keyWidth, len(snap.CustomerKey(id)))
		}
		fmt.Fprintf(w, "  %-*s  %-7s  %10s\n", keyWidth, "CustomerId", "Country", "Spend90d")
		for _, id := range shown {
			cn := ""
			if country != nil {
				cn = country.Format(int(id))
			}
			sp := "?"
			if v, ok := spend[id]; ok {
				sp = strconv.FormatFloat(v, 'f', 2, 64)
			}
			fmt.Fprintf(w, "  %-*s  %-7s  %10s\n", keyWidth, snap.CustomerKey(id), cn, sp)
		}
	}
	if out != "" {
		seg := filepath.Join(dir, demo.SegmentFile)
		fmt.Fprintf(w, "\nEvaluate it again with:\n  segmentkit eval --data %s --segment %s --as-of %s --format count\n",
			dir, seg, sum.AsOf.Format(time.DateOnly))
	}
	return exitOK
}

// spendLastDays sums Order.Amount over the orders of the given customers
// dated within the last days days of asOf's day, as the example segment's
// first condition does. It reads the snapshot directly, to show the value
// the segment compared; a customer it cannot compute is left out.
func spendLastDays(snap *storage.Snapshot, ids []uint32, asOf time.Time, days int32) map[uint32]float64 {
	out := map[uint32]float64{}
	orders := snap.Table("Order")
	paths := snap.Schema().Paths("Order")
	if orders == nil || len(paths) != 1 {
		return out
	}
	links := snap.Links("Order", paths[0])
	amount, ok1 := columnData[*array.Float64](orders, "Amount")
	date, ok2 := columnData[*array.Date32](orders, "OrderDate")
	if links == nil || !ok1 || !ok2 {
		return out
	}
	want := map[int32]bool{}
	for _, id := range ids {
		want[int32(id)] = true
		out[id] = 0
	}
	today := int32(math.Floor(float64(asOf.Unix()) / 86400))
	for row, c := range links.Customer {
		if c == storage.NoCustomer || !want[c] || amount.IsNull(row) || date.IsNull(row) {
			continue
		}
		if d := int32(date.Value(row)); d >= today-days && d <= today {
			out[uint32(c)] += amount.Value(row)
		}
	}
	return out
}

// columnData returns the named column's array as type A.
func columnData[A any](t *storage.Table, name string) (A, bool) {
	var zero A
	col := t.Column(name)
	if col == nil {
		return zero, false
	}
	a, ok := col.Data.(A)
	return a, ok
}

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
