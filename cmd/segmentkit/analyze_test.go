package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
)

// TestInspect runs inspect on the demo's segment: the JSON's member count
// is eval's, the running sizes end there, and the text shows every group
// and condition with its size.
func TestInspect(t *testing.T) {
	data, seg := testData.dir, segmentFile()
	members := count(t, runCLI(t, "eval", "--data", data, "--segment", seg, "--as-of", asOf(), "--format", "count"))
	r := runCLI(t, "inspect", "--data", data, "--segment", seg, "--as-of", asOf(), "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var ins engine.Inspection
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ins), r.stdout)
	require.Equal(t, uint64(members), ins.Members)
	require.Equal(t, uint64(testCustomers), ins.Customers)
	require.Len(t, ins.Groups, 2) // the demo's segment: an and, except a list of countries
	require.Equal(t, ins.Members, ins.Groups[1].Running)
	require.Equal(t, "except", ins.Groups[1].SetOp)
	require.Len(t, ins.Groups[0].Conditions, 2)
	for _, k := range ins.Groups[0].Conditions {
		require.GreaterOrEqual(t, k.Size, ins.Groups[0].Size, "a conjunct alone holds for at least the conjunction's customers")
	}

	r = runCLI(t, "inspect", "--data", data, "--segment", seg, "--as-of", asOf())
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Contains(t, lines[0], "members of 1,500 customers")
	require.Len(t, lines, 6, r.stdout) // title, header, group 1 and its two conditions, group 2
	require.Contains(t, lines[5], "group 2 (except): Customer.Country in")
}

// TestExplain explains a member and a customer who is not one: the
// verdicts agree with eval, the JSON's tree has each group, and the text
// lists the related rows that decided.
func TestExplain(t *testing.T) {
	data, seg := testData.dir, segmentFile()
	r := runCLI(t, "eval", "--data", data, "--segment", seg, "--as-of", asOf())
	require.Equal(t, exitOK, r.code, r.stderr)
	members := strings.Fields(r.stdout)
	require.NotEmpty(t, members)
	in := map[string]bool{}
	for _, k := range members {
		in[k] = true
	}
	var outsider string
	for i := 1; outsider == ""; i++ {
		if k := demoKey(i); !in[k] {
			outsider = k
		}
	}
	for _, key := range []string{members[0], outsider} {
		r := runCLI(t, "explain", "--data", data, "--segment", seg, "--as-of", asOf(), "--customer", key, "--json")
		require.Equal(t, exitOK, r.code, r.stderr)
		var ex engine.Explanation
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &ex), r.stdout)
		require.Equal(t, key, ex.Customer)
		require.Equal(t, in[key], ex.Member, key)
		require.Len(t, ex.Groups, 2)
		require.Equal(t, "and", ex.Groups[0].Condition.Kind)

		r = runCLI(t, "explain", "--data", data, "--segment", seg, "--as-of", asOf(), "--customer", key)
		require.Equal(t, exitOK, r.code, r.stderr)
		verdict := "is a member"
		if !in[key] {
			verdict = "is not a member"
		}
		require.Contains(t, r.stdout, "customer "+key+" "+verdict)
		require.Contains(t, r.stdout, "Order rows match the where")
	}
	r = runCLI(t, "explain", "--data", data, "--segment", seg, "--as-of", asOf(), "--customer", members[0])
	require.Contains(t, r.stdout, "matching rows:", "a member's orders summed are listed")
}

// demoKey is the demo's key of its i-th customer.
func demoKey(i int) string { return fmt.Sprintf("C%07d", i) }

// TestAnalyzeErrors checks the usage errors of inspect and explain.
func TestAnalyzeErrors(t *testing.T) {
	data, seg := testData.dir, segmentFile()
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"inspect", "--data", data}, exitUsage, "missing --segment FILE"},
		{[]string{"explain", "--data", data, "--segment", seg}, exitUsage, "missing --customer KEY"},
		{[]string{"explain", "--data", data, "--segment", seg, "--customer", "C000001"}, exitFailed, "did you mean C0000001?"},
		{[]string{"explain", "--data", data, "--segment", seg, "--customer", "C0000001", "--as-of", "yesterday"}, exitUsage, "--as-of"},
		{[]string{"inspect", "--data", data, "--segmnt", seg}, exitUsage, "did you mean --segment?"},
	} {
		r := runCLI(t, c.args...)
		require.Equal(t, c.code, r.code, "%v: %s", c.args, r.stderr)
		require.Contains(t, r.stderr, c.want, c.args)
	}
}
