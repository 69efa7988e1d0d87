package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/internal/regular"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

func dataFlag(fs *flag.FlagSet) *string {
	return fs.String("data", "", "read the data directory `DIR`, which holds schema.json (required)")
}

// optionalDataFlag is dataFlag for commands that can do without the data.
func optionalDataFlag(fs *flag.FlagSet, what string) *string {
	return fs.String("data", "", "read the data directory `DIR`, which holds schema.json, "+what)
}

// noSnapshotCacheFlag declares --no-snapshot-cache, for every command
// that loads the data of --data; command.run reads it into
// cli.noSnapshotCache.
func noSnapshotCacheFlag(fs *flag.FlagSet) {
	fs.Bool(noSnapshotCacheName, false, "read the data files, neither using nor writing the data directory's snapshot file (also "+envNoSnapshotCache+"=1)")
}

const (
	noSnapshotCacheName = "no-snapshot-cache"
	// envNoSnapshotCache, set to a true value (1, true), turns the
	// snapshot file off for every command, as --no-snapshot-cache does.
	envNoSnapshotCache = "SEGMENTKIT_NO_SNAPSHOT_CACHE"
)

// storageOptions returns the options every load of a data directory
// uses: the snapshot file (storage.LoadCached) unless it is turned off,
// and progress reported to progress when it is not nil.
func (c *cli) storageOptions(progress func(entity string, rows, bytesRead, bytesTotal int64)) storage.Options {
	off := c.noSnapshotCache
	if v, err := strconv.ParseBool(os.Getenv(envNoSnapshotCache)); err == nil && v {
		off = true
	}
	return storage.Options{Progress: progress, NoSnapshotCache: off, VerifySnapshotFile: true}
}

// segmentFlag declares --segment FILE, the definition file of every
// command that reads one, with its old spelling alias (--file, --segment)
// when it is not "".
func segmentFlag(fs *flag.FlagSet, name, what, alias string) *string {
	v := fs.String(name, "", "read "+what+" from the JSON `FILE`; - reads standard input")
	if alias != "" {
		fs.StringVar(v, alias, "", "the old spelling of --"+name)
	}
	return v
}

// jsonFlag declares --json, which every command that prints takes.
func jsonFlag(fs *flag.FlagSet) *bool {
	return fs.Bool("json", false, "print JSON instead of text")
}

// asOfFlag declares --as-of with what it sets. Left out, it means now;
// given empty (--as-of "", often a shell variable that is not set), it is
// a command-line mistake rather than a silent now.
func asOfFlag(fs *flag.FlagSet, what string) *string {
	v := new(string)
	fs.Var((*asOfValue)(v), "as-of", what+" as of `DATE`: YYYY-MM-DD (the day's start, UTC) or an RFC 3339 instant; default now")
	return v
}

// asOfValue is the value of --as-of, which must not be empty.
type asOfValue string

func (v *asOfValue) String() string { return string(*v) }

func (v *asOfValue) Set(s string) error {
	if strings.TrimSpace(s) == "" {
		return errors.New("it is empty: give a date (2026-06-30) or an RFC 3339 instant (2026-06-30T12:00:00Z), or leave --as-of out for now")
	}
	*v = asOfValue(s)
	return nil
}

// catalogFlag declares --catalog FILE, whose default is the same in every
// command.
func catalogFlag(fs *flag.FlagSet, what string) *string {
	return fs.String("catalog", defaultCatalog, what+" the catalog `FILE`")
}

// dataDir checks the --data flag: given (or a usage error), and a
// directory (or a failure). It returns -1 when dir is usable, otherwise
// the exit code, with the message written.
func (c *cli) dataDir(dir string) int {
	if dir == "" {
		return c.usage(errors.New("missing --data DIR: the data directory holding schema.json"))
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return c.fail(fmt.Errorf("--data %s: no such directory", dir))
	case err != nil:
		return c.fail(fmt.Errorf("--data %s: %w", dir, unwrapPath(err)))
	case !st.IsDir():
		return c.fail(fmt.Errorf("--data %s: not a directory", dir))
	}
	return -1
}

// readSegment reads and parses the definition file named by flagName.
// Parse problems come back as a diag.List.
func (c *cli) readSegment(flagName, file string) (*segment.Definition, error) {
	data, err := c.readFile(flagName, file)
	if err != nil {
		return nil, err
	}
	return segment.Parse(data)
}

// readFile reads a definition file named by a flag, with a message that
// names both; "-" reads standard input. Either is read up to
// segment.MaxDefinitionBytes: a longer one is an error that wraps
// segment.ErrLimit, read no further.
func (c *cli) readFile(flagName, file string) ([]byte, error) {
	if file == "-" {
		data, err := regular.ReadAtMost(c.stdin, segment.MaxDefinitionBytes)
		switch {
		case errors.Is(err, regular.ErrTooLong):
			return nil, fmt.Errorf("%s -: %w: standard input holds more than %s bytes, the most a definition may have",
				flagName, segment.ErrLimit, exact.FormatCount(segment.MaxDefinitionBytes))
		case err != nil:
			return nil, fmt.Errorf("%s -: cannot read standard input: %w", flagName, err)
		}
		return data, nil
	}
	data, err := readFile(flagName, file, segment.MaxDefinitionBytes)
	if errors.Is(err, regular.ErrTooLong) {
		return nil, fmt.Errorf("%s %s: %w: the file is larger than %s bytes, the most a definition may have",
			flagName, file, segment.ErrLimit, exact.FormatCount(segment.MaxDefinitionBytes))
	}
	return data, err
}

// readFile reads a file named by a flag, with a message that names both.
// The file must be a regular file (a FIFO or a device could block or never
// end), read up to limit bytes: a longer one gives regular.ErrTooLong.
func readFile(flagName, file string, limit int64) ([]byte, error) {
	data, err := regular.ReadFile(file, limit)
	switch {
	case errors.Is(err, regular.ErrTooLong):
		return nil, err
	case errors.Is(err, regular.ErrNotRegular):
		return nil, fmt.Errorf("%s %s: %w", flagName, file, err)
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("%s %s: no such file", flagName, file)
	case err != nil:
		return nil, fmt.Errorf("%s %s: cannot read: %w", flagName, file, unwrapPath(err))
	}
	return data, nil
}

// unwrapPath drops the *PathError (or *LinkError) wrapper, whose paths
// the caller's message already names.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	var le *os.LinkError
	if errors.As(err, &le) {
		return le.Err
	}
	return err
}

// readSchema reads dir/schema.json. Its problems are prefixed with the file
// name.
func readSchema(dir string) (*schema.Schema, error) {
	file := filepath.Join(dir, "schema.json")
	data, err := schema.ReadFile(file)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("--data %s: no such file", file)
	case errors.Is(err, schema.ErrLimit) || errors.Is(err, regular.ErrNotRegular):
		return nil, fmt.Errorf("--data %w", err)
	case err != nil:
		return nil, fmt.Errorf("--data %s: cannot read: %w", file, unwrapPath(err))
	}
	s, err := schema.Parse(data)
	if err != nil {
		var l diag.List
		l.Merge("", err)
		for _, p := range l {
			if rest, ok := strings.CutPrefix(p.Path, "schema.json"); ok {
				p.Path = file + rest
			} else {
				p.Path = joinPath(file, p.Path)
			}
		}
		return nil, l
	}
	return s, nil
}

func joinPath(a, b string) string {
	if b == "" {
		return a
	}
	return a + ": " + b
}

// parseAsOf parses --as-of as parseTimeFlag does; empty means now.
func parseAsOf(s string, now func() time.Time) (time.Time, error) {
	if s == "" {
		return now().UTC(), nil
	}
	return parseTime("--as-of", s, false)
}

// parseTimeFlag parses a time flag: an RFC 3339 instant, or a YYYY-MM-DD
// day in UTC, meaning its start (its end when endOfDay). "" is the zero
// time, and so is "none".
func parseTimeFlag(name, v string, endOfDay bool) (time.Time, error) {
	switch v {
	case "", "none":
		return time.Time{}, nil
	}
	return parseTime(name, v, endOfDay)
}

// parseTime parses the value v of the time flag name: an RFC 3339
// instant, or a YYYY-MM-DD day in UTC, meaning its start (its end when
// endOfDay).
func parseTime(name, v string, endOfDay bool) (time.Time, error) {
	if d, err := exact.ParseDate(v); err == nil {
		if endOfDay {
			return exact.DayTime(d + 1).Add(-time.Nanosecond), nil
		}
		return exact.DayTime(d), nil
	}
	t, err := exact.ParseDatetime(v)
	if err == nil {
		return t, nil
	}
	if exact.Specific(err) {
		return time.Time{}, fmt.Errorf("%s %w", name, err)
	}
	return time.Time{}, fmt.Errorf("%s %q: want a date (2026-06-30) or an RFC 3339 instant (2026-06-30T12:00:00Z)", name, v)
}

// emit writes v as one JSON document on a line.
func (c *cli) emit(v any) int { return c.emitOn(c.out, v) }

// emitOn writes v as one JSON document on a line to w.
func (c *cli) emitOn(w io.Writer, v any) int {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return c.fail(fmt.Errorf("write output: %w", err))
	}
	return exitOK
}

// load loads a data directory, showing progress on stderr when that helps.
// It opens the directory's snapshot file instead when that is current
// (storage.LoadCached), checked whole before it returns.
func (c *cli) load(ctx context.Context, dir string) (*storage.Snapshot, time.Duration, error) {
	return c.loadWith(ctx, dir, c.storageOptions(nil))
}

// loadWith is load with opts, whose Progress it sets.
func (c *cli) loadWith(ctx context.Context, dir string, opts storage.Options) (*storage.Snapshot, time.Duration, error) {
	p := newLoadProgress(c.stderr)
	start := time.Now()
	opts.Progress = p.report
	snap, err := storage.LoadCached(ctx, dir, opts)
	p.done()
	if err != nil {
		return nil, 0, err
	}
	// A snapshot loads whatever its measures hold: they are definitions,
	// checked where definitions are. The CLI reports broken ones before a
	// verb uses the data, as it does a broken schema.json, rather than
	// answer without them.
	if err := engine.Measures(snap).Err(); err != nil {
		snap.Release()
		return nil, 0, fmt.Errorf("%s: %w", filepath.Join(dir, "schema.json"), err)
	}
	return snap, time.Since(start), nil
}
