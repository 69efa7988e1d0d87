package catalog

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

func TestPreview(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	orders := []order{
		{"O1", "C003", 150, "2026-02-20", "web"},
		{"O2", "C003", 100, "2026-02-21", "store"},
		{"O3", "C005", 300, "2026-02-22", "web"},
		{"O4", "C005", 50, "2025-01-01", "web"},
		{"O5", "C009", 400, "2026-02-25", "store"},
		{"O6", "C010", 90, "2026-02-25", "web"},
	}
	writeData(t, e.dir, people(10), orders)
	definition := []byte(`{"name": "Spenders", "groups": [{"condition": {"and": [
		{"attribute": "Customer.Age", "operator": "greaterThan", "value": 21},
		{"attribute": "Customer.Country", "operator": "notEquals", "value": "XX"},
		{"attribute": "Order.Channel", "operator": "equals", "value": "web"},
		{"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 30},
		 "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 100},
		{"attribute": "Measures.Spend", "operator": "greaterThan", "value": 0}
	]}}]}`)
	_, err := e.cat.Create(ctx, definition, CreateOptions{Active: true})
	require.NoError(t, err)
	// C003 (web 150 + store 100 in the last 30 days), C005 (web 300 in the
	// last 30 days, web 50 long ago). C009 has no web order; C010 spent 90.

	p, err := e.cat.Preview(ctx, "Spenders", 0)
	require.NoError(t, err)
	require.EqualValues(t, 2, p.Total)
	var names []string
	for _, c := range p.Columns {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{
		"Customer.CustomerId",
		"Customer.Age",
		"Customer.Country",
		`count() of Order where Order.Channel = "web"`,
		"sum(Order.Amount) of Order where Order.OrderDate inLastDays 30",
		"Measures.Spend",
	}, names)
	require.Equal(t, schema.Integer, p.Columns[1].Type)
	require.Equal(t, schema.Integer, p.Columns[3].Type)
	require.Equal(t, schema.Number, p.Columns[4].Type)
	require.Equal(t, [][]string{
		{"C003", "22", "FR", "1", "250", "250"},
		{"C005", "24", "US", "2", "300", "350"},
	}, p.Rows)
	require.Empty(t, p.Warnings)

	// n limits the rows; the default shows up to 100.
	_, err = e.cat.Create(ctx, def("Everyone", `{"attribute": "Customer.Age", "operator": "isNotNull"}`), CreateOptions{Active: true})
	require.NoError(t, err)
	writeData(t, e.dir, people(150), orders)
	_, err = e.cat.Refresh(ctx, "Everyone")
	require.NoError(t, err)
	p, err = e.cat.Preview(ctx, "Everyone", 0)
	require.NoError(t, err)
	require.EqualValues(t, 150, p.Total)
	require.Len(t, p.Rows, DefaultPreviewRows)
	require.Equal(t, "C001", p.Rows[0][0])
	p, err = e.cat.Preview(ctx, "Everyone", 3)
	require.NoError(t, err)
	require.Len(t, p.Rows, 3)

	// A draft that does not parse shows its stored members with their keys.
	_, err = e.cat.Create(ctx, []byte(`{"name": "Junk"`), CreateOptions{})
	require.NoError(t, err)
	p, err = e.cat.Preview(ctx, "Junk", 0)
	require.NoError(t, err)
	require.Len(t, p.Columns, 1)
	require.Zero(t, p.Total)
	_, err = e.cat.Preview(ctx, "Nobody", 0)
	require.ErrorIs(t, err, ErrNotFound)
}

func TestDownload(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("Older", ageOver(26)), CreateOptions{Active: true})
	require.NoError(t, err)

	var buf bytes.Buffer
	require.NoError(t, e.cat.Download(ctx, "Older", &buf, nil))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, [][]string{
		{"CustomerId", "Age", "Country", "Email", "IsVip"},
		{"C008", "27", "JP", "c008@example.com", "false"},
		{"C009", "28", "US", "c009@example.com", "false"},
		{"C010", "29", "DE", "c010@example.com", "true"},
	}, rows)

	buf.Reset()
	require.NoError(t, e.cat.Download(ctx, "Older", &buf, []string{"CustomerId", "Customer.Age", "Measures.Spend"}))
	require.Equal(t, "CustomerId,Age,Measures.Spend\nC008,27,800\nC009,28,900\nC010,29,1000\n", buf.String())

	buf.Reset()
	err = e.cat.Download(ctx, "Older", &buf, []string{"CustomerId", "Agee"})
	require.ErrorIs(t, err, ErrUnknownField)
	require.ErrorContains(t, err, "did you mean Age?")
	require.Zero(t, buf.Len(), "nothing is written when a field is unknown")
	err = e.cat.Download(ctx, "Older", &buf, []string{"Measures.Spnd"})
	require.ErrorContains(t, err, "did you mean Measures.Spend?")

	cctx, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, e.cat.Download(cctx, "Older", &buf, nil), context.Canceled)

	sch, err := e.src.Schema(ctx)
	require.NoError(t, err)
	require.Equal(t, []string{"CustomerId", "Age", "Country", "Email", "IsVip", "Measures.Spend"}, DownloadFields(sch))
}

func TestDirSourceCachesUntilFilesChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeData(t, dir, people(5), someOrders(2))
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	src := NewDirSource(dir, storage.Options{Allocator: mem})
	require.Equal(t, "data directory "+dir, src.String())

	s1, r1, err := src.Snapshot(ctx)
	require.NoError(t, err)
	s2, r2, err := src.Snapshot(ctx)
	require.NoError(t, err)
	require.Same(t, s1, s2, "unchanged files are not loaded again")

	// A changed file loads a new snapshot; the old one stays valid until
	// released.
	writeData(t, dir, people(6), someOrders(2))
	s3, r3, err := src.Snapshot(ctx)
	require.NoError(t, err)
	require.NotSame(t, s1, s3)
	require.Equal(t, 6, s3.NumCustomers())
	require.Equal(t, "C005", s1.CustomerKey(4))
	r1()
	r1() // releasing twice is harmless
	r2()
	r3()

	// Touching only the modification time reloads too.
	later := time.Now().Add(time.Hour)
	require.NoError(t, os.Chtimes(filepath.Join(dir, "Order.csv"), later, later))
	s4, r4, err := src.Snapshot(ctx)
	require.NoError(t, err)
	require.NotSame(t, s3, s4)
	r4()

	sch, err := src.Schema(ctx)
	require.NoError(t, err)
	require.Equal(t, "Customer", sch.CustomerEntity)

	// A broken file is an error, and the next good version loads.
	writeFile(t, filepath.Join(dir, "Customer.csv"), "CustomerId,Age,Country,Email,IsVip\nC1,old,US,x,true\n")
	_, _, err = src.Snapshot(ctx)
	require.ErrorIs(t, err, storage.ErrData)
	writeData(t, dir, people(2), nil)
	s5, r5, err := src.Snapshot(ctx)
	require.NoError(t, err)
	require.Equal(t, 2, s5.NumCustomers())
	r5()
	require.NoError(t, src.Close())
	_, _, err = src.Snapshot(ctx)
	require.Error(t, err)
}
