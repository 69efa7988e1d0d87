package gen

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"
)

// TestBatchDeterministic: a batch depends only on its entity, scale and
// index, not on which worker builds it or when.
func TestBatchDeterministic(t *testing.T) {
	s := Scale{Name: "T", Customers: 1000, Orders: 5000, Cases: 2000, OrderLines: 8000}
	for _, e := range Entities {
		a := newGenerator(s, e).batch(0)
		b := newGenerator(s, e).batch(0)
		require.Equal(t, s.Rows(e), a.NumRows(), e)
		require.True(t, array.RecordEqual(a, b), e)
		a.Release()
		b.Release()
	}
}

// TestShape checks the skew the benchmarks rely on: nulls, dangling keys,
// heavy buyers and customers without orders.
func TestShape(t *testing.T) {
	s := Scale{Name: "T", Customers: 20_000, Orders: 200_000}
	rec := newGenerator(s, "Order").batch(0)
	defer rec.Release()
	cust := rec.Column(1).(*array.Int64)
	counts := map[int64]int{}
	dangling := 0
	for i := range cust.Len() {
		if cust.IsNull(i) {
			continue
		}
		k := cust.Value(i)
		if k > s.Customers {
			dangling++
			continue
		}
		counts[k]++
	}
	require.Positive(t, cust.NullN())
	require.Positive(t, dangling)
	top := 0
	for _, n := range counts {
		top = max(top, n)
	}
	require.Greater(t, top, 20*int(s.Orders/s.Customers), "heavy buyers")
	missing := int(s.Customers) - len(counts)
	require.Greater(t, missing, int(s.Customers)/10, "customers without orders")
	amount := rec.Column(2).(*array.Float64)
	for i := range amount.Len() {
		if amount.IsValid(i) {
			require.Equal(t, amount.Value(i), float64(int64(amount.Value(i)*4))/4)
		}
	}
}

// TestGenerateSkips: a directory that holds the scale is not written again.
func TestGenerateSkips(t *testing.T) {
	dir := t.TempDir()
	s := Scale{Name: "T", Customers: 100, Orders: 300, Cases: 50, OrderLines: 0}
	ctx := context.Background()
	wrote, err := Generate(ctx, dir, s)
	require.NoError(t, err)
	require.True(t, wrote)
	for _, e := range Entities {
		_, err := os.Stat(filepath.Join(dir, e+".parquet"))
		require.NoError(t, err)
	}
	wrote, err = Generate(ctx, dir, s)
	require.NoError(t, err)
	require.False(t, wrote)
}
