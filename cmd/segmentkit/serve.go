package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"net"
	"os"
	"strconv"
	"time"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/server"
)

// defaultAddr is where serve listens unless told otherwise: loopback.
const defaultAddr = "127.0.0.1:8080"

var serveCommand = &command{
	name:    "serve",
	args:    "(--catalog FILE --data DIR | --demo) [--addr HOST:PORT] [--cron SPEC] [--json]",
	summary: "serve the segments API and the Segments page over a catalog and its data until interrupted",
	verbs:   []*command{tokenCommand},
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		noSnapshotCacheFlag(fs)
		a := serveArgs{
			file:      catalogFlag(fs, "serve"),
			data:      optionalDataFlag(fs, "the catalog's data (required unless --demo)"),
			addr:      fs.String("addr", defaultAddr, "listen on `HOST:PORT`; an address that is not loopback requires API tokens ('serve token create')"),
			demo:      fs.Bool("demo", false, "write the demo data and a catalog of demo segments into a temporary directory and serve them"),
			customers: fs.Int("customers", demo.DefaultCustomers, "with --demo, generate `N` customers"),
			cron:      fs.String("cron", "", "also refresh every active segment on the cron schedule `SPEC` (per-segment schedules always apply)"),
			json:      fs.Bool("json", false, "log JSON lines instead of text"),
		}
		return func(ctx context.Context, c *cli) int { return c.serve(ctx, a) }
	},
}

type serveArgs struct {
	file, data, addr, cron *string
	demo, json             *bool
	customers              *int
}

func (c *cli) serve(ctx context.Context, a serveArgs) int {
	file, data, addr := *a.file, *a.data, *a.addr
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return c.usage(fmt.Errorf("--addr %q is not HOST:PORT (such as %s)", addr, defaultAddr))
	}
	if *a.cron != "" {
		if _, err := catalog.ParseSchedule(*a.cron); err != nil {
			return c.usage(fmt.Errorf("--cron: %w", err))
		}
	}
	logger := c.logger(*a.json)
	if *a.demo {
		if data != "" {
			return c.usage(errors.New("--demo and --data exclude each other: --demo serves data it writes itself"))
		}
		root, err := os.MkdirTemp("", "segmentkit-demo-")
		if err != nil {
			return c.fail(err)
		}
		defer os.RemoveAll(root)
		fmt.Fprintf(c.stderr, "%swriting the demo (%d customers, %d weeks of refreshes) to %s\n", c.prefix(), *a.customers, server.DemoWeeks, root)
		d, err := server.WriteDemo(ctx, root, *a.customers, time.Now())
		if err != nil {
			return c.fail(err)
		}
		file, data = d.Catalog, d.Dir
	} else {
		if data == "" {
			return c.usage(errors.New("missing --data DIR: the data directory holding schema.json (or --demo to serve the demo)"))
		}
		if code := c.dataDir(data); code >= 0 {
			return code
		}
	}
	src := catalog.NewDirSource(data, c.storageOptions(nil))
	defer src.Close()
	cat, err := catalog.Open(file, catalog.Options{Source: src})
	if err != nil {
		return c.fail(err)
	}
	defer cat.Close()
	requireTokens := !server.IsLoopback(addr)
	if requireTokens {
		ts, err := cat.Tokens()
		if err != nil {
			return c.fail(err)
		}
		if len(ts) == 0 {
			return c.fail(fmt.Errorf("refusing to listen on %s, which is not a loopback address, without API tokens: create one first with 'segmentkit serve token create --role admin --catalog %s'", addr, file))
		}
	}
	srv, err := server.New(ctx, server.Options{Catalog: cat, Source: src, RequireTokens: requireTokens, Logger: logger})
	if err != nil {
		return c.fail(err)
	}
	sched, err := catalog.NewScheduler(cat, catalog.ScheduleOptions{Cron: *a.cron, Logger: logger})
	if err != nil {
		srv.Close()
		return c.usage(err)
	}
	sctx, stopSched := context.WithCancel(ctx)
	schedDone := make(chan error, 1)
	go func() { schedDone <- sched.Run(sctx) }()
	err = server.Serve(ctx, addr, srv.Handler(), 10*time.Second, func(at net.Addr) {
		access := "no token needed on loopback"
		if requireTokens {
			access = "API tokens required"
		}
		fmt.Fprintf(c.stderr, "%sserving http://%s/ (catalog %s, data %s; %s); interrupt to stop\n", c.prefix(), at, file, data, access)
	})
	stopSched()
	// Jobs the API started are cancelled and recorded as cancelled
	// before the catalog closes.
	srv.Close()
	if serr := <-schedDone; serr != nil && !errors.Is(serr, context.Canceled) && err == nil {
		err = serr
	}
	if err != nil {
		return c.fail(err)
	}
	fmt.Fprintf(c.stderr, "%sstopped\n", c.prefix())
	return exitInterrupted
}

var tokenCommand = &command{
	name:    "token",
	summary: "manage the API tokens of a catalog: create, list, revoke",
	verbs:   []*command{tokenCreateCommand, tokenListCommand, tokenRevokeCommand},
}

var tokenCreateCommand = &command{
	name:    "create",
	args:    "--role viewer|editor|admin [--name NAME] [--catalog FILE] [--json]",
	summary: "create an API token and print its secret (shown once; the catalog keeps only its hash)",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		file := catalogFlag(fs, "add the token to")
		role := fs.String("role", "", "what the token may do: `ROLE` viewer (read), editor (change segments) or admin (tokens and destinations)")
		name := fs.String("name", "", "say whose or what the token is for, as `NAME`")
		jsonOut := jsonFlag(fs)
		return func(ctx context.Context, c *cli) int {
			if *role == "" {
				return c.usage(errors.New("missing --role ROLE: viewer, editor or admin"))
			}
			r, err := catalog.ParseRole(*role)
			if err != nil {
				return c.usage(fmt.Errorf("--role: %w", err))
			}
			cat, code := c.openTokens(*file, true)
			if code >= 0 {
				return code
			}
			defer cat.Close()
			secret, t, err := cat.CreateToken(*name, r)
			if err != nil {
				return c.fail(err)
			}
			if *jsonOut {
				return c.emit(struct {
					Secret  string       `json:"token"`
					ID      uint64       `json:"id"`
					Name    string       `json:"name"`
					Role    catalog.Role `json:"role"`
					Created time.Time    `json:"created"`
				}{secret, t.ID, t.Name, t.Role, t.Created})
			}
			fmt.Fprintln(c.out, secret)
			fmt.Fprintf(c.stderr, "%stoken %d (%s, %s) created; its secret is shown above once and kept nowhere\n", c.prefix(), t.ID, t.Role, t.Name)
			return exitOK
		}
	},
}

var tokenListCommand = &command{
	name:    "list",
	args:    "[--catalog FILE] [--json]",
	summary: "list the API tokens (never their secrets)",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		file := catalogFlag(fs, "read")
		jsonOut := jsonFlag(fs)
		return func(ctx context.Context, c *cli) int {
			cat, code := c.openTokens(*file, false)
			if code >= 0 {
				return code
			}
			defer cat.Close()
			ts, err := cat.Tokens()
			if err != nil {
				return c.fail(err)
			}
			if *jsonOut {
				if ts == nil {
					ts = []catalog.Token{}
				}
				return c.emit(ts)
			}
			tw := newTable(c.out)
			fmt.Fprintln(tw, "ID\tROLE\tNAME\tCREATED")
			for _, t := range ts {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\n", t.ID, t.Role, cell(t.Name), formatTime(t.Created))
			}
			tw.Flush()
			return exitOK
		}
	},
}

var tokenRevokeCommand = &command{
	name:    "revoke",
	args:    "ID [--catalog FILE]",
	summary: "revoke an API token: its secret is refused from then on",
	minArgs: 1, maxArgs: 1,
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		file := catalogFlag(fs, "revoke the token in")
		return func(ctx context.Context, c *cli) int {
			id, err := strconv.ParseUint(c.args[0], 10, 64)
			if err != nil || id == 0 {
				return c.usage(fmt.Errorf("token id %q is not a positive integer ('serve token list' shows them)", c.args[0]))
			}
			cat, code := c.openTokens(*file, false)
			if code >= 0 {
				return code
			}
			defer cat.Close()
			if err := cat.RevokeToken(id); err != nil {
				return c.fail(err)
			}
			fmt.Fprintf(c.stderr, "%stoken %d revoked\n", c.prefix(), id)
			return exitOK
		}
	},
}

// openTokens opens the catalog file for the token verbs; create may make
// a new file.
func (c *cli) openTokens(file string, create bool) (*catalog.Catalog, int) {
	if _, err := os.Stat(file); errors.Is(err, iofs.ErrNotExist) && !create {
		return nil, c.fail(fmt.Errorf("catalog %s does not exist", file))
	}
	cat, err := catalog.Open(file, catalog.Options{})
	if err != nil {
		return nil, c.fail(err)
	}
	return cat, -1
}
