package storage

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/fuzzedit"
)

// fuzzSchema has a string key, for dictionary and plain key columns, and
// every other type.
const fuzzSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "Id", "source": "Customer.csv",
     "attributes": [
       {"name": "Id", "type": "string"},
       {"name": "I",  "type": "integer"},
       {"name": "N",  "type": "number"},
       {"name": "D",  "type": "date"},
       {"name": "T",  "type": "datetime"},
       {"name": "B",  "type": "boolean"}]}
  ]
}`

var fuzzSeeds = []string{
	"Id,I,N,D,T,B\na,1,1.5,2024-02-29,2024-01-01T00:00:00Z,true\nb,,,,,\n",
	"\xEF\xBB\xBFId,I,N,D,T,B\n\"a\nb\",-1,1e3,0000-01-01,9999-12-31T23:59:59.999999+23:59,false\n",
	"B,T,D,N,I,Id,\nfalse,2024-01-01T00:00:00.5-01:00,1970-01-01,-0,9223372036854775807,x,\n",
	"Id,I,N,D,T,B\na,1,1,2024-01-01,2024-01-01T00:00:00Z,true\na,2,2,2024-01-01,2024-01-01T00:00:00Z,true\n",
	"Id,I,N,D,T,B\n,1,1,2024-01-01,2024-01-01T00:00:00Z,true\n",
	"Id,I,N,D,T,B\r\na,0x1,NaN,2023-02-29,2024-01-01 00:00:00Z,TRUE\r\n",
	"Id,I\na,1\n",
	"Id,I,N,D,T,B\na,1,1,2024-01-01,2024-01-01T00:00:00Z,true,extra\n",
	"Id,I,N,D,T,B\na\"b,1,1,2024-01-01,2024-01-01T00:00:00Z,true\n",
	"Id,I,N,D,T,B\n\"a\xff\",1,1,2024-01-01,2024-01-01T00:00:00Z,true\n",
	"",
	"\n\n",
	"\xEF\xBB",
}

// loadCSVBytes loads data as Customer.csv of fuzzSchema, with Load.
func loadCSVBytes(t testing.TB, mem memory.Allocator, data []byte) (*Snapshot, error) {
	t.Helper()
	dir := writeDir(t, fuzzSchema, map[string]string{"Customer.csv": string(data)})
	return Load(context.Background(), dir, Options{Allocator: mem})
}

// checkSnapshot checks what every snapshot must satisfy.
func checkSnapshot(t testing.TB, snap *Snapshot) {
	t.Helper()
	tbl := snap.Customers()
	require.Equal(t, tbl.NumRows, snap.NumCustomers())
	for _, c := range tbl.Columns {
		require.Equal(t, tbl.NumRows, c.Data.Len())
		for r := range tbl.NumRows {
			_ = c.Format(r)
		}
	}
	for id := range uint32(tbl.NumRows) {
		key := snap.CustomerKey(id)
		got, ok := snap.CustomerID(key)
		require.True(t, ok, "key %q", key)
		require.Equal(t, id, got)
	}
}

func FuzzLoadCSV(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		defer mem.AssertSize(t, 0)
		snap, err := loadCSVBytes(t, mem, data)
		if err != nil {
			require.Nil(t, snap)
			return
		}
		defer snap.Release()
		checkSnapshot(t, snap)
	})
}

// TestFuzzSeeds runs the fuzz seeds and kept crashers as named cases,
// with the outcome each must have.
func TestFuzzSeeds(t *testing.T) {
	tests := []struct {
		name    string
		data    string
		wantErr error // nil: a snapshot
	}{
		{"valid", fuzzSeeds[0], nil},
		{"bom and quoted newline", fuzzSeeds[1], nil},
		{"reordered with unnamed column", fuzzSeeds[2], nil},
		{"duplicate key", fuzzSeeds[3], ErrDuplicateKey},
		{"null key", fuzzSeeds[4], ErrNullKey},
		{"bad values", fuzzSeeds[5], ErrData},
		{"missing columns", fuzzSeeds[6], ErrData},
		{"extra field", fuzzSeeds[7], ErrData},
		{"bare quote", fuzzSeeds[8], ErrData},
		{"invalid UTF-8 key", fuzzSeeds[9], ErrData},
		{"empty", fuzzSeeds[10], ErrData},
		{"blank lines", fuzzSeeds[11], ErrData},
		{"partial bom", fuzzSeeds[12], ErrData},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			snap, err := loadCSVBytes(t, mem, []byte(tt.data))
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			defer snap.Release()
			checkSnapshot(t, snap)
		})
	}
}

// FuzzLoadParquet checks that no damage to a Parquet data file makes Load
// panic or leak Arrow memory: it gives a snapshot that satisfies
// checkSnapshot, or an error of the data that names the file. The bases
// are the valid rows of fuzzSeeds written as Parquet, in one row group
// and in row groups of one row (dictionary and plain pages); base picks
// one and fuzzedit.Apply applies edits and cut to it. The fuzzer mutates
// the few bytes of edits, not the file: minimizing a new interesting
// input of 4-6 kB took it its whole minute (-fuzzminimizetime) each time,
// and it ran a few inputs a minute. The inputs it once failed on are kept
// whole under testdata/parquet-fuzz/ (TestFuzzParquetRepro).
//
//	go test ./storage/ -run '^$' -fuzz FuzzLoadParquet -fuzztime 10m
func FuzzLoadParquet(f *testing.F) {
	bases := parquetBases(f)
	for i := range bases {
		f.Add(uint8(i), []byte{}, uint32(0))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for range 8 {
		edit := make([]byte, 4)
		for i := range edit {
			edit[i] = byte(rng.Uint32())
		}
		f.Add(uint8(rng.IntN(len(bases))), edit, uint32(0))
	}
	f.Add(uint8(0), []byte{}, uint32(len(bases[0])-8))
	f.Fuzz(func(t *testing.T, base uint8, edits []byte, cut uint32) {
		checkParquetBytes(t, fuzzedit.Apply(bases[int(base)%len(bases)], edits, cut))
	})
}

// parquetBases are the files FuzzLoadParquet edits.
func parquetBases(tb testing.TB) [][]byte {
	var bases [][]byte
	for _, rows := range []int64{0, 1} {
		for _, s := range fuzzSeeds[:3] {
			snap, err := loadCSVBytes(tb, memory.DefaultAllocator, []byte(s))
			require.NoError(tb, err)
			var buf bytes.Buffer
			writeParquet(tb, &buf, snap.Customers(), rows)
			snap.Release()
			bases = append(bases, buf.Bytes())
		}
	}
	return bases
}

// checkParquetBytes loads data as the Customer.parquet of fuzzSchema:
// a consistent snapshot, or an error of the data that names the file; no
// Arrow memory left either way.
func checkParquetBytes(t *testing.T, data []byte) {
	sch := strings.Replace(fuzzSchema, "Customer.csv", "Customer.parquet", 1)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dir := writeDir(t, sch, map[string]string{"Customer.parquet": string(data)})
	snap, err := Load(context.Background(), dir, Options{Allocator: mem})
	if err != nil {
		require.Nil(t, snap)
		require.True(t, errors.Is(err, ErrData) || errors.Is(err, ErrDuplicateKey) || errors.Is(err, ErrNullKey), "%v", err)
		require.Contains(t, err.Error(), "Customer.parquet")
		return
	}
	defer snap.Release()
	checkSnapshot(t, snap)
}

// TestFuzzParquetRepro runs the Parquet files FuzzLoadParquet once failed
// on, kept whole under testdata/parquet-fuzz/.
func TestFuzzParquetRepro(t *testing.T) {
	fuzzedit.EachFile(t, filepath.Join("testdata", "parquet-fuzz", "*.parquet"), checkParquetBytes)
}
