package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/exact"
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

func segmentFlag(fs *flag.FlagSet) *string {
	return fs.String("segment", "", "read the segment definition from the JSON `FILE` (required)")
}

// checkDataDir checks the --data flag: given, and a directory.
func checkDataDir(dir string) error {
	if dir == "" {
		return errors.New("missing --data DIR: the data directory holding schema.json")
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("--data %s: no such directory", dir)
	case err != nil:
		return fmt.Errorf("--data %s: %w", dir, unwrapPath(err))
	case !st.IsDir():
		return fmt.Errorf("--data %s: not a directory", dir)
	}
	return nil
}

// readSegment reads and parses the definition file named by --segment.
// Parse problems come back as a diag.List.
func readSegment(file string) (*segment.Definition, error) {
	data, err := readFile("--segment", file)
	if err != nil {
		return nil, err
	}
	return segment.Parse(data)
}

// readFile reads a file named by a flag, with a message that names both.
func readFile(flagName, file string) ([]byte, error) {
	data, err := os.ReadFile(file)
	switch {
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
	data, err := readFile("--data", file)
	if err != nil {
		return nil, err
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

// parseAsOf parses --as-of: an RFC 3339 instant, or a YYYY-MM-DD day,
// meaning its start, 00:00:00 UTC. Empty means now.
func parseAsOf(s string, now func() time.Time) (time.Time, error) {
	if s == "" {
		return now().UTC(), nil
	}
	if t, err := exact.ParseDatetime(s); err == nil {
		return t.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("--as-of %q: want a date (2026-06-30) or an RFC 3339 instant (2026-06-30T12:00:00Z)", s)
}

// load loads a data directory, showing progress on stderr when that helps.
func (c *cli) load(ctx context.Context, dir string) (*storage.Snapshot, time.Duration, error) {
	p := newLoadProgress(c.stderr)
	start := time.Now()
	snap, err := storage.Load(ctx, dir, storage.Options{Progress: p.report})
	p.done()
	return snap, time.Since(start), err
}
