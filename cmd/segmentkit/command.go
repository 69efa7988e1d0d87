package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
)

// command is one verb of the command line.
type command struct {
	name    string
	args    string // the synopsis after the name
	summary string
	// flags declares the verb's flags on fs and returns the function that
	// runs it once they are parsed.
	flags func(fs *flag.FlagSet) func(ctx context.Context, c *cli) int
}

// commands lists the verbs in the order usage shows them.
var commands = []*command{evalCommand, validateCommand, demoCommand}

// group is a command with verbs of its own, which parses its own arguments.
type group struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

// groups lists the commands with verbs, after commands in usage.
var groups = []group{
	{"segments", "manage a catalog of segments: create, edit, activate, refresh, preview, download", runSegments},
	{"quick", "quick segments: fields, insights, size estimates, a segment from one field", runQuick},
	{"serve-schedule", "refresh a catalog's segments on their schedules until interrupted", runServeSchedule},
}

func lookupGroup(name string) *group {
	for i := range groups {
		if groups[i].name == name {
			return &groups[i]
		}
	}
	return nil
}

func lookupCommand(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	return nil
}

func nearestCommand(name string) string {
	names := []string{"help"}
	for _, g := range groups {
		names = append(names, g.name)
	}
	for _, c := range commands {
		names = append(names, c.name)
	}
	return diag.Nearest(name, names)
}

func writeUsage(w io.Writer) {
	var b strings.Builder
	b.WriteString("segmentkit evaluates customer segments over a data directory.\n\n")
	b.WriteString("Usage:\n  segmentkit <command> [flags]\n\nCommands:\n")
	for _, c := range commands {
		fmt.Fprintf(&b, "  %-14s %s\n", c.name, c.summary)
	}
	for _, g := range groups {
		fmt.Fprintf(&b, "  %-14s %s\n", g.name, g.summary)
	}
	fmt.Fprintf(&b, "  %-14s %s\n", "help", "show help for segmentkit or for one command")
	b.WriteString("\nRun 'segmentkit help <command>' for a command's flags.\n")
	io.WriteString(w, b.String())
}

// runHelp prints the usage, or one command's usage, to stdout.
func runHelp(args []string, stdout, stderr io.Writer) int {
	switch len(args) {
	case 0:
		writeUsage(stdout)
		return exitOK
	case 1:
		if args[0] == "help" {
			writeUsage(stdout)
			return exitOK
		}
		if g := lookupGroup(args[0]); g != nil {
			return g.run(context.Background(), []string{"-h"}, stdout, stderr)
		}
		cmd := lookupCommand(args[0])
		if cmd == nil {
			msg := fmt.Sprintf("unknown command %q", args[0])
			if s := nearestCommand(args[0]); s != "" && s != "help" {
				msg += fmt.Sprintf(" (did you mean %s?)", s)
			}
			fmt.Fprintf(stderr, "segmentkit help: %s\nRun 'segmentkit help' for usage.\n", msg)
			return exitUsage
		}
		fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
		cmd.flags(fs)
		writeCommandUsage(stdout, cmd, fs)
		return exitOK
	}
	fmt.Fprintf(stderr, "segmentkit help: expected at most one command, got %d arguments\n", len(args))
	return exitUsage
}

func writeCommandUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n  segmentkit %s %s\n\n%s.\n", cmd.name, cmd.args, upperFirst(cmd.summary))
	b.WriteString("\nFlags:\n")
	fs.VisitAll(func(f *flag.Flag) {
		arg, help := flag.UnquoteUsage(f)
		left := "--" + f.Name
		if arg != "" {
			left += " " + arg
		}
		fmt.Fprintf(&b, "  %-18s %s", left, help)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	io.WriteString(w, b.String())
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// run parses the verb's flags and runs it.
func (cmd *command) run(ctx context.Context, c *cli, args []string) int {
	fs := flag.NewFlagSet(cmd.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	do := cmd.flags(fs)
	if err := checkFlags(fs, args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeCommandUsage(c.stdout, cmd, fs)
			return exitOK
		}
		return c.usage(err)
	}
	if err := fs.Parse(args); err != nil {
		return c.usage(err)
	}
	if fs.NArg() > 0 {
		return c.usage(fmt.Errorf("unexpected argument %q; %s takes only flags", fs.Arg(0), cmd.name))
	}
	out := bufio.NewWriterSize(c.stdout, 64<<10)
	c.out = out
	code := do(ctx, c)
	if err := out.Flush(); err != nil && code == exitOK {
		return c.fail(fmt.Errorf("write output: %w", err))
	}
	return code
}

// checkFlags looks for flags the set does not define before the flag
// package sees them, so that the message can suggest the nearest name, and
// for -h or --help. It walks args as flag.Parse does: a flag that takes a
// value and has no "=" consumes the next argument, and parsing stops at
// "--" or the first argument that is not a flag.
func checkFlags(fs *flag.FlagSet, args []string) error {
	var names []string
	fs.VisitAll(func(f *flag.Flag) { names = append(names, f.Name) })
	for i := 0; i < len(args); i++ {
		a := args[i]
		if a == "--" || len(a) < 2 || a[0] != '-' {
			return nil
		}
		name := strings.TrimLeft(a, "-")
		hasValue := false
		if j := strings.IndexByte(name, '='); j >= 0 {
			name, hasValue = name[:j], true
		}
		if name == "h" || name == "help" {
			return flag.ErrHelp
		}
		f := fs.Lookup(name)
		if f == nil {
			if s := diag.Nearest(name, names); s != "" {
				return fmt.Errorf("unknown flag --%s (did you mean --%s?)", name, s)
			}
			return fmt.Errorf("unknown flag --%s; flags are --%s", name, strings.Join(names, ", --"))
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			continue
		}
		if !hasValue {
			i++
		}
	}
	return nil
}

// cli is what a running verb writes to.
type cli struct {
	name   string
	stdout io.Writer
	stderr io.Writer
	// out buffers stdout while the verb runs.
	out io.Writer
}

// usage reports a command-line mistake and returns exitUsage.
func (c *cli) usage(err error) int {
	fmt.Fprintf(c.stderr, "segmentkit %s: %v\nRun 'segmentkit help %s' for usage.\n", c.name, err, c.name)
	return exitUsage
}

// fail reports err and returns the exit code it calls for: every problem
// of a diag.List on its own line, any other error on one line.
func (c *cli) fail(err error) int {
	return c.failAt("", err)
}

// failAt is fail for an error about the file where: each problem of a
// diag.List, whose paths are inside the file, is prefixed with it.
func (c *cli) failAt(where string, err error) int {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(c.stderr, "segmentkit %s: interrupted\n", c.name)
		return exitInterrupted
	}
	prefix := "segmentkit " + c.name + ": "
	var list diag.List
	if !errors.As(err, &list) || len(list) == 0 {
		fmt.Fprintf(c.stderr, "%s%s\n", prefix, oneLine(err.Error()))
		return exitFailed
	}
	if where != "" {
		prefix += where + ": "
	}
	var b strings.Builder
	for _, p := range list {
		b.WriteString(prefix)
		b.WriteString(oneLine(p.Error()))
		b.WriteByte('\n')
	}
	io.WriteString(c.stderr, b.String())
	return exitFailed
}

// oneLine keeps a message on one line, so that every problem is one line
// of output whatever its text holds.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}

// pickVerb finds the verb args[0] of the command group prog ("quick",
// "segments"). When there is none to run it prints the usage (asked for, or
// after the error) and returns ok false with the exit code.
func pickVerb[V any](prog string, args []string, stdout, stderr io.Writer, verbs []V, name func(V) string, usage func(io.Writer)) (verb V, code int, ok bool) {
	names := make([]string, len(verbs))
	for i, v := range verbs {
		names[i] = name(v)
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "segmentkit %s: missing verb: one of %s\n", prog, strings.Join(names, ", "))
		usage(stderr)
		return verb, exitUsage, false
	}
	switch args[0] {
	case "help", "-h", "-help", "--help":
		usage(stdout)
		return verb, exitOK, false
	}
	for i, v := range verbs {
		if names[i] == args[0] {
			return v, exitOK, true
		}
	}
	msg := fmt.Sprintf("unknown verb %q; verbs are %s", args[0], strings.Join(names, ", "))
	if s := diag.Nearest(args[0], names); s != "" {
		msg = fmt.Sprintf("unknown verb %q (did you mean %s?)", args[0], s)
	}
	fmt.Fprintf(stderr, "segmentkit %s: %s\nRun 'segmentkit %s help' for usage.\n", prog, msg, prog)
	return verb, exitUsage, false
}

// recoverInternal, deferred by a command, reports a panic below it as an
// internal error and sets the exit code.
func recoverInternal(prog string, stderr io.Writer, code *int) {
	if r := recover(); r != nil {
		fmt.Fprintf(stderr, "segmentkit %s: internal error: %v\n", prog, r)
		*code = exitInternal
	}
}
