package storage

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

// TestIntegerKeys loads integer customer keys that count up by one (looked
// up without a table), and the same keys out of order or with a gap
// (looked up in the table), and checks that every order links to the
// customer with its key, or to none when the key is missing.
func TestIntegerKeys(t *testing.T) {
	const sch = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "Id", "source": "Customer.csv",
     "attributes": [{"name": "Id", "type": "integer"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.csv",
     "attributes": [{"name": "OrderId", "type": "integer"}, {"name": "CustomerId", "type": "integer"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer",
     "from": {"entity": "Order", "attribute": "CustomerId"},
     "to":   {"entity": "Customer", "attribute": "Id"}}
  ]
}`
	max := int64(math.MaxInt64)
	for _, c := range []struct {
		keys  []int64
		dense bool
	}{
		{[]int64{10, 11, 12, 13, 14}, true},
		{[]int64{-2, -1, 0, 1}, true},
		{[]int64{max - 2, max - 1, max}, true},
		{[]int64{7}, true},
		{[]int64{12, 10, 11, 14, 13}, false},
		{[]int64{10, 11, 13, 14}, false},
	} {
		t.Run(fmt.Sprint(c.keys), func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			var cust, orders strings.Builder
			cust.WriteString("Id\n")
			for _, k := range c.keys {
				fmt.Fprintf(&cust, "%d\n", k)
			}
			orders.WriteString("OrderId,CustomerId\n")
			refs := []int64{c.keys[0] - 1, c.keys[0], c.keys[len(c.keys)-1], c.keys[len(c.keys)-1] + 1, math.MinInt64, 12, 0}
			for i, k := range refs {
				fmt.Fprintf(&orders, "%d,%d\n", i, k)
			}
			dir := writeDir(t, sch, map[string]string{"Customer.csv": cust.String(), "Order.csv": orders.String()})
			snap, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.NoError(t, err)
			defer snap.Release()
			require.Equal(t, c.dense, snap.keys.dense)
			known := map[string]bool{}
			for _, k := range c.keys {
				known[fmt.Sprint(k)] = true
			}
			l := snap.Links("Order", []string{"OrderCustomer"})
			ids := snap.Table("Order").Column("CustomerId").Data.(*array.Int64)
			for i, c := range l.Customer {
				want := fmt.Sprint(ids.Value(i))
				if !known[want] {
					require.Equal(t, NoCustomer, c, "order %d: %s", i, want)
					continue
				}
				require.Equal(t, want, snap.CustomerKey(uint32(c)), "order %d", i)
			}
		})
	}
}
