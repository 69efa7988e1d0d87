package storage

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
)

var benchLarge = flag.Bool("bench.large", false, "run the load benchmarks on 100,000 customers instead of 20,000")

// BenchmarkLoadCSV loads a generated customer file of 100k rows with every
// type, a plain string key and a dictionary string column.
func BenchmarkLoadCSV(b *testing.B) {
	const rows = 100_000
	var sb strings.Builder
	sb.WriteString("Id,I,N,S,D,T,B\n")
	countries := []string{"FR", "DE", "IT", "ES", "NL", "BE", ""}
	for i := range rows {
		fmt.Fprintf(&sb, "%d,%d,%g,%s,2024-%02d-%02d,2024-01-01T%02d:%02d:%02d.%03dZ,%t\n",
			i, i*37-1000, float64(i)/7, countries[i%len(countries)], i%12+1, i%28+1, i%24, i%60, (i/60)%60, i%1000, i%3 == 0)
	}
	data := sb.String()
	dir := writeDir(b, typesSchema, map[string]string{"Customer.csv": data})
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		snap, err := Load(b.Context(), dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		snap.Release()
	}
}

// benchShopSchema is the schema of the load benchmarks: customers, their
// orders, the orders' lines (two hops to the customer) and support cases
// with two paths to the customer, keys and foreign keys as integers.
const benchShopSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.EXT",
     "attributes": [
       {"name": "CustomerId", "type": "integer"},
       {"name": "Age",        "type": "integer"},
       {"name": "Score",      "type": "number"},
       {"name": "Country",    "type": "string"},
       {"name": "Email",      "type": "string"},
       {"name": "SignupDate", "type": "date"},
       {"name": "LastSeen",   "type": "datetime"},
       {"name": "IsVip",      "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.EXT",
     "attributes": [
       {"name": "OrderId",    "type": "integer"},
       {"name": "CustomerId", "type": "integer"},
       {"name": "Amount",     "type": "number"},
       {"name": "OrderDate",  "type": "date"},
       {"name": "Channel",    "type": "string"}]},
    {"name": "OrderLine", "key": "LineId", "source": "OrderLine.EXT",
     "attributes": [
       {"name": "LineId",   "type": "integer"},
       {"name": "OrderId",  "type": "integer"},
       {"name": "Category", "type": "string"},
       {"name": "Quantity", "type": "integer"},
       {"name": "Price",    "type": "number"}]},
    {"name": "Case", "key": "CaseId", "source": "Case.EXT",
     "attributes": [
       {"name": "CaseId",     "type": "integer"},
       {"name": "CustomerId", "type": "integer"},
       {"name": "OrderId",    "type": "integer"},
       {"name": "Escalated",  "type": "boolean"},
       {"name": "Priority",   "type": "string"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "CustomerId"}},
    {"name": "LineOrder", "from": {"entity": "OrderLine", "attribute": "OrderId"}, "to": {"entity": "Order", "attribute": "OrderId"}},
    {"name": "CaseCustomer", "from": {"entity": "Case", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "CustomerId"}},
    {"name": "CaseOrder", "from": {"entity": "Case", "attribute": "OrderId"}, "to": {"entity": "Order", "attribute": "OrderId"}}
  ]
}`

// benchShopDir writes the load benchmarks' data set, with customers
// customers (ten orders, twenty order lines and two cases each on
// average, in random customer order, about 2% nulls and 0.3% dangling
// foreign keys) to dir, as Parquet (row groups of 2^17 rows,
// dictionary pages for the low-cardinality strings only) or as CSV.
func benchShopDir(b testing.TB, dir string, customers int, format string) string {
	return writeShopData(b, dir, customers, format, 1<<17, false)
}

// writeShopData is benchShopDir with row groups of groupRows rows and,
// with note, an Order attribute Note of many distinct strings.
func writeShopData(b testing.TB, dir string, customers int, format string, groupRows int, note bool) string {
	b.Helper()
	sch := strings.ReplaceAll(benchShopSchema, ".EXT", "."+format)
	if note {
		sch = strings.Replace(sch, `{"name": "Channel",    "type": "string"}]}`, `{"name": "Channel",    "type": "string"},
       {"name": "Note",       "type": "string"}]}`, 1)
	}
	require.NoError(b, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(sch), 0o644))
	r := rand.New(rand.NewPCG(1, 2))
	null := func() bool { return r.IntN(50) == 0 }
	fk := func(n int) int64 {
		if r.IntN(300) == 0 {
			return int64(n + 1 + r.IntN(n+1)) // dangling
		}
		return int64(r.IntN(n))
	}
	countries := []string{"US", "GB", "DE", "FR", "CA", "AU", "NL", "ES", "IT", "SE"}
	channels := []string{"web", "app", "store", "phone"}
	categories := make([]string, 30)
	for i := range categories {
		categories[i] = fmt.Sprintf("category-%d", i)
	}
	priorities := []string{"low", "medium", "high", "urgent"}
	pick := func(vs []string) string { return vs[min(r.IntN(len(vs)), r.IntN(len(vs)))] }

	type col struct {
		name string
		typ  arrow.DataType
		dict bool
		gen  func(row int) any // nil for a null
	}
	write := func(entity string, rows int, cols []col) {
		mem := memory.NewGoAllocator()
		fields := make([]arrow.Field, len(cols))
		builders := make([]array.Builder, len(cols))
		for i, c := range cols {
			fields[i] = arrow.Field{Name: c.name, Type: c.typ, Nullable: true}
			builders[i] = array.NewBuilder(mem, c.typ)
		}
		values := make([][]any, len(cols))
		for i, c := range cols {
			values[i] = make([]any, rows)
			for row := range rows {
				values[i][row] = c.gen(row)
			}
		}
		path := filepath.Join(dir, entity+"."+format)
		f, err := os.Create(path)
		require.NoError(b, err)
		defer func() { require.NoError(b, f.Close()) }()
		if format == "csv" {
			w := bufio.NewWriter(f)
			for i, c := range cols {
				if i > 0 {
					w.WriteByte(',')
				}
				w.WriteString(c.name)
			}
			w.WriteByte('\n')
			for row := range rows {
				for i := range cols {
					if i > 0 {
						w.WriteByte(',')
					}
					switch v := values[i][row].(type) {
					case nil:
					case int64:
						w.WriteString(strconv.FormatInt(v, 10))
					case float64:
						w.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
					case string:
						w.WriteString(v)
					case bool:
						w.WriteString(strconv.FormatBool(v))
					case arrow.Date32:
						w.WriteString(formatDate(v))
					case arrow.Timestamp:
						w.WriteString(formatDatetime(int64(v)))
					}
				}
				w.WriteByte('\n')
			}
			require.NoError(b, w.Flush())
			return
		}
		props := []parquet.WriterProperty{
			parquet.WithCompression(compress.Codecs.Snappy),
			parquet.WithMaxRowGroupLength(int64(groupRows)),
			parquet.WithDictionaryDefault(false),
		}
		for _, c := range cols {
			if c.dict {
				props = append(props, parquet.WithDictionaryFor(c.name, true))
			}
		}
		sc := arrow.NewSchema(fields, nil)
		fw, err := pqarrow.NewFileWriter(sc, struct{ io.Writer }{f}, parquet.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
		require.NoError(b, err)
		for lo := 0; lo < rows || lo == 0; lo += groupRows {
			hi := min(rows, lo+groupRows)
			arrs := make([]arrow.Array, len(cols))
			for i := range cols {
				for row := lo; row < hi; row++ {
					switch v := values[i][row].(type) {
					case nil:
						builders[i].AppendNull()
					case int64:
						builders[i].(*array.Int64Builder).Append(v)
					case float64:
						builders[i].(*array.Float64Builder).Append(v)
					case string:
						builders[i].(*array.StringBuilder).Append(v)
					case bool:
						builders[i].(*array.BooleanBuilder).Append(v)
					case arrow.Date32:
						builders[i].(*array.Date32Builder).Append(v)
					case arrow.Timestamp:
						builders[i].(*array.TimestampBuilder).Append(v)
					}
				}
				arrs[i] = builders[i].NewArray()
			}
			rec := array.NewRecordBatch(sc, arrs, int64(hi-lo))
			require.NoError(b, fw.Write(rec))
			rec.Release()
			releaseArrays(arrs)
			if hi == rows {
				break
			}
		}
		require.NoError(b, fw.Close())
	}
	orNull := func(v any) any {
		if null() {
			return nil
		}
		return v
	}
	ts := &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
	write("Customer", customers, []col{
		{"CustomerId", arrow.PrimitiveTypes.Int64, false, func(row int) any { return int64(row) }},
		{"Age", arrow.PrimitiveTypes.Int64, false, func(int) any { return orNull(int64(18 + r.IntN(70))) }},
		{"Score", arrow.PrimitiveTypes.Float64, false, func(int) any { return orNull(float64(r.IntN(4000)) / 4) }},
		{"Country", arrow.BinaryTypes.String, true, func(int) any { return orNull(pick(countries)) }},
		{"Email", arrow.BinaryTypes.String, false, func(row int) any { return orNull(fmt.Sprintf("user%d@example.org", row)) }},
		{"SignupDate", arrow.FixedWidthTypes.Date32, false, func(int) any { return orNull(arrow.Date32(18000 + r.IntN(2000))) }},
		{"LastSeen", ts, false, func(int) any { return orNull(arrow.Timestamp(1_700_000_000_000_000 + r.Int64N(1e14))) }},
		{"IsVip", arrow.FixedWidthTypes.Boolean, false, func(int) any { return orNull(r.IntN(10) == 0) }},
	})
	orders := 10 * customers
	orderCols := []col{
		{"OrderId", arrow.PrimitiveTypes.Int64, false, func(row int) any { return int64(row) }},
		{"CustomerId", arrow.PrimitiveTypes.Int64, false, func(int) any { return orNull(fk(customers)) }},
		{"Amount", arrow.PrimitiveTypes.Float64, false, func(int) any { return orNull(float64(r.IntN(2000)) / 4) }},
		{"OrderDate", arrow.FixedWidthTypes.Date32, false, func(int) any { return orNull(arrow.Date32(19000 + r.IntN(1000))) }},
		{"Channel", arrow.BinaryTypes.String, true, func(int) any { return orNull(pick(channels)) }},
	}
	if note {
		orderCols = append(orderCols, col{"Note", arrow.BinaryTypes.String, false, func(int) any { return orNull(fmt.Sprintf("note %d", r.IntN(10*orders))) }})
	}
	write("Order", orders, orderCols)
	write("OrderLine", 20*customers, []col{
		{"LineId", arrow.PrimitiveTypes.Int64, false, func(row int) any { return int64(row) }},
		{"OrderId", arrow.PrimitiveTypes.Int64, false, func(int) any { return orNull(fk(orders)) }},
		{"Category", arrow.BinaryTypes.String, true, func(int) any { return orNull(pick(categories)) }},
		{"Quantity", arrow.PrimitiveTypes.Int64, false, func(int) any { return orNull(int64(1 + r.IntN(5))) }},
		{"Price", arrow.PrimitiveTypes.Float64, false, func(int) any { return orNull(float64(r.IntN(400)) / 4) }},
	})
	write("Case", 2*customers, []col{
		{"CaseId", arrow.PrimitiveTypes.Int64, false, func(row int) any { return int64(row) }},
		{"CustomerId", arrow.PrimitiveTypes.Int64, false, func(int) any { return orNull(fk(customers)) }},
		{"OrderId", arrow.PrimitiveTypes.Int64, false, func(int) any { return orNull(fk(orders)) }},
		{"Escalated", arrow.FixedWidthTypes.Boolean, false, func(int) any { return orNull(r.IntN(5) == 0) }},
		{"Priority", arrow.BinaryTypes.String, true, func(int) any { return orNull(pick(priorities)) }},
	})
	return dir
}

// BenchmarkLoadShop loads the benchmarks' data set, from Parquet and from
// CSV. Besides time and allocations it reports the peak resident memory of
// the process during a load (peak-RSS-MB, meaningful when the benchmark
// runs alone in its process), the snapshot's MemoryBytes (snapshot-MB)
// and the processor time of a load, on every core (cpu-s/op).
func BenchmarkLoadShop(b *testing.B) {
	customers := 20_000
	if *benchLarge {
		customers = 100_000
	}
	for _, format := range []string{"parquet", "csv"} {
		b.Run(fmt.Sprintf("%s/customers_%d", format, customers), func(b *testing.B) {
			benchLoadDir(b, benchShopDir(b, b.TempDir(), customers, format))
		})
	}
}

// BenchmarkLoadDir loads the data directory that SEGMENTKIT_LOAD_DIR names
// (the benchmarks module's benchmarks/data/M, say), and reports as
// BenchmarkLoadShop does. It skips itself when the variable is not set.
func BenchmarkLoadDir(b *testing.B) {
	dir := os.Getenv("SEGMENTKIT_LOAD_DIR")
	if dir == "" {
		b.Skip("SEGMENTKIT_LOAD_DIR is not set")
	}
	benchLoadDir(b, dir)
}

func benchLoadDir(b *testing.B, dir string) {
	var size int64
	entries, err := os.ReadDir(dir)
	require.NoError(b, err)
	for _, e := range entries {
		if info, err := e.Info(); err == nil {
			size += info.Size()
		}
	}
	b.SetBytes(size)
	b.ReportAllocs()
	var peak, snapBytes int64
	var cpu time.Duration
	for b.Loop() {
		b.StopTimer()
		runtime.GC()
		debug.FreeOSMemory()
		resetPeakRSS()
		before := cpuTime()
		b.StartTimer()
		snap, err := Load(b.Context(), dir, Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		cpu += cpuTime() - before
		peak = max(peak, peakRSS())
		snapBytes = snap.MemoryBytes()
		snap.Release()
		b.StartTimer()
	}
	if peak > 0 {
		b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MB")
		b.ReportMetric(float64(peak)/float64(snapBytes), "peak/snapshot")
	}
	b.ReportMetric(float64(snapBytes)/(1<<20), "snapshot-MB")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// cpuTime returns the user and system time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// resetPeakRSS sets the process's peak resident memory (VmHWM) to its
// current resident memory, on Linux; elsewhere it does nothing.
func resetPeakRSS() {
	_ = os.WriteFile("/proc/self/clear_refs", []byte("5"), 0)
}

// peakRSS returns the process's peak resident memory in bytes (VmHWM), or
// 0 where /proc/self/status does not tell.
func peakRSS() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 10, 64)
			if err != nil {
				return 0
			}
			return kb << 10
		}
	}
	return 0
}
