package storage

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// typesSchema has one attribute of every type besides the key.
const typesSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "Id", "source": "Customer.csv",
     "attributes": [
       {"name": "Id",   "type": "integer"},
       {"name": "I",    "type": "integer"},
       {"name": "N",    "type": "number"},
       {"name": "S",    "type": "string"},
       {"name": "D",    "type": "date"},
       {"name": "T",    "type": "datetime"},
       {"name": "B",    "type": "boolean"}]}
  ]
}`

func TestLoadCSVTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)

	csv := "\xEF\xBB\xBFId,I,N,S,D,T,B,Ignored,\n" +
		"1,9223372036854775807,1.5,abc,2024-02-29,2024-03-10T12:00:00+02:00,true,x,y\n" +
		"2,-9223372036854775808,-0,\"a,\"\"b\"\"\nc\",1970-01-01,2024-03-10T10:00:00.250Z,false,,\n" +
		"3,,,,,,,,\n" +
		"4,+7,1e308,é,0000-01-01,1969-12-31T23:59:59.999999-00:30,true,,\n" +
		"5,0,4.9e-324,s,9999-12-31,9999-12-31T23:59:59Z,false,,\n"
	dir := writeDir(t, typesSchema, map[string]string{"Customer.csv": csv})
	snap, err := Load(t.Context(), dir, Options{Allocator: mem})
	require.NoError(t, err)
	defer snap.Release()

	tbl := snap.Customers()
	require.Equal(t, 5, tbl.NumRows)
	require.Equal(t, [][]string{
		{"1", "9223372036854775807", "1.5", "abc", "2024-02-29", "2024-03-10T10:00:00Z", "true"},
		{"2", "-9223372036854775808", "-0", "a,\"b\"\nc", "1970-01-01", "2024-03-10T10:00:00.25Z", "false"},
		{"3", "", "", "", "", "", ""},
		{"4", "7", "1e+308", "é", "0000-01-01", "1970-01-01T00:29:59.999999Z", "true"},
		{"5", "0", "5e-324", "s", "9999-12-31", "9999-12-31T23:59:59Z", "false"},
	}, formatAll(tbl))

	tests := []struct {
		col  string
		want arrow.DataType
	}{
		{"I", arrow.PrimitiveTypes.Int64},
		{"N", arrow.PrimitiveTypes.Float64},
		{"S", arrow.BinaryTypes.String},
		{"D", arrow.FixedWidthTypes.Date32},
		{"T", &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}},
		{"B", arrow.FixedWidthTypes.Boolean},
	}
	for _, tt := range tests {
		t.Run(tt.col, func(t *testing.T) {
			c := tbl.Column(tt.col)
			require.True(t, arrow.TypeEqual(tt.want, c.Data.DataType()), "got %s", c.Data.DataType())
			require.Equal(t, 1, c.Data.NullN())
			require.True(t, c.Data.IsNull(2))
		})
	}
	require.Equal(t, int32(19782), int32(tbl.Column("D").Data.(*array.Date32).Value(0)))
	require.Equal(t, int64(1710064800000000), int64(tbl.Column("T").Data.(*array.Timestamp).Value(0)))
}

func TestLoadCSVBadValues(t *testing.T) {
	tests := []struct {
		name, col, value, want string
	}{
		{"integer decimal", "I", "12.5", `"12.5" is not an integer`},
		{"integer comma", "I", "12,5", `"12,5" is not an integer`},
		{"integer space", "I", " 12", `" 12" is not an integer`},
		{"integer overflow", "I", "9223372036854775808", `out of the 64-bit range`},
		{"integer underscore", "I", "1_000", `is not an integer`},
		{"number comma", "N", "12,5", `"12,5" is not a number`},
		{"number NaN", "N", "NaN", `"NaN" is not a number`},
		{"number Inf", "N", "Inf", `"Inf" is not a number`},
		{"number infinity", "N", "-infinity", `is not a number`},
		{"number hex", "N", "0x1p3", `"0x1p3" is not a number`},
		{"number underscore", "N", "1_000", `"1_000" is not a number`},
		{"number overflow", "N", "1e400", `out of the 64-bit float range`},
		{"number sign only", "N", "-", `is not a number`},
		{"number bare exponent", "N", "1e", `is not a number`},
		{"date no such day", "D", "2023-02-29", `"2023-02-29" is not a date (no such day)`},
		{"date month 13", "D", "2024-13-01", `no such day`},
		{"date short", "D", "2024-1-01", `is not a date (YYYY-MM-DD)`},
		{"date with time", "D", "2024-01-01T00:00:00Z", `is not a date`},
		{"datetime sub-microsecond", "T", "2024-01-01T00:00:00.0000001Z", `microsecond precision`},
		{"datetime space", "T", "2024-01-01 00:00:00Z", `is not a datetime (RFC 3339)`},
		{"datetime comma", "T", "2024-01-01T00:00:00,5Z", `is not a datetime`},
		{"datetime offset 24h", "T", "2024-01-01T00:00:00+24:00", `is not a datetime (RFC 3339): an offset runs from -23:59 to +23:59`},
		{"datetime after year 9999 in UTC", "T", "9999-12-31T23:30:00-01:00", `"9999-12-31T23:30:00-01:00" is outside years 0000 to 9999 in UTC: it is 10000-01-01T00:30:00Z in UTC`},
		{"datetime before year 0000 in UTC", "T", "0000-01-01T00:30:00+01:00", `is outside years 0000 to 9999 in UTC: it is -0001-12-31T23:30:00Z`},
		{"datetime leap second", "T", "2016-12-31T23:59:60Z", `"2016-12-31T23:59:60Z" is a leap second, which segmentkit does not count: segmentkit counts time as Unix time does`},
		{"datetime no zone", "T", "2024-01-01T00:00:00", `is not a datetime`},
		{"datetime hour 24", "T", "2024-01-01T24:00:00Z", `is not a datetime`},
		{"datetime bad day", "T", "2023-02-29T00:00:00Z", `no such day`},
		{"boolean upper", "B", "TRUE", `"TRUE" is not a boolean (true or false)`},
		{"boolean digit", "B", "1", `is not a boolean`},
		{"string invalid UTF-8", "S", "a\xffb", `is not valid UTF-8`},
	}
	cols := []string{"Id", "I", "N", "S", "D", "T", "B"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			row := make([]string, len(cols))
			row[0] = "2"
			for i, c := range cols {
				if c == tt.col {
					row[i] = `"` + strings.ReplaceAll(tt.value, `"`, `""`) + `"`
				}
			}
			csv := strings.Join(cols, ",") + "\n1,,,,,,\n" + strings.Join(row, ",") + "\n"
			dir := writeDir(t, typesSchema, map[string]string{"Customer.csv": csv})
			_, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.Error(t, err)
			require.ErrorIs(t, err, ErrData)
			require.Contains(t, err.Error(), "Customer.csv:3: column "+tt.col+": ")
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestLoadCSVErrorMessage checks the exact form of FORMAT.md's example.
func TestLoadCSVErrorMessage(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	files := shopFiles()
	var b strings.Builder
	b.WriteString("OrderId,CustomerId,Amount\n")
	for i := 2; i < 1042; i++ {
		fmt.Fprintf(&b, "O%d,C1,%d\n", i, i)
	}
	b.WriteString("O1042,C1,\"12,5\"\n")
	files["Order.csv"] = b.String()
	_, err := loadShop(t, mem, files)
	require.ErrorIs(t, err, ErrData)
	require.EqualError(t, err, `Order.csv:1042: column Amount: "12,5" is not a number`)
}

func TestLoadCSVProblems(t *testing.T) {
	tests := []struct {
		name     string
		csv      string
		sentinel error
		want     []string
	}{
		{
			name:     "missing column with suggestion",
			csv:      "CustomerId,age,Score,Country,SignupDate,LastSeen,IsVip\nC1,1,1,FR,2024-01-01,2024-01-01T00:00:00Z,true\n",
			sentinel: ErrData,
			want:     []string{"Customer.csv: missing column Age (did you mean age?)"},
		},
		{
			name:     "two missing columns",
			csv:      "CustomerId,Country\nC1,FR\n",
			sentinel: ErrData,
			want:     []string{"missing column Age", "missing column IsVip"},
		},
		{
			name:     "column twice",
			csv:      "CustomerId,Age,Age,Score,Country,SignupDate,LastSeen,IsVip\nC1,1,2,1,FR,2024-01-01,2024-01-01T00:00:00Z,true\n",
			sentinel: ErrData,
			want:     []string{"Customer.csv:1: column Age appears more than once"},
		},
		{
			name:     "wrong field count",
			csv:      "CustomerId,Age,Score,Country,SignupDate,LastSeen,IsVip\nC1,1,1,FR,2024-01-01,2024-01-01T00:00:00Z,true\nC2,1,1,FR,2024-01-01,2024-01-01T00:00:00Z,true,extra\nC3,1\n",
			sentinel: ErrData,
			want:     []string{"Customer.csv:3: wrong number of fields: 8, the header has 7", "Customer.csv:4: wrong number of fields: 2"},
		},
		{
			name:     "bare quote",
			csv:      "CustomerId,Age,Score,Country,SignupDate,LastSeen,IsVip\nC\"1,1,1,FR,2024-01-01,2024-01-01T00:00:00Z,true\n",
			sentinel: ErrData,
			want:     []string{"Customer.csv:2: bare \" in non-quoted-field (byte 2 of the line)"},
		},
		{
			name:     "empty file",
			csv:      "",
			sentinel: ErrData,
			want:     []string{"Customer.csv: empty file"},
		},
		{
			name:     "duplicate key",
			csv:      "CustomerId,Age,Score,Country,SignupDate,LastSeen,IsVip\nC1,,,,,,\nC2,,,,,,\n\nC1,,,,,,\n",
			sentinel: ErrDuplicateKey,
			want:     []string{`Customer.csv:5: column CustomerId: duplicate key "C1" (first at line 2)`},
		},
		{
			name:     "null key",
			csv:      "CustomerId,Age,Score,Country,SignupDate,LastSeen,IsVip\nC1,,,,,,\n,,,,,,\n",
			sentinel: ErrNullKey,
			want:     []string{"Customer.csv:3: column CustomerId: key CustomerId is null"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			files := shopFiles()
			files["Customer.csv"] = tt.csv
			_, err := loadShop(t, mem, files)
			require.ErrorIs(t, err, tt.sentinel)
			for _, w := range tt.want {
				require.Contains(t, err.Error(), w)
			}
			var l diag.List
			require.True(t, errors.As(err, &l))
		})
	}
}

func TestLoadCSVManyProblems(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var b strings.Builder
	b.WriteString("Id,I,N,S,D,T,B\n")
	for i := range 100 {
		fmt.Fprintf(&b, "%d,x,,,,,\n", i)
	}
	dir := writeDir(t, typesSchema, map[string]string{"Customer.csv": b.String()})
	_, err := Load(t.Context(), dir, Options{Allocator: mem})
	var l diag.List
	require.True(t, errors.As(err, &l))
	require.Len(t, l, maxProblems+1)
	require.Equal(t, "Customer.csv:2: column I", l[0].Path)
	require.Contains(t, l[maxProblems].Message, "stopped reading")
}

func TestLoadSchemaProblems(t *testing.T) {
	tests := []struct {
		name     string
		schema   string
		sentinel error
		want     string
	}{
		{
			name:     "unknown type",
			schema:   strings.Replace(typesSchema, `"type": "integer"}`, `"type": "integr"}`, 1),
			sentinel: schema.ErrUnknownType,
			want:     "did you mean integer?",
		},
		{
			name:     "bad source extension",
			schema:   strings.Replace(typesSchema, "Customer.csv", "Customer.json", 1),
			sentinel: ErrData,
			want:     `entity Customer: source "Customer.json" must be a .csv or .parquet file`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dir := writeDir(t, tt.schema, map[string]string{"Customer.csv": "Id,I,N,S,D,T,B\n"})
			_, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.ErrorIs(t, err, tt.sentinel)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	files := shopFiles()
	delete(files, "Case.csv")
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	_, err := loadShop(t, mem, files)
	require.Error(t, err)
	require.Contains(t, err.Error(), "Case.csv")
}

func TestStringEncoding(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var b strings.Builder
	b.WriteString("Id,I,N,S,D,T,B\n")
	countries := []string{"FR", "DE", "", "IT"}
	for i := range 200_000 {
		fmt.Fprintf(&b, "%d,,,%s,,,\n", i, countries[i%len(countries)])
	}
	dir := writeDir(t, typesSchema, map[string]string{"Customer.csv": b.String()})
	snap, err := Load(t.Context(), dir, Options{Allocator: mem})
	require.NoError(t, err)
	defer snap.Release()

	s := snap.Customers().Column("S")
	dict, ok := s.Data.(*array.Dictionary)
	require.True(t, ok, "a column of few values is dictionary-encoded, got %T", s.Data)
	require.True(t, arrow.TypeEqual(stringDictType, dict.DataType()))
	require.Equal(t, []string{"FR", "DE", "IT"}, dictValues(dict), "entries in first-seen order")
	require.Equal(t, 50_000, s.Data.NullN())
	require.Equal(t, "IT", s.Format(3))
	require.Equal(t, "", s.Format(2))

	// The keys, all distinct, are too many for a dictionary.
	id, ok := snap.CustomerID("199999")
	require.True(t, ok)
	require.Equal(t, uint32(199999), id)
}

func TestStringBuilderFallsBack(t *testing.T) {
	tests := []struct {
		name     string
		values   func(i int) string
		rows     int
		wantDict bool
	}{
		{"few distinct", func(i int) string { return fmt.Sprint(i % 10) }, 1000, true},
		{"all distinct early", func(i int) string { return fmt.Sprint(i) }, 3 * batchRows, false},
		{"all distinct small", func(i int) string { return fmt.Sprint(i) }, 100, false},
		{"half distinct", func(i int) string { return fmt.Sprint(i / 2) }, 1000, true},
		{"empty", func(i int) string { return "" }, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			b := newStringPlacer(mem, tt.rows, nil)
			defer b.release()
			chunk := array.NewStringBuilder(mem)
			defer chunk.Release()
			for lo := 0; lo < tt.rows; lo += 1000 {
				for i := lo; i < min(tt.rows, lo+1000); i++ {
					chunk.Append(tt.values(i))
				}
				c := chunk.NewArray()
				require.NoError(t, b.put(c, lo, false))
				c.Release()
			}
			arr, err := b.finish()
			require.NoError(t, err)
			defer arr.Release()
			_, isDict := arr.(*array.Dictionary)
			require.Equal(t, tt.wantDict, isDict)
			require.Equal(t, tt.rows, arr.Len())
			c := &Column{Data: arr}
			for i := range tt.rows {
				require.Equal(t, tt.values(i), c.Format(i))
			}
		})
	}
}

func dictValues(d *array.Dictionary) []string {
	s := d.Dictionary().(*array.String)
	out := make([]string, s.Len())
	for i := range out {
		out[i] = s.Value(i)
	}
	return out
}

// TestFormatConcurrent formats a fresh snapshot's dictionary column from
// many goroutines at once: Format is safe for concurrent use from the
// first call on (the race detector checks it).
func TestFormatConcurrent(t *testing.T) {
	var b strings.Builder
	b.WriteString("Id,I,N,S,D,T,B\n")
	countries := []string{"FR", "DE", "", "IT"}
	for i := range 1000 {
		fmt.Fprintf(&b, "%d,,,%s,,,\n", i, countries[i%len(countries)])
	}
	dir := writeDir(t, typesSchema, map[string]string{"Customer.csv": b.String()})
	for range 20 {
		snap, err := Load(t.Context(), dir, Options{})
		require.NoError(t, err)
		s := snap.Customers().Column("S")
		require.IsType(t, &array.Dictionary{}, s.Data)
		var wg sync.WaitGroup
		got := make([]string, 8)
		for g := range got {
			wg.Go(func() { got[g] = s.Format(g) })
		}
		wg.Wait()
		for g, v := range got {
			require.Equal(t, countries[g%len(countries)], v)
		}
		snap.Release()
	}
}
