package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/segmentkit/segmentkit/diag"
)

var validateCommand = &command{
	name:    "validate",
	args:    "--data DIR --segment FILE",
	summary: "check a segment definition against a data directory's schema and print every problem",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		data := dataFlag(fs)
		seg := segmentFlag(fs)
		return func(ctx context.Context, c *cli) int { return c.validate(*data, *seg) }
	},
}

// validate prints the definition's problems to stdout, one a line, or "ok".
// It reads schema.json only, not the data files.
func (c *cli) validate(data, file string) int {
	if err := checkDataDir(data); err != nil {
		return c.usage(err)
	}
	if file == "" {
		return c.usage(errors.New("missing --segment FILE: the segment definition to check"))
	}
	sch, err := readSchema(data)
	if err != nil {
		return c.fail(err)
	}
	def, err := readSegment(file)
	if err == nil {
		err = def.Validate(sch)
	}
	var problems diag.List
	switch {
	case err == nil:
		fmt.Fprintln(c.out, "ok")
		return exitOK
	case errors.As(err, &problems):
		writeProblems(c.out, problems)
		noun := "problems"
		if len(problems) == 1 {
			noun = "problem"
		}
		fmt.Fprintf(c.stderr, "segmentkit validate: %s: %d %s\n", file, len(problems), noun)
		return exitFailed
	default:
		return c.fail(err)
	}
}

// writeProblems writes each problem on its own line:
// "path: message (did you mean X?)".
func writeProblems(w io.Writer, problems diag.List) {
	for _, p := range problems {
		io.WriteString(w, oneLine(p.Error())+"\n")
	}
}
