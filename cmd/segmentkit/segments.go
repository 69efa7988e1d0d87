package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"os"
	"time"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/storage"
)

// defaultCatalog is the catalog file used without --catalog, by every
// command that takes one.
const defaultCatalog = "segmentkit.db"

// dataNeed says whether a segments verb reads the data directory.
type dataNeed uint8

const (
	dataNone     dataNeed = iota // the verb has no --data flag
	dataOptional                 // --data adds to what the verb does
	dataRequired                 // the verb needs --data
)

// segVerb is one verb of "segmentkit segments": segmentsVerb makes it a
// command that opens the catalog before it runs.
type segVerb struct {
	name, args, summary string
	data                dataNeed
	// creates is true for the verb that may create the catalog file.
	creates bool
	// readOnly is true for the verbs that only read: they open the
	// catalog file read-only (catalog.Options.ReadOnly), so that a file
	// the process may not write can be read.
	readOnly bool
	// fileOnly is true for the verbs that work on the catalog file
	// itself (verify, salvage): they take no --server.
	fileOnly bool
	// raw is true for the verb that reads the catalog file without
	// opening it as a catalog (salvage): s.cat is nil.
	raw bool
	// json is true for verbs that print, which take --json.
	json bool
	// asOf is true for verbs that evaluate, which take --as-of.
	asOf bool
	// minArgs and maxArgs bound the positional arguments; maxArgs < 0
	// means no bound.
	minArgs, maxArgs int
	// flags declares the verb's own flags on fs and returns the function
	// that runs it.
	flags func(fs *flag.FlagSet) func(ctx context.Context, s *segSession) int
}

// segSession is what a running segments verb works with.
type segSession struct {
	*cli
	// cat is the catalog file, or the server of --server.
	cat  store
	file string
	data string
	json bool
	// server is the URL of --server (or SEGMENTKIT_SERVER, then serverEnv
	// is set); "" for the catalog file. remote is set once the verb goes
	// through the server.
	server    string
	serverEnv bool
	remote    bool
	// def is the definition read from --segment, for create and edit.
	def []byte
	// asOf is --as-of; zero when not given.
	asOf time.Time
	// src is the data source when --data is given; it shows the progress
	// of its loads.
	src *progressSource
	// discard is set by a verb that failed to create what a new catalog
	// file was made for: the file is removed.
	discard bool
}

var segmentsCommand = &command{
	name:    "segments",
	summary: "manage a catalog of segments: create, edit, activate, refresh, preview, download, export",
	intro:   "segmentkit segments manages a catalog of segments: states, refresh jobs, schedules, history and members.",
	footer: "Verbs take --catalog FILE (default " + defaultCatalog + "), --data DIR where they read data, and --json where they print.\n" +
		"--server URL (or " + envServer + ") sends the verb to a running 'segmentkit serve' instead, which has the data (no --data);\n" +
		"its API token, when it needs one, is read from " + envToken + ".\n" +
		"'segmentkit serve-schedule --catalog FILE --data DIR [--cron SPEC]' applies the schedules.",
	verbs: segmentsVerbs(),
}

func segmentsVerbs() []*command {
	verbs := make([]*command, len(segVerbs))
	for i, v := range segVerbs {
		verbs[i] = segmentsVerb(v)
	}
	// "Add to" (exports.go): after download, where the product page has it.
	return append(verbs, segmentsVerb(exportVerb), destinationsCommand, segmentsVerb(exportsVerb),
		segmentsVerb(splitVerb), segmentsVerb(groupsVerb), priorityCommand)
}

// segmentsVerb makes v a command: its flags, and those every segments verb
// shares (--catalog, --data, --json), then a run that opens the catalog.
func segmentsVerb(v *segVerb) *command {
	return &command{name: v.name, args: v.args, summary: v.summary, minArgs: v.minArgs, maxArgs: v.maxArgs,
		flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
			file := catalogFlag(fs, "keep the segments in")
			server := new(string)
			if !v.fileOnly {
				server = serverFlag(fs)
			}
			var data *string
			switch v.data {
			case dataRequired:
				noSnapshotCacheFlag(fs)
				data = fs.String("data", "", "read the data directory `DIR`, which holds schema.json (required), unless --server: the server has the data")
			case dataOptional:
				noSnapshotCacheFlag(fs)
				data = optionalDataFlag(fs, "to refresh the segment once active (optional); with --server the server refreshes it with its data")
			}
			var jsonOut *bool
			if v.json {
				jsonOut = jsonFlag(fs)
			}
			var asOf *string
			if v.asOf {
				asOf = asOfFlag(fs, "evaluate the segments and compute their measures")
			}
			do := v.flags(fs)
			return func(ctx context.Context, c *cli) int {
				s := &segSession{cli: c, file: *file}
				switch {
				case v.fileOnly:
				case flagGiven(fs, "server") && flagGiven(fs, "catalog") && *server != "":
					return c.usage(errors.New("give --catalog FILE or --server URL, not both: the server has its own catalog"))
				case flagGiven(fs, "server"):
					s.server = *server
				case !flagGiven(fs, "catalog"):
					s.server, s.serverEnv = os.Getenv(envServer), true
				}
				if asOf != nil && *asOf != "" {
					t, err := parseTime("--as-of", *asOf, false)
					if err != nil {
						return c.usage(err)
					}
					s.asOf = t
				}
				if jsonOut != nil {
					s.json = *jsonOut
				}
				if data != nil {
					s.data = *data
				}
				if f := fs.Lookup("segment"); f != nil {
					// Read the definition before the catalog is opened: a
					// pipe from another segments command (show
					// --definition) must not wait for this one's lock.
					def, code := s.readDefinition(f.Value.String())
					if code >= 0 {
						return code
					}
					s.def = def
				}
				return s.run(ctx, v, do)
			}
		}}
}

// run checks the shared flags, opens the catalog, runs do and closes the
// catalog.
func (s *segSession) run(ctx context.Context, v *segVerb, do func(context.Context, *segSession) int) int {
	if s.server != "" {
		return s.runRemote(ctx, do)
	}
	switch {
	case s.file == "":
		return s.usage(errors.New("--catalog FILE is empty"))
	case v.data == dataRequired || s.data != "":
		if code := s.dataDir(s.data); code >= 0 {
			return code
		}
	}
	_, err := os.Stat(s.file)
	isNew := errors.Is(err, iofs.ErrNotExist)
	if isNew && !v.creates {
		return s.fail(fmt.Errorf("catalog %s does not exist; create a segment first with 'segmentkit segments create' (or give --catalog FILE)", s.file))
	}
	if v.raw {
		return do(ctx, s)
	}
	opts := catalog.Options{OpenDestination: s.openDestination, ReadOnly: v.readOnly}
	if s.data != "" {
		s.src = newProgressSource(s.data, s.stderr, s.storageOptions(nil))
		defer s.src.Close()
		opts.Source = s.src
	}
	cat, err := catalog.Open(s.file, opts)
	if err != nil {
		if isNew {
			os.Remove(s.file)
		}
		if errors.Is(err, catalog.ErrLocked) {
			err = fmt.Errorf("%w; if a 'segmentkit serve' has it open, send the verb to it with --server URL (or %s)", err, envServer)
		}
		return s.fail(err)
	}
	s.cat = fileStore{cat}
	code := do(ctx, s)
	if err := cat.Close(); err != nil && code == exitOK {
		code = s.fail(fmt.Errorf("close catalog %s: %w", s.file, err))
	}
	if isNew && s.discard {
		os.Remove(s.file)
	}
	return code
}

// runRemote runs do with the server of --server as the catalog. --data
// is not read: the server has the data.
func (s *segSession) runRemote(ctx context.Context, do func(context.Context, *segSession) int) int {
	from := "--server"
	if s.serverEnv {
		from = envServer
	}
	base, err := parseServerURL(from, s.server)
	if err != nil {
		return s.usage(err)
	}
	s.remote = true
	c := newClient(base, os.Getenv(envToken), func(msg string) {
		fmt.Fprintf(s.stderr, "%swarning: %s\n", s.prefix(), oneLine(msg))
	})
	s.cat = c
	code := do(ctx, s)
	c.Close()
	return code
}

// serverFlag declares --server URL.
func serverFlag(fs *flag.FlagSet) *string {
	return fs.String("server", "", "send the verb to the segmentkit server at `URL` (default $"+envServer+") instead of opening the catalog file; "+
		"the server has the data, and its API token is read from $"+envToken)
}

// fail reports err as cli.fail does, and what the server's API does not
// offer as a usage error.
func (s *segSession) fail(err error) int {
	var u *unsupportedError
	if errors.As(err, &u) {
		return s.usage(err)
	}
	return s.cli.fail(err)
}

// progressSource is the data directory of --data, which shows a progress
// bar while it loads.
type progressSource struct {
	*catalog.DirSource
	p *loadProgress
}

var _ catalog.Source = (*progressSource)(nil)

func newProgressSource(dir string, stderr interface{ Write([]byte) (int, error) }, opts storage.Options) *progressSource {
	p := newLoadProgress(stderr)
	opts.Progress = p.report
	return &progressSource{DirSource: catalog.NewDirSource(dir, opts), p: p}
}

// Snapshot loads the data (or reuses the loaded snapshot), with the bar
// shown while it loads.
func (s *progressSource) Snapshot(ctx context.Context) (*storage.Snapshot, func(), error) {
	s.p.begin()
	defer s.p.done()
	return s.DirSource.Snapshot(ctx)
}

var segVerbs = []*segVerb{
	{name: "create", asOf: true, args: "--segment FILE [--active [--as-of DATE]] [--name NAME] --data DIR", data: dataRequired, creates: true, json: true,
		summary: "save a segment from its definition: valid ones inactive (or active and refreshed), invalid ones as drafts",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			segmentFlag(fs, "segment", "the segment definition", "file") // read by segmentsVerb
			active := fs.Bool("active", false, "save the segment active and refresh it at once")
			name := fs.String("name", "", "name the segment `NAME` when the definition has no readable name (a draft)")
			return func(ctx context.Context, s *segSession) int { return s.create(ctx, *name, *active) }
		}},
	{name: "edit", asOf: true, args: "NAME --segment FILE [--dry-run [--samples N] [--as-of DATE]] --data DIR", data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
		summary: "replace a segment's definition (and its display name, description and type); it is validated again; --dry-run shows who it would add and remove, without saving",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			segmentFlag(fs, "segment", "the new definition", "file") // read by segmentsVerb
			dry := fs.Bool("dry-run", false, "do not save: print the customers the new definition would add to and remove from the current members")
			samples := fs.Int("samples", catalog.DefaultEditSamples, "with --dry-run, list `N` keys of the customers added and of those removed")
			return func(ctx context.Context, s *segSession) int {
				if !*dry {
					if flagGiven(fs, "samples") || flagGiven(fs, "as-of") {
						return s.usage(errors.New("--samples and --as-of go with --dry-run; an edit saves the definition and leaves the members as they are"))
					}
					return s.edit(ctx)
				}
				return s.previewEdit(ctx, *samples)
			}
		}},
	{name: "rename", args: "OLD NEW", json: true, minArgs: 2, maxArgs: 2,
		summary: "rename a segment; references to it in other segments are rewritten",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			return func(ctx context.Context, s *segSession) int { return s.rename(ctx) }
		}},
	{name: "delete", args: "NAME", json: true, minArgs: 1, maxArgs: 1,
		summary: "delete a segment with its members and history (refused while others reference it)",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			return func(ctx context.Context, s *segSession) int { return s.delete(ctx) }
		}},
	{name: "list", readOnly: true, args: "[--sort COLUMN] [--desc] [--search TEXT]", json: true,
		summary: "list the segments, sorted by a column, optionally filtered",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			sort := fs.String("sort", "name", "sort by `COLUMN`: name, displayName, type, state, members, lastRefreshed, status, created or modified")
			desc := fs.Bool("desc", false, "sort in descending order")
			search := fs.String("search", "", "keep segments whose name, display name or description contains `TEXT`, ignoring case")
			return func(ctx context.Context, s *segSession) int { return s.list(ctx, *sort, *desc, *search) }
		}},
	{name: "show", readOnly: true, args: "NAME [--definition]", json: true, minArgs: 1, maxArgs: 1,
		summary: "show a segment: properties, state, schedules, last refresh, problems and definition",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			def := fs.Bool("definition", false, "print only the stored definition, as written, ready for 'segments edit --segment -'")
			return func(ctx context.Context, s *segSession) int { return s.show(ctx, *def) }
		}},
	{name: "activate", asOf: true, args: "NAME [--at TIME] [--data DIR [--as-of DATE]]", data: dataOptional, json: true, minArgs: 1, maxArgs: 1,
		summary: "activate a segment and refresh it (with --data), or schedule its activation",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			at := fs.String("at", "", "schedule the activation at `TIME` (YYYY-MM-DD or RFC 3339) instead of activating now; \"none\" cancels a scheduled one")
			return func(ctx context.Context, s *segSession) int { return s.activate(ctx, *at) }
		}},
	{name: "deactivate", args: "NAME [--at TIME]", json: true, minArgs: 1, maxArgs: 1,
		summary: "deactivate a segment, or schedule its deactivation",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			at := fs.String("at", "", "schedule the deactivation at `TIME` (YYYY-MM-DD or RFC 3339) instead of deactivating now; \"none\" cancels a scheduled one")
			return func(ctx context.Context, s *segSession) int { return s.deactivate(ctx, *at) }
		}},
	{name: "schedule", args: "NAME --cron SPEC | --off", json: true, minArgs: 1, maxArgs: 1,
		summary: "set a segment's own refresh schedule, applied by serve-schedule while it is active",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			spec := fs.String("cron", "", "refresh on the cron schedule `SPEC` (\"0 6 * * *\", \"@hourly\")")
			off := fs.Bool("off", false, "remove the segment's schedule")
			return func(ctx context.Context, s *segSession) int { return s.schedule(ctx, *spec, *off) }
		}},
	{name: "refresh", asOf: true, args: "NAME... | --all --data DIR [--as-of DATE]", data: dataRequired, json: true, maxArgs: -1,
		summary: "refresh segments (and the segments they reference) as one job; inactive ones are skipped",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			all := fs.Bool("all", false, "refresh every segment")
			return func(ctx context.Context, s *segSession) int { return s.refresh(ctx, *all) }
		}},
	{name: "jobs", readOnly: true, args: "[JOB] [--limit N]", json: true, maxArgs: 1,
		summary: "list the latest refresh jobs, or show one job's tasks, errors and warnings",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			limit := fs.Int("limit", 20, "show the latest `N` jobs (0 for all)")
			return func(ctx context.Context, s *segSession) int { return s.jobs(ctx, *limit) }
		}},
	{name: "history", readOnly: true, args: "NAME [--from TIME] [--to TIME]", json: true, minArgs: 1, maxArgs: 1,
		summary: "show a segment's member count trend: every successful refresh with entered and left counts",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			from := fs.String("from", "", "start at `TIME` (YYYY-MM-DD or RFC 3339)")
			to := fs.String("to", "", "end at `TIME` (YYYY-MM-DD or RFC 3339; a day means its end)")
			return func(ctx context.Context, s *segSession) int { return s.history(ctx, *from, *to) }
		}},
	{name: "changes", readOnly: true, args: "NAME [--from TIME] [--to TIME]", json: true, minArgs: 1, maxArgs: 1,
		summary: "show who entered and left a segment at every successful refresh, by customer key",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			from := fs.String("from", "", "start at `TIME` (YYYY-MM-DD or RFC 3339)")
			to := fs.String("to", "", "end at `TIME` (YYYY-MM-DD or RFC 3339; a day means its end)")
			return func(ctx context.Context, s *segSession) int { return s.changes(ctx, *from, *to) }
		}},
	{name: "member", readOnly: true, args: "KEY", json: true, minArgs: 1, maxArgs: 1,
		summary: "show the segments a customer is in, and those they left at the latest refresh, with since when",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			return func(ctx context.Context, s *segSession) int { return s.member(ctx) }
		}},
	{name: "preview", readOnly: true, asOf: true, args: "NAME [--rows N] --data DIR [--as-of DATE]", data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
		summary: "show the first members with the attributes the definition uses",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			rows := fs.Int("rows", catalog.DefaultPreviewRows, "show `N` members")
			return func(ctx context.Context, s *segSession) int { return s.preview(ctx, *rows) }
		}},
	{name: "overlap", readOnly: true, args: "NAME NAME... [--by Entity.Attribute] --data DIR", data: dataRequired, json: true, minArgs: 2, maxArgs: 8,
		summary: "count the customers in every region of 2 to 8 segments' Venn diagram (their latest members), optionally by a customer attribute's values",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			by := fs.String("by", "", "break every region down by the customer attribute `Entity.Attribute` (its 100 most frequent values)")
			return func(ctx context.Context, s *segSession) int { return s.overlap(ctx, *by) }
		}},
	{name: "differentiators", readOnly: true, args: "NAME [--against OTHER] [--attributes A,B] [--top N] --data DIR", data: dataRequired, json: true, minArgs: 1, maxArgs: 1,
		summary: "rank the customer attributes and measures by how much they set a segment's latest members apart from all customers or another segment",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			against := fs.String("against", "", "compare with the latest members of segment `OTHER` instead of all customers")
			attrs := fs.String("attributes", "", "compare only the attributes `A,B` (Entity.Attribute or Measures.Name)")
			top := fs.Int("top", analysis.DefaultTop, "list each categorical attribute's `N` values that differ most (1 to 100)")
			return func(ctx context.Context, s *segSession) int { return s.differentiators(ctx, *against, *attrs, *top) }
		}},
	{name: "download", readOnly: true, asOf: true, args: "NAME [--fields A,B] [--out FILE] --data DIR [--as-of DATE]", data: dataRequired, minArgs: 1, maxArgs: 1,
		summary: "write every member as CSV, with the chosen fields",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			fields := fs.String("fields", "", "write the comma-separated `FIELDS`: customer attributes and Measures.X (default every customer attribute)")
			out := fs.String("out", "", "write to `FILE` instead of standard output")
			return func(ctx context.Context, s *segSession) int { return s.download(ctx, *fields, *out) }
		}},
	{name: "verify", readOnly: true, fileOnly: true, json: true,
		summary: "check the catalog file for damage: its pages, every record's checksum, and that its records agree",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			return func(ctx context.Context, s *segSession) int { return s.verify(ctx) }
		}},
	{name: "salvage", args: "--to NEW", fileOnly: true, raw: true, json: true,
		summary: "copy every readable segment, member list, history entry and job of a damaged catalog file to a new one",
		flags: func(fs *flag.FlagSet) func(context.Context, *segSession) int {
			to := fs.String("to", "", "write the new catalog file `NEW`, which must not exist")
			return func(ctx context.Context, s *segSession) int { return s.salvage(ctx, *to) }
		}},
}
