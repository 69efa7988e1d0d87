package catalog

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

// t0 is the fake clock's start in every test.
var t0 = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

const testSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.csv",
     "attributes": [
       {"name": "CustomerId", "type": "string"},
       {"name": "Age", "type": "integer"},
       {"name": "Country", "type": "string"},
       {"name": "Email", "type": "string"},
       {"name": "IsVip", "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.csv",
     "attributes": [
       {"name": "OrderId", "type": "string"},
       {"name": "CustomerId", "type": "string"},
       {"name": "Amount", "type": "number"},
       {"name": "OrderDate", "type": "date"},
       {"name": "Channel", "type": "string"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer",
     "from": {"entity": "Order", "attribute": "CustomerId"},
     "to": {"entity": "Customer", "attribute": "CustomerId"}}
  ],
  "measures": [
    {"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}}
  ]
}`

// cust is one customer row of the test data.
type cust struct {
	id      string
	age     int
	country string
	vip     bool
}

// order is one order row.
type order struct {
	id, customer string
	amount       float64
	date         string
	channel      string
}

// writeData writes a data directory with the test schema.
func writeData(t testing.TB, dir string, cs []cust, os_ []order) {
	t.Helper()
	var b strings.Builder
	b.WriteString("CustomerId,Age,Country,Email,IsVip\n")
	for _, c := range cs {
		fmt.Fprintf(&b, "%s,%d,%s,%s@example.com,%t\n", c.id, c.age, c.country, strings.ToLower(c.id), c.vip)
	}
	writeFile(t, filepath.Join(dir, "Customer.csv"), b.String())
	b.Reset()
	b.WriteString("OrderId,CustomerId,Amount,OrderDate,Channel\n")
	for _, o := range os_ {
		fmt.Fprintf(&b, "%s,%s,%g,%s,%s\n", o.id, o.customer, o.amount, o.date, o.channel)
	}
	writeFile(t, filepath.Join(dir, "Order.csv"), b.String())
	writeFile(t, filepath.Join(dir, "schema.json"), testSchema)
}

func writeFile(t testing.TB, path, data string) {
	t.Helper()
	require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
	require.NoError(t, os.WriteFile(path, []byte(data), 0o644))
}

// people returns n customers C001.. with ages 20..(20+n-1) cycling
// countries; every third is a VIP.
func people(n int) []cust {
	countries := []string{"US", "DE", "FR", "JP"}
	out := make([]cust, n)
	for i := range out {
		out[i] = cust{id: fmt.Sprintf("C%03d", i+1), age: 20 + i, country: countries[i%len(countries)], vip: i%3 == 0}
	}
	return out
}

// someOrders gives each of the first n customers i+1 web orders of 100.
func someOrders(n int) []order {
	var out []order
	k := 0
	for i := range n {
		for range i + 1 {
			k++
			out = append(out, order{id: fmt.Sprintf("O%04d", k), customer: fmt.Sprintf("C%03d", i+1), amount: 100, date: "2026-02-01", channel: "web"})
		}
	}
	return out
}

// env is a catalog over a data directory, on a fake clock.
type env struct {
	dir   string
	path  string
	clock *clockwork.FakeClock
	src   *DirSource
	cat   *Catalog
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	e := &env{dir: t.TempDir(), clock: clockwork.NewFakeClockAt(t0)}
	e.path = filepath.Join(t.TempDir(), "catalog.db")
	writeData(t, e.dir, people(10), someOrders(10))
	e.src = NewDirSource(e.dir, defaultStorage())
	t.Cleanup(func() { e.src.Close() })
	e.open(t, opts)
	return e
}

func (e *env) open(t testing.TB, opts Options) {
	t.Helper()
	opts.Clock = e.clock
	if opts.Source == nil {
		opts.Source = e.src
	}
	cat, err := Open(e.path, opts)
	require.NoError(t, err)
	e.cat = cat
	t.Cleanup(func() { cat.Close() })
}

// def returns a definition with one group.
func def(name, cond string) []byte {
	return []byte(fmt.Sprintf(`{"name": %q, "groups": [{"condition": %s}]}`, name, cond))
}

// staticDef returns a static definition with one group.
func staticDef(name, cond string) []byte {
	return []byte(fmt.Sprintf(`{"name": %q, "type": "static", "groups": [{"condition": %s}]}`, name, cond))
}

func ageOver(n int) string {
	return fmt.Sprintf(`{"attribute": "Customer.Age", "operator": "greaterThan", "value": %d}`, n)
}

// keys returns the customer keys of a segment's members.
func memberKeys(t testing.TB, e *env, name string) []string {
	t.Helper()
	var out []string
	d, err := e.cat.loadData(context.Background())
	require.NoError(t, err)
	defer d.release()
	bm, err := e.cat.Members(context.Background(), name)
	require.NoError(t, err)
	it := bm.Iterator()
	for it.HasNext() {
		out = append(out, d.snap.CustomerKey(it.Next()))
	}
	return out
}

func keysFrom(from, to int) []string {
	var out []string
	for i := from; i <= to; i++ {
		out = append(out, fmt.Sprintf("C%03d", i))
	}
	return out
}

func taskOf(t testing.TB, j *Job, name string) Task {
	t.Helper()
	for _, task := range j.Tasks {
		if task.Segment == name {
			return task
		}
	}
	require.Failf(t, "no task", "job %d has no task for %s: %+v", j.ID, name, j.Tasks)
	return Task{}
}

// setVersion overwrites the catalog file's format version.
func setVersion(t testing.TB, path string, v uint32) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	require.NoError(t, err)
	defer db.Close()
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keyVersion, binary.BigEndian.AppendUint32(nil, v))
	}))
}
