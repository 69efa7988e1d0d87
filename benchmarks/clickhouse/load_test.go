package clickhouse

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

func loadTestData(t *testing.T) (*Cluster, *testData, *Layout) {
	t.Helper()
	c := testCluster(t)
	d := writeTestData(t)
	layout, err := Load(context.Background(), c, d.dir, nil)
	require.NoError(t, err)
	return c, d, layout
}

func selectAll(e testEntity, table string) string {
	var cols []string
	for _, a := range e.Attributes {
		cols = append(cols, QuoteIdent(a.Name))
	}
	return "SELECT " + strings.Join(cols, ", ") + " FROM " + QuoteIdent(table)
}

// TestLoadReadsBack checks that every entity has its CSV's rows through
// the Distributed table, each value exactly as written.
func TestLoadReadsBack(t *testing.T) {
	c, d, layout := loadTestData(t)
	ctx := context.Background()
	for _, e := range testEntities {
		t.Run(e.Name, func(t *testing.T) {
			el := layout.Entity(e.Name)
			require.NotNil(t, el)
			require.Equal(t, e.Name, el.Table)
			require.Equal(t, e.Name+"_local", el.Local)
			sum := 0
			for _, n := range el.Rows {
				sum += n
			}
			require.Equal(t, len(d.rows[e.Name]), sum)

			rows, err := c.Rows(ctx, selectAll(e, el.Table))
			require.NoError(t, err)
			require.Len(t, rows, len(d.rows[e.Name]))
			byKey := map[string][]Field{}
			for _, r := range rows {
				byKey[r[0].Text] = r
			}
			require.Len(t, byKey, len(rows), "keys read back are unique")
			for _, want := range d.rows[e.Name] {
				got, ok := byKey[want[e.Key]]
				require.True(t, ok, "row %q is missing", want[e.Key])
				for i, a := range e.Attributes {
					requireSameValue(t, a.Type, want[a.Name], got[i], "%s %q, %s", e.Name, want[e.Key], a.Name)
				}
			}
		})
	}
}

// requireSameValue checks that a value ClickHouse gives as text is the
// value the CSV text means.
func requireSameValue(t *testing.T, typ, csvText string, got Field, msgAndArgs ...any) {
	t.Helper()
	if csvText == "" {
		require.True(t, got.Null, msgAndArgs...)
		return
	}
	require.False(t, got.Null, msgAndArgs...)
	switch typ {
	case "integer":
		w, err := strconv.ParseInt(csvText, 10, 64)
		require.NoError(t, err)
		require.Equal(t, strconv.FormatInt(w, 10), got.Text, msgAndArgs...)
	case "number":
		w, err := strconv.ParseFloat(csvText, 64)
		require.NoError(t, err)
		g, err := strconv.ParseFloat(got.Text, 64)
		require.NoError(t, err, msgAndArgs...)
		require.Equal(t, math.Float64bits(w), math.Float64bits(g), msgAndArgs...)
	case "string":
		require.Equal(t, csvText, got.Text, msgAndArgs...)
	case "date":
		text := got.Text
		if text == "0000-00-00" { // how 18.16 prints day 0
			text = "1970-01-01"
		}
		require.Equal(t, csvText, text, msgAndArgs...)
	case "datetime":
		w, err := exact.ParseDatetime(csvText)
		require.NoError(t, err)
		require.Equal(t, strconv.FormatInt(w.UnixMicro(), 10), got.Text, msgAndArgs...)
	case "boolean":
		want := map[string]string{"true": "1", "false": "0"}[csvText]
		require.Equal(t, want, got.Text, msgAndArgs...)
	default:
		t.Fatalf("type %s", typ)
	}
}

// TestLoadFloatBits checks the stored bits of every float on the server,
// independently of how ClickHouse prints floats.
func TestLoadFloatBits(t *testing.T) {
	c, d, _ := loadTestData(t)
	rows, err := c.Rows(context.Background(), "SELECT CustomerId, hex(reinterpretAsString(assumeNotNull(Score))) FROM Customer WHERE Score IS NOT NULL")
	require.NoError(t, err)
	got := map[string]string{}
	for _, r := range rows {
		got[r[0].Text] = r[1].Text
	}
	n := 0
	for _, r := range d.rows["Customer"] {
		if r["Score"] == "" {
			continue
		}
		n++
		f, err := strconv.ParseFloat(r["Score"], 64)
		require.NoError(t, err)
		b := binary.LittleEndian.AppendUint64(nil, math.Float64bits(f))
		// reinterpretAsString drops trailing zero bytes.
		want := strings.ToUpper(hex.EncodeToString(b))
		for strings.HasSuffix(want, "00") {
			want = strings.TrimSuffix(want, "00")
		}
		require.Equal(t, want, got[r["CustomerId"]], "Score %s of customer %s", r["Score"], r["CustomerId"])
	}
	require.Equal(t, n, len(rows))
}

// TestLoadShards checks that each shard's local tables hold exactly the
// rows of its customers, every related row beside its customer (an order
// line through its order), and the rows without a customer on shard 1.
func TestLoadShards(t *testing.T) {
	c, d, layout := loadTestData(t)
	ctx := context.Background()
	require.Len(t, c.Shards, 2)
	for _, e := range testEntities {
		el := layout.Entity(e.Name)
		for i := range c.Shards {
			keys, err := c.Shard(i).Query(ctx, "SELECT "+QuoteIdent(e.Key)+" FROM "+QuoteIdent(el.Local))
			require.NoError(t, err)
			var want []string
			for _, r := range d.rows[e.Name] {
				if d.expectedShard(e.Name, r, len(c.Shards)) == i {
					want = append(want, r[e.Key])
				}
			}
			require.ElementsMatch(t, want, keys, "%s on shard %d", e.Name, i+1)
			require.Equal(t, len(want), el.Rows[i])
			if e.Name == "Customer" {
				require.NotEmpty(t, keys, "shard %d has customers", i+1)
			}
		}
	}
	require.Equal(t, 4, layout.Entity("Order").Unlinked)
	require.Equal(t, schema.Path{"OrderLineOrder", "OrderCustomer"}, layout.Entity("OrderLine").Path)
	var unlinkedLines, linesOfUnlinkedOrders int
	for _, l := range d.rows["OrderLine"] {
		if d.customerOf("OrderLine", l) == "" {
			unlinkedLines++
		}
		for _, o := range d.rows["Order"] {
			if o["OrderId"] == l["OrderId"] && d.customerOf("Order", o) == "" {
				linesOfUnlinkedOrders++
			}
		}
	}
	require.Positive(t, linesOfUnlinkedOrders, "the data has lines whose order has no customer (a link broken at the second hop)")
	require.Equal(t, 2+linesOfUnlinkedOrders, unlinkedLines, "lines without an order or with a dangling one, and lines of orders without a customer")
	require.Equal(t, unlinkedLines, layout.Entity("OrderLine").Unlinked)
	require.Nil(t, layout.Entity("Store").Path)
	require.Equal(t, []int{3, 0}, layout.Entity("Store").Rows)

	// The rule on the server: halfMD5 of the key's text, modulo 2.
	for i := range c.Shards {
		keys, err := c.Shard(i).Query(ctx, "SELECT count() FROM Customer_local WHERE halfMD5(toString(assumeNotNull(CustomerId))) % 2 != "+strconv.Itoa(i))
		require.NoError(t, err)
		require.Equal(t, []string{"0"}, keys)
	}

	// Joins of the local tables need no other shard: on each shard, the
	// lines that reach a customer through their order, summed over the
	// shards, are all the lines that reach one.
	linked := 0
	for _, r := range d.rows["OrderLine"] {
		if d.customerOf("OrderLine", r) != "" {
			linked++
		}
	}
	total := 0
	for i := range c.Shards {
		n, err := c.Shard(i).Query(ctx, "SELECT count() FROM OrderLine_local WHERE OrderId IN (SELECT OrderId FROM Order_local WHERE CustomerId IN (SELECT CustomerId FROM Customer_local))")
		require.NoError(t, err)
		k, err := strconv.Atoi(n[0])
		require.NoError(t, err)
		total += k
	}
	require.Equal(t, linked, total)
}

// TestGlobalIn runs subqueries that must see every shard through the
// Distributed tables.
func TestGlobalIn(t *testing.T) {
	c, d, _ := loadTestData(t)
	ctx := context.Background()
	// Customers with an order whose Amount is over 100, and those with a
	// line of quantity 42 (two hops).
	var bigOrder, line42, noOrder []string
	for _, cu := range d.rows["Customer"] {
		k := cu["CustomerId"]
		has, hasOrder, has42 := false, false, false
		for _, o := range d.rows["Order"] {
			if o["CustomerId"] != k {
				continue
			}
			hasOrder = true
			if a, err := strconv.ParseFloat(o["Amount"], 64); err == nil && a > 100 {
				has = true
			}
			for _, l := range d.rows["OrderLine"] {
				if l["OrderId"] == o["OrderId"] && l["Qty"] == "42" {
					has42 = true
				}
			}
		}
		if has {
			bigOrder = append(bigOrder, k)
		}
		if has42 {
			line42 = append(line42, k)
		}
		if !hasOrder {
			noOrder = append(noOrder, k)
		}
	}
	require.NotEmpty(t, bigOrder)
	require.NotEmpty(t, line42)
	require.NotEmpty(t, noOrder)

	got, err := c.Query(ctx, "SELECT CustomerId FROM Customer WHERE CustomerId GLOBAL IN (SELECT CustomerId FROM `Order` WHERE Amount > 100)")
	require.NoError(t, err)
	require.ElementsMatch(t, bigOrder, got)

	got, err = c.Query(ctx, "SELECT CustomerId FROM Customer WHERE CustomerId GLOBAL IN (SELECT CustomerId FROM `Order` WHERE OrderId GLOBAL IN (SELECT OrderId FROM OrderLine WHERE Qty = 42))")
	require.NoError(t, err)
	require.ElementsMatch(t, line42, got)

	got, err = c.Query(ctx, "SELECT CustomerId FROM Customer WHERE CustomerId GLOBAL NOT IN (SELECT assumeNotNull(CustomerId) FROM `Order` WHERE CustomerId IS NOT NULL)")
	require.NoError(t, err)
	require.ElementsMatch(t, noOrder, got)

	// A plain IN over a Distributed table inside a distributed query is
	// refused (distributed_product_mode = deny) ...
	_, err = c.Query(ctx, "SELECT CustomerId FROM Customer WHERE CustomerId IN (SELECT CustomerId FROM `Order` WHERE Amount > 100)")
	var se *ServerError
	require.ErrorAs(t, err, &se)
	require.ErrorIs(t, err, ErrServer)
	require.Equal(t, 288, se.Code, "DISTRIBUTED_IN_JOIN_SUBQUERY_DENIED: %v", err)
	// ... while IN over the local tables runs on each shard with its own
	// rows, which is right because related rows sit with their customer.
	// The remote shards resolve names in their own default database, so
	// the local tables are named with theirs.
	db := QuoteIdent(c.Database) + "."
	got, err = c.Query(ctx, "SELECT CustomerId FROM Customer WHERE CustomerId IN (SELECT CustomerId FROM "+db+"Order_local WHERE OrderId IN (SELECT OrderId FROM "+db+"OrderLine_local WHERE Qty = 42))")
	require.NoError(t, err)
	require.ElementsMatch(t, line42, got)
	_, err = c.Query(ctx, "SELECT CustomerId FROM Customer WHERE CustomerId IN (SELECT CustomerId FROM Order_local)")
	require.ErrorAs(t, err, &se)
	require.Equal(t, 60, se.Code, "UNKNOWN_TABLE on the other shard: %v", err)
	require.Contains(t, se.Body, "default.Order_local")
	// distributed_product_mode = local reads a Distributed table in a
	// subquery as its local table on each shard: the same answer.
	dc := *c
	dc.Settings = map[string]string{"distributed_product_mode": "local"}
	got, err = dc.Query(ctx, "SELECT CustomerId FROM Customer WHERE CustomerId IN (SELECT CustomerId FROM `Order` WHERE OrderId IN (SELECT OrderId FROM OrderLine WHERE Qty = 42))")
	require.NoError(t, err)
	require.ElementsMatch(t, line42, got)

	// Joins: a plain JOIN with a Distributed table on the right is refused
	// like IN; GLOBAL JOIN sends the right side to every shard.
	_, err = c.Query(ctx, "SELECT count() FROM Customer ALL INNER JOIN (SELECT CustomerId FROM `Order`) USING CustomerId")
	require.ErrorAs(t, err, &se)
	require.Equal(t, 288, se.Code)
	linked := 0
	for _, o := range d.rows["Order"] {
		if d.customerOf("Order", o) != "" {
			linked++
		}
	}
	got, err = c.Query(ctx, "SELECT count() FROM Customer GLOBAL ALL INNER JOIN (SELECT CustomerId FROM `Order`) USING CustomerId")
	require.NoError(t, err)
	require.Equal(t, []string{strconv.Itoa(linked)}, got)
}

func TestLoadTableNames(t *testing.T) {
	c := testCluster(t)
	d := writeTestData(t)
	ctx := context.Background()
	layout, err := Load(ctx, c, d.dir, map[string]string{"Order": "orders", "OrderLine": "order lines"})
	require.NoError(t, err)
	require.Equal(t, "orders", layout.Entity("Order").Table)
	require.Equal(t, "order lines_local", layout.Entity("OrderLine").Local)
	got, err := c.Query(ctx, "SELECT count() FROM `order lines`")
	require.NoError(t, err)
	require.Equal(t, []string{strconv.Itoa(len(d.rows["OrderLine"]))}, got)
	// Loading again replaces the tables.
	_, err = Load(ctx, c, d.dir, map[string]string{"Order": "orders", "OrderLine": "order lines"})
	require.NoError(t, err)
	got, err = c.Query(ctx, "SELECT count() FROM orders")
	require.NoError(t, err)
	require.Equal(t, []string{strconv.Itoa(len(d.rows["Order"]))}, got)

	_, err = Load(ctx, c, d.dir, map[string]string{"Orders": "x"})
	require.ErrorIs(t, err, ErrLoad)
	require.ErrorContains(t, err, `entity "Orders"`)
	_, err = Load(ctx, c, d.dir, map[string]string{"Order": "Customer"})
	require.ErrorIs(t, err, ErrLoad)
	require.ErrorContains(t, err, "Customer and Order would both have a table named Customer")
	_, err = Load(ctx, c, d.dir, map[string]string{"Store": "Customer_local"})
	require.ErrorIs(t, err, ErrLoad)
}

func TestLoadDateOutOfRange(t *testing.T) {
	c := testCluster(t)
	d := writeTestData(t)
	d.rows["Customer"][5]["Born"] = "1969-12-31"
	d.write(t)
	_, err := Load(context.Background(), c, d.dir, nil)
	require.ErrorIs(t, err, ErrLoad)
	require.ErrorContains(t, err, "Customer.Born of the row with key "+d.rows["Customer"][5]["CustomerId"]+": the date 1969-12-31 is outside")

	d.rows["Customer"][5]["Born"] = "2106-01-01"
	d.write(t)
	_, err = Load(context.Background(), c, d.dir, nil)
	require.ErrorIs(t, err, ErrLoad)
}

func TestLoadBadDirectory(t *testing.T) {
	c := testCluster(t)
	_, err := Load(context.Background(), c, filepath.Join(t.TempDir(), "missing"), nil)
	require.Error(t, err)
	d := writeTestData(t)
	require.NoError(t, os.WriteFile(filepath.Join(d.dir, "Order.csv"), []byte("OrderId,CustomerId,Amount,OrderDate,PlacedAt,Gift,Note\no1,1,12x5,,,,\n"), 0o644))
	_, err = Load(context.Background(), c, d.dir, nil)
	require.ErrorContains(t, err, "12x5")
}

func TestServerError(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	_, err := c.Query(ctx, "SELECT nosuchfunction(1)")
	var se *ServerError
	require.ErrorAs(t, err, &se)
	require.True(t, errors.Is(err, ErrServer))
	require.Equal(t, 46, se.Code)
	require.Equal(t, 404, se.Status)
	require.Contains(t, se.Body, "Unknown function nosuchfunction")
	require.Contains(t, err.Error(), "SELECT nosuchfunction(1)")
	// An error after the first rows still comes back as an error.
	_, err = c.Query(ctx, "SELECT throwIf(number = 100000) FROM system.numbers LIMIT 200000")
	require.ErrorAs(t, err, &se)
	require.Equal(t, 395, se.Code)

	bad := *c
	bad.URL = "http://127.0.0.1:1"
	_, err = bad.Query(ctx, "SELECT 1")
	require.ErrorIs(t, err, ErrCluster)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.Query(cancelled, "SELECT 1")
	require.ErrorIs(t, err, context.Canceled)
}

func TestQuoteRoundTrip(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	ss := append(slices.Clone(hardStrings), "", "a\x00b", "\r\n", "`", "``x`")
	for _, s := range ss {
		rows, err := c.Rows(ctx, "SELECT "+Quote(s)+" AS "+QuoteIdent(s+"col"))
		require.NoError(t, err, "%q", s)
		require.Equal(t, [][]Field{{{Text: s}}}, rows, "%q", s)
	}
}

func TestParseTSVRow(t *testing.T) {
	got, err := parseTSVRow([]byte(`a\tb` + "\t" + `\N` + "\t" + `\\N` + "\t\t" + `x\'y\\z\n\0\b\f\r`))
	require.NoError(t, err)
	require.Equal(t, []Field{{Text: "a\tb"}, {Null: true}, {Text: `\N`}, {Text: ""}, {Text: "x'y\\z\n\x00\b\f\r"}}, got)
	_, err = parseTSVRow([]byte(`ab\`))
	require.Error(t, err)
}

func TestCheck(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	require.NoError(t, c.Check(ctx))
	swapped := *c
	swapped.Shards = []string{c.Shards[1], c.Shards[0]}
	require.ErrorIs(t, swapped.Check(ctx), ErrCluster)
	one := *c
	one.Shards = c.Shards[:1]
	require.ErrorIs(t, one.Check(ctx), ErrCluster)
}

func TestFromEnv(t *testing.T) {
	t.Setenv(EnvURL, "")
	_, ok, err := FromEnv()
	require.NoError(t, err)
	require.False(t, ok)
	t.Setenv(EnvURL, "http://127.0.0.1:18123")
	t.Setenv(EnvShards, "")
	_, _, err = FromEnv()
	require.ErrorIs(t, err, ErrCluster)
	t.Setenv(EnvShards, "http://a http://b")
	c, ok, err := FromEnv()
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []string{"http://a", "http://b"}, c.Shards)
}

func TestShardOf(t *testing.T) {
	// halfMD5('abc') and halfMD5('42') as ClickHouse 18.16 computes them.
	require.Equal(t, int(uint64(10376663631224000432)%3), ShardOf("abc", 3))
	require.Equal(t, int(uint64(11660038136054051623)%2), ShardOf("42", 2))
}

// TestFloatTextRoundTrip checks that ClickHouse prints every float so
// that it parses back to the same bits: random bit patterns go in as
// RowBinary and come back as text.
func TestFloatTextRoundTrip(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	require.NoError(t, c.Exec(ctx, "CREATE TABLE f (i UInt32, x Float64) ENGINE = Memory"))
	r := rand.New(rand.NewPCG(1, 2))
	var want []float64
	var buf []byte
	for len(want) < 20000 {
		x := math.Float64frombits(r.Uint64())
		if len(want)%4 == 0 {
			x = float64(r.Int64N(1<<40)) / 1e6 // short decimals too
		}
		if math.IsNaN(x) || math.IsInf(x, 0) {
			continue
		}
		buf = binary.LittleEndian.AppendUint32(buf, uint32(len(want)))
		buf = binary.LittleEndian.AppendUint64(buf, math.Float64bits(x))
		want = append(want, x)
	}
	require.NoError(t, c.Insert(ctx, "INSERT INTO f FORMAT RowBinary", bytes.NewReader(buf)))
	rows, err := c.Rows(ctx, "SELECT i, x FROM f ORDER BY i")
	require.NoError(t, err)
	require.Len(t, rows, len(want))
	for i, row := range rows {
		g, err := strconv.ParseFloat(row[1].Text, 64)
		require.NoError(t, err)
		require.Equal(t, math.Float64bits(want[i]), math.Float64bits(g), "%v printed as %s", want[i], row[1].Text)
	}
}
