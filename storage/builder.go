package storage

import (
	"fmt"
	"strings"

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

// columnBuilder accumulates one column from text values.
type columnBuilder interface {
	// appendText parses s (not empty) and appends it; on error nothing is
	// appended.
	appendText(s string) error
	appendNull()
	// checkpoint is called between batches of rows.
	checkpoint()
	// finish returns the column; the builder is then empty.
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
		return newStringBuilder(mem), nil
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

// valueAppender is the part of an Arrow builder of values of type T that
// valueBuilder uses.
type valueAppender[T any] interface {
	Append(T)
	AppendNull()
	NewArray() arrow.Array
	Release()
}

// valueBuilder is the columnBuilder of every type but string: parse, fixed
// for the column, turns text into the value b appends.
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
func (b *valueBuilder[T, B]) checkpoint()         {}
func (b *valueBuilder[T, B]) finish() arrow.Array { return b.b.NewArray() }
func (b *valueBuilder[T, B]) release()            { b.b.Release() }

// stringBuilder builds a string column, dictionary-encoded while that pays.
//
// It starts by encoding: a map from value to code, the codes, and the
// distinct values in first-seen order. At each checkpoint, and at the end,
// it gives up encoding when more than half the rows so far hold distinct
// values (keys, free text), and converts what it has to a plain column. A
// column that fails late wastes at most one batch of map entries.
type stringBuilder struct {
	mem memory.Allocator

	// Dictionary form; codes is nil once the builder is plain.
	codes  *array.Int32Builder
	lookup map[string]int32
	values []string

	plain *array.StringBuilder
}

func newStringBuilder(mem memory.Allocator) *stringBuilder {
	return &stringBuilder{mem: mem, codes: array.NewInt32Builder(mem), lookup: map[string]int32{}}
}

func (b *stringBuilder) appendText(s string) error {
	if b.codes == nil {
		if err := checkString(s); err != nil {
			return err
		}
		b.plain.Append(s)
		return nil
	}
	code, ok := b.lookup[s]
	if !ok {
		// Only a new value needs the UTF-8 check.
		if err := checkString(s); err != nil {
			return err
		}
		// Clone: s may share memory with a whole input line.
		v := strings.Clone(s)
		code = int32(len(b.values))
		b.values = append(b.values, v)
		b.lookup[v] = code
	}
	b.codes.Append(code)
	return nil
}

func (b *stringBuilder) appendNull() {
	if b.codes == nil {
		b.plain.AppendNull()
		return
	}
	b.codes.AppendNull()
}

// pays reports whether the dictionary form is worth keeping for rows rows.
func (b *stringBuilder) pays(rows int) bool { return len(b.values) <= rows/2 }

func (b *stringBuilder) checkpoint() {
	if b.codes != nil && !b.pays(b.codes.Len()) {
		b.toPlain()
	}
}

// toPlain converts the codes so far to plain strings.
func (b *stringBuilder) toPlain() {
	n := b.codes.Len()
	b.plain = array.NewStringBuilder(b.mem)
	b.plain.Reserve(n)
	codes := b.codes.NewInt32Array()
	raw := codes.Int32Values()
	for i := range n {
		if codes.IsNull(i) {
			b.plain.AppendNull()
		} else {
			b.plain.Append(b.values[raw[i]])
		}
	}
	codes.Release()
	b.codes.Release()
	b.codes, b.lookup, b.values = nil, nil, nil
}

func (b *stringBuilder) finish() arrow.Array {
	if b.codes != nil && !b.pays(b.codes.Len()) {
		b.toPlain()
	}
	if b.codes == nil {
		return b.plain.NewArray()
	}
	dictB := array.NewStringBuilder(b.mem)
	defer dictB.Release()
	dictB.Reserve(len(b.values))
	for _, v := range b.values {
		dictB.Append(v)
	}
	dict := dictB.NewArray()
	defer dict.Release()
	codes := b.codes.NewArray()
	defer codes.Release()
	b.lookup, b.values = map[string]int32{}, nil
	return array.NewDictionaryArray(stringDictType, codes, dict)
}

func (b *stringBuilder) release() {
	if b.codes != nil {
		b.codes.Release()
		b.codes = nil
	}
	if b.plain != nil {
		b.plain.Release()
		b.plain = nil
	}
	b.lookup, b.values = nil, nil
}

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
