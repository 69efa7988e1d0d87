package storage

import (
	"context"
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// Reasons a value of an Arrow source is rejected.
var (
	errNotFinite    = errors.New("is NaN or infinite, not a number")
	errTSSubMicro   = errors.New("has sub-microsecond precision")
	errTSRange      = errors.New("is out of the range of microsecond timestamps")
	errNotWholeDay  = errors.New("is not a whole day")
	errDateRange    = errors.New("is out of the range of 32-bit day counts")
	errDictIndex    = errors.New("is outside the dictionary")
	errDictNotPlain = errors.New("dictionary values are not strings")
)

// valueError is a bad value at a row of a column being converted.
type valueError struct {
	row   int
	value string
	err   error
}

func (e *valueError) Error() string { return e.value + " " + e.err.Error() }

// normalize returns the column of attr built from chunks (the column's
// data, in order), in the normalized type of Column. A single chunk that
// already has that type is shared, not copied: the result is the same
// array, retained; reencode makes an exception of strings, which are then
// built anew. Anything else is converted into new buffers from mem. The
// caller keeps its references to chunks and owns the result.
func normalize(ctx context.Context, mem memory.Allocator, org *origin, attr schema.Attribute, chunks []arrow.Array, reencode bool) (arrow.Array, error) {
	// Arrays built by hand may break Arrow's layout rules (offsets that go
	// backwards, buffers too short); reading them would fault, so they are
	// checked before anything reads a value.
	for _, c := range chunks {
		if err := checkLayout(c); err != nil {
			var l diag.List
			l.Add(org.name, ErrData, "column %s is not a valid Arrow array: %v", attr.Name, err)
			return nil, l
		}
	}
	arr, err := convertChunks(ctx, mem, attr, chunks, reencode)
	if err == nil {
		return arr, nil
	}
	var ve *valueError
	var te *typeError
	var l diag.List
	switch {
	case errors.As(err, &ve):
		l.Add(fmt.Sprintf("%s: column %s", org.at(ve.row), attr.Name), ErrData, "%s", ve.Error())
	case errors.As(err, &te):
		l.Add(org.name, ErrData, "column %s has Arrow type %s, want %s (%s)", attr.Name, te.found, te.want, attr.Type)
	default:
		return nil, err
	}
	return nil, l
}

// typeError is an Arrow type that cannot hold an attribute's values.
type typeError struct {
	found, want arrow.DataType
}

func (e *typeError) Error() string {
	return fmt.Sprintf("Arrow type %s, want %s", e.found, e.want)
}

func convertChunks(ctx context.Context, mem memory.Allocator, attr schema.Attribute, chunks []arrow.Array, reencode bool) (arrow.Array, error) {
	want := ArrowType(attr.Type)
	if want == nil {
		return nil, fmt.Errorf("%w: attribute %s has type %s", schema.ErrUnknownType, attr.Name, attr.Type)
	}
	for _, c := range chunks {
		if !convertible(attr.Type, c.DataType()) {
			return nil, &typeError{found: c.DataType(), want: want}
		}
	}
	if len(chunks) == 1 && !(reencode && attr.Type == schema.String) {
		if arr, ok, err := share(mem, chunks[0]); ok || err != nil {
			return arr, err
		}
	}
	switch attr.Type {
	case schema.Integer:
		return convertFixed(mem, want, chunks, func(c arrow.Array, dst []int64) error {
			switch c.DataType().ID() {
			case arrow.INT8:
				widen[int8](c, dst)
			case arrow.INT16:
				widen[int16](c, dst)
			case arrow.INT32:
				widen[int32](c, dst)
			case arrow.INT64:
				widen[int64](c, dst)
			case arrow.UINT8:
				widen[uint8](c, dst)
			case arrow.UINT16:
				widen[uint16](c, dst)
			case arrow.UINT32:
				widen[uint32](c, dst)
			default:
				return fmt.Errorf("BUG: integer chunk of type %s", c.DataType())
			}
			return nil
		})
	case schema.Number:
		return convertFixed(mem, want, chunks, func(c arrow.Array, dst []float64) error {
			if c.DataType().ID() == arrow.FLOAT32 {
				widen[float32](c, dst)
			} else {
				widen[float64](c, dst)
			}
			return checkFinite(c, dst)
		})
	case schema.Date:
		return convertFixed(mem, want, chunks, func(c arrow.Array, dst []arrow.Date32) error {
			if c.DataType().ID() == arrow.DATE32 {
				widen[arrow.Date32](c, dst)
				return nil
			}
			return eachValid(c, arrow.GetValues[arrow.Date64](c.Data(), 1), func(i int, v arrow.Date64) error {
				const msPerDay = secondsPerDay * 1000
				if v%msPerDay != 0 {
					return &valueError{row: i, value: fmt.Sprintf("date64 %d", int64(v)), err: errNotWholeDay}
				}
				d := int64(v) / msPerDay
				if d < math.MinInt32 || d > math.MaxInt32 {
					return &valueError{row: i, value: fmt.Sprintf("date64 %d", int64(v)), err: errDateRange}
				}
				dst[i] = arrow.Date32(d)
				return nil
			})
		})
	case schema.Datetime:
		return convertFixed(mem, want, chunks, func(c arrow.Array, dst []arrow.Timestamp) error {
			unit := c.DataType().(*arrow.TimestampType).Unit
			return eachValid(c, arrow.GetValues[arrow.Timestamp](c.Data(), 1), func(i int, v arrow.Timestamp) error {
				us, err := toMicros(int64(v), unit)
				if err != nil {
					return &valueError{row: i, value: fmt.Sprintf("timestamp %d (%s)", int64(v), unit), err: err}
				}
				dst[i] = arrow.Timestamp(us)
				return nil
			})
		})
	case schema.Boolean:
		return concatBooleans(mem, chunks), nil
	case schema.String:
		return convertStrings(ctx, mem, chunks)
	}
	return nil, fmt.Errorf("BUG: no conversion for type %s", attr.Type)
}

// convertible reports whether an Arrow type can hold values of type t.
func convertible(t schema.Type, dt arrow.DataType) bool {
	switch t {
	case schema.Integer:
		switch dt.ID() {
		case arrow.INT8, arrow.INT16, arrow.INT32, arrow.INT64, arrow.UINT8, arrow.UINT16, arrow.UINT32:
			return true
		}
	case schema.Number:
		return dt.ID() == arrow.FLOAT32 || dt.ID() == arrow.FLOAT64
	case schema.String:
		switch dt.ID() {
		case arrow.STRING, arrow.LARGE_STRING, arrow.STRING_VIEW:
			return true
		case arrow.DICTIONARY:
			dict := dt.(*arrow.DictionaryType)
			return arrow.IsInteger(dict.IndexType.ID()) && convertible(schema.String, dict.ValueType) &&
				dict.ValueType.ID() != arrow.DICTIONARY
		}
	case schema.Date:
		return dt.ID() == arrow.DATE32 || dt.ID() == arrow.DATE64
	case schema.Datetime:
		return dt.ID() == arrow.TIMESTAMP
	case schema.Boolean:
		return dt.ID() == arrow.BOOL
	}
	return false
}

// share returns a as the column when it already has the normalized type
// (ok true), retained: the snapshot then shares the caller's buffers. Its
// values are still checked: numbers must be finite, strings valid UTF-8,
// dictionary indexes inside the dictionary.
func share(mem memory.Allocator, a arrow.Array) (_ arrow.Array, ok bool, _ error) {
	switch a := a.(type) {
	case *array.Int64, *array.Date32, *array.Boolean:
		a.Retain()
		return a, true, nil
	case *array.Float64:
		if err := checkFinite(a, a.Float64Values()); err != nil {
			return nil, false, err
		}
		a.Retain()
		return a, true, nil
	case *array.String:
		if !utf8.Valid(a.ValueBytes()) {
			// Find the row to report.
			for i := range a.Len() {
				if a.IsValid(i) && !utf8.ValidString(a.Value(i)) {
					return nil, false, &valueError{row: i, value: quoteValue(a.Value(i)), err: errNotUTF8}
				}
			}
		}
		a.Retain()
		return a, true, nil
	case *array.Timestamp:
		tt := a.DataType().(*arrow.TimestampType)
		if tt.Unit != arrow.Microsecond {
			return nil, false, nil
		}
		if tt.TimeZone == timestampType.TimeZone {
			a.Retain()
			return a, true, nil
		}
		// Same instants, another zone label: share the buffers under the
		// normalized type.
		d := a.Data()
		nd := array.NewData(timestampType, d.Len(), d.Buffers(), nil, d.NullN(), d.Offset())
		defer nd.Release()
		return array.MakeFromData(nd), true, nil
	case *array.Dictionary:
		return shareDictionary(mem, a)
	}
	return nil, false, nil
}

// shareDictionary shares a dictionary of plain strings, converting its
// indexes to int32 (into buffers from mem) when they have another integer
// type.
func shareDictionary(mem memory.Allocator, a *array.Dictionary) (arrow.Array, bool, error) {
	dict, ok := a.Dictionary().(*array.String)
	if !ok || dict.NullN() > 0 {
		return nil, false, nil
	}
	idx := a.Indices()
	n := dict.Len()
	for i := range a.Len() {
		if a.IsValid(i) {
			if j := a.GetValueIndex(i); j < 0 || j >= n {
				return nil, false, &valueError{row: i, value: fmt.Sprintf("index %d", j), err: errDictIndex}
			}
		}
	}
	if !utf8.Valid(dict.ValueBytes()) {
		for i := range a.Len() {
			if a.IsValid(i) {
				if v := dict.Value(a.GetValueIndex(i)); !utf8.ValidString(v) {
					return nil, false, &valueError{row: i, value: quoteValue(v), err: errNotUTF8}
				}
			}
		}
	}
	if idx.DataType().ID() == arrow.INT32 {
		a.Retain()
		return a, true, nil
	}
	// Every valid index is inside the dictionary, which has fewer than
	// 2^31 entries, so int32 holds it. GetValueIndex reads the index as
	// the check above did.
	codes, err := convertFixed(mem, arrow.PrimitiveTypes.Int32, []arrow.Array{idx}, func(c arrow.Array, dst []int32) error {
		for i := range dst {
			if c.IsValid(i) {
				dst[i] = int32(a.GetValueIndex(i))
			}
		}
		return nil
	})
	if err != nil {
		return nil, false, err
	}
	defer codes.Release()
	return array.NewDictionaryArray(stringDictType, codes, dict), true, nil
}

// widen copies the values of c, of Go type In, into dst; what null slots
// hold is copied too, and means nothing.
func widen[In interface {
	arrow.IntType | arrow.UintType | ~float32 | ~float64
}, Out interface {
	arrow.IntType | arrow.UintType | ~float32 | ~float64
}](c arrow.Array, dst []Out) {
	for i, v := range arrow.GetValues[In](c.Data(), 1) {
		dst[i] = Out(v)
	}
}

// eachValid calls f for every valid row of c with its value.
func eachValid[T any](c arrow.Array, vals []T, f func(i int, v T) error) error {
	noNulls := c.NullN() == 0
	for i, v := range vals {
		if noNulls || c.IsValid(i) {
			if err := f(i, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkFinite rejects a valid NaN or infinity among vals, the values of c.
func checkFinite(c arrow.Array, vals []float64) error {
	noNulls := c.NullN() == 0
	for i, v := range vals {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if noNulls || c.IsValid(i) {
				return &valueError{row: i, value: fmt.Sprint(v), err: errNotFinite}
			}
		}
	}
	return nil
}

// toMicros converts a timestamp of unit u to microseconds.
func toMicros(v int64, u arrow.TimeUnit) (int64, error) {
	switch u {
	case arrow.Second:
		us, ok := mulExact(v, microsPerSecond)
		if !ok {
			return 0, errTSRange
		}
		return us, nil
	case arrow.Millisecond:
		us, ok := mulExact(v, 1000)
		if !ok {
			return 0, errTSRange
		}
		return us, nil
	case arrow.Microsecond:
		return v, nil
	case arrow.Nanosecond:
		if v%1000 != 0 {
			return 0, errTSSubMicro
		}
		return v / 1000, nil
	}
	return 0, errTSRange
}

// convertFixed builds one fixed-width array of type dt from chunks: fill
// writes each chunk's valid values into its part of the output (row
// numbers in its errors are relative to the chunk); validity is copied.
func convertFixed[T arrow.IntType | arrow.FloatType](mem memory.Allocator, dt arrow.DataType, chunks []arrow.Array, fill func(c arrow.Array, dst []T) error) (arrow.Array, error) {
	n, nulls := 0, 0
	for _, c := range chunks {
		n += c.Len()
		nulls += c.NullN()
	}
	var zero T
	values := memory.NewResizableBuffer(mem)
	defer values.Release()
	values.Resize(n * int(unsafe.Sizeof(zero)))
	dst := arrow.GetData[T](values.Bytes())
	var validity *memory.Buffer
	if nulls > 0 {
		validity = memory.NewResizableBuffer(mem)
		defer validity.Release()
		validity.Resize(int(bitutil.BytesForBits(int64(n))))
	}
	pos := 0
	for _, c := range chunks {
		m := c.Len()
		part := dst[pos : pos+m]
		clear(part)
		if err := fill(c, part); err != nil {
			var ve *valueError
			if errors.As(err, &ve) {
				ve.row += pos
			}
			return nil, err
		}
		if validity != nil {
			copyValidity(c, validity.Bytes(), pos)
		}
		pos += m
	}
	d := array.NewData(dt, n, []*memory.Buffer{validity, values}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

// copyValidity writes the validity bits of c to dst from bit pos.
func copyValidity(c arrow.Array, dst []byte, pos int) {
	if c.NullN() == 0 || c.NullBitmapBytes() == nil {
		bitutil.SetBitsTo(dst, int64(pos), int64(c.Len()), c.NullN() == 0)
		return
	}
	bitutil.CopyBitmap(c.NullBitmapBytes(), c.Data().Offset(), c.Len(), dst, pos)
}

// concatBooleans joins boolean chunks into one array from mem.
func concatBooleans(mem memory.Allocator, chunks []arrow.Array) arrow.Array {
	b := array.NewBooleanBuilder(mem)
	defer b.Release()
	n := 0
	for _, c := range chunks {
		n += c.Len()
	}
	b.Reserve(n)
	for _, c := range chunks {
		bc := c.(*array.Boolean)
		for i := range bc.Len() {
			if bc.IsNull(i) {
				b.UnsafeAppendBoolToBitmap(false)
			} else {
				b.UnsafeAppend(bc.Value(i))
			}
		}
	}
	return b.NewArray()
}

// stringAt returns a function reading row i of a string-like array, or an
// error for a dictionary whose values are not strings.
func stringAt(c arrow.Array) (func(i int) (string, bool, error), error) {
	switch c := c.(type) {
	case *array.String:
		return func(i int) (string, bool, error) { return c.Value(i), c.IsValid(i), nil }, nil
	case *array.LargeString:
		return func(i int) (string, bool, error) { return c.Value(i), c.IsValid(i), nil }, nil
	case *array.StringView:
		return func(i int) (string, bool, error) { return c.Value(i), c.IsValid(i), nil }, nil
	case *array.Dictionary:
		inner, err := stringAt(c.Dictionary())
		if err != nil {
			return nil, err
		}
		n := c.Dictionary().Len()
		return func(i int) (string, bool, error) {
			if c.IsNull(i) {
				return "", false, nil
			}
			j := c.GetValueIndex(i)
			if j < 0 || j >= n {
				return "", false, &valueError{row: i, value: fmt.Sprintf("index %d", j), err: errDictIndex}
			}
			return inner(j)
		}, nil
	}
	return nil, errDictNotPlain
}

// convertStrings builds a string column from chunks of any string-like
// type, dictionary-encoded when that pays, as the CSV reader does.
func convertStrings(ctx context.Context, mem memory.Allocator, chunks []arrow.Array) (arrow.Array, error) {
	b := newStringBuilder(mem)
	defer b.release()
	pos := 0
	for _, c := range chunks {
		at, err := stringAt(c)
		if err != nil {
			return nil, err
		}
		for i := range c.Len() {
			s, valid, err := at(i)
			if err != nil {
				var ve *valueError
				if errors.As(err, &ve) {
					ve.row = pos + i
				}
				return nil, err
			}
			if !valid {
				b.appendNull()
			} else if err := b.appendText(s); err != nil {
				return nil, &valueError{row: pos + i, value: quoteValue(s), err: err}
			}
			if (pos+i+1)%batchRows == 0 {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				b.checkpoint()
			}
		}
		pos += c.Len()
	}
	return b.finish(), nil
}

// checkLayout checks the parts of an array's layout that reading values
// relies on: buffer sizes, and string offsets that never go backwards.
// Values themselves (UTF-8, dictionary indices) are checked as they are
// converted, with row numbers in the messages.
func checkLayout(c arrow.Array) error {
	if err := array.Validate(c); err != nil {
		return err
	}
	switch a := c.(type) {
	case *array.String:
		offs := a.ValueOffsets()
		for i := 1; i < len(offs); i++ {
			if offs[i] < offs[i-1] || offs[i-1] < 0 {
				return fmt.Errorf("string offsets go backwards at row %d", i-1)
			}
		}
	case *array.LargeString:
		offs := a.ValueOffsets()
		for i := 1; i < len(offs); i++ {
			if offs[i] < offs[i-1] || offs[i-1] < 0 {
				return fmt.Errorf("string offsets go backwards at row %d", i-1)
			}
		}
	case *array.Dictionary:
		return checkLayout(a.Dictionary())
	}
	return nil
}
