package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	iofs "io/fs"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/sqlgen"
)

var sqlCommand = &command{
	name:    "sql",
	args:    "--data DIR --segment FILE --dialect D [--as-of DATE] [--table Entity=name ...] [--segment-table Name=table ...] [--catalog FILE] [--json]",
	summary: "print the SQL query that returns a segment's members in another engine (" + strings.Join(sqlgen.Dialects(), ", ") + ")",
	flags: func(fs *flag.FlagSet) func(context.Context, *cli) int {
		data := dataFlag(fs)
		seg := segmentFlag(fs, "segment", "the segment definition", "")
		dialect := fs.String("dialect", "", "write the SQL of `D`: "+strings.Join(sqlgen.Dialects(), ", "))
		asOf := asOfFlag(fs, "count relative dates (inLastDays, ...) from")
		tables := pairsFlag(fs, "table", "read entity `Entity=name` from the table name (repeatable; default the entity's name)")
		segTables := pairsFlag(fs, "segment-table", "take the members of referenced segment `Name=table` from the table's key column (repeatable)")
		rowOrder := pairsFlag(fs, "row-order", "add number sums of entity `Entity=column` in the order of that column, as its data file has its rows (repeatable; FORMAT.md adds in row order)")
		anyOrder := fs.Bool("any-order-sums", false, "let the engine add number sums in any order (the last bits of a sum may differ from segmentkit's)")
		cat := catalogFlag(fs, "inline {\"segment\": ...} references with the definitions stored in")
		jsonOut := jsonFlag(fs)
		return func(ctx context.Context, c *cli) int {
			return c.sql(ctx, sqlArgs{data: *data, segment: *seg, dialect: *dialect, asOf: *asOf, tables: *tables,
				segTables: *segTables, rowOrder: *rowOrder, anyOrder: *anyOrder, catalog: *cat, json: *jsonOut, now: time.Now})
		}
	},
}

// pairs is a repeatable NAME=VALUE flag.
type pairs map[string]string

// pairsFlag declares a repeatable NAME=VALUE flag.
func pairsFlag(fs *flag.FlagSet, name, usage string) *pairs {
	p := pairs{}
	fs.Func(name, usage, func(v string) error {
		k, val, ok := strings.Cut(v, "=")
		k, val = strings.TrimSpace(k), strings.TrimSpace(val)
		switch {
		case !ok || k == "" || val == "":
			return fmt.Errorf("want NAME=VALUE, not %q", v)
		case p[k] != "":
			return fmt.Errorf("%s is given twice", k)
		}
		p[k] = val
		return nil
	})
	return &p
}

type sqlArgs struct {
	data, segment, dialect, asOf, catalog string
	tables, segTables, rowOrder           pairs
	json, anyOrder                        bool
	now                                   func() time.Time
}

// sqlJSON is what sql --json prints.
type sqlJSON struct {
	Dialect string    `json:"dialect"`
	AsOf    time.Time `json:"asOf"`
	SQL     string    `json:"sql"`
}

func (c *cli) sql(_ context.Context, a sqlArgs) int {
	if code := c.dataDir(a.data); code >= 0 {
		return code
	}
	if a.segment == "" {
		return c.usage(errors.New("missing --segment FILE: the segment definition to compile"))
	}
	if a.dialect == "" {
		return c.usage(fmt.Errorf("missing --dialect D: one of %s", strings.Join(sqlgen.Dialects(), ", ")))
	}
	d, err := sqlgen.LookupDialect(a.dialect)
	if err != nil {
		return c.usage(fmt.Errorf("--dialect: %w", err))
	}
	asOf, err := parseAsOf(a.asOf, a.now)
	if err != nil {
		return c.usage(err)
	}
	sch, err := readSchema(a.data)
	if err != nil {
		return c.fail(err)
	}
	for flag, m := range map[string]pairs{"--table": a.tables, "--row-order": a.rowOrder} {
		for ent := range m {
			if _, ok := sch.Entity(ent); !ok {
				return c.usage(fmt.Errorf("%s %s=...: the schema has no entity %q%s", flag, ent, ent, nearestHint(ent, sch.EntityNames())))
			}
		}
	}
	def, err := c.readSegment("--segment", a.segment)
	if err != nil {
		return c.failAt(a.segment, err)
	}
	refs, err := sqlReferences(def, a.catalog, a.segTables)
	if err != nil {
		return c.fail(err)
	}
	q, err := sqlgen.Compile(def, sch, sqlgen.Options{Dialect: d, AsOf: asOf, Tables: a.tables, Segments: refs, Inline: true,
		RowOrder: a.rowOrder, AnyOrderSums: a.anyOrder})
	if err != nil {
		return c.failAt(a.segment, err)
	}
	if a.json {
		return c.emit(sqlJSON{Dialect: a.dialect, AsOf: asOf, SQL: q.SQL})
	}
	fmt.Fprintln(c.out, strings.TrimRight(q.SQL, "\n"))
	return exitOK
}

// nearestHint is " (did you mean X?)" for the nearest of names, or "".
func nearestHint(name string, names []string) string {
	return diag.DidYouMean(diag.Nearest(name, names))
}

// sqlReferences resolves the segments def references (transitively): a
// --segment-table gives a table of members; otherwise the catalog's
// stored definition is compiled into the query. A static segment whose
// members are frozen needs a table: its definition would give today's
// members, not the frozen ones.
func sqlReferences(def *segment.Definition, file string, tables pairs) (map[string]sqlgen.Reference, error) {
	out := map[string]sqlgen.Reference{}
	for n, t := range tables {
		out[n] = sqlgen.Reference{Table: t}
	}
	todo := definitionRefs(def)
	if !slices.ContainsFunc(todo, func(n string) bool { return tables[n] == "" }) {
		return out, nil
	}
	if _, err := os.Stat(file); errors.Is(err, iofs.ErrNotExist) {
		return nil, fmt.Errorf("the definition references segments (%s), and catalog %s does not exist; give --catalog FILE, or --segment-table NAME=TABLE for each", strings.Join(todo, ", "), file)
	}
	cat, err := catalog.Open(file, catalog.Options{})
	if err != nil {
		return nil, err
	}
	defer cat.Close()
	for len(todo) > 0 {
		n := todo[0]
		todo = todo[1:]
		if _, done := out[n]; done {
			continue
		}
		s, err := cat.Get(n)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: %w", file, err)
		}
		if s.Membership == segment.Static && s.Frozen {
			return nil, fmt.Errorf("segment %q is static and its members are frozen; give them as a table: --segment-table %s=TABLE", n, n)
		}
		d, err := segment.Parse(s.Definition)
		if err != nil {
			return nil, fmt.Errorf("catalog %s: segment %q: %w", file, n, err)
		}
		out[n] = sqlgen.Reference{Definition: d}
		todo = append(todo, definitionRefs(d)...)
	}
	return out, nil
}
