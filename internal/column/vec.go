package column

import (
	"encoding/binary"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

// Vec is a read-only view of one column of values: a storage column's
// Arrow buffers, or an aggregate or measure computed by the engine. The
// kernels work on its typed slices directly; nothing is dispatched per row.
type Vec struct {
	N    int
	Type schema.Type
	// Valid has bit i set when value i is not null; nil means all valid.
	Valid Bitset

	I64 []int64   // integer, datetime (microseconds since the epoch)
	F64 []float64 // number
	I32 []int32   // date (days since the epoch)
	B   Bitset    // boolean values

	// Strings come in one of three forms.
	Str   *array.String // plain Arrow strings
	Codes []int32       // dictionary indices into dict
	Dict  *array.String
	Strs  []string // strings gathered by the engine
	// Base is the index in str of value 0, for views made by slice.
	Base int

	// A narrow view (Narrow) holds integers, dates and datetimes as
	// offsets in one of U8, U16 and U32: value i is Off+U8[i], and every
	// valid value is in [Off, Off+Span]. With Dict set, U8 holds a small
	// dictionary's codes instead (NoCode for a code outside it).
	U8   []uint8
	U16  []uint16
	U32  []uint32
	Off  int64
	Span uint64
}

// narrowInts reports whether v is a narrow view of integer-like values.
func (v *Vec) narrowInts() bool {
	return v.Dict == nil && (v.U8 != nil || v.U16 != nil || v.U32 != nil)
}

// narrowAt returns the value i of a narrow view of integer-like values.
func (v *Vec) narrowAt(i int) int64 {
	var x uint64
	switch {
	case v.U8 != nil:
		x = uint64(v.U8[i])
	case v.U16 != nil:
		x = uint64(v.U16[i])
	default:
		x = uint64(v.U32[i])
	}
	return int64(uint64(v.Off) + x)
}

// IsValid reports whether value i is not null.
func (v *Vec) IsValid(i int) bool { return v.Valid == nil || v.Valid.Has(i) }

// StringAt returns string value i; the caller checks validity first.
func (v *Vec) StringAt(i int) string {
	switch {
	case v.Strs != nil:
		return v.Strs[i]
	case v.Codes != nil:
		return v.Dict.Value(int(v.Codes[i]))
	case v.U8 != nil && v.Dict != nil:
		return v.Dict.Value(int(v.U8[i]))
	default:
		return v.Str.Value(v.Base + i)
	}
}

// ErrNotNormalized is the error for an Arrow array that is not in one of
// the storage package's normalized types (see storage.Column).
var ErrNotNormalized = diag.NewSentinel("column.not_normalized", "column: not in a normalized type")

// viewKey is the key of a column's typed view among its derived values.
var viewKey = storage.NewDerivedKey("column: typed view")

// View returns the typed view of a snapshot's column, built on the first
// call and shared by every later one (Column.Derived): the view copies the
// column's validity bits, once per snapshot rather than once per use.
// Errors wrap ErrNotNormalized.
func View(col *storage.Column) (*Vec, error) {
	d, err := col.Derived(viewKey, func() (any, error) { return Of(col.Attr.Type, col.Data) })
	if err != nil {
		return nil, err
	}
	return d.(*Vec), nil
}

// Of returns a view of an Arrow array in the storage package's
// normalized types, read as type typ. The view shares the array's
// buffers. Errors wrap ErrNotNormalized.
func Of(typ schema.Type, arr arrow.Array) (*Vec, error) {
	d := arr.Data()
	n, off := d.Len(), d.Offset()
	v := &Vec{N: n, Type: typ}
	if arr.NullN() > 0 {
		v.Valid = BitsFrom(d.Buffers()[0].Bytes(), off, n)
	}
	switch a := arr.(type) {
	case *array.Int64:
		v.I64 = a.Int64Values()
	case *array.Float64:
		v.F64 = a.Float64Values()
	case *array.Date32:
		v.I32 = arrow.GetData[int32](arrow.GetBytes(a.Date32Values()))
	case *array.Timestamp:
		v.I64 = arrow.GetData[int64](arrow.GetBytes(a.TimestampValues()))
	case *array.Boolean:
		v.B = BitsFrom(d.Buffers()[1].Bytes(), off, n)
	case *array.String:
		v.Str = a
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		idx, ok2 := a.Indices().(*array.Int32)
		if !ok || !ok2 {
			return nil, fmt.Errorf("%w: dictionary of %s indices over %s", ErrNotNormalized, a.Indices().DataType(), a.Dictionary().DataType())
		}
		v.Codes = idx.Int32Values()
		v.Dict = dict
	default:
		return nil, fmt.Errorf("%w: Arrow type %s for %s", ErrNotNormalized, arr.DataType(), typ)
	}
	// The kernels tell the representation by which slice is set: an empty
	// column must still set its own.
	switch {
	case typ == schema.Integer || typ == schema.Datetime:
		v.I64 = nonNil(v.I64)
	case typ == schema.Number:
		v.F64 = nonNil(v.F64)
	case typ == schema.Date:
		v.I32 = nonNil(v.I32)
	case typ == schema.Boolean && v.B == nil:
		v.B = Bitset{}
	case typ == schema.String && v.Dict != nil:
		v.Codes = nonNil(v.Codes)
	}
	return v, nil
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// BitsFrom copies n bits starting at bit offset off of an Arrow bitmap
// (least significant bit first) into words aligned at bit 0.
func BitsFrom(buf []byte, off, n int) Bitset {
	out := NewBitset(n)
	if off%8 == 0 {
		src := buf[off/8:]
		full := n / 64
		for i := 0; i < full; i++ {
			out[i] = binary.LittleEndian.Uint64(src[i*8:])
		}
		for i := full * 64; i < n; i++ {
			if src[i/8]&(1<<(uint(i)%8)) != 0 {
				out.Set(i)
			}
		}
		return out
	}
	for i := 0; i < n; i++ {
		j := off + i
		if buf[j/8]&(1<<(uint(j)%8)) != 0 {
			out.Set(i)
		}
	}
	return out
}
