// Command segmentkit evaluates and validates segment definitions over a
// data directory (FORMAT.md), and runs a demo on generated retail data.
//
//	segmentkit demo
//	segmentkit eval --data DIR --segment FILE [--as-of DATE] [--format ids|count|csv|json]
//	segmentkit validate --data DIR --segment FILE
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
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the command line args (without the program name) and returns
// the exit code. Results go to stdout, messages to stderr. It never panics:
// a panic below it is reported as an internal error.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(stderr, "segmentkit: internal error: %v\n", r)
			fmt.Fprintln(stderr, "segmentkit: this is a bug; please report it with the command line that caused it")
			code = exitInternal
		}
	}()
	if len(args) == 0 {
		writeUsage(stderr)
		return exitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		return runHelp(args[1:], stdout, stderr)
	}
	if g := lookupGroup(name); g != nil {
		return g.run(ctx, args[1:], stdout, stderr)
	}
	cmd := lookupCommand(name)
	if cmd == nil {
		msg := fmt.Sprintf("unknown command %q", name)
		if s := nearestCommand(name); s != "" {
			msg += fmt.Sprintf(" (did you mean %s?)", s)
		}
		fmt.Fprintf(stderr, "segmentkit: %s\nRun 'segmentkit help' for usage.\n", msg)
		return exitUsage
	}
	c := &cli{name: cmd.name, stdout: stdout, stderr: stderr}
	return cmd.run(ctx, c, args[1:])
}
