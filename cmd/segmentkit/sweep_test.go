package main

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// verbPath is a verb that runs, with the words that name it.
type verbPath struct {
	words []string
	cmd   *command
}

// allVerbs returns every verb that runs, under cmd, depth first.
func allVerbs(words []string, cmd *command) []verbPath {
	if cmd.verbs == nil {
		return []verbPath{{words, cmd}}
	}
	var out []verbPath
	for _, v := range cmd.verbs {
		out = append(out, allVerbs(append(append([]string(nil), words...), v.name), v)...)
	}
	return out
}

// TestEveryVerbHostile runs every verb of the command line on hostile
// inputs: a damaged catalog file, data directories whose customer file is
// a FIFO or /dev/zero, a definition nested past the limit, a datetime
// past year 9999, a server that refuses connections, names with a NUL.
// Every run ends within its deadline with exit code 0, 1 or 2, none
// prints a panic, a stack trace or an internal error, and none prints
// more than 64 KiB. (serve-schedule, a process that runs until it is
// stopped, is stopped after 2 s.)
func TestEveryVerbHostile(t *testing.T) {
	whole, data := damageFixture(t)
	root := t.TempDir()
	damaged := bytes.Clone(whole)
	for _, bit := range []int{4096*8 + 200, 4096*8*3 + 77, 4096*8*5 + 1000, len(whole)*8 - 999} {
		damaged[bit/8] ^= 1 << (bit % 8)
	}

	// Data directories: the fixture's files with the customer file
	// replaced by a FIFO, or by a link to /dev/zero.
	dataDir := func(name string, customer func(path string) error) string {
		dir := filepath.Join(root, name)
		require.NoError(t, os.Mkdir(dir, 0o755))
		entries, err := os.ReadDir(data)
		require.NoError(t, err)
		for _, e := range entries {
			if e.IsDir() {
				continue
			}
			p := filepath.Join(dir, e.Name())
			if strings.HasPrefix(e.Name(), "Customer.") {
				require.NoError(t, customer(p))
				continue
			}
			b, err := os.ReadFile(filepath.Join(data, e.Name()))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(p, b, 0o644))
		}
		return dir
	}
	fifo := dataDir("fifo", func(p string) error { return syscall.Mkfifo(p, 0o644) })
	zero := dataDir("zero", func(p string) error { return os.Symlink("/dev/zero", p) })
	deep := filepath.Join(root, "deep.json")
	require.NoError(t, os.WriteFile(deep, []byte(`{"name": "Deep", "groups": [{"condition": `+strings.Repeat(`{"not": `, 100_000)+`{}`+strings.Repeat(`}`, 100_000)+`}]}`), 0o644))

	type variant struct {
		name    string
		data    string
		catalog []byte // nil: a path where no catalog is
		arg     string // each positional argument
	}
	variants := []variant{
		{"FIFO data, damaged catalog", fifo, damaged, "Older"},
		{"/dev/zero data, intact catalog", zero, whole, "Older"},
		{"no catalog, names with NUL", zero, nil, "Old\x00er"},
	}
	t.Chdir(root) // demo and salvage write where they are told, or here
	verbs := allVerbs(nil, rootCommand)
	require.Greater(t, len(verbs), 30)
	for _, vp := range verbs {
		fs := flag.NewFlagSet("x", flag.ContinueOnError)
		vp.cmd.flags(fs)
		for vi, v := range variants {
			name := strings.Join(vp.words, " ") + " / " + v.name
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				cat := filepath.Join(dir, "catalog.db")
				if v.catalog != nil {
					require.NoError(t, os.WriteFile(cat, v.catalog, 0o600))
				}
				args := append([]string(nil), vp.words...)
				fs.VisitAll(func(f *flag.Flag) {
					switch f.Name {
					case "catalog":
						args = append(args, "--catalog", cat)
					case "data", "source":
						args = append(args, "--"+f.Name, v.data)
					case "segment", "file":
						args = append(args, "--"+f.Name, deep)
					case "as-of", "at":
						args = append(args, "--"+f.Name, "9999-12-31T23:30:00-01:00")
					case "server":
						if vi == 2 {
							args = append(args, "--server", "http://127.0.0.1:1")
						}
					case "out", "to":
						args = append(args, "--"+f.Name, filepath.Join(dir, "out"))
					case "customers":
						args = append(args, "--customers", "-5")
					}
				})
				for range max(vp.cmd.minArgs, 0) {
					args = append(args, v.arg)
				}
				// serve-schedule runs until it is stopped when its inputs
				// let it start: its deadline is its stop.
				deadline, runs := 20*time.Second, vp.words[0] == "serve-schedule"
				if runs {
					deadline = 2 * time.Second
				}
				ctx, cancel := context.WithTimeout(context.Background(), deadline)
				defer cancel()
				var stdout, stderr bytes.Buffer
				code := run(ctx, args, &stdout, &stderr)
				out := stdout.String() + stderr.String()
				if !runs {
					require.NotErrorIs(t, ctx.Err(), context.DeadlineExceeded, "%q did not end within %v", args, deadline)
				}
				codes := []int{exitOK, exitFailed, exitUsage}
				if runs && ctx.Err() != nil {
					codes = append(codes, exitInterrupted) // stopped, as by SIGINT
				}
				require.Contains(t, codes, code, "%q: exit %d: %s", args, code, excerptOf(out))
				for _, bad := range []string{"goroutine ", "panic", "runtime error", "internal error", ".go:"} {
					require.NotContains(t, out, bad, "%q: %s", args, excerptOf(out))
				}
				require.LessOrEqual(t, len(out), 64<<10, "%q printed %d bytes", args, len(out))
				if code != exitOK {
					require.NotEmpty(t, strings.TrimSpace(stderr.String()), "%q: exit %d without a message", args, code)
				}
			})
		}
	}
}
