package engine

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segmentkit/segmentkit/schema"
)

// vec is a read-only view of one column of values: a storage column's
// Arrow buffers, or an aggregate or measure computed by the engine. The
// kernels work on its typed slices directly; nothing is dispatched per row.
type vec struct {
	n   int
	typ schema.Type
	// valid has bit i set when value i is not null; nil means all valid.
	valid bitset

	i64 []int64   // integer, datetime (microseconds since the epoch)
	f64 []float64 // number
	i32 []int32   // date (days since the epoch)
	b   bitset    // boolean values

	// Strings come in one of three forms.
	str   *array.String // plain Arrow strings
	codes []int32       // dictionary indices into dict
	dict  *array.String
	strs  []string // strings gathered by the engine
	// base is the index in str of value 0, for views made by slice.
	base int
}

// isValid reports whether value i is not null.
func (v *vec) isValid(i int) bool { return v.valid == nil || v.valid.has(i) }

// stringAt returns string value i; the caller checks validity first.
func (v *vec) stringAt(i int) string {
	switch {
	case v.strs != nil:
		return v.strs[i]
	case v.codes != nil:
		return v.dict.Value(int(v.codes[i]))
	default:
		return v.str.Value(v.base + i)
	}
}

// vecOf returns a view of an Arrow array in the storage package's
// normalized types. The view shares the array's buffers.
func vecOf(typ schema.Type, arr arrow.Array) (*vec, error) {
	d := arr.Data()
	n, off := d.Len(), d.Offset()
	v := &vec{n: n, typ: typ}
	if arr.NullN() > 0 {
		v.valid = bitsFrom(d.Buffers()[0].Bytes(), off, n)
	}
	switch a := arr.(type) {
	case *array.Int64:
		v.i64 = a.Int64Values()
	case *array.Float64:
		v.f64 = a.Float64Values()
	case *array.Date32:
		v.i32 = arrow.GetData[int32](arrow.GetBytes(a.Date32Values()))
	case *array.Timestamp:
		v.i64 = arrow.GetData[int64](arrow.GetBytes(a.TimestampValues()))
	case *array.Boolean:
		v.b = bitsFrom(d.Buffers()[1].Bytes(), off, n)
	case *array.String:
		v.str = a
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		idx, ok2 := a.Indices().(*array.Int32)
		if !ok || !ok2 {
			return nil, fmt.Errorf("BUG: dictionary column of %s/%s", a.Dictionary().DataType(), a.Indices().DataType())
		}
		v.codes = idx.Int32Values()
		v.dict = dict
	default:
		return nil, fmt.Errorf("BUG: column type %s for %s", arr.DataType(), typ)
	}
	// The kernels tell the representation by which slice is set: an empty
	// column must still set its own.
	switch {
	case typ == schema.Integer || typ == schema.Datetime:
		v.i64 = nonNil(v.i64)
	case typ == schema.Number:
		v.f64 = nonNil(v.f64)
	case typ == schema.Date:
		v.i32 = nonNil(v.i32)
	case typ == schema.Boolean && v.b == nil:
		v.b = bitset{}
	case typ == schema.String && v.dict != nil:
		v.codes = nonNil(v.codes)
	}
	return v, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// bitsFrom copies n bits starting at bit offset off of an Arrow bitmap
// (least significant bit first) into words aligned at bit 0.
func bitsFrom(buf []byte, off, n int) bitset {
	out := newBitset(n)
	if off%8 == 0 {
		src := buf[off/8:]
		full := n / 64
		for i := 0; i < full; i++ {
			out[i] = binary.LittleEndian.Uint64(src[i*8:])
		}
		for i := full * 64; i < n; i++ {
			if src[i/8]&(1<<(uint(i)%8)) != 0 {
				out.set(i)
			}
		}
		return out
	}
	for i := 0; i < n; i++ {
		j := off + i
		if buf[j/8]&(1<<(uint(j)%8)) != 0 {
			out.set(i)
		}
	}
	return out
}
