package sqlgen_test

import (
	"context"
	"database/sql"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/internal/sqlload"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/sqlgen"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/golden")

var goldenAsOf = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)

type goldenCase struct {
	name string
	def  *segment.Definition
	sch  *schema.Schema
}

// goldenCases are the demo's example segment and the definitions of
// testdata/golden, each over the demo schema or NAME.schema.json.
func goldenCases(t *testing.T) []goldenCase {
	t.Helper()
	def, err := segment.Parse(demo.ExampleSegment())
	require.NoError(t, err)
	cases := []goldenCase{{"demo", def, demo.Schema()}}
	files, err := filepath.Glob("testdata/golden/*.json")
	require.NoError(t, err)
	for _, f := range files {
		if strings.HasSuffix(f, ".schema.json") {
			continue
		}
		name := strings.TrimSuffix(filepath.Base(f), ".json")
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		def, err := segment.Parse(b)
		require.NoError(t, err, f)
		sch := demo.Schema()
		if b, err := os.ReadFile(strings.TrimSuffix(f, ".json") + ".schema.json"); err == nil {
			sch, err = schema.Parse(b)
			require.NoError(t, err, f)
		}
		cases = append(cases, goldenCase{name, def, sch})
	}
	return cases
}

// goldenOptions are the options of the golden queries: literals inlined,
// the references of references.json, and for PostgreSQL, which keeps no
// row order, a column "file_row" ordering every table.
func goldenOptions(t *testing.T, d sqlgen.Dialect, sch *schema.Schema) sqlgen.Options {
	t.Helper()
	vips, err := segment.Parse([]byte(`{"name": "Vips", "groups": [
		{"condition": {"attribute": "Customer.IsVip", "operator": "isTrue"}},
		{"setOperator": "intersect", "condition": {"attribute": "Customer.Country", "operator": "in", "value": ["US", "CA"]}}]}`))
	require.NoError(t, err)
	opts := sqlgen.Options{
		Dialect: d, AsOf: goldenAsOf, Inline: true,
		Segments: map[string]sqlgen.Reference{
			"Frozen": {Table: "frozen_members"},
			"Vips":   {Definition: vips},
		},
	}
	if _, ok := d.RowOrder("r", sch.Customer()); !ok {
		opts.RowOrder = map[string]string{}
		for _, e := range sch.Entities {
			opts.RowOrder[e.Name] = "file_row"
		}
	}
	return opts
}

// TestGolden compiles a fixed set of definitions for every dialect and
// compares the queries with testdata/golden/DIALECT/NAME.sql (-update
// rewrites them). The SQLite queries also run, on empty tables of the
// layout, so that SQLite itself checks them.
func TestGolden(t *testing.T) {
	for _, dialect := range sqlgen.Dialects() {
		d, err := sqlgen.LookupDialect(dialect)
		require.NoError(t, err)
		for _, gc := range goldenCases(t) {
			t.Run(dialect+"/"+gc.name, func(t *testing.T) {
				q, err := sqlgen.Compile(gc.def, gc.sch, goldenOptions(t, d, gc.sch))
				require.NoError(t, err)
				require.Empty(t, q.Args)
				path := filepath.Join("testdata", "golden", dialect, gc.name+".sql")
				if *update {
					require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
					require.NoError(t, os.WriteFile(path, []byte(q.SQL), 0o644))
				}
				want, err := os.ReadFile(path)
				require.NoError(t, err, "run go test ./sqlgen -run Golden -update to write it")
				require.Equal(t, string(want), q.SQL)
				if dialect == "sqlite" {
					runOnEmptyTables(t, gc.sch, q)
				}
			})
		}
	}
}

// runOnEmptyTables runs a SQLite query over empty tables of the layout.
func runOnEmptyTables(t *testing.T, sch *schema.Schema, q *sqlgen.Query) {
	t.Helper()
	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	for _, e := range sch.Entities {
		var cols []string
		for _, a := range e.Attributes {
			q, err := sqlgen.SQLite.Ident(a.Name)
			require.NoError(t, err)
			cols = append(cols, q+" "+sqlload.SQLType(a.Type))
		}
		table, err := sqlgen.SQLite.Ident(e.Name)
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, "CREATE TABLE "+table+" ("+strings.Join(cols, ", ")+")")
		require.NoError(t, err)
	}
	key, _ := sch.Customer().Attribute(sch.Customer().Key)
	require.NoError(t, sqlload.Keys(ctx, db, "frozen_members", key.Name, key.Type, nil))
	rows, err := db.QueryContext(ctx, q.SQL, q.Args...)
	require.NoError(t, err, q.SQL)
	defer rows.Close()
	require.False(t, rows.Next())
	require.NoError(t, rows.Err())
}
