package storage

import (
	"context"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// Reasons a value of an Arrow source is rejected.
var (
	errNotFinite    = errors.New("is NaN or infinite, not a number")
	errTSSubMicro   = errors.New("has sub-microsecond precision")
	errTSRange      = errors.New("is out of the range of microsecond timestamps")
	errTSYears      = exact.ErrDatetimeRange
	errNotWholeDay  = errors.New("is not a whole day")
	errDateRange    = exact.ErrDateRange
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
			return nil, columnProblem(org, attr, &layoutError{err})
		}
	}
	arr, err := convertChunks(ctx, mem, attr, chunks, reencode)
	if err != nil {
		return nil, columnProblem(org, attr, err)
	}
	return arr, nil
}

// columnProblem is the diag.List naming the problem err with a column of
// attr, whose data came from org: a *layoutError, *typeError or
// *valueError. Any other error comes back as it is.
func columnProblem(org *origin, attr schema.Attribute, err error) error {
	var le *layoutError
	var ve *valueError
	var te *typeError
	var l diag.List
	switch {
	case errors.As(err, &le):
		l.Add(org.name, ErrData, "column %s is not a valid Arrow array: %v", attr.Name, le.err)
	case errors.As(err, &ve):
		l.Add(fmt.Sprintf("%s: column %s", org.at(ve.row), attr.Name), ErrData, "%s", ve.Error())
	case errors.As(err, &te):
		l.Add(org.name, ErrData, "column %s has Arrow type %s, want %s (%s)", attr.Name, te.found, te.want, attr.Type)
	default:
		return err
	}
	return l
}

// layoutError is an array that breaks Arrow's layout rules.
type layoutError struct{ err error }

func (e *layoutError) Error() string { return e.err.Error() }

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
	n := 0
	for _, c := range chunks {
		n += c.Len()
	}
	p, err := newPlacer(mem, attr, n, nil)
	if err != nil {
		return nil, err
	}
	defer p.release()
	pos := 0
	for _, c := range chunks {
		// A batch at a time, so that cancelling stops a long column.
		for lo := 0; lo < c.Len(); lo += batchRows {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			part := c
			if lo > 0 || c.Len() > batchRows {
				part = array.NewSlice(c, int64(lo), int64(min(c.Len(), lo+batchRows)))
			}
			err := p.put(part, pos+lo, lo > 0)
			if part != c {
				part.Release()
			}
			if err != nil {
				return nil, err
			}
		}
		pos += c.Len()
	}
	return p.finish()
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
// values are still checked: numbers must be finite, dates and datetimes
// within years 0000 to 9999, strings valid UTF-8, dictionary indexes
// inside the dictionary.
func share(mem memory.Allocator, a arrow.Array) (_ arrow.Array, ok bool, _ error) {
	switch a := a.(type) {
	case *array.Date32:
		if err := checkDays(a, a.Date32Values(), 0); err != nil {
			return nil, false, err
		}
		a.Retain()
		return a, true, nil
	case *array.Int64, *array.Boolean:
		a.Retain()
		return a, true, nil
	case *array.Float64:
		if err := checkFiniteValues(a, a.Float64Values(), 0); err != nil {
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
		if err := checkMicros(a, a.TimestampValues(), 0); err != nil {
			return nil, false, err
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
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(4 * a.Len())
	dst := arrow.GetData[int32](buf.Bytes())
	for i := range dst {
		if a.IsValid(i) {
			dst[i] = int32(a.GetValueIndex(i))
		}
	}
	var valid *memory.Buffer
	if a.NullN() > 0 {
		v := validity{mem: mem, n: a.Len()}
		v.put(a, 0, appendNulls(nil, a))
		valid, _ = v.take()
		defer valid.Release()
	}
	d := array.NewData(arrow.PrimitiveTypes.Int32, a.Len(), []*memory.Buffer{valid, buf}, nil, a.NullN(), 0)
	defer d.Release()
	codes := array.MakeFromData(d)
	defer codes.Release()
	return array.NewDictionaryArray(stringDictType, codes, dict), true, nil
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
