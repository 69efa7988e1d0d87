package demo

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
)

func write(t testing.TB, opts Options) (string, *Summary) {
	t.Helper()
	dir := t.TempDir()
	sum, err := Write(context.Background(), dir, opts)
	require.NoError(t, err)
	return dir, sum
}

var dataFiles = []string{SchemaFile, CustomerFile, OrderFile, OrderLineFile, SupportCaseFile, ChurnScoreFile, SegmentFile}

func TestWriteIsDeterministic(t *testing.T) {
	opts := Options{Customers: 500, Seed: 42}
	a, sa := write(t, opts)
	b, sb := write(t, opts)
	for _, f := range dataFiles {
		da, err := os.ReadFile(filepath.Join(a, f))
		require.NoError(t, err)
		db, err := os.ReadFile(filepath.Join(b, f))
		require.NoError(t, err)
		require.True(t, bytes.Equal(da, db), "%s differs between two writes with the same options", f)
	}
	sa.Dir, sa.Segment, sb.Dir, sb.Segment = "", "", "", ""
	require.Equal(t, sa, sb)

	c, _ := write(t, Options{Customers: 500, Seed: 43})
	for _, f := range []string{CustomerFile, OrderFile, SupportCaseFile} {
		da, _ := os.ReadFile(filepath.Join(a, f))
		dc, _ := os.ReadFile(filepath.Join(c, f))
		require.False(t, bytes.Equal(da, dc), "%s is the same for seeds 42 and 43", f)
	}
}

func TestWriteDefaults(t *testing.T) {
	if testing.Short() {
		t.Skip("writes the default 20,000 customers")
	}
	start := time.Now()
	_, sum := write(t, Options{})
	t.Logf("wrote %d bytes in %s", sum.Bytes, time.Since(start))
	require.Equal(t, DefaultCustomers, sum.Customers)
	require.Equal(t, 10*DefaultCustomers, sum.Orders)
	require.Equal(t, 2*DefaultCustomers, sum.SupportCases)
	require.InDelta(t, 2*sum.Orders, sum.OrderLines, float64(sum.Orders)/10)
	require.Equal(t, DefaultAsOf, sum.AsOf)
	require.Greater(t, sum.ExpectedMembers, 50, "the example segment should have members")
	require.Less(t, sum.ExpectedMembers, sum.Customers/10)
}

func TestWriteOptions(t *testing.T) {
	for _, n := range []int{-1, MaxCustomers + 1} {
		_, err := Write(context.Background(), t.TempDir(), Options{Customers: n})
		require.ErrorIs(t, err, ErrOptions)
	}
	_, err := Write(context.Background(), t.TempDir(), Options{Customers: 10, AsOf: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.ErrorIs(t, err, ErrOptions)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = Write(ctx, t.TempDir(), Options{Customers: 10})
	require.ErrorIs(t, err, context.Canceled)

	// An as-of instant in a time zone is recorded in UTC; orders end on its
	// UTC day.
	asOf := time.Date(2025, 1, 10, 1, 0, 0, 0, time.FixedZone("X", 3*3600))
	dir, sum := write(t, Options{Customers: 2000, AsOf: asOf})
	require.Equal(t, asOf.UTC(), sum.AsOf)
	rows := readCSV(t, filepath.Join(dir, OrderFile))
	last := ""
	for _, r := range rows[1:] {
		last = max(last, r[3])
	}
	require.Equal(t, "2025-01-09", last)
}

func TestWriteTiny(t *testing.T) {
	for _, n := range []int{1, 2, 3} {
		dir, sum := write(t, Options{Customers: n, Seed: uint64(n)})
		require.Equal(t, n, sum.Customers)
		require.Len(t, readCSV(t, filepath.Join(dir, CustomerFile)), n+1)
	}
}

func TestSchemaFileParses(t *testing.T) {
	dir, _ := write(t, Options{Customers: 5})
	data, err := os.ReadFile(filepath.Join(dir, SchemaFile))
	require.NoError(t, err)
	s, err := schema.Parse(data)
	require.NoError(t, err)
	require.Equal(t, "Customer", s.CustomerEntity)
	require.Len(t, s.Measures, len(measures))
	churn, ok := s.Entity("ChurnScore")
	require.True(t, ok)
	require.True(t, churn.Prediction)
	require.Equal(t, []schema.Path{{OrderLineOrder, OrderCustomer}}, s.Paths("OrderLine"))

	seg, err := os.ReadFile(filepath.Join(dir, SegmentFile))
	require.NoError(t, err)
	require.Equal(t, ExampleSegment(), seg)
}

// TestFilesMatchSchema reads every CSV file plainly and checks it against
// the schema: the header, the field count of every row, unique non-null
// keys and values that parse as their types.
func TestFilesMatchSchema(t *testing.T) {
	dir, sum := write(t, Options{Customers: 2000, Seed: 9})
	s := Schema()
	counts := map[string]int{
		"Customer": sum.Customers, "Order": sum.Orders, "OrderLine": sum.OrderLines,
		"SupportCase": sum.SupportCases, "ChurnScore": sum.ChurnScores,
	}
	nulls := map[string]int{}
	for _, e := range s.Entities {
		rows := readCSV(t, filepath.Join(dir, e.File))
		require.Equal(t, e.AttributeNames(), rows[0], e.File)
		require.Len(t, rows, counts[e.Name]+1, e.File)
		keys := map[string]bool{}
		key := e.AttributeIndex(e.Key)
		for i, r := range rows[1:] {
			require.NotEmpty(t, r[key], "%s:%d: null key", e.File, i+2)
			require.False(t, keys[r[key]], "%s:%d: duplicate key %s", e.File, i+2, r[key])
			keys[r[key]] = true
			for j, a := range e.Attributes {
				if r[j] == "" {
					nulls[e.Name+"."+a.Name]++
					continue
				}
				require.NoError(t, parses(a.Type, r[j]), "%s:%d: column %s", e.File, i+2, a.Name)
			}
		}
	}
	// Missing values, as a real export has them.
	for _, attr := range []string{"Customer.Country", "Customer.Age", "Customer.Email", "Customer.IsVip",
		"Customer.LastSeen", "Order.Channel", "SupportCase.Priority"} {
		require.Positive(t, nulls[attr], "%s has no nulls", attr)
	}
}

func parses(t schema.Type, s string) error {
	var err error
	switch t {
	case schema.Integer:
		_, err = strconv.ParseInt(s, 10, 64)
	case schema.Number:
		_, err = strconv.ParseFloat(s, 64)
	case schema.Date:
		_, err = time.Parse(time.DateOnly, s)
	case schema.Datetime:
		_, err = time.Parse(time.RFC3339, s)
	case schema.Boolean:
		_, err = strconv.ParseBool(s)
	}
	return err
}

// TestBrokenLinks counts null and dangling foreign keys in the files and
// compares them with the summary: every relationship but the prediction's
// has both kinds.
func TestBrokenLinks(t *testing.T) {
	for _, n := range []int{3, 1000} {
		dir, sum := write(t, Options{Customers: n, Seed: 1})
		got := brokenFromFiles(t, dir)
		require.Equal(t, sum.Broken, got)
		for _, b := range got {
			if b.Relationship == ChurnScoreCustomer {
				require.Zero(t, b.Null+b.Dangling)
				continue
			}
			require.Positive(t, b.Null, "%s has no null foreign key", b.Relationship)
			require.Positive(t, b.Dangling, "%s has no dangling foreign key", b.Relationship)
		}
	}
}

func brokenFromFiles(t *testing.T, dir string) []BrokenLinks {
	s := Schema()
	var out []BrokenLinks
	for _, r := range s.Relationships {
		from, _ := s.Entity(r.From.Entity)
		to, _ := s.Entity(r.To.Entity)
		keys := map[string]bool{}
		toRows := readCSV(t, filepath.Join(dir, to.File))
		k := to.AttributeIndex(r.To.Attribute)
		for _, row := range toRows[1:] {
			keys[row[k]] = true
		}
		b := BrokenLinks{Relationship: r.Name}
		fromRows := readCSV(t, filepath.Join(dir, from.File))
		fk := from.AttributeIndex(r.From.Attribute)
		for _, row := range fromRows[1:] {
			switch {
			case row[fk] == "":
				b.Null++
			case !keys[row[fk]]:
				b.Dangling++
			}
		}
		out = append(out, b)
	}
	return out
}

// TestExpectedMembers recomputes the example segment from the files, row
// by row, and compares it with the summary's count.
func TestExpectedMembers(t *testing.T) {
	dir, sum := write(t, Options{Customers: 3000, Seed: 5})
	got := referenceMembers(t, dir, sum.AsOf)
	require.Len(t, got, sum.ExpectedMembers)
	require.Positive(t, sum.ExpectedMembers)
}

// referenceMembers evaluates the example segment plainly over the CSV
// files: the keys of customers with at least 500 of orders dated within 90
// days of asOf's day, an escalated case, and a country other than BR and
// JP, in file order.
func referenceMembers(t testing.TB, dir string, asOf time.Time) []string {
	t.Helper()
	today := asOf.UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -90)
	spend := map[string]float64{}
	for _, r := range readCSV(t, filepath.Join(dir, OrderFile))[1:] {
		d, err := time.Parse(time.DateOnly, r[3])
		require.NoError(t, err)
		if r[1] == "" || d.Before(from) || d.After(today) {
			continue
		}
		v, err := strconv.ParseFloat(r[2], 64)
		require.NoError(t, err)
		spend[r[1]] += v
	}
	escalated := map[string]bool{}
	for _, r := range readCSV(t, filepath.Join(dir, SupportCaseFile))[1:] {
		if r[3] == "true" {
			escalated[r[1]] = true
		}
	}
	var out []string
	for _, r := range readCSV(t, filepath.Join(dir, CustomerFile))[1:] {
		if spend[r[0]] >= 500 && escalated[r[0]] && r[2] != "BR" && r[2] != "JP" {
			out = append(out, r[0])
		}
	}
	return out
}

func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	require.NoError(t, err)
	return rows
}

func TestAppendFormats(t *testing.T) {
	for d := int32(-25_000); d <= 2_000_000; d += 997 { // years 1901 to 7445: Write allows 1900 to 9000
		want := time.Unix(int64(d)*86400, 0).UTC().Format(time.DateOnly)
		require.Equal(t, want, string(appendDate(nil, d)), "day %d", d)
	}
	for _, sec := range []int64{0, 1, 86399, 86400, 1782777599, 1782777600, -1, -86401} {
		want := time.Unix(sec, 0).UTC().Format(time.RFC3339)
		require.Equal(t, want, string(appendDatetime(nil, sec)), "second %d", sec)
	}
	for _, c := range []struct {
		v     int64
		scale int
		want  string
	}{{0, 2, "0.00"}, {5, 2, "0.05"}, {12345, 2, "123.45"}, {-105, 2, "-1.05"}, {9999, 4, "0.9999"}, {10000, 4, "1.0000"}} {
		require.Equal(t, c.want, string(appendFixed(nil, c.v, c.scale)))
	}
	require.Equal(t, "C0000042", CustomerKey(41))
	require.Equal(t, "C12345678", CustomerKey(12345677))
	require.Equal(t, `"a,b"`, string(appendCSV(nil, "a,b")))
	require.Equal(t, `"say ""hi"""`, string(appendCSV(nil, `say "hi"`)))
}

func BenchmarkWrite(b *testing.B) {
	for _, n := range []int{20_000} {
		b.Run("customers_"+strconv.Itoa(n), func(b *testing.B) {
			dir := b.TempDir()
			b.ReportAllocs()
			var bytes int64
			for b.Loop() {
				sum, err := Write(context.Background(), dir, Options{Customers: n})
				if err != nil {
					b.Fatal(err)
				}
				bytes = sum.Bytes
			}
			b.SetBytes(bytes)
		})
	}
}

// TestFilesAreWhatWriteWrites writes a directory in each format, then in
// the other over it: the directory holds the files Files lists for the
// last one, and nothing else.
func TestFilesAreWhatWriteWrites(t *testing.T) {
	for _, formats := range [][]Format{{CSV, Parquet}, {Parquet, CSV}} {
		dir := t.TempDir()
		for _, f := range formats {
			_, err := Write(context.Background(), dir, Options{Customers: 50, Format: f})
			require.NoError(t, err)
			var written []string
			require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
				if err != nil || d.IsDir() {
					return err
				}
				rel, err := filepath.Rel(dir, path)
				written = append(written, filepath.ToSlash(rel))
				return err
			}))
			slices.Sort(written)
			require.Equal(t, Files(f), written, "after writing %v", formats)
		}
	}
}

func TestSpendMeasureIsInTheSchema(t *testing.T) {
	sch := Schema()
	i := slices.IndexFunc(sch.Measures, func(m json.RawMessage) bool {
		var h struct{ Name string }
		return json.Unmarshal(m, &h) == nil && h.Name == SpendMeasure
	})
	require.GreaterOrEqual(t, i, 0, "no measure %s", SpendMeasure)
}
