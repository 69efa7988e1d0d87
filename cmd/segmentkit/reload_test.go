package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// backdate sets the modification time of dir's data files a minute back,
// so that a load writes the snapshot file (it does not for files just
// modified).
func backdate(t *testing.T, dir string) {
	t.Helper()
	old := time.Now().Add(-time.Minute)
	for _, f := range []string{"schema.json", "Customer.csv", "Order.csv"} {
		require.NoError(t, os.Chtimes(filepath.Join(dir, f), old, old))
	}
}

// TestRefreshAppendsCLI: a refresh after rows were appended to a CSV file
// appends them to the snapshot file's snapshot, and says so; after a row
// the snapshot file holds is rewritten it loads the data files, and says
// why.
func TestRefreshAppendsCLI(t *testing.T) {
	data := segData(t, 10)
	backdate(t, data)
	db := filepath.Join(t.TempDir(), "cat.db")
	base := []string{"--catalog", db, "--data", data}
	big := segDef(t, "Big", `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 200}`)
	r := runSeg(t, append([]string{"create", "--file", big, "--active"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)

	r = runSeg(t, append([]string{"refresh", "--all"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "(snapshot file)")

	orders := filepath.Join(data, "Order.csv")
	f, err := os.OpenFile(orders, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.WriteString("O11,C03,500\n")
	require.NoError(t, err)
	require.NoError(t, f.Close())
	r = runSeg(t, append([]string{"refresh", "--all"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "(append: 1 row to Order)")
	r = runSeg(t, "member", "C03", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, `"Big"`)

	b, err := os.ReadFile(orders)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(orders, []byte(strings.Replace(string(b), "O01,C01,10\n", "O01,C01,15\n", 1)), 0o644))
	r = runSeg(t, append([]string{"refresh", "--all", "--json"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, `"load":"full load: Order.csv changed in its first`)
	r = runSeg(t, "member", "C03", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, `"Big"`)
}
