package catalog

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// TestRefreshAsOfDemo refreshes the demo's example segment at the demo's
// as-of instant: the catalog stores the members a direct engine
// evaluation at that instant finds, while a refresh at the clock's now
// (months after the demo's orders) finds others.
func TestRefreshAsOfDemo(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	sum, err := demo.Write(ctx, dir, demo.Options{})
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src := NewDirSource(dir, storage.Options{Allocator: mem})
	defer src.Close()
	clock := clockwork.NewFakeClockAt(time.Date(2026, 12, 1, 20, 0, 0, 0, time.UTC))
	cat, err := Open(filepath.Join(t.TempDir(), "catalog.db"), Options{Clock: clock, Source: src})
	require.NoError(t, err)
	defer cat.Close()

	seg, err := cat.Create(ctx, demo.ExampleSegment(), CreateOptions{Active: true})
	require.NoError(t, err)
	atNow := seg.MemberCount

	job, err := cat.RefreshWith(ctx, RefreshOptions{AsOf: sum.AsOf}, seg.Name)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	require.Equal(t, sum.AsOf, job.AsOf)

	// The engine's own evaluation at the demo's as-of.
	snap, release, err := src.Snapshot(ctx)
	require.NoError(t, err)
	def, err := segment.Parse(demo.ExampleSegment())
	require.NoError(t, err)
	plan, err := engine.Compile(def, snap, engine.Options{})
	require.NoError(t, err)
	want, err := plan.Eval(ctx, sum.AsOf)
	require.NoError(t, err)
	release()

	got, err := cat.Members(ctx, seg.Name)
	require.NoError(t, err)
	require.Positive(t, want.GetCardinality())
	require.True(t, want.Equals(got), "catalog members %d, engine %d", got.GetCardinality(), want.GetCardinality())
	require.EqualValues(t, sum.ExpectedMembers, got.GetCardinality())
	require.Equal(t, want.GetCardinality(), taskOf(t, job, seg.Name).MemberCount)
	require.NotEqual(t, got.GetCardinality(), atNow, "the clock's now is not the demo's as-of")
}

// recentDef selects the customers with an order in the 30 days before the
// as-of instant.
var recentDef = def("Recent", `{"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 30}}`)

// The test data's orders are dated 2026-02-01: in the last 30 days on
// 2026-02-15 and at t0 (2026-03-02), not on 2026-04-01.
var (
	feb15 = time.Date(2026, 2, 15, 12, 0, 0, 0, time.UTC)
	apr1  = time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC)
)

func TestAsOfOnEveryCall(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	seg, err := e.cat.Create(ctx, recentDef, CreateOptions{Active: true, AsOf: apr1})
	require.NoError(t, err)
	require.Zero(t, seg.MemberCount)
	jobs, err := e.cat.Jobs(1)
	require.NoError(t, err)
	require.Equal(t, apr1, jobs[0].AsOf)

	// A non-UTC instant is recorded in UTC.
	job, err := e.cat.RefreshWith(ctx, RefreshOptions{AsOf: feb15.In(time.FixedZone("X", 3600))}, "Recent")
	require.NoError(t, err)
	require.Equal(t, feb15, job.AsOf)
	require.EqualValues(t, 10, taskOf(t, job, "Recent").MemberCount)

	job, err = e.cat.RefreshAllWith(ctx, RefreshOptions{AsOf: apr1})
	require.NoError(t, err)
	require.Equal(t, apr1, job.AsOf)
	require.Zero(t, taskOf(t, job, "Recent").MemberCount)

	// Zero options: the clock's now.
	job, err = e.cat.Refresh(ctx, "Recent")
	require.NoError(t, err)
	require.Equal(t, t0, job.AsOf)
	require.EqualValues(t, 10, taskOf(t, job, "Recent").MemberCount)
	job, err = e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, t0, job.AsOf)

	require.NoError(t, e.cat.Deactivate("Recent"))
	job, err = e.cat.ActivateWith(ctx, "Recent", RefreshOptions{AsOf: apr1})
	require.NoError(t, err)
	require.Equal(t, apr1, job.AsOf)
	require.Zero(t, taskOf(t, job, "Recent").MemberCount)
	require.NoError(t, e.cat.Deactivate("Recent"))
	job, err = e.cat.Activate(ctx, "Recent")
	require.NoError(t, err)
	require.Equal(t, t0, job.AsOf)

	// Every job and history entry keeps its as-of in the file.
	e.cat.Close()
	e.open(t, Options{})
	jobs, err = e.cat.Jobs(0)
	require.NoError(t, err)
	var asOfs []time.Time
	for _, j := range jobs {
		asOfs = append(asOfs, j.AsOf)
	}
	require.Equal(t, []time.Time{t0, apr1, t0, t0, apr1, feb15, apr1}, asOfs)
	hist, err := e.cat.History("Recent", time.Time{}, time.Time{})
	require.NoError(t, err)
	asOfs = asOfs[:0]
	for _, h := range hist {
		asOfs = append(asOfs, h.AsOf)
	}
	require.Equal(t, []time.Time{apr1, feb15, apr1, t0, t0, apr1, t0}, asOfs)
}

func TestJobCancelledBeforeStartRecordsAsOf(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := e.cat.Create(context.Background(), recentDef, CreateOptions{})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	job, err := e.cat.Refresh(ctx, "Recent")
	require.ErrorIs(t, err, ErrCancelled)
	require.Equal(t, t0, job.AsOf)
	job, err = e.cat.RefreshWith(ctx, RefreshOptions{AsOf: apr1}, "Recent")
	require.ErrorIs(t, err, ErrCancelled)
	require.Equal(t, apr1, job.AsOf)
}

// dropAsOf removes "asOf" from every job header and history entry of the
// catalog file, as versions that did not record it wrote them.
func dropAsOf(t *testing.T, path string, jobs, history bool) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	strip := func(b *bolt.Bucket, k, v []byte) error {
		var m map[string]json.RawMessage
		if err := decodeRecord(k, v, &m); err != nil {
			return err
		}
		delete(m, "asOf")
		out, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return b.Put(k, out)
	}
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		if jobs {
			err := tx.Bucket(bucketJobs).ForEachBucket(func(k []byte) error {
				b := tx.Bucket(bucketJobs).Bucket(k)
				return strip(b, keyJob, b.Get(keyJob))
			})
			if err != nil {
				return err
			}
		}
		if history {
			return tx.Bucket(bucketHistory).ForEachBucket(func(k []byte) error {
				b := tx.Bucket(bucketHistory).Bucket(k)
				var keys, vals [][]byte
				b.ForEach(func(k, v []byte) error {
					keys, vals = append(keys, bytes.Clone(k)), append(vals, bytes.Clone(v))
					return nil
				})
				for i := range keys {
					if err := strip(b, keys[i], vals[i]); err != nil {
						return err
					}
				}
				return nil
			})
		}
		return nil
	}))
}

// spend30dSchema is the test schema with a measure of the last 30 days'
// spend.
var spend30dSchema = strings.Replace(testSchema, `"measures": [`, `"measures": [
    {"name": "Spend30d", "related": "Order",
     "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 30},
     "aggregate": {"function": "sum", "attribute": "Order.Amount"}},`, 1)

// measureAt formats the measure of the customers with the keys, computed
// by the engine over the current data at asOf.
func measureAt(t *testing.T, e *env, name string, asOf time.Time, keys []string) []string {
	t.Helper()
	d, err := e.cat.loadData(context.Background())
	require.NoError(t, err)
	defer d.release()
	m, ok := engine.Measures(d.snap).Lookup(name)
	require.True(t, ok, name)
	vals, err := engine.EvalMeasure(context.Background(), d.snap, m, asOf)
	require.NoError(t, err)
	var out []string
	for _, k := range keys {
		id, ok := d.snap.CustomerID(k)
		require.True(t, ok)
		out = append(out, vals.Format(id))
	}
	return out
}

// column returns column i of rows.
func column(rows [][]string, i int) []string {
	var out []string
	for _, r := range rows {
		out = append(out, r[i])
	}
	return out
}

// TestPreviewAtJobAsOf: preview and download compute their columns at the
// as-of of the job that computed the members unless asked for another
// instant.
func TestPreviewAtJobAsOf(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	writeFile(t, filepath.Join(e.dir, "schema.json"), spend30dSchema)
	_, err := e.cat.Create(ctx, def("Spenders", `{"attribute": "Measures.Spend30d", "operator": "greaterThan", "value": 250}`), CreateOptions{})
	require.NoError(t, err)
	_, err = e.cat.ActivateWith(ctx, "Spenders", RefreshOptions{AsOf: feb15})
	require.NoError(t, err)
	keys := keysFrom(3, 10)
	atFeb15 := measureAt(t, e, "Spend30d", feb15, keys)
	atApr1 := measureAt(t, e, "Spend30d", apr1, keys)
	require.NotEqual(t, atFeb15, atApr1, "the measure differs between the two instants")

	e.clock.Advance(apr1.Sub(e.clock.Now()))
	p, err := e.cat.Preview(ctx, "Spenders", 0)
	require.NoError(t, err)
	require.Equal(t, feb15, p.AsOf)
	require.Equal(t, keys, column(p.Rows, 0))
	require.Equal(t, "Measures.Spend30d", p.Columns[1].Name)
	require.Equal(t, atFeb15, column(p.Rows, 1))
	p, err = e.cat.PreviewWith(ctx, "Spenders", 0, PreviewOptions{AsOf: apr1})
	require.NoError(t, err)
	require.Equal(t, apr1, p.AsOf)
	require.Equal(t, atApr1, column(p.Rows, 1))
	// The columns are computed for the members shown.
	p, err = e.cat.PreviewWith(ctx, "Spenders", 3, PreviewOptions{})
	require.NoError(t, err)
	require.EqualValues(t, len(keys), p.Total)
	require.Equal(t, keys[:3], column(p.Rows, 0))
	require.Equal(t, atFeb15[:3], column(p.Rows, 1))

	download := func(opts PreviewOptions) []string {
		var buf bytes.Buffer
		require.NoError(t, e.cat.DownloadWith(ctx, "Spenders", &buf, []string{"Measures.Spend30d"}, opts))
		rows, err := csv.NewReader(&buf).ReadAll()
		require.NoError(t, err)
		return column(rows[1:], 1) // after the key
	}
	require.Equal(t, atFeb15, download(PreviewOptions{}))
	require.Equal(t, atApr1, download(PreviewOptions{AsOf: apr1}))
	var buf bytes.Buffer
	require.NoError(t, e.cat.Download(ctx, "Spenders", &buf, []string{"Measures.Spend30d"}))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"CustomerId", "Measures.Spend30d"}, rows[0], "the key comes first")
	require.Equal(t, atFeb15, column(rows[1:], 1))

	// A static segment's kept members keep the as-of of the job that froze
	// them.
	_, err = e.cat.Create(ctx, staticDef("Frozen", `{"attribute": "Measures.Spend30d", "operator": "greaterThan", "value": 250}`), CreateOptions{Active: true, AsOf: feb15})
	require.NoError(t, err)
	job, err := e.cat.RefreshWith(ctx, RefreshOptions{AsOf: apr1}, "Frozen")
	require.NoError(t, err)
	require.True(t, taskOf(t, job, "Frozen").Kept)
	p, err = e.cat.Preview(ctx, "Frozen", 0)
	require.NoError(t, err)
	require.Equal(t, feb15, p.AsOf)
	require.Equal(t, atFeb15, column(p.Rows, 1))

	// A segment never refreshed: the clock's now.
	_, err = e.cat.Create(ctx, def("Never", ageOver(20)), CreateOptions{})
	require.NoError(t, err)
	p, err = e.cat.Preview(ctx, "Never", 0)
	require.NoError(t, err)
	require.Equal(t, apr1, p.AsOf)
}

// TestOldFilesWithoutAsOf: jobs and history entries stored without an
// as-of still read; the preview then takes the job's as-of, or the
// entry's time when the job has none either.
func TestOldFilesWithoutAsOf(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, recentDef, CreateOptions{})
	require.NoError(t, err)
	job, err := e.cat.ActivateWith(ctx, "Recent", RefreshOptions{AsOf: feb15})
	require.NoError(t, err)
	require.NoError(t, e.cat.Close())

	dropAsOf(t, e.path, false, true)
	e.open(t, Options{})
	p, err := e.cat.Preview(ctx, "Recent", 0)
	require.NoError(t, err)
	require.Equal(t, feb15, p.AsOf, "the job's as-of")
	require.NoError(t, e.cat.Close())

	dropAsOf(t, e.path, true, true)
	e.open(t, Options{})
	old, err := e.cat.Job(job.ID)
	require.NoError(t, err)
	require.Zero(t, old.AsOf, "unknown")
	require.Equal(t, job.Tasks[0].MemberCount, old.Tasks[0].MemberCount)
	hist, err := e.cat.History("Recent", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, hist, 1)
	require.Zero(t, hist[0].AsOf)
	p, err = e.cat.Preview(ctx, "Recent", 0)
	require.NoError(t, err)
	require.Equal(t, hist[0].Time, p.AsOf, "the entry's time")
	require.NoError(t, e.cat.Verify())
}
