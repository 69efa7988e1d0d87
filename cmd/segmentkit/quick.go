package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

var quickCommand = &command{
	name:    "quick",
	summary: "quick segments: fields, insights, size estimates, a segment from one field",
	intro:   "segmentkit quick builds segments from one field and one operator, with insights and an exact size.",
	verbs:   quickVerbs,
}

var quickVerbs = []*command{
	{name: "fields", args: "--data DIR [--source SOURCE] [--as-of DATE] [--json]",
		summary: "list the fields a quick segment can use, with their types and kinds",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
			a := quickFlags(fs, false)
			return func(ctx context.Context, c *cli) int { return c.quickFields(ctx, a) }
		}},
	{name: "insights", args: "--data DIR --field FIELD [--within FILE] [--as-of DATE] [--json]",
		summary: "show a field's top values (categorical) or percentiles (numerical)",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
			a := quickFlags(fs, true)
			a.within = withinFlag(fs)
			return func(ctx context.Context, c *cli) int { return c.quickInsights(ctx, a) }
		}},
	{name: "estimate", args: "--data DIR --field FIELD --op OP --value VALUE [--within FILE] [--as-of DATE] [--json]",
		summary: "print the exact size of a quick segment",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
			a := quickFlags(fs, true)
			opFlags(fs, a)
			a.within = withinFlag(fs)
			return func(ctx context.Context, c *cli) int { return c.quickEstimate(ctx, a) }
		}},
	{name: "create", args: "--data DIR --field FIELD --op OP --value VALUE --name NAME [--display-name TEXT] [--catalog FILE] [--active] [--out FILE] [--as-of DATE] [--json]",
		summary: "build a quick segment's definition and save it in a catalog, or write it out",
		flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
			a := quickFlags(fs, true)
			opFlags(fs, a)
			a.name = fs.String("name", "", "name the segment `NAME`: letters, digits, '_' and '-' (required)")
			a.displayName = fs.String("display-name", "", "give the segment the display name `TEXT`")
			a.catalog = catalogFlag(fs, "with --catalog or --active: save the segment in")
			a.active = fs.Bool("active", false, "save the segment in the catalog, active, and compute its members")
			fs.BoolVar(a.active, "activate", false, "the old spelling of --active")
			a.out = fs.String("out", "", "write the definition's JSON to `FILE` instead of standard output")
			return func(ctx context.Context, c *cli) int {
				a.save = *a.active || flagGiven(fs, "catalog")
				return c.quickCreate(ctx, a)
			}
		}},
}

// withinFlag declares --within FILE, the member filter of insights and
// estimate, with its old spelling --segment.
func withinFlag(fs *flag.FlagSet) *string {
	v := fs.String("within", "", "count only the members of the segment definition in the JSON `FILE`; - reads standard input")
	fs.StringVar(v, "segment", "", "the old spelling of --within")
	return v
}

// quickArgs holds the flags of the quick verbs; a verb leaves the flags it
// does not take nil.
type quickArgs struct {
	data, asOf, source, field *string
	op, value, within         *string
	name, displayName         *string
	catalog, out              *string
	json, active              *bool
	// save is true when create saves in the catalog (--catalog or
	// --active given).
	save bool
	now  func() time.Time
}

func quickFlags(fs *flag.FlagSet, field bool) *quickArgs {
	a := &quickArgs{now: time.Now}
	a.data = dataFlag(fs)
	noSnapshotCacheFlag(fs)
	a.source = fs.String("source", "", "use the fields of `SOURCE`: profiles, measures or intelligence (default all)")
	if field {
		a.field = fs.String("field", "", "use the field `FIELD`, as Entity.Attribute (Customer.Age, Measures.Spend90d); with --source, the attribute alone (required)")
	}
	a.asOf = asOfFlag(fs, "compute measures")
	a.json = jsonFlag(fs)
	return a
}

func opFlags(fs *flag.FlagSet, a *quickArgs) {
	a.op = fs.String("op", "", "compare with `OP`: is (categorical fields), between, greaterThan or lessThan (numerical fields) (required)")
	a.value = fs.String("value", "", "compare with `VALUE`, typed as the field: a number, a YYYY-MM-DD date, an RFC 3339 datetime, true or false, or text; for between, low,high (required)")
}

// quickSession is what every quick verb works on once its flags are
// checked: the loaded snapshot and its statistics at the as-of instant.
type quickSession struct {
	snap   *storage.Snapshot
	view   quick.View
	origin *quick.Origin // nil: every source
	// field is --field resolved against the schema.
	field string
	// within is the parsed --within definition, checked against the
	// schema; nil without --within.
	within *segment.Definition
}

// quickOpen checks the flags, then the field, operator, value and
// --within definition against schema.json, and only then loads the data,
// so that a mistake is reported at once however large the data. It
// returns the exit code to stop with, or -1 to go on; the caller releases
// s.snap.
func (c *cli) quickOpen(ctx context.Context, a *quickArgs) (s quickSession, code int) {
	if code := c.dataDir(*a.data); code >= 0 {
		return s, code
	}
	asOf, err := parseAsOf(*a.asOf, a.now)
	if err != nil {
		return s, c.usage(err)
	}
	if *a.source != "" {
		src, err := quick.ParseOrigin(*a.source)
		if err != nil {
			return s, c.usage(fmt.Errorf("--source %q is not profiles, measures or intelligence", *a.source))
		}
		s.origin = &src
	}
	if a.field != nil && *a.field == "" {
		return s, c.usage(errors.New("missing --field FIELD: the field of the quick segment, such as Customer.Age"))
	}
	var op quick.Op
	if a.op != nil {
		switch {
		case *a.op == "":
			return s, c.usage(errors.New("missing --op OP: is, between, greaterThan or lessThan"))
		case *a.value == "" && !strings.EqualFold(*a.op, "is"):
			return s, c.usage(errors.New("missing --value VALUE: the value to compare with"))
		}
		if op, err = quick.ParseOp(*a.op); err != nil {
			msg := fmt.Sprintf("--op %q is not one of is, between, greaterThan, lessThan", *a.op)
			if n := diag.Nearest(*a.op, []string{"is", "between", "greaterThan", "lessThan"}); n != "" {
				msg += fmt.Sprintf(" (did you mean %s?)", n)
			}
			return s, c.usage(errors.New(msg))
		}
	}
	if a.name != nil {
		if *a.name == "" {
			return s, c.usage(errors.New("missing --name NAME: the segment's name"))
		}
		if err := segment.ValidateName(*a.name); err != nil {
			return s, c.usage(fmt.Errorf("--name: %w", err))
		}
		if a.save && *a.out != "" {
			return s, c.usage(errors.New("--catalog (or --active) and --out exclude each other: save in a catalog, or write the definition to a file"))
		}
		if a.save && *a.catalog == "" {
			return s, c.usage(errors.New("--catalog FILE is empty"))
		}
	}
	sch, err := readSchema(*a.data)
	if err != nil {
		return s, c.fail(err)
	}
	if a.field != nil {
		if s.field, err = s.fieldName(sch, *a.field); err != nil {
			return s, c.fail(err)
		}
	}
	if a.op != nil {
		if _, err := quick.CheckQuery(sch, s.field, op, *a.value); err != nil {
			if errors.Is(err, quick.ErrValue) {
				err = fmt.Errorf("--value: %w", err)
			}
			return s, c.fail(err)
		}
	}
	if a.within != nil && *a.within != "" {
		def, err := c.readSegment("--within", *a.within)
		if err == nil {
			err = def.Validate(sch)
		}
		if err != nil {
			return s, c.failAt(*a.within, err)
		}
		s.within = def
	}
	snap, _, err := c.load(ctx, *a.data)
	if err != nil {
		return s, c.fail(err)
	}
	s.snap = snap
	s.view = quick.New(snap, quick.Options{}).At(asOf)
	return s, -1
}

// fieldName resolves --field against the schema: Entity.Attribute, or
// with --source an attribute of that source.
func (s quickSession) fieldName(sch *schema.Schema, name string) (string, error) {
	if s.origin == nil {
		_, err := quick.SchemaField(sch, name)
		return name, err
	}
	fields := quick.SchemaFields(sch)
	var names []string
	for _, f := range fields {
		if f.Origin != *s.origin {
			continue
		}
		if f.Name == name || f.Attribute == name && !strings.Contains(name, ".") {
			return f.Name, nil
		}
		names = append(names, f.Name)
	}
	p := &diag.Problem{Path: "--field", Err: quick.ErrUnknownField, Suggestion: diag.Nearest(name, names),
		Message: fmt.Sprintf("%s has no field %q", *s.origin, name)}
	if p.Suggestion == "" {
		for _, f := range fields {
			if f.Origin == *s.origin && strings.EqualFold(f.Attribute, name) {
				p.Suggestion = f.Name
			}
		}
	}
	return "", p
}

// quickOpenWithin opens the quick session and reads its --within
// members. On success the caller releases s.snap.
func (c *cli) quickOpenWithin(ctx context.Context, a *quickArgs) (quickSession, *roaring.Bitmap, int) {
	s, code := c.quickOpen(ctx, a)
	if code >= 0 {
		return s, nil, code
	}
	within, code := c.quickWithin(ctx, s, *a.within)
	if code >= 0 {
		s.snap.Release()
		return s, nil, code
	}
	return s, within, -1
}

// quickWithin evaluates --within, if given, to the members to restrict to.
func (c *cli) quickWithin(ctx context.Context, s quickSession, file string) (*roaring.Bitmap, int) {
	if s.within == nil {
		return nil, -1
	}
	plan, err := engine.Compile(s.within, s.snap, engine.Options{})
	if err != nil {
		return nil, c.failAt(file, err)
	}
	members, err := plan.Eval(ctx, s.view.AsOf())
	if err != nil {
		return nil, c.fail(err)
	}
	return members, -1
}

func (c *cli) quickFields(ctx context.Context, a *quickArgs) int {
	s, code := c.quickOpen(ctx, a)
	if code >= 0 {
		return code
	}
	defer s.snap.Release()
	sources := quick.Origins()
	if s.origin != nil {
		sources = []quick.Origin{*s.origin}
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
		return c.emit(fields)
	}
	tw := newTable(c.out)
	fmt.Fprintln(tw, "FIELD\tSOURCE\tTYPE\tKIND\tDISPLAY NAME")
	for _, f := range fields {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", f.Name, f.Origin, f.Type, f.Scale, f.DisplayName)
	}
	tw.Flush()
	return exitOK
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
		// A fraction goes through formatNumber (no float noise); an
		// integer stays as written, every digit exact.
		if strings.ContainsAny(string(v.Num), ".eE") {
			if x, err := strconv.ParseFloat(string(v.Num), 64); err == nil {
				return exact.FormatNumber(x)
			}
		}
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

func (c *cli) quickInsights(ctx context.Context, a *quickArgs) int {
	s, within, code := c.quickOpenWithin(ctx, a)
	if code >= 0 {
		return code
	}
	defer s.snap.Release()
	name := s.field
	var ins *quick.Insights
	var err error
	if within != nil {
		ins, err = s.view.InsightsIn(ctx, name, within)
	} else {
		ins, err = s.view.Insights(ctx, name)
	}
	if err != nil {
		return c.fail(err)
	}
	if *a.json {
		return c.emit(ins)
	}
	f := ins.Field
	fmt.Fprintf(c.out, "%s (%s, %s): %s customers, %s with no value, %s distinct values\n",
		f.Name, f.Type, f.Scale, exact.FormatCount(ins.Customers), exact.FormatCount(ins.Nulls), exact.FormatCount(ins.Distinct))
	tw := newTable(c.out)
	if f.Scale == quick.Categorical {
		fmt.Fprintln(tw, "VALUE\tCUSTOMERS\tSHARE")
		row := func(label string, n int) {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", label, exact.FormatCount(n), quickPercent(n, ins.Customers))
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
	Field     string         `json:"field"`
	Operator  string         `json:"operator"`
	Value     json.Marshaler `json:"value"`
	AsOf      string         `json:"asOf"`
	Members   int            `json:"members"`
	Customers int            `json:"customers"`
	Share     float64        `json:"share"`
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
	name := s.field
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
	s, within, code := c.quickOpenWithin(ctx, a)
	if code >= 0 {
		return code
	}
	defer s.snap.Release()
	q, code := c.quickQuery(ctx, s, a, within)
	if code >= 0 {
		return code
	}
	name, op, value, size := q.name, q.op, q.value, q.size
	if *a.json {
		return c.emit(quickEstimateJSON{Field: name, Operator: op.String(), Value: quick.ValueJSON(value),
			AsOf: s.view.AsOf().Format(time.RFC3339Nano), Members: size.MemberCount, Customers: size.Customers, Share: size.Share})
	}
	fmt.Fprintf(c.out, "%s %s %s: %s of %s customers (%s)\n", name, op, quickValueText(value),
		exact.FormatCount(size.MemberCount), exact.FormatCount(size.Customers), quickPercent(size.MemberCount, size.Customers))
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
	res := quickCreateJSON{Segment: def.Name, AsOf: s.view.AsOf().Format(time.RFC3339Nano), Members: size.MemberCount,
		Customers: size.Customers, Share: size.Share, Definition: defJSON}
	switch {
	case a.save:
		state, err := saveQuick(ctx, *a.catalog, s.snap, *a.data, defJSON, catalog.CreateOptions{Active: *a.active, AsOf: s.view.AsOf()})
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
		return c.emit(res)
	}
	where := "to " + res.File
	if res.Catalog != "" {
		where = fmt.Sprintf("in %s (%s)", res.Catalog, res.State)
	}
	fmt.Fprintf(c.out, "saved segment %s %s: %s of %s customers (%s) as of %s\n", def.Name, where,
		exact.FormatCount(size.MemberCount), exact.FormatCount(size.Customers), quickPercent(size.MemberCount, size.Customers), res.AsOf)
	return exitOK
}

// saveQuick creates the segment in the catalog file, validated against the
// loaded data, and returns its state.
// A catalog file created for it is removed when the segment is not saved.
func saveQuick(ctx context.Context, file string, snap *storage.Snapshot, dir string, def []byte, opts catalog.CreateOptions) (string, error) {
	_, err := os.Stat(file)
	isNew := errors.Is(err, iofs.ErrNotExist)
	cat, err := catalog.Open(file, catalog.Options{Source: catalog.SnapshotSource{Snap: snap, Name: "data directory " + dir}})
	if err != nil {
		if isNew {
			os.Remove(file)
		}
		return "", err
	}
	seg, err := cat.Create(ctx, def, opts)
	if cerr := cat.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("close catalog %s: %w", file, cerr)
	}
	if err != nil {
		if isNew && seg == nil {
			os.Remove(file)
		}
		return "", err
	}
	return seg.State.String(), nil
}
