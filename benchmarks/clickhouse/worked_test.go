package clickhouse

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/docexample"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/sqlgen"
	"github.com/segmentkit/segmentkit/storage"
)

// The worked example of docs/scale-out.md on the two-shard cluster: the
// document's section, the database its commands create, the folder of
// the demo data they write, and the as-of date and row orders of its
// queries.
const (
	workedDoc      = "../../docs/scale-out.md"
	workedSection  = "### On a two-shard ClickHouse cluster"
	workedDatabase = "segmentkit_demo"
	workedData     = "demo-data"
)

var (
	workedAsOf     = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	workedRowOrder = map[string]string{"Order": "OrderId", "OrderLine": "OrderLineId"}
	// workedLine is a line the example's loop prints for a segment.
	workedLine = regexp.MustCompile(`^(\S+): (\d+) members, the same in ClickHouse as in segmentkit eval$`)
)

// TestWorkedExample runs the shell blocks of docs/scale-out.md's
// ClickHouse section, as written, with bash on the tests' cluster (SHARDS
// set to its shards' native addresses) and a segmentkit built from this
// tree first on PATH. The output must end with the lines the section
// shows. Then, apart from the commands' own comparison, it checks that
// the tables hold the demo's values exactly, each row on the shard of its
// customer, and that each segment's members on the cluster are the
// engine's.
func TestWorkedExample(t *testing.T) {
	data, err := os.ReadFile(workedDoc)
	require.NoError(t, err)
	var script, shown string
	for _, b := range docexample.Section(string(data), workedSection) {
		switch b.Info {
		case "sh":
			script += b.Text
		case "text":
			shown = b.Text
		}
	}
	require.NotEmpty(t, script, "%s has no shell blocks under %q", workedDoc, workedSection)
	require.NotEmpty(t, shown, "%s shows no output under %q", workedDoc, workedSection)

	c := workedCluster(t)
	ctx := context.Background()
	shards, err := c.Rows(ctx, "SELECT host_address, port FROM system.clusters WHERE cluster = "+Quote(c.name())+" ORDER BY shard_num")
	require.NoError(t, err)
	var addrs []string
	for _, s := range shards {
		addrs = append(addrs, s[0].Text+":"+s[1].Text)
	}
	require.Len(t, addrs, len(c.Shards))

	// Built in the main module, with its own dependencies.
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(bin, "segmentkit"), "./cmd/segmentkit")
	build.Dir = "../.."
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build segmentkit: %s", out)

	dir := t.TempDir()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -euo pipefail\n"+script)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PATH="+bin+string(os.PathListSeparator)+os.Getenv("PATH"), "SHARDS="+strings.Join(addrs, " "))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err = cmd.Run()
	t.Logf("the example's commands ran in %s", time.Since(start).Round(time.Millisecond))
	require.NoError(t, err, "the example's commands failed:\nstdout:\n%s\nstderr:\n%s", stdout.String(), stderr.String())
	require.True(t, strings.HasSuffix(stdout.String(), shown),
		"the commands' output does not end with the lines %s shows:\n%s", workedDoc, stdout.String())

	snap, err := storage.Load(ctx, filepath.Join(dir, workedData), storage.Options{})
	require.NoError(t, err)
	defer snap.Release()
	db := *c
	db.Database = workedDatabase
	requireWorkedTables(t, &db, snap)

	n := 0
	for _, line := range strings.Split(strings.TrimSpace(shown), "\n") {
		m := workedLine.FindStringSubmatch(line)
		require.NotNil(t, m, "an output line of the example: %q", line)
		count, err := strconv.Atoi(m[2])
		require.NoError(t, err)
		requireWorkedMembers(t, &db, snap, filepath.Join(dir, m[1]), count)
		n++
	}
	require.GreaterOrEqual(t, n, 3, "the example compares the demo's segment and at least two more")
}

// workedCluster returns the tests' cluster, with the example's database
// dropped on every shard now (a run before may have left it) and when the
// test ends.
func workedCluster(t *testing.T) *Cluster {
	t.Helper()
	c := testCluster(t) // its own database, unused: the example names its own
	ctx := context.Background()
	drop := func() error {
		for i := range c.Shards {
			s := c.Shard(i)
			s.Database = ""
			if err := s.Exec(ctx, "DROP DATABASE IF EXISTS "+QuoteIdent(workedDatabase)); err != nil {
				return err
			}
		}
		return nil
	}
	require.NoError(t, drop())
	t.Cleanup(func() { require.NoError(t, drop()) })
	s := *c
	s.Database = ""
	return &s
}

// requireWorkedTables checks every entity's tables against the snapshot:
// through the Distributed table, each row with its values exactly; on
// each shard's local table, the customers ShardOf puts there and every
// row whose customer is there.
func requireWorkedTables(t *testing.T, c *Cluster, snap *storage.Snapshot) {
	t.Helper()
	ctx := context.Background()
	sch := snap.Schema()
	for _, e := range sch.Entities {
		tbl := snap.Table(e.Name)
		var cols []string
		for _, a := range e.Attributes {
			cols = append(cols, QuoteIdent(a.Name))
		}
		rows, err := c.Rows(ctx, "SELECT "+strings.Join(cols, ", ")+" FROM "+QuoteIdent(e.Name))
		require.NoError(t, err)
		require.Len(t, rows, tbl.NumRows, e.Name)
		keyCol := e.AttributeIndex(e.Key)
		byKey := make(map[string][]Field, len(rows))
		for _, r := range rows {
			byKey[r[keyCol].Text] = r
		}
		require.Len(t, byKey, len(rows), "%s: keys read back are unique", e.Name)
		key := tbl.Column(e.Key)
		for r := range tbl.NumRows {
			got, ok := byKey[key.Format(r)]
			require.True(t, ok, "%s %s is missing", e.Name, key.Format(r))
			for i, col := range tbl.Columns {
				requireSameValue(t, col.Attr.Type.String(), col.Format(r), got[i], "%s %s, %s", e.Name, key.Format(r), col.Attr.Name)
			}
		}

		shardOf := map[string]int{}
		for i := range c.Shards {
			keys, err := c.Shard(i).Query(ctx, "SELECT "+QuoteIdent(e.Key)+" FROM "+QuoteIdent(e.Name+LocalSuffix))
			require.NoError(t, err)
			for _, k := range keys {
				shardOf[k] = i
			}
		}
		require.Len(t, shardOf, tbl.NumRows, "%s: every row on one shard", e.Name)
		var links *storage.Links
		if e.Name != sch.CustomerEntity {
			links = snap.Links(e.Name, sch.Paths(e.Name)[0])
			require.NotNil(t, links, e.Name)
		}
		linked := 0
		for r := range tbl.NumRows {
			cust := key.Format(r)
			if links != nil {
				id := links.Customer[r]
				if id == storage.NoCustomer {
					continue // no customer: any shard
				}
				cust = snap.CustomerKey(uint32(id))
			}
			linked++
			require.Equal(t, ShardOf(cust, len(c.Shards)), shardOf[key.Format(r)], "%s %s, of customer %s", e.Name, key.Format(r), cust)
		}
		require.Positive(t, linked, e.Name)
	}
}

// requireWorkedMembers checks one segment of the example: the engine has
// count members at the example's as-of date, and the cluster gives the
// same for the query sqlgen writes with the example's options.
func requireWorkedMembers(t *testing.T, c *Cluster, snap *storage.Snapshot, file string, count int) {
	t.Helper()
	data, err := os.ReadFile(file)
	require.NoError(t, err)
	def, err := segment.Parse(data)
	require.NoError(t, err, file)
	plan, err := engine.Compile(def, snap, engine.Options{})
	require.NoError(t, err, file)
	members, err := plan.Eval(context.Background(), workedAsOf)
	require.NoError(t, err, file)
	require.EqualValues(t, count, members.GetCardinality(), "%s: the engine's member count", file)
	want := map[string]bool{}
	it := members.Iterator()
	for it.HasNext() {
		want[snap.CustomerKey(it.Next())] = true
	}

	q, err := sqlgen.Compile(def, snap.Schema(), sqlgen.Options{Dialect: sqlgen.ClickHouse, AsOf: workedAsOf, Inline: true, RowOrder: workedRowOrder})
	require.NoError(t, err, file)
	keys, err := c.Query(context.Background(), q.SQL)
	require.NoError(t, err, file)
	got := map[string]bool{}
	for _, k := range keys {
		got[k] = true
	}
	require.Len(t, keys, len(got), "%s: a member twice", file)
	require.Equal(t, want, got, fmt.Sprintf("%s: the cluster's members are not the engine's", file))
}

// TestWorkedExampleNumbers checks the example's conversion of number text
// on the server: toFloat64(toDecimal64(x, 4)) gives the float nearest to
// the decimal for numbers of up to four decimals, as segmentkit reads
// them, where toFloat64(x) of the text does not for some (the demo's own
// values happen to read exactly either way).
func TestWorkedExampleNumbers(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	require.NoError(t, c.Exec(ctx, "CREATE TABLE numbers_text (x String) ENGINE = Log"))
	var texts []string
	for i := range 100_000 {
		texts = append(texts, fmt.Sprintf("%d.%02d", i/100, i%100), fmt.Sprintf("%d.%04d", i/10000, i%10000),
			fmt.Sprintf("%d.%02d", i*7919, i%100))
	}
	require.NoError(t, c.Insert(ctx, "INSERT INTO numbers_text FORMAT TabSeparated", strings.NewReader(strings.Join(texts, "\n")+"\n")))
	rows, err := c.Rows(ctx, "SELECT x, toFloat64(toDecimal64(x, 4)), toFloat64(x) FROM numbers_text")
	require.NoError(t, err)
	require.Len(t, rows, len(texts))
	inexact := 0
	for _, r := range rows {
		want, err := strconv.ParseFloat(r[0].Text, 64)
		require.NoError(t, err)
		viaDecimal, err := strconv.ParseFloat(r[1].Text, 64)
		require.NoError(t, err)
		require.Equal(t, want, viaDecimal, "toFloat64(toDecimal64(%q, 4)) is %s", r[0].Text, r[1].Text)
		if plain, err := strconv.ParseFloat(r[2].Text, 64); err != nil || plain != want {
			inexact++
		}
	}
	require.Positive(t, inexact, "toFloat64 of the text reads every value exactly: the example's conversion through Decimal64 may be dropped")
	t.Logf("toFloat64 of the text misreads %d of %d values", inexact, len(rows))
}
