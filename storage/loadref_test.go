package storage

import (
	"cmp"
	"context"
	"encoding/csv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
)

// refTable is an entity's data as a plain reading of its file gives it:
// every value as Column.Format writes it, rows in file order, with null
// values marked.
type refTable struct {
	cols  map[string][]string
	nulls map[string][]bool
	rows  int
}

// readRefTable reads a data file without the loader: a CSV file with
// encoding/csv, a Parquet file whole with pqarrow's defaults.
func readRefTable(t *testing.T, path string, e *schema.Entity) refTable {
	t.Helper()
	ref := refTable{cols: map[string][]string{}, nulls: map[string][]bool{}}
	if strings.HasSuffix(path, ".csv") {
		f, err := os.Open(path)
		require.NoError(t, err)
		defer f.Close()
		recs, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err)
		for j, h := range recs[0] {
			for _, rec := range recs[1:] {
				ref.cols[h] = append(ref.cols[h], rec[j])
				ref.nulls[h] = append(ref.nulls[h], rec[j] == "")
			}
		}
		ref.rows = len(recs) - 1
		return ref
	}
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	mem := memory.NewGoAllocator()
	tbl, err := pqarrow.ReadTable(t.Context(), f, parquet.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	require.NoError(t, err)
	defer tbl.Release()
	ref.rows = int(tbl.NumRows())
	for i := range int(tbl.NumCols()) {
		name := tbl.Schema().Field(i).Name
		for _, c := range tbl.Column(i).Data().Chunks() {
			for r := range c.Len() {
				ref.nulls[name] = append(ref.nulls[name], c.IsNull(r))
				v := ""
				if c.IsValid(r) {
					switch c := c.(type) {
					case *array.Int64:
						v = strconv.FormatInt(c.Value(r), 10)
					case *array.Float64:
						v = strconv.FormatFloat(c.Value(r), 'g', -1, 64)
					case *array.String:
						v = c.Value(r)
					case *array.Date32:
						v = formatDate(c.Value(r))
					case *array.Timestamp:
						v = formatDatetime(int64(c.Value(r)))
					case *array.Boolean:
						v = strconv.FormatBool(c.Value(r))
					default:
						t.Fatalf("column %s of type %s", name, c.DataType())
					}
				}
				ref.cols[name] = append(ref.cols[name], v)
			}
		}
	}
	return ref
}

// TestLoadClusteredReference loads a generated four-entity data set, from
// Parquet in row groups of more than one batch and from CSV, and checks
// the snapshot against a plain reading of the files: every value of every
// row, the rows of related entities in the order of a stable sort by
// customer along their first path, every link, file order and link
// report, and the encoding of every string column (a dictionary in
// first-seen order while at most half the rows so far are distinct, at
// every multiple of batchRows and at the end).
func TestLoadClusteredReference(t *testing.T) {
	for _, format := range []string{"parquet", "csv"} {
		t.Run(format, func(t *testing.T) {
			dir := writeShopData(t, t.TempDir(), 8000, format, 100_000, true)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			snap, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.NoError(t, err)
			defer snap.Release()
			sch := snap.Schema()

			refs := map[string]refTable{}
			keyRow := map[string]map[string]int{}
			for _, e := range sch.Entities {
				ref := readRefTable(t, filepath.Join(dir, e.File), &e)
				refs[e.Name] = ref
				keyRow[e.Name] = map[string]int{}
				for r, k := range ref.cols[e.Key] {
					keyRow[e.Name][k] = r
				}
			}
			// target[rel][r] is the row of the other side, or -1.
			target := map[string][]int{}
			for _, rel := range sch.Relationships {
				ref := refs[rel.From.Entity]
				var null, dangling int
				for r, v := range ref.cols[rel.From.Attribute] {
					row, ok := keyRow[rel.To.Entity][v]
					switch {
					case ref.nulls[rel.From.Attribute][r]:
						row = -1
						null++
					case !ok:
						row = -1
						dangling++
					}
					target[rel.Name] = append(target[rel.Name], row)
				}
				i := slices.IndexFunc(snap.LinkReports(), func(lr LinkReport) bool { return lr.Relationship == rel.Name })
				require.Equal(t, LinkReport{Relationship: rel.Name, Null: null, Dangling: dangling}, snap.LinkReports()[i])
			}
			var customerOf func(entity string, p schema.Path, r int) int32
			customerOf = func(entity string, p schema.Path, r int) int32 {
				rel, _ := sch.Relationship(p[0])
				to := target[rel.Name][r]
				if to < 0 {
					return NoCustomer
				}
				if len(p) == 1 {
					return int32(to)
				}
				return customerOf(rel.To.Entity, p[1:], to)
			}

			for _, e := range sch.Entities {
				ref, tbl := refs[e.Name], snap.Table(e.Name)
				require.Equal(t, ref.rows, tbl.NumRows, e.Name)
				paths := sch.Paths(e.Name)
				// perm[i] is the file row of snapshot row i.
				perm := make([]int, ref.rows)
				for i := range perm {
					perm[i] = i
				}
				cust := make([][]int32, len(paths))
				for j, p := range paths {
					for r := range ref.rows {
						cust[j] = append(cust[j], customerOf(e.Name, p, r))
					}
				}
				key := func(c int32) int64 {
					if c == NoCustomer {
						return 1 << 32
					}
					return int64(c)
				}
				if len(paths) > 0 {
					slices.SortStableFunc(perm, func(a, b int) int { return cmp.Compare(key(cust[0][a]), key(cust[0][b])) })
				}
				for _, c := range tbl.Columns {
					for i, r := range perm {
						want := ref.cols[c.Attr.Name][r]
						if ref.nulls[c.Attr.Name][r] {
							want = ""
						}
						if got := c.Format(i); got != want || c.Data.IsNull(i) != ref.nulls[c.Attr.Name][r] {
							t.Fatalf("%s.%s row %d (file row %d): %q, want %q", e.Name, c.Attr.Name, i, r, got, want)
						}
					}
					if c.Attr.Type == schema.String {
						checkEncoding(t, e.Name+"."+c.Attr.Name, c, ref.cols[c.Attr.Name], ref.nulls[c.Attr.Name])
					}
				}
				moved := slices.IndexFunc(perm, func(r int) bool { return perm[r] != r }) >= 0
				for j, p := range paths {
					l := snap.Links(e.Name, p)
					require.NotNil(t, l)
					want := make([]int32, len(perm))
					broken := 0
					for i, r := range perm {
						want[i] = cust[j][r]
						if want[i] == NoCustomer {
							broken++
						}
					}
					require.Equal(t, want, l.Customer, "%s %v", e.Name, p)
					require.Equal(t, broken, l.Broken)
					sorted := slices.IsSortedFunc(want, func(a, b int32) int { return cmp.Compare(key(a), key(b)) })
					for i := 1; i < len(want) && sorted; i++ {
						sorted = want[i] != want[i-1] || want[i] == NoCustomer || perm[i] > perm[i-1]
					}
					require.Equal(t, sorted, l.Sorted, "%s %v", e.Name, p)
					if j == 0 || !moved {
						require.Nil(t, l.FileOrder(), "%s %v", e.Name, p)
					} else {
						fileOrder := make([]uint32, len(perm))
						for i, r := range perm {
							fileOrder[r] = uint32(i)
						}
						require.Equal(t, fileOrder, l.FileOrder(), "%s %v", e.Name, p)
					}
					// Each customer's rows, in file order.
					inv := make([]uint32, len(perm))
					for i, r := range perm {
						inv[r] = uint32(i)
					}
					groups := make([][]uint32, snap.NumCustomers())
					for r, c := range cust[j] {
						if c != NoCustomer {
							groups[c] = append(groups[c], inv[r])
						}
					}
					offsets, rows := l.Grouped()
					for c, g := range groups {
						if got := rows[offsets[c]:offsets[c+1]]; !slices.Equal(g, got) {
							t.Fatalf("%s %v: customer %d has rows %v, want %v", e.Name, p, c, got, g)
						}
					}
				}
			}
		})
	}
}

// checkEncoding checks that a string column is a dictionary exactly when
// the values of the file say so, with its entries in first-seen order.
func checkEncoding(t *testing.T, name string, c *Column, values []string, nulls []bool) {
	t.Helper()
	seen := map[string]bool{}
	var first []string
	dict := true
	for r, v := range values {
		if !nulls[r] && !seen[v] {
			seen[v] = true
			first = append(first, v)
		}
		if (r+1)%batchRows == 0 && len(first) > (r+1)/2 {
			dict = false
		}
	}
	if len(first) > len(values)/2 {
		dict = false
	}
	d, isDict := c.Data.(*array.Dictionary)
	require.Equal(t, dict, isDict, "%s: %d distinct of %d", name, len(first), len(values))
	if isDict {
		require.True(t, arrow.TypeEqual(stringDictType, d.DataType()))
		require.Equal(t, first, dictValues(d), name)
	}
}

// copyDir copies the files of the directory from to a new directory to.
func copyDir(t *testing.T, from, to string) {
	require.NoError(t, os.MkdirAll(to, 0o755))
	es, _ := os.ReadDir(from)
	for _, e := range es {
		b, _ := os.ReadFile(filepath.Join(from, e.Name()))
		require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), b, 0o644))
	}
}

// mutate rewrites dir/entity.parquet, as writeShopData writes it, with
// its column col replaced by f of the column.
func mutate(t *testing.T, dir, entity, col string, f func(mem memory.Allocator, a arrow.Array) arrow.Array) {
	path := filepath.Join(dir, entity+".parquet")
	fh, err := os.Open(path)
	require.NoError(t, err)
	mem := memory.NewGoAllocator()
	tbl, err := pqarrow.ReadTable(context.Background(), fh, parquet.NewReaderProperties(mem), pqarrow.ArrowReadProperties{}, mem)
	require.NoError(t, err)
	fh.Close()
	var fields []arrow.Field
	var cols []arrow.Array
	for i := range int(tbl.NumCols()) {
		c := tbl.Column(i)
		arr, err := array.Concatenate(c.Data().Chunks(), mem)
		require.NoError(t, err)
		fd := tbl.Schema().Field(i)
		if fd.Name == col {
			arr = f(mem, arr)
			fd.Type = arr.DataType()
		}
		fields = append(fields, fd)
		cols = append(cols, arr)
	}
	sc := arrow.NewSchema(fields, nil)
	rec := array.NewRecordBatch(sc, cols, tbl.NumRows())
	out, err := os.Create(path)
	require.NoError(t, err)
	props := []parquet.WriterProperty{parquet.WithCompression(compress.Codecs.Snappy), parquet.WithMaxRowGroupLength(10_000), parquet.WithDictionaryDefault(false)}
	for _, n := range []string{"Country", "Channel", "Category", "Priority"} {
		props = append(props, parquet.WithDictionaryFor(n, true))
	}
	at := array.NewTableFromRecords(sc, []arrow.RecordBatch{rec})
	require.NoError(t, pqarrow.WriteTable(at, struct{ io.Writer }{out}, 10_000, parquet.NewWriterProperties(props...), pqarrow.DefaultWriterProps()))
	out.Close()
}

// setInt returns a column mutation that sets row to v, or null.
func setInt(row int, v int64, null bool) func(memory.Allocator, arrow.Array) arrow.Array {
	return func(mem memory.Allocator, a arrow.Array) arrow.Array {
		in := a.(*array.Int64)
		b := array.NewInt64Builder(mem)
		for i := range in.Len() {
			switch {
			case i == row && null:
				b.AppendNull()
			case i == row:
				b.Append(v)
			case in.IsNull(i):
				b.AppendNull()
			default:
				b.Append(in.Value(i))
			}
		}
		return b.NewArray()
	}
}

// setFloat returns a column mutation that sets row to v.
func setFloat(row int, v float64) func(memory.Allocator, arrow.Array) arrow.Array {
	return func(mem memory.Allocator, a arrow.Array) arrow.Array {
		in := a.(*array.Float64)
		b := array.NewFloat64Builder(mem)
		for i := range in.Len() {
			switch {
			case i == row:
				b.Append(v)
			case in.IsNull(i):
				b.AppendNull()
			default:
				b.Append(in.Value(i))
			}
		}
		return b.NewArray()
	}
}

// setString returns a column mutation that sets row to v.
func setString(row int, v string) func(memory.Allocator, arrow.Array) arrow.Array {
	return func(mem memory.Allocator, a arrow.Array) arrow.Array {
		in := a.(*array.String)
		b := array.NewStringBuilder(mem)
		for i := range in.Len() {
			switch {
			case i == row:
				b.Append(v)
			case in.IsNull(i):
				b.AppendNull()
			default:
				b.Append(in.Value(i))
			}
		}
		return b.NewArray()
	}
}

// toInt32 is a column mutation from int64 to int32.
func toInt32(mem memory.Allocator, a arrow.Array) arrow.Array {
	in := a.(*array.Int64)
	b := array.NewInt32Builder(mem)
	for i := range in.Len() {
		if in.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(int32(in.Value(i)))
		}
	}
	return b.NewArray()
}

// toString is a column mutation to the text of each value.
func toString(mem memory.Allocator, a arrow.Array) arrow.Array {
	b := array.NewStringBuilder(mem)
	for i := range a.Len() {
		if a.IsNull(i) {
			b.AppendNull()
		} else {
			b.Append(a.ValueStr(i))
		}
	}
	return b.NewArray()
}

// corrupt flips 64 bytes in the middle of the column chunk of col in row
// group rg of dir/entity.parquet.
func corrupt(t *testing.T, dir, entity string, col string, rg int) {
	path := filepath.Join(dir, entity+".parquet")
	rdr, err := file.OpenParquetFile(path, false)
	require.NoError(t, err)
	idx := rdr.MetaData().Schema.ColumnIndexByName(col)
	cc, err := rdr.MetaData().RowGroup(rg).ColumnChunk(idx)
	require.NoError(t, err)
	off := cc.DataPageOffset() + cc.TotalCompressedSize()/2
	rdr.Close()
	b, _ := os.ReadFile(path)
	for i := range 64 {
		b[int(off)+i] ^= 0x5a
	}
	require.NoError(t, os.WriteFile(path, b, 0o644))
}

// TestLoadProblemsInOrder loads broken variants of a generated data set
// in Parquet, whose related entities Load clusters as it reads them: the
// problem reported is the one an entity by entity reading finds first
// (the first entity in schema order whose data cannot be read, else whose
// keys fail; a row group that cannot be decoded before any value; values
// by attribute order), with the row of the file, and nothing leaks.
func TestLoadProblemsInOrder(t *testing.T) {
	base := writeShopData(t, t.TempDir(), 2000, "parquet", 10_000, false)
	tests := []struct {
		name   string
		change func(dir string)
		want   error
		msg    string
	}{
		{"key of the customers", func(d string) { mutate(t, d, "Customer", "CustomerId", setInt(10, 5, false)) },
			ErrDuplicateKey, `Customer.parquet: row 10: column CustomerId: duplicate key "5" (first at row 5)`},
		{"data before keys", func(d string) {
			mutate(t, d, "Customer", "CustomerId", setInt(10, 5, false))
			mutate(t, d, "Order", "Amount", setFloat(14321, math.NaN()))
		}, ErrData, "Order.parquet: row 14321: column Amount: NaN is NaN or infinite, not a number"},
		{"value of a clustered entity", func(d string) { mutate(t, d, "Order", "Amount", setFloat(15432, math.Inf(1))) },
			ErrData, "Order.parquet: row 15432: column Amount: +Inf is NaN or infinite, not a number"},
		{"null key of a clustered entity", func(d string) { mutate(t, d, "Order", "OrderId", setInt(777, 0, true)) },
			ErrNullKey, "Order.parquet: row 777: column OrderId: key OrderId is null"},
		{"data after the keys that lead to it", func(d string) {
			mutate(t, d, "Order", "OrderId", setInt(15000, 3, false))
			mutate(t, d, "OrderLine", "Price", setFloat(30001, math.NaN()))
		}, ErrData, "OrderLine.parquet: row 30001: column Price: NaN is NaN or infinite, not a number"},
		{"dictionary value", func(d string) { mutate(t, d, "OrderLine", "Category", setString(25001, "bad\xff")) },
			ErrData, `OrderLine.parquet: row 25001: column Category: "bad\xff" is not valid UTF-8`},
		{"plain value of the customers", func(d string) { mutate(t, d, "Customer", "Email", setString(1500, "x\xfe")) },
			ErrData, `Customer.parquet: row 1500: column Email: "x\xfe" is not valid UTF-8`},
		{"type of a column", func(d string) { mutate(t, d, "Case", "Escalated", toString) },
			ErrData, "Case.parquet: column Escalated has Arrow type utf8, want bool (boolean)"},
		{"type of a foreign key", func(d string) { mutate(t, d, "Case", "OrderId", toString) },
			ErrData, "Case.parquet: column OrderId has Arrow type utf8, want int64 (integer)"},
		{"an earlier entity's value before a type", func(d string) {
			mutate(t, d, "Case", "Escalated", toString)
			mutate(t, d, "Order", "Amount", setFloat(3, math.NaN()))
		}, ErrData, "Order.parquet: row 3: column Amount: NaN is NaN or infinite, not a number"},
		{"a row group that cannot be decoded", func(d string) { corrupt(t, d, "OrderLine", "Price", 2) },
			ErrData, "OrderLine.parquet: row group 2: "},
		{"a row group before values", func(d string) {
			mutate(t, d, "OrderLine", "Quantity", setInt(5, 1, false))
			mutate(t, d, "OrderLine", "LineId", setInt(1, 0, true))
			corrupt(t, d, "OrderLine", "Category", 1)
		}, ErrData, "OrderLine.parquet: row group 1: "},
		{"a foreign key that cannot be decoded", func(d string) { corrupt(t, d, "Order", "CustomerId", 1) },
			ErrData, "Order.parquet: row group 1: "},
		{"a key that cannot be decoded", func(d string) { corrupt(t, d, "Order", "OrderId", 0) },
			ErrData, "Order.parquet: row group 0: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "data")
			copyDir(t, base, dir)
			tt.change(dir)
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			_, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.ErrorIs(t, err, tt.want)
			require.Contains(t, err.Error(), tt.msg)
		})
	}
	t.Run("an int32 foreign key", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		copyDir(t, base, dir)
		mutate(t, dir, "OrderLine", "OrderId", toInt32)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		got, err := Load(t.Context(), dir, Options{Allocator: mem})
		require.NoError(t, err)
		defer got.Release()
		want, err := Load(t.Context(), base, Options{})
		require.NoError(t, err)
		defer want.Release()
		l := "OrderLine"
		p := schema.Path{"LineOrder", "OrderCustomer"}
		require.Equal(t, want.Links(l, p).Customer, got.Links(l, p).Customer)
		require.Equal(t, formatAll(want.Table(l)), formatAll(got.Table(l)))
		require.Equal(t, want.LinkReports(), got.LinkReports())
	})
}
