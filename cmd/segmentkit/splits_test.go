package main

import (
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestClientSplitsSameAsFile runs the split and priority list verbs on a
// catalog file and through a server, and compares their outputs and exit
// codes.
func TestClientSplitsSameAsFile(t *testing.T) {
	data := segData(t, 40)
	w := newTwoWays(t, data)
	everyone := compactDef(t, "Everyone", "Everyone", `{"attribute":"Customer.Age","operator":"greaterThan","value":0}`)
	germans := compactDef(t, "Germans", "The Germans", `{"attribute":"Customer.Country","operator":"equals","value":"DE"}`)
	w.same(exitOK, "create", "--segment", everyone, "--active")
	w.same(exitOK, "create", "--segment", germans, "--active")

	// Splits: problems, each with its place; then a split and its groups.
	r := w.same(exitFailed, "split", "Everyone", "--groups", "Test=45,Test=45")
	require.Contains(t, r.stderr, "groups[1].name: group Test is also groups[0]")
	require.Contains(t, r.stderr, "the percentages add up to 90, not 100")
	w.same(exitFailed, "split", "Everyone", "--groups", "Test=45,Control=45", "--holdout", "Holdout=10.005")
	w.same(exitUsage, "split", "Everyone", "--groups", "Test")
	w.same(exitUsage, "split", "Everyone")
	w.same(exitFailed, "split", "Everyon", "--groups", "A=50,B=50")
	r = w.same(exitOK, "split", "Everyone", "--groups", "Test=45,Control=45", "--holdout", "Holdout=10", "--salt", "spring")
	require.Equal(t, "split Everyone (salt \"spring\"): Test 45%, Control 45%, Holdout 10% (holdout)\n", r.stdout)
	w.same(exitOK, "split", "Everyone", "--groups", "Test=40,Control=50", "--holdout", "Holdout=10", "--json")
	r = w.same(exitOK, "groups", "Everyone")
	require.Regexp(t, `Everyone: 40 members, salt "spring"\nGROUP\s+PERCENT\s+MEMBERS\s+HOLDOUT\s+BUCKETS\nTest\s+40%\s+\d+\s+-\s+0-3999\nControl\s+50%\s+\d+\s+-\s+4000-8999\nHoldout\s+10%\s+\d+\s+yes\s+9000-9999\n`, r.stdout)
	w.same(exitOK, "groups", "Everyone", "--json")
	r = w.same(exitOK, "show", "Everyone")
	require.Regexp(t, `split:\s+Test 40%, Control 50%, Holdout 10% \(holdout\); salt "spring"\n`, r.stdout)
	r = w.same(exitFailed, "groups", "Germans")
	require.Contains(t, r.stderr, "not split")

	// Exports of a group; never of the holdout.
	dir := t.TempDir()
	r = w.same(exitFailed, "destinations", "add", "Everyone", "--to", "csv:"+filepath.Join(dir, "h.csv"), "--group", "Holdout")
	require.Contains(t, r.stderr, "holdout")
	r = w.same(exitFailed, "destinations", "add", "Everyone", "--to", "csv:"+filepath.Join(dir, "h.csv"), "--group", "Tes")
	require.Contains(t, r.stderr, "did you mean Test?")
	r = w.same(exitOK, "destinations", "add", "Everyone", "--to", "csv:"+filepath.Join(dir, "test.csv"), "--group", "Test", "--on-demand")
	require.Contains(t, r.stdout, "Everyone group Test exports to")
	w.same(exitOK, "destinations", "list", "Everyone")
	r = w.same(exitOK, "export", "Everyone", "--to", "csv:"+filepath.Join(dir, "test.csv"), "--group", "Test")
	require.Contains(t, r.stdout, "group: Test\n")
	b, err := os.ReadFile(filepath.Join(dir, "test.csv"))
	require.NoError(t, err)
	rows, err := csv.NewReader(strings.NewReader(string(b))).ReadAll()
	require.NoError(t, err)
	require.Less(t, len(rows)-1, 40, "the group alone")
	// A definition referencing the group evaluates with the catalog
	// file's members of it.
	inTest := writeFile(t, "in-test.json", `{"name": "InTest", "groups": [{"condition": {"segment": "Everyone", "group": "Test"}}]}`)
	r = runCLI(t, "eval", "--data", data, "--segment", inTest, "--catalog", w.file, "--format", "count")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, fmt.Sprint(len(rows)-1), strings.TrimSpace(r.stdout))
	r = w.same(exitFailed, "split", "Everyone", "--remove")
	require.Contains(t, r.stderr, "referenced")
	w.same(exitOK, "destinations", "remove", "Everyone", "csv")

	// Priority lists.
	r = w.same(exitFailed, "priority", "create", "Offers", "--entries", "Germns,Everyone/Holdout,Germans,Germans")
	require.Contains(t, r.stderr, "entries[0].segment: no segment is named Germns (did you mean Germans?)")
	require.Contains(t, r.stderr, "entries[1].group: group Holdout of segment Everyone is its holdout")
	require.Contains(t, r.stderr, "entries[3]: Germans is also entries[2]")
	w.same(exitUsage, "priority", "create", "Offers")
	r = w.same(exitOK, "priority", "create", "Offers", "--entries", "Germans,Everyone/Test,Everyone", "--description", "one offer each")
	require.Equal(t, "created priority list Offers: Germans > Everyone/Test > Everyone\n", r.stdout)
	w.same(exitOK, "priority", "list")
	w.same(exitOK, "priority", "list", "--json")
	r = w.same(exitOK, "priority", "show", "Offers")
	require.Regexp(t, `Offers: 40 customers assigned\n#\s+ENTRY\s+ASSIGNED\s+HELD OUT\n1\s+Germans\s+20\s+0\n`, r.stdout)
	w.same(exitOK, "priority", "show", "Offers", "--json")
	r = w.same(exitOK, "priority", "export", "Offers", "--fields", "Country")
	rows, err = csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"entry", "CustomerId", "Country"}, rows[0])
	seen := map[string]bool{}
	for _, row := range rows[1:] {
		require.False(t, seen[row[1]], "customer %s sent twice", row[1])
		seen[row[1]] = true
		if row[2] == "DE" {
			require.Equal(t, "Germans", row[0], "the first entry that contains them")
		}
	}
	lines := filepath.Join(t.TempDir(), "offers.jsonl")
	r = w.same(exitOK, "priority", "export", "Offers", "--to", "jsonl:"+lines, "--fields", "Country")
	require.Regexp(t, `^exported priority list Offers to jsonl:.*: 40 rows in 1 batch, `, r.stdout)
	b, err = os.ReadFile(lines)
	require.NoError(t, err)
	require.Equal(t, 40, strings.Count(string(b), "\n"))
	w.same(exitOK, "priority", "export", "Offers", "--to", "jsonl:"+lines, "--json")
	w.same(exitUsage, "priority", "export", "Offers", "--to", "jsonl:"+lines, "--out", lines)
	// --out writes the CSV to a file, whole or not at all.
	csvOut := filepath.Join(t.TempDir(), "offers.csv")
	w.same(exitOK, "priority", "export", "Offers", "--out", csvOut)
	b, err = os.ReadFile(csvOut)
	require.NoError(t, err)
	require.Equal(t, 41, strings.Count(string(b), "\n"), "a header and 40 customers")
	dirOut := filepath.Join(t.TempDir(), "out")
	require.NoError(t, os.Mkdir(dirOut, 0o755))
	r = w.same(exitFailed, "priority", "export", "Offers", "--out", dirOut)
	require.Contains(t, r.stderr, "--out "+dirOut+": is a directory")
	entries, err := os.ReadDir(filepath.Dir(dirOut))
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary file left beside it")
	r = w.same(exitFailed, "priority", "export", "Offers", "--to", "roaring:"+lines)
	require.Contains(t, r.stderr, "entry")
	w.same(exitFailed, "priority", "show", "Ofers")
	r = w.same(exitFailed, "delete", "Germans")
	require.Contains(t, r.stderr, "priority list Offers")
	w.same(exitOK, "priority", "delete", "Offers")
	w.same(exitFailed, "priority", "delete", "Offers")
	w.same(exitOK, "priority", "list")
	w.same(exitOK, "split", "Everyone", "--remove")
	w.same(exitFailed, "groups", "Everyone")
}
