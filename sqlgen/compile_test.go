package sqlgen_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/sqlgen"
	"github.com/segmentkit/segmentkit/storage"
)

func TestLookupDialect(t *testing.T) {
	require.Equal(t, []string{"clickhouse", "duckdb", "postgres", "spark", "sqlite", "trino"}, sqlgen.Dialects())
	for _, name := range sqlgen.Dialects() {
		d, err := sqlgen.LookupDialect(name)
		require.NoError(t, err)
		require.Equal(t, name, d.Name())
	}
	_, err := sqlgen.LookupDialect("sqlit")
	require.ErrorIs(t, err, sqlgen.ErrUnknownDialect)
	require.Equal(t, "sqlgen.unknown_dialect", diag.Code(err))
	require.Contains(t, err.Error(), "did you mean sqlite?")
	require.Contains(t, err.Error(), "duckdb, postgres, spark, sqlite, trino")
}

// parse parses a definition whose single group is cond.
func parse(t *testing.T, cond string) *segment.Definition {
	t.Helper()
	def, err := segment.Parse([]byte(`{"name": "T", "groups": [{"condition": ` + cond + `}]}`))
	require.NoError(t, err)
	return def
}

func TestInvalidDefinitionIsValidatedFirst(t *testing.T) {
	def := parse(t, `{"and": [{"attribute": "Customer.Agee", "operator": "equals", "value": 1},
		{"segment": "Nope"}]}`)
	_, err := sqlgen.Compile(def, demo.Schema(), sqlgen.Options{Dialect: sqlgen.SQLite, AsOf: goldenAsOf})
	var l diag.List
	require.ErrorAs(t, err, &l)
	require.Len(t, l, 2)
	require.ErrorIs(t, err, segment.ErrUnknownAttribute)
	require.ErrorIs(t, err, segment.ErrUnknownSegment)
	require.Equal(t, "groups[0].condition.and[0].attribute", l[0].Path)
	require.Equal(t, "Age", l[0].Suggestion)
}

func TestOptionsProblems(t *testing.T) {
	def := parse(t, `{"attribute": "Customer.SignupDate", "operator": "inLastDays", "value": 7}`)
	sch := demo.Schema()
	for name, opts := range map[string]sqlgen.Options{
		"no dialect":           {AsOf: goldenAsOf},
		"empty table":          {Dialect: sqlgen.SQLite, AsOf: goldenAsOf, Tables: map[string]string{"Order": "sales..orders"}},
		"table of no entity":   {Dialect: sqlgen.SQLite, AsOf: goldenAsOf, Tables: map[string]string{"Ordr": "orders"}},
		"reference of nothing": {Dialect: sqlgen.SQLite, AsOf: goldenAsOf, Segments: map[string]sqlgen.Reference{"S": {}}},
		"reference of both": {Dialect: sqlgen.SQLite, AsOf: goldenAsOf,
			Segments: map[string]sqlgen.Reference{"S": {Table: "s", Definition: def}}},
		"no as-of": {Dialect: sqlgen.SQLite},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := sqlgen.Compile(def, sch, opts)
			require.ErrorIs(t, err, sqlgen.ErrOptions)
		})
	}
}

func TestUnsupported(t *testing.T) {
	sch := demo.Schema()
	noWindow := features{sqlgen.SQLite, sqlgen.Features{CTE: true, SetOps: true, Params: true}}
	tests := []struct {
		name    string
		cond    string
		dialect sqlgen.Dialect
		path    string
		text    string
	}{
		{"first without window functions", `{"and": [{"attribute": "Customer.Age", "operator": "equals", "value": 1},
			{"attribute": "Measures.LastChannel", "operator": "equals", "value": "web"}]}`,
			noWindow, "groups[0].condition.and[1]", "last needs window functions"},
		{"sum of numbers without a row order", `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"},
			"operator": "greaterThan", "value": 1}`,
			sqlgen.PostgreSQL, "groups[0].condition", "Options.RowOrder"},
		{"NUL in PostgreSQL text", `{"attribute": "Customer.Country", "operator": "equals", "value": "a\u0000b"}`,
			sqlgen.PostgreSQL, "groups[0].condition", "NUL"},
		{"NUL in a GLOB pattern", `{"attribute": "Customer.Country", "operator": "contains", "value": "a\u0000b"}`,
			sqlgen.SQLite, "groups[0].condition", "NUL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, inline := range []bool{false, true} {
				_, err := sqlgen.Compile(parse(t, tt.cond), sch, sqlgen.Options{Dialect: tt.dialect, AsOf: goldenAsOf, Inline: inline})
				require.ErrorIs(t, err, sqlgen.ErrUnsupported)
				var l diag.List
				require.ErrorAs(t, err, &l)
				require.Len(t, l, 1)
				require.Equal(t, tt.path, l[0].Path)
				require.Contains(t, l[0].Message, tt.text)
			}
		})
	}

	// PostgreSQL cuts names after 63 bytes: a longer one is refused.
	long := strings.Repeat("x", 64)
	s, err := schema.Parse([]byte(`{"customerEntity": "C", "entities": [{"name": "C", "key": "` + long + `",
		"attributes": [{"name": "` + long + `", "type": "string"}]}]}`))
	require.NoError(t, err)
	def, err := segment.Parse([]byte(`{"name": "T", "groups": [{"condition": {"attribute": "C.` + long + `", "operator": "isNull"}}]}`))
	require.NoError(t, err)
	_, err = sqlgen.Compile(def, s, sqlgen.Options{Dialect: sqlgen.PostgreSQL})
	require.ErrorIs(t, err, sqlgen.ErrUnsupported)
	_, err = sqlgen.Compile(def, s, sqlgen.Options{Dialect: sqlgen.SQLite})
	require.NoError(t, err)
}

func TestReferenceCycle(t *testing.T) {
	a, err := segment.Parse([]byte(`{"name": "A", "groups": [{"condition": {"segment": "B"}}]}`))
	require.NoError(t, err)
	b, err := segment.Parse([]byte(`{"name": "B", "groups": [{"condition": {"or": [{"segment": "A"},
		{"attribute": "Customer.Age", "operator": "equals", "value": 1}]}}]}`))
	require.NoError(t, err)
	main := parse(t, `{"segment": "A"}`)
	_, err = sqlgen.Compile(main, demo.Schema(), sqlgen.Options{Dialect: sqlgen.SQLite, Segments: map[string]sqlgen.Reference{
		"A": {Definition: a}, "B": {Definition: b},
	}})
	require.ErrorIs(t, err, segment.ErrSegmentCycle)

	// A referenced definition's own problems come with its name.
	bad, err := segment.Parse([]byte(`{"name": "Bad", "groups": [{"condition": {"attribute": "Customer.Agee", "operator": "isNull"}}]}`))
	require.NoError(t, err)
	_, err = sqlgen.Compile(parse(t, `{"segment": "Bad"}`), demo.Schema(), sqlgen.Options{Dialect: sqlgen.SQLite,
		Segments: map[string]sqlgen.Reference{"Bad": {Definition: bad}}})
	var l diag.List
	require.ErrorAs(t, err, &l)
	require.Equal(t, "segments.Bad.groups[0].condition.attribute", l[0].Path)
	require.ErrorIs(t, err, segment.ErrUnknownAttribute)
}

// TestReferencedSegmentCompiledOnce: a segment referenced twice is one
// part of the query.
func TestReferencedSegmentCompiledOnce(t *testing.T) {
	vips, err := segment.Parse([]byte(`{"name": "Vips", "groups": [{"condition": {"attribute": "Customer.IsVip", "operator": "isTrue"}}]}`))
	require.NoError(t, err)
	def := parse(t, `{"or": [{"segment": "Vips"}, {"not": {"segment": "Vips"}}]}`)
	q, err := sqlgen.Compile(def, demo.Schema(), sqlgen.Options{Dialect: sqlgen.SQLite,
		Segments: map[string]sqlgen.Reference{"Vips": {Definition: vips}}})
	require.NoError(t, err)
	require.Equal(t, 1, strings.Count(q.SQL, `"IsVip" = 1`), q.SQL)
}

// TestPartNamesAvoidTables: a part is never named like a table, which it
// would hide.
func TestPartNamesAvoidTables(t *testing.T) {
	def := parse(t, `{"attribute": "Order.Channel", "operator": "equals", "value": "web"}`)
	q, err := sqlgen.Compile(def, demo.Schema(), sqlgen.Options{Dialect: sqlgen.SQLite,
		Tables: map[string]string{"Order": "GROUP1", "Customer": "main.group1_2"}})
	require.NoError(t, err)
	require.Contains(t, q.SQL, `"group1_3" AS (`)
	require.Contains(t, q.SQL, `FROM "GROUP1" AS "r0"`)
	require.Contains(t, q.SQL, `FROM "main"."group1_2" AS "c"`)
}

// TestSumOrder: FORMAT.md adds a sum of numbers in row order. On the
// testdata case sum-row-order, K1's orders add to 0.6000000000000001 and
// K2's to 0.6; SQLite's SUM adds with compensation and gives 0.6 for both,
// which is what Options.AnyOrderSums accepts.
func TestSumOrder(t *testing.T) {
	ctx := context.Background()
	dir := "testdata/cases/sum-row-order"
	snap, err := storage.Load(ctx, dir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()
	key, _ := snap.Schema().Customer().Attribute("CustomerId")
	db, err := openDB(ctx, dir, key, refs{})
	require.NoError(t, err)
	defer db.Close()
	def := parse(t, `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"},
		"operator": "equals", "value": 0.6}`)
	want, err := engineMembers(ctx, snap, def, goldenAsOf, refs{})
	require.NoError(t, err)
	require.Equal(t, []string{"K2", "K3"}, want)
	got, _, err := sqlMembers(ctx, db, def, snap, sqlgen.Options{Dialect: sqlgen.SQLite})
	require.NoError(t, err)
	require.Equal(t, want, got)
	got, _, err = sqlMembers(ctx, db, def, snap, sqlgen.Options{Dialect: sqlgen.SQLite, AnyOrderSums: true})
	require.NoError(t, err)
	require.Equal(t, []string{"K1", "K2", "K3"}, got, "SQLite's SUM is not FORMAT.md's sum")
}

func TestArgs(t *testing.T) {
	def := parse(t, `{"and": [{"attribute": "Customer.Country", "operator": "in", "value": ["US", "CA"]},
		{"attribute": "Customer.Age", "operator": "greaterThan", "value": 30.5},
		{"attribute": "Order.Amount", "operator": "lessThan", "value": 0.1},
		{"attribute": "Customer.SignupDate", "operator": "equals", "value": "2024-02-29"}]}`)
	q, err := sqlgen.Compile(def, demo.Schema(), sqlgen.Options{Dialect: sqlgen.SQLite})
	require.NoError(t, err)
	require.Equal(t, []any{"US", "CA", int64(31), 0.1, "2024-02-29"}, q.Args)
	require.Contains(t, q.SQL, `"c"."Country" IN (?1, ?2)`)
	require.Contains(t, q.SQL, `"c"."Age" >= ?3`)
	q, err = sqlgen.Compile(def, demo.Schema(), sqlgen.Options{Dialect: sqlgen.PostgreSQL})
	require.NoError(t, err)
	require.Contains(t, q.SQL, `"c"."SignupDate" = CAST($5 AS DATE)`)
	require.Len(t, q.Args, 5)
	q, err = sqlgen.Compile(def, demo.Schema(), sqlgen.Options{Dialect: sqlgen.SQLite, Inline: true})
	require.NoError(t, err)
	require.Empty(t, q.Args)
	require.False(t, errors.Is(err, sqlgen.ErrUnsupported))
}
