package quick_test

import (
	"context"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// col is a column of test data. A nil value is null; the others are
// int64 (integer; datetime in microseconds), float64, string, bool and
// int32 (date, days since 1970-01-01).
type col struct {
	name string
	typ  schema.Type
	vals []any
	// dict builds a string column dictionary-encoded.
	dict bool
}

var (
	dictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	tsType   = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

// array builds the column's Arrow array in the storage package's
// normalized type; the caller releases it.
func (c col) array(mem memory.Allocator) arrow.Array {
	switch c.typ {
	case schema.Integer:
		b := array.NewInt64Builder(mem)
		defer b.Release()
		for _, v := range c.vals {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(v.(int64))
			}
		}
		return b.NewArray()
	case schema.Number:
		b := array.NewFloat64Builder(mem)
		defer b.Release()
		for _, v := range c.vals {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(v.(float64))
			}
		}
		return b.NewArray()
	case schema.Boolean:
		b := array.NewBooleanBuilder(mem)
		defer b.Release()
		for _, v := range c.vals {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(v.(bool))
			}
		}
		return b.NewArray()
	case schema.Date:
		b := array.NewDate32Builder(mem)
		defer b.Release()
		for _, v := range c.vals {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(arrow.Date32(v.(int32)))
			}
		}
		return b.NewArray()
	case schema.Datetime:
		b := array.NewTimestampBuilder(mem, tsType)
		defer b.Release()
		for _, v := range c.vals {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(arrow.Timestamp(v.(int64)))
			}
		}
		return b.NewArray()
	}
	if !c.dict {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		for _, v := range c.vals {
			if v == nil {
				b.AppendNull()
			} else {
				b.Append(v.(string))
			}
		}
		return b.NewArray()
	}
	codes := array.NewInt32Builder(mem)
	defer codes.Release()
	words := array.NewStringBuilder(mem)
	defer words.Release()
	index := map[string]int32{}
	for _, v := range c.vals {
		if v == nil {
			codes.AppendNull()
			continue
		}
		s := v.(string)
		k, ok := index[s]
		if !ok {
			k = int32(len(index))
			index[s] = k
			words.Append(s)
		}
		codes.Append(k)
	}
	ca, da := codes.NewArray(), words.NewArray()
	defer ca.Release()
	defer da.Release()
	return array.NewDictionaryArray(dictType, ca, da)
}

// snapshotOf loads tables of test data against the schema, with a checked
// allocator that must be empty once the test has released the snapshot.
func snapshotOf(t testing.TB, schemaJSON string, tables map[string][]col) *storage.Snapshot {
	t.Helper()
	sch, err := schema.Parse([]byte(schemaJSON))
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	recs := map[string]arrow.RecordBatch{}
	for name, cols := range tables {
		fields := make([]arrow.Field, len(cols))
		arrs := make([]arrow.Array, len(cols))
		for i, c := range cols {
			arrs[i] = c.array(mem)
			fields[i] = arrow.Field{Name: c.name, Type: arrs[i].DataType(), Nullable: true}
		}
		recs[name] = array.NewRecordBatch(arrow.NewSchema(fields, nil), arrs, int64(len(cols[0].vals)))
		for _, a := range arrs {
			a.Release()
		}
	}
	snap, err := storage.FromRecords(context.Background(), sch, recs, storage.Options{Allocator: mem})
	for _, r := range recs {
		r.Release()
	}
	require.NoError(t, err)
	t.Cleanup(func() {
		snap.Release()
		mem.AssertSize(t, 0)
	})
	return snap
}

func ints(vs ...any) []any { return vs }

// ratOf returns an ordered definition value as the exact position the
// engine gives it against an integer, date or datetime column: numbers as
// the decimal they write, dates as days, datetimes as microseconds.
// Against a number column, use floatRat.
func ratOf(t schema.Type, v segment.Value) *big.Rat {
	switch t {
	case schema.Date:
		d, err := time.Parse(time.DateOnly, v.Str)
		if err != nil {
			return nil
		}
		return big.NewRat(d.Unix()/86400, 1) // midnight UTC: an exact day
	case schema.Datetime:
		d, err := time.Parse(time.RFC3339Nano, v.Str)
		if err != nil {
			if d, err = time.Parse(time.DateOnly, v.Str); err != nil {
				return nil
			}
		}
		ns := new(big.Int).Mul(big.NewInt(d.Unix()), big.NewInt(1e9))
		ns.Add(ns, big.NewInt(int64(d.Nanosecond())))
		return new(big.Rat).SetFrac(ns, big.NewInt(1000))
	}
	s := string(v.Num)
	if mant, exp, ok := strings.Cut(strings.ToLower(s), "e"); ok {
		// A huge negative exponent: a number closer to 0 than any that
		// matters here, without computing 10^999999999.
		if e, err := strconv.Atoi(exp); err != nil || e < -100 {
			tiny, _ := new(big.Rat).SetString("1e-100")
			if strings.HasPrefix(mant, "-") {
				tiny.Neg(tiny)
			}
			return tiny
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil
	}
	return r
}

// floatRat returns a number value as a number column compares with it:
// the float64 nearest to its text.
func floatRat(v segment.Value) *big.Rat {
	f, err := strconv.ParseFloat(string(v.Num), 64)
	if err != nil {
		return nil
	}
	return new(big.Rat).SetFloat64(f)
}
