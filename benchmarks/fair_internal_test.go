package benchmarks

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/benchmarks/gen"
)

// outOfOrder counts the rows of DuckDB's table whose customer is smaller
// than the one of the row stored before it (by rowid), the rows of no
// customer counting as the largest: 0 when the table is ordered by
// customer, rows of no customer last.
func outOfOrder(t *testing.T, d *DuckDB, table string) int64 {
	t.Helper()
	customer := `coalesce(c.CustomerId, 9223372036854775807)`
	from := `"` + table + `" x LEFT JOIN "Customer" c ON x.CustomerId = c.CustomerId`
	if table == "OrderLine" {
		from = `"OrderLine" x LEFT JOIN "Order" o ON x.OrderId = o.OrderId LEFT JOIN "Customer" c ON o.CustomerId = c.CustomerId`
	}
	q := `SELECT count(*) FROM (SELECT ` + customer + ` AS cust, lag(` + customer + `) OVER (ORDER BY x.rowid) AS prev FROM ` + from + `) WHERE cust < prev`
	var n int64
	require.NoError(t, d.conn.QueryRowContext(context.Background(), q).Scan(&n))
	return n
}

// TestDuckDBOrder loads a small dataset into DuckDB by customer and in
// file order: by customer, every related table is ordered by its
// customer, OrderLine by its order's, as segmentkit clusters them; in
// file order none is.
func TestDuckDBOrder(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	_, err := gen.Generate(ctx, dir, gen.Scale{Name: "tiny", Customers: 2000, Orders: 20_000, Cases: 4000, OrderLines: 40_000})
	require.NoError(t, err)
	related := []string{"Order", "SupportCase", "OrderLine"}
	counts := map[DuckDBOrder]map[string]int64{}
	for _, order := range []DuckDBOrder{"", ByCustomer, FileOrder} {
		d, err := LoadDuckDB(ctx, dir, DuckDBOptions{Threads: 2, Order: order})
		require.NoError(t, err)
		want := order
		if want == "" {
			want = ByCustomer
		}
		require.Equal(t, want, d.Order)
		require.Len(t, d.Tables, len(gen.Entities))
		for _, tt := range d.Tables {
			require.Positive(t, tt)
		}
		counts[want] = map[string]int64{}
		for _, table := range related {
			counts[want][table] = outOfOrder(t, d, table)
		}
		var rows int64
		require.NoError(t, d.conn.QueryRowContext(ctx, `SELECT count(*) FROM "OrderLine"`).Scan(&rows))
		require.EqualValues(t, 40_000, rows, "the join to Order neither drops nor repeats lines")
		require.NoError(t, d.Close())
	}
	for _, table := range related {
		require.Zero(t, counts[ByCustomer][table], "%s ordered by customer", table)
		require.Positive(t, counts[FileOrder][table], "%s in file order", table)
	}
}

// TestParseDuckDBOrder accepts the two orders and refuses others.
func TestParseDuckDBOrder(t *testing.T) {
	for _, s := range []string{"customer", "file"} {
		o, err := ParseDuckDBOrder(s)
		require.NoError(t, err)
		require.Equal(t, DuckDBOrder(s), o)
	}
	_, err := ParseDuckDBOrder("random")
	require.ErrorIs(t, err, ErrUnknownOrder)
	_, err = LoadDuckDB(context.Background(), t.TempDir(), DuckDBOptions{Order: "random"})
	require.ErrorIs(t, err, ErrUnknownOrder)
}
