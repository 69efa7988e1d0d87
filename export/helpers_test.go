package export_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/storage"
)

// testSchema has a customer attribute of every type, an order entity and
// two measures (a number and a string).
const testSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.csv", "attributes": [
      {"name": "CustomerId", "type": "string"},
      {"name": "Email", "type": "string"},
      {"name": "Age", "type": "integer"},
      {"name": "Score", "type": "number"},
      {"name": "Birthday", "type": "date"},
      {"name": "SignedUp", "type": "datetime"},
      {"name": "VIP", "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.csv", "attributes": [
      {"name": "OrderId", "type": "string"},
      {"name": "CustomerId", "type": "string"},
      {"name": "Amount", "type": "number"},
      {"name": "Channel", "type": "string"},
      {"name": "OrderDate", "type": "date"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"},
     "to": {"entity": "Customer", "attribute": "CustomerId"}}
  ],
  "measures": [
    {"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}},
    {"name": "LastChannel", "related": "Order",
     "aggregate": {"function": "last", "attribute": "Order.Channel", "orderBy": "Order.OrderDate"}}
  ]
}`

// testData writes a data directory of n customers (some values null, some
// e-mails with capitals and spaces) with seed-dependent values, and
// returns its path.
func testData(t testing.TB, n int, seed uint64) string {
	t.Helper()
	dir := t.TempDir()
	r := rand.New(rand.NewPCG(seed, 7))
	var c, o strings.Builder
	c.WriteString("CustomerId,Email,Age,Score,Birthday,SignedUp,VIP\n")
	o.WriteString("OrderId,CustomerId,Amount,Channel,OrderDate\n")
	orders := 0
	for i := range n {
		email := fmt.Sprintf("user%d@example.com", i)
		switch r.IntN(5) {
		case 0:
			email = fmt.Sprintf("  User%d@Example.COM ", i)
		case 1:
			email = ""
		}
		age := fmt.Sprint(18 + r.IntN(60))
		if r.IntN(10) == 0 {
			age = ""
		}
		fmt.Fprintf(&c, "C%07d,%q,%s,%g,19%02d-%02d-%02d,2025-%02d-%02dT%02d:30:00Z,%t\n",
			i, email, age, float64(r.IntN(1000))/8, 50+r.IntN(49), 1+r.IntN(12), 1+r.IntN(28),
			1+r.IntN(12), 1+r.IntN(28), r.IntN(24), r.IntN(3) == 0)
		for range r.IntN(3) {
			orders++
			fmt.Fprintf(&o, "O%d,C%07d,%d.%02d,%s,2026-%02d-%02d\n", orders, i, r.IntN(500), r.IntN(100),
				[]string{"web", "store", "phone"}[r.IntN(3)], 1+r.IntN(11), 1+r.IntN(28))
		}
	}
	for name, body := range map[string]string{"schema.json": testSchema, "Customer.csv": c.String(), "Order.csv": o.String()} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

// testSnapshot loads testData(n, seed); the test releases it at cleanup.
func testSnapshot(t testing.TB, n int, seed uint64) *storage.Snapshot {
	t.Helper()
	snap, err := storage.Load(context.Background(), testData(t, n, seed), storage.Options{})
	require.NoError(t, err)
	t.Cleanup(snap.Release)
	return snap
}

// someMembers returns about a third of the snapshot's customers, chosen
// by seed.
func someMembers(snap *storage.Snapshot, seed uint64) *roaring.Bitmap {
	r := rand.New(rand.NewPCG(seed, 11))
	bm := roaring.New()
	for i := range snap.NumCustomers() {
		if r.IntN(3) == 0 {
			bm.Add(uint32(i))
		}
	}
	return bm
}

// faultDest wraps a destination: at the Write of batch failAt it calls
// during (with the batches before it written, not committed), then fails
// the Write by cancelling ctx first (cancel set) or with an error of its
// own.
type faultDest struct {
	export.Destination
	failAt int
	during func()
	cancel context.CancelFunc
}

var errInjected = errors.New("injected failure")

func (d *faultDest) Open(ctx context.Context, h *export.Header) (export.Writer, error) {
	w, err := d.Destination.Open(ctx, h)
	if err != nil {
		return nil, err
	}
	return &faultWriter{Writer: w, d: d}, nil
}

type faultWriter struct {
	export.Writer
	d *faultDest
	n int
}

func (w *faultWriter) Write(ctx context.Context, b *export.Batch) error {
	if w.n++; w.n == w.d.failAt {
		if w.d.during != nil {
			w.d.during()
		}
		if w.d.cancel == nil {
			return errInjected
		}
		w.d.cancel()
	}
	return w.Writer.Write(ctx, b)
}
