package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/segmentkit/segmentkit/internal/sqlload"
)

// TestSQLCommandRunsAsPrinted: the SQLite query sql prints, run on the
// data loaded with the documented layout, returns eval's members.
func TestSQLCommandRunsAsPrinted(t *testing.T) {
	data := segData(t, 12)
	def := segDef(t, "Older", `{"and": [{"attribute": "Customer.Age", "operator": "greaterThan", "value": 23},
		{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 60},
		{"not": {"attribute": "Customer.Country", "operator": "equals", "value": "de", "ignoreCase": true}}]}`)
	r := runCLI(t, "sql", "--data", data, "--segment", def, "--dialect", "sqlite", "--as-of", "2026-06-30")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "-- groups[0].condition.and[1]")
	ev := runCLI(t, "eval", "--data", data, "--segment", def, "--as-of", "2026-06-30")
	require.Equal(t, exitOK, ev.code, ev.stderr)
	want := strings.Fields(ev.stdout)
	require.NotEmpty(t, want)

	ctx := context.Background()
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	defer db.Close()
	db.SetMaxOpenConns(1)
	require.NoError(t, sqlload.Load(ctx, db, data, nil))
	rows, err := db.QueryContext(ctx, r.stdout)
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var k string
		require.NoError(t, rows.Scan(&k))
		got = append(got, k)
	}
	require.NoError(t, rows.Err())
	slices.Sort(got)
	require.Equal(t, want, got)

	// --table renames an entity's table; --json wraps the query.
	r = runCLI(t, "sql", "--data", data, "--segment", def, "--dialect", "postgres", "--table", "Order=sales.orders", "--row-order", "Order=OrderId", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var out map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &out))
	require.Equal(t, "postgres", out["dialect"])
	require.Contains(t, out["sql"], `"sales"."orders"`)
}

func TestSQLCommandErrors(t *testing.T) {
	data := segData(t, 3)
	def := segDef(t, "Ref", `{"segment": "Other"}`)
	plain := segDef(t, "Plain", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 1}`)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--segment", plain}, exitUsage, "missing --dialect"},
		{[]string{"--segment", plain, "--dialect", "sqlit"}, exitUsage, "did you mean sqlite?"},
		{[]string{"--dialect", "sqlite"}, exitUsage, "missing --segment"},
		{[]string{"--segment", plain, "--dialect", "sqlite", "--table", "Ordr=o"}, exitUsage, "did you mean Order?"},
		{[]string{"--segment", plain, "--dialect", "sqlite", "--table", "Order"}, exitUsage, "want NAME=VALUE"},
		{[]string{"--segment", plain, "--dialect", "sqlite", "--as-of", "yesterday"}, exitUsage, "--as-of"},
		{[]string{"--segment", def, "--dialect", "sqlite", "--catalog", filepath.Join(t.TempDir(), "none.db")}, exitFailed, "give --catalog FILE, or --segment-table"},
	} {
		r := runCLI(t, append([]string{"sql", "--data", data}, c.args...)...)
		require.Equal(t, c.code, r.code, "%v: %s", c.args, r.stderr)
		require.Contains(t, r.stderr, c.msg, "%v", c.args)
	}
	// A reference given as a table of members.
	r := runCLI(t, "sql", "--data", data, "--segment", def, "--dialect", "sqlite", "--segment-table", "Other=other_members")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, `"other_members"`)
}
