package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
)

const segTestSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.csv",
     "attributes": [{"name": "CustomerId", "type": "string"}, {"name": "Age", "type": "integer"},
                    {"name": "Country", "type": "string"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.csv",
     "attributes": [{"name": "OrderId", "type": "string"}, {"name": "CustomerId", "type": "string"},
                    {"name": "Amount", "type": "number"}]}
  ],
  "relationships": [{"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"},
                     "to": {"entity": "Customer", "attribute": "CustomerId"}}]
}`

// segData writes a data directory of n customers C01.. aged 20, 21, ...,
// each with one order of 10 times its number, and returns it.
func segData(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	writeSegData(t, dir, n)
	return dir
}

// writeSegData writes the files of segData into dir.
func writeSegData(t *testing.T, dir string, n int) {
	t.Helper()
	var c, o strings.Builder
	c.WriteString("CustomerId,Age,Country\n")
	o.WriteString("OrderId,CustomerId,Amount\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&c, "C%02d,%d,%s\n", i, 19+i, []string{"US", "DE"}[i%2])
		fmt.Fprintf(&o, "O%02d,C%02d,%d\n", i, i, 10*i)
	}
	for name, data := range map[string]string{"schema.json": segTestSchema, "Customer.csv": c.String(), "Order.csv": o.String()} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644))
	}
}

func segDef(t *testing.T, name, cond string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".json")
	require.NoError(t, os.WriteFile(file, []byte(fmt.Sprintf(`{"name": %q, "displayName": "The %s", "groups": [{"condition": %s}]}`, name, name, cond)), 0o644))
	return file
}

func runSeg(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"segments"}, args...), &stdout, &stderr)
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

func TestSegmentsCLIStory(t *testing.T) {
	data := segData(t, 10)
	db := filepath.Join(t.TempDir(), "cat.db")
	base := []string{"--catalog", db, "--data", data}
	older := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 25}`)
	bad := segDef(t, "Germans", `{"attribute": "Customer.Contry", "operator": "equals", "value": "DE"}`)
	good := segDef(t, "Germans", `{"attribute": "Customer.Country", "operator": "equals", "value": "DE"}`)

	r := runSeg(t, append([]string{"create", "--file", older}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "created Older (inactive)\n", r.stdout)

	// A definition with a problem is saved as a draft, listing it.
	r = runSeg(t, append([]string{"create", "--file", bad}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "created Germans as a draft: its definition has 1 problem")
	require.Contains(t, r.stdout, "did you mean Country?")

	// A draft cannot be activated.
	r = runSeg(t, append([]string{"activate", "Germans"}, base...)...)
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "draft")
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)

	// Edit fixes it; activate refreshes it.
	r = runSeg(t, append([]string{"edit", "Germans", "--file", good}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "saved Germans (inactive)\n", r.stdout)
	r = runSeg(t, append([]string{"activate", "Germans"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "activated Germans\njob 1 successful: Germans (activation)")
	require.Regexp(t, `Germans\s+successful\s+5\s+5\s+0`, r.stdout)

	// Refresh all: the inactive segment is skipped.
	r = runSeg(t, append([]string{"refresh", "--all", "--json"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var job catalog.Job
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &job))
	require.Equal(t, catalog.Successful, job.Status)
	require.Len(t, job.Tasks, 2)
	for _, task := range job.Tasks {
		want := map[string]catalog.Status{"Older": catalog.Skipped, "Germans": catalog.Successful}[task.Segment]
		require.Equal(t, want, task.Status, task.Segment)
	}

	// List, sorted and searched, as text and JSON.
	r = runSeg(t, "list", "--catalog", db, "--sort", "members", "--desc")
	require.Equal(t, exitOK, r.code, r.stderr)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	require.Len(t, lines, 3)
	require.Regexp(t, `^NAME\s+DISPLAY NAME\s+TYPE\s+STATE\s+MEMBERS`, lines[0])
	require.Regexp(t, `^Germans\s+The Germans\s+dynamic\s+active\s+5\s+\S+\s+successful`, lines[1])
	require.Regexp(t, `^Older\s+The Older\s+dynamic\s+inactive\s+0\s+-\s+skipped`, lines[2])
	r = runSeg(t, "list", "--catalog", db, "--search", "OLD", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var listed []map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &listed))
	require.Len(t, listed, 1)
	require.Equal(t, "Older", listed[0]["name"])
	require.Equal(t, "inactive", listed[0]["state"])

	// Show, preview, history, download.
	r = runSeg(t, "show", "Germans", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `state:\s+active`, r.stdout)
	require.Contains(t, r.stdout, `"Customer.Country"`)
	r = runSeg(t, append([]string{"preview", "Germans", "--rows", "2", "--json"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var p catalog.Preview
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &p))
	require.EqualValues(t, 5, p.Total)
	require.Equal(t, [][]string{{"C01", "DE"}, {"C03", "DE"}}, p.Rows)
	r = runSeg(t, append([]string{"preview", "Germans"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "Germans: 5 members; the first 5, with values as of ")
	r = runSeg(t, "history", "Germans", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var hist []catalog.HistoryEntry
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &hist))
	require.Len(t, hist, 2)
	require.EqualValues(t, 5, hist[0].Entered)
	r = runSeg(t, "history", "Germans", "--catalog", db, "--to", "2000-01-01")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, 1, strings.Count(r.stdout, "\n"), "only the header")
	out := filepath.Join(t.TempDir(), "germans.csv")
	r = runSeg(t, append([]string{"download", "Germans", "--fields", "CustomerId,Age", "--out", out}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	csv, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, "CustomerId,Age\nC01,20\nC03,22\nC05,24\nC07,26\nC09,28\n", string(csv))
	r = runSeg(t, append([]string{"download", "Germans"}, base...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.True(t, strings.HasPrefix(r.stdout, "CustomerId,Age,Country\nC01,20,DE\n"))

	// Rename; schedule a deactivation; jobs; delete.
	r = runSeg(t, "rename", "Germans", "DE", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "renamed Germans to DE\n", r.stdout)
	r = runSeg(t, "deactivate", "DE", "--at", "2030-01-02T03:04:05Z", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, "DE will be deactivated at 2030-01-02T03:04:05Z by serve-schedule\n", r.stdout)
	r = runSeg(t, "show", "DE", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, `"deactivateAt":"2030-01-02T03:04:05Z"`)
	r = runSeg(t, "schedule", "DE", "--cron", "0 6 * * *", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "jobs", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `(?m)^2\s+successful\s+manual`, r.stdout)
	r = runSeg(t, "jobs", "1", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &job))
	require.Equal(t, catalog.TriggerActivation, job.Trigger)
	r = runSeg(t, "deactivate", "DE", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "delete", "DE", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, `{"deleted":"DE"}`+"\n", r.stdout)
	r = runSeg(t, "show", "DE", "--catalog", db)
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "segment \"DE\" not found")
}

func TestSegmentsCLIErrors(t *testing.T) {
	data := segData(t, 3)
	db := filepath.Join(t.TempDir(), "cat.db")
	older := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 20}`)
	r := runSeg(t, "create", "--file", older, "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	missing := filepath.Join(t.TempDir(), "none.db")

	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no verb", nil, exitUsage, "missing verb"},
		{"unknown verb", []string{"lst"}, exitUsage, "did you mean list?"},
		{"unknown flag", []string{"list", "--catalog", db, "--serch", "x"}, exitUsage, "did you mean --search?"},
		{"bad sort", []string{"list", "--catalog", db, "--sort", "membres"}, exitUsage, "did you mean members?"},
		{"missing catalog", []string{"list", "--catalog", missing}, exitFailed, "does not exist"},
		{"create without data", []string{"create", "--file", older, "--catalog", db}, exitUsage, "missing --data"},
		{"create without file", []string{"create", "--catalog", db, "--data", data}, exitUsage, "missing --segment FILE"},
		{"file not found", []string{"create", "--file", "/nonexistent.json", "--catalog", db, "--data", data}, exitFailed, "no such file"},
		{"exists", []string{"create", "--file", older, "--catalog", db, "--data", data}, exitFailed, "already exists"},
		{"data not a dir", []string{"refresh", "--all", "--catalog", db, "--data", older}, exitFailed, "not a directory"},
		{"download never refreshed", []string{"download", "Older", "--catalog", db, "--data", data}, exitFailed, `segment "Older" has never been refreshed`},
		{"unknown segment", []string{"show", "Oldr", "--catalog", db}, exitFailed, "did you mean Older?"},
		{"too many args", []string{"show", "Older", "Extra", "--catalog", db}, exitUsage, "unexpected argument \"Extra\""},
		{"missing arg", []string{"rename", "Older", "--catalog", db}, exitUsage, "missing arguments"},
		{"bad time", []string{"deactivate", "Older", "--at", "tomorrow", "--catalog", db}, exitUsage, "want a date"},
		{"bad cron", []string{"schedule", "Older", "--cron", "daily", "--catalog", db}, exitUsage, "invalid schedule"},
		{"refresh nothing", []string{"refresh", "--catalog", db, "--data", data}, exitUsage, "missing segment names"},
		{"names and all", []string{"refresh", "Older", "--all", "--catalog", db, "--data", data}, exitUsage, "not both"},
		{"bad job", []string{"jobs", "x", "--catalog", db}, exitUsage, "want a job number"},
		{"no such job", []string{"jobs", "42", "--catalog", db}, exitFailed, "job 42 not found"},
		{"bad name", []string{"rename", "Older", "has space", "--catalog", db}, exitFailed, "invalid segment name"},
		{"bad rows", []string{"preview", "Older", "--rows", "0", "--catalog", db, "--data", data}, exitUsage, "--rows"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := runSeg(t, c.args...)
			require.Equal(t, c.code, r.code, "stdout %q stderr %q", r.stdout, r.stderr)
			require.Contains(t, r.stderr, c.want)
			require.True(t, strings.HasPrefix(r.stderr, "segmentkit segments"), r.stderr)
			first, _, _ := strings.Cut(r.stderr, "\n")
			require.NotContains(t, first, "panic")
		})
	}
	_, err := os.Stat(missing)
	require.ErrorIs(t, err, os.ErrNotExist, "reading verbs do not create a catalog")

	// Help.
	r = runSeg(t, "help")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "serve-schedule")
	r = runSeg(t, "refresh", "--help")
	require.Equal(t, exitOK, r.code)
	require.Contains(t, r.stdout, "--all")
	require.Regexp(t, `--data DIR .*\(required\)`, r.stdout)
	r = runSeg(t, "activate", "--help")
	require.Equal(t, exitOK, r.code)
	require.Regexp(t, `--data DIR .*\(optional\)`, r.stdout)
	require.NotContains(t, r.stdout, "(required)")
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestServeSchedule(t *testing.T) {
	data := segData(t, 4)
	db := filepath.Join(t.TempDir(), "cat.db")
	older := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 20}`)
	r := runSeg(t, "create", "--file", older, "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	// An activation already due is applied as soon as the scheduler runs.
	r = runSeg(t, "activate", "Older", "--at", "2020-01-01", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve-schedule", "--catalog", db, "--data", data, "--cron", "@daily"}, &stdout, &stderr)
	}()
	require.Eventually(t, func() bool {
		return strings.Contains(stderr.String(), "scheduled refresh ended") && strings.Contains(stderr.String(), "status=successful")
	}, 10*time.Second, 10*time.Millisecond, "%s", stderr.String())
	cancel()
	require.Equal(t, exitInterrupted, <-done, stderr.String())
	require.Contains(t, stderr.String(), "activated segment as scheduled")

	// With --json every line it logs is a JSON object.
	ctx, cancel = context.WithCancel(context.Background())
	var jsonErr syncBuffer
	go func() {
		done <- run(ctx, []string{"serve-schedule", "--catalog", db, "--data", data, "--json"}, &stdout, &jsonErr)
	}()
	require.Eventually(t, func() bool { return strings.Contains(jsonErr.String(), `"msg":"serving"`) }, 10*time.Second, 10*time.Millisecond)
	cancel()
	require.Equal(t, exitInterrupted, <-done, jsonErr.String())
	lines := strings.Split(strings.TrimSpace(jsonErr.String()), "\n")
	require.GreaterOrEqual(t, len(lines), 2)
	for _, l := range lines {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec), l)
		require.NotEmpty(t, rec["msg"], l)
	}

	r = runSeg(t, "show", "Older", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var seg map[string]any
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &seg))
	require.Equal(t, "active", seg["state"])
	require.EqualValues(t, 3, seg["members"])

	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"--catalog", db}, exitUsage, "missing --data"},
		{[]string{"--catalog", db, "--data", data, "--cron", "sometimes"}, exitUsage, "invalid schedule"},
		{[]string{"--catalog", db, "--data", data, "extra"}, exitUsage, "unexpected argument"},
		{[]string{"--catalog", db + "x", "--data", data}, exitFailed, "does not exist"},
		{[]string{"--catalog", db, "--data", data + "x"}, exitFailed, "no such directory"},
	} {
		var out, errb bytes.Buffer
		code := run(context.Background(), append([]string{"serve-schedule"}, c.args...), &out, &errb)
		require.Equal(t, c.code, code, errb.String())
		require.Contains(t, errb.String(), c.want)
	}
}
