package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/exact"
)

var inspectCommand = &command{
	name:    "inspect",
	args:    "--data DIR --segment FILE [--as-of DATE] [--catalog FILE] [--json]",
	summary: "print the size of each group of a segment definition, of each of its top-level conditions alone, and the running size after each set operation",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		data := dataFlag(fs)
		noSnapshotCacheFlag(fs)
		seg := segmentFlag(fs, "segment", "the segment definition", "")
		asOf := asOfFlag(fs, "evaluate")
		cat := catalogFlag(fs, "resolve {\"segment\": ...} references to the members stored in")
		jsonOut := jsonFlag(fs)
		return func(ctx context.Context, c *cli) int {
			return c.inspect(ctx, *data, *seg, *asOf, *cat, *jsonOut, time.Now)
		}
	},
}

var explainCommand = &command{
	name:    "explain",
	args:    "--data DIR --segment FILE --customer KEY [--as-of DATE] [--catalog FILE] [--json]",
	summary: "explain why a customer is or is not a member: each condition's truth for them, their values, and the related rows that decided",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		data := dataFlag(fs)
		noSnapshotCacheFlag(fs)
		seg := segmentFlag(fs, "segment", "the segment definition", "")
		customer := fs.String("customer", "", "explain the customer whose key is `KEY` (required)")
		asOf := asOfFlag(fs, "evaluate")
		cat := catalogFlag(fs, "resolve {\"segment\": ...} references to the members stored in")
		jsonOut := jsonFlag(fs)
		return func(ctx context.Context, c *cli) int {
			return c.explain(ctx, *data, *seg, *customer, *asOf, *cat, *jsonOut, time.Now)
		}
	},
}

func (c *cli) inspect(ctx context.Context, data, seg, asOfText, cat string, jsonOut bool, now func() time.Time) int {
	if code := c.dataDir(data); code >= 0 {
		return code
	}
	if seg == "" {
		return c.usage(errors.New("missing --segment FILE: the segment definition to inspect"))
	}
	asOf, err := parseAsOf(asOfText, now)
	if err != nil {
		return c.usage(err)
	}
	var ins *engine.Inspection
	plan, code := c.withPlan(ctx, data, seg, cat, func(p *engine.Plan) (err error) {
		ins, err = p.Inspect(ctx, asOf)
		return err
	})
	if code >= 0 {
		return code
	}
	defer plan.Snapshot().Release()
	if jsonOut {
		return c.emit(ins)
	}
	if err := writeInspection(c.out, plan.Definition().Name, ins); err != nil {
		return c.fail(fmt.Errorf("write output: %w", err))
	}
	return exitOK
}

// writeInspection prints an inspection for people: a line per group with
// its size and the running size, and under it a line per top-level
// condition with its size alone.
func writeInspection(w io.Writer, name string, ins *engine.Inspection) error {
	fmt.Fprintf(w, "%s: %s members of %s customers\n", name, exact.FormatCount(ins.Members), exact.FormatCount(ins.Customers))
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "size\trunning\t\t")
	for i, g := range ins.Groups {
		label := fmt.Sprintf("group %d", i+1)
		if g.SetOp != "" {
			label += " (" + g.SetOp + ")"
		}
		if len(g.Conditions) == 1 && g.Conditions[0].Path == g.Path {
			label += ": " + g.Condition
		}
		fmt.Fprintf(tw, "%s\t%s\t\t%s\n", exact.FormatCount(g.Size), exact.FormatCount(g.Running), label)
		if len(g.Conditions) == 1 && g.Conditions[0].Path == g.Path {
			continue
		}
		for _, k := range g.Conditions {
			fmt.Fprintf(tw, "%s\t\t\t  %s\n", exact.FormatCount(k.Size), k.Condition)
		}
	}
	return tw.Flush()
}

func (c *cli) explain(ctx context.Context, data, seg, key, asOfText, cat string, jsonOut bool, now func() time.Time) int {
	if code := c.dataDir(data); code >= 0 {
		return code
	}
	if seg == "" {
		return c.usage(errors.New("missing --segment FILE: the segment definition to explain"))
	}
	if key == "" {
		return c.usage(errors.New("missing --customer KEY: the key of the customer to explain"))
	}
	asOf, err := parseAsOf(asOfText, now)
	if err != nil {
		return c.usage(err)
	}
	var ex *engine.Explanation
	plan, code := c.withPlan(ctx, data, seg, cat, func(p *engine.Plan) error {
		snap := p.Snapshot()
		id, ok := snap.CustomerID(key)
		if !ok {
			return unknownCustomer(key, snap.NumCustomers(), snap.CustomerKey)
		}
		var err error
		ex, err = p.Explain(ctx, asOf, id)
		return err
	})
	if code >= 0 {
		return code
	}
	defer plan.Snapshot().Release()
	if jsonOut {
		return c.emit(ex)
	}
	if err := writeExplanation(c.out, plan.Definition().Name, ex); err != nil {
		return c.fail(fmt.Errorf("write output: %w", err))
	}
	return exitOK
}

// unknownCustomer is the error for a customer key that is not in the data:
// with the nearest key when there are few enough customers to compare with
// all of them.
func unknownCustomer(key string, n int, keyOf func(uint32) string) error {
	msg := fmt.Sprintf("--customer %q: no customer has that key (%s customers)", key, exact.FormatCount(n))
	if n <= 100_000 {
		keys := make([]string, n)
		for i := range keys {
			keys[i] = keyOf(uint32(i))
		}
		if s := diag.Nearest(key, keys); s != "" {
			msg += fmt.Sprintf("; did you mean %s?", s)
		}
	}
	return errors.New(msg)
}

// writeExplanation prints an explanation for people: the tree of
// conditions, each marked with whether it holds, the customer's values,
// and the related rows that decided.
func writeExplanation(w io.Writer, name string, ex *engine.Explanation) error {
	verdict := "a member"
	if !ex.Member {
		verdict = "not a member"
	}
	fmt.Fprintf(w, "customer %s is %s of %s\n", ex.Customer, verdict, name)
	for i, g := range ex.Groups {
		label := fmt.Sprintf("group %d", i+1)
		if g.SetOp != "" {
			label += " (" + g.SetOp + ")"
		}
		fmt.Fprintf(w, "%s: %s; a member after it: %s\n", label, holds(g.Condition.Holds), yesNo(g.Running))
		writeNode(w, g.Condition, 1)
	}
	return nil
}

func writeNode(w io.Writer, n *engine.NodeExplanation, depth int) {
	pad := strings.Repeat("  ", depth)
	mark := "[ ]"
	if n.Holds {
		mark = "[x]"
	}
	line := n.Condition
	if len(n.Children) > 0 {
		line = n.Kind
	}
	switch {
	case n.Null:
		line += "  (no value)"
	case n.Kind == "predicate" && n.Rows == nil:
		line += fmt.Sprintf("  (value %s)", n.Value)
	}
	fmt.Fprintf(w, "%s%s %s\n", pad, mark, line)
	if r := n.Rows; r != nil {
		what := fmt.Sprintf("%s of %s %s rows match the where", exact.FormatCount(r.Matched), exact.FormatCount(r.Total), r.Entity)
		if r.Aggregate != "" || r.AggregateNull {
			agg := r.Aggregate
			if r.AggregateNull {
				agg = "no value"
			}
			what += "; the aggregate is " + agg
		}
		fmt.Fprintf(w, "%s    %s\n", pad, what)
		if len(r.Rows) > 0 {
			fmt.Fprintf(w, "%s    %s rows:\n", pad, r.Listed)
			tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
			fmt.Fprintf(tw, "%s      %s\n", pad, strings.Join(r.Attributes, "\t"))
			for _, row := range r.Rows {
				fmt.Fprintf(tw, "%s      %s\n", pad, strings.Join(row, "\t"))
			}
			tw.Flush()
			if listed := listedCount(r); listed > len(r.Rows) {
				fmt.Fprintf(w, "%s      ... and %s more\n", pad, exact.FormatCount(listed-len(r.Rows)))
			}
		}
	}
	for _, k := range n.Children {
		writeNode(w, k, depth+1)
	}
}

func listedCount(r *engine.RelatedRows) int {
	if r.Listed == "failing" {
		return r.Total - r.Matched
	}
	return r.Matched
}

func holds(b bool) string {
	if b {
		return "holds"
	}
	return "does not hold"
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
