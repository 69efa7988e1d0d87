package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	iofs "io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/storage"
)

// defaultCatalog is the catalog file used without --catalog.
const defaultCatalog = "segmentkit.db"

// dataNeed says whether a segments verb reads the data directory.
type dataNeed uint8

const (
	dataNone     dataNeed = iota // the verb has no --data flag
	dataOptional                 // --data adds to what the verb does
	dataRequired                 // the verb needs --data
)

// segVerb is one verb of "segmentkit segments".
type segVerb struct {
	name, args, summary string
	data                dataNeed
	// creates is true for the verb that may create the catalog file.
	creates bool
	// json is true for verbs that print, which take --json.
	json bool
	// nargs bounds the positional arguments; max < 0 means no bound.
	minArgs, maxArgs int
	// flags declares the verb's own flags on fs and returns the function
	// that runs it.
	flags func(fs *flag.FlagSet) func(ctx context.Context, s *segSession) int
}

// segSession is what a running segments verb works with.
type segSession struct {
	*cli
	cat  *catalog.Catalog
	file string
	data string
	json bool
	args []string
}

var segVerbs = []*segVerb{
	{name: "create", args: "--file DEF.json [--active] [--name NAME] --data DIR", data: dataRequired, creates: true, json: true,
		summary: "save a segment from its definition: valid ones inactive (or active and refreshed), invalid ones as drafts",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			file := fs.String("file", "", "read the segment definition from the JSON `FILE` (required)")
			active := fs.Bool("active", false, "save the segment active and refresh it at once")
			name := fs.String("name", "", "name the segment `NAME` when the definition has no readable name (a draft)")
			return func(ctx context.Context, s *segSession) int { return s.create(ctx, *file, *name, *active) }
		}},
	{name: "edit", args: "NAME --file DEF.json --data DIR", data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
		summary: "replace a segment's definition (and its display name, description and type); it is validated again",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			file := fs.String("file", "", "read the new definition from the JSON `FILE` (required)")
			return func(ctx context.Context, s *segSession) int { return s.edit(ctx, *file) }
		}},
	{name: "rename", args: "OLD NEW", json: true, minArgs: 2, maxArgs: 2,
		summary: "rename a segment; references to it in other segments are rewritten",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			return func(ctx context.Context, s *segSession) int { return s.rename() }
		}},
	{name: "delete", args: "NAME", json: true, minArgs: 1, maxArgs: 1,
		summary: "delete a segment with its members and history (refused while others reference it)",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			return func(ctx context.Context, s *segSession) int { return s.delete() }
		}},
	{name: "list", args: "[--sort COLUMN] [--desc] [--search TEXT]", json: true,
		summary: "list the segments, sorted by a column, optionally filtered",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			sort := fs.String("sort", "name", "sort by `COLUMN`: name, displayName, type, state, members, lastRefreshed, status, created or modified")
			desc := fs.Bool("desc", false, "sort in descending order")
			search := fs.String("search", "", "keep segments whose name, display name or description contains `TEXT`, ignoring case")
			return func(ctx context.Context, s *segSession) int { return s.list(*sort, *desc, *search) }
		}},
	{name: "show", args: "NAME", json: true, minArgs: 1, maxArgs: 1,
		summary: "show a segment: properties, state, schedules, last refresh, problems and definition",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			return func(ctx context.Context, s *segSession) int { return s.show() }
		}},
	{name: "activate", args: "NAME [--at TIME] [--data DIR]", data: dataOptional, json: true, minArgs: 1, maxArgs: 1,
		summary: "activate a segment and refresh it (with --data), or schedule its activation",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			at := fs.String("at", "", "schedule the activation at `TIME` (YYYY-MM-DD or RFC 3339) instead of activating now; \"none\" cancels a scheduled one")
			return func(ctx context.Context, s *segSession) int { return s.activate(ctx, *at) }
		}},
	{name: "deactivate", args: "NAME [--at TIME]", json: true, minArgs: 1, maxArgs: 1,
		summary: "deactivate a segment, or schedule its deactivation",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			at := fs.String("at", "", "schedule the deactivation at `TIME` (YYYY-MM-DD or RFC 3339) instead of deactivating now; \"none\" cancels a scheduled one")
			return func(ctx context.Context, s *segSession) int { return s.deactivate(*at) }
		}},
	{name: "schedule", args: "NAME --cron SPEC | --off", json: true, minArgs: 1, maxArgs: 1,
		summary: "set a segment's own refresh schedule, applied by serve-schedule while it is active",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			spec := fs.String("cron", "", "refresh on the cron schedule `SPEC` (\"0 6 * * *\", \"@hourly\")")
			off := fs.Bool("off", false, "remove the segment's schedule")
			return func(ctx context.Context, s *segSession) int { return s.schedule(*spec, *off) }
		}},
	{name: "refresh", args: "NAME... | --all --data DIR", data: dataRequired, json: true, maxArgs: -1,
		summary: "refresh segments (and the segments they reference) as one job; inactive ones are skipped",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			all := fs.Bool("all", false, "refresh every segment")
			return func(ctx context.Context, s *segSession) int { return s.refresh(ctx, *all) }
		}},
	{name: "jobs", args: "[JOB] [--limit N]", json: true, maxArgs: 1,
		summary: "list the latest refresh jobs, or show one job's tasks, errors and warnings",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			limit := fs.Int("limit", 20, "show the latest `N` jobs (0 for all)")
			return func(ctx context.Context, s *segSession) int { return s.jobs(*limit) }
		}},
	{name: "history", args: "NAME [--from TIME] [--to TIME]", json: true, minArgs: 1, maxArgs: 1,
		summary: "show a segment's member count trend: every successful refresh with entered and left counts",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			from := fs.String("from", "", "start at `TIME` (YYYY-MM-DD or RFC 3339)")
			to := fs.String("to", "", "end at `TIME` (YYYY-MM-DD or RFC 3339; a day means its end)")
			return func(ctx context.Context, s *segSession) int { return s.history(*from, *to) }
		}},
	{name: "preview", args: "NAME [--rows N] --data DIR", data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
		summary: "show the first members with the attributes the definition uses",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			rows := fs.Int("rows", catalog.DefaultPreviewRows, "show `N` members")
			return func(ctx context.Context, s *segSession) int { return s.preview(ctx, *rows) }
		}},
	{name: "download", args: "NAME [--fields A,B] [--out FILE] --data DIR", data: dataRequired, minArgs: 1, maxArgs: 1,
		summary: "write every member as CSV, with the chosen fields",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			fields := fs.String("fields", "", "write the comma-separated `FIELDS`: customer attributes and Measures.X (default every customer attribute)")
			out := fs.String("out", "", "write to `FILE` instead of standard output")
			return func(ctx context.Context, s *segSession) int { return s.download(ctx, *fields, *out) }
		}},
}

// runSegments runs "segmentkit segments VERB [args] [flags]": args are the
// arguments after "segments". It returns the exit code. Results go to
// stdout; each error is one line on stderr. It never panics: a panic below
// it is reported as an internal error.
func runSegments(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer recoverInternal("segments", stderr, &code)
	verb, code, ok := pickVerb("segments", args, stdout, stderr, segVerbs, func(v *segVerb) string { return v.name }, writeSegmentsUsage)
	if !ok {
		return code
	}
	s := &segSession{cli: &cli{name: "segments " + verb.name, stdout: stdout, stderr: stderr}}
	fs := flag.NewFlagSet(s.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("catalog", defaultCatalog, "keep the segments in the catalog `FILE`")
	var data *string
	switch verb.data {
	case dataRequired:
		data = dataFlag(fs)
	case dataOptional:
		data = optionalDataFlag(fs, "to refresh the segment once active (optional)")
	}
	var jsonOut *bool
	if verb.json {
		jsonOut = fs.Bool("json", false, "print JSON instead of text")
	}
	do := verb.flags(fs)
	pos, err := parseInterspersed(fs, args[1:])
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeCommandUsage(stdout, &command{name: s.name, args: verb.args, summary: verb.summary}, fs)
			return exitOK
		}
		return s.segUsage(err)
	}
	switch {
	case len(pos) < verb.minArgs:
		return s.segUsage(fmt.Errorf("missing arguments: usage is segmentkit segments %s %s", verb.name, verb.args))
	case verb.maxArgs >= 0 && len(pos) > verb.maxArgs:
		return s.segUsage(fmt.Errorf("unexpected argument %q: usage is segmentkit segments %s %s", pos[verb.maxArgs], verb.name, verb.args))
	}
	s.args, s.file = pos, *file
	if jsonOut != nil {
		s.json = *jsonOut
	}
	if data != nil {
		s.data = *data
	}
	switch {
	case s.file == "":
		return s.segUsage(errors.New("--catalog FILE is empty"))
	case verb.data == dataRequired && s.data == "":
		return s.segUsage(errors.New("missing --data DIR: the data directory holding schema.json"))
	case s.data != "":
		if err := checkDataDir(s.data); err != nil {
			return s.segUsage(err)
		}
	}
	if !verb.creates {
		if _, err := os.Stat(s.file); errors.Is(err, iofs.ErrNotExist) {
			return s.fail(fmt.Errorf("catalog %s does not exist; create a segment first with 'segmentkit segments create' (or give --catalog FILE)", s.file))
		}
	}
	var src *catalog.DirSource
	opts := catalog.Options{}
	if s.data != "" {
		src = catalog.NewDirSource(s.data, storage.Options{})
		defer src.Close()
		opts.Source = src
	}
	cat, err := catalog.Open(s.file, opts)
	if err != nil {
		return s.fail(err)
	}
	s.cat = cat
	out := bufio.NewWriterSize(stdout, 64<<10)
	s.out = out
	code = do(ctx, s)
	if err := out.Flush(); err != nil && code == exitOK {
		code = s.fail(fmt.Errorf("write output: %w", err))
	}
	if err := cat.Close(); err != nil && code == exitOK {
		code = s.fail(fmt.Errorf("close catalog %s: %w", s.file, err))
	}
	return code
}

// parseInterspersed parses flags given before, between and after
// positional arguments, which it returns in order. Everything after "--"
// is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := checkFlags(fs, rest); err != nil {
			return nil, err
		}
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		left := fs.Args()
		if len(left) == 0 {
			return pos, nil
		}
		if consumed := len(rest) - len(left); consumed > 0 && rest[consumed-1] == "--" {
			return append(pos, left...), nil
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}
}

func writeSegmentsUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("segmentkit segments manages a catalog of segments: states, refresh jobs, schedules, history and members.\n\n")
	b.WriteString("Usage:\n  segmentkit segments <verb> [arguments] [--catalog FILE] [--data DIR] [--json]\n\nVerbs:\n")
	for _, v := range segVerbs {
		fmt.Fprintf(&b, "  %-11s %s\n", v.name, v.summary)
	}
	fmt.Fprintf(&b, "\nThe catalog file defaults to %s. Run 'segmentkit segments <verb> --help' for a verb's flags.\n", defaultCatalog)
	b.WriteString("'segmentkit serve-schedule --catalog FILE --data DIR [--cron SPEC]' applies the schedules.\n")
	io.WriteString(w, b.String())
}

// segUsage reports a command-line mistake and returns exitUsage.
func (s *segSession) segUsage(err error) int {
	fmt.Fprintf(s.stderr, "segmentkit %s: %s\nRun 'segmentkit %s --help' for usage.\n", s.name, oneLine(err.Error()), s.name)
	return exitUsage
}

// fail reports err on one line of stderr and returns exitFailed, or
// exitInterrupted when the context was cancelled. Unlike cli.fail it keeps
// the whole message (a draft's problems follow what was refused).
func (s *segSession) fail(err error) int {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(s.stderr, "segmentkit %s: interrupted\n", s.name)
		return exitInterrupted
	}
	msg := strings.ReplaceAll(err.Error(), "\n  ", "; ")
	fmt.Fprintf(s.stderr, "segmentkit %s: %s\n", s.name, oneLine(msg))
	return exitFailed
}

// emit writes v as one JSON document.
func (s *segSession) emit(v any) int {
	enc := json.NewEncoder(s.out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return s.fail(fmt.Errorf("write output: %w", err))
	}
	return exitOK
}

// readDefinition reads the file named by --file.
func (s *segSession) readDefinition(file string) ([]byte, int) {
	if file == "" {
		return nil, s.segUsage(errors.New("missing --file FILE: the segment definition"))
	}
	data, err := readFile("--file", file)
	if err != nil {
		return nil, s.fail(err)
	}
	return data, -1
}

func (s *segSession) create(ctx context.Context, file, name string, active bool) int {
	data, code := s.readDefinition(file)
	if code >= 0 {
		return code
	}
	seg, err := s.cat.Create(ctx, data, catalog.CreateOptions{Name: name, Active: active})
	if seg == nil {
		return s.fail(err)
	}
	return s.saved(seg, err, "created")
}

func (s *segSession) edit(ctx context.Context, file string) int {
	data, code := s.readDefinition(file)
	if code >= 0 {
		return code
	}
	seg, err := s.cat.Edit(ctx, s.args[0], data)
	if err != nil {
		return s.fail(err)
	}
	return s.saved(seg, nil, "saved")
}

// saved reports a created or edited segment. err is the error that came
// with it (a draft saved when activation was asked for).
func (s *segSession) saved(seg *catalog.Segment, err error, verb string) int {
	code := exitOK
	if s.json {
		code = s.emit(seg)
	} else {
		switch seg.State {
		case catalog.Draft:
			fmt.Fprintf(s.out, "%s %s as a draft: its definition has %d %s; edit it to make it valid\n", verb, seg.Name, len(seg.Problems), plural(len(seg.Problems), "problem"))
			for _, p := range seg.Problems {
				fmt.Fprintf(s.out, "  %s\n", oneLine(p.Error()))
			}
		case catalog.Active:
			fmt.Fprintf(s.out, "%s %s (active, %s %s, refresh %s)\n", verb, seg.Name, formatCount(int64(seg.Members)), plural(int(seg.Members), "member"), seg.Status)
		default:
			fmt.Fprintf(s.out, "%s %s (%s)\n", verb, seg.Name, seg.State)
		}
	}
	if err != nil {
		if c := s.fail(err); code == exitOK {
			code = c
		}
	}
	if code == exitOK && seg.State == catalog.Active && seg.Status == catalog.Failed {
		return s.fail(fmt.Errorf("the refresh of %s failed: %s", seg.Name, seg.LastError))
	}
	return code
}

func (s *segSession) rename() int {
	if err := s.cat.Rename(s.args[0], s.args[1]); err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.showJSON(s.args[1])
	}
	fmt.Fprintf(s.out, "renamed %s to %s\n", s.args[0], s.args[1])
	return exitOK
}

func (s *segSession) delete() int {
	if err := s.cat.Delete(s.args[0]); err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(map[string]string{"deleted": s.args[0]})
	}
	fmt.Fprintf(s.out, "deleted %s\n", s.args[0])
	return exitOK
}

func (s *segSession) showJSON(name string) int {
	seg, err := s.cat.Get(name)
	if err != nil {
		return s.fail(err)
	}
	return s.emit(seg)
}

func (s *segSession) list(sort string, desc bool, search string) int {
	segs, err := s.cat.List(catalog.ListOptions{Sort: catalog.SortBy(sort), Desc: desc, Search: search})
	if err != nil {
		if errors.Is(err, catalog.ErrUnknownField) {
			return s.segUsage(fmt.Errorf("--sort: %w", err))
		}
		return s.fail(err)
	}
	if s.json {
		if segs == nil {
			segs = []*catalog.Segment{}
		}
		return s.emit(segs)
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tTYPE\tSTATE\tMEMBERS\tLAST REFRESHED\tSTATUS\tCREATED\tMODIFIED")
	for _, g := range segs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Name, cell(g.DisplayName), g.Kind, g.State,
			formatCount(int64(g.Members)), formatTime(g.LastRefreshed), g.Status, formatTime(g.Created), formatTime(g.Modified))
	}
	tw.Flush()
	return exitOK
}

func (s *segSession) show() int {
	seg, err := s.cat.Get(s.args[0])
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(seg)
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, oneLine(v))
		}
	}
	row("name", seg.Name)
	row("display name", seg.DisplayName)
	row("description", seg.Description)
	row("type", seg.Kind.String())
	row("state", seg.State.String())
	members := formatCount(int64(seg.Members))
	if seg.Frozen {
		members += " (frozen)"
	}
	row("members", members)
	row("status", seg.Status.String())
	row("last refreshed", formatTime(seg.LastRefreshed))
	if seg.LastJob != 0 {
		row("last job", strconv.FormatUint(seg.LastJob, 10))
	}
	row("last error", seg.LastError)
	row("created", formatTime(seg.Created))
	row("modified", formatTime(seg.Modified))
	if !seg.ActivateAt.IsZero() {
		row("activates at", formatTime(seg.ActivateAt))
	}
	if !seg.DeactivateAt.IsZero() {
		row("deactivates at", formatTime(seg.DeactivateAt))
	}
	row("schedule", seg.Schedule)
	row("schedule error", seg.ScheduleError)
	row("references", strings.Join(seg.References, ", "))
	tw.Flush()
	if len(seg.Problems) > 0 {
		fmt.Fprintf(s.out, "problems:\n")
		for _, p := range seg.Problems {
			fmt.Fprintf(s.out, "  %s\n", oneLine(p.Error()))
		}
	}
	fmt.Fprintf(s.out, "definition:\n%s\n", strings.TrimRight(string(seg.Definition), "\n"))
	return exitOK
}

func (s *segSession) activate(ctx context.Context, at string) int {
	name := s.args[0]
	if at != "" {
		t, err := parseTimeFlag("--at", at, false)
		if err != nil {
			return s.segUsage(err)
		}
		if err := s.cat.ScheduleActivation(name, t); err != nil {
			return s.fail(err)
		}
		return s.scheduled(name, "activated", t)
	}
	job, err := s.cat.Activate(ctx, name)
	if err != nil && job == nil {
		return s.fail(err)
	}
	code := exitOK
	if s.json {
		seg, gerr := s.cat.Get(name)
		if gerr != nil {
			return s.fail(gerr)
		}
		code = s.emit(struct {
			Segment *catalog.Segment `json:"segment"`
			Job     *catalog.Job     `json:"job"`
		}{seg, job})
	} else {
		switch {
		case job != nil:
			fmt.Fprintf(s.out, "activated %s\n", name)
			s.writeJob(job)
		case s.data == "":
			fmt.Fprintf(s.out, "activated %s; not refreshed: give --data DIR to refresh it now, or refresh it later\n", name)
		default:
			fmt.Fprintf(s.out, "%s is active\n", name)
		}
	}
	if err != nil {
		return s.fail(err)
	}
	if code == exitOK && job != nil {
		return s.jobCode(job)
	}
	return code
}

func (s *segSession) deactivate(at string) int {
	name := s.args[0]
	if at != "" {
		t, err := parseTimeFlag("--at", at, false)
		if err != nil {
			return s.segUsage(err)
		}
		if err := s.cat.ScheduleDeactivation(name, t); err != nil {
			return s.fail(err)
		}
		return s.scheduled(name, "deactivated", t)
	}
	if err := s.cat.Deactivate(name); err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.showJSON(name)
	}
	fmt.Fprintf(s.out, "deactivated %s\n", name)
	return exitOK
}

// scheduled reports a scheduled (or cancelled) state change.
func (s *segSession) scheduled(name, what string, t time.Time) int {
	if s.json {
		return s.showJSON(name)
	}
	if t.IsZero() {
		fmt.Fprintf(s.out, "%s will not be %s as scheduled\n", name, what)
	} else {
		fmt.Fprintf(s.out, "%s will be %s at %s by serve-schedule\n", name, what, formatTime(t))
	}
	return exitOK
}

func (s *segSession) schedule(spec string, off bool) int {
	name := s.args[0]
	switch {
	case off && spec != "":
		return s.segUsage(errors.New("give --cron SPEC or --off, not both"))
	case !off && spec == "":
		return s.segUsage(errors.New("missing --cron SPEC (or --off to remove the schedule)"))
	}
	if err := s.cat.SetSchedule(name, spec); err != nil {
		if errors.Is(err, catalog.ErrSchedule) {
			return s.segUsage(fmt.Errorf("--cron: %w", err))
		}
		return s.fail(err)
	}
	if s.json {
		return s.showJSON(name)
	}
	if off {
		fmt.Fprintf(s.out, "%s has no schedule of its own\n", name)
	} else {
		fmt.Fprintf(s.out, "%s refreshes on %q while active (applied by serve-schedule)\n", name, spec)
	}
	return exitOK
}

func (s *segSession) refresh(ctx context.Context, all bool) int {
	var job *catalog.Job
	var err error
	switch {
	case all && len(s.args) > 0:
		return s.segUsage(errors.New("give segment names or --all, not both"))
	case all:
		job, err = s.cat.RefreshAll(ctx)
	case len(s.args) == 0:
		return s.segUsage(errors.New("missing segment names (or --all to refresh every segment)"))
	default:
		job, err = s.cat.Refresh(ctx, s.args...)
	}
	if job == nil {
		return s.fail(err)
	}
	code := exitOK
	if s.json {
		code = s.emit(job)
	} else {
		s.writeJob(job)
	}
	if err != nil {
		return s.fail(err)
	}
	if code == exitOK {
		return s.jobCode(job)
	}
	return code
}

// jobCode returns the exit code for a finished job: a failed job fails
// the command, with its first error on stderr.
func (s *segSession) jobCode(job *catalog.Job) int {
	if job.Status != catalog.Failed {
		return exitOK
	}
	msg := fmt.Sprintf("job %d failed", job.ID)
	if len(job.Errors) > 0 {
		msg += ": " + job.Errors[0]
	}
	for _, t := range job.Tasks {
		if t.Status == catalog.Failed && len(t.Errors) > 0 {
			msg += fmt.Sprintf(": %s: %s", t.Segment, t.Errors[0])
			break
		}
	}
	return s.fail(errors.New(msg))
}

// writeJob writes a job's details as text.
func (s *segSession) writeJob(j *catalog.Job) {
	what := strings.Join(j.Requested, ", ")
	if j.All {
		what = "all segments"
	}
	fmt.Fprintf(s.out, "job %d %s: %s (%s), started %s, processing time %s\n", j.ID, j.Status, what, j.Trigger,
		formatTime(j.Started), round(j.Duration))
	if d := j.Data; d != nil {
		fmt.Fprintf(s.out, "data: %s, %s customers, loaded in %s\n", d.Source, formatCount(int64(d.Customers)), round(d.LoadDuration))
	}
	for _, e := range j.Errors {
		fmt.Fprintf(s.out, "error: %s\n", oneLine(e))
	}
	for _, w := range j.Warnings {
		fmt.Fprintf(s.out, "warning: %s\n", oneLine(w))
	}
	if len(j.Tasks) == 0 {
		return
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  SEGMENT\tSTATUS\tMEMBERS\tENTERED\tLEFT\tTIME\tREASON")
	for _, t := range j.Tasks {
		members, entered, left := "-", "-", "-"
		if t.Status == catalog.Successful {
			members, entered, left = formatCount(int64(t.Members)), formatCount(int64(t.Entered)), formatCount(int64(t.Left))
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\t%s\t%s\n", t.Segment, t.Status, members, entered, left, round(t.Duration), t.Reason)
	}
	tw.Flush()
	for _, t := range j.Tasks {
		for _, e := range t.Errors {
			fmt.Fprintf(s.out, "  %s: error: %s\n", t.Segment, oneLine(e))
		}
		for _, w := range t.Warnings {
			fmt.Fprintf(s.out, "  %s: warning: %s\n", t.Segment, oneLine(w))
		}
	}
}

func (s *segSession) jobs(limit int) int {
	if len(s.args) == 1 {
		id, err := strconv.ParseUint(s.args[0], 10, 64)
		if err != nil {
			return s.segUsage(fmt.Errorf("job %q: want a job number", s.args[0]))
		}
		job, err := s.cat.Job(id)
		if err != nil {
			return s.fail(err)
		}
		if s.json {
			return s.emit(job)
		}
		s.writeJob(job)
		return exitOK
	}
	if limit < 0 {
		return s.segUsage(fmt.Errorf("--limit must be 0 or more, not %d", limit))
	}
	jobs, err := s.cat.Jobs(limit)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		if jobs == nil {
			jobs = []*catalog.Job{}
		}
		return s.emit(jobs)
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "JOB\tSTATUS\tTRIGGER\tSTARTED\tTIME\tSEGMENTS\tFAILED\tSKIPPED")
	for _, j := range jobs {
		failed, skipped := 0, 0
		for _, t := range j.Tasks {
			switch t.Status {
			case catalog.Failed:
				failed++
			case catalog.Skipped:
				skipped++
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%d\t%d\t%d\n", j.ID, j.Status, j.Trigger, formatTime(j.Started), round(j.Duration),
			len(j.Tasks), failed, skipped)
	}
	tw.Flush()
	return exitOK
}

func (s *segSession) history(from, to string) int {
	f, err := parseTimeFlag("--from", from, false)
	if err != nil {
		return s.segUsage(err)
	}
	t, err := parseTimeFlag("--to", to, true)
	if err != nil {
		return s.segUsage(err)
	}
	if !f.IsZero() && !t.IsZero() && t.Before(f) {
		return s.segUsage(errors.New("--to is before --from"))
	}
	hist, err := s.cat.History(s.args[0], f, t)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		if hist == nil {
			hist = []catalog.HistoryEntry{}
		}
		return s.emit(hist)
	}
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TIME\tMEMBERS\tENTERED\tLEFT\tJOB")
	for _, h := range hist {
		note := ""
		if h.Kept {
			note = " (static, kept)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d%s\n", formatTime(h.Time), formatCount(int64(h.Members)), formatCount(int64(h.Entered)),
			formatCount(int64(h.Left)), h.Job, note)
	}
	tw.Flush()
	return exitOK
}

func (s *segSession) preview(ctx context.Context, rows int) int {
	if rows <= 0 {
		return s.segUsage(fmt.Errorf("--rows must be positive, not %d", rows))
	}
	p, err := s.cat.Preview(ctx, s.args[0], rows)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(p)
	}
	fmt.Fprintf(s.out, "%s: %s %s; the first %d:\n", p.Segment, formatCount(int64(p.Total)), plural(int(p.Total), "member"), len(p.Rows))
	tw := tabwriter.NewWriter(s.out, 0, 4, 2, ' ', 0)
	for i, c := range p.Columns {
		if i > 0 {
			io.WriteString(tw, "\t")
		}
		io.WriteString(tw, cell(c.Name))
	}
	io.WriteString(tw, "\n")
	for _, r := range p.Rows {
		for i, v := range r {
			if i > 0 {
				io.WriteString(tw, "\t")
			}
			io.WriteString(tw, cell(v))
		}
		io.WriteString(tw, "\n")
	}
	tw.Flush()
	for _, w := range p.Warnings {
		fmt.Fprintf(s.stderr, "segmentkit %s: warning: %s\n", s.name, oneLine(w))
	}
	return exitOK
}

func (s *segSession) download(ctx context.Context, fields, out string) int {
	var list []string
	if fields != "" {
		for _, f := range strings.Split(fields, ",") {
			if f = strings.TrimSpace(f); f != "" {
				list = append(list, f)
			}
		}
	}
	if out == "" {
		if err := s.cat.Download(ctx, s.args[0], s.out, list); err != nil {
			return s.fail(err)
		}
		return exitOK
	}
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return s.fail(fmt.Errorf("--out %s: is a directory", out))
	}
	// Write next to the target and rename, so that a failed download
	// leaves no partial file behind.
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp*")
	if err != nil {
		return s.fail(fmt.Errorf("--out %s: %w", out, unwrapPath(err)))
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 256<<10)
	err = s.cat.Download(ctx, s.args[0], w, list)
	if err == nil {
		err = w.Flush()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		if rerr := os.Rename(tmp.Name(), out); rerr != nil {
			err = fmt.Errorf("--out %s: %w", out, unwrapPath(rerr))
		}
	}
	if err != nil {
		return s.fail(err)
	}
	fmt.Fprintf(s.stderr, "segmentkit %s: wrote %s\n", s.name, out)
	return exitOK
}

// parseTimeFlag parses a time flag: an RFC 3339 instant, or a YYYY-MM-DD
// day in UTC, meaning its start (its end when endOfDay). "" is the zero
// time, and so is "none".
func parseTimeFlag(name, v string, endOfDay bool) (time.Time, error) {
	switch v {
	case "", "none":
		return time.Time{}, nil
	}
	if d, err := exact.ParseDate(v); err == nil {
		if endOfDay {
			return exact.DayTime(d + 1).Add(-time.Nanosecond), nil
		}
		return exact.DayTime(d), nil
	}
	if t, err := exact.ParseDatetime(v); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s %q: want a date (2026-06-30) or an RFC 3339 instant (2026-06-30T12:00:00Z)", name, v)
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// cell keeps a table cell on one line and never empty.
func cell(s string) string {
	if s == "" {
		return "-"
	}
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

// runServeSchedule runs "segmentkit serve-schedule": it applies the
// catalog's schedules (the refresh of all segments on --cron, each
// segment's own schedule, scheduled activations and deactivations) until
// ctx is done, then returns exitOK. Messages go to stderr. It never
// panics.
func runServeSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer recoverInternal("serve-schedule", stderr, &code)
	c := &cli{name: "serve-schedule", stdout: stdout, stderr: stderr}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	file := fs.String("catalog", defaultCatalog, "apply the schedules of the catalog `FILE`")
	data := dataFlag(fs)
	spec := fs.String("cron", "", "refresh every active segment on the cron schedule `SPEC` (\"0 3 * * *\"; default none)")
	workers := fs.Int("workers", 0, "refresh at most `N` segments at once (default the number of CPUs)")
	usage := func(err error) int {
		fmt.Fprintf(stderr, "segmentkit serve-schedule: %s\nRun 'segmentkit serve-schedule --help' for usage.\n", oneLine(err.Error()))
		return exitUsage
	}
	if err := checkFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeCommandUsage(stdout, &command{name: "serve-schedule", args: "--catalog FILE --data DIR [--cron SPEC] [--workers N]",
				summary: "apply a catalog's refresh schedules and scheduled (de)activations until interrupted"}, fs)
			return exitOK
		}
		return usage(err)
	}
	if err := fs.Parse(args); err != nil {
		return usage(err)
	}
	if fs.NArg() > 0 {
		return usage(fmt.Errorf("unexpected argument %q; serve-schedule takes only flags", fs.Arg(0)))
	}
	if err := checkDataDir(*data); err != nil {
		return usage(err)
	}
	if *workers < 0 {
		return usage(fmt.Errorf("--workers must be 0 or more, not %d", *workers))
	}
	if *spec != "" {
		if _, err := catalog.ParseSchedule(*spec); err != nil {
			return usage(fmt.Errorf("--cron: %w", err))
		}
	}
	if _, err := os.Stat(*file); errors.Is(err, iofs.ErrNotExist) {
		return c.fail(fmt.Errorf("catalog %s does not exist; create a segment first with 'segmentkit segments create'", *file))
	}
	src := catalog.NewDirSource(*data, storage.Options{})
	defer src.Close()
	cat, err := catalog.Open(*file, catalog.Options{Source: src, Workers: *workers})
	if err != nil {
		return c.fail(err)
	}
	defer cat.Close()
	logger := slog.New(slog.NewTextHandler(stderr, nil))
	sched, err := catalog.NewScheduler(cat, catalog.ScheduleOptions{Cron: *spec, Logger: logger})
	if err != nil {
		return usage(err)
	}
	what := "per-segment schedules and scheduled activations and deactivations only (no --cron)"
	if *spec != "" {
		what = fmt.Sprintf("refresh of all segments on %q, per-segment schedules, scheduled activations and deactivations", *spec)
	}
	fmt.Fprintf(stderr, "segmentkit serve-schedule: serving %s over %s: %s; interrupt to stop\n", *file, *data, what)
	if err := sched.Run(ctx); err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(stderr, "segmentkit serve-schedule: stopped\n")
	return exitOK
}
