package storage

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/segmentkit/segmentkit/schema"
)

// writeStrings writes a Parquet file of one string column S, values[r]
// nil for a null row, with the writer properties props.
func writeStrings(t interface {
	require.TestingT
	Helper()
}, path string, values []*string, nullable bool, props ...parquet.WriterProperty) {
	t.Helper()
	mem := memory.NewGoAllocator()
	b := array.NewStringBuilder(mem)
	defer b.Release()
	for _, v := range values {
		if v == nil {
			b.AppendNull()
		} else {
			b.Append(*v)
		}
	}
	arr := b.NewArray()
	defer arr.Release()
	sc := arrow.NewSchema([]arrow.Field{{Name: "S", Type: arrow.BinaryTypes.String, Nullable: nullable}}, nil)
	rec := array.NewRecordBatch(sc, []arrow.Array{arr}, int64(len(values)))
	defer rec.Release()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer func() { require.NoError(t, f.Close()) }()
	w, err := pqarrow.NewFileWriter(sc, struct{ io.Writer }{f}, parquet.NewWriterProperties(props...), pqarrow.DefaultWriterProps())
	require.NoError(t, err)
	require.NoError(t, w.Write(rec))
	require.NoError(t, w.Close())
}

// TestDictGroups checks that the row groups of dictionary-encoded string
// columns decode from their pages (decodeDictGroup) to the values written,
// as they do when read as byte arrays (bytesDictGroup, which reads plain
// pages too): nulls or none,
// small and large dictionaries (bit widths from 0 up), pages of versions
// 1 and 2 and of any size, row groups of any size.
func TestDictGroups(t *testing.T) {
	dir := t.TempDir()
	fromPages, runs := 0, 0
	rapid.Check(t, func(rt *rapid.T) {
		runs++
		n := rapid.IntRange(0, 3000).Draw(rt, "rows")
		distinct := rapid.IntRange(1, 1500).Draw(rt, "distinct")
		nullable := rapid.Bool().Draw(rt, "nullable")
		nullPct := 0
		if nullable {
			nullPct = rapid.IntRange(0, 100).Draw(rt, "nullPercent")
		}
		values := make([]*string, n)
		for r := range values {
			if rapid.IntRange(0, 99).Draw(rt, "null") < nullPct {
				continue
			}
			s := fmt.Sprintf("v%d", rapid.IntRange(0, distinct-1).Draw(rt, "value"))
			values[r] = &s
		}
		version := parquet.DataPageV1
		if rapid.Bool().Draw(rt, "v2") {
			version = parquet.DataPageV2
		}
		path := filepath.Join(dir, "S.parquet")
		writeStrings(rt, path, values, nullable,
			parquet.WithDataPageVersion(version),
			parquet.WithDataPageSize(int64(rapid.IntRange(16, 8192).Draw(rt, "pageSize"))),
			parquet.WithMaxRowGroupLength(int64(rapid.IntRange(1, 4000).Draw(rt, "groupRows"))),
			parquet.WithDictionaryPageSizeLimit(1<<20))

		e := &schema.Entity{Name: "E", Key: "S", File: "S.parquet", Attributes: []schema.Attribute{{Name: "S", Type: schema.String}}}
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(rt, 0)
		src, err := openParquetSource(path, e, ErrData, mem)
		require.NoError(rt, err)
		defer src.close()
		// The writer may choose plain pages for a small column.
		if src.dictPages[0] {
			fromPages++
		}
		maxDef := src.rdr.MetaData().Schema.Column(src.leaves[0]).MaxDefinitionLevel()
		check := func(what string, d *dictRows, first int) {
			var nulls []int32
			for r, j := range d.idx {
				want := values[first+r]
				if want == nil {
					require.Equal(rt, noEntry, j, "%s: row %d", what, first+r)
					nulls = append(nulls, int32(r))
					continue
				}
				require.GreaterOrEqual(rt, j, int32(0), "%s: row %d", what, first+r)
				require.Equal(rt, *want, string(d.entry(j)), "%s: row %d", what, first+r)
			}
			require.Equal(rt, nulls, append([]int32(nil), d.nulls...), what)
		}
		for g, first := range src.groupFirsts() {
			if src.dictPages[0] {
				var d dictRows
				require.NoError(rt, decodeDictGroup(t.Context(), src.rdr, g, src.leaves[0], int(src.groups[g]), maxDef, &d))
				check("pages", &d, first)
			}
			var b dictRows
			require.NoError(rt, src.bytesDictGroup(t.Context(), 0, g, first, &b))
			check("byte arrays", &b, first)
		}
	})
	require.Greater(t, fromPages, runs/10, "columns read from their dictionary pages, of %d", runs)
}

// TestLoadDictionaryTurnsPlain loads dictionary-encoded string columns
// whose distinct values come late: a few in the first row group, one per
// row in the next (so the column turns plain at the second checkpoint),
// for customers (rows in file order) and a related entity (rows placed
// by customer), and checks every value and the column's encoding.
func TestLoadDictionaryTurnsPlain(t *testing.T) {
	const sch = `{
  "customerEntity": "C",
  "entities": [
    {"name": "C", "key": "Id", "source": "C.parquet",
     "attributes": [{"name": "Id", "type": "integer"}, {"name": "S", "type": "string"}]},
    {"name": "E", "key": "Id", "source": "E.parquet",
     "attributes": [{"name": "Id", "type": "integer"}, {"name": "C", "type": "integer"}, {"name": "S", "type": "string"}]}
  ],
  "relationships": [{"name": "EC", "from": {"entity": "E", "attribute": "C"}, "to": {"entity": "C", "attribute": "Id"}}]
}`
	for _, plainAt := range []int{0, 40_000} {
		t.Run(fmt.Sprintf("distinct_from_row_%d", plainAt), func(t *testing.T) {
			const rows, customers = 150_000, 1000
			dir := writeDir(t, sch, nil)
			strs := make([]string, rows)
			for r := range strs {
				switch {
				case r%97 == 5:
					// null
				case r < plainAt:
					strs[r] = fmt.Sprintf("few-%d", r%7)
				default:
					strs[r] = fmt.Sprintf("distinct-%d", r)
				}
			}
			write := func(name string, ids []int64, cust []int64) {
				mem := memory.NewGoAllocator()
				fields := []arrow.Field{{Name: "Id", Type: arrow.PrimitiveTypes.Int64}}
				ib := array.NewInt64Builder(mem)
				ib.AppendValues(ids, nil)
				cols := []arrow.Array{ib.NewArray()}
				if cust != nil {
					fields = append(fields, arrow.Field{Name: "C", Type: arrow.PrimitiveTypes.Int64})
					cb := array.NewInt64Builder(mem)
					cb.AppendValues(cust, nil)
					cols = append(cols, cb.NewArray())
				}
				sb := array.NewStringBuilder(mem)
				for r := range ids {
					if strs[r] == "" {
						sb.AppendNull()
					} else {
						sb.Append(strs[r])
					}
				}
				fields = append(fields, arrow.Field{Name: "S", Type: arrow.BinaryTypes.String, Nullable: true})
				cols = append(cols, sb.NewArray())
				sc := arrow.NewSchema(fields, nil)
				rec := array.NewRecordBatch(sc, cols, int64(len(ids)))
				defer rec.Release()
				releaseArrays(cols)
				f, err := os.Create(filepath.Join(dir, name))
				require.NoError(t, err)
				defer func() { require.NoError(t, f.Close()) }()
				w, err := pqarrow.NewFileWriter(sc, struct{ io.Writer }{f}, parquet.NewWriterProperties(
					parquet.WithMaxRowGroupLength(50_000), parquet.WithDictionaryPageSizeLimit(64<<20)), pqarrow.DefaultWriterProps())
				require.NoError(t, err)
				require.NoError(t, w.Write(rec))
				require.NoError(t, w.Close())
			}
			ids := make([]int64, rows)
			cust := make([]int64, rows)
			for r := range ids {
				ids[r] = int64(r)
				cust[r] = int64((r * 7919) % customers)
			}
			write("C.parquet", ids, nil)
			write("E.parquet", ids, cust)

			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			snap, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.NoError(t, err)
			defer snap.Release()
			for _, name := range []string{"C", "E"} {
				tbl := snap.Table(name)
				id, s := tbl.Column("Id").Data.(*array.Int64), tbl.Column("S")
				_, dict := s.Data.(*array.Dictionary)
				require.False(t, dict, "%s.S turns plain", name)
				for i := range tbl.NumRows {
					want := strs[id.Value(i)]
					if want == "" {
						require.True(t, s.Data.IsNull(i), "%s row of key %d", name, id.Value(i))
					} else {
						require.Equal(t, want, s.Format(i), "%s row of key %d", name, id.Value(i))
					}
				}
			}
		})
	}
}

// TestCountCustomersInParts checks the counting sort by customer in parts
// (countCustomers, placeByCounts) against the one in one pass
// (customerStarts, linkOrder, placeByStarts): the same starts, broken
// rows, order and places, whatever the parts.
func TestCountCustomersInParts(t *testing.T) {
	defer func(m int) { minSortPart = m }(minSortPart)
	rapid.Check(t, func(rt *rapid.T) {
		numCustomers := rapid.IntRange(1, 50).Draw(rt, "customers")
		cust := rapid.SliceOfN(rapid.Int32Range(-1, int32(numCustomers-1)), 0, 400).Draw(rt, "cust")
		if rapid.Bool().Draw(rt, "sorted") {
			slices.Sort(cust)
			// The rows of no customer last, as in sorted links, or
			// somewhere among the others.
			k := 0
			for k < len(cust) && cust[k] < 0 {
				k++
			}
			valid := slices.Clone(cust[k:])
			at := len(valid)
			if rapid.Bool().Draw(rt, "brokenInside") {
				at = rapid.IntRange(0, len(valid)).Draw(rt, "brokenAt")
			}
			cust = slices.Concat(valid[:at], cust[:k], valid[at:])
		}
		minSortPart = rapid.IntRange(1, 100).Draw(rt, "minSortPart")
		wantStarts := customerStarts(cust, numCustomers, true)
		wantBroken, wantSorted := linkOrder(cust)
		wantPlace := placeByStarts(cust, wantStarts)
		starts, broken, sorted, parts := countCustomers(cust, numCustomers)
		require.Equal(rt, wantStarts, starts)
		require.Equal(rt, wantBroken, broken)
		require.Equal(rt, wantSorted, sorted)
		require.Equal(rt, wantPlace, placeByCounts(cust, starts, parts))
	})
}
