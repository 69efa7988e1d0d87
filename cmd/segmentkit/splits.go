package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/internal/exact"
)

// The verbs of splits and priority lists: segments split, segments
// groups, and segments priority create, show, list, delete and export
// (docs/format.md sections 14 and 15).

var splitVerb = &segVerb{name: "split", args: "NAME --groups G=PCT,... [--holdout H=PCT] [--salt SALT] | NAME --remove", json: true, minArgs: 1, maxArgs: 1,
	summary: "split a segment into groups by percentages (A/B tests), with an optional holdout that no export receives",
	flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
		groups := fs.String("groups", "", "the groups, in order, as comma-separated `NAME=PERCENT` (Test=45,Control=45); percentages in steps of 0.01")
		holdout := fs.String("holdout", "", "add the holdout group `NAME=PERCENT` last: no export receives its customers")
		salt := fs.String("salt", "", "hash customer keys with `SALT` (default: the current split's, or the segment's name); a new salt reassigns everyone")
		remove := fs.Bool("remove", false, "remove the segment's split")
		return func(ctx context.Context, s *segSession) int { return s.split(ctx, *groups, *holdout, *salt, *remove) }
	}}

var groupsVerb = &segVerb{name: "groups", readOnly: true, args: "NAME --data DIR", data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
	summary: "show a split segment's groups: percentages, buckets and current members",
	flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
		return func(ctx context.Context, s *segSession) int { return s.groups(ctx) }
	}}

var priorityCommand = &command{
	name:    "priority",
	summary: "priority lists: ordered segments, each customer assigned to the first that contains them",
	intro:   "segmentkit segments priority keeps priority lists: each customer is assigned to the first entry (a segment, or SEGMENT/GROUP of a split) that contains them.",
	verbs: []*command{
		segmentsVerb(&segVerb{name: "create", args: "LIST --entries SEG,SEG/GROUP,... [--description TEXT]", json: true, minArgs: 1, maxArgs: 1,
			summary: "save a priority list",
			flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
				entries := fs.String("entries", "", "the entries, first priority first, comma-separated: `SEGMENT` or SEGMENT/GROUP")
				desc := fs.String("description", "", "describe the list with `TEXT`")
				return func(ctx context.Context, s *segSession) int { return s.createPriority(ctx, *entries, *desc) }
			}}),
		segmentsVerb(&segVerb{name: "show", readOnly: true, args: "LIST --data DIR", data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
			summary: "show a priority list's entries with the customers assigned to each",
			flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
				return func(ctx context.Context, s *segSession) int { return s.showPriority(ctx) }
			}}),
		segmentsVerb(&segVerb{name: "list", readOnly: true, json: true,
			summary: "list the priority lists",
			flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
				return func(ctx context.Context, s *segSession) int { return s.listPriority(ctx) }
			}}),
		segmentsVerb(&segVerb{name: "delete", args: "LIST", json: true, minArgs: 1, maxArgs: 1,
			summary: "delete a priority list (its segments stay)",
			flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
				return func(ctx context.Context, s *segSession) int { return s.deletePriority(ctx) }
			}}),
		segmentsVerb(&segVerb{name: "export", readOnly: true, args: "LIST [--fields A,B] [--out FILE | --to DEST] --data DIR", data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
			summary: "write each assigned customer once as CSV (or to a file or webhook), with its entry first",
			flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
				fields := fs.String("fields", "", "write the comma-separated `FIELDS`: customer attributes and Measures.X (default every customer attribute)")
				out := fs.String("out", "", "write CSV to `FILE` instead of standard output")
				to := fs.String("to", "", "send to `DEST` instead: csv:FILE, jsonl:FILE, parquet:FILE, arrow:FILE or webhook:URL (FILE - writes standard output for csv and jsonl)")
				return func(ctx context.Context, s *segSession) int { return s.exportPriority(ctx, *fields, *out, *to) }
			}}),
	},
}

// parseGroups reads "A=45,B=45.5" into groups.
func parseGroups(flagName, v string, holdout bool) ([]catalog.SplitGroup, error) {
	var out []catalog.SplitGroup
	for _, item := range splitList(v) {
		name, pct, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%s: %q is not NAME=PERCENT", flagName, item)
		}
		p, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(pct), "%"), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: group %s: %q is not a percentage", flagName, strings.TrimSpace(name), pct)
		}
		out = append(out, catalog.SplitGroup{Name: strings.TrimSpace(name), Percent: p, Holdout: holdout})
	}
	return out, nil
}

func (s *segSession) split(ctx context.Context, groupsFlag, holdoutFlag, salt string, remove bool) int {
	name := s.args[0]
	if remove {
		if groupsFlag != "" || holdoutFlag != "" || salt != "" {
			return s.usage(errors.New("--remove takes no --groups, --holdout or --salt"))
		}
		if err := s.cat.RemoveSplit(ctx, name); err != nil {
			return s.fail(err)
		}
		if s.json {
			return s.emit(map[string]string{"segment": name, "split": "removed"})
		}
		fmt.Fprintf(s.out, "removed the split of %s\n", name)
		return exitOK
	}
	if groupsFlag == "" {
		return s.usage(errors.New("missing --groups NAME=PERCENT,...: the groups to split the segment into (or --remove)"))
	}
	gs, err := parseGroups("--groups", groupsFlag, false)
	if err != nil {
		return s.usage(err)
	}
	if holdoutFlag != "" {
		h, err := parseGroups("--holdout", holdoutFlag, true)
		if err != nil {
			return s.usage(err)
		}
		if len(h) != 1 {
			return s.usage(fmt.Errorf("--holdout takes one NAME=PERCENT, not %d", len(h)))
		}
		gs = append(gs, h...)
	}
	sp, err := s.cat.SetSplit(ctx, name, catalog.SplitOptions{Salt: salt, Groups: gs})
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(sp)
	}
	fmt.Fprintf(s.out, "split %s (salt %s):", sp.Segment, strconv.Quote(sp.Salt))
	for i, g := range sp.Groups {
		sep := ","
		if i == 0 {
			sep = ""
		}
		fmt.Fprintf(s.out, "%s %s %s%%", sep, g.Name, formatPercent(g.Percent))
		if g.Holdout {
			fmt.Fprint(s.out, " (holdout)")
		}
	}
	fmt.Fprintln(s.out)
	return exitOK
}

// splitSummary describes the segment's split for show: "Test 45%,
// Control 45%, Holdout 10% (holdout); salt \"s\"", or "" when it is not
// split.
func (s *segSession) splitSummary(ctx context.Context, name string) (string, error) {
	sp, err := s.cat.Split(ctx, name)
	if errors.Is(err, catalog.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	var parts []string
	for _, g := range sp.Groups {
		p := g.Name + " " + formatPercent(g.Percent) + "%"
		if g.Holdout {
			p += " (holdout)"
		}
		parts = append(parts, p)
	}
	return strings.Join(parts, ", ") + "; salt " + strconv.Quote(sp.Salt), nil
}

// formatPercent writes a percentage with at most two decimals.
func formatPercent(p float64) string { return strconv.FormatFloat(p, 'f', -1, 64) }

// formatBuckets writes bucket ranges as "0-4499,9000-9999".
func formatBuckets(rs []catalog.BucketRange) string {
	var parts []string
	for _, r := range rs {
		parts = append(parts, fmt.Sprintf("%d-%d", r[0], r[1]-1))
	}
	return strings.Join(parts, ",")
}

func (s *segSession) groups(ctx context.Context) int {
	sc, err := s.cat.GroupCounts(ctx, s.args[0])
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(sc)
	}
	fmt.Fprintf(s.out, "%s: %s members, salt %s\n", sc.Segment, exact.FormatCount(sc.Members), strconv.Quote(sc.Salt))
	tw := newTable(s.out)
	fmt.Fprintln(tw, "GROUP\tPERCENT\tMEMBERS\tHOLDOUT\tBUCKETS")
	for _, g := range sc.Groups {
		held := "-"
		if g.Holdout {
			held = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s%%\t%s\t%s\t%s\n", cell(g.Name), formatPercent(g.Percent), exact.FormatCount(g.Members), held, formatBuckets(g.Buckets))
	}
	tw.Flush()
	return exitOK
}

// parseEntries reads "A,B/Test" into entries.
func parseEntries(v string) []catalog.PriorityEntry {
	var out []catalog.PriorityEntry
	for _, item := range splitList(v) {
		seg, group, _ := strings.Cut(item, "/")
		out = append(out, catalog.PriorityEntry{Segment: strings.TrimSpace(seg), Group: strings.TrimSpace(group)})
	}
	return out
}

func (s *segSession) createPriority(ctx context.Context, entries, desc string) int {
	if entries == "" {
		return s.usage(errors.New("missing --entries SEGMENT,SEGMENT/GROUP,...: the list's entries, first priority first"))
	}
	pl, err := s.cat.CreatePriorityList(ctx, catalog.PriorityList{Name: s.args[0], Description: desc, Entries: parseEntries(entries)})
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(pl)
	}
	fmt.Fprintf(s.out, "created priority list %s: %s\n", pl.Name, entryNames(pl.Entries))
	return exitOK
}

func entryNames(es []catalog.PriorityEntry) string {
	var names []string
	for _, e := range es {
		names = append(names, e.String())
	}
	return strings.Join(names, " > ")
}

func (s *segSession) showPriority(ctx context.Context) int {
	pc, err := s.cat.PriorityCounts(ctx, s.args[0])
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(pc)
	}
	fmt.Fprintf(s.out, "%s: %s customers assigned\n", pc.List, exact.FormatCount(pc.Customers))
	tw := newTable(s.out)
	fmt.Fprintln(tw, "#\tENTRY\tASSIGNED\tHELD OUT")
	for i, e := range pc.Entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", i+1, cell(e.String()), exact.FormatCount(e.Members), exact.FormatCount(e.Held))
	}
	tw.Flush()
	return exitOK
}

func (s *segSession) listPriority(ctx context.Context) int {
	lists, err := s.cat.PriorityLists(ctx)
	if err != nil {
		return s.fail(err)
	}
	if s.json {
		if lists == nil {
			lists = []*catalog.PriorityList{}
		}
		return s.emit(lists)
	}
	if len(lists) == 0 {
		fmt.Fprintln(s.out, "no priority lists; create one with 'segmentkit segments priority create LIST --entries SEG,SEG,...'")
		return exitOK
	}
	tw := newTable(s.out)
	fmt.Fprintln(tw, "LIST\tENTRIES\tDESCRIPTION")
	for _, l := range lists {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", cell(l.Name), cell(entryNames(l.Entries)), cell(l.Description))
	}
	tw.Flush()
	return exitOK
}

func (s *segSession) deletePriority(ctx context.Context) int {
	if err := s.cat.DeletePriorityList(ctx, s.args[0]); err != nil {
		return s.fail(err)
	}
	if s.json {
		return s.emit(map[string]string{"deleted": s.args[0]})
	}
	fmt.Fprintf(s.out, "deleted priority list %s\n", s.args[0])
	return exitOK
}

func (s *segSession) exportPriority(ctx context.Context, fields, out, to string) int {
	list := splitList(fields)
	if to != "" {
		if out != "" {
			return s.usage(errors.New("give --out FILE or --to DEST, not both"))
		}
		st, err := s.cat.ExportPriorityListTo(ctx, s.args[0], to, list)
		if err != nil {
			return s.fail(err)
		}
		w := s.humanOut(to)
		if s.json {
			return s.emitOn(w, map[string]any{"list": s.args[0], "to": to, "stats": st})
		}
		fmt.Fprintf(w, "exported priority list %s to %s: %s in %s, %s\n", s.args[0], to, counted(st.Rows, "row", "rows"),
			counted(st.Batches, "batch", "batches"), formatBytes(st.Bytes))
		return exitOK
	}
	if s.json {
		return s.usage(errors.New("--json goes with --to DEST: the CSV is the output otherwise"))
	}
	if out == "" {
		if err := s.cat.ExportPriorityList(ctx, s.args[0], s.out, list); err != nil {
			return s.fail(err)
		}
		return exitOK
	}
	err := writeOut(out, func(w io.Writer) error { return s.cat.ExportPriorityList(ctx, s.args[0], w, list) })
	if err != nil {
		return s.fail(err)
	}
	return exitOK
}

// --- the catalog file ---

func (f fileStore) SetSplit(ctx context.Context, name string, opts catalog.SplitOptions) (*catalog.Split, error) {
	return f.cat.SetSplit(ctx, name, opts)
}

func (f fileStore) RemoveSplit(_ context.Context, name string) error { return f.cat.RemoveSplit(name) }

func (f fileStore) Split(_ context.Context, name string) (*catalog.Split, error) {
	return f.cat.Split(name)
}

func (f fileStore) GroupCounts(ctx context.Context, name string) (*catalog.SplitCounts, error) {
	return f.cat.GroupCounts(ctx, name)
}

func (f fileStore) CreatePriorityList(ctx context.Context, list catalog.PriorityList) (*catalog.PriorityList, error) {
	return f.cat.CreatePriorityList(ctx, list)
}

func (f fileStore) PriorityLists(context.Context) ([]*catalog.PriorityList, error) {
	return f.cat.PriorityLists()
}

func (f fileStore) DeletePriorityList(_ context.Context, name string) error {
	return f.cat.DeletePriorityList(name)
}

func (f fileStore) PriorityCounts(ctx context.Context, name string) (*catalog.PriorityCounts, error) {
	return f.cat.PriorityCounts(ctx, name)
}

func (f fileStore) ExportPriorityList(ctx context.Context, name string, w io.Writer, fields []string) error {
	return f.cat.ExportPriorityList(ctx, name, w, fields)
}

func (f fileStore) ExportPriorityListTo(ctx context.Context, name, to string, fields []string) (export.Stats, error) {
	return f.cat.ExportPriorityListTo(ctx, name, to, fields)
}

// --- the server ---

func priorityPath(name string, rest ...string) string {
	return itemPath("/api/priority-lists/", name, rest)
}

func (c *client) SetSplit(ctx context.Context, name string, opts catalog.SplitOptions) (*catalog.Split, error) {
	groups := opts.Groups
	if groups == nil {
		groups = []catalog.SplitGroup{}
	}
	var sp catalog.Split
	if err := c.do(ctx, http.MethodPut, segPath(name, "split"), nil, map[string]any{"salt": opts.Salt, "groups": groups}, &sp); err != nil {
		return nil, err
	}
	return &sp, nil
}

func (c *client) Split(ctx context.Context, name string) (*catalog.Split, error) {
	var sp catalog.Split
	if err := c.do(ctx, http.MethodGet, segPath(name, "split"), nil, nil, &sp); err != nil {
		return nil, err
	}
	return &sp, nil
}

func (c *client) RemoveSplit(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, segPath(name, "split"), nil, nil, nil)
}

func (c *client) GroupCounts(ctx context.Context, name string) (*catalog.SplitCounts, error) {
	var sc catalog.SplitCounts
	if err := c.do(ctx, http.MethodGet, segPath(name, "groups"), nil, nil, &sc); err != nil {
		return nil, err
	}
	return &sc, nil
}

func (c *client) CreatePriorityList(ctx context.Context, list catalog.PriorityList) (*catalog.PriorityList, error) {
	entries := list.Entries
	if entries == nil {
		entries = []catalog.PriorityEntry{}
	}
	var pl catalog.PriorityList
	body := map[string]any{"name": list.Name, "description": list.Description, "entries": entries}
	if err := c.do(ctx, http.MethodPost, "/api/priority-lists", nil, body, &pl); err != nil {
		return nil, err
	}
	return &pl, nil
}

func (c *client) PriorityLists(ctx context.Context) ([]*catalog.PriorityList, error) {
	var out struct {
		Lists []*catalog.PriorityList `json:"lists"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/priority-lists", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Lists, nil
}

func (c *client) DeletePriorityList(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, priorityPath(name), nil, nil, nil)
}

func (c *client) PriorityCounts(ctx context.Context, name string) (*catalog.PriorityCounts, error) {
	var pc catalog.PriorityCounts
	if err := c.do(ctx, http.MethodGet, priorityPath(name, "counts"), nil, nil, &pc); err != nil {
		return nil, err
	}
	return &pc, nil
}

func (c *client) ExportPriorityListTo(ctx context.Context, name, to string, fields []string) (export.Stats, error) {
	if stdoutKind(to) != "" {
		return export.Stats{}, notThroughServer("--to %s would write the server's standard output, not this command's", to)
	}
	if fields == nil {
		fields = []string{}
	}
	var out struct {
		Stats export.Stats `json:"stats"`
	}
	if err := c.do(ctx, http.MethodPost, priorityPath(name, "exports"), nil, map[string]any{"to": to, "fields": fields}, &out); err != nil {
		return export.Stats{}, err
	}
	return out.Stats, nil
}

func (c *client) ExportPriorityList(ctx context.Context, name string, w io.Writer, fields []string) error {
	q := url.Values{}
	if len(fields) > 0 {
		q.Set("fields", strings.Join(fields, ","))
	}
	resp, err := c.send(ctx, http.MethodGet, priorityPath(name, "export"), q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("export priority list %s from the segmentkit server at %s: %w", name, c.base, err)
	}
	return nil
}
