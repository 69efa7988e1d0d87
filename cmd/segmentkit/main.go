// Command segmentkit evaluates and validates segment definitions over a
// data directory (FORMAT.md), and runs a demo on generated retail data.
//
//	segmentkit demo
//	segmentkit eval --data DIR --segment FILE [--as-of DATE] [--format ids|count|csv|json]
//	segmentkit validate --data DIR --segment FILE
//	segmentkit segments <verb> ...
//	segmentkit quick <verb> ...
//	segmentkit serve-schedule --data DIR
//	segmentkit version
//
// Its output is meant for scripts: results go to standard output in the
// documented formats, every error goes to standard error as one line per
// problem, and the exit code says what happened (see docs/cli.md).
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// Exit codes.
const (
	// exitOK: the command did what was asked.
	exitOK = 0
	// exitFailed: the input is wrong (a definition with problems, data that
	// does not load, a file that cannot be read) or the work failed.
	exitFailed = 1
	// exitUsage: the command line is wrong (an unknown command or flag, a
	// missing or malformed flag value).
	exitUsage = 2
	// exitInternal: a bug in segmentkit.
	exitInternal = 3
	// exitInterrupted: the command was interrupted (Ctrl-C, SIGTERM).
	exitInterrupted = 130
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := runIO(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args (without the program name) with no
// standard input and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runIO(ctx, args, strings.NewReader(""), stdout, stderr)
}

// runIO runs the command line args (without the program name) and returns
// the exit code. A file named "-" is read from stdin; results go to
// stdout, messages to stderr. It never panics: a panic below it is
// reported as an internal error.
func runIO(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "segmentkit: internal error: %v\n", r)
			fmt.Fprintln(stderr, "segmentkit: this is a bug; please report it with the command line that caused it")
			code = exitInternal
		}
	}()
	return rootCommand.run(ctx, &cli{stdin: stdin, stdout: stdout, stderr: stderr}, args)
}
