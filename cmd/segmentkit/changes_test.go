package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
)

// segDataOf writes a data directory with the customers (key and age, in
// that order) and returns it.
func segDataOf(t *testing.T, rows [][2]any) string {
	t.Helper()
	dir := t.TempDir()
	var c strings.Builder
	c.WriteString("CustomerId,Age,Country\n")
	for _, r := range rows {
		fmt.Fprintf(&c, "%s,%d,US\n", r[0], r[1])
	}
	for name, data := range map[string]string{"schema.json": segTestSchema, "Customer.csv": c.String(), "Order.csv": "OrderId,CustomerId,Amount\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
	return dir
}

func TestSegmentsChangesAndMember(t *testing.T) {
	db := filepath.Join(t.TempDir(), "cat.db")
	// C01..C10 aged 20..29.
	data := segData(t, 10)
	older := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 25}`)
	early := filepath.Join(t.TempDir(), "early.json")
	require.NoError(t, os.WriteFile(early, []byte(`{"name": "Early", "type": "static", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": 27}}]}`), 0o644))
	for _, f := range []string{older, early} {
		r := runSeg(t, "create", "--file", f, "--active", "--catalog", db, "--data", data)
		require.Equal(t, exitOK, r.code, r.stderr)
	}
	// The data is reloaded: C09 and C10 are gone, the others renumbered,
	// and C06 is now 26.
	var rows [][2]any
	for i := 8; i >= 1; i-- {
		rows = append(rows, [2]any{fmt.Sprintf("C%02d", i), map[bool]int{true: 26, false: 19 + i}[i == 6]})
	}
	r := runSeg(t, "refresh", "--all", "--catalog", db, "--data", segDataOf(t, rows))
	require.Equal(t, exitOK, r.code, r.stderr)

	// Human form: one row per refresh, then its keys.
	r = runSeg(t, "changes", "Older", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, lines, 6, r.stdout)
	require.Regexp(t, `^TIME\s+JOB\s+ENTERED\s+LEFT$`, lines[0])
	require.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ  1    4        0$`, lines[1])
	require.Equal(t, "  entered: C07 C08 C09 C10", lines[2])
	require.Regexp(t, `^\S+Z  3    1        2$`, lines[3])
	require.Equal(t, "  entered: C06", lines[4])
	require.Equal(t, "  left:    C09 C10", lines[5])
	r = runSeg(t, "changes", "Early", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `(?m)^\S+Z  3    0        0 \(static, kept\)$`, r.stdout)

	// JSON form, and the time bounds.
	r = runSeg(t, "changes", "Older", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var changes []catalog.Change
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &changes))
	require.Len(t, changes, 2)
	require.Equal(t, []string{"C06"}, changes[1].Entered)
	require.Equal(t, []string{"C09", "C10"}, changes[1].Left)
	require.Equal(t, 2, changes[1].LeftCount)
	require.EqualValues(t, 3, changes[1].Job)
	require.Contains(t, r.stdout, `"entered":["C07","C08","C09","C10"],"left":[]`)
	r = runSeg(t, "changes", "Older", "--catalog", db, "--json", "--from", time.Now().UTC().AddDate(0, 0, 2).Format(time.DateOnly))
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "[]\n", r.stdout)
	r = runSeg(t, "changes", "Older", "--catalog", db, "--to", "2000-01-01")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 1, strings.Count(r.stdout, "\n"), "only the header")

	// Which segments a customer is in.
	r = runSeg(t, "member", "C09", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	lines = strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	require.Len(t, lines, 3, r.stdout)
	require.Regexp(t, `^SEGMENT\s+STATUS\s+SINCE$`, lines[0])
	require.Regexp(t, `^Early\s+still in\s+\S+Z$`, lines[1], "frozen, though gone from the data")
	require.Regexp(t, `^Older\s+exited\s+\S+Z$`, lines[2])
	r = runSeg(t, "member", "C06", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var ms []catalog.Membership
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ms))
	require.Len(t, ms, 1)
	require.Equal(t, catalog.MemberEntered, ms[0].Status)
	require.Equal(t, changes[1].Time, ms[0].Since)
	require.Contains(t, r.stdout, `"status":"entered"`)
	r = runSeg(t, "member", "C07", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &ms))
	require.Equal(t, []catalog.Membership{{Segment: "Older", Status: catalog.MemberStillIn, Since: changes[0].Time, SinceKnown: true}}, ms)
	r = runSeg(t, "member", "nobody", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "nobody is in no segment, and left none at its latest refresh\n", r.stdout)
	r = runSeg(t, "member", "nobody", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "[]\n", r.stdout)

	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown segment", []string{"changes", "Oldr", "--catalog", db}, exitFailed, `segmentkit segments changes: segment "Oldr" not found (did you mean Older?)`},
		{"bad from", []string{"changes", "Older", "--from", "tomorrow", "--catalog", db}, exitUsage, "--from \"tomorrow\": want a date"},
		{"to before from", []string{"changes", "Older", "--from", "2026-02-01", "--to", "2026-01-01", "--catalog", db}, exitUsage, "--to is before --from"},
		{"no name", []string{"changes", "--catalog", db}, exitUsage, "missing arguments"},
		{"no key", []string{"member", "--catalog", db}, exitUsage, "missing arguments: usage is segmentkit segments member KEY"},
		{"two keys", []string{"member", "C01", "C02", "--catalog", db}, exitUsage, `unexpected argument "C02"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runSeg(t, c.args...)
			require.Equal(t, c.code, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
			require.Contains(t, r.stderr, c.want)
		})
	}
}

func TestWriteKeysWraps(t *testing.T) {
	var keys []string
	for i := range 30 {
		keys = append(keys, fmt.Sprintf("C%07d", i))
	}
	var b strings.Builder
	writeKeys(&b, "  left:    ", keys)
	lines := strings.Split(strings.TrimSuffix(b.String(), "\n"), "\n")
	require.Len(t, lines, 3, "ten keys of 8 after the label fit in 100 columns")
	require.True(t, strings.HasPrefix(lines[0], "  left:    C0000000 C0000001 "))
	for _, l := range lines {
		require.LessOrEqual(t, len(l), keysWidth)
	}
	require.True(t, strings.HasPrefix(lines[1], strings.Repeat(" ", 11)+"C"))
	require.Equal(t, strings.Join(keys, " "), strings.Join(strings.Fields(strings.ReplaceAll(b.String(), "left:", "")), " "))
	b.Reset()
	writeKeys(&b, "  left:    ", nil)
	require.Empty(t, b.String())
}
