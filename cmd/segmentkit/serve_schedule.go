package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"log/slog"
	"os"

	"github.com/segmentkit/segmentkit/catalog"
)

var serveScheduleCommand = &command{
	name:    "serve-schedule",
	args:    "[--catalog FILE] --data DIR [--cron SPEC] [--workers N] [--json]",
	summary: "refresh a catalog's segments on their schedules until interrupted",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		file := catalogFlag(fs, "apply the schedules of")
		data := dataFlag(fs)
		noSnapshotCacheFlag(fs)
		spec := fs.String("cron", "", "refresh every active segment on the cron schedule `SPEC` (\"0 3 * * *\"; default none)")
		workers := fs.Int("workers", 0, "refresh at most `N` segments at once (default the number of CPUs)")
		jsonOut := fs.Bool("json", false, "log JSON lines instead of text")
		return func(ctx context.Context, c *cli) int {
			return c.serveSchedule(ctx, *file, *data, *spec, *workers, *jsonOut)
		}
	},
}

// serveSchedule applies the catalog's schedules (the refresh of all
// segments on spec, each segment's own schedule, scheduled activations and
// deactivations) until ctx is done, then returns exitInterrupted. Messages
// go to stderr.
func (c *cli) serveSchedule(ctx context.Context, file, data, spec string, workers int, jsonOut bool) int {
	if data == "" {
		return c.usage(errors.New("missing --data DIR: the data directory holding schema.json"))
	}
	if workers < 0 {
		return c.usage(fmt.Errorf("--workers must be 0 or more, not %d", workers))
	}
	if spec != "" {
		if _, err := catalog.ParseSchedule(spec); err != nil {
			return c.usage(fmt.Errorf("--cron: %w", err))
		}
	}
	if code := c.dataDir(data); code >= 0 {
		return code
	}
	if _, err := os.Stat(file); errors.Is(err, iofs.ErrNotExist) {
		return c.fail(fmt.Errorf("catalog %s does not exist; create a segment first with 'segmentkit segments create'", file))
	}
	src := catalog.NewDirSource(data, c.storageOptions(nil))
	defer src.Close()
	cat, err := catalog.Open(file, catalog.Options{Source: src, Workers: workers})
	if err != nil {
		return c.fail(err)
	}
	defer cat.Close()
	logger := c.logger(jsonOut)
	sched, err := catalog.NewScheduler(cat, catalog.ScheduleOptions{Cron: spec, Logger: logger})
	if err != nil {
		return c.usage(err)
	}
	what := "per-segment schedules and scheduled activations and deactivations only (no --cron)"
	if spec != "" {
		what = fmt.Sprintf("refresh of all segments on %q, per-segment schedules, scheduled activations and deactivations", spec)
	}
	if jsonOut {
		logger.Info("serving", "catalog", file, "data", data, "cron", spec)
	} else {
		fmt.Fprintf(c.stderr, "%sserving %s over %s: %s; interrupt to stop\n", c.prefix(), file, data, what)
	}
	if err := sched.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
		return c.fail(err)
	}
	// Run returns when ctx is done: the command was interrupted, and
	// exits as the exit code table says.
	if jsonOut {
		logger.Info("stopped")
	} else {
		fmt.Fprintf(c.stderr, "%sstopped\n", c.prefix())
	}
	return exitInterrupted
}

// logger returns the logger of the serving commands: text lines on
// stderr, or JSON lines with --json.
func (c *cli) logger(jsonOut bool) *slog.Logger {
	if jsonOut {
		return slog.New(slog.NewJSONHandler(c.stderr, nil))
	}
	return slog.New(slog.NewTextHandler(c.stderr, nil))
}
