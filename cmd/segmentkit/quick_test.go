package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/internal/exact"
)

// The JSON outputs, as a script reads them.
type (
	insightsOut struct {
		Customers   int               `json:"customers"`
		Nulls       int               `json:"nulls"`
		Percentiles []json.RawMessage `json:"percentiles"`
	}
	estimateOut struct {
		Value     json.RawMessage `json:"value"`
		Members   int             `json:"members"`
		Customers int             `json:"customers"`
	}
	createOut struct {
		State   string `json:"state"`
		Members int    `json:"members"`
	}
)

// runQ runs "segmentkit quick" with args.
func runQ(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"quick"}, args...), &stdout, &stderr)
	r := result{code: code, stdout: stdout.String(), stderr: stderr.String()}
	require.NotContains(t, r.stderr, "goroutine ", "a stack trace reached stderr")
	require.NotContains(t, r.stderr, "panic", "a panic reached stderr")
	require.NotContains(t, r.stderr, "internal error")
	return r
}

// quickBase returns the flags every test gives: the demo data at its
// as-of day.
func quickBase(verb string, args ...string) []string {
	return append([]string{verb, "--data", testData.dir, "--as-of", asOf()}, args...)
}

func TestQuickFields(t *testing.T) {
	r := runQ(t, quickBase("fields")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Empty(t, r.stderr)
	for _, want := range []string{"FIELD", "Customer.Age", "Customer.Country", "Measures.Spend90d", "ChurnScore.Score"} {
		require.Contains(t, r.stdout, want)
	}
	require.NotContains(t, r.stdout, "Customer.CustomerId", "keys are not fields")

	r = runQ(t, quickBase("fields", "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var fields []struct {
		Name        string `json:"name"`
		Origin      string `json:"source"`
		Type        string `json:"type"`
		Scale       string `json:"kind"`
		DisplayName string `json:"displayName,omitempty"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &fields))
	bySource := map[string][]string{}
	kinds := map[string]string{}
	for _, f := range fields {
		bySource[f.Origin] = append(bySource[f.Origin], f.Name)
		kinds[f.Name] = f.Scale
	}
	require.Equal(t, []string{"Customer.FirstName", "Customer.Country", "Customer.Age", "Customer.SignupDate",
		"Customer.Email", "Customer.IsVip", "Customer.LastSeen"}, bySource["profiles"])
	require.Equal(t, []string{"Measures.Spend90d", "Measures.OrderCount", "Measures.LastOrderDate",
		"Measures.LastChannel", "Measures.EscalatedCases"}, bySource["measures"])
	require.Equal(t, []string{"ChurnScore.Score"}, bySource["intelligence"])
	require.Equal(t, "numerical", kinds["Customer.Age"])
	require.Equal(t, "categorical", kinds["Customer.Country"])
	require.Equal(t, "numerical", kinds["Measures.LastOrderDate"], "dates are numerical")

	r = runQ(t, quickBase("fields", "--source", "Intelligence", "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, `[{"name":"ChurnScore.Score","source":"intelligence","type":"number","kind":"numerical"}]`+"\n", r.stdout)
}

func TestQuickInsights(t *testing.T) {
	r := runQ(t, quickBase("insights", "--field", "Customer.Country", "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var ins insightsOut
	var raw struct {
		Top []struct {
			Value     any `json:"value"`
			Customers int `json:"customers"`
		} `json:"top"`
		Other int `json:"other"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ins))
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &raw))
	require.Equal(t, testCustomers, ins.Customers)
	require.NotEmpty(t, raw.Top)
	sum := raw.Other + ins.Nulls
	for i, vc := range raw.Top {
		sum += vc.Customers
		if i > 0 {
			require.LessOrEqual(t, vc.Customers, raw.Top[i-1].Customers)
		}
	}
	require.Equal(t, testCustomers, sum, "top + other + nulls = customers")
	require.Empty(t, ins.Percentiles)

	r = runQ(t, quickBase("insights", "--field", "Customer.Country")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "Customer.Country (string, categorical): 1,500 customers")
	require.Contains(t, r.stdout, "VALUE")

	r = runQ(t, quickBase("insights", "--source", "measures", "--field", "Spend90d", "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var num struct {
		Name        string            `json:"name"`
		Percentiles []json.RawMessage `json:"percentiles"`
		Top         []any             `json:"top"`
	}
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &num))
	require.Equal(t, "Measures.Spend90d", num.Name)
	require.Len(t, num.Percentiles, 101)
	require.Empty(t, num.Top)

	r = runQ(t, quickBase("insights", "--field", "Customer.SignupDate")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "PERCENTILE")
	require.Regexp(t, `\np0 +\d{4}-\d\d-\d\d\n`, r.stdout)
	require.Regexp(t, `\np100 +\d{4}-\d\d-\d\d\n`, r.stdout)
}

// evalCount evaluates a definition file with "segmentkit eval".
func evalCount(t *testing.T, file string) int {
	t.Helper()
	r := runCLI(t, "eval", "--data", testData.dir, "--segment", file, "--as-of", asOf(), "--format", "count")
	require.Equal(t, exitOK, r.code, r.stderr)
	n, err := strconv.Atoi(strings.TrimSpace(r.stdout))
	require.NoError(t, err)
	return n
}

// TestQuickEstimateMatchesEval checks estimate against eval of the
// definition create writes.
func TestQuickEstimateMatchesEval(t *testing.T) {
	for _, c := range []struct{ field, op, value string }{
		{"Customer.Age", "greaterThan", "40"},
		{"Customer.Age", "between", "30,45.5"},
		{"Customer.Country", "is", "US"},
		{"Customer.IsVip", "is", "true"},
		{"Customer.SignupDate", "lessThan", "2024-01-01"},
		{"Customer.LastSeen", "greaterThan", "2026-06-01T12:00:00Z"},
		{"Measures.Spend90d", "greaterThan", "500"},
		{"Measures.LastOrderDate", "between", "2026-04-01,2026-06-30"},
		{"Measures.LastChannel", "is", "web"},
		{"Measures.EscalatedCases", "is", "1"},
		{"ChurnScore.Score", "greaterThan", "0.7"},
	} {
		t.Run(c.field+" "+c.op, func(t *testing.T) {
			r := runQ(t, quickBase("estimate", "--field", c.field, "--op", c.op, "--value", c.value, "--json")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			var est estimateOut
			require.NoError(t, json.Unmarshal([]byte(r.stdout), &est))
			require.Equal(t, testCustomers, est.Customers)
			require.Positive(t, est.Members, "a case that selects nobody checks little")

			r = runQ(t, quickBase("create", "--field", c.field, "--op", c.op, "--value", c.value, "--name", "Quick")...)
			require.Equal(t, exitOK, r.code, r.stderr)
			require.Equal(t, est.Members, evalCount(t, writeFile(t, "quick.json", r.stdout)), r.stdout)

			text := runQ(t, quickBase("estimate", "--field", c.field, "--op", c.op, "--value", c.value)...)
			require.Equal(t, exitOK, text.code, text.stderr)
			require.Contains(t, text.stdout, exact.FormatCount(int64(est.Members))+" of 1,500 customers (")
		})
	}
}

func TestQuickWithinSegment(t *testing.T) {
	members := evalCount(t, segmentFile())
	r := runQ(t, quickBase("insights", "--field", "Customer.Country", "--segment", segmentFile(), "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var ins insightsOut
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ins))
	require.Equal(t, members, ins.Customers)

	r = runQ(t, quickBase("estimate", "--field", "Customer.Country", "--op", "is", "--value", "BR", "--segment", segmentFile(), "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var est estimateOut
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &est))
	require.Equal(t, members, est.Customers)
	require.Zero(t, est.Members, "the example segment excludes BR")
}

func TestQuickCreate(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "over40.json")
	r := runQ(t, quickBase("create", "--field", "Customer.Age", "--op", "greaterThan", "--value", "40",
		"--name", "Over40", "--display-name", "Over 40", "--out", out)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "saved segment Over40 to "+out)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.JSONEq(t, `{"name":"Over40","displayName":"Over 40","groups":[{"condition":{"attribute":"Customer.Age","operator":"greaterThan","value":40}}]}`, string(b))

	file := filepath.Join(dir, "segments.db")
	r = runQ(t, quickBase("create", "--field", "Customer.Age", "--op", "greaterThan", "--value", "40",
		"--name", "Over40", "--catalog", file, "--json")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var res createOut
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &res))
	require.Equal(t, "inactive", res.State)

	r = runQ(t, quickBase("create", "--field", "Customer.Age", "--op", "greaterThan", "--value", "40",
		"--name", "Over40Active", "--catalog", file, "--activate")...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "saved segment Over40Active in "+file+" (active)")

	r = runQ(t, quickBase("create", "--field", "Customer.Age", "--op", "greaterThan", "--value", "40",
		"--name", "Over40", "--catalog", file)...)
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "already exists")

	cat, err := catalog.Open(file, catalog.Options{})
	require.NoError(t, err)
	defer cat.Close()
	seg, err := cat.Get("Over40")
	require.NoError(t, err)
	require.Equal(t, catalog.Inactive, seg.State)
	act, err := cat.Get("Over40Active")
	require.NoError(t, err)
	require.Equal(t, catalog.Active, act.State)
	require.Equal(t, uint64(res.Members), act.MemberCount, "the refresh finds the estimated members")
}

func TestQuickErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no verb", nil, exitUsage, "segmentkit quick: missing verb"},
		{"unknown verb", []string{"insight"}, exitUsage, `unknown verb "insight" (did you mean insights?)`},
		{"unknown flag", quickBase("insights", "--fild", "Customer.Age"), exitUsage, "unknown flag --fild (did you mean --field?)"},
		{"missing data", []string{"fields"}, exitUsage, "segmentkit quick fields: missing --data DIR"},
		{"missing field", quickBase("insights"), exitUsage, "missing --field FIELD"},
		{"bad source", quickBase("fields", "--source", "profile"), exitUsage, `--source "profile" is not profiles, measures or intelligence`},
		{"bad as-of", quickBase("fields", "--as-of", "yesterday"), exitUsage, `--as-of "yesterday"`},
		{"missing op", quickBase("estimate", "--field", "Customer.Age", "--value", "3"), exitUsage, "missing --op OP"},
		{"missing value", quickBase("estimate", "--field", "Customer.Age", "--op", "lessThan"), exitUsage, "missing --value VALUE"},
		{"bad op", quickBase("estimate", "--field", "Customer.Age", "--op", "greaterthen", "--value", "3"), exitUsage, "(did you mean greaterThan?)"},
		{"missing name", quickBase("create", "--field", "Customer.Age", "--op", "lessThan", "--value", "3"), exitUsage, "missing --name NAME"},
		{"bad name", quickBase("create", "--field", "Customer.Age", "--op", "lessThan", "--value", "3", "--name", "a b"), exitUsage, "--name: invalid name"},
		{"catalog and out", quickBase("create", "--field", "Customer.Age", "--op", "lessThan", "--value", "3", "--name", "A", "--catalog", "x.db", "--out", "x.json"), exitUsage, "exclude each other"},
		{"active and out", quickBase("create", "--field", "Customer.Age", "--op", "lessThan", "--value", "3", "--name", "A", "--active", "--out", "x.json"), exitUsage, "exclude each other"},
		{"extra argument", quickBase("fields", "extra"), exitUsage, `unexpected argument "extra"`},
		{"unknown field", quickBase("insights", "--field", "Customer.Agee"), exitFailed, `unknown field "Customer.Agee" (did you mean Customer.Age?)`},
		{"field without entity", quickBase("insights", "--field", "Age"), exitFailed, "(did you mean Customer.Age?)"},
		{"field of another source", quickBase("insights", "--source", "measures", "--field", "Age"), exitFailed, `measures has no field "Age"`},
		{"is on numerical", quickBase("estimate", "--field", "Customer.Age", "--op", "is", "--value", "3"), exitFailed, "is does not apply to Customer.Age, a numerical field; use between, greaterThan, lessThan"},
		{"lessThan on categorical", quickBase("estimate", "--field", "Customer.Country", "--op", "lessThan", "--value", "US"), exitFailed, "lessThan does not apply to Customer.Country"},
		{"not a number", quickBase("estimate", "--field", "Customer.Age", "--op", "lessThan", "--value", "old"), exitFailed, `--value: invalid value: Customer.Age is integer: "old" is not a number`},
		{"between one value", quickBase("estimate", "--field", "Customer.Age", "--op", "between", "--value", "30"), exitFailed, "between needs two values written low,high"},
		{"between reversed", quickBase("estimate", "--field", "Customer.Age", "--op", "between", "--value", "50,30"), exitFailed, "--value: invalid value: between low 50 is greater than high 30"},
		{"number out of range", quickBase("estimate", "--field", "Customer.Age", "--op", "greaterThan", "--value", "1e999"), exitFailed, "--value: invalid value: Customer.Age is integer: 1e999 is out of range of a 64-bit float"},
		{"no such day", quickBase("estimate", "--field", "Customer.SignupDate", "--op", "lessThan", "--value", "2024-02-30"), exitFailed, `--value: invalid value: Customer.SignupDate is a date: "2024-02-30" is not a day of the calendar`},
		{"bad date", quickBase("estimate", "--field", "Customer.SignupDate", "--op", "lessThan", "--value", "2024-2-3"), exitFailed, `"2024-2-3" is not in the form YYYY-MM-DD`},
		{"flag written long", quickBase("estimate", "--field", "Customer.Age", "--operator", "lessThan", "--value", "3"), exitUsage, "unknown flag --operator (did you mean --op?)"},
		{"bad boolean", quickBase("estimate", "--field", "Customer.IsVip", "--op", "is", "--value", "yes"), exitFailed, `"yes" is not true or false`},
		{"within missing", quickBase("insights", "--field", "Customer.Age", "--within", "/nonexistent/x.json"), exitFailed, "--within /nonexistent/x.json: no such file"},
		{"no data dir", []string{"fields", "--data", "/nonexistent"}, exitFailed, "--data /nonexistent: no such directory"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runQ(t, c.args...)
			require.Equal(t, c.code, r.code, r.stderr)
			require.Contains(t, r.stderr, c.want)
			require.Empty(t, r.stdout)
			if c.code == exitFailed {
				require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
				require.True(t, strings.HasPrefix(r.stderr, "segmentkit quick "), r.stderr)
			}
		})
	}
}

func TestQuickHelp(t *testing.T) {
	r := runQ(t, "help")
	require.Equal(t, exitOK, r.code)
	for _, v := range []string{"fields", "insights", "estimate", "create"} {
		require.Contains(t, r.stdout, "  "+v)
	}
	r = runQ(t, "create", "--help")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "segmentkit quick create --data DIR")
	require.Contains(t, r.stdout, "--catalog FILE")
	require.Contains(t, r.stdout, "--display-name TEXT")
}
