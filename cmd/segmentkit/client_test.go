package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/server"
	"github.com/segmentkit/segmentkit/storage"
)

// testServer is a segmentkit server over its own catalog file, in the
// test's process.
type testServer struct {
	url string
	cat *catalog.Catalog
}

// startServer serves the catalog file db (created when missing) over the
// data directory, until the test ends. tokens makes every call need a
// token.
func startServer(t *testing.T, db, data string, tokens bool) *testServer {
	t.Helper()
	return startGatedServer(t, db, data, tokens, nil)
}

// gatedSource is a data source whose loads wait while its gate holds a
// channel, until the channel is closed or the load's context ends.
type gatedSource struct {
	*catalog.DirSource
	gate *atomic.Pointer[chan struct{}]
}

func (g gatedSource) Snapshot(ctx context.Context) (*storage.Snapshot, func(), error) {
	if ch := g.gate.Load(); ch != nil {
		select {
		case <-*ch:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return g.DirSource.Snapshot(ctx)
}

// startGatedServer is startServer with the catalog's loads of the data
// behind gate (when it is not nil).
func startGatedServer(t *testing.T, db, data string, tokens bool, gate *atomic.Pointer[chan struct{}]) *testServer {
	t.Helper()
	src := catalog.NewDirSource(data, storage.Options{})
	var catSrc catalog.Source = src
	if gate != nil {
		catSrc = gatedSource{src, gate}
	}
	cat, err := catalog.Open(db, catalog.Options{Source: catSrc})
	require.NoError(t, err)
	srv, err := server.New(t.Context(), server.Options{Catalog: cat, Source: src, RequireTokens: tokens, ReloadInterval: -1})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		cat.Close()
		src.Close()
	})
	return &testServer{url: hs.URL, cat: cat}
}

// twoWays runs each segments verb on a catalog file and, through a
// server, on another catalog made by the same verbs, and compares what
// they print.
type twoWays struct {
	t      *testing.T
	data   string
	file   string
	server *testServer
}

func newTwoWays(t *testing.T, data string) *twoWays {
	t.Helper()
	dir := t.TempDir()
	return &twoWays{t: t, data: data, file: filepath.Join(dir, "file.db"), server: startServer(t, filepath.Join(dir, "server.db"), data, false)}
}

// dataVerbs are the verbs that take --data.
var dataVerbs = []string{"create", "edit", "activate", "refresh", "preview", "download", "export", "add", "overlap", "differentiators",
	"groups", "priority show", "priority export"}

// args returns the command lines of the verb for the file and for the
// server: the file's with --catalog (and --data, when the verb takes it),
// the server's with --server and no --data.
func (w *twoWays) args(args ...string) (file, srv []string) {
	file = append([]string{"segments"}, args...)
	file = append(file, "--catalog", w.file)
	verb := args[0]
	switch verb {
	case "destinations":
		verb = args[1]
	case "priority":
		verb = "priority " + args[1]
	}
	if slices.Contains(dataVerbs, verb) {
		file = append(file, "--data", w.data)
	}
	srv = append(append([]string{"segments"}, args...), "--server", w.server.url)
	return file, srv
}

// run runs the verb both ways.
func (w *twoWays) run(args ...string) (file, srv result) {
	w.t.Helper()
	fa, sa := w.args(args...)
	return runCLI(w.t, fa...), runCLI(w.t, sa...)
}

// same runs the verb both ways and requires the same exit code and the
// same output, but for times and durations; it returns the file's.
func (w *twoWays) same(code int, args ...string) result {
	w.t.Helper()
	file, srv := w.run(args...)
	require.Equal(w.t, code, file.code, "file: %v\n%s%s", args, file.stdout, file.stderr)
	require.Equal(w.t, file.code, srv.code, "server: %v\n%s%s", args, srv.stdout, srv.stderr)
	require.Equal(w.t, normalize(file.stdout), normalize(srv.stdout), "stdout of %v", args)
	require.Equal(w.t, normalize(file.stderr), normalize(srv.stderr), "stderr of %v", args)
	return file
}

var (
	reTime     = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	reDuration = regexp.MustCompile(`\b(\d+(\.\d+)?(h|m|s|ms|µs|ns))+\b`)
	reJSONDur  = regexp.MustCompile(`"(duration|loadDuration|memoryBytes)":\d+`)
	reSpaces   = regexp.MustCompile(`  +`)
	// How the data was loaded differs too: a server keeps its snapshot,
	// each command opens the snapshot file.
	reJSONLoad = regexp.MustCompile(`"load":"[^"]*"`)
	reLoad     = regexp.MustCompile(`(?m)(loaded in DUR) \(.*\)$`)
)

// normalize replaces the times and durations of an output, which differ
// between two runs, and the table padding that follows their widths.
func normalize(s string) string {
	s = reTime.ReplaceAllString(s, "TIME")
	s = reJSONDur.ReplaceAllString(s, `"$1":0`)
	s = reDuration.ReplaceAllString(s, "DUR")
	s = reJSONLoad.ReplaceAllString(s, `"load":"LOAD"`)
	s = reLoad.ReplaceAllString(s, "$1 (LOAD)")
	return reSpaces.ReplaceAllString(s, "  ")
}

// compactDef writes a compact definition (as the server gives it back).
func compactDef(t *testing.T, name, display, cond string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), name+".json")
	def := `{"name":"` + name + `","displayName":"` + display + `","groups":[{"condition":` + cond + `}]}`
	require.NoError(t, os.WriteFile(file, []byte(def), 0o644))
	return file
}

// TestClientSameAsFile runs every segments verb on a catalog file and
// through a server, and compares their outputs and exit codes.
func TestClientSameAsFile(t *testing.T) {
	data := segData(t, 10)
	w := newTwoWays(t, data)
	older := compactDef(t, "Older", "The Older", `{"attribute":"Customer.Age","operator":"greaterThan","value":25}`)
	bad := compactDef(t, "Germans", "The Germans", `{"attribute":"Customer.Contry","operator":"equals","value":"DE"}`)
	good := compactDef(t, "Germans", "The Germans", `{"attribute":"Customer.Country","operator":"equals","value":"DE"}`)
	young := compactDef(t, "Young", "Young ones", `{"and":[{"attribute":"Customer.Age","operator":"lessThan","value":25},{"segment":"Germans"}]}`)
	broken := writeFile(t, "broken.json", `{"name": "Broken", "groups": [`)

	r := w.same(exitOK, "create", "--segment", older)
	require.Equal(t, "created Older (inactive)\n", r.stdout)
	r = w.same(exitOK, "create", "--segment", bad, "--json")
	require.Contains(t, r.stdout, `"state":"draft"`)
	w.same(exitOK, "create", "--segment", broken)
	w.same(exitUsage, "create", "--segment", older, "--as-of", "2026-01-01")
	r = w.same(exitFailed, "create", "--segment", older)
	require.Contains(t, r.stderr, "already exists")

	// A draft: its problems, one a line, and its activation refused.
	r = w.same(exitOK, "show", "Germans")
	require.Contains(t, r.stdout, "did you mean Country?")
	r = w.same(exitFailed, "activate", "Germans")
	require.Contains(t, r.stderr, "draft")
	w.same(exitFailed, "activate", "Germans", "--json")
	w.same(exitOK, "edit", "Germans", "--segment", bad)
	r = w.same(exitOK, "edit", "Germans", "--segment", good)
	require.Equal(t, "saved Germans (inactive)\n", r.stdout)

	// Activation refreshes; activating an active segment does nothing.
	r = w.same(exitOK, "activate", "Germans")
	require.Contains(t, r.stdout, "activated Germans\njob 1 successful: Germans (activation)")
	w.same(exitOK, "activate", "Germans")
	w.same(exitOK, "activate", "Germans", "--json")
	// An edit's dry run: what it would change, nothing saved.
	wider := compactDef(t, "Germans", "The Germans", `{"or":[{"attribute":"Customer.Country","operator":"equals","value":"DE"},{"attribute":"Customer.Age","operator":"greaterThan","value":25}]}`)
	r = w.same(exitOK, "edit", "Germans", "--segment", wider, "--dry-run")
	require.Regexp(t, `Germans, not saved: \d+ members as of .* against its \d+ current members\n  added: [1-9]`, r.stdout)
	require.Contains(t, r.stdout, "removed: 0\n")
	r = w.same(exitFailed, "edit", "Germans", "--segment", older, "--dry-run")
	require.Contains(t, r.stderr, "edits segment")
	w.same(exitOK, "edit", "Germans", "--segment", good, "--dry-run", "--samples", "2", "--json")
	w.same(exitUsage, "edit", "Germans", "--segment", good, "--samples", "2")
	w.same(exitUsage, "edit", "Germans", "--segment", good, "--dry-run", "--samples", "0")
	w.same(exitOK, "create", "--segment", young, "--active", "--as-of", "2026-01-01")
	w.same(exitFailed, "create", "--segment", bad, "--active", "--name", "Other")

	// Refreshes and jobs.
	r = w.same(exitOK, "refresh", "--all")
	require.Regexp(t, `Older\s+skipped`, r.stdout)
	w.same(exitOK, "refresh", "Germans", "Young", "--json")
	w.same(exitOK, "refresh", "Germans", "--as-of", "2026-01-02T03:04:05Z")
	w.same(exitFailed, "refresh", "Nobody")
	w.same(exitUsage, "refresh")
	w.same(exitOK, "jobs")
	w.same(exitOK, "jobs", "--json")
	w.same(exitOK, "jobs", "--limit", "2")
	w.same(exitOK, "jobs", "2")
	w.same(exitOK, "jobs", "2", "--json")
	r = w.same(exitFailed, "jobs", "42")
	require.Contains(t, r.stderr, "job 42 not found")

	// Reading verbs.
	for _, args := range [][]string{
		{"list"}, {"list", "--json"}, {"list", "--sort", "members", "--desc"}, {"list", "--search", "GERM"},
		{"show", "Germans"}, {"show", "Germans", "--json"}, {"show", "Germans", "--definition"}, {"show", "Broken", "--definition", "--json"},
		{"show", "Broken"}, {"preview", "Germans"}, {"preview", "Germans", "--rows", "2", "--json"}, {"preview", "Young", "--as-of", "2026-01-01"},
		{"history", "Germans"}, {"history", "Germans", "--json"}, {"history", "Germans", "--to", "2000-01-01"},
		{"changes", "Germans"}, {"changes", "Germans", "--json"}, {"changes", "Germans", "--from", "2000-01-01"},
		{"member", "C01"}, {"member", "C01", "--json"}, {"member", "C02"},
		{"download", "Germans"}, {"download", "Germans", "--fields", "CustomerId,Age"},
		{"overlap", "Germans", "Young"}, {"overlap", "Germans", "Young", "--by", "Customer.Country", "--json"},
	} {
		w.same(exitOK, args...)
	}
	r = w.same(exitOK, "overlap", "Germans", "Young", "--by", "Customer.Country")
	require.Contains(t, r.stdout, "Germans & Young")
	r = w.same(exitFailed, "overlap", "Germans", "Older")
	require.Contains(t, r.stderr, "never been refreshed")
	r = w.same(exitFailed, "overlap", "Germans", "Young", "--by", "Customer.Contry")
	require.Contains(t, r.stderr, "did you mean Customer.Country?")
	w.same(exitUsage, "overlap", "Germans")
	for _, args := range [][]string{
		{"differentiators", "Germans"}, {"differentiators", "Germans", "--json"},
		{"differentiators", "Germans", "--against", "Young", "--top", "1"},
		{"differentiators", "Germans", "--attributes", "Customer.Age,Customer.Country", "--json"},
	} {
		w.same(exitOK, args...)
	}
	r = w.same(exitOK, "differentiators", "Germans", "--against", "Young")
	require.Contains(t, r.stdout, "Germans (")
	require.Contains(t, r.stdout, ") against Young (")
	require.Regexp(t, `Customer\.Country\s+total variation\s+[01]\.\d{3}`, r.stdout)
	require.Regexp(t, `Customer\.Age\s+KS\s+[01]\.\d{3}\s+.*mean `, r.stdout)
	r = w.same(exitFailed, "differentiators", "Older")
	require.Contains(t, r.stderr, "never been refreshed")
	r = w.same(exitFailed, "differentiators", "Germns")
	require.Contains(t, r.stderr, "Germans")
	r = w.same(exitFailed, "differentiators", "Germans", "--attributes", "Customer.Contry")
	require.Contains(t, r.stderr, "did you mean Customer.Country?")
	r = w.same(exitUsage, "differentiators", "Germans", "--top", "0")
	require.Contains(t, r.stderr, "--top must be from 1 to 100, not 0")
	w.same(exitUsage, "differentiators")
	w.same(exitUsage, "differentiators", "Germans", "Young")
	r = w.same(exitUsage, "list", "--sort", "membres")
	require.Contains(t, r.stderr, "did you mean members?")
	r = w.same(exitFailed, "show", "Germns")
	require.Contains(t, r.stderr, "did you mean Germans?")
	w.same(exitOK, "member", "Nobody")
	// Never refreshed: the hint says how to refresh it, either way.
	file, srv := w.run("download", "Older")
	require.Equal(t, exitFailed, file.code)
	require.Equal(t, exitFailed, srv.code)
	require.Equal(t, strings.Replace(file.stderr, "--data DIR", "--server URL", 1), srv.stderr)
	r = w.same(exitFailed, "download", "Germans", "--fields", "Customer.Agee")
	require.Contains(t, r.stderr, "Agee")
	for _, out := range []string{"a.csv", "b.csv"} {
		out = filepath.Join(t.TempDir(), out)
		fa, sa := w.args("download", "Germans", "--out", out)
		if strings.HasPrefix(filepath.Base(out), "a") {
			r = runCLI(t, fa...)
		} else {
			r = runCLI(t, sa...)
		}
		require.Equal(t, exitOK, r.code, r.stderr)
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		require.Equal(t, "CustomerId,Age,Country\nC01,20,DE\nC03,22,DE\nC05,24,DE\nC07,26,DE\nC09,28,DE\n", string(b))
	}

	// Destinations and exports: both ways write the same file, one after
	// the other.
	dir := t.TempDir()
	target := filepath.Join(dir, "germans.csv")
	r = w.same(exitOK, "destinations", "add", "Germans", "--to", "csv:"+target)
	require.Contains(t, r.stdout, "after every successful refresh")
	w.same(exitOK, "destinations", "add", "Germans", "--to", "jsonl:"+filepath.Join(dir, "germans.jsonl"), "--name", "lines", "--on-demand", "--json")
	w.same(exitFailed, "destinations", "add", "Germans", "--to", "csv:"+target, "--name", "lines")
	w.same(exitFailed, "destinations", "add", "Germans", "--to", "nowhere:x")
	w.same(exitOK, "destinations", "list", "Germans")
	w.same(exitOK, "destinations", "list", "Germans", "--json")
	w.same(exitOK, "destinations", "list", "Older")
	// A refresh exports to the destination, and reports it.
	r = w.same(exitOK, "refresh", "Germans")
	require.Regexp(t, `export \d+ successful: Germans to csv:`, r.stdout)
	w.same(exitOK, "refresh", "Germans", "--json")
	b, err := os.ReadFile(target)
	require.NoError(t, err)
	require.Contains(t, string(b), "C09")
	w.same(exitOK, "export", "Germans", "--to", "csv:"+target)
	w.same(exitOK, "export", "Germans", "--to", "jsonl:"+filepath.Join(dir, "germans.jsonl"), "--name", "lines", "--json")
	w.same(exitOK, "export", "Germans", "--to", "csv:"+filepath.Join(dir, "new.csv"), "--delta")
	w.same(exitFailed, "export", "Germans", "--to", "csv:"+filepath.Join(dir, "other.csv"), "--name", "lines")
	w.same(exitFailed, "export", "Oldr", "--to", "csv:"+target)
	w.same(exitOK, "exports", "Germans")
	w.same(exitOK, "exports", "Germans", "--json", "--limit", "2")
	w.same(exitOK, "exports", "--job", "1")
	w.same(exitOK, "exports")
	w.same(exitOK, "exports", "--json")
	w.same(exitOK, "exports", "Germans", "--job", "2", "--json")
	w.same(exitFailed, "exports", "Young", "--job", "2")
	w.same(exitOK, "destinations", "remove", "Germans", "lines")
	w.same(exitFailed, "destinations", "remove", "Germans", "lines")

	// Schedules and states.
	w.same(exitOK, "schedule", "Germans", "--cron", "0 6 * * *")
	w.same(exitOK, "schedule", "Germans", "--cron", "0 6 * * *", "--json")
	r = w.same(exitUsage, "schedule", "Germans", "--cron", "daily")
	require.Contains(t, r.stderr, "--cron")
	w.same(exitOK, "schedule", "Germans", "--off")
	w.same(exitOK, "activate", "Older", "--at", "2030-01-02T03:04:05Z")
	w.same(exitOK, "deactivate", "Germans", "--at", "2030-01-02")
	w.same(exitOK, "deactivate", "Germans", "--at", "none")
	w.same(exitOK, "activate", "Older", "--at", "none")
	w.same(exitOK, "show", "Older", "--json")
	w.same(exitOK, "show", "Germans")
	w.same(exitOK, "deactivate", "Germans")
	w.same(exitOK, "deactivate", "Germans", "--json")
	w.same(exitFailed, "activate", "Broken", "--at", "2030-01-02")

	// Renames and deletes.
	r = w.same(exitFailed, "delete", "Germans")
	require.Contains(t, r.stderr, "Young")
	w.same(exitOK, "rename", "Germans", "DE")
	w.same(exitOK, "show", "Young", "--definition")
	w.same(exitFailed, "rename", "DE", "has space")
	w.same(exitOK, "rename", "DE", "Germans", "--json")
	w.same(exitOK, "delete", "Young")
	w.same(exitOK, "delete", "Broken", "--json")
	w.same(exitOK, "list")
	w.same(exitOK, "jobs")
}

// TestClientDifferences covers what the server does otherwise than the
// catalog file: definitions come back compact, and what its API lacks is
// a usage error.
func TestClientDifferences(t *testing.T) {
	data := segData(t, 4)
	db := filepath.Join(t.TempDir(), "server.db")
	ts := startServer(t, db, data, false)
	srv := []string{"--server", ts.url}
	indented := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 20}`)
	r := runSeg(t, append([]string{"create", "--segment", indented}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, append([]string{"show", "Older", "--definition"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	def, err := os.ReadFile(indented)
	require.NoError(t, err)
	require.JSONEq(t, string(def), r.stdout)
	require.NotContains(t, r.stdout, ": ", "the server gives the definition back compact")

	// Activation through the server always refreshes: the server has the
	// data.
	r = runSeg(t, append([]string{"activate", "Older", "--as-of", "2026-01-01"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "job 1 successful: Older (activation)")
	require.Contains(t, r.stdout, "as of 2026-01-01T00:00:00Z")
	// --data is not needed, and not read.
	r = runSeg(t, append([]string{"refresh", "Older", "--data", "/nonexistent"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)

	out := filepath.Join(t.TempDir(), "o.csv")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"preview", "Older", "--rows", "5000"}, "--rows is at most 1000"},
		{[]string{"export", "Older", "--to", "csv:-"}, "standard output"},
		{[]string{"destinations", "add", "Older", "--to", "jsonl:-"}, "standard output"},
		{[]string{"export", "Older"}, "missing --to DEST or --name DESTINATION"},
		{[]string{"export", "Older", "--name", "csv", "--delta"}, "need --to DEST"},
		{[]string{"list", "--catalog", db}, "not both"},
		{[]string{"list", "--server", "ftp://x"}, "want the server's URL"},
		{[]string{"list", "--server", "http://user:secret@localhost:1"}, "SEGMENTKIT_TOKEN"},
	} {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			args := c.args
			if !slices.Contains(args, "--server") {
				args = append(slices.Clone(args), srv...)
			}
			r := runSeg(t, args...)
			require.Equal(t, exitUsage, r.code, "%s%s", r.stdout, r.stderr)
			require.Contains(t, r.stderr, c.want)
			require.NotContains(t, r.stderr, "secret")
			require.Empty(t, r.stdout)
		})
	}

	// --name alone exports to that destination, through the server.
	r = runSeg(t, append([]string{"destinations", "add", "Older", "--to", "csv:" + out, "--on-demand"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, append([]string{"export", "Older", "--name", "csv"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "export 1 successful: Older to csv:"+out)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, 4, strings.Count(string(b), "\n"), "a header and 3 members: %s", b)
	// An attached target with other settings cannot be changed.
	r = runSeg(t, append([]string{"export", "Older", "--to", "csv:" + out, "--fields", "Age"}, srv...)...)
	require.Equal(t, exitUsage, r.code, r.stderr)
	require.Contains(t, r.stderr, "cannot be given other settings")
}

// TestClientEnvironment covers SEGMENTKIT_SERVER: it sends verbs without
// --catalog to the server; --catalog (and --server "") keeps the file.
func TestClientEnvironment(t *testing.T) {
	data := segData(t, 3)
	ts := startServer(t, filepath.Join(t.TempDir(), "server.db"), data, false)
	file := filepath.Join(t.TempDir(), "file.db")
	older := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 20}`)
	t.Setenv(envServer, ts.url)
	r := runSeg(t, "create", "--segment", older)
	require.Equal(t, exitOK, r.code, r.stderr)
	_, err := ts.cat.Get("Older")
	require.NoError(t, err, "created on the server")
	r = runSeg(t, "create", "--segment", older, "--catalog", file, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	_, err = os.Stat(file)
	require.NoError(t, err, "--catalog wins over the environment")
	r = runSeg(t, "list", "--server", "", "--catalog", file)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "list", "--server", ts.url, "--catalog", file)
	require.Equal(t, exitUsage, r.code)
	r = runSeg(t, "list", "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var segs []catalog.Segment
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &segs))
	require.Len(t, segs, 1)

	t.Setenv(envServer, "ftp://example.com")
	r = runSeg(t, "list")
	oneLineError(t, r, exitUsage, envServer+` "ftp://example.com": want the server's URL`)

	// The catalog file a server holds names --server in its message.
	held := filepath.Join(t.TempDir(), "held.db")
	startServer(t, held, data, false)
	r = runSeg(t, "list", "--catalog", held)
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "--server URL")
}

// TestClientTokens covers a server that needs tokens: none, an unknown
// one, and a viewer's asked to change something.
func TestClientTokens(t *testing.T) {
	data := segData(t, 3)
	db := filepath.Join(t.TempDir(), "server.db")
	older := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 20}`)
	r := runSeg(t, "create", "--segment", older, "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	cat, err := catalog.Open(db, catalog.Options{})
	require.NoError(t, err)
	viewer, _, err := cat.CreateToken("dash", catalog.Viewer)
	require.NoError(t, err)
	editor, _, err := cat.CreateToken("ci", catalog.Editor)
	require.NoError(t, err)
	require.NoError(t, cat.Close())
	ts := startServer(t, db, data, true)
	srv := []string{"--server", ts.url}

	t.Setenv(envToken, "")
	r = runSeg(t, append([]string{"list"}, srv...)...)
	require.Equal(t, exitFailed, r.code)
	oneLineError(t, r, exitFailed, "requires an API token", envToken)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)

	t.Setenv(envToken, "sk_not_a_token")
	r = runSeg(t, append([]string{"list"}, srv...)...)
	oneLineError(t, r, exitFailed, "refuses the token in "+envToken)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	require.NotContains(t, r.stderr, "sk_not_a_token")

	t.Setenv(envToken, viewer)
	r = runSeg(t, append([]string{"list"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "Older")
	r = runSeg(t, append([]string{"delete", "Older"}, srv...)...)
	oneLineError(t, r, exitFailed, "needs the editor role", "viewer")
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	require.NotContains(t, r.stderr, viewer)

	t.Setenv(envToken, editor)
	r = runSeg(t, append([]string{"refresh", "Older"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, append([]string{"destinations", "add", "Older", "--to", "csv:" + filepath.Join(t.TempDir(), "x.csv")}, srv...)...)
	oneLineError(t, r, exitFailed, "needs the admin role")
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
}

// TestClientUnreachable covers a server that does not answer, and an
// answer that is not segmentkit's.
func TestClientUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close())
	r := runSeg(t, "list", "--server", url)
	oneLineError(t, r, exitFailed, "cannot reach the segmentkit server at "+url)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
	r = runSeg(t, "show", "X", "--server", strings.TrimPrefix(url, "http://"))
	oneLineError(t, r, exitFailed, "cannot reach the segmentkit server at "+url)
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)

	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "<html>bad gateway</html>", http.StatusBadGateway)
	}))
	defer other.Close()
	r = runSeg(t, "list", "--server", other.URL)
	oneLineError(t, r, exitFailed, "502 Bad Gateway", "is it a segmentkit server?")
	require.Equal(t, 1, strings.Count(r.stderr, "\n"), "one line: %q", r.stderr)
}

// TestClientInterrupt covers Ctrl-C: a request in flight ends, and so
// does a refresh the server runs, which it records as cancelled.
func TestClientInterrupt(t *testing.T) {
	data := segData(t, 3)
	blocked := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-blocked:
		case <-r.Context().Done():
		}
	}))
	defer slow.Close()
	defer close(blocked)
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	r := runCtx(t, ctx, "segments", "list", "--server", slow.URL)
	require.Equal(t, exitInterrupted, r.code, r.stderr)
	require.Contains(t, r.stderr, "interrupted")

	// A job that waits for the data: interrupted, it is cancelled on the
	// server, and the CLI waits for it to be recorded so.
	db := filepath.Join(t.TempDir(), "server.db")
	older := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 20}`)
	gate := new(atomic.Pointer[chan struct{}])
	ts := startGatedServer(t, db, data, false, gate)
	r = runSeg(t, "create", "--segment", older, "--active", "--server", ts.url)
	require.Equal(t, exitOK, r.code, r.stderr)
	wait := make(chan struct{})
	gate.Store(&wait)
	defer close(wait)
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	go func() {
		for ctx.Err() == nil {
			if jobs, _ := ts.cat.Jobs(1); len(jobs) == 1 && jobs[0].ID == 2 && jobs[0].Status == catalog.Refreshing {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	r = runCtx(t, ctx, "segments", "refresh", "Older", "--server", ts.url)
	require.Equal(t, exitInterrupted, r.code, "%s%s", r.stdout, r.stderr)
	require.Contains(t, r.stderr, "interrupted")
	job, err := ts.cat.Job(2)
	require.NoError(t, err)
	require.Equal(t, catalog.Cancelled, job.Status)
	require.Contains(t, r.stdout, "job 2 cancelled", "the interrupted job's report")
}

// TestClientWaitsForExports covers the exports that follow a refresh:
// they run once its job has ended, and the CLI reports them, as the
// file-based refresh does, once they have.
func TestClientWaitsForExports(t *testing.T) {
	data := segData(t, 4)
	var calls atomic.Int32
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		time.Sleep(700 * time.Millisecond)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()
	ts := startServer(t, filepath.Join(t.TempDir(), "server.db"), data, false)
	srv := []string{"--server", ts.url}
	older := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 20}`)
	r := runSeg(t, append([]string{"create", "--segment", older, "--active"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, append([]string{"destinations", "add", "Older", "--to", "webhook:" + hook.URL, "--name", "hook"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, append([]string{"destinations", "add", "Older", "--to", "csv:" + filepath.Join(t.TempDir(), "o.csv"), "--on-demand"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)

	r = runSeg(t, append([]string{"refresh", "Older"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Regexp(t, `(?m)^export 1 successful: Older to webhook:\S+ \(full\), 3 rows$`, r.stdout)
	require.NotContains(t, r.stdout, "csv:", "an on-demand destination is not exported after a refresh")
	require.EqualValues(t, 1, calls.Load())

	r = runSeg(t, append([]string{"refresh", "Older", "--json"}, srv...)...)
	require.Equal(t, exitOK, r.code, r.stderr)
	var job catalog.Job
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &job))
	require.Equal(t, []uint64{2}, job.Exports)
	stored, err := ts.cat.Job(job.ID)
	require.NoError(t, err)
	require.Equal(t, stored.Exports, job.Exports)
}
