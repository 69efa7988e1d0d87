package storage

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
)

func TestRelationships(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	snap, err := loadShop(t, mem, shopFiles())
	require.NoError(t, err)
	defer snap.Release()
	defer snap.Release() // idempotent

	require.Equal(t, 3, snap.NumCustomers())
	require.Equal(t, []LinkReport{
		{Relationship: "OrderCustomer", Null: 1, Dangling: 1},
		{Relationship: "LineOrder", Null: 0, Dangling: 1},
		{Relationship: "CaseCustomer", Null: 1, Dangling: 0},
		{Relationship: "CaseOrder", Null: 0, Dangling: 0},
	}, snap.LinkReports())

	const no = NoCustomer
	tests := []struct {
		name   string
		entity string
		path   schema.Path
		want   []int32
		broken int
	}{
		{"one hop", "Order", schema.Path{"OrderCustomer"}, []int32{0, 2, no, no, 0}, 2},
		{"three levels, broken in the middle", "OrderLine", schema.Path{"LineOrder", "OrderCustomer"}, []int32{0, no, no, 2, 0}, 2},
		{"first of two paths", "Case", schema.Path{"CaseCustomer"}, []int32{1, no}, 1},
		{"second of two paths", "Case", schema.Path{"CaseOrder", "OrderCustomer"}, []int32{2, 0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := snap.Links(tt.entity, tt.path)
			require.NotNil(t, l)
			require.Equal(t, tt.path, l.Path)
			require.Equal(t, tt.want, inKeyOrder(t, snap, tt.entity, l))
			require.Equal(t, tt.broken, l.Broken)
		})
	}

	require.Len(t, snap.Schema().Paths("Case"), 2)
	for _, e := range snap.Schema().Entities {
		for _, p := range snap.Schema().Paths(e.Name) {
			require.NotNil(t, snap.Links(e.Name, p), "%s %v", e.Name, p)
		}
	}
	for _, ls := range snap.links {
		for _, l := range ls {
			require.Equal(t, sortedRef(l.Customer), l.Sorted, "%v", l.Path)
		}
	}
	require.Nil(t, snap.Links("Order", schema.Path{"LineOrder"}))
	require.Nil(t, snap.Links("Customer", nil))
	require.Nil(t, snap.Links("Nope", schema.Path{"OrderCustomer"}))
	require.Nil(t, snap.Table("Nope"))
	require.Equal(t, 5, snap.Table("OrderLine").NumRows)
	require.Positive(t, snap.MemoryBytes())
}

// sortedRef is Links.Sorted by its definition: stably sorting the rows by
// customer, NoCustomer last, leaves them where they are.
func sortedRef(cust []int32) bool {
	return slices.IsSortedFunc(cust, compareCustomers)
}

// compareCustomers orders customer ids, NoCustomer last.
func compareCustomers(a, b int32) int {
	key := func(c int32) int64 {
		if c == NoCustomer {
			return 1 << 32
		}
		return int64(c)
	}
	return cmp.Compare(key(a), key(b))
}

// TestSortedAfterCluster checks Sorted on an entity's second path once Load
// has clustered the entity's rows by its first path: the second path may
// come out in customer order or not.
func TestSortedAfterCluster(t *testing.T) {
	for _, tt := range []struct {
		name, cases string
		sorted      bool
	}{
		{"second path follows", "100,C3,O2\n101,C1,O1\n", true},
		{"second path crosses", "100,C3,O1\n101,C1,O2\n", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			files := shopFiles()
			files["Case.csv"] = "CaseId,CustomerId,OrderId\n" + tt.cases
			snap, err := loadShop(t, mem, files)
			require.NoError(t, err)
			defer snap.Release()
			first := snap.Links("Case", schema.Path{"CaseCustomer"})
			require.Equal(t, []int32{0, 2}, first.Customer, "clustered")
			require.True(t, first.Sorted)
			second := snap.Links("Case", schema.Path{"CaseOrder", "OrderCustomer"})
			require.Equal(t, tt.sorted, second.Sorted, "%v", second.Customer)
			require.Equal(t, sortedRef(second.Customer), second.Sorted)
		})
	}
}

// TestCustomerOrder checks the counting sort by customer and linkOrder
// against a stable sort, on random links.
func TestCustomerOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 500 {
		n := r.IntN(6)
		cust := make([]int32, r.IntN(12))
		for i := range cust {
			cust[i] = int32(r.IntN(n+1)) - 1 // -1 is NoCustomer
		}
		if r.IntN(3) == 0 {
			slices.SortStableFunc(cust, compareCustomers)
		}
		want := make([]uint32, len(cust))
		for i := range want {
			want[i] = uint32(i)
		}
		slices.SortStableFunc(want, func(a, b uint32) int { return compareCustomers(cust[a], cust[b]) })
		starts := customerStarts(cust, n, true)
		require.Len(t, starts, n+2)
		require.Equal(t, want, customerOrder(cust, starts, true), "%v", cust)
		require.Equal(t, customerStarts(cust, n, true), starts, "starts restored")

		broken := 0
		for _, c := range cust {
			if c == NoCustomer {
				broken++
			}
		}
		linked := want[:len(want)-broken]
		starts = customerStarts(cust, n, false)
		require.Len(t, starts, n+1)
		require.Equal(t, linked, customerOrder(cust, starts, false), "%v", cust)
		for c := range n {
			for _, row := range linked[starts[c]:starts[c+1]] {
				require.Equal(t, int32(c), cust[row])
			}
		}
		gotBroken, sorted := linkOrder(cust)
		require.Equal(t, broken, gotBroken)
		require.Equal(t, sortedRef(cust), sorted, "%v", cust)
	}
}

func TestGrouped(t *testing.T) {
	tests := []struct {
		name        string
		customer    []int32
		n           int
		wantOffsets []uint32
		wantRows    []uint32
	}{
		{"empty", nil, 0, []uint32{0}, []uint32{}},
		{"no rows", nil, 3, []uint32{0, 0, 0, 0}, []uint32{}},
		{"all broken", []int32{-1, -1}, 2, []uint32{0, 0, 0}, []uint32{}},
		{
			name:        "stable by customer",
			customer:    []int32{2, 0, -1, 2, 0, 1, 2},
			n:           4,
			wantOffsets: []uint32{0, 2, 3, 6, 6},
			wantRows:    []uint32{1, 4, 5, 0, 3, 6},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := &Links{Customer: tt.customer, numCustomers: tt.n}
			offsets, rows := l.Grouped()
			require.Equal(t, tt.wantOffsets, offsets)
			require.Equal(t, tt.wantRows, rows)
		})
	}

	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	snap, err := loadShop(t, mem, shopFiles())
	require.NoError(t, err)
	defer snap.Release()
	offsets, rows := snap.Links("Order", schema.Path{"OrderCustomer"}).Grouped()
	require.Equal(t, []uint32{0, 2, 2, 3}, offsets)
	// Load clusters rows by customer: C1's orders O1 and O5 come first, in
	// file order, then C3's O2; the unlinked O3 and O4 last.
	require.Equal(t, []uint32{0, 1, 2}, rows)
	key := snap.Table("Order").Column("OrderId")
	var keys []string
	for r := range snap.Table("Order").NumRows {
		keys = append(keys, key.Format(r))
	}
	require.Equal(t, []string{"O1", "O5", "O2", "O3", "O4"}, keys)
	amount := snap.Table("Order").Column("Amount")
	require.Equal(t, "1", amount.Format(1), "every column moves with its row")
}

func TestCustomerIDs(t *testing.T) {
	const intKeys = `{"customerEntity": "P", "entities": [{"name": "P", "key": "K", "source": "P.csv",
	  "attributes": [{"name": "K", "type": "integer"}]}]}`
	const dateKeys = `{"customerEntity": "P", "entities": [{"name": "P", "key": "K", "source": "P.csv",
	  "attributes": [{"name": "K", "type": "datetime"}]}]}`
	const numKeys = `{"customerEntity": "P", "entities": [{"name": "P", "key": "K", "source": "P.csv",
	  "attributes": [{"name": "K", "type": "number"}]}]}`
	tests := []struct {
		name    string
		schema  string
		csv     string
		keys    []string
		missing []string
	}{
		{"string", shopSchema, "", []string{"C1", "C2", "C3"}, []string{"C4", "c1", ""}},
		{"integer", intKeys, "K\n-5\n0\n9223372036854775807\n", []string{"-5", "0", "9223372036854775807"}, []string{"1", "x", ""}},
		{"datetime", dateKeys, "K\n2024-01-01T00:00:00Z\n2024-01-01T00:00:00.5Z\n", []string{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z"}, []string{"2024-01-01"}},
		{"number", numKeys, "K\n1.5\n-0\n", []string{"1.5", "-0"}, []string{"2"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			files := shopFiles()
			if tt.csv != "" {
				files = map[string]string{"P.csv": tt.csv}
			}
			snap, err := Load(t.Context(), writeDir(t, tt.schema, files), Options{Allocator: mem})
			require.NoError(t, err)
			defer snap.Release()
			for i, k := range tt.keys {
				id, ok := snap.CustomerID(k)
				require.True(t, ok, k)
				require.Equal(t, uint32(i), id)
				require.Equal(t, k, snap.CustomerKey(id))
			}
			for _, k := range tt.missing {
				_, ok := snap.CustomerID(k)
				require.False(t, ok, k)
			}
			require.Equal(t, "", snap.CustomerKey(uint32(len(tt.keys))))
		})
	}
}

func TestKeyIndexMany(t *testing.T) {
	// Enough keys to fill many probe chains, with a foreign key per row.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n = 50_000
	var cust, orders strings.Builder
	cust.WriteString("CustomerId,Age,Score,Country,SignupDate,LastSeen,IsVip\n")
	orders.WriteString("OrderId,CustomerId,Amount\n")
	for i := range n {
		fmt.Fprintf(&cust, "K%d,,,,,,\n", i*7)
		fmt.Fprintf(&orders, "O%d,K%d,1\n", i, i*3)
	}
	files := shopFiles()
	files["Customer.csv"] = cust.String()
	files["Order.csv"] = orders.String()
	snap, err := loadShop(t, mem, files)
	require.NoError(t, err)
	defer snap.Release()
	l := snap.Links("Order", schema.Path{"OrderCustomer"})
	for i, c := range inKeyOrder(t, snap, "Order", l) {
		if (i*3)%7 == 0 {
			require.Equal(t, int32(i*3/7), c)
		} else {
			require.Equal(t, NoCustomer, c)
		}
	}
}

func TestCancel(t *testing.T) {
	var b strings.Builder
	b.WriteString("Id,I,N,S,D,T,B\n")
	for i := range 3 * batchRows {
		fmt.Fprintf(&b, "%d,%d,1.5,s%d,2024-01-01,2024-01-01T00:00:00Z,true\n", i, i, i%10)
	}
	dir := writeDir(t, typesSchema, map[string]string{"Customer.csv": b.String()})

	t.Run("before", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := Load(ctx, dir, Options{Allocator: mem})
		require.ErrorIs(t, err, context.Canceled)
	})
	t.Run("while reading", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		calls := 0
		_, err := Load(ctx, dir, Options{Allocator: mem, Progress: func(entity string, rows, read, total int64) {
			calls++
			require.Equal(t, "Customer", entity)
			require.Equal(t, int64(batchRows), rows)
			require.Positive(t, read)
			require.Greater(t, total, read)
			cancel()
		}})
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, 1, calls)
	})
	t.Run("progress to the end", func(t *testing.T) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		var last [3]int64
		snap, err := Load(t.Context(), dir, Options{Allocator: mem, Progress: func(_ string, rows, read, total int64) {
			last = [3]int64{rows, read, total}
		}})
		require.NoError(t, err)
		defer snap.Release()
		require.Equal(t, int64(3*batchRows), last[0])
		require.Equal(t, last[2], last[1])
	})
}

func TestParquetRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	// Enough repeated countries for a dictionary column among the plain ones.
	files := shopFiles()
	var b strings.Builder
	b.WriteString("CustomerId,Age,Score,Country,SignupDate,LastSeen,IsVip\n")
	for i := range 1000 {
		fmt.Fprintf(&b, "C%d,%d,%g,%s,2024-01-%02d,2024-01-01T00:00:%02d.%06dZ,%t\n",
			i, i-500, float64(i)/3, []string{"FR", "DE", ""}[i%3], i%28+1, i%60, i, i%2 == 0)
	}
	b.WriteString("C1000,,,,,,\n")
	files["Customer.csv"] = b.String()
	csvSnap, err := loadShop(t, mem, files)
	require.NoError(t, err)
	defer csvSnap.Release()

	dir := t.TempDir()
	pqSchema := shopSchema
	for _, e := range csvSnap.Schema().Entities {
		pqSchema = strings.Replace(pqSchema, e.File, e.Name+".parquet", 1)
		f, err := os.Create(filepath.Join(dir, e.Name+".parquet"))
		require.NoError(t, err)
		if e.Name == "Customer" {
			// Many row groups: many chunks per column to join.
			writeParquet(t, f, csvSnap.Table(e.Name), 128)
		} else {
			writeParquet(t, f, csvSnap.Table(e.Name), 0)
		}
		require.NoError(t, f.Close())
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(pqSchema), 0o644))

	progress := 0
	pqSnap, err := Load(t.Context(), dir, Options{Allocator: mem, Progress: func(string, int64, int64, int64) { progress++ }})
	require.NoError(t, err)
	defer pqSnap.Release()
	require.Greater(t, progress, 8, "a progress report per row group")

	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		defer cancel()
		_, err := Load(ctx, dir, Options{Allocator: mem, Progress: func(string, int64, int64, int64) { cancel() }})
		require.ErrorIs(t, err, context.Canceled)
	})

	for _, e := range csvSnap.Schema().Entities {
		t.Run(e.Name, func(t *testing.T) {
			want, got := csvSnap.Table(e.Name), pqSnap.Table(e.Name)
			require.Equal(t, formatAll(want), formatAll(got))
			for i, c := range got.Columns {
				require.Equal(t, want.Columns[i].Data.DataType().ID(), c.Data.DataType().ID(), c.Attr.Name)
			}
		})
	}
	require.Equal(t, csvSnap.LinkReports(), pqSnap.LinkReports())
}

func TestParquetProblems(t *testing.T) {
	const sch = `{"customerEntity": "P", "entities": [{"name": "P", "key": "K", "source": "P.parquet",
	  "attributes": [{"name": "K", "type": "integer"}, {"name": "Amount", "type": "number"}]}]}`
	tests := []struct {
		name string
		data func(t *testing.T) []byte
		want string
	}{
		{"not parquet", func(*testing.T) []byte { return []byte("K,Amount\n1,2\n") }, "P.parquet: not a Parquet file"},
		{"truncated", func(t *testing.T) []byte { return parquetOf(t, "K,amount\n1,2\n")[:40] }, "P.parquet: "},
		{"missing column", func(t *testing.T) []byte { return parquetOf(t, "K,amount\n1,2\n") }, "P.parquet: missing column Amount (did you mean amount?)"},
		{"wrong type", func(t *testing.T) []byte { return parquetOf(t, "K,Amount\n1,x\n") }, "P.parquet: column Amount has Arrow type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dir := writeDir(t, sch, map[string]string{"P.parquet": string(tt.data(t))})
			_, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.ErrorIs(t, err, ErrData)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

// parquetOf converts CSV text, read with all columns as strings except K
// as an integer, to Parquet bytes.
func parquetOf(t *testing.T, csv string) []byte {
	t.Helper()
	header := strings.SplitN(csv, "\n", 2)[0]
	var attrs []string
	for _, h := range strings.Split(header, ",") {
		typ := "string"
		if h == "K" {
			typ = "integer"
		}
		attrs = append(attrs, fmt.Sprintf(`{"name": %q, "type": %q}`, h, typ))
	}
	sch := fmt.Sprintf(`{"customerEntity": "P", "entities": [{"name": "P", "key": "K", "source": "P.csv", "attributes": [%s]}]}`,
		strings.Join(attrs, ","))
	snap, err := Load(t.Context(), writeDir(t, sch, map[string]string{"P.csv": csv}), Options{})
	require.NoError(t, err)
	defer snap.Release()
	var buf strings.Builder
	writeParquet(t, &buf, snap.Customers(), 0)
	return []byte(buf.String())
}

func TestRelationshipKeyTypes(t *testing.T) {
	const no = NoCustomer
	tests := []struct {
		typ      string
		keys     []string
		fks      []string
		want     []int32
		null     int
		dangling int
	}{
		{"integer", []string{"1", "2", "3"}, []string{"1", "", "9", "3", "1"}, []int32{0, no, no, 2, 0}, 1, 1},
		{"number", []string{"1.5", "2", "-0"}, []string{"1.5", "", "7", "0", "2e0"}, []int32{0, no, no, 2, 1}, 1, 1},
		{"date", []string{"2024-01-01", "2024-02-29"}, []string{"2024-02-29", "", "2024-01-02"}, []int32{1, no, no}, 1, 1},
		{"datetime", []string{"2024-01-01T00:00:00Z", "2024-01-01T00:00:00.5Z"}, []string{"2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00.500Z", "2024-01-01T00:00:01Z", ""}, []int32{0, 1, no, no}, 1, 1},
		{"boolean", []string{"false", "true"}, []string{"true", "", "false", "true"}, []int32{1, no, 0, 1}, 1, 0},
		{"boolean one side", []string{"true"}, []string{"true", "false", ""}, []int32{0, no, no}, 1, 1},
		{"string dictionary", []string{"a", "b", "c"}, []string{"a", "a", "b", "a", "", "z", "a", "b", "b", "a"}, []int32{0, 0, 1, 0, no, no, 0, 1, 1, 0}, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			typ := strings.Fields(tt.typ)[0]
			sch := fmt.Sprintf(`{"customerEntity": "P", "entities": [
			  {"name": "P", "key": "K", "source": "P.csv", "attributes": [{"name": "K", "type": %[1]q}]},
			  {"name": "E", "key": "Id", "source": "E.csv", "attributes": [{"name": "Id", "type": "integer"}, {"name": "FK", "type": %[1]q}]}],
			  "relationships": [{"name": "EP", "from": {"entity": "E", "attribute": "FK"}, "to": {"entity": "P", "attribute": "K"}}]}`, typ)
			var e strings.Builder
			e.WriteString("Id,FK\n")
			for i, fk := range tt.fks {
				fmt.Fprintf(&e, "%d,%s\n", i, fk)
			}
			files := map[string]string{"P.csv": "K\n" + strings.Join(tt.keys, "\n") + "\n", "E.csv": e.String()}
			snap, err := Load(t.Context(), writeDir(t, sch, files), Options{Allocator: mem})
			require.NoError(t, err)
			defer snap.Release()
			l := snap.Links("E", schema.Path{"EP"})
			require.Equal(t, tt.want, inKeyOrder(t, snap, "E", l))
			require.Equal(t, []LinkReport{{Relationship: "EP", Null: tt.null, Dangling: tt.dangling}}, snap.LinkReports())
			require.Equal(t, tt.null+tt.dangling, l.Broken)
		})
	}
}

func TestEmptyEntities(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	files := shopFiles()
	for name, data := range files {
		files[name] = strings.SplitN(data, "\n", 2)[0] + "\n"
	}
	snap, err := loadShop(t, mem, files)
	require.NoError(t, err)
	defer snap.Release()
	require.Equal(t, 0, snap.NumCustomers())
	for _, e := range snap.Schema().Entities {
		for _, c := range snap.Table(e.Name).Columns {
			require.Equal(t, 0, c.Data.Len())
			if c.Data.DataType().ID() != arrow.DICTIONARY && c.Data.DataType().ID() != arrow.STRING {
				require.NotNil(t, c.Data.Data().Buffers()[1], "%s.%s", e.Name, c.Attr.Name)
			}
		}
	}
	offsets, rows := snap.Links("OrderLine", schema.Path{"LineOrder", "OrderCustomer"}).Grouped()
	require.Equal(t, []uint32{0}, offsets)
	require.Empty(t, rows)
	_, ok := snap.CustomerID("C1")
	require.False(t, ok)
	require.Equal(t, "", snap.CustomerKey(0))
}

// TestParquetCorruptFiles loads seeded random corruptions of a Parquet
// file: each must load or fail, without a panic, a crash or a leak.
func TestParquetCorruptFiles(t *testing.T) {
	const sch = `{"customerEntity": "P", "entities": [{"name": "P", "key": "K", "source": "P.parquet",
	  "attributes": [{"name": "K", "type": "integer"}, {"name": "S", "type": "string"}]}]}`
	good := parquetOf(t, "K,S\n1,a\n2,b\n3,a\n4,a\n5,\n")
	// The same rows in row groups of two, which load on several readers at
	// once: a corruption then meets a reader other than the first.
	var groups bytes.Buffer
	{
		snap, err := Load(t.Context(), writeDir(t, strings.Replace(sch, "P.parquet", "P.csv", 1), map[string]string{"P.csv": "K,S\n1,a\n2,b\n3,a\n4,a\n5,\n"}), Options{})
		require.NoError(t, err)
		writeParquet(t, &groups, snap.Customers(), 2)
		snap.Release()
	}
	dir := writeDir(t, sch, nil)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range 1000 {
		data := slices.Clone(good)
		if i%2 == 1 {
			data = slices.Clone(groups.Bytes())
		}
		for range 1 + r.IntN(4) {
			data[r.IntN(len(data))] = byte(r.IntN(256))
		}
		require.NoError(t, os.WriteFile(filepath.Join(dir, "P.parquet"), data, 0o644))
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		snap, err := Load(t.Context(), dir, Options{Allocator: mem})
		if err == nil {
			snap.Release()
		} else {
			require.True(t, errors.Is(err, ErrData) || errors.Is(err, ErrDuplicateKey) || errors.Is(err, ErrNullKey),
				"mutation %d: %v", i, err)
		}
		require.Zero(t, mem.CurrentAlloc(), "mutation %d: %v", i, err)
	}
}

// TestParquetRepro loads kept corrupt files that once crashed the loader.
func TestParquetRepro(t *testing.T) {
	const sch = `{"customerEntity": "P", "entities": [{"name": "P", "key": "K", "source": "P.parquet",
	  "attributes": [{"name": "K", "type": "integer"}, {"name": "S", "type": "string"}]}]}`
	tests := []struct {
		name, file, want string // want: the error, if any is required
	}{
		// The stored Arrow schema claims billions of fields, and decoding
		// it asked for hundreds of gigabytes: a fatal error, not a panic.
		{"corrupt Arrow schema", "corrupt_arrow_schema.parquet", ""},
		// A row group's row count is negative: the loader sized its
		// string column with it and panicked (found by FuzzLoadParquet's
		// kind of mutation).
		{"negative row count", "negative_row_count.parquet", "row group 4 gives -64 rows, beyond the file's 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			data, err := os.ReadFile(filepath.Join("testdata", tt.file))
			require.NoError(t, err)
			dir := writeDir(t, sch, map[string]string{"P.parquet": string(data)})
			snap, err := Load(t.Context(), dir, Options{Allocator: mem})
			if tt.want != "" {
				require.ErrorIs(t, err, ErrData)
				require.ErrorContains(t, err, tt.want)
			}
			if err == nil {
				snap.Release()
			}
		})
	}
}

// TestParquetDatetimeRange loads Parquet timestamps (microseconds, and
// seconds, which Parquet keeps as milliseconds) outside years 0000-9999 in UTC: refused with the
// row and column, since they would print in a form no reader takes back.
func TestParquetDatetimeRange(t *testing.T) {
	const sch = `{"customerEntity": "P", "entities": [{"name": "P", "key": "K", "source": "P.parquet",
	  "attributes": [{"name": "K", "type": "integer"}, {"name": "T", "type": "datetime"}]}]}`
	for _, tc := range []struct {
		dt     arrow.DataType
		values string
		want   string
	}{
		{arrow.FixedWidthTypes.Timestamp_us, `[0, null, 253402300799999999, 253402300800000000]`, "P.parquet: row 3: column T: timestamp 253402300800000000 (us) is outside years 0000 to 9999 in UTC"},
		{arrow.FixedWidthTypes.Timestamp_s, `[0, null, -62167219200, -62167219201]`, "P.parquet: row 3: column T: timestamp -62167219201000 (ms) is outside years 0000 to 9999 in UTC"},
	} {
		t.Run(tc.dt.String(), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			k := fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[1, 2, 3, 4]`)
			defer k.Release()
			ts := fromJSON(t, mem, tc.dt, tc.values)
			defer ts.Release()
			rec := recordOf([]string{"K", "T"}, []arrow.Array{k, ts})
			defer rec.Release()
			at := array.NewTableFromRecords(rec.Schema(), []arrow.RecordBatch{rec})
			defer at.Release()
			var buf bytes.Buffer
			// Row groups of two rows: the bad value is in the second.
			require.NoError(t, pqarrow.WriteTable(at, &buf, 2, parquet.NewWriterProperties(), pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema())))
			dir := writeDir(t, sch, map[string]string{"P.parquet": buf.String()})
			_, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.ErrorIs(t, err, ErrData)
			require.Contains(t, err.Error(), tc.want)
		})
	}
}
