package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/segment"
)

var validateCommand = &command{
	name:    "validate",
	args:    "--data DIR --segment FILE [--catalog FILE] [--json]",
	summary: "check a segment definition against a data directory's schema and print every problem",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		data := dataFlag(fs)
		seg := segmentFlag(fs, "segment", "the segment definition", "")
		cat := catalogFlag(fs, "check {\"segment\": ...} references against the segments of")
		jsonOut := jsonFlag(fs)
		return func(ctx context.Context, c *cli) int { return c.validate(*data, *seg, *cat, *jsonOut) }
	},
}

// validateJSON is what validate --json prints.
type validateJSON struct {
	Valid    bool      `json:"valid"`
	Problems diag.List `json:"problems"`
}

// validate prints the definition's problems to stdout, one a line, or "ok".
// It reads schema.json only, not the data files, and the catalog file only
// when the definition references segments.
func (c *cli) validate(data, file, catFile string, jsonOut bool) int {
	if code := c.dataDir(data); code >= 0 {
		return code
	}
	if file == "" {
		return c.usage(errors.New("missing --segment FILE: the segment definition to check"))
	}
	sch, err := readSchema(data)
	if err != nil {
		return c.fail(err)
	}
	def, err := c.readSegment("--segment", file)
	if err == nil {
		var opts segment.ValidateOptions
		if refs := definitionRefs(def); len(refs) > 0 {
			if opts.Segments, err = catalogNames(catFile); err != nil {
				return c.fail(err)
			}
		}
		err = def.ValidateWith(sch, opts)
	}
	var problems diag.List
	switch {
	case err == nil:
		if jsonOut {
			return c.emit(validateJSON{Valid: true, Problems: diag.List{}})
		}
		fmt.Fprintln(c.out, "ok")
		return exitOK
	case errors.As(err, &problems):
		if jsonOut {
			if code := c.emit(validateJSON{Problems: problems}); code != exitOK {
				return code
			}
		} else {
			writeProblems(c.out, "", problems)
		}
		fmt.Fprintf(c.stderr, "%s%s: %d %s\n", c.prefix(), file, len(problems), plural(len(problems), "problem"))
		return exitFailed
	default:
		return c.fail(err)
	}
}
