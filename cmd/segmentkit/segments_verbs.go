package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// readDefinition reads the file named by --segment.
func (s *segSession) readDefinition(file string) ([]byte, int) {
	if file == "" {
		return nil, s.usage(errors.New("missing --segment FILE: the segment definition"))
	}
	data, err := s.readFile("--segment", file)
	if err != nil {
		return nil, s.fail(err)
	}
	return data, -1
}

func (s *segSession) create(ctx context.Context, name string, active bool) int {
	data := s.def
	if !s.asOf.IsZero() && !active {
		s.discard = true
		return s.usage(errors.New("--as-of needs --active: it is the instant the refresh evaluates the segment at"))
	}
	if name == "" && segment.ReadHeader(data).Name == "" {
		s.discard = true
		return s.fail(fmt.Errorf("%w: the definition has no name; give it a \"name\" or pass --name NAME", catalog.ErrInvalidName))
	}
	seg, err := s.cat.Create(ctx, data, catalog.CreateOptions{Name: name, Active: active, AsOf: s.asOf})
	if seg == nil {
		s.discard = true
		return s.fail(err)
	}
	return s.saved(seg, err, "created")
}

func (s *segSession) edit(ctx context.Context) int {
	data := s.def
	seg, err := s.cat.Edit(ctx, s.args[0], data)
	if err != nil {
		return s.fail(err)
	}
	return s.saved(seg, nil, "saved")
}

func (s *segSession) previewEdit(ctx context.Context, samples int) int {
	if samples < 1 || samples > catalog.MaxEditSamples {
		return s.usage(fmt.Errorf("--samples must be from 1 to %d, not %d", catalog.MaxEditSamples, samples))
	}
	p, err := s.cat.PreviewEdit(ctx, s.args[0], s.def, catalog.EditPreviewOptions{AsOf: s.asOf, Samples: samples})
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(p)
	}
	current := fmt.Sprintf("its %s current %s", exact.FormatCount(p.Current), plural(p.Current, "member"))
	if !p.Refreshed {
		current = "no current members (it was never refreshed)"
	}
	fmt.Fprintf(s.out, "%s, not saved: %s %s as of %s against %s\n", p.Segment, exact.FormatCount(p.Members), plural(p.Members, "member"), formatTime(p.AsOf), current)
	for _, side := range []struct {
		what string
		n    uint64
		keys []string
	}{{"added", p.Added, p.AddedKeys}, {"removed", p.Removed, p.RemovedKeys}} {
		fmt.Fprintf(s.out, "  %s: %s", side.what, exact.FormatCount(side.n))
		if len(side.keys) > 0 {
			fmt.Fprintf(s.out, " (%s", strings.Join(side.keys, ", "))
			if uint64(len(side.keys)) < side.n {
				fmt.Fprint(s.out, ", ...")
			}
			fmt.Fprint(s.out, ")")
		}
		fmt.Fprintln(s.out)
	}
	return exitOK
}

// saved reports a created or edited segment. err is the error that came
// with it (a draft saved when activation was asked for).
func (s *segSession) saved(seg *catalog.Segment, err error, verb string) int {
	code := exitOK
	if s.json {
		code = s.emit(seg)
	} else {
		switch {
		case seg.State == catalog.Draft:
			fmt.Fprintf(s.out, "%s %s as a draft: its definition has %d %s; edit it to make it valid\n", verb, seg.Name, len(seg.Problems), plural(len(seg.Problems), "problem"))
			writeProblems(s.out, "  ", seg.Problems)
		case seg.State == catalog.Active && verb == "created":
			// Only create refreshes; edit leaves the members as they were.
			fmt.Fprintf(s.out, "%s %s (active, %s %s, refresh %s)\n", verb, seg.Name, exact.FormatCount(seg.MemberCount), plural(seg.MemberCount, "member"), seg.Status)
		default:
			fmt.Fprintf(s.out, "%s %s (%s)\n", verb, seg.Name, seg.State)
		}
	}
	if err != nil {
		if c := s.fail(err); code == exitOK {
			code = c
		}
	}
	if code == exitOK && verb == "created" && seg.State == catalog.Active && seg.Status == catalog.Failed {
		return s.fail(fmt.Errorf("the refresh of %s failed: %s", seg.Name, seg.LastError))
	}
	return code
}

func (s *segSession) rename(ctx context.Context) int {
	if err := s.cat.Rename(ctx, s.args[0], s.args[1]); err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.showJSON(ctx, s.args[1])
	}
	fmt.Fprintf(s.out, "renamed %s to %s\n", s.args[0], s.args[1])
	return exitOK
}

func (s *segSession) delete(ctx context.Context) int {
	if err := s.cat.Delete(ctx, s.args[0]); err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(map[string]string{"deleted": s.args[0]})
	}
	fmt.Fprintf(s.out, "deleted %s\n", s.args[0])
	return exitOK
}

func (s *segSession) showJSON(ctx context.Context, name string) int {
	seg, err := s.cat.Get(ctx, name)
	if err != nil {
		return s.fail(err)
	}
	return s.emit(seg)
}

func (s *segSession) list(ctx context.Context, sort string, desc bool, search string) int {
	segs, err := s.cat.List(ctx, catalog.ListOptions{Sort: catalog.SortBy(sort), Desc: desc, Search: search})
	if err != nil {
		if errors.Is(err, catalog.ErrUnknownField) {
			return s.usage(fmt.Errorf("--sort: %w", err))
		}
		return s.fail(err)
	}
	if s.json {
		return s.emit(segs)
	}
	tw := newTable(s.out)
	fmt.Fprintln(tw, "NAME\tDISPLAY NAME\tTYPE\tSTATE\tMEMBERS\tLAST REFRESHED\tSTATUS\tCREATED\tMODIFIED")
	for _, g := range segs {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", g.Name, cell(g.DisplayName), g.Membership, g.State,
			exact.FormatCount(g.MemberCount), formatTime(g.LastRefreshed), g.Status, formatTime(g.Created), formatTime(g.Modified))
	}
	tw.Flush()
	return exitOK
}

func (s *segSession) show(ctx context.Context, definition bool) int {
	seg, err := s.cat.Get(ctx, s.args[0])
	if err != nil {
		return s.fail(err)
	}
	switch {
	case definition && s.json:
		return s.emit(json.RawMessage(segmentDefinitionJSON(seg)))
	case definition:
		// As stored, so that it can be edited and given back to edit.
		fmt.Fprintf(s.out, "%s\n", strings.TrimRight(string(seg.Definition), "\n"))
		return exitOK
	case s.json:
		return s.emit(seg)
	}
	tw := newTable(s.out)
	row := func(k, v string) {
		if v != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", k, oneLine(v))
		}
	}
	row("name", seg.Name)
	row("display name", seg.DisplayName)
	row("description", seg.Description)
	row("type", seg.Membership.String())
	row("state", seg.State.String())
	members := exact.FormatCount(seg.MemberCount)
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
	split, err := s.splitSummary(ctx, seg.Name)
	if err != nil {
		return s.fail(err)
	}
	row("split", split)
	tw.Flush()
	if len(seg.Problems) > 0 {
		fmt.Fprintf(s.out, "problems:\n")
		writeProblems(s.out, "  ", seg.Problems)
	}
	fmt.Fprintf(s.out, "definition:\n%s\n", strings.TrimRight(string(seg.Definition), "\n"))
	return exitOK
}

func (s *segSession) activate(ctx context.Context, at string) int {
	name := s.args[0]
	if at != "" {
		return s.scheduleAt(ctx, at, "activated", s.cat.ScheduleActivation)
	}
	if !s.asOf.IsZero() && s.data == "" && !s.remote {
		return s.usage(errors.New("--as-of needs --data DIR: it is the instant the refresh evaluates the segment at"))
	}
	job, err := s.cat.ActivateWith(ctx, name, catalog.RefreshOptions{AsOf: s.asOf})
	if err != nil && job == nil {
		return s.fail(err)
	}
	code := exitOK
	if s.json {
		seg, gerr := s.cat.Get(ctx, name)
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
			writeJob(s.out, job)
		case s.data == "" && !s.remote:
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

func (s *segSession) deactivate(ctx context.Context, at string) int {
	name := s.args[0]
	if at != "" {
		return s.scheduleAt(ctx, at, "deactivated", s.cat.ScheduleDeactivation)
	}
	if err := s.cat.Deactivate(ctx, name); err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.showJSON(ctx, name)
	}
	fmt.Fprintf(s.out, "deactivated %s\n", name)
	return exitOK
}

// scheduleAt schedules the segment's state change at the time --at gives
// ("none" cancels it) and reports it.
func (s *segSession) scheduleAt(ctx context.Context, at, what string, set func(ctx context.Context, name string, t time.Time) error) int {
	t, err := parseTimeFlag("--at", at, false)
	if err != nil {
		return s.usage(err)
	}
	if err := set(ctx, s.args[0], t); err != nil {
		return s.fail(err)
	}
	return s.scheduled(ctx, s.args[0], what, t)
}

// scheduled reports a scheduled (or cancelled) state change.
func (s *segSession) scheduled(ctx context.Context, name, what string, t time.Time) int {
	if s.json {
		return s.showJSON(ctx, name)
	}
	if t.IsZero() {
		fmt.Fprintf(s.out, "%s will not be %s as scheduled\n", name, what)
	} else {
		fmt.Fprintf(s.out, "%s will be %s at %s by serve-schedule\n", name, what, formatTime(t))
	}
	return exitOK
}

func (s *segSession) schedule(ctx context.Context, spec string, off bool) int {
	name := s.args[0]
	switch {
	case off && spec != "":
		return s.usage(errors.New("give --cron SPEC or --off, not both"))
	case !off && spec == "":
		return s.usage(errors.New("missing --cron SPEC (or --off to remove the schedule)"))
	}
	if err := s.cat.SetSchedule(ctx, name, spec); err != nil {
		if errors.Is(err, catalog.ErrSchedule) {
			return s.usage(fmt.Errorf("--cron: %w", err))
		}
		return s.fail(err)
	}
	if s.json {
		return s.showJSON(ctx, name)
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
		return s.usage(errors.New("give segment names or --all, not both"))
	case all:
		job, err = s.cat.RefreshAllWith(ctx, catalog.RefreshOptions{AsOf: s.asOf})
	case len(s.args) == 0:
		return s.usage(errors.New("missing segment names (or --all to refresh every segment)"))
	default:
		job, err = s.cat.RefreshWith(ctx, catalog.RefreshOptions{AsOf: s.asOf}, s.args...)
	}
	if job == nil {
		return s.fail(err)
	}
	code := exitOK
	if s.json {
		code = s.emit(job)
	} else {
		writeJob(s.out, job)
		s.writeJobExports(ctx, job)
	}
	if err != nil {
		return s.fail(err)
	}
	if code == exitOK {
		return s.jobCode(job)
	}
	return code
}

// writeJobExports writes one line for each export job that followed the
// refresh job, with the first error of a failed one.
func (s *segSession) writeJobExports(ctx context.Context, job *catalog.Job) {
	for _, id := range job.Exports {
		ej, err := s.cat.ExportJob(ctx, id)
		if err != nil {
			fmt.Fprintf(s.out, "export %d: %v\n", id, err)
			continue
		}
		fmt.Fprintf(s.out, "export %d %s: %s to %s (%s), %s\n", ej.ID, exportStatus(ej.Status), ej.Segment, ej.Where, ej.Mode,
			counted(ej.Stats.Rows, "row", "rows"))
		for _, e := range ej.Errors {
			writeLines(s.out, "  error: ", e)
		}
	}
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

func (s *segSession) jobs(ctx context.Context, limit int) int {
	if len(s.args) == 1 {
		id, err := strconv.ParseUint(s.args[0], 10, 64)
		if err != nil {
			return s.usage(fmt.Errorf("job %q: want a job number", s.args[0]))
		}
		job, err := s.cat.Job(ctx, id)
		if err != nil {
			return s.fail(err)
		}
		if s.json {
			return s.emit(job)
		}
		writeJob(s.out, job)
		return exitOK
	}
	if limit < 0 {
		return s.usage(fmt.Errorf("--limit must be 0 or more, not %d", limit))
	}
	jobs, err := s.cat.Jobs(ctx, limit)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		if jobs == nil {
			jobs = []*catalog.Job{}
		}
		return s.emit(jobs)
	}
	tw := newTable(s.out)
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

// timeRange parses --from and --to; code is -1 when they are valid.
func (s *segSession) timeRange(from, to string) (f, t time.Time, code int) {
	f, err := parseTimeFlag("--from", from, false)
	if err != nil {
		return f, t, s.usage(err)
	}
	t, err = parseTimeFlag("--to", to, true)
	if err != nil {
		return f, t, s.usage(err)
	}
	if !f.IsZero() && !t.IsZero() && t.Before(f) {
		return f, t, s.usage(errors.New("--to is before --from"))
	}
	return f, t, -1
}

func (s *segSession) history(ctx context.Context, from, to string) int {
	f, t, code := s.timeRange(from, to)
	if code >= 0 {
		return code
	}
	hist, err := s.cat.History(ctx, s.args[0], f, t)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		if hist == nil {
			hist = []catalog.HistoryEntry{}
		}
		return s.emit(hist)
	}
	tw := newTable(s.out)
	fmt.Fprintln(tw, "TIME\tAS OF\tMEMBERS\tENTERED\tLEFT\tJOB")
	for _, h := range hist {
		note := ""
		if h.Kept {
			note = " (static, kept)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d%s\n", formatTime(h.Time), formatTime(h.AsOf), exact.FormatCount(h.MemberCount), exact.FormatCount(h.Entered),
			exact.FormatCount(h.Left), h.Job, note)
	}
	tw.Flush()
	return exitOK
}

func (s *segSession) changes(ctx context.Context, from, to string) int {
	f, t, code := s.timeRange(from, to)
	if code >= 0 {
		return code
	}
	changes, err := s.cat.Changes(ctx, s.args[0], f, t)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		if changes == nil {
			changes = []catalog.Change{}
		}
		return s.emit(changes)
	}
	// One aligned row per refresh, each followed by its keys.
	var b strings.Builder
	tw := newTable(&b)
	fmt.Fprintln(tw, "TIME\tJOB\tENTERED\tLEFT")
	for _, c := range changes {
		note := ""
		if c.Kept {
			note = " (static, kept)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s%s\n", formatTime(c.Time), c.Job, exact.FormatCount(c.EnteredCount), exact.FormatCount(c.LeftCount), note)
	}
	tw.Flush()
	rows := strings.SplitAfter(b.String(), "\n")
	io.WriteString(s.out, rows[0])
	for i, c := range changes {
		io.WriteString(s.out, rows[i+1])
		writeKeys(s.out, "  entered: ", c.Entered)
		writeKeys(s.out, "  left:    ", c.Left)
	}
	return exitOK
}

// keysWidth is the width that lists of customer keys wrap at.
const keysWidth = 100

// writeKeys writes the keys after label, wrapped at keysWidth with the
// lines after the first indented under the first key; nothing for none.
func writeKeys(w io.Writer, label string, keys []string) {
	if len(keys) == 0 {
		return
	}
	var b strings.Builder
	b.WriteString(label)
	n := len(label)
	for i, k := range keys {
		k = cell(k)
		if i > 0 && n+1+len(k) > keysWidth {
			b.WriteString("\n" + strings.Repeat(" ", len(label)))
			n = len(label)
		} else if i > 0 {
			b.WriteByte(' ')
			n++
		}
		b.WriteString(k)
		n += len(k)
	}
	b.WriteByte('\n')
	io.WriteString(w, b.String())
}

func (s *segSession) member(ctx context.Context) int {
	if s.args[0] == "" {
		return s.usage(errors.New("the customer KEY is empty"))
	}
	ms, err := s.cat.SegmentsOf(ctx, s.args[0])
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		if ms == nil {
			ms = []catalog.Membership{}
		}
		return s.emit(ms)
	}
	if len(ms) == 0 {
		fmt.Fprintf(s.out, "%s is in no segment, and left none at its latest refresh\n", cell(s.args[0]))
		return exitOK
	}
	tw := newTable(s.out)
	fmt.Fprintln(tw, "SEGMENT\tSTATUS\tSINCE")
	for _, m := range ms {
		since := formatTime(m.Since)
		if !m.SinceKnown && !m.Before.IsZero() {
			since = "before " + formatTime(m.Before)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", m.Segment, m.Status, since)
	}
	tw.Flush()
	return exitOK
}

func (s *segSession) preview(ctx context.Context, rows int) int {
	if rows <= 0 {
		return s.usage(fmt.Errorf("--rows must be positive, not %d", rows))
	}
	p, err := s.cat.PreviewWith(ctx, s.args[0], rows, catalog.PreviewOptions{AsOf: s.asOf})
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(p)
	}
	fmt.Fprintf(s.out, "%s: %s %s; the first %d, with values as of %s:\n", p.Segment, exact.FormatCount(p.Total), plural(p.Total, "member"),
		len(p.Rows), formatTime(p.AsOf))
	tw := newTable(s.out)
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
			typ := schema.Invalid
			if i < len(p.Columns) {
				typ = p.Columns[i].Type
			}
			io.WriteString(tw, cell(formatTyped(typ, v)))
		}
		io.WriteString(tw, "\n")
	}
	tw.Flush()
	for _, w := range p.Warnings {
		fmt.Fprintf(s.stderr, "%swarning: %s\n", s.prefix(), oneLine(w))
	}
	return exitOK
}

func (s *segSession) download(ctx context.Context, fields, out string) int {
	list := splitList(fields)
	seg, err := s.cat.Get(ctx, s.args[0])
	if err != nil {
		return s.fail(err)
	}
	if seg.LastRefreshed.IsZero() {
		return s.fail(fmt.Errorf("segment %q has never been refreshed, so it has no members to download; refresh it first: %s", seg.Name, s.refreshHint(seg.Name)))
	}
	if out == "" {
		if err := s.cat.DownloadWith(ctx, s.args[0], s.out, list, catalog.PreviewOptions{AsOf: s.asOf}); err != nil {
			return s.fail(err)
		}
		return exitOK
	}
	err = writeOut(out, func(w io.Writer) error {
		return s.cat.DownloadWith(ctx, s.args[0], w, list, catalog.PreviewOptions{AsOf: s.asOf})
	})
	if err != nil {
		return s.fail(err)
	}
	fmt.Fprintf(s.stderr, "%swrote %s\n", s.prefix(), out)
	return exitOK
}

// writeOut writes the file --out names with write: into a temporary file
// next to it, renamed into place once write succeeds, so that a failed
// write leaves no partial file behind (nor changes a file there before).
func writeOut(out string, write func(w io.Writer) error) error {
	if st, err := os.Stat(out); err == nil && st.IsDir() {
		return fmt.Errorf("--out %s: is a directory", out)
	}
	tmp, err := os.CreateTemp(filepath.Dir(out), filepath.Base(out)+".tmp*")
	if err != nil {
		return fmt.Errorf("--out %s: %w", out, unwrapPath(err))
	}
	defer os.Remove(tmp.Name())
	w := bufio.NewWriterSize(tmp, 256<<10)
	err = write(w)
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
	return err
}

// refreshHint is the command line that refreshes the segment, for
// messages.
func (s *segSession) refreshHint(name string) string {
	if s.remote {
		return "segmentkit segments refresh " + name + " --server URL"
	}
	return "segmentkit segments refresh " + name + " --data DIR"
}

// overlapColumns is how many of --by's values the text of overlap shows
// as columns; the others are added up in one.
const overlapColumns = 8

func (s *segSession) overlap(ctx context.Context, by string) int {
	ov, err := s.cat.Overlap(ctx, s.args, analysis.OverlapOptions{By: by})
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(ov)
	}
	fmt.Fprintf(s.out, "%s customers in %d segments:", exact.FormatCount(ov.Customers), len(ov.Sets))
	for i, name := range ov.Sets {
		fmt.Fprintf(s.out, " %s (%s)", name, exact.FormatCount(ov.Sizes[i]))
	}
	fmt.Fprintln(s.out)
	shown := ov.Values[:min(len(ov.Values), overlapColumns)]
	tw := newTable(s.out)
	io.WriteString(tw, "IN\tCUSTOMERS\tSHARE")
	for _, v := range shown {
		io.WriteString(tw, "\t"+cell(v))
	}
	if by != "" {
		io.WriteString(tw, "\tOTHER\tNO VALUE")
	}
	io.WriteString(tw, "\n")
	for _, r := range ov.Regions {
		in := "(none of them)"
		if len(r.In) > 0 {
			in = strings.Join(r.In, " & ")
			if len(r.In) < len(ov.Sets) {
				in += " only"
			}
		}
		share := "0%"
		if ov.Customers > 0 {
			share = fmt.Sprintf("%.1f%%", 100*float64(r.Count)/float64(ov.Customers))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s", cell(in), exact.FormatCount(r.Count), share)
		if by != "" {
			other := r.Other
			for j, c := range r.ByValue {
				if j < len(shown) {
					fmt.Fprintf(tw, "\t%s", exact.FormatCount(c))
				} else {
					other += c
				}
			}
			fmt.Fprintf(tw, "\t%s\t%s", exact.FormatCount(other), exact.FormatCount(r.Null))
		}
		io.WriteString(tw, "\n")
	}
	tw.Flush()
	return exitOK
}

func (s *segSession) differentiators(ctx context.Context, against, attrs string, top int) int {
	if top < 1 || top > analysis.MaxByValues {
		return s.usage(fmt.Errorf("--top must be from 1 to %d, not %d", analysis.MaxByValues, top))
	}
	opts := catalog.DifferentiatorsOptions{Against: against, Top: top}
	if attrs != "" {
		for _, a := range strings.Split(attrs, ",") {
			opts.Attributes = append(opts.Attributes, strings.TrimSpace(a))
		}
	}
	d, err := s.cat.Differentiators(ctx, s.args[0], opts)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(d)
	}
	base := fmt.Sprintf("all %s customers", exact.FormatCount(d.BaseSize))
	if d.Against != "" {
		base = fmt.Sprintf("%s (%s)", d.Against, exact.FormatCount(d.BaseSize))
	}
	fmt.Fprintf(s.out, "%s (%s) against %s", d.Segment, exact.FormatCount(d.SegmentSize), base)
	if d.AsOf != nil {
		fmt.Fprintf(s.out, "; measures as of %s", formatTime(*d.AsOf))
	}
	fmt.Fprintln(s.out)
	tw := newTable(s.out)
	io.WriteString(tw, "ATTRIBUTE\tSTATISTIC\tSCORE\tNO VALUE\tWHAT SETS IT APART (segment vs base)\n")
	for _, a := range d.Attributes {
		stat := "total variation"
		if a.Statistic == analysis.KolmogorovSmirnov {
			stat = "KS"
		}
		how := apart(a)
		if a.Identifying {
			how = fmt.Sprintf("identifies customers: %s distinct values", exact.FormatCount(a.Distinct))
		}
		fmt.Fprintf(tw, "%s\t%s\t%.3f\t%s vs %s\t%s\n", cell(a.Attribute), stat, a.Score,
			percentOf(a.Segment.Null, a.Segment.Values+a.Segment.Null), percentOf(a.Base.Null, a.Base.Values+a.Base.Null), cell(how))
	}
	tw.Flush()
	return exitOK
}

// percentOf prints c of n as a percentage.
func percentOf(c, n uint64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f%%", 100*float64(c)/float64(n))
}

// apart says in a line what drives a differentiator: a categorical
// attribute's top values with their shares and lift, a numeric one's
// means, Cohen's d and where the distributions differ most.
func apart(a analysis.Differentiator) string {
	if a.Statistic == analysis.TotalVariation {
		var parts []string
		for _, v := range a.Values {
			p := fmt.Sprintf("%s %.1f%% vs %.1f%%", v.Value, 100*v.SegmentShare, 100*v.BaseShare)
			if v.Lift != nil {
				p += fmt.Sprintf(" (x%.2f)", *v.Lift)
			}
			parts = append(parts, p)
		}
		return strings.Join(parts, "; ")
	}
	if a.Segment.Mean == nil || a.Base.Mean == nil {
		return "no values to compare"
	}
	out := fmt.Sprintf("mean %s vs %s", meanText(a.Type, *a.Segment.Mean), meanText(a.Type, *a.Base.Mean))
	if a.SMD != nil {
		out += fmt.Sprintf(" (d %.2f)", *a.SMD)
	}
	out += fmt.Sprintf("; median %s vs %s", a.Segment.Median, a.Base.Median)
	if a.Score > 0 {
		out += fmt.Sprintf("; at or below %s: %.1f%% vs %.1f%%", a.KSAt, 100*a.SegmentBelow, 100*a.BaseBelow)
	}
	return out
}

// meanText prints a mean: dates (days since 1970-01-01) as the day.
func meanText(typ string, mean float64) string {
	if typ == "date" || typ == "datetime" {
		return exact.FormatDay(int64(math.Round(mean)))
	}
	return strconv.FormatFloat(mean, 'g', 6, 64)
}
