package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/demo"
)

// runStdin runs the command line with stdin as its standard input.
func runStdin(t *testing.T, stdin string, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := runIO(context.Background(), args, strings.NewReader(stdin), &stdout, &stderr)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	require.NotContains(t, r.stderr, "goroutine ", "a stack trace reached stderr")
	return r
}

// count parses a count printed alone on a line.
func count(t *testing.T, r result) int {
	t.Helper()
	require.Equal(t, exitOK, r.code, r.stderr)
	n, err := strconv.Atoi(strings.TrimSpace(r.stdout))
	require.NoError(t, err, r.stdout)
	return n
}

// TestSpellings runs every spelling of the flags that name the same thing
// in every command, the new one and its old alias, and checks that each is
// honoured: the result depends on the file or choice it names.
func TestSpellings(t *testing.T) {
	t.Chdir(t.TempDir()) // the default catalog file lands here
	data := testData.dir
	segFile := segmentFile()
	segJSON, err := os.ReadFile(segFile)
	require.NoError(t, err)
	want := testData.sum.ExpectedMembers
	require.Positive(t, want)
	vip := writeFile(t, "vip.json", `{"name": "Vips", "groups": [{"condition": {"attribute": "Customer.IsVip", "operator": "isTrue"}}]}`)
	allAges := []string{"quick", "estimate", "--data", data, "--as-of", asOf(), "--field", "Customer.Age", "--op", "greaterThan", "--value", "0", "--json"}

	estimate := func(t *testing.T, r result) int {
		t.Helper()
		require.Equal(t, exitOK, r.code, r.stderr)
		var e struct{ Members, Customers int }
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &e), r.stdout)
		return e.Customers
	}
	vips := count(t, runCLI(t, "eval", "--data", data, "--segment", vip, "--format", "count"))
	require.Less(t, vips, testCustomers)

	for _, c := range []spellingCase{
		{"eval --segment FILE", "", []string{"eval", "--data", data, "--segment", segFile, "--as-of", asOf(), "--format", "count"},
			func(t *testing.T, r result) { require.Equal(t, want, count(t, r)) }},
		{"eval --segment -", string(segJSON), []string{"eval", "--data", data, "--segment", "-", "--as-of", asOf(), "--format", "count"},
			func(t *testing.T, r result) { require.Equal(t, want, count(t, r)) }},
		{"eval --json", "", []string{"eval", "--data", data, "--segment", segFile, "--as-of", asOf(), "--json"},
			func(t *testing.T, r result) {
				require.Equal(t, exitOK, r.code, r.stderr)
				var e evalResult
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &e))
				require.EqualValues(t, want, e.Count)
				require.Len(t, e.Members, want)
			}},
		{"validate --segment -", `{"name": "X", "groups": [{"condition": {"attribute": "Customer.Agee", "operator": "isNull"}}]}`,
			[]string{"validate", "--data", data, "--segment", "-"},
			func(t *testing.T, r result) {
				require.Equal(t, exitFailed, r.code)
				require.Contains(t, r.stdout, `Customer has no attribute "Agee" (did you mean Age?)`)
			}},
		{"segments create --segment", "", []string{"segments", "create", "--data", data, "--segment", vip},
			func(t *testing.T, r result) { require.Equal(t, "created Vips (inactive)\n", r.stdout, r.stderr) }},
		{"segments create --file", "", []string{"segments", "create", "--data", data, "--file", segFile},
			func(t *testing.T, r result) {
				require.Equal(t, "created HighValueEscalated (inactive)\n", r.stdout, r.stderr)
			}},
		{"segments create --segment -", `{"name": "FromStdin", "groups": [{"condition": {"attribute": "Customer.IsVip", "operator": "isFalse"}}]}`,
			[]string{"segments", "create", "--data", data, "--segment", "-"},
			func(t *testing.T, r result) { require.Equal(t, "created FromStdin (inactive)\n", r.stdout, r.stderr) }},
		editCase(t, data, "--segment"),
		editCase(t, data, "--file"),
		{"segments show --definition", "", []string{"segments", "show", "HighValueEscalated", "--definition"},
			func(t *testing.T, r result) {
				require.Equal(t, exitOK, r.code, r.stderr)
				require.Equal(t, strings.TrimRight(string(segJSON), "\n")+"\n", r.stdout)
			}},
		{"segments list with the default --catalog", "", []string{"segments", "list", "--json"},
			func(t *testing.T, r result) {
				require.Equal(t, exitOK, r.code, r.stderr)
				require.FileExists(t, defaultCatalog)
				var l []map[string]any
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &l))
				require.Len(t, l, 3)
			}},
		{"quick estimate --within", "", slices.Concat(allAges, []string{"--within", vip}),
			func(t *testing.T, r result) { require.Equal(t, vips, estimate(t, r)) }},
		{"quick estimate --segment", "", slices.Concat(allAges, []string{"--segment", vip}),
			func(t *testing.T, r result) { require.Equal(t, vips, estimate(t, r)) }},
		{"quick estimate --within -", `{"name": "Vips", "groups": [{"condition": {"attribute": "Customer.IsVip", "operator": "isTrue"}}]}`,
			slices.Concat(allAges, []string{"--within", "-"}),
			func(t *testing.T, r result) { require.Equal(t, vips, estimate(t, r)) }},
		{"quick insights --within", "", []string{"quick", "insights", "--data", data, "--field", "Customer.Country", "--within", vip, "--json"},
			func(t *testing.T, r result) {
				require.Equal(t, exitOK, r.code, r.stderr)
				var ins struct{ Customers int }
				require.NoError(t, json.Unmarshal([]byte(r.stdout), &ins))
				require.Equal(t, vips, ins.Customers)
			}},
		quickActiveCase(data, "--active", "true"),
		quickActiveCase(data, "--activate", "false"),
		{"quick create --catalog FILE", "", []string{"quick", "create", "--data", data, "--field", "Customer.IsVip", "--op", "is", "--value", "true", "--name", "Q", "--catalog", "other.db"},
			func(t *testing.T, r result) {
				require.Equal(t, exitOK, r.code, r.stderr)
				require.Contains(t, r.stdout, "saved segment Q in other.db (inactive)")
			}},
		{"eval --catalog resolves references", "", []string{"eval", "--data", data, "--format", "count", "--segment", writeFile(t, "ref.json",
			`{"name": "R", "groups": [{"condition": {"segment": "Quicktrue"}}]}`)},
			func(t *testing.T, r result) { require.Equal(t, vips, count(t, r)) }},
		{"validate --catalog knows the catalog's segments", "", []string{"validate", "--data", data, "--segment", writeFile(t, "ref2.json",
			`{"name": "R", "groups": [{"condition": {"segment": "Quicktrue"}}]}`)},
			func(t *testing.T, r result) { require.Equal(t, "ok\n", r.stdout, r.stderr) }},
		{"version", "", []string{"version"},
			func(t *testing.T, r result) {
				require.Equal(t, exitOK, r.code, r.stderr)
				require.True(t, strings.HasPrefix(r.stdout, "segmentkit "), r.stdout)
				require.Contains(t, r.stdout, buildVersion().Go)
			}},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.check(t, runStdin(t, c.stdin, c.args...))
		})
	}
}

// editCase is the case of TestSpellings that edits with the definition
// flag spelled flag: the description it writes shows it was read.
func editCase(t *testing.T, data, flag string) spellingCase {
	def := writeFile(t, "edit.json", `{"name": "FromStdin", "description": "edited with `+flag+`", "groups": [{"condition": {"attribute": "Customer.IsVip", "operator": "isFalse"}}]}`)
	return spellingCase{"segments edit " + flag, "", []string{"segments", "edit", "FromStdin", "--data", data, flag, def},
		func(t *testing.T, r result) {
			require.Equal(t, "saved FromStdin (inactive)\n", r.stdout, r.stderr)
			show := runCLI(t, "segments", "show", "FromStdin")
			require.Contains(t, show.stdout, "edited with "+flag)
		}}
}

// quickActiveCase is the case of TestSpellings that saves a quick segment
// active with the flag spelled flag, in the default catalog.
func quickActiveCase(data, flag, value string) spellingCase {
	return spellingCase{"quick create " + flag, "", []string{"quick", "create", "--data", data, "--field", "Customer.IsVip", "--op", "is",
		"--value", value, "--name", "Quick" + value, flag, "--json"},
		func(t *testing.T, r result) {
			require.Equal(t, exitOK, r.code, r.stderr)
			var res struct{ State, Catalog string }
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
			require.Equal(t, "active", res.State)
			require.Equal(t, defaultCatalog, res.Catalog, "%s saves in the default catalog", flag)
		}}
}

// spellingCase is a case of TestSpellings.
type spellingCase struct {
	name  string
	stdin string
	args  []string
	check func(t *testing.T, r result)
}

// TestExitCodes gives every exit code of the table in docs/cli.md a case
// in each kind of command.
func TestExitCodes(t *testing.T) {
	t.Chdir(t.TempDir())
	data := testData.dir
	seg := segmentFile()
	gone := filepath.Join(t.TempDir(), "gone")
	typo := writeFile(t, "typo.json", `{"name": "T", "groups": [{"condition": {"attribute": "Customer.Contry", "operator": "isNull"}}]}`)
	r := runCLI(t, "segments", "create", "--data", data, "--segment", seg, "--catalog", "c.db")
	require.Equal(t, exitOK, r.code, r.stderr)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	for _, c := range []struct {
		name string
		ctx  context.Context
		args []string
		code int
	}{
		{"eval ok", nil, []string{"eval", "--data", data, "--segment", seg, "--format", "count"}, exitOK},
		{"eval missing --data", nil, []string{"eval", "--segment", seg}, exitUsage},
		{"eval --data directory missing", nil, []string{"eval", "--data", gone, "--segment", seg}, exitFailed},
		{"eval definition with problems", nil, []string{"eval", "--data", data, "--segment", typo}, exitFailed},
		{"eval unknown flag", nil, []string{"eval", "--dat", data}, exitUsage},
		{"eval interrupted", cancelled, []string{"eval", "--data", data, "--segment", seg}, exitInterrupted},
		{"validate --data directory missing", nil, []string{"validate", "--data", gone, "--segment", seg}, exitFailed},
		{"validate problems", nil, []string{"validate", "--data", data, "--segment", typo}, exitFailed},
		{"unknown command", nil, []string{"evaluate"}, exitUsage},
		{"no command", nil, nil, exitUsage},
		{"version", nil, []string{"version"}, exitOK},
		{"version with an argument", nil, []string{"version", "x"}, exitUsage},
		{"segments unknown verb", nil, []string{"segments", "lst"}, exitUsage},
		{"segments --data directory missing", nil, []string{"segments", "refresh", "--all", "--catalog", "c.db", "--data", gone}, exitFailed},
		{"segments missing --data", nil, []string{"segments", "refresh", "--all", "--catalog", "c.db"}, exitUsage},
		{"segments unknown segment", nil, []string{"segments", "show", "Nope", "--catalog", "c.db"}, exitFailed},
		{"segments bad --as-of", nil, []string{"segments", "refresh", "--all", "--catalog", "c.db", "--data", data, "--as-of", "soon"}, exitUsage},
		{"segments refresh interrupted", cancelled, []string{"segments", "refresh", "--all", "--catalog", "c.db", "--data", data}, exitInterrupted},
		{"quick --data directory missing", nil, []string{"quick", "fields", "--data", gone}, exitFailed},
		{"quick missing --data", nil, []string{"quick", "fields"}, exitUsage},
		{"quick unknown field", nil, []string{"quick", "insights", "--data", data, "--field", "Customer.Agee"}, exitFailed},
		{"quick interrupted", cancelled, []string{"quick", "fields", "--data", data}, exitInterrupted},
		{"serve-schedule --data directory missing", nil, []string{"serve-schedule", "--catalog", "c.db", "--data", gone}, exitFailed},
		{"serve-schedule missing --data", nil, []string{"serve-schedule", "--catalog", "c.db"}, exitUsage},
		{"serve-schedule interrupted", cancelled, []string{"serve-schedule", "--catalog", "c.db", "--data", data}, exitInterrupted},
		{"demo --out holds other files", nil, []string{"demo", "--customers", "5", "--out", filepath.Dir(typo)}, exitFailed},
		{"demo bad --customers", nil, []string{"demo", "--customers", "0"}, exitUsage},
	} {
		t.Run(c.name, func(t *testing.T) {
			ctx := c.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			r := runCtx(t, ctx, c.args...)
			require.Equal(t, c.code, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
			if c.code != exitOK {
				require.NotEmpty(t, r.stderr)
			}
		})
	}
}

// TestFailedCreateLeavesNoFile: a create that saves nothing leaves no
// catalog file behind; one that saves a draft keeps it.
func TestFailedCreateLeavesNoFile(t *testing.T) {
	data := testData.dir
	dir := t.TempDir()
	for _, c := range []struct {
		name string
		args []string
	}{
		{"no such definition file", []string{"--segment", filepath.Join(dir, "none.json")}},
		{"name does not match", []string{"--segment", segmentFile(), "--name", "Other"}},
		{"as-of without active", []string{"--segment", segmentFile(), "--as-of", "2026-06-30"}},
		{"missing --segment", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			db := filepath.Join(dir, "new.db")
			r := runCLI(t, append([]string{"segments", "create", "--data", data, "--catalog", db}, c.args...)...)
			require.NotEqual(t, exitOK, r.code, r.stdout)
			require.NoFileExists(t, db)
		})
	}
	// A draft without a readable name needs --name, and the message says
	// the flag, not the library's option.
	db := filepath.Join(dir, "noname.db")
	r := runStdin(t, `{"groups": [`, "segments", "create", "--data", data, "--catalog", db, "--segment", "-")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "--name NAME")
	require.NotContains(t, r.stderr, "CreateOptions")
	require.NoFileExists(t, db)
	r = runStdin(t, `{"groups": [`, "segments", "create", "--data", data, "--catalog", db, "--segment", "-", "--name", "Broken")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "created Broken as a draft")

	db = filepath.Join(dir, "draft.db")
	r = runCLI(t, "segments", "create", "--data", data, "--catalog", db, "--segment",
		writeFile(t, "draft.json", `{"name": "D", "groups": [{"condition": {"attribute": "Customer.Contry", "operator": "isNull"}}]}`))
	require.Equal(t, exitOK, r.code, r.stderr)
	require.FileExists(t, db)
}

// TestDemoOutRefusesForeignFiles: demo --out writes into a new or empty
// directory or over a previous demo, and refuses a directory holding
// anything else, writing nothing.
func TestDemoOutRefusesForeignFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "d")
	r := runCLI(t, "demo", "--customers", "30", "--out", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runCLI(t, "demo", "--customers", "40", "--out", dir)
	require.Equal(t, exitOK, r.code, "a previous demo's directory is rewritten: %s", r.stderr)
	require.Contains(t, r.stdout, "40 customers")

	mine := filepath.Join(t.TempDir(), "mine")
	require.NoError(t, os.MkdirAll(filepath.Join(mine, "segments"), 0o755))
	notes := filepath.Join(mine, "segments", "notes.txt")
	require.NoError(t, os.WriteFile(notes, []byte("keep me"), 0o644))
	r = runCLI(t, "demo", "--customers", "30", "--out", mine)
	require.Equal(t, exitFailed, r.code, r.stdout)
	require.Contains(t, r.stderr, "holds files the demo does not write (segments/notes.txt)")
	entries, err := os.ReadDir(mine)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing was written")
	b, err := os.ReadFile(notes)
	require.NoError(t, err)
	require.Equal(t, "keep me", string(b))

	// A symbolic link to the same directory is refused alike.
	link := filepath.Join(t.TempDir(), "link")
	require.NoError(t, os.Symlink(mine, link))
	r = runCLI(t, "demo", "--customers", "30", "--out", link)
	require.Equal(t, exitFailed, r.code, r.stdout)
	require.Contains(t, r.stderr, "holds files the demo does not write (segments/notes.txt)")
	entries, err = os.ReadDir(mine)
	require.NoError(t, err)
	require.Len(t, entries, 1, "nothing was written through the link")
}

// TestDraftProblemsOneLineEach: the problems of a draft that cannot be
// activated are each on their own line, and edit never reports a
// refresh.
func TestDraftProblemsOneLineEach(t *testing.T) {
	data := segData(t, 4)
	db := filepath.Join(t.TempDir(), "cat.db")
	bad := segDef(t, "Bad", `{"and": [{"attribute": "Customer.Agee", "operator": "isNull"}, {"attribute": "Customer.Contry", "operator": "isNull"}]}`)
	r := runSeg(t, "create", "--segment", bad, "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "activate", "Bad", "--catalog", db, "--data", data)
	require.Equal(t, exitFailed, r.code)
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	require.Len(t, lines, 3, r.stderr)
	for _, l := range lines {
		require.True(t, strings.HasPrefix(l, "segmentkit segments activate: "), l)
		require.NotContains(t, l, ";  ")
	}
	require.Contains(t, lines[1], `Customer has no attribute "Agee"`)
	require.Contains(t, lines[2], `Customer has no attribute "Contry"`)

	good := segDef(t, "Bad", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 20}`)
	r = runSeg(t, "edit", "Bad", "--segment", good, "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "activate", "Bad", "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "edit", "Bad", "--segment", good, "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "saved Bad (active)\n", r.stdout, "edit does not refresh, so it reports no refresh")
}

// TestDownloadBeforeRefresh: downloading a segment never refreshed is an
// error that says so; once refreshed, download checks its fields.
func TestDownloadBeforeRefresh(t *testing.T) {
	data := segData(t, 4)
	db := filepath.Join(t.TempDir(), "cat.db")
	def := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 20}`)
	r := runSeg(t, "create", "--segment", def, "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	out := filepath.Join(t.TempDir(), "m.csv")
	r = runSeg(t, "download", "Older", "--catalog", db, "--data", data, "--out", out)
	oneLineError(t, r, exitFailed, `segment "Older" has never been refreshed`, "segmentkit segments refresh Older")
	require.NoFileExists(t, out)

	r = runSeg(t, "activate", "Older", "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "download", "Older", "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "CustomerId,Age,Country\nC02,21,US\nC03,22,DE\nC04,23,US\n", r.stdout)
	r = runSeg(t, "download", "Older", "--fields", "Agee", "--catalog", db, "--data", data)
	oneLineError(t, r, exitFailed, "did you mean Age?")
}

// TestJSONOutputs parses the JSON of every command that prints and checks
// its fields.
func TestJSONOutputs(t *testing.T) {
	data := segData(t, 4)
	db := filepath.Join(t.TempDir(), "cat.db")
	bad := segDef(t, "Bad", `{"attribute": "Customer.Agee", "operator": "isNull"}`)

	decode := func(t *testing.T, r result) map[string]any {
		t.Helper()
		require.Equal(t, exitOK, r.code, r.stderr)
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &m), r.stdout)
		return m
	}
	problem := func(t *testing.T, v any) {
		t.Helper()
		list, ok := v.([]any)
		require.True(t, ok, "problems is a list: %v", v)
		require.Len(t, list, 1)
		p := list[0].(map[string]any)
		require.Equal(t, "groups[0].condition.attribute", p["path"])
		require.Equal(t, `Customer has no attribute "Agee"`, p["message"])
		require.Equal(t, "Age", p["suggestion"])
		require.NotEmpty(t, p["code"])
	}

	r := runCLI(t, "validate", "--data", data, "--segment", bad, "--json")
	require.Equal(t, exitFailed, r.code)
	var v validateJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	require.False(t, v.Valid)
	var raw map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw))
	problem(t, raw["problems"])
	code := raw["problems"].([]any)[0].(map[string]any)["code"]

	ok := decode(t, runCLI(t, "validate", "--data", data, "--segment", segDef(t, "Good", `{"attribute": "Customer.Age", "operator": "isNull"}`), "--json"))
	require.Equal(t, true, ok["valid"])
	require.Equal(t, []any{}, ok["problems"])

	created := decode(t, runSeg(t, "create", "--segment", bad, "--catalog", db, "--data", data, "--json"))
	require.Equal(t, "draft", created["state"])
	problem(t, created["problems"])
	require.Equal(t, code, created["problems"].([]any)[0].(map[string]any)["code"], "validate and create give one code")

	edited := decode(t, runSeg(t, "edit", "Bad", "--segment", bad, "--catalog", db, "--data", data, "--json"))
	problem(t, edited["problems"])
	shown := decode(t, runSeg(t, "show", "Bad", "--catalog", db, "--json"))
	problem(t, shown["problems"])
	def := decode(t, runSeg(t, "show", "Bad", "--catalog", db, "--json", "--definition"))
	require.Equal(t, "Bad", def["name"])

	ver := decode(t, runCLI(t, "version", "--json"))
	for _, f := range []string{"version", "module", "go"} {
		require.NotEmpty(t, ver[f], f)
	}

	dm := decode(t, runCLI(t, "demo", "--customers", "300", "--json"))
	require.EqualValues(t, 300, dm["customers"])
	require.Equal(t, "HighValueEscalated", dm["segment"])
	first := dm["first"].([]any)
	require.LessOrEqual(t, len(first), demoShown)
	if len(first) > 0 {
		m := first[0].(map[string]any)
		require.NotEmpty(t, m["customerId"])
		require.GreaterOrEqual(t, m["spend90d"].(float64), 500.0)
	}
	require.NotEmpty(t, dm["brokenLinks"])
}

// TestCatalogAsOfMatchesEval is the demo's story: the catalog, refreshed
// at the demo's as-of day, finds the members eval finds at it.
func TestCatalogAsOfMatchesEval(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "demo-data")
	r := runCLI(t, "demo", "--out", dir)
	require.Equal(t, exitOK, r.code, r.stderr)
	seg := filepath.Join(dir, demo.SegmentFile)
	at := demo.DefaultAsOf.Format("2006-01-02")
	want := count(t, runCLI(t, "eval", "--data", dir, "--segment", seg, "--as-of", at, "--format", "count"))
	require.Positive(t, want)
	db := filepath.Join(t.TempDir(), "cat.db")

	var created struct{ Members int }
	r = runCLI(t, "segments", "create", "--data", dir, "--segment", seg, "--catalog", db, "--active", "--as-of", at, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &created))
	require.Equal(t, want, created.Members)

	var job struct {
		AsOf  string
		Tasks []struct{ Members int }
	}
	r = runCLI(t, "segments", "refresh", "HighValueEscalated", "--data", dir, "--catalog", db, "--as-of", at, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &job))
	require.Equal(t, demo.DefaultAsOf.Format("2006-01-02T15:04:05Z07:00"), job.AsOf)
	require.Equal(t, want, job.Tasks[0].Members)
	// History shows the instant each refresh evaluated at.
	r = runCLI(t, "segments", "history", "HighValueEscalated", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3, r.stdout)
	require.Contains(t, lines[0], "AS OF")
	for _, l := range lines[1:] {
		require.Equal(t, job.AsOf, strings.Fields(l)[1], r.stdout)
	}

	// Quick create saves at its --as-of too, so the catalog holds what the
	// estimate counted.
	var q struct{ Members int }
	r = runCLI(t, "quick", "create", "--data", dir, "--field", "Measures.Spend90d", "--op", "greaterThan", "--value", "1000",
		"--name", "Big", "--catalog", db, "--active", "--as-of", at, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &q))
	require.Positive(t, q.Members)
	var big struct{ Members int }
	r = runCLI(t, "segments", "show", "Big", "--catalog", db, "--json")
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &big))
	require.Equal(t, q.Members, big.Members)
}

// TestQuickChecksBeforeLoading: quick reports a wrong field, operator or
// value from schema.json alone: with data files that do not load, the
// mistake is still what it reports.
func TestQuickChecksBeforeLoading(t *testing.T) {
	data := segData(t, 3)
	require.NoError(t, os.WriteFile(filepath.Join(data, "Customer.csv"), []byte("CustomerId,Age,Country\nC01,old,US\n"), 0o644))
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown field", []string{"--field", "Customer.Agee", "--op", "greaterThan", "--value", "1"}, `unknown field "Customer.Agee" (did you mean Customer.Age?)`},
		{"operator", []string{"--field", "Customer.Country", "--op", "greaterThan", "--value", "1"}, "greaterThan does not apply to Customer.Country, a categorical field"},
		{"value", []string{"--field", "Order.Amount", "--op", "is", "--value", "x"}, `unknown field "Order.Amount"`},
		{"value type", []string{"--field", "Customer.Age", "--op", "greaterThan", "--value", "old"}, `"old" is not a number`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runQ(t, append([]string{"estimate", "--data", data}, c.args...)...)
			require.Equal(t, exitFailed, r.code)
			require.Contains(t, r.stderr, c.want)
			require.NotContains(t, r.stderr, "Customer.csv")
		})
	}
	// The data itself does not load: a right query reaches it.
	r := runQ(t, "estimate", "--data", data, "--field", "Customer.Age", "--op", "greaterThan", "--value", "1")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "Customer.csv")
}

// TestBrokenMeasuresFailLoading checks that a data directory whose
// schema.json holds a broken measure is refused by every verb that loads
// data, with the problem's path and a suggestion, as a broken schema is:
// the loader itself accepts it (measures are checked where definitions are).
func TestBrokenMeasuresFailLoading(t *testing.T) {
	data := segData(t, 3)
	broken := strings.Replace(segTestSchema, `"relationships"`, `"measures": [{"name": "Spend", "related": "Order",
    "aggregate": {"function": "sun", "attribute": "Order.Amount"}}],
  "relationships"`, 1)
	require.NoError(t, os.WriteFile(filepath.Join(data, "schema.json"), []byte(broken), 0o644))
	seg := filepath.Join(t.TempDir(), "seg.json")
	require.NoError(t, os.WriteFile(seg, []byte(`{"name": "Adults", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": 18}}]}`), 0o644))
	for _, args := range [][]string{
		{"quick", "fields", "--data", data},
		{"quick", "estimate", "--data", data, "--field", "Customer.Age", "--op", "greaterThan", "--value", "1"},
		{"eval", "--data", data, "--segment", seg},
	} {
		t.Run(args[0]+" "+args[1], func(t *testing.T) {
			r := runCLI(t, args...)
			require.Equal(t, exitFailed, r.code, r.stderr)
			require.Contains(t, r.stderr, `measures[0].aggregate.function: unknown function "sun" (did you mean sum?)`)
		})
	}
}

// TestAsOfMistakes: --as-of given empty is a command-line mistake (it
// once meant now, silently), on every command that takes it; an instant
// the datetime rules refuse (a leap second, an offset of 24 hours, a year
// past 9999 in UTC) is one too, with the reason, as in a data file.
func TestAsOfMistakes(t *testing.T) {
	data := testData.dir
	seg := segmentFile()
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"eval", "--data", data, "--segment", seg, "--as-of", ""}, "as-of: it is empty"},
		{[]string{"eval", "--data", data, "--segment", seg, "--as-of="}, "as-of: it is empty"},
		{[]string{"sql", "--data", data, "--segment", seg, "--dialect", "sqlite", "--as-of", " "}, "as-of: it is empty"},
		{[]string{"quick", "fields", "--data", data, "--as-of", ""}, "as-of: it is empty"},
		{[]string{"segments", "refresh", "--all", "--catalog", filepath.Join(t.TempDir(), "c.db"), "--data", data, "--as-of", ""}, "as-of: it is empty"},
		{[]string{"eval", "--data", data, "--segment", seg, "--as-of", "2016-12-31T23:59:60Z"}, `--as-of "2016-12-31T23:59:60Z" is a leap second`},
		{[]string{"eval", "--data", data, "--segment", seg, "--as-of", "2026-01-01T00:00:00+24:00"}, "an offset runs from -23:59 to +23:59"},
		{[]string{"eval", "--data", data, "--segment", seg, "--as-of", "9999-12-31T23:30:00-01:00"}, "outside years 0000 to 9999 in UTC"},
	} {
		r := runCLI(t, c.args...)
		require.Equal(t, exitUsage, r.code, "%v: stdout %q stderr %q", c.args, r.stdout, r.stderr)
		require.Contains(t, r.stderr, c.want, c.args)
	}
}
