package catalog

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// appendedSource serves a snapshot the test replaces.
type appendedSource struct {
	mu   sync.Mutex
	snap *storage.Snapshot
}

func (s *appendedSource) Schema(context.Context) (*schema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.Schema(), nil
}

func (s *appendedSource) Snapshot(context.Context) (*storage.Snapshot, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap, func() {}, nil
}

func (s *appendedSource) String() string { return "swapped snapshot" }

// appendOrders appends orders (id, customer, amount, date) to snap.
func appendOrders(t *testing.T, snap *storage.Snapshot, rows [][4]string) *storage.Snapshot {
	t.Helper()
	mem := memory.DefaultAllocator
	ids, custs, chans := array.NewStringBuilder(mem), array.NewStringBuilder(mem), array.NewStringBuilder(mem)
	amounts := array.NewFloat64Builder(mem)
	dates := array.NewDate32Builder(mem)
	for _, r := range rows {
		ids.Append(r[0])
		custs.Append(r[1])
		amounts.Append(map[string]float64{"big": 500, "small": 5}[r[2]])
		d, err := time.Parse(time.DateOnly, r[3])
		require.NoError(t, err)
		dates.Append(arrow.Date32FromTime(d))
		chans.Append("web")
	}
	cols := []arrow.Array{ids.NewArray(), custs.NewArray(), amounts.NewArray(), dates.NewArray(), chans.NewArray()}
	names := []string{"OrderId", "CustomerId", "Amount", "OrderDate", "Channel"}
	fields := make([]arrow.Field, len(cols))
	for i, c := range cols {
		fields[i] = arrow.Field{Name: names[i], Type: c.DataType(), Nullable: true}
		defer c.Release()
	}
	rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(len(rows)))
	defer rec.Release()
	next, err := snap.Append(context.Background(), map[string]arrow.RecordBatch{"Order": rec}, storage.Options{})
	require.NoError(t, err)
	return next
}

// TestRefreshReusesUnchanged checks the selective refresh: after orders
// are appended, a segment on customers only keeps its members without an
// evaluation, one on orders is evaluated again, and so is one that
// references it; members equal those of a full evaluation. A new as-of
// day makes a segment with a relative date evaluate again, the same day
// does not.
func TestRefreshReusesUnchanged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeData(t, dir, people(10), someOrders(4))
	base, err := storage.Load(ctx, dir, storage.Options{})
	require.NoError(t, err)
	defer base.Release()
	src := &appendedSource{snap: base}
	clock := clockwork.NewFakeClockAt(t0)
	cat, err := Open(filepath.Join(t.TempDir(), "catalog.db"), Options{Clock: clock, Source: src})
	require.NoError(t, err)
	defer cat.Close()
	for _, d := range [][]byte{
		def("Older", ageOver(25)),
		def("BigSpenders", `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 450}`),
		def("OlderBig", `{"and": [{"segment": "Older"}, {"segment": "BigSpenders"}]}`),
		def("OlderOnly", `{"and": [{"segment": "Older"}, {"attribute": "Customer.IsVip", "operator": "isTrue"}]}`),
		def("Recent", `{"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 40}}`),
		def("SpendMeasure", `{"attribute": "Measures.Spend", "operator": "greaterThan", "value": 450}`),
	} {
		_, err := cat.Create(ctx, d, CreateOptions{Active: true})
		require.NoError(t, err)
	}
	names := []string{"Older", "BigSpenders", "OlderBig", "OlderOnly", "Recent", "SpendMeasure"}
	// The same snapshot is evaluated again, as before.
	job, err := cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	for _, n := range names {
		require.False(t, taskOf(t, job, n).Reused, n)
	}

	// C005 gets a big order: the order segments are evaluated again.
	next := appendOrders(t, base, [][4]string{{"O9001", "C005", "big", "2026-03-01"}})
	defer next.Release()
	src.mu.Lock()
	src.snap = next
	src.mu.Unlock()
	clock.Advance(time.Hour) // the same day
	job, err = cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	for n, reused := range map[string]bool{"Older": true, "OlderOnly": true, "BigSpenders": false, "OlderBig": false, "Recent": false, "SpendMeasure": false} {
		task := taskOf(t, job, n)
		require.Equal(t, reused, task.Reused, n)
		if reused {
			require.Contains(t, strings.Join(task.Warnings, "\n"), "only Order changed (rows appended)")
		}
	}
	hist, err := cat.History("Older", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.True(t, hist[len(hist)-1].Reused)

	// The members are those of a full load and evaluation of the same
	// data, at the same instant, in a catalog of its own.
	dir2 := t.TempDir()
	writeData(t, dir2, people(10), append(someOrders(4), order{id: "O9001", customer: "C005", amount: 500, date: "2026-03-01", channel: "web"}))
	full := NewDirSource(dir2, storage.Options{})
	defer full.Close()
	cat2, err := Open(filepath.Join(t.TempDir(), "catalog.db"), Options{Clock: clock, Source: full})
	require.NoError(t, err)
	defer cat2.Close()
	for _, n := range names {
		seg, err := cat.Get(n)
		require.NoError(t, err)
		_, err = cat2.Create(ctx, seg.Definition, CreateOptions{Active: true})
		require.NoError(t, err)
	}
	job2, err := cat2.RefreshAllWith(ctx, RefreshOptions{AsOf: job.AsOf})
	require.NoError(t, err)
	require.Equal(t, Successful, job2.Status)
	fullSnap, release, err := full.Snapshot(ctx)
	require.NoError(t, err)
	defer release()
	keysOf := func(c *Catalog, snap *storage.Snapshot, n string) []string {
		bm, err := c.Members(ctx, n)
		require.NoError(t, err)
		var out []string
		for it := bm.Iterator(); it.HasNext(); {
			out = append(out, snap.CustomerKey(it.Next()))
		}
		return out
	}
	for _, n := range names {
		require.Equal(t, keysOf(cat2, fullSnap, n), keysOf(cat, next, n), n)
	}
	bs, err := cat.Members(ctx, "BigSpenders")
	require.NoError(t, err)
	id, _ := next.CustomerID("C005")
	require.True(t, bs.Contains(id))

}

// TestReadsOf checks what a definition is taken to read: the entities
// along its related conditions' paths, those of the measures it uses,
// and how the as-of instant matters.
func TestReadsOf(t *testing.T) {
	sch, err := schema.Parse([]byte(testSchema))
	require.NoError(t, err)
	for _, c := range []struct {
		cond     string
		entities []string
		asOf     asOfUse
	}{
		{ageOver(3), []string{"Customer"}, asOfUnused},
		{`{"segment": "Other"}`, nil, asOfUnused},
		{`{"attribute": "Order.Channel", "operator": "equals", "value": "web"}`, []string{"Order", "Customer"}, asOfUnused},
		{`{"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 3}`, []string{"Order", "Customer"}, asOfDay},
		{`{"related": "Order", "aggregate": {"function": "max", "attribute": "Order.OrderDate"}, "operator": "inLastDays", "value": 30}`, []string{"Order", "Customer"}, asOfDay},
		{`{"attribute": "Measures.Spend", "operator": "greaterThan", "value": 1}`, []string{"Order", "Customer"}, asOfUnused},
		{`{"not": {"and": [` + ageOver(3) + `, {"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inNextDays", "value": 3}}]}}`, []string{"Customer", "Order"}, asOfDay},
		{`{"attribute": "Order.OrderDate", "operator": "anniversaryInNextDays", "value": 3}`, []string{"Order", "Customer"}, asOfDay},
		{`{"related": "Order", "stopped": {"attribute": "Order.OrderDate", "lastDays": 3, "priorDays": 30}}`, []string{"Order", "Customer"}, asOfDay},
		{`{"related": "Order", "sequence": {"attribute": "Order.OrderDate", "first": {"attribute": "Order.Channel", "operator": "equals", "value": "web"}, "then": {"attribute": "Order.Channel", "operator": "equals", "value": "store"}, "withinDays": 3}}`, []string{"Order", "Customer"}, asOfUnused},
	} {
		d, err := segment.Parse(def("X", c.cond))
		require.NoError(t, err, c.cond)
		r := readsOf(d, sch)
		require.False(t, r.all, c.cond)
		require.ElementsMatch(t, c.entities, r.entities, c.cond)
		require.Equal(t, c.asOf, r.asOf, c.cond)
	}
	// A day in another time zone than UTC moves at another instant.
	d, err := segment.Parse([]byte(`{"name": "X", "timeZone": "Asia/Tokyo", "groups": [{"condition": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 3}}]}`))
	require.NoError(t, err)
	require.Equal(t, asOfInstant, readsOf(d, sch).asOf)
	require.True(t, sameDay(t0, t0.Add(14*time.Hour)))
	require.False(t, sameDay(t0, t0.Add(15*time.Hour)))
}
