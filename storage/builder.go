package storage

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/schema"
)

// batchRows is how many rows are read, converted or indexed between two
// checks of the context and two progress reports.
const batchRows = 1 << 16

// Normalized Arrow types of the attribute types (see Column).
var (
	stringDictType = &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}
	timestampType  = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}
)

// normalizedType returns the Arrow type of a column of type t (for strings,
// the plain form).
func ArrowType(t schema.Type) arrow.DataType {
	switch t {
	case schema.Integer:
		return arrow.PrimitiveTypes.Int64
	case schema.Number:
		return arrow.PrimitiveTypes.Float64
	case schema.String:
		return arrow.BinaryTypes.String
	case schema.Date:
		return arrow.FixedWidthTypes.Date32
	case schema.Datetime:
		return timestampType
	case schema.Boolean:
		return arrow.FixedWidthTypes.Boolean
	}
	return nil
}

// columnBuilder accumulates a chunk of one column from text values.
type columnBuilder interface {
	// appendText parses s (not empty) and appends it; on error nothing is
	// appended.
	appendText(s string) error
	appendNull()
	// reserve makes room for n more values.
	reserve(n int)
	// finish returns the chunk; the builder is then empty.
	finish() arrow.Array
	release()
}

func newColumnBuilder(mem memory.Allocator, t schema.Type) (columnBuilder, error) {
	switch t {
	case schema.Integer:
		return &valueBuilder[int64, *array.Int64Builder]{array.NewInt64Builder(mem), parseInteger}, nil
	case schema.Number:
		return &valueBuilder[float64, *array.Float64Builder]{array.NewFloat64Builder(mem), parseNumber}, nil
	case schema.String:
		return &valueBuilder[string, *array.StringBuilder]{array.NewStringBuilder(mem), parseString}, nil
	case schema.Date:
		return &valueBuilder[arrow.Date32, *array.Date32Builder]{array.NewDate32Builder(mem), parseDate32}, nil
	case schema.Datetime:
		return &valueBuilder[arrow.Timestamp, *array.TimestampBuilder]{array.NewTimestampBuilder(mem, timestampType), parseTimestamp}, nil
	case schema.Boolean:
		return &valueBuilder[bool, *array.BooleanBuilder]{array.NewBooleanBuilder(mem), parseBoolean}, nil
	}
	return nil, fmt.Errorf("%w: attribute type %s", schema.ErrUnknownType, t)
}

// parseDate32 is parseDate for a Date32 column.
func parseDate32(s string) (arrow.Date32, error) {
	v, err := parseDate(s)
	return arrow.Date32(v), err
}

// parseTimestamp is parseDatetime for a timestamp column.
func parseTimestamp(s string) (arrow.Timestamp, error) {
	v, err := parseDatetime(s)
	return arrow.Timestamp(v), err
}

// parseString accepts valid UTF-8. The string is copied into the chunk:
// s may share memory with a whole input line.
func parseString(s string) (string, error) { return s, checkString(s) }

// valueAppender is the part of an Arrow builder of values of type T that
// valueBuilder uses.
type valueAppender[T any] interface {
	Append(T)
	AppendNull()
	Reserve(int)
	NewArray() arrow.Array
	Release()
}

// valueBuilder is the columnBuilder of every type: parse, fixed for the
// column, turns text into the value b appends.
type valueBuilder[T any, B valueAppender[T]] struct {
	b     B
	parse func(string) (T, error)
}

func (b *valueBuilder[T, B]) appendText(s string) error {
	v, err := b.parse(s)
	if err == nil {
		b.b.Append(v)
	}
	return err
}
func (b *valueBuilder[T, B]) appendNull()         { b.b.AppendNull() }
func (b *valueBuilder[T, B]) reserve(n int)       { b.b.Reserve(n) }
func (b *valueBuilder[T, B]) finish() arrow.Array { return b.b.NewArray() }
func (b *valueBuilder[T, B]) release()            { b.b.Release() }

// withValueBuffer returns arr, or for an empty fixed-width array whose
// value buffer is nil (as Arrow builders make them) the same empty array
// with an empty value buffer, so that readers may slice Buffers()[1]
// without a nil check. It takes over the caller's reference to arr.
func withValueBuffer(arr arrow.Array) arrow.Array {
	if arr.Len() > 0 {
		return arr
	}
	switch arr.DataType().ID() {
	case arrow.INT64, arrow.FLOAT64, arrow.DATE32, arrow.TIMESTAMP, arrow.BOOL:
	default:
		return arr
	}
	d := arr.Data()
	if bufs := d.Buffers(); len(bufs) < 2 || bufs[1] != nil {
		return arr
	}
	empty := memory.NewBufferBytes([]byte{})
	defer empty.Release()
	nd := array.NewData(d.DataType(), 0, []*memory.Buffer{nil, empty}, nil, 0, 0)
	defer nd.Release()
	arr.Release()
	return array.MakeFromData(nd)
}
