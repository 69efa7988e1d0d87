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

// command is a node of the command line: the top level, a command with
// verbs ("segments", "quick") or a verb that runs. Every level is
// dispatched, parsed and helped by the same code (command.run).
type command struct {
	name    string
	args    string // the synopsis after the name
	summary string
	// intro and footer frame the verb list of a command with verbs.
	intro, footer string
	// verbs, when not nil, are the command's verbs: it runs one of them.
	verbs []*command
	// minArgs and maxArgs bound the positional arguments of a verb that
	// runs; maxArgs < 0 means no bound.
	minArgs, maxArgs int
	// flags declares the verb's flags on fs and returns the function that
	// runs it once they are parsed.
	flags func(fs *flag.FlagSet) func(ctx context.Context, c *cli) int
}

// rootCommand is "segmentkit" itself; its verbs are the commands.
var rootCommand = &command{
	intro: "segmentkit evaluates customer segments over a data directory.",
}

func init() {
	rootCommand.verbs = []*command{evalCommand, validateCommand, inspectCommand, explainCommand, sqlCommand, demoCommand, segmentsCommand, quickCommand,
		serveCommand, serveScheduleCommand, versionCommand}
}

// noun is what the command calls its verbs in messages.
func (cmd *command) noun() string {
	if cmd == rootCommand {
		return "command"
	}
	return "verb"
}

func (cmd *command) lookup(name string) *command {
	for _, v := range cmd.verbs {
		if v.name == name {
			return v
		}
	}
	return nil
}

func (cmd *command) verbNames() []string {
	names := make([]string, len(cmd.verbs))
	for i, v := range cmd.verbs {
		names[i] = v.name
	}
	return names
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	switch arg {
	case "help", "-h", "-help", "--help":
		return true
	}
	return false
}

// run runs the command with args, the arguments after its name. c.name is
// the command's full name ("segments create"; "" for the top level).
func (cmd *command) run(ctx context.Context, c *cli, args []string) int {
	// A command with verbs runs one of them; one that also has flags
	// (serve) runs itself unless its first argument names a verb.
	if cmd.verbs != nil && (cmd.flags == nil || len(args) > 0 && cmd.lookup(args[0]) != nil) {
		return cmd.runVerb(ctx, c, args)
	}
	fs := flag.NewFlagSet(c.name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	do := cmd.flags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			writeCommandUsage(c.stdout, c.name, cmd, fs)
			return exitOK
		}
		return c.usage(err)
	}
	switch {
	case len(pos) > 0 && cmd.maxArgs == 0:
		msg := fmt.Sprintf("unexpected argument %q; %s takes only flags", pos[0], c.name)
		// A definition file given without its flag.
		if strings.HasSuffix(pos[0], ".json") && fs.Lookup("segment") != nil && fs.Lookup("segment").Value.String() == "" {
			msg += fmt.Sprintf(" (did you mean --segment %s?)", pos[0])
		}
		return c.usage(errors.New(msg))
	case len(pos) < cmd.minArgs:
		return c.usage(fmt.Errorf("missing arguments: usage is segmentkit %s %s", c.name, cmd.args))
	case cmd.maxArgs >= 0 && len(pos) > cmd.maxArgs:
		return c.usage(fmt.Errorf("unexpected argument %q: usage is segmentkit %s %s", pos[cmd.maxArgs], c.name, cmd.args))
	}
	c.args = pos
	if f := fs.Lookup(noSnapshotCacheName); f != nil {
		c.noSnapshotCache = f.Value.String() == "true"
	}
	out := bufio.NewWriterSize(c.stdout, 64<<10)
	c.out = out
	code := do(ctx, c)
	if err := out.Flush(); err != nil && code == exitOK {
		return c.fail(fmt.Errorf("write output: %w", err))
	}
	return code
}

// runVerb runs the verb args[0] of a command with verbs, or its help.
func (cmd *command) runVerb(ctx context.Context, c *cli, args []string) int {
	if len(args) == 0 {
		if cmd == rootCommand {
			cmd.writeVerbs(c.stderr, c.name)
			return exitUsage
		}
		fmt.Fprintf(c.stderr, "%smissing verb: one of %s\n", c.prefix(), strings.Join(cmd.verbNames(), ", "))
		cmd.writeVerbs(c.stderr, c.name)
		return exitUsage
	}
	if isHelp(args[0]) {
		return cmd.help(c, args[1:])
	}
	v := cmd.lookup(args[0])
	if v == nil {
		names := cmd.verbNames()
		msg := fmt.Sprintf("unknown %s %q; %ss are %s", cmd.noun(), args[0], cmd.noun(), strings.Join(names, ", "))
		if s := diag.Nearest(args[0], append(names, "help")); s != "" {
			msg = fmt.Sprintf("unknown %s %q%s", cmd.noun(), args[0], diag.DidYouMean(s))
		}
		fmt.Fprintf(c.stderr, "%s%s\nRun '%s' for usage.\n", c.prefix(), msg, helpCommand(c.name))
		return exitUsage
	}
	return v.run(ctx, c.sub(v.name), args[1:])
}

// help prints the usage of the command, or of the verb args names under
// it, to stdout.
func (cmd *command) help(c *cli, args []string) int {
	target, name := cmd, c.name
	for _, a := range args {
		v := target.lookup(a)
		if v == nil {
			msg := fmt.Sprintf("unknown %s %q", target.noun(), a)
			if s := diag.Nearest(a, target.verbNames()); s != "" {
				msg += diag.DidYouMean(s)
			}
			fmt.Fprintf(c.stderr, "segmentkit %s: %s\nRun '%s' for usage.\n", strings.TrimSpace("help "+name), msg, helpCommand(name))
			return exitUsage
		}
		target, name = v, joinName(name, a)
	}
	if target.verbs != nil && target.flags == nil {
		target.writeVerbs(c.stdout, name)
		return exitOK
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	target.flags(fs)
	writeCommandUsage(c.stdout, name, target, fs)
	return exitOK
}

func joinName(a, b string) string {
	if a == "" {
		return b
	}
	return a + " " + b
}

// helpCommand is the command line that shows the usage of name.
func helpCommand(name string) string {
	return strings.TrimSpace("segmentkit help " + name)
}

// writeVerbs writes the usage of a command with verbs: its verbs with
// their summaries.
func (cmd *command) writeVerbs(w io.Writer, name string) {
	var b strings.Builder
	intro := cmd.intro
	if intro == "" {
		intro = upperFirst(cmd.summary) + "."
	}
	b.WriteString(intro + "\n\n")
	noun := cmd.noun()
	fmt.Fprintf(&b, "Usage:\n  %s <%s> [arguments] [flags]\n\n%ss:\n", strings.TrimSpace("segmentkit "+name), noun, upperFirst(noun))
	width := 4
	for _, v := range cmd.verbs {
		width = max(width, len(v.name))
	}
	for _, v := range cmd.verbs {
		fmt.Fprintf(&b, "  %-*s  %s\n", width, v.name, v.summary)
	}
	fmt.Fprintf(&b, "  %-*s  %s\n", width, "help", "show this list, or 'help <"+noun+">' a "+noun+"'s flags")
	if cmd.footer != "" {
		b.WriteString("\n" + cmd.footer + "\n")
	}
	fmt.Fprintf(&b, "\nRun '%s <%s>' for a %s's flags.\n", helpCommand(name), noun, noun)
	io.WriteString(w, b.String())
}

func writeCommandUsage(w io.Writer, name string, cmd *command, fs *flag.FlagSet) {
	var b strings.Builder
	fmt.Fprintf(&b, "Usage:\n  segmentkit %s %s\n\n%s.\n", name, cmd.args, upperFirst(cmd.summary))
	b.WriteString("\nFlags:\n")
	left := func(f *flag.Flag) string {
		arg, _ := flag.UnquoteUsage(f)
		if arg != "" {
			return "--" + f.Name + " " + arg
		}
		return "--" + f.Name
	}
	width := 18
	fs.VisitAll(func(f *flag.Flag) { width = max(width, len(left(f))) })
	fs.VisitAll(func(f *flag.Flag) {
		_, help := flag.UnquoteUsage(f)
		fmt.Fprintf(&b, "  %-*s %s", width, left(f), help)
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			fmt.Fprintf(&b, " (default %s)", f.DefValue)
		}
		b.WriteString("\n")
	})
	if len(cmd.verbs) > 0 {
		b.WriteString("\nVerbs:\n")
		for _, v := range cmd.verbs {
			fmt.Fprintf(&b, "  %s %s  %s\n", v.name, v.args, v.summary)
		}
	}
	io.WriteString(w, b.String())
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parseInterspersed parses flags given before, between and after
// positional arguments, which it returns in order. Everything after "--"
// is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	rest := args
	for {
		if err := checkFlags(fs, rest); err != nil {
			return nil, err
		}
		if err := fs.Parse(rest); err != nil {
			return nil, err
		}
		left := fs.Args()
		if len(left) == 0 {
			return pos, nil
		}
		if consumed := len(rest) - len(left); consumed > 0 && rest[consumed-1] == "--" {
			return append(pos, left...), nil
		}
		pos = append(pos, left[0])
		rest = left[1:]
	}
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

// flagGiven reports whether the flag name (or any of its other spellings)
// was given on the command line.
func flagGiven(fs *flag.FlagSet, names ...string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) {
		for _, n := range names {
			if f.Name == n {
				given = true
			}
		}
	})
	return given
}

// cli is what a running command reads from and writes to.
type cli struct {
	// name is the command's full name: "eval", "segments create"; "" for
	// the top level.
	name   string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	// out buffers stdout while the verb runs.
	out io.Writer
	// args are the verb's positional arguments.
	args []string
	// noSnapshotCache is --no-snapshot-cache (see storageOptions).
	noSnapshotCache bool
}

// sub returns the cli of the verb name under c's command.
func (c *cli) sub(name string) *cli {
	return &cli{name: joinName(c.name, name), stdin: c.stdin, stdout: c.stdout, stderr: c.stderr}
}

// prefix starts every message of the command: "segmentkit eval: ".
func (c *cli) prefix() string {
	return strings.TrimSpace("segmentkit "+c.name) + ": "
}

// usage reports a command-line mistake and returns exitUsage.
func (c *cli) usage(err error) int {
	fmt.Fprintf(c.stderr, "%s%s\nRun '%s' for usage.\n", c.prefix(), oneLine(err.Error()), helpCommand(c.name))
	return exitUsage
}

// fail reports err and returns the exit code it calls for: every problem
// of a diag.List on its own line, any other error one line per line of its
// message.
func (c *cli) fail(err error) int {
	return c.failAt("", err)
}

// failAt is fail for an error about the file where: each problem of a
// diag.List, whose paths are inside the file, is prefixed with it.
func (c *cli) failAt(where string, err error) int {
	if errors.Is(err, context.Canceled) {
		fmt.Fprintf(c.stderr, "%sinterrupted\n", c.prefix())
		return exitInterrupted
	}
	var list diag.List
	if errors.As(err, &list) && len(list) > 0 && list.Error() == err.Error() {
		prefix := c.prefix()
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
	io.WriteString(c.stderr, c.lines(err.Error()))
	return exitFailed
}

// lines writes a message that may span lines (an error that ends with a
// list of problems, "...: 2 problems:\n  a\n  b") as one line each, every
// one prefixed with the command.
func (c *cli) lines(msg string) string {
	var b strings.Builder
	writeLines(&b, c.prefix(), msg)
	return b.String()
}

// oneLine keeps a message on one line, so that every problem is one line
// of output whatever its text holds.
func oneLine(s string) string {
	if !strings.ContainsAny(s, "\r\n") {
		return s
	}
	return strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ").Replace(s)
}
