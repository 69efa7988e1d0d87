package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/internal/exact"
)

// The "Add to" verbs: segments export, segments destinations add, list
// and remove, and segments exports.

// destFlags are the flags that describe a destination, shared by export
// and destinations add.
type destFlags struct {
	to, fields, hash, name *string
	group                  *string
	delta, changes         *bool
	batch                  *int
}

func declareDestFlags(fs *flag.FlagSet) *destFlags {
	return &destFlags{
		to: fs.String("to", "", "export to `DEST`: csv:FILE, jsonl:FILE, parquet:FILE, arrow:FILE, roaring:FILE, webhook:URL or postgres:CONNSTRING#TABLE "+
			"(FILE - writes standard output for csv and jsonl)"),
		fields:  fs.String("fields", "", "send the comma-separated `FIELDS`: customer attributes and Measures.X (default every customer attribute but the key, which always comes first)"),
		hash:    fs.String("hash", "", "send the comma-separated `FIELDS` as SHA-256 hex of their trimmed, lower-cased value, as ad platforms' customer match wants"),
		delta:   fs.Bool("delta", false, "send only the customers who entered and left since the last successful export to DEST"),
		changes: fs.Bool("changes", false, "with --delta, also send the members whose exported fields changed"),
		batch:   fs.Int("batch-size", 0, "send `N` rows per batch (default "+strconv.Itoa(export.DefaultBatchSize)+")"),
		name:    fs.String("name", "", "name the destination `NAME` among the segment's (default the kind of DEST: csv, webhook, ...)"),
		group:   fs.String("group", "", "send only the members of `GROUP` of the segment's split (never its holdout)"),
	}
}

// options returns the destination the flags describe.
func (f *destFlags) options() (catalog.DestinationOptions, error) {
	o := catalog.DestinationOptions{Name: *f.name, To: strings.TrimSpace(*f.to), Mode: export.Full, Changes: *f.changes, BatchSize: *f.batch,
		Fields: export.Fields{Names: splitList(*f.fields), Hash: splitList(*f.hash)}, Group: strings.TrimSpace(*f.group)}
	switch {
	case o.To == "":
		return o, errors.New("missing --to DEST: where to export (csv:members.csv, webhook:https://..., postgres:CONNSTRING#TABLE)")
	case *f.batch < 0 || *f.batch > export.MaxBatchSize:
		return o, fmt.Errorf("--batch-size must be between 1 and %d, not %d", export.MaxBatchSize, *f.batch)
	case *f.changes && !*f.delta:
		return o, errors.New("--changes needs --delta: a full export sends every member anyway")
	}
	if *f.delta {
		o.Mode = export.Delta
	}
	return o, nil
}

// nameOnly reports whether none of the flags that set a destination's
// fields, mode and batch size is given.
func (f *destFlags) nameOnly() bool {
	return *f.fields == "" && *f.hash == "" && !*f.delta && !*f.changes && *f.batch == 0 && *f.group == ""
}

// openDestination opens the destination a target names, with "-" as the
// file of csv and jsonl meaning the command's standard output.
func (s *segSession) openDestination(target string) (export.Destination, error) {
	switch stdoutKind(target) {
	case "csv":
		return export.NewCSVTo(s.out, "-"), nil
	case "jsonl":
		return export.NewJSONLTo(s.out, "-"), nil
	}
	return export.ParseDestination(target)
}

// stdoutKind returns "csv" or "jsonl" for a target that writes standard
// output ("csv:-", "JSONL: -"), and "" for any other.
func stdoutKind(target string) string {
	kind, rest, _ := strings.Cut(strings.TrimSpace(target), ":")
	if kind = strings.ToLower(kind); (kind == "csv" || kind == "jsonl") && strings.TrimSpace(rest) == "-" {
		return kind
	}
	return ""
}

// splitList splits a comma-separated flag value, dropping empty items.
func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

var exportVerb = &segVerb{name: "export", args: "NAME --to DEST [--fields F,...] [--hash F,...] [--delta [--changes]] --data DIR",
	data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
	summary: "send a segment's members to a file, a webhook or a PostgreSQL table, whole or as a delta",
	flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
		df := declareDestFlags(fs)
		return func(ctx context.Context, s *segSession) int { return s.export(ctx, df) }
	}}

var destinationsCommand = &command{
	name:    "destinations",
	summary: "attach export destinations to a segment: every successful refresh exports to them",
	intro:   "segmentkit segments destinations attaches export destinations to a segment; every successful refresh exports to them.",
	verbs: []*command{
		segmentsVerb(&segVerb{name: "add", args: "NAME --to DEST [--name D] [--fields F,...] [--hash F,...] [--delta [--changes]] [--on-demand] --data DIR",
			data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
			summary: "attach a destination to a segment",
			flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
				df := declareDestFlags(fs)
				onDemand := fs.Bool("on-demand", false, "export only with 'segments export', not after every refresh")
				return func(ctx context.Context, s *segSession) int { return s.addDestination(ctx, df, *onDemand) }
			}}),
		segmentsVerb(&segVerb{name: "list", readOnly: true, args: "NAME", json: true, minArgs: 1, maxArgs: 1,
			summary: "list a segment's destinations with their latest export",
			flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
				return func(ctx context.Context, s *segSession) int { return s.listDestinations(ctx) }
			}}),
		segmentsVerb(&segVerb{name: "remove", args: "NAME DESTINATION", json: true, minArgs: 2, maxArgs: 2,
			summary: "detach a destination and forget what it was sent (the target itself is left as it is)",
			flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
				return func(ctx context.Context, s *segSession) int { return s.removeDestination(ctx) }
			}}),
	},
}

var exportsVerb = &segVerb{name: "exports", readOnly: true, args: "[NAME] [--job ID] [--limit N]", json: true, maxArgs: 1,
	summary: "list the latest export jobs (of one segment), or show one",
	flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
		limit := fs.Int("limit", 20, "show the latest `N` export jobs (0 for all)")
		job := fs.Uint64("job", 0, "show export job `ID`")
		return func(ctx context.Context, s *segSession) int { return s.exports(ctx, *limit, *job) }
	}}

func (s *segSession) export(ctx context.Context, df *destFlags) int {
	opts, err := df.options()
	switch {
	case s.remote && opts.To == "" && *df.name == "":
		return s.usage(errors.New("missing --to DEST or --name DESTINATION: where to export ('segments destinations list NAME' lists the segment's destinations)"))
	case s.remote && opts.To == "" && !df.nameOnly():
		return s.usage(errors.New("--fields, --hash, --delta, --changes, --batch-size and --group need --to DEST: --name alone exports to that destination with its settings"))
	case s.remote && opts.To == "":
		// Through the server, --name alone exports to that destination.
		opts = catalog.DestinationOptions{Name: *df.name}
	case err != nil:
		return s.usage(err)
	}
	if *df.name != "" {
		// --name picks an attached destination; --to must match it.
		opts.Name = *df.name
	}
	seg, err := s.cat.Get(ctx, s.args[0])
	if err != nil {
		return s.fail(err)
	}
	if seg.LastRefreshed.IsZero() {
		return s.fail(fmt.Errorf("segment %q has never been refreshed, so it has no members to export; refresh it first: %s", seg.Name, s.refreshHint(seg.Name)))
	}
	job, err := s.cat.ExportTo(ctx, s.args[0], opts)
	if job == nil {
		return s.fail(err)
	}
	code := exitOK
	switch out := s.humanOut(opts.To); {
	case s.json && out == s.stderr:
		code = s.emitOn(s.stderr, job)
	case s.json:
		code = s.emit(job)
	default:
		writeExportJob(out, job)
	}
	if err != nil {
		return s.fail(err)
	}
	if code == exitOK && job.Status == catalog.Failed {
		return s.fail(fmt.Errorf("export job %d failed: %s", job.ID, strings.Join(job.Errors, "; ")))
	}
	return code
}

// humanOut is where the report of an export goes: standard error when
// the rows themselves went to standard output.
func (s *segSession) humanOut(to string) io.Writer {
	if stdoutKind(to) != "" {
		return s.stderr
	}
	return s.out
}

// counted writes n with the word for one or for many.
func counted(n int64, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return exact.FormatCount(n) + " " + many
}

func (s *segSession) addDestination(ctx context.Context, df *destFlags, onDemand bool) int {
	opts, err := df.options()
	if err != nil {
		return s.usage(err)
	}
	opts.OnDemand = onDemand
	d, err := s.cat.AddDestination(ctx, s.args[0], opts)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(d)
	}
	when := "after every successful refresh"
	if d.OnDemand {
		when = "on demand ('segments export " + s.args[0] + " --to ...')"
	}
	what := s.args[0]
	if d.Group != "" {
		what += " group " + d.Group
	}
	fmt.Fprintf(s.out, "%s exports to %s as %q (%s), %s\n", what, d.Where, d.Name, d.Mode, when)
	return exitOK
}

func (s *segSession) listDestinations(ctx context.Context) int {
	ds, err := s.cat.Destinations(ctx, s.args[0])
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		if ds == nil {
			ds = []*catalog.Destination{}
		}
		return s.emit(ds)
	}
	if len(ds) == 0 {
		fmt.Fprintf(s.out, "%s has no destinations; attach one with 'segmentkit segments destinations add %s --to DEST --data DIR'\n", s.args[0], s.args[0])
		return exitOK
	}
	tw := newTable(s.out)
	fmt.Fprintln(tw, "NAME\tWHERE\tMODE\tWHEN\tFIELDS\tSENT\tLAST EXPORT\tSTATUS")
	for _, d := range ds {
		when := "refresh"
		if d.OnDemand {
			when = "on demand"
		}
		fields := strings.Join(d.Fields, ",")
		if fields == "" {
			fields = "(all attributes)"
		}
		if len(d.Hash) > 0 {
			fields += " hashed: " + strings.Join(d.Hash, ",")
		}
		mode := d.Mode.String()
		if d.Changes {
			mode += "+changes"
		}
		last, status := "-", "-"
		if d.LastExport != 0 {
			last, status = strconv.FormatUint(d.LastExport, 10), d.LastStatus.String()
		}
		where := d.Where
		if d.Group != "" {
			where += " (group " + d.Group + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(d.Name), cell(where), mode, when, cell(fields), exact.FormatCount(d.Sent), last, status)
	}
	tw.Flush()
	for _, d := range ds {
		if d.LastError != "" {
			writeLines(s.out, d.Name+": last error: ", d.LastError)
		}
		if d.Pending {
			fmt.Fprintf(s.out, "%s: a batch of an interrupted export waits to be delivered again at the next export\n", d.Name)
		}
	}
	return exitOK
}

func (s *segSession) removeDestination(ctx context.Context) int {
	if err := s.cat.RemoveDestination(ctx, s.args[0], s.args[1]); err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(map[string]string{"segment": s.args[0], "removed": s.args[1]})
	}
	fmt.Fprintf(s.out, "removed destination %s of %s\n", s.args[1], s.args[0])
	return exitOK
}

func (s *segSession) exports(ctx context.Context, limit int, id uint64) int {
	if id != 0 {
		j, err := s.cat.ExportJob(ctx, id)
		if err != nil {
			return s.fail(err)
		}
		if len(s.args) == 1 {
			// The job must be one of NAME's (which may have been renamed
			// since the job ran).
			of, err := s.cat.Exports(ctx, s.args[0], 0)
			if err != nil {
				return s.fail(err)
			}
			if !slices.ContainsFunc(of, func(o *catalog.ExportJob) bool { return o.ID == id }) {
				return s.fail(fmt.Errorf("export job %d is an export of %s, not of %s", id, j.Segment, s.args[0]))
			}
		}
		if s.json {
			return s.emit(j)
		}
		writeExportJob(s.out, j)
		return exitOK
	}
	if limit < 0 {
		return s.usage(fmt.Errorf("--limit must be 0 or more, not %d", limit))
	}
	name := ""
	if len(s.args) == 1 {
		name = s.args[0]
	}
	jobs, err := s.cat.Exports(ctx, name, limit)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		if jobs == nil {
			jobs = []*catalog.ExportJob{}
		}
		return s.emit(jobs)
	}
	tw := newTable(s.out)
	fmt.Fprintln(tw, "EXPORT\tSTATUS\tSEGMENT\tDESTINATION\tMODE\tTRIGGER\tSTARTED\tTIME\tROWS\tBATCHES\tTRIES\tBYTES")
	for _, j := range jobs {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", j.ID, exportStatus(j.Status), cell(j.Segment), cell(j.Destination), j.Mode,
			j.Trigger, formatTime(j.Started), round(j.Duration), exact.FormatCount(j.Stats.Rows), exact.FormatCount(j.Stats.Batches),
			exact.FormatCount(j.Stats.Tries), formatBytes(j.Stats.Bytes))
	}
	tw.Flush()
	return exitOK
}

// exportStatus is an export job's status as people say it: running, not
// refreshing.
func exportStatus(st catalog.Status) string {
	if st == catalog.Refreshing {
		return "running"
	}
	return st.String()
}

// writeExportJob writes what an export job did.
func writeExportJob(w io.Writer, j *catalog.ExportJob) {
	fmt.Fprintf(w, "export %d %s: %s to %s (%s, %s, %s), processing time %s\n", j.ID, exportStatus(j.Status), j.Segment, j.Where,
		j.Destination, j.Mode, j.Trigger, round(j.Duration))
	if j.Group != "" {
		fmt.Fprintf(w, "group: %s\n", j.Group)
	}
	if j.Mode == export.Delta {
		fmt.Fprintf(w, "members: %s; sent %s entered, %s changed, %s left\n", exact.FormatCount(j.Members), exact.FormatCount(j.Entered),
			exact.FormatCount(j.Changed), exact.FormatCount(j.Left))
	} else {
		fmt.Fprintf(w, "members: %s\n", exact.FormatCount(j.Members))
	}
	fmt.Fprintf(w, "delivered: %s in %s (%s), %s\n", counted(j.Stats.Rows, "row", "rows"), counted(j.Stats.Batches, "batch", "batches"),
		counted(j.Stats.Tries, "try", "tries"), formatBytes(j.Stats.Bytes))
	if j.Resent {
		fmt.Fprintln(w, "first delivered again the batch an interrupted export had in flight")
	}
	for _, e := range j.Errors {
		writeLines(w, "error: ", e)
	}
}
