package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// quickVerb is one verb of "segmentkit quick".
type quickVerb struct {
	name, args, summary string
	// flags declares the verb's flags on fs and returns the function that
	// runs it once they are parsed.
	flags func(fs *flag.FlagSet) func(ctx context.Context, c *cli) int
}

var quickVerbs = []*quickVerb{
	{name: "fields", args: "--data DIR [--source SOURCE] [--as-of DATE] [--json]",
		summary: "list the fields a quick segment can use, with their types and kinds",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
			a := quickFlags(fs, false)
			return func(ctx context.Context, c *cli) int { return c.quickFields(ctx, a) }
		}},
	{name: "insights", args: "--data DIR --field FIELD [--segment FILE] [--as-of DATE] [--json]",
		summary: "show a field's top values (categorical) or percentiles (numerical)",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
			a := quickFlags(fs, true)
			a.within = fs.String("segment", "", "count only the members of the segment definition in the JSON `FILE`")
			return func(ctx context.Context, c *cli) int { return c.quickInsights(ctx, a) }
		}},
	{name: "estimate", args: "--data DIR --field FIELD --op OP --value VALUE [--segment FILE] [--as-of DATE] [--json]",
		summary: "print the exact size of a quick segment",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
			a := quickFlags(fs, true)
			opFlags(fs, a)
			a.within = fs.String("segment", "", "count only the members of the segment definition in the JSON `FILE`")
			return func(ctx context.Context, c *cli) int { return c.quickEstimate(ctx, a) }
		}},
	{name: "create", args: "--data DIR --field FIELD --op OP --value VALUE --name NAME [--display-name TEXT] [--catalog FILE [--activate] | --out FILE] [--as-of DATE] [--json]",
		summary: "build a quick segment's definition and save it in a catalog, or write it out",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
			a := quickFlags(fs, true)
			opFlags(fs, a)
			a.name = fs.String("name", "", "name the segment `NAME`: letters, digits, '_' and '-' (required)")
			a.displayName = fs.String("display-name", "", "give the segment the display name `TEXT`")
			a.catalog = fs.String("catalog", "", "save the segment in the catalog `FILE` (created if missing)")
			a.activate = fs.Bool("activate", false, "with --catalog: save the segment active and compute its members")
			a.out = fs.String("out", "", "write the definition's JSON to `FILE` instead of standard output")
			return func(ctx context.Context, c *cli) int { return c.quickCreate(ctx, a) }
		}},
}

// quickArgs holds the flags of the quick verbs; a verb leaves the flags it
// does not take nil.
type quickArgs struct {
	data, asOf, source, field *string
	op, value, within         *string
	name, displayName         *string
	catalog, out              *string
	json, activate            *bool
	now                       func() time.Time
}

func quickFlags(fs *flag.FlagSet, field bool) *quickArgs {
	a := &quickArgs{now: time.Now}
	a.data = dataFlag(fs)
	a.source = fs.String("source", "", "use the fields of `SOURCE`: profiles, measures or intelligence (default all)")
	if field {
		a.field = fs.String("field", "", "use the field `FIELD`, as Entity.Attribute (Customer.Age, Measures.Spend90d); with --source, the attribute alone (required)")
	}
	a.asOf = fs.String("as-of", "", "compute measures as of `DATE`: YYYY-MM-DD (the day's start, UTC) or an RFC 3339 instant; default now")
	a.json = fs.Bool("json", false, "print JSON instead of text")
	return a
}

func opFlags(fs *flag.FlagSet, a *quickArgs) {
	a.op = fs.String("op", "", "compare with `OP`: is (categorical fields), between, greaterThan or lessThan (numerical fields) (required)")
	a.value = fs.String("value", "", "compare with `VALUE`, typed as the field: a number, a YYYY-MM-DD date, an RFC 3339 datetime, true or false, or text; for between, low,high (required)")
}

// runQuick runs "segmentkit quick VERB [flags]": args are the arguments
// after "quick". It returns the exit code. Results go to stdout; each
// error is one line on stderr. It never panics: a panic below it is
// reported as an internal error.
func runQuick(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer recoverInternal("quick", stderr, &code)
	verb, code, ok := pickVerb("quick", args, stdout, stderr, quickVerbs, func(v *quickVerb) string { return v.name }, writeQuickUsage)
	if !ok {
		return code
	}
	c := &cli{name: "quick " + verb.name, stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	do := verb.flags(fs)
	if err := checkFlags(fs, args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeQuickVerbUsage(stdout, verb, fs)
			return exitOK
		}
		return c.quickUsage(err)
	}
	if err := fs.Parse(args[1:]); err != nil {
		return c.quickUsage(err)
	}
	if fs.NArg() > 0 {
		return c.quickUsage(fmt.Errorf("unexpected argument %q; quick %s takes only flags", fs.Arg(0), verb.name))
	}
	out := bufio.NewWriterSize(stdout, 64<<10)
	c.out = out
	code = do(ctx, c)
	if err := out.Flush(); err != nil && code == exitOK {
		return c.fail(fmt.Errorf("write output: %w", err))
	}
	return code
}

func writeQuickUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("segmentkit quick builds segments from one field and one operator, with insights and an exact size.\n\n")
	b.WriteString("Usage:\n  segmentkit quick <verb> [flags]\n\nVerbs:\n")
	for _, v := range quickVerbs {
		fmt.Fprintf(&b, "  %-10s %s\n", v.name, v.summary)
	}
	b.WriteString("\nRun 'segmentkit quick <verb> --help' for a verb's flags.\n")
	io.WriteString(w, b.String())
}

func writeQuickVerbUsage(w io.Writer, v *quickVerb, fs *flag.FlagSet) {
	writeCommandUsage(w, &command{name: "quick " + v.name, args: v.args, summary: v.summary}, fs)
}

// quickUsage reports a command-line mistake and returns exitUsage.
func (c *cli) quickUsage(err error) int {
	fmt.Fprintf(c.stderr, "segmentkit %s: %v\nRun 'segmentkit %s --help' for usage.\n", c.name, err, c.name)
	return exitUsage
}

// quickSession is what every quick verb works on once its flags are
// checked: the loaded snapshot and its statistics at the as-of instant.
type quickSession struct {
	snap   *storage.Snapshot
	view   quick.View
	source *quick.Source // nil: every source
}

// quickOpen checks the common flags and loads the data. It returns the exit
// code to stop with, or -1 to go on; the caller releases s.snap.
func (c *cli) quickOpen(ctx context.Context, a *quickArgs) (s quickSession, code int) {
	if err := checkDataDir(*a.data); err != nil {
		return s, c.quickUsage(err)
	}
	asOf, err := parseAsOf(*a.asOf, a.now)
	if err != nil {
		return s, c.quickUsage(err)
	}
	if *a.source != "" {
		src, err := quick.ParseSource(*a.source)
		if err != nil {
			return s, c.quickUsage(fmt.Errorf("--source %q is not profiles, measures or intelligence", *a.source))
		}
		s.source = &src
	}
	if a.field != nil && *a.field == "" {
		return s, c.quickUsage(errors.New("missing --field FIELD: the field of the quick segment, such as Customer.Age"))
	}
	if a.op != nil {
		switch {
		case *a.op == "":
			return s, c.quickUsage(errors.New("missing --op OP: is, between, greaterThan or lessThan"))
		case *a.value == "" && !strings.EqualFold(*a.op, "is"):
			return s, c.quickUsage(errors.New("missing --value VALUE: the value to compare with"))
		}
		if _, err := quick.ParseOp(*a.op); err != nil {
			msg := fmt.Sprintf("--op %q is not one of is, between, greaterThan, lessThan", *a.op)
			if n := diag.Nearest(*a.op, []string{"is", "between", "greaterThan", "lessThan"}); n != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", n)
			}
			return s, c.quickUsage(errors.New(msg))
		}
	}
	if a.name != nil {
		if *a.name == "" {
			return s, c.quickUsage(errors.New("missing --name NAME: the segment's name"))
		}
		if err := segment.ValidateName(*a.name); err != nil {
			return s, c.quickUsage(fmt.Errorf("--name: %w", err))
		}
		if *a.catalog != "" && *a.out != "" {
			return s, c.quickUsage(errors.New("--catalog and --out exclude each other: save in a catalog, or write the definition to a file"))
		}
		if *a.activate && *a.catalog == "" {
			return s, c.quickUsage(errors.New("--activate needs --catalog FILE"))
		}
	}
	snap, _, err := c.load(ctx, *a.data)
	if err != nil {
		return s, c.fail(err)
	}
	s.snap = snap
	s.view = quick.New(snap, quick.Options{}).At(asOf)
	return s, -1
}

// fieldName resolves --field: Entity.Attribute, or with --source an
// attribute of that source.
func (s quickSession) fieldName(ctx context.Context, name string) (string, error) {
	if s.source == nil {
		return name, nil
	}
	fs, err := s.view.Fields(ctx, *s.source)
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(fs))
	for _, f := range fs {
		if f.Name == name || f.Attribute == name && !strings.Contains(name, ".") {
			return f.Name, nil
		}
		names = append(names, f.Name)
	}
	p := &diag.Problem{Path: "--field", Err: quick.ErrUnknownField, Suggestion: diag.Nearest(name, names),
		Message: fmt.Sprintf("%s has no field %q", *s.source, name)}
	if p.Suggestion == "" {
		for _, f := range fs {
			if strings.EqualFold(f.Attribute, name) {
				p.Suggestion = f.Name
			}
		}
	}
	return "", p
}

// quickWithin evaluates --segment, if given, to the members to restrict to.
func (c *cli) quickWithin(ctx context.Context, s quickSession, file string) (*roaring.Bitmap, int) {
	if file == "" {
		return nil, -1
	}
	def, err := readSegment(file)
	if err != nil {
		return nil, c.failAt(file, err)
	}
	plan, err := engine.Compile(def, s.snap, engine.Options{})
	if err != nil {
		return nil, c.failAt(file, err)
	}
	members, err := plan.Eval(ctx, s.view.AsOf())
	if err != nil {
		return nil, c.fail(err)
	}
	return members, -1
}

// quickFieldJSON is a field in the JSON output.
type quickFieldJSON struct {
	Name        string `json:"name"`
	Source      string `json:"source"`
	Type        string `json:"type"`
	Kind        string `json:"kind"`
	DisplayName string `json:"displayName,omitempty"`
}

func quickFieldOut(f quick.Field) quickFieldJSON {
	return quickFieldJSON{Name: f.Name, Source: f.Source.String(), Type: f.Type.String(), Kind: f.Kind.String(), DisplayName: f.DisplayName}
}

func (c *cli) quickFields(ctx context.Context, a *quickArgs) int {
	s, code := c.quickOpen(ctx, a)
	if code >= 0 {
		return code
	}
	defer s.snap.Release()
	sources := quick.Sources()
	if s.source != nil {
		sources = []quick.Source{*s.source}
	}
	var fields []quick.Field
	for _, src := range sources {
		fs, err := s.view.Fields(ctx, src)
		if err != nil {
			return c.fail(fmt.Errorf("%s: %w", src, err))
		}
		fields = append(fields, fs...)
	}
	if *a.json {
		out := make([]quickFieldJSON, len(fields))
		for i, f := range fields {
			out[i] = quickFieldOut(f)
		}
		return c.writeQuickJSON(out)
	}
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "FIELD\tSOURCE\tTYPE\tKIND\tDISPLAY NAME")
	for _, f := range fields {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, f.Source, f.Type, f.Kind, f.DisplayName)
	}
	tw.Flush()
	return exitOK
}

// quickValue writes a definition value as JSON; a value JSON cannot hold
// (an infinite number) is written as its text.
type quickValue segment.Value

func (v quickValue) MarshalJSON() ([]byte, error) {
	if b, err := segment.Value(v).MarshalJSON(); err == nil {
		return b, nil
	}
	return json.Marshal(quickValueText(segment.Value(v)))
}

// quickValueText writes a value for people: strings and dates as they are,
// numbers as written.
func quickValueText(v segment.Value) string {
	switch v.Kind {
	case segment.StringValue:
		if v.Str == "" {
			return `""`
		}
		return v.Str
	case segment.NumberValue:
		return string(v.Num)
	case segment.BoolValue:
		if v.Bool {
			return "true"
		}
		return "false"
	case segment.ListValue:
		parts := make([]string, len(v.List))
		for i, x := range v.List {
			parts[i] = quickValueText(x)
		}
		return strings.Join(parts, " and ")
	}
	return "null"
}

type quickValueCount struct {
	Value     quickValue `json:"value"`
	Customers int        `json:"customers"`
}

type quickInsightsJSON struct {
	quickFieldJSON
	AsOf        string            `json:"asOf"`
	Customers   int               `json:"customers"`
	Nulls       int               `json:"nulls"`
	Distinct    int               `json:"distinct"`
	Top         []quickValueCount `json:"top,omitempty"`
	Other       *int              `json:"other,omitempty"`
	Percentiles []quickValue      `json:"percentiles,omitempty"`
}

func (c *cli) quickInsights(ctx context.Context, a *quickArgs) int {
	s, code := c.quickOpen(ctx, a)
	if code >= 0 {
		return code
	}
	defer s.snap.Release()
	within, code := c.quickWithin(ctx, s, *a.within)
	if code >= 0 {
		return code
	}
	name, err := s.fieldName(ctx, *a.field)
	if err != nil {
		return c.fail(err)
	}
	var ins *quick.Insights
	if within != nil {
		ins, err = s.view.InsightsIn(ctx, name, within)
	} else {
		ins, err = s.view.Insights(ctx, name)
	}
	if err != nil {
		return c.fail(err)
	}
	if *a.json {
		out := quickInsightsJSON{quickFieldJSON: quickFieldOut(ins.Field), AsOf: s.view.AsOf().Format(time.RFC3339Nano),
			Customers: ins.Customers, Nulls: ins.Nulls, Distinct: ins.Distinct}
		if ins.Field.Kind == quick.Categorical {
			out.Top = make([]quickValueCount, len(ins.Top))
			for i, t := range ins.Top {
				out.Top[i] = quickValueCount{quickValue(t.Value), t.Customers}
			}
			out.Other = &ins.Other
		}
		for _, p := range ins.Percentiles {
			out.Percentiles = append(out.Percentiles, quickValue(p))
		}
		return c.writeQuickJSON(out)
	}
	f := ins.Field
	fmt.Fprintf(c.out, "%s (%s, %s): %s customers, %s with no value, %s distinct values\n",
		f.Name, f.Type, f.Kind, formatCount(int64(ins.Customers)), formatCount(int64(ins.Nulls)), formatCount(int64(ins.Distinct)))
	tw := tabwriter.NewWriter(c.out, 0, 4, 2, ' ', 0)
	if f.Kind == quick.Categorical {
		fmt.Fprintln(tw, "VALUE\tCUSTOMERS\tSHARE")
		row := func(label string, n int) {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", label, formatCount(int64(n)), quickPercent(n, ins.Customers))
		}
		for _, t := range ins.Top {
			row(quickValueText(t.Value), t.Customers)
		}
		if ins.Other > 0 {
			row("(other values)", ins.Other)
		}
		if ins.Nulls > 0 {
			row("(no value)", ins.Nulls)
		}
	} else {
		fmt.Fprintln(tw, "PERCENTILE\tVALUE")
		for p, v := range ins.Percentiles {
			fmt.Fprintf(tw, "p%d\t%s\n", p, quickValueText(v))
		}
	}
	tw.Flush()
	return exitOK
}

func quickPercent(n, of int) string {
	if of == 0 {
		return "0%"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(n)/float64(of))
}

type quickEstimateJSON struct {
	Field     string     `json:"field"`
	Operator  string     `json:"operator"`
	Value     quickValue `json:"value"`
	AsOf      string     `json:"asOf"`
	Members   int        `json:"members"`
	Customers int        `json:"customers"`
	Share     float64    `json:"share"`
}

// quickTarget is the field, operator and value of estimate and create,
// and the quick segment's size: over every customer, or over the members
// of within.
type quickTarget struct {
	name  string
	op    quick.Op
	value segment.Value
	size  quick.Size
}

// quickQuery resolves the field, operator and value of estimate and
// create, and estimates the segment's size, within the members of within
// when it is not nil. It returns the exit code to stop with, or -1.
func (c *cli) quickQuery(ctx context.Context, s quickSession, a *quickArgs, within *roaring.Bitmap) (quickTarget, int) {
	name, err := s.fieldName(ctx, *a.field)
	if err != nil {
		return quickTarget{}, c.fail(err)
	}
	op, _ := quick.ParseOp(*a.op) // checked by quickOpen
	f, err := s.view.Field(ctx, name)
	if err != nil {
		return quickTarget{}, c.fail(err)
	}
	q := quickTarget{name: name, op: op}
	q.value, err = quick.ParseValue(f, op, *a.value)
	if err == nil {
		// A value of the right form may still be unusable (between with
		// its low end above its high end): estimating tells.
		if within != nil {
			q.size, err = s.view.EstimateIn(ctx, name, op, q.value, within)
		} else {
			q.size, err = s.view.Estimate(ctx, name, op, q.value)
		}
		if err != nil && !errors.Is(err, quick.ErrValue) {
			return quickTarget{}, c.fail(err)
		}
	}
	if err != nil {
		return quickTarget{}, c.fail(fmt.Errorf("--value: %w", err))
	}
	return q, -1
}

func (c *cli) quickEstimate(ctx context.Context, a *quickArgs) int {
	s, code := c.quickOpen(ctx, a)
	if code >= 0 {
		return code
	}
	defer s.snap.Release()
	within, code := c.quickWithin(ctx, s, *a.within)
	if code >= 0 {
		return code
	}
	q, code := c.quickQuery(ctx, s, a, within)
	if code >= 0 {
		return code
	}
	name, op, value, size := q.name, q.op, q.value, q.size
	if *a.json {
		return c.writeQuickJSON(quickEstimateJSON{Field: name, Operator: op.String(), Value: quickValue(value),
			AsOf: s.view.AsOf().Format(time.RFC3339Nano), Members: size.Members, Customers: size.Customers, Share: size.Share})
	}
	fmt.Fprintf(c.out, "%s %s %s: %s of %s customers (%s)\n", name, op, quickValueText(value),
		formatCount(int64(size.Members)), formatCount(int64(size.Customers)), quickPercent(size.Members, size.Customers))
	return exitOK
}

type quickCreateJSON struct {
	Segment    string          `json:"segment"`
	State      string          `json:"state,omitempty"`
	Catalog    string          `json:"catalog,omitempty"`
	File       string          `json:"file,omitempty"`
	AsOf       string          `json:"asOf"`
	Members    int             `json:"members"`
	Customers  int             `json:"customers"`
	Share      float64         `json:"share"`
	Definition json.RawMessage `json:"definition"`
}

func (c *cli) quickCreate(ctx context.Context, a *quickArgs) int {
	s, code := c.quickOpen(ctx, a)
	if code >= 0 {
		return code
	}
	defer s.snap.Release()
	q, code := c.quickQuery(ctx, s, a, nil)
	if code >= 0 {
		return code
	}
	size := q.size
	def, err := s.view.Build(ctx, *a.name, *a.displayName, q.name, q.op, q.value)
	if err != nil {
		return c.fail(err)
	}
	defJSON, err := def.MarshalJSON()
	if err != nil {
		return c.fail(err)
	}
	res := quickCreateJSON{Segment: def.Name, AsOf: s.view.AsOf().Format(time.RFC3339Nano), Members: size.Members,
		Customers: size.Customers, Share: size.Share, Definition: defJSON}
	switch {
	case *a.catalog != "":
		state, err := saveQuick(ctx, *a.catalog, s.snap, *a.data, defJSON, *a.activate)
		if err != nil {
			return c.fail(err)
		}
		res.State, res.Catalog = state, *a.catalog
	case *a.out != "":
		if err := os.WriteFile(*a.out, append(defJSON, '\n'), 0o644); err != nil {
			return c.fail(fmt.Errorf("--out %s: %w", *a.out, unwrapPath(err)))
		}
		res.File = *a.out
	default:
		// The definition itself is the output, ready for a file or a pipe.
		c.out.Write(append(defJSON, '\n'))
		return exitOK
	}
	if *a.json {
		return c.writeQuickJSON(res)
	}
	where := "to " + res.File
	if res.Catalog != "" {
		where = fmt.Sprintf("in %s (%s)", res.Catalog, res.State)
	}
	fmt.Fprintf(c.out, "saved segment %s %s: %s of %s customers (%s) as of %s\n", def.Name, where,
		formatCount(int64(size.Members)), formatCount(int64(size.Customers)), quickPercent(size.Members, size.Customers), res.AsOf)
	return exitOK
}

// saveQuick creates the segment in the catalog file, validated against the
// loaded data, and returns its state.
func saveQuick(ctx context.Context, file string, snap *storage.Snapshot, dir string, def []byte, activate bool) (string, error) {
	cat, err := catalog.Open(file, catalog.Options{Source: catalog.SnapshotSource{Snap: snap, Name: "data directory " + dir}})
	if err != nil {
		return "", err
	}
	seg, err := cat.Create(ctx, def, catalog.CreateOptions{Active: activate})
	if cerr := cat.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close catalog %s: %w", file, cerr)
	}
	if err != nil {
		return "", err
	}
	return seg.State.String(), nil
}

func (c *cli) writeQuickJSON(v any) int {
	enc := json.NewEncoder(c.out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return c.fail(fmt.Errorf("write output: %w", err))
	}
	return exitOK
}
