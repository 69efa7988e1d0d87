package main

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
)

func TestExportCLI(t *testing.T) {
	data := segData(t, 10)
	db := filepath.Join(t.TempDir(), "cat.db")
	base := []string{"--catalog", db, "--data", data}
	older := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 25}`)
	r := runSeg(t, append([]string{"create", "--file", older}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)

	// Never refreshed: nothing to export, and it says how to fix it.
	out := filepath.Join(t.TempDir(), "older.csv")
	r = runSeg(t, append([]string{"export", "Older", "--to", "csv:" + out}, base...)...)
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "has never been refreshed")

	r = runSeg(t, append([]string{"activate", "Older"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)

	// A full CSV export with a hashed field.
	r = runSeg(t, append([]string{"export", "Older", "--to", "csv:" + out, "--fields", "Country,Age", "--hash", "Country"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "export 1 successful: Older to csv:"+out)
	require.Contains(t, r.stdout, "delivered: 4 rows in 1 batch (1 try)")
	f, err := os.Open(out)
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Equal(t, []string{"CustomerId", "Country", "Age"}, rows[0])
	require.Len(t, rows, 5) // C07..C10, ages 26..29
	require.Equal(t, []string{"C07", export.HashValue("DE"), "26"}, rows[1][:3])

	// A delta to standard output: every member enters first, then
	// nothing changes; the report goes to standard error.
	r = runSeg(t, append([]string{"export", "Older", "--to", "csv:-", "--delta"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "change,CustomerId,Age,Country\nentered,C07,26,DE\nentered,C08,27,US\nentered,C09,28,DE\nentered,C10,29,US\n", r.stdout)
	require.Contains(t, r.stderr, "sent 4 entered, 0 changed, 0 left")
	r = runSeg(t, append([]string{"export", "Older", "--to", "csv:-", "--delta"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "change,CustomerId,Age,Country\n", r.stdout)

	// Attach a JSON Lines destination; the next refresh exports to it.
	jl := filepath.Join(t.TempDir(), "older.jsonl")
	r = runSeg(t, append([]string{"destinations", "add", "Older", "--to", "jsonl:" + jl, "--name", "lines", "--delta"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "Older exports to jsonl:"+jl+" as \"lines\" (delta), after every successful refresh\n", r.stdout)
	r = runSeg(t, append([]string{"refresh", "Older"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `export \d+ successful: Older to jsonl:.* \(delta\), 4 rows`, r.stdout)
	b, err := os.ReadFile(jl)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, 4)
	var first map[string]any
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &first))
	require.Equal(t, map[string]any{"change": "entered", "CustomerId": "C07", "Age": 26.0, "Country": "DE"}, first)

	r = runSeg(t, "destinations", "list", "Older", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "lines")
	require.Contains(t, r.stdout, "on demand")
	r = runSeg(t, "destinations", "list", "Older", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var ds []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ds))
	require.Len(t, ds, 3) // csv:FILE and csv:- on demand, lines

	r = runSeg(t, "exports", "Older", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "EXPORT")
	require.Equal(t, 5, strings.Count(r.stdout, "\n"), "a header and four exports: %s", r.stdout)
	r = runSeg(t, "exports", "--job", "4", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var ej map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ej))
	require.Equal(t, "refresh", ej["trigger"])

	r = runSeg(t, "destinations", "remove", "Older", "lines", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "destinations", "remove", "Older", "lines", "--catalog", db)
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "not found")
}

func TestExportCLIErrors(t *testing.T) {
	data := segData(t, 4)
	db := filepath.Join(t.TempDir(), "cat.db")
	base := []string{"--catalog", db, "--data", data}
	all := segDef(t, "All", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 0}`)
	r := runSeg(t, append([]string{"create", "--file", all, "--active"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, c := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"export", "All"}, exitUsage, "missing --to DEST"},
		{[]string{"export", "All", "--to", "parqet:x.parquet"}, exitFailed, "did you mean parquet?"},
		{[]string{"export", "All", "--to", "csv"}, exitFailed, "write KIND:WHERE"},
		{[]string{"export", "All", "--to", "csv:-", "--fields", "Contry"}, exitFailed, "did you mean Country?"},
		{[]string{"export", "All", "--to", "csv:-", "--hash", "Amount"}, exitFailed, "not among the exported fields"},
		{[]string{"export", "All", "--to", "csv:-", "--changes"}, exitUsage, "--changes needs --delta"},
		{[]string{"export", "All", "--to", "csv:-", "--batch-size", "-1"}, exitUsage, "--batch-size"},
		{[]string{"export", "Al", "--to", "csv:-"}, exitFailed, "did you mean All?"},
		{[]string{"export", "All", "--to", "webhook:ftp://x"}, exitFailed, "http"},
		{[]string{"export", "All", "--to", "csv:" + filepath.Join(t.TempDir(), "no", "such", "dir", "x.csv")}, exitFailed, "no/such/dir"},
		{[]string{"destinations", "add", "All"}, exitUsage, "missing --to DEST"},
		{[]string{"destinations", "lst", "All"}, exitUsage, "did you mean list?"},
	} {
		r := runSeg(t, append(c.args, base...)...)
		require.Equal(t, c.code, r.code, "%v: %s", c.args, r.stderr)
		require.Contains(t, r.stderr, c.msg, "%v", c.args)
		require.NotContains(t, r.stderr, "panic")
	}
}
