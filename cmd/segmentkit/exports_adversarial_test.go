package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// exportEnv is a catalog with an active segment All of four customers.
func exportEnv(t *testing.T) (db string, base []string) {
	t.Helper()
	data := segData(t, 4)
	db = filepath.Join(t.TempDir(), "cat.db")
	base = []string{"--catalog", db, "--data", data}
	all := segDef(t, "All", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 0}`)
	r := runSeg(t, append([]string{"create", "--file", all, "--active"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	return db, base
}

// TestExportCLIStandardOutputSpellings: "CSV: -" writes the rows, and only
// them, to standard output, as "csv:-" does; the report goes to standard
// error.
func TestExportCLIStandardOutputSpellings(t *testing.T) {
	_, base := exportEnv(t)
	for _, to := range []string{"CSV:-", "csv: -", " JSONL:- "} {
		r := runSeg(t, append([]string{"export", "All", "--to", to, "--fields", "Age"}, base...)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		require.NotContains(t, r.stdout, "export ", to)
		require.Contains(t, r.stderr, "successful", to)
		require.Contains(t, r.stdout, "C04", to)
	}
}

// TestExportCLIBadTargetsLeaveNoDestination: a target refused when parsed
// (a file kind that cannot go to standard output, a kind missing) fails
// at once, with exit 1 and a hint, and attaches nothing.
func TestExportCLIBadTargetsLeaveNoDestination(t *testing.T) {
	db, base := exportEnv(t)
	for to, want := range map[string]string{
		"parquet:-":             "a parquet file cannot be written to standard output",
		"arrow:-":               "an arrow file cannot be written to standard output",
		"members.csv":           "did you mean csv:members.csv?",
		"https://h.example/in":  "did you mean webhook:https://h.example/in?",
		"postgres://u@h/db":     "postgres needs CONNSTRING#TABLE",
		"webhook:ftp://h/x?t=1": "want http or https",
	} {
		r := runSeg(t, append([]string{"export", "All", "--to", to}, base...)...)
		oneLineError(t, r, exitFailed, want)
	}
	r := runSeg(t, "destinations", "list", "All", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "[]\n", r.stdout)
}

// TestExportCLINeverShowsSecrets: a webhook that refuses the batch with a
// page echoing the request's URL, and a PostgreSQL server nobody listens
// to: the password and the token appear in no output, human or JSON, of
// export, exports and destinations list, nor in the job errors the
// catalog keeps.
func TestExportCLINeverShowsSecrets(t *testing.T) {
	db, base := exportEnv(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, "<html>\n<p>bad credentials for %s</p>\n</html>", r.URL.RequestURI())
	}))
	defer srv.Close()
	hook := strings.Replace(srv.URL, "http://", "http://user:PASSW0RD@", 1) + "/in?token=T0KEN123"
	pg := "postgres:postgres://crm:PASSW0RD@127.0.0.1:1/crm?sslmode=disable&connect_timeout=2#members"
	var outputs []string
	for _, to := range []string{"webhook:" + hook, pg} {
		for _, json := range []bool{false, true} {
			args := append([]string{"export", "All", "--to", to}, base...)
			if json {
				args = append(args, "--json")
			}
			r := runSeg(t, args...)
			require.Equal(t, exitFailed, r.code, r.stderr)
			outputs = append(outputs, r.stdout, r.stderr)
		}
	}
	require.Contains(t, outputs[1], "401 Unauthorized")
	require.Contains(t, outputs[1], "/in?token=xxxxx")
	for _, args := range [][]string{
		{"exports", "All"}, {"exports", "All", "--json"}, {"exports", "--job", "1"}, {"exports", "--job", "3", "--json"},
		{"destinations", "list", "All"}, {"destinations", "list", "All", "--json"},
	} {
		r := runSeg(t, append(args, "--catalog", db)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		outputs = append(outputs, r.stdout, r.stderr)
		if strings.HasSuffix(args[len(args)-1], "json") {
			require.True(t, json.Valid([]byte(r.stdout)), "%v: %s", args, r.stdout)
		}
	}
	for _, out := range outputs {
		require.NotContains(t, out, "PASSW0RD")
		require.NotContains(t, out, "T0KEN123")
		require.NotContains(t, out, "user:")
	}
}

// TestExportsJobOfAnotherSegment: exports NAME --job ID refuses a job of
// another segment, and finds a job of NAME run under its former name.
func TestExportsJobOfAnotherSegment(t *testing.T) {
	db, base := exportEnv(t)
	other := segDef(t, "Other", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 21}`)
	r := runSeg(t, append([]string{"create", "--file", other, "--active"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, append([]string{"export", "All", "--to", "csv:" + filepath.Join(t.TempDir(), "all.csv")}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "exports", "Other", "--job", "1", "--catalog", db)
	oneLineError(t, r, exitFailed, "export job 1 is an export of All, not of Other")
	r = runSeg(t, "exports", "Nope", "--job", "1", "--catalog", db)
	oneLineError(t, r, exitFailed, `segment "Nope" not found`)
	r = runSeg(t, "rename", "All", "Everyone", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "exports", "Everyone", "--job", "1", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "export 1 successful: All to csv:")
}

// TestMemberEmptyKey: an empty KEY is a usage error, not a customer.
func TestMemberEmptyKey(t *testing.T) {
	db, _ := exportEnv(t)
	r := runSeg(t, "member", "", "--catalog", db)
	oneLineError(t, r, exitUsage, "the customer KEY is empty")
}
