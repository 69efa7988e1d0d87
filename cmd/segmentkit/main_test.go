package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/internal/sqlsyntax"
)

// testData is a small demo directory shared by the tests; they only read
// it.
var testData struct {
	dir string
	sum *demo.Summary
}

const testCustomers = 1500

func TestMain(m *testing.M) {
	// The tests choose the server a verb goes to, if any.
	os.Unsetenv(envServer)
	os.Unsetenv(envToken)
	dir, err := os.MkdirTemp("", "segmentkit-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sum, err := demo.Write(context.Background(), dir, demo.Options{Customers: testCustomers, Seed: 11})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testData.dir, testData.sum = dir, sum
	code := m.Run()
	os.RemoveAll(dir)
	if err := sqlsyntax.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "sqlsyntax: Close:", err)
		code = 1
	}
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func runCLI(t *testing.T, args ...string) result {
	t.Helper()
	return runCtx(t, context.Background(), args...)
}

func runCtx(t *testing.T, ctx context.Context, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(ctx, args, &stdout, &stderr)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	require.NotContains(t, r.stderr, "goroutine ", "a stack trace reached stderr")
	require.NotContains(t, r.stderr, "panic", "a panic reached stderr")
	return r
}

// writeFile writes content to a new file in a test directory.
func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(path, []byte(content), 0o644))
	return path
}

func segmentFile() string { return filepath.Join(testData.dir, demo.SegmentFile) }

func asOf() string { return testData.sum.AsOf.Format(time.DateOnly) }

func TestHelp(t *testing.T) {
	for _, args := range [][]string{{"help"}, {"-h"}, {"--help"}} {
		r := runCLI(t, args...)
		require.Equal(t, exitOK, r.code, args)
		for _, verb := range []string{"eval", "validate", "demo", "help"} {
			require.Contains(t, r.stdout, "  "+verb+" ", args)
		}
		require.Empty(t, r.stderr)
	}

	r := runCLI(t)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "Usage:")

	for _, args := range [][]string{{"help", "eval"}, {"eval", "-h"}, {"eval", "--help"}, {"eval", "--data", "x", "-help"}} {
		r := runCLI(t, args...)
		require.Equal(t, exitOK, r.code, args)
		for _, f := range []string{"--data DIR", "--segment FILE", "--as-of DATE", "--format FORMAT", "(default ids)"} {
			require.Contains(t, r.stdout, f, args)
		}
	}
	r = runCLI(t, "help", "demo")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "--customers N")
	require.Contains(t, r.stdout, "(default 20000)")

	r = runCLI(t, "help", "evl")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, `unknown command "evl" (did you mean eval?)`)

	r = runCLI(t, "help", "eval", "demo")
	require.Equal(t, exitUsage, r.code)
}

func TestUnknownCommand(t *testing.T) {
	for _, c := range []struct{ verb, want string }{
		{"evl", `segmentkit: unknown command "evl" (did you mean eval?)`},
		{"valdate", `segmentkit: unknown command "valdate" (did you mean validate?)`},
		{"Demo", `segmentkit: unknown command "Demo" (did you mean demo?)`},
		{"frobnicate", `segmentkit: unknown command "frobnicate"; commands are eval, validate, inspect, explain, sql, demo,`},
		{"--data", `segmentkit: unknown command "--data"`},
	} {
		t.Run(c.verb, func(t *testing.T) {
			r := runCLI(t, c.verb)
			require.Equal(t, exitUsage, r.code)
			require.Contains(t, r.stderr, c.want)
			require.Contains(t, r.stderr, "Run 'segmentkit help' for usage.")
			require.Empty(t, r.stdout)
		})
	}
}

// TestUsageErrors covers every command-line mistake: each exits 2 with one
// message naming the flag.
func TestUsageErrors(t *testing.T) {
	seg := segmentFile()
	data := testData.dir
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"eval", "--dta", data}, "segmentkit eval: unknown flag --dta (did you mean --data?)"},
		{"unknown flag with value", []string{"eval", "--data", data, "--fromat=csv"}, "unknown flag --fromat (did you mean --format?)"},
		{"unknown flag far", []string{"validate", "--verbose"}, "unknown flag --verbose; flags are --catalog, --data, --json, --segment"},
		{"single dash unknown", []string{"demo", "-custmers", "5"}, "unknown flag --custmers (did you mean --customers?)"},
		{"missing data", []string{"eval", "--segment", seg}, "segmentkit eval: missing --data DIR"},
		{"missing segment", []string{"eval", "--data", data}, "segmentkit eval: missing --segment FILE"},
		{"bad as-of", []string{"eval", "--data", data, "--segment", seg, "--as-of", "30/06/2026"}, `--as-of "30/06/2026": want a date (2026-06-30) or an RFC 3339 instant`},
		{"bad as-of day", []string{"eval", "--data", data, "--segment", seg, "--as-of", "2026-02-30"}, `--as-of "2026-02-30"`},
		{"bad format", []string{"eval", "--data", data, "--segment", seg, "--format", "jsn"}, `--format "jsn" is not one of ids, count, csv, json (did you mean json?)`},
		{"bad format far", []string{"eval", "--data", data, "--segment", seg, "--format", "xml"}, `--format "xml" is not one of ids, count, csv, json` + "\n"},
		{"flag without value", []string{"eval", "--data"}, "flag needs an argument: -data"},
		{"extra argument", []string{"eval", "--data", data, "--segment", seg, "extra"}, `unexpected argument "extra"`},
		{"definition without its flag", []string{"eval", "--data", data, "my-segment.json"}, `unexpected argument "my-segment.json"; eval takes only flags (did you mean --segment my-segment.json?)`},
		{"validate missing data", []string{"validate", "--segment", seg}, "segmentkit validate: missing --data DIR"},
		{"validate missing segment", []string{"validate", "--data", data}, "segmentkit validate: missing --segment FILE"},
		{"customers zero", []string{"demo", "--customers", "0"}, "segmentkit demo: --customers must be between 1 and 10,000,000, not 0"},
		{"customers negative", []string{"demo", "--customers=-3"}, "--customers must be between 1 and 10,000,000, not -3"},
		{"customers too many", []string{"demo", "--customers", "20000000"}, "not 20000000"},
		{"customers not a number", []string{"demo", "--customers", "many"}, `invalid value "many" for flag -customers`},
		{"seed not a number", []string{"demo", "--seed", "-1"}, `invalid value "-1" for flag -seed`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.args...)
			require.Equal(t, exitUsage, r.code, r.stderr)
			require.Contains(t, r.stderr, c.want)
			require.Contains(t, r.stderr, "Run 'segmentkit help "+c.args[0]+"' for usage.")
			require.Empty(t, r.stdout)
		})
	}
}

// TestInputErrors covers files that cannot be read or do not hold what
// they should: exit 1, every problem on its own line with where it is.
func TestInputErrors(t *testing.T) {
	data := testData.dir
	missing := filepath.Join(t.TempDir(), "missing.json")
	syntax := writeFile(t, "syntax.json", "{\"name\": \"X\",\n \"groups\": [\n")
	typo := writeFile(t, "typo.json", `{"name": "Typo", "groups": [
		{"condition": {"attribute": "Customer.Contry", "operator": "equals", "value": "US"}},
		{"setOperator": "union", "condition": {"attribute": "Order.Amount", "operator": "greaterThan", "value": "5"}}]}`)
	for _, c := range []struct {
		name string
		args []string
		want []string
	}{
		{"segment missing", []string{"eval", "--data", data, "--segment", missing},
			[]string{"segmentkit eval: --segment " + missing + ": no such file"}},
		{"segment syntax", []string{"eval", "--data", data, "--segment", syntax},
			[]string{"segmentkit eval: " + syntax + ": "}},
		{"segment typo", []string{"eval", "--data", data, "--segment", typo}, []string{
			"segmentkit eval: " + typo + ": groups[0].condition.attribute: ",
			"(did you mean ",
			"segmentkit eval: " + typo + ": groups[1].condition.value: ",
		}},
		{"data missing", []string{"eval", "--data", filepath.Join(data, "nope"), "--segment", segmentFile()},
			[]string{"--data " + filepath.Join(data, "nope") + ": no such directory"}},
		{"data is a file", []string{"eval", "--data", segmentFile(), "--segment", segmentFile()},
			[]string{"--data " + segmentFile() + ": not a directory"}},
		{"out is a file", []string{"demo", "--customers", "5", "--out", segmentFile()},
			[]string{"--out " + segmentFile() + ": not a directory"}},
		{"validate segment missing", []string{"validate", "--data", data, "--segment", missing},
			[]string{"segmentkit validate: --segment " + missing + ": no such file"}},
		{"no schema", []string{"validate", "--data", t.TempDir(), "--segment", segmentFile()},
			[]string{"schema.json: no such file"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runCLI(t, c.args...)
			require.Equal(t, exitFailed, r.code, r.stderr)
			for _, w := range c.want {
				require.Contains(t, r.stderr, w)
			}
			require.Empty(t, r.stdout)
			for _, line := range strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n") {
				require.True(t, strings.HasPrefix(line, "segmentkit "+c.args[0]+": "), "line %q", line)
			}
		})
	}
}

// TestBadData copies the demo directory with one bad value and checks that
// eval names the file, line and column.
func TestBadData(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{demo.SchemaFile, demo.CustomerFile, demo.OrderFile, demo.OrderLineFile, demo.SupportCaseFile, demo.ChurnScoreFile} {
		b, err := os.ReadFile(filepath.Join(testData.dir, f))
		require.NoError(t, err)
		if f == demo.OrderFile {
			lines := strings.SplitN(string(b), "\n", 5)
			fields := strings.Split(lines[3], ",")
			fields[2] = "12,5x" // Amount on line 4 no longer parses
			lines[3] = strings.Join(fields[:2], ",") + `,"12,5x",` + strings.Join(fields[3:], ",")
			b = []byte(strings.Join(lines, "\n"))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, f), b, 0o644))
	}
	r := runCLI(t, "eval", "--data", dir, "--segment", segmentFile())
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "Order.csv:4")
	require.Contains(t, r.stderr, "Amount")
	require.Empty(t, r.stdout)
}

func TestEvalFormats(t *testing.T) {
	want := testData.sum.ExpectedMembers
	require.Positive(t, want)
	base := []string{"eval", "--data", testData.dir, "--segment", segmentFile(), "--as-of", asOf()}

	r := runCLI(t, append(base, "--format", "count")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, strconv.Itoa(want)+"\n", r.stdout)
	require.Empty(t, r.stderr)

	r = runCLI(t, base...) // ids is the default
	require.Equal(t, exitOK, r.code, r.stderr)
	ids := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, ids, want)
	require.IsIncreasing(t, ids, "ids come in customer id order, which is file order here")
	for _, id := range ids {
		require.Regexp(t, `^C\d{7}$`, id)
	}
	r2 := runCLI(t, append(base, "--format=ids")...)
	require.Equal(t, r.stdout, r2.stdout)

	r = runCLI(t, append(base, "--format", "csv")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	rows, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"CustomerId", "FirstName", "Country", "Age", "SignupDate", "Email", "IsVip", "LastSeen"}, rows[0])
	require.Len(t, rows, want+1)
	customers := readCustomers(t)
	for i, row := range rows[1:] {
		require.Equal(t, ids[i], row[0])
		require.Equal(t, customers[row[0]], row, "csv values are the file's values")
		require.NotContains(t, []string{"BR", "JP"}, row[2])
	}

	r = runCLI(t, append(base, "--format", "json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var res struct {
		Segment string   `json:"segment"`
		AsOf    string   `json:"asOf"`
		Count   int      `json:"count"`
		Members []string `json:"members"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	require.Equal(t, "HighValueEscalated", res.Segment)
	require.Equal(t, asOf()+"T00:00:00Z", res.AsOf)
	require.Equal(t, want, res.Count)
	require.Equal(t, ids, res.Members)
}

// readCustomers returns Customer.csv's rows by key.
func readCustomers(t *testing.T) map[string][]string {
	f, err := os.Open(filepath.Join(testData.dir, demo.CustomerFile))
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	out := map[string][]string{}
	for _, r := range rows[1:] {
		out[r[0]] = r
	}
	return out
}

func TestEvalAsOf(t *testing.T) {
	base := []string{"eval", "--data", testData.dir, "--segment", segmentFile(), "--format", "count"}
	count := func(args ...string) string {
		r := runCLI(t, append(base, args...)...)
		require.Equal(t, exitOK, r.code, r.stderr)
		return r.stdout
	}
	// A day is its start, 00:00 UTC, whatever the zone of an equal instant.
	day := count("--as-of", asOf())
	require.Equal(t, day, count("--as-of", asOf()+"T00:00:00Z"))
	require.Equal(t, day, count("--as-of", asOf()+"T02:00:00+02:00"))
	// Ten years on, nobody has ordered in the last 90 days.
	require.Equal(t, "0\n", count("--as-of", "2036-06-30"))
	// The default is now: it runs, whatever the count.
	r := runCLI(t, base...)
	require.Equal(t, exitOK, r.code, r.stderr)

	json := runCLI(t, "eval", "--data", testData.dir, "--segment", segmentFile(), "--format", "json", "--as-of", "2026-06-29T10:30:00.5+02:00")
	require.Contains(t, json.stdout, `"asOf":"2026-06-29T08:30:00.5Z"`)
}

func TestEvalEmptyJSON(t *testing.T) {
	seg := writeFile(t, "none.json", `{"name": "Nobody", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": 1000}}]}`)
	r := runCLI(t, "eval", "--data", testData.dir, "--segment", seg, "--format", "json", "--as-of", asOf())
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, `{"segment":"Nobody","asOf":"`+asOf()+`T00:00:00Z","count":0,"members":[]}`+"\n", r.stdout)

	r = runCLI(t, "eval", "--data", testData.dir, "--segment", seg, "--format", "csv", "--as-of", asOf())
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "CustomerId,FirstName,Country,Age,SignupDate,Email,IsVip,LastSeen\n", r.stdout)
}

func TestValidate(t *testing.T) {
	r := runCLI(t, "validate", "--data", testData.dir, "--segment", segmentFile())
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "ok\n", r.stdout)
	require.Empty(t, r.stderr)

	bad := writeFile(t, "bad.json", `{"name": "Bad", "groups": [
		{"condition": {"and": [
			{"attribute": "Customer.Agee", "operator": "greaterThan", "value": 30},
			{"attribute": "Customer.Age", "operator": "between", "value": [40, 20]},
			{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Channel"}, "operator": "greaterThan", "value": 1}
		]}},
		{"setOperator": "union", "condition": {"attribute": "Customer.IsVip", "operator": "greaterThan", "value": 1}}]}`)
	r = runCLI(t, "validate", "--data", testData.dir, "--segment", bad)
	require.Equal(t, exitFailed, r.code)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.GreaterOrEqual(t, len(lines), 4, r.stdout)
	require.Contains(t, r.stdout, "groups[0].condition.and[0].attribute: ")
	require.Regexp(t, `\(did you mean (Customer\.)?Age\?\)`, r.stdout)
	require.Contains(t, r.stdout, "groups[0].condition.and[1].value: ")
	require.Contains(t, r.stdout, "groups[0].condition.and[2].aggregate")
	require.Contains(t, r.stdout, "groups[1].condition.operator: ")
	for _, l := range lines {
		require.Regexp(t, `^groups\[\d\]\S*: \S`, l)
	}
	require.Equal(t, fmt.Sprintf("segmentkit validate: %s: %d problems\n", bad, len(lines)), r.stderr)

	syntax := writeFile(t, "syntax.json", `{"name": "X", "groups": [}`)
	r = runCLI(t, "validate", "--data", testData.dir, "--segment", syntax)
	require.Equal(t, exitFailed, r.code)
	require.NotEmpty(t, r.stdout)
	require.Contains(t, r.stderr, "1 problem\n")

	op := writeFile(t, "op.json", `{"name": "X", "groups": [{"condition": {"attribute": "Customer.IsVip", "operator": "isTru"}}]}`)
	r = runCLI(t, "validate", "--data", testData.dir, "--segment", op)
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stdout, "groups[0].condition.operator: ")
	require.Contains(t, r.stdout, "(did you mean isTrue?)\n")
}

func TestValidateBadSchema(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(`{"customerEntity": "Customer", "entities": [
		{"name": "Customer", "key": "Id", "attributes": [{"name": "Id", "type": "strng"}]}]}`), 0o644))
	for _, verb := range []string{"validate", "eval"} {
		r := runCLI(t, verb, "--data", dir, "--segment", segmentFile())
		require.Equal(t, exitFailed, r.code)
		require.Contains(t, r.stderr, "segmentkit "+verb+": "+filepath.Join(dir, "schema.json")+": entities[0].attributes[0].type: ")
		require.Contains(t, r.stderr, "(did you mean string?)")
		require.Empty(t, r.stdout)
	}
}

func TestDemo(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	r := runCLI(t, "demo", "--customers", "800", "--seed", "3", "--out", out)
	require.Equal(t, exitOK, r.code, r.stderr)
	sum, err := demo.Write(context.Background(), t.TempDir(), demo.Options{Customers: 800, Seed: 3})
	require.NoError(t, err)
	require.Contains(t, r.stdout, "Demo data (seed 3): 800 customers, 8,000 orders")
	require.Contains(t, r.stdout, fmt.Sprintf("as of 2026-06-30: %d members of 800 customers", sum.ExpectedMembers))
	require.Contains(t, r.stdout, "broken links: OrderCustomer ")
	require.Contains(t, r.stdout, "SupportCaseCustomer ")
	require.Contains(t, r.stdout, "loaded in ")
	require.Contains(t, r.stdout, "evaluated in ")
	require.Contains(t, r.stdout, "CustomerId  Country    Spend90d")
	require.NotContains(t, r.stdout, "  ?") // every shown member has a spend
	require.FileExists(t, filepath.Join(out, "schema.json"))

	// The printed command reproduces the count.
	i := strings.Index(r.stdout, "segmentkit eval ")
	require.Positive(t, i, r.stdout)
	line := strings.TrimSpace(strings.SplitN(r.stdout[i:], "\n", 2)[0])
	again := runCLI(t, strings.Fields(line)[1:]...)
	require.Equal(t, exitOK, again.code, again.stderr)
	require.Equal(t, strconv.Itoa(sum.ExpectedMembers)+"\n", again.stdout)

	// The first members shown are the first ids eval prints, with a spend
	// of at least 500.
	ids := runCLI(t, "eval", "--data", out, "--segment", filepath.Join(out, demo.SegmentFile), "--as-of", "2026-06-30")
	first := strings.Fields(ids.stdout)[:min(5, sum.ExpectedMembers)]
	table := r.stdout[strings.Index(r.stdout, "First "):]
	for _, id := range first {
		require.Contains(t, table, id)
	}
	for _, l := range strings.Split(table, "\n")[2 : 2+len(first)] {
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		require.NoError(t, err, l)
		require.GreaterOrEqual(t, v, 500.0, l)
	}
}

// TestDemoParquet: demo --format parquet writes a directory of Parquet
// files that the command itself loads and evaluates, with the members of
// the CSV demo of the same flags; a directory written in one format takes
// the other over it.
func TestDemoParquet(t *testing.T) {
	out := filepath.Join(t.TempDir(), "demo")
	csv := runCLI(t, "demo", "--customers", "600", "--seed", "4", "--out", out, "--json")
	require.Equal(t, exitOK, csv.code, csv.stderr)
	r := runCLI(t, "demo", "--customers", "600", "--seed", "4", "--out", out, "--format", "parquet", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var a, b struct {
		Format  string
		Members uint64
		Orders  int
	}
	require.NoError(t, json.Unmarshal([]byte(csv.stdout), &a))
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &b))
	require.Equal(t, "csv", a.Format)
	require.Equal(t, "parquet", b.Format)
	require.Equal(t, a.Members, b.Members)
	require.Equal(t, 6000, b.Orders)
	require.FileExists(t, filepath.Join(out, "Order", "Order.parquet"))
	require.NoFileExists(t, filepath.Join(out, demo.OrderFile))

	count := runCLI(t, "eval", "--data", out, "--segment", filepath.Join(out, demo.SegmentFile), "--as-of", "2026-06-30", "--format", "count")
	require.Equal(t, exitOK, count.code, count.stderr)
	require.Equal(t, strconv.FormatUint(b.Members, 10)+"\n", count.stdout)

	text := runCLI(t, "demo", "--customers", "50", "--out", out, "--format", "parquet")
	require.Equal(t, exitOK, text.code, text.stderr)
	require.Contains(t, text.stdout, "written to "+out+" as Parquet: ")

	for _, bad := range []string{"xml", "", "Parquet"} {
		r := runCLI(t, "demo", "--customers", "5", "--format", bad)
		require.Equal(t, exitUsage, r.code, bad)
		require.Contains(t, r.stderr, fmt.Sprintf("--format must be csv or parquet, not %q", bad))
	}
}

func TestDemoTemporary(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	r := runCLI(t, "demo", "--customers", "50")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "written to a temporary directory")
	require.NotContains(t, r.stdout, "segmentkit eval")
	left, err := os.ReadDir(tmp)
	require.NoError(t, err)
	require.Empty(t, left, "the temporary directory is removed")
}

func TestDemoDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the default demo")
	}
	start := time.Now()
	r := runCLI(t, "demo")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "Demo data (seed 0): 20,000 customers")
	t.Logf("default demo took %s", time.Since(start))
}

func TestInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, args := range [][]string{
		{"demo", "--customers", "100"},
		{"eval", "--data", testData.dir, "--segment", segmentFile()},
	} {
		r := runCtx(t, ctx, args...)
		require.Equal(t, exitInterrupted, r.code, r.stderr)
		require.Equal(t, "segmentkit "+args[0]+": interrupted\n", r.stderr)
	}
}

// panicWriter panics on every write, standing in for a bug below run.
type panicWriter struct{}

func (panicWriter) Write([]byte) (int, error) { panic("boom") }

func TestInternalError(t *testing.T) {
	var stderr bytes.Buffer
	code := run(context.Background(), []string{"help"}, panicWriter{}, &stderr)
	require.Equal(t, exitInternal, code)
	require.Equal(t, "segmentkit: internal error: boom\n"+
		"segmentkit: this is a bug; please report it with the command line that caused it\n", stderr.String())

	stderr.Reset()
	code = run(context.Background(), []string{"eval", "--data", testData.dir, "--segment", segmentFile(), "--format", "count"}, panicWriter{}, &stderr)
	require.Equal(t, exitInternal, code)
	require.Contains(t, stderr.String(), "internal error: boom")
}

func TestParseAsOf(t *testing.T) {
	now := func() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600)) }
	for _, c := range []struct {
		in   string
		want time.Time
	}{
		{"", time.Date(2026, 1, 2, 2, 4, 5, 0, time.UTC)},
		{"2026-06-30", time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)},
		{"2026-06-30T12:00:00Z", time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)},
		{"2026-06-30T12:00:00-05:00", time.Date(2026, 6, 30, 17, 0, 0, 0, time.UTC)},
		{"2026-06-30T12:00:00.123456789Z", time.Date(2026, 6, 30, 12, 0, 0, 123456789, time.UTC)},
	} {
		got, err := parseAsOf(c.in, now)
		require.NoError(t, err, c.in)
		require.Equal(t, c.want, got, c.in)
		require.Equal(t, time.UTC, got.Location())
	}
	for _, in := range []string{"now", "2026-6-30", "2026-06-30 12:00", "2026-06-30T12:00:00", "1719705600"} {
		_, err := parseAsOf(in, now)
		require.Error(t, err, in)
	}
}

func TestCheckFlags(t *testing.T) {
	r := runCLI(t, "eval", "--format", "--data") // "--data" is --format's value here
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "missing --data DIR")

	r = runCLI(t, "eval", "--data", testData.dir, "--segment", segmentFile(), "--", "--bogus")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, `unexpected argument "--bogus"`)
}

func TestProgress(t *testing.T) {
	var buf bytes.Buffer
	require.False(t, isTerminal(&buf))
	p := newLoadProgress(&buf)
	require.False(t, p.enabled, "a buffer is not a terminal")
	p.report("Order", 10, 100, 1000)
	p.done()
	require.Empty(t, buf.String())

	// On a terminal, nothing shows before the delay.
	clock := time.Unix(0, 0)
	p = &loadProgress{w: &buf, enabled: true, delay: time.Second, now: func() time.Time { return clock }}
	p.begin()
	p.report("Customer", 10, 1<<20, 4<<20)
	require.Empty(t, buf.String())
	// Two seconds in, with 2 MiB of Customer and then 2 MiB of Order read:
	// the rate is what was read over the time since the load began, and
	// the time shown is that time.
	clock = clock.Add(2 * time.Second)
	p.report("Customer", 50, 2<<20, 2<<20)
	require.Contains(t, buf.String(), "loading Customer [")
	require.Contains(t, buf.String(), "100% 2.0 MiB of 2.0 MiB, 1.0 MiB/s, 2s elapsed")
	clock = clock.Add(2 * time.Second)
	p.report("Order", 5, 2<<20, 8<<20)
	require.Contains(t, buf.String(), "loading Order [")
	require.Contains(t, buf.String(), " 25% 2.0 MiB of 8.0 MiB, 1.0 MiB/s, 4s elapsed")
	clock = clock.Add(time.Second)
	p.report("OrderLine", 1234, 0, 0)
	require.Contains(t, buf.String(), "loading OrderLine 1,234 rows, 819.2 KiB/s, 5s elapsed")
	// Entities load side by side: a report of one already seen counts
	// its bytes once.
	clock = clock.Add(3 * time.Second)
	p.report("Order", 6, 4<<20, 8<<20)
	require.Contains(t, buf.String(), " 50% 4.0 MiB of 8.0 MiB, 768.0 KiB/s, 8s elapsed")
	p.done()
	require.True(t, strings.HasSuffix(buf.String(), "\r"), "the bar is cleared")
	require.Zero(t, p.drawn)
}

func TestFormatCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 1000: "1,000", 1234567: "1,234,567", -1234: "-1,234"} {
		require.Equal(t, want, exact.FormatCount(n))
	}
}

func TestGroupsDispatch(t *testing.T) {
	for _, g := range []string{"segments", "quick", "serve-schedule"} {
		r := runCLI(t, "help", g)
		require.Equal(t, exitOK, r.code, r.stderr)
		require.Contains(t, r.stdout+r.stderr, "segmentkit "+g)
		r = runCLI(t, g, "--no-such-flag")
		require.NotEqual(t, exitOK, r.code)
	}
	r := runCLI(t, "segmnts")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "did you mean segments?")
}
