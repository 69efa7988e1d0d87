package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/segmentkit/segmentkit/schema"
)

// appendSchema has a customer entity, a related entity with one path
// (Order), one two hops away (OrderLine) and one with two paths (Case).
const appendSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.csv",
     "attributes": [
       {"name": "CustomerId", "type": "string"},
       {"name": "Age",        "type": "integer"},
       {"name": "Country",    "type": "string"},
       {"name": "Vip",        "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.csv",
     "attributes": [
       {"name": "OrderId",    "type": "integer"},
       {"name": "CustomerId", "type": "string"},
       {"name": "Amount",     "type": "number"},
       {"name": "Day",        "type": "date"}]},
    {"name": "OrderLine", "key": "LineId", "source": "OrderLine.csv",
     "attributes": [
       {"name": "LineId",  "type": "integer"},
       {"name": "OrderId", "type": "integer"},
       {"name": "Sku",     "type": "string"}]},
    {"name": "Case", "key": "CaseId", "source": "Case.csv",
     "attributes": [
       {"name": "CaseId",     "type": "integer"},
       {"name": "CustomerId", "type": "string"},
       {"name": "OrderId",    "type": "integer"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "CustomerId"}},
    {"name": "LineOrder", "from": {"entity": "OrderLine", "attribute": "OrderId"}, "to": {"entity": "Order", "attribute": "OrderId"}},
    {"name": "CaseCustomer", "from": {"entity": "Case", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "CustomerId"}},
    {"name": "CaseOrder", "from": {"entity": "Case", "attribute": "OrderId"}, "to": {"entity": "Order", "attribute": "OrderId"}}
  ]
}`

// rows are an entity's rows as CSV text, "" for null.
type rows [][]string

// genRows draws data for appendSchema: keys drawn from pools a little
// larger than the rows, so that foreign keys dangle, and pools of few
// strings, so that string columns are dictionary-encoded.
func genRows(t *rapid.T) map[string]rows {
	null := func(label string) bool { return rapid.IntRange(0, 5).Draw(t, label) == 0 }
	keys := func(label string, n, pool int, f func(int) string) []string {
		perm := rapid.Permutation(makeRange(pool)).Draw(t, label)
		out := make([]string, n)
		for i := range out {
			out[i] = f(perm[i])
		}
		return out
	}
	cust := func(i int) string { return "C" + strconv.Itoa(i) }
	num := strconv.Itoa
	ref := func(label string, pool int, f func(int) string) string {
		if null(label + "Null") {
			return ""
		}
		return f(rapid.IntRange(0, pool-1).Draw(t, label))
	}
	out := map[string]rows{}
	nc := rapid.IntRange(0, 8).Draw(t, "customers")
	for _, k := range keys("customerKeys", nc, 12, cust) {
		age := ""
		if !null("ageNull") {
			age = num(rapid.IntRange(-5, 90).Draw(t, "age"))
		}
		country := ""
		if !null("countryNull") {
			country = rapid.SampledFrom([]string{"FR", "DE", "US", "JP"}).Draw(t, "country")
		}
		vip := ""
		if !null("vipNull") {
			vip = strconv.FormatBool(rapid.Bool().Draw(t, "vip"))
		}
		out["Customer"] = append(out["Customer"], []string{k, age, country, vip})
	}
	no := rapid.IntRange(0, 14).Draw(t, "orders")
	for _, k := range keys("orderKeys", no, 20, num) {
		amount := ""
		if !null("amountNull") {
			amount = rapid.SampledFrom([]string{"0.1", "0.2", "0.3", "1e16", "-1e16", "7", "2.5"}).Draw(t, "amount")
		}
		day := ""
		if !null("dayNull") {
			day = fmt.Sprintf("2024-03-%02d", rapid.IntRange(1, 28).Draw(t, "day"))
		}
		out["Order"] = append(out["Order"], []string{k, ref("orderCustomer", 12, cust), amount, day})
	}
	nl := rapid.IntRange(0, 16).Draw(t, "lines")
	for _, k := range keys("lineKeys", nl, 24, num) {
		sku := ""
		if !null("skuNull") {
			sku = rapid.SampledFrom([]string{"a", "b", "c"}).Draw(t, "sku")
		}
		out["OrderLine"] = append(out["OrderLine"], []string{k, ref("lineOrder", 20, num), sku})
	}
	ns := rapid.IntRange(0, 8).Draw(t, "cases")
	for _, k := range keys("caseKeys", ns, 10, num) {
		out["Case"] = append(out["Case"], []string{k, ref("caseCustomer", 12, cust), ref("caseOrder", 20, num)})
	}
	return out
}

func makeRange(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

// csvOf writes rows as the CSV file of entity e.
func csvOf(e *schema.Entity, rs rows) string {
	var b strings.Builder
	for i, a := range e.Attributes {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.Name)
	}
	b.WriteByte('\n')
	for _, r := range rs {
		b.WriteString(strings.Join(r, ","))
		b.WriteByte('\n')
	}
	return b.String()
}

// recordOfRows builds rows as a record of entity e, the text parsed as a
// CSV load parses it; the caller releases it.
func recordOfRows(t require.TestingT, mem memory.Allocator, e *schema.Entity, rs rows) arrow.RecordBatch {
	names := make([]string, len(e.Attributes))
	cols := make([]arrow.Array, len(e.Attributes))
	for j, a := range e.Attributes {
		names[j] = a.Name
		var b array.Builder
		switch a.Type {
		case schema.Integer:
			b = array.NewInt64Builder(mem)
		case schema.Number:
			b = array.NewFloat64Builder(mem)
		case schema.String:
			b = array.NewStringBuilder(mem)
		case schema.Boolean:
			b = array.NewBooleanBuilder(mem)
		case schema.Date:
			b = array.NewDate32Builder(mem)
		default:
			require.FailNow(t, "no builder for "+a.Type.String())
		}
		for _, r := range rs {
			v := r[j]
			if v == "" {
				b.AppendNull()
				continue
			}
			switch b := b.(type) {
			case *array.Int64Builder:
				x, err := parseInteger(v)
				require.NoError(t, err)
				b.Append(x)
			case *array.Float64Builder:
				x, err := parseNumber(v)
				require.NoError(t, err)
				b.Append(x)
			case *array.StringBuilder:
				b.Append(v)
			case *array.BooleanBuilder:
				x, err := parseBoolean(v)
				require.NoError(t, err)
				b.Append(x)
			case *array.Date32Builder:
				x, err := parseDate(v)
				require.NoError(t, err)
				b.Append(arrow.Date32(x))
			}
		}
		cols[j] = b.NewArray()
		b.Release()
	}
	rec := recordOf(names, cols)
	for _, c := range cols {
		c.Release()
	}
	return rec
}

// recordsOf builds a record of every entity with rows in data.
func recordsOf(t require.TestingT, mem memory.Allocator, sch *schema.Schema, data map[string]rows, all bool) map[string]arrow.RecordBatch {
	out := map[string]arrow.RecordBatch{}
	for i := range sch.Entities {
		e := &sch.Entities[i]
		if rs := data[e.Name]; len(rs) > 0 || all {
			out[e.Name] = recordOfRows(t, mem, e, rs)
		}
	}
	return out
}

func releaseRecords(rs map[string]arrow.RecordBatch) {
	for _, r := range rs {
		r.Release()
	}
}

// writeRows writes appendSchema and data as a data directory under root.
func writeRows(t require.TestingT, root string, sch *schema.Schema, data map[string]rows) string {
	dir, err := os.MkdirTemp(root, "data")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(appendSchema), 0o644))
	for i := range sch.Entities {
		e := &sch.Entities[i]
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.File), []byte(csvOf(e, data[e.Name])), 0o644))
	}
	return dir
}

// fileOrderOf returns the rows of l in file order, identity spelled out.
func fileOrderOf(l *Links) []uint32 {
	if fo := l.FileOrder(); fo != nil {
		return fo
	}
	out := make([]uint32, len(l.Customer))
	for i := range out {
		out[i] = uint32(i)
	}
	return out
}

// requireSameValues checks that got holds what want holds, value by
// value and row by row: tables, links along every path (with their file
// order, per-customer starts and groups), link reports and customer keys.
func requireSameValues(t require.TestingT, want, got *Snapshot) {
	sch := want.Schema()
	require.Equal(t, want.NumCustomers(), got.NumCustomers())
	for _, e := range sch.Entities {
		wt, gt := want.Table(e.Name), got.Table(e.Name)
		require.Equal(t, wt.NumRows, gt.NumRows, e.Name)
		require.Equal(t, formatAll(wt), formatAll(gt), e.Name)
		for _, p := range sch.Paths(e.Name) {
			wl, gl := want.Links(e.Name, p), got.Links(e.Name, p)
			at := fmt.Sprintf("%s along %v", e.Name, p)
			require.Equal(t, wl.Customer, gl.Customer, at)
			require.Equal(t, wl.Broken, gl.Broken, at)
			require.Equal(t, wl.Sorted, gl.Sorted, at)
			require.Equal(t, fileOrderOf(wl), fileOrderOf(gl), at)
			require.Equal(t, wl.Starts(), gl.Starts(), at)
			wo, wr := wl.Grouped()
			go_, gr := gl.Grouped()
			require.Equal(t, wo, go_, at)
			require.Equal(t, wr, gr, at)
		}
	}
	require.Equal(t, want.LinkReports(), got.LinkReports())
	for i := range want.NumCustomers() {
		k := want.CustomerKey(uint32(i))
		require.Equal(t, k, got.CustomerKey(uint32(i)))
		id, ok := got.CustomerID(k)
		require.True(t, ok, k)
		require.Equal(t, uint32(i), id)
	}
	require.Positive(t, got.MemoryBytes())
}

// split cuts every entity's rows in three parts at random points.
func split(t *rapid.T, data map[string]rows) [3]map[string]rows {
	var parts [3]map[string]rows
	for i := range parts {
		parts[i] = map[string]rows{}
	}
	for _, name := range mapKeys(data) {
		rs := data[name]
		a := rapid.IntRange(0, len(rs)).Draw(t, name+"Cut1")
		b := rapid.IntRange(a, len(rs)).Draw(t, name+"Cut2")
		parts[0][name], parts[1][name], parts[2][name] = rs[:a], rs[a:b], rs[b:]
	}
	return parts
}

// TestAppendIdentity is the property of Append: a snapshot of some rows
// with the others appended (in two steps) holds what a snapshot of all
// the rows holds, from Arrow records (clustered), from CSV files, and
// from CSV files through a snapshot file (which may decline rows that
// link only later, ErrAppendNeedsLoad); no Arrow memory outlives the
// snapshots, released in any order.
func TestAppendIdentity(t *testing.T) {
	ctx := context.Background()
	sch := mustParseSchema(t, appendSchema)
	root := t.TempDir()
	var appended, reloads int
	rapid.Check(t, func(rt *rapid.T) {
		data := genRows(rt)
		parts := split(rt, data)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		opts := Options{Allocator: mem, Cluster: true}
		var snaps []*Snapshot
		defer func() {
			// Released in an order drawn at random, then nothing is left.
			for _, i := range rapid.Permutation(makeRange(len(snaps))).Draw(rt, "releaseOrder") {
				snaps[i].Release()
			}
			require.Zero(rt, mem.CurrentAlloc())
		}()

		// mode 0: records; 1: CSV files; 2: CSV files through a
		// snapshot file (Save, Open) for the first part.
		mode := rapid.IntRange(0, 2).Draw(rt, "mode")
		build := func(mode int, data map[string]rows) *Snapshot {
			var s *Snapshot
			var err error
			if mode > 0 {
				s, err = Load(ctx, writeRows(rt, root, sch, data), opts)
				if err == nil && mode == 2 {
					dir, err := os.MkdirTemp(root, "snap")
					require.NoError(rt, err)
					path := filepath.Join(dir, "snap")
					require.NoError(rt, Save(ctx, s, path))
					s.Release()
					s, err = Open(ctx, path, Options{})
					require.NoError(rt, err)
				}
			} else {
				recs := recordsOf(rt, mem, sch, data, true)
				s, err = FromRecords(ctx, sch, recs, opts)
				releaseRecords(recs)
			}
			require.NoError(rt, err)
			snaps = append(snaps, s)
			return s
		}
		want := build(min(mode, 1), data)
		got := build(mode, parts[0])
		for _, part := range parts[1:] {
			recs := recordsOf(rt, mem, sch, part, rapid.Bool().Draw(rt, "emptyRecords"))
			next, err := got.Append(ctx, recs, Options{Allocator: mem})
			releaseRecords(recs)
			if errors.Is(err, ErrAppendNeedsLoad) && mode == 2 {
				reloads++
				return
			}
			require.NoError(rt, err)
			snaps = append(snaps, next)
			got = next
		}
		appended++
		requireSameValues(rt, want, got)
	})
	t.Logf("%d appends compared, %d needed a full load", appended, reloads)
	require.Greater(t, appended, 10*reloads)
}

// appendBase loads data for appendSchema from files and returns it with
// a checked allocator.
func appendBase(t *testing.T, data map[string]rows) (*Snapshot, *memory.CheckedAllocator) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	sch := mustParseSchema(t, appendSchema)
	s, err := Load(context.Background(), writeRows(t, t.TempDir(), sch, data), Options{Allocator: mem})
	require.NoError(t, err)
	return s, mem
}

var appendData = map[string]rows{
	"Customer":  {{"C1", "30", "FR", "true"}, {"C2", "", "DE", ""}},
	"Order":     {{"1", "C2", "0.5", "2024-03-01"}, {"2", "C1", "1", ""}, {"3", "C9", "2", ""}},
	"OrderLine": {{"10", "1", "a"}, {"11", "4", "b"}, {"12", "3", "c"}},
	"Case":      {{"100", "C1", "2"}},
}

// TestAppendShares checks that the entities the new rows leave as they
// were are shared, not copied, and that either snapshot may be released
// first.
func TestAppendShares(t *testing.T) {
	for _, oldFirst := range []bool{true, false} {
		s, mem := appendBase(t, appendData)
		sch := s.Schema()
		recs := recordsOf(t, mem, sch, map[string]rows{"Case": {{"101", "C2", "1"}}}, false)
		next, err := s.Append(context.Background(), recs, Options{Allocator: mem})
		releaseRecords(recs)
		require.NoError(t, err)
		for _, name := range []string{"Customer", "Order", "OrderLine"} {
			require.Same(t, s.Table(name), next.Table(name), name)
		}
		for _, p := range sch.Paths("Order") {
			require.Same(t, s.Links("Order", p), next.Links("Order", p))
		}
		require.NotSame(t, s.Table("Case"), next.Table("Case"))
		changed, ok := next.ChangedSince(s.ID())
		require.True(t, ok)
		require.Equal(t, []string{"Case"}, changed)
		changed, ok = next.ChangedSince(next.ID())
		require.True(t, ok)
		require.Empty(t, changed)
		_, ok = s.ChangedSince(next.ID())
		require.False(t, ok)
		recs = recordsOf(t, mem, sch, map[string]rows{"Order": {{"9", "C2", "1", ""}}}, false)
		third, err := next.Append(context.Background(), recs, Options{Allocator: mem})
		releaseRecords(recs)
		require.NoError(t, err)
		changed, ok = third.ChangedSince(s.ID())
		require.True(t, ok)
		require.ElementsMatch(t, []string{"Case", "Order"}, changed)
		changed, ok = third.ChangedSince(next.ID())
		require.True(t, ok)
		require.Equal(t, []string{"Order"}, changed, "OrderLine and Case link through Order, but no row of theirs links differently")
		require.Same(t, next.Table("Case"), third.Table("Case"))
		third.Release()
		require.Equal(t, 2, next.Table("Case").NumRows)
		require.Equal(t, 1, s.Table("Case").NumRows)
		if oldFirst {
			s.Release()
			require.Equal(t, "C1", next.CustomerKey(0))
			require.Equal(t, formatAll(next.Table("Order")), formatAll(next.Table("Order")))
			next.Release()
		} else {
			next.Release()
			require.Equal(t, 3, s.Table("Order").NumRows)
			s.Release()
		}
		require.Zero(t, mem.CurrentAlloc())
	}
}

// TestAppendLinksLater checks rows whose foreign keys only now find their
// row: an order of a new customer, and through it the lines of that order
// two hops away; the link reports count them no longer dangling.
func TestAppendLinksLater(t *testing.T) {
	s, mem := appendBase(t, appendData)
	defer func() { require.Zero(t, mem.CurrentAlloc()) }()
	defer s.Release()
	sch := s.Schema()
	require.Equal(t, []LinkReport{{"OrderCustomer", 0, 1}, {"LineOrder", 0, 1}, {"CaseCustomer", 0, 0}, {"CaseOrder", 0, 0}}, s.LinkReports())
	recs := recordsOf(t, mem, sch, map[string]rows{"Customer": {{"C9", "", "", ""}}}, false)
	next, err := s.Append(context.Background(), recs, Options{Allocator: mem})
	releaseRecords(recs)
	require.NoError(t, err)
	defer next.Release()
	require.Equal(t, 3, next.NumCustomers())
	id, ok := next.CustomerID("C9")
	require.True(t, ok)
	require.Equal(t, uint32(2), id)
	l := next.Links("OrderLine", schema.Path{"LineOrder", "OrderCustomer"})
	require.Equal(t, 1, l.Broken, "line 11 names order 4, which is nowhere")
	require.Equal(t, []LinkReport{{"OrderCustomer", 0, 0}, {"LineOrder", 0, 1}, {"CaseCustomer", 0, 0}, {"CaseOrder", 0, 0}}, next.LinkReports())

	full, err := Load(context.Background(), writeRows(t, t.TempDir(), sch, map[string]rows{
		"Customer": append(slices.Clone(appendData["Customer"]), []string{"C9", "", "", ""}),
		"Order":    appendData["Order"], "OrderLine": appendData["OrderLine"], "Case": appendData["Case"],
	}), Options{Allocator: mem})
	require.NoError(t, err)
	defer full.Release()
	requireSameValues(t, full, next)
}

// TestAppendNeedsLoad checks a line whose order only now arrives, which
// links it to a customer with other lines: a loaded snapshot knows where
// the line was in the file among them, one from a snapshot file does not
// and Append declines.
func TestAppendNeedsLoad(t *testing.T) {
	ctx := context.Background()
	s, mem := appendBase(t, appendData)
	defer func() { require.Zero(t, mem.CurrentAlloc()) }()
	defer s.Release()
	recs := recordsOf(t, mem, s.Schema(), map[string]rows{"Order": {{"4", "C2", "1", ""}}}, false)
	defer releaseRecords(recs)
	next, err := s.Append(ctx, recs, Options{Allocator: mem})
	require.NoError(t, err)
	defer next.Release()
	require.Equal(t, 1, next.Links("OrderLine", schema.Path{"LineOrder", "OrderCustomer"}).Broken, "line 12 names order 3, whose customer is nowhere")
	all := map[string]rows{}
	for k, v := range appendData {
		all[k] = v
	}
	all["Order"] = append(slices.Clone(all["Order"]), []string{"4", "C2", "1", ""})
	full, err := Load(ctx, writeRows(t, t.TempDir(), s.Schema(), all), Options{Allocator: mem})
	require.NoError(t, err)
	defer full.Release()
	requireSameValues(t, full, next)

	path := filepath.Join(t.TempDir(), "snap")
	require.NoError(t, Save(ctx, s, path))
	opened, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	defer opened.Release()
	_, err = opened.Append(ctx, recs, Options{Allocator: mem})
	require.ErrorIs(t, err, ErrAppendNeedsLoad)
	require.ErrorContains(t, err, "OrderLine")
}

// TestAppendProblems checks that new rows are checked as a load checks
// them, their keys against the old rows' too, and that a failed append
// leaves nothing allocated and the snapshot as it was.
func TestAppendProblems(t *testing.T) {
	s, mem := appendBase(t, appendData)
	defer func() { require.Zero(t, mem.CurrentAlloc()) }()
	defer s.Release()
	sch := s.Schema()
	ctx := context.Background()
	try := func(data map[string]rows) error {
		recs := recordsOf(t, mem, sch, data, false)
		defer releaseRecords(recs)
		next, err := s.Append(ctx, recs, Options{Allocator: mem})
		require.Nil(t, next)
		return err
	}
	err := try(map[string]rows{"Order": {{"7", "C1", "1", ""}, {"2", "C1", "1", ""}}})
	require.ErrorIs(t, err, ErrDuplicateKey)
	require.ErrorContains(t, err, "Order (appended): row 1: column OrderId: duplicate key \"2\" (a row of the snapshot has it)")
	err = try(map[string]rows{"Customer": {{"C5", "", "", ""}, {"C5", "", "", ""}}})
	require.ErrorIs(t, err, ErrDuplicateKey)
	err = try(map[string]rows{"Customer": {{"", "", "", ""}}})
	require.ErrorIs(t, err, ErrNullKey)

	bad := recordOf([]string{"OrderId"}, []arrow.Array{fromJSON(t, mem, arrow.BinaryTypes.String, `["x"]`)})
	defer bad.Release()
	bad.Column(0).Release()
	_, err = s.Append(ctx, map[string]arrow.RecordBatch{"Order": bad, "Nope": bad}, Options{Allocator: mem})
	require.ErrorIs(t, err, ErrData)
	require.ErrorContains(t, err, "no entity Nope")
	_, err = s.Append(ctx, map[string]arrow.RecordBatch{"Order": bad}, Options{Allocator: mem})
	require.ErrorIs(t, err, ErrData)
	require.ErrorContains(t, err, "missing column CustomerId")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	recs := recordsOf(t, mem, sch, map[string]rows{"Order": {{"8", "C1", "1", ""}}}, false)
	defer releaseRecords(recs)
	_, err = s.Append(cctx, recs, Options{Allocator: mem})
	require.ErrorIs(t, err, context.Canceled)
	require.Equal(t, 3, s.Table("Order").NumRows)
}

// TestAppendOpened checks appending to a snapshot from a snapshot file:
// the new one shares the mapped file, which stays mapped until both are
// released, in either order.
func TestAppendOpened(t *testing.T) {
	ctx := context.Background()
	for _, oldFirst := range []bool{true, false} {
		s, mem := appendBase(t, appendData)
		path := filepath.Join(t.TempDir(), "snap")
		require.NoError(t, Save(ctx, s, path))
		s.Release()
		opened, err := Open(ctx, path, Options{})
		require.NoError(t, err)
		recs := recordsOf(t, mem, opened.Schema(), map[string]rows{"Order": {{"5", "C1", "3", "2024-03-02"}}}, false)
		next, err := opened.Append(ctx, recs, Options{Allocator: mem})
		releaseRecords(recs)
		require.NoError(t, err)
		first, second := opened, next
		if !oldFirst {
			first, second = next, opened
		}
		first.Release()
		require.Equal(t, "C1", second.CustomerKey(0))
		require.Equal(t, formatAll(second.Table("Customer")), formatAll(second.Table("Customer")))
		_, ok := second.CustomerID("C2")
		require.True(t, ok)
		second.Release()
		require.Zero(t, mem.CurrentAlloc())
	}
}
