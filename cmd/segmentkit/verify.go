package main

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/segmentkit/segmentkit/catalog"
)

// verifyJSON is the answer of "segments verify --json".
type verifyJSON struct {
	Catalog  string   `json:"catalog"`
	Damaged  bool     `json:"damaged"`
	Problems []string `json:"problems"`
}

// verify checks the catalog file (catalog.Verify): nothing on a sound
// file but a line that says so, and exit code 0; every problem, each
// naming what is damaged, on stderr and exit code 1 for a damaged one.
// A file too damaged to open has failed already, in run.
func (s *segSession) verify(context.Context) int {
	err := s.cat.(fileStore).cat.Verify()
	var problems []string
	var list interface{ Unwrap() []error }
	switch {
	case errors.As(err, &list):
		for _, p := range list.Unwrap() {
			problems = append(problems, oneLine(p.Error()))
		}
	case err != nil:
		problems = []string{oneLine(err.Error())}
	}
	if s.json {
		code := s.emit(verifyJSON{Catalog: s.file, Damaged: err != nil, Problems: append([]string{}, problems...)})
		if code == exitOK && err != nil {
			return exitFailed
		}
		return code
	}
	if err == nil {
		fmt.Fprintf(s.out, "%s: no damage found\n", s.file)
		return exitOK
	}
	code := s.fail(err)
	fmt.Fprintf(s.stderr, "%s%s: %s: %d %s; 'segmentkit segments salvage --catalog %s --to NEW' copies what is readable to a new file\n",
		s.prefix(), s.file, catalog.ErrCorrupt, len(problems), plural(len(problems), "problem"), s.file)
	return code
}

// salvage copies what the catalog file still holds to a new file
// (catalog.Salvage) and says what it copied and what it dropped. It
// fails only when the new file could not be written, or does not verify.
func (s *segSession) salvage(_ context.Context, to string) int {
	if to == "" {
		return s.usage(errors.New("missing --to NEW: the new catalog file to write"))
	}
	rep, err := catalog.Salvage(s.file, to)
	if err != nil {
		return s.fail(err)
	}
	code := exitOK
	if s.json {
		if rep.Lost == nil {
			rep.Lost = []string{}
		}
		code = s.emit(rep)
	} else {
		fmt.Fprintf(s.out, "salvaged %s to %s\n", s.file, to)
		tw := newTable(s.out)
		fmt.Fprintln(tw, "COPIED\tRECORDS")
		for _, kind := range slices.Sorted(maps.Keys(rep.Copied)) {
			fmt.Fprintf(tw, "%s\t%d\n", kind, rep.Copied[kind])
		}
		tw.Flush()
		if len(rep.Lost) == 0 {
			fmt.Fprintln(s.out, "dropped nothing")
		} else {
			fmt.Fprintf(s.out, "dropped %d:\n", len(rep.Lost))
			for _, l := range rep.Lost {
				fmt.Fprintf(s.out, "  %s\n", oneLine(l))
			}
		}
	}
	if len(rep.Problems) > 0 {
		for _, p := range rep.Problems {
			fmt.Fprintf(s.stderr, "%s%s: %s\n", s.prefix(), to, oneLine(p))
		}
		return s.fail(fmt.Errorf("%w: the new catalog %s still has %d %s", catalog.ErrCorrupt, to, len(rep.Problems), plural(len(rep.Problems), "problem")))
	}
	return code
}
