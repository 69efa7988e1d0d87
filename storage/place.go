package storage

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// A placer builds one column, in the normalized type of its attribute (see
// Column), from the column's data given in order as chunks of any Arrow
// type that converts to it (the conversions of FromTables). Without a
// placement, row r of the data is row r of the column; with one, it goes to
// row place[r]. Load places every value straight at its row in the column
// clustered by customer, as the chunks are decoded or parsed, so that no
// copy of the column in file order is ever made.
//
// Every buffer of the column comes from the placer's allocator and belongs
// to the caller of finish; release frees what a placer that will not finish
// holds. A placer is not safe for concurrent use.
type placer interface {
	// put converts c, the rows [first, first+c.Len()) of the data, into
	// the column; chunks come in order, each first the previous one's end.
	// extends reports that c is a dictionary array whose dictionary
	// begins with the entries of the previous chunk's, as the batches of a
	// Parquet row group have. A value that does not convert is a
	// *valueError with its row in the data.
	put(c arrow.Array, first int, extends bool) error
	// finish returns the column, once every row is put.
	finish() (arrow.Array, error)
	release()
}

// newPlacer returns the placer of a column of n rows of type attr.Type,
// with buffers from mem; place is nil or holds n distinct rows below n.
func newPlacer(mem memory.Allocator, attr schema.Attribute, n int, place []uint32) (placer, error) {
	switch attr.Type {
	case schema.Integer:
		return newFixedPlacer[int64](mem, attr.Type, arrow.PrimitiveTypes.Int64, n, place), nil
	case schema.Number:
		return newFixedPlacer[float64](mem, attr.Type, arrow.PrimitiveTypes.Float64, n, place), nil
	case schema.Date:
		return newFixedPlacer[int32](mem, attr.Type, arrow.FixedWidthTypes.Date32, n, place), nil
	case schema.Datetime:
		return newFixedPlacer[int64](mem, attr.Type, timestampType, n, place), nil
	case schema.Boolean:
		return newBoolPlacer(mem, n, place), nil
	case schema.String:
		return newStringPlacer(mem, n, place), nil
	}
	return nil, fmt.Errorf("%w: attribute %s has type %s", schema.ErrUnknownType, attr.Name, attr.Type)
}

// bitWord returns up to 64 bits of the bitmap bm from bit off: bit i of the
// result is bit off+i of bm, for i < n; the bits from n on are zero.
func bitWord(bm []byte, off, n int) uint64 {
	n = min(n, 64)
	at, shift := off>>3, uint(off&7)
	var w uint64
	if at+9 <= len(bm) {
		w = binary.LittleEndian.Uint64(bm[at:]) >> shift
		if shift > 0 {
			w |= uint64(bm[at+8]) << (64 - shift)
		}
	} else {
		for k := 0; at+k < len(bm) && 8*k < int(shift)+n; k++ {
			b := uint64(bm[at+k])
			if k == 0 {
				w |= b >> shift
			} else {
				w |= b << (uint(8*k) - shift)
			}
		}
	}
	if n < 64 {
		w &= 1<<uint(n) - 1
	}
	return w
}

// appendNulls appends the rows of c that are null to dst, reading its
// validity a word at a time.
func appendNulls(dst []int32, c arrow.Array) []int32 {
	n := c.Len()
	if c.NullN() == 0 {
		return dst
	}
	bm := c.NullBitmapBytes()
	if bm == nil {
		for i := range n {
			dst = append(dst, int32(i))
		}
		return dst
	}
	off := c.Data().Offset()
	for base := 0; base < n; base += 64 {
		w := ^bitWord(bm, off+base, n-base)
		if n-base < 64 {
			w &= 1<<uint(n-base) - 1
		}
		for w != 0 {
			dst = append(dst, int32(base+bits.TrailingZeros64(w)))
			w &= w - 1
		}
	}
	return dst
}

// validity builds a column's validity bitmap. It allocates none until the
// first null: a column without nulls has none, as Arrow allows.
type validity struct {
	mem   memory.Allocator
	n     int
	place []uint32
	buf   *memory.Buffer
	nulls int
}

// bits returns the bitmap, allocating it all valid on first use.
func (v *validity) bits() []byte {
	if v.buf == nil {
		v.buf = memory.NewResizableBuffer(v.mem)
		v.buf.Resize(int(bitutil.BytesForBits(int64(v.n))))
		b := v.buf.Bytes()
		memory.Set(b, 0xff)
		bitutil.SetBitsTo(b, int64(v.n), int64(len(b)*8-v.n), false)
	}
	return v.buf.Bytes()
}

// setNull makes row r of the column, as placed, null.
func (v *validity) setNull(r int) {
	bitutil.ClearBit(v.bits(), r)
	v.nulls++
}

// put records the nulls of c, the rows from first on; nulls lists its null
// rows, relative to c.
func (v *validity) put(c arrow.Array, first int, nulls []int32) {
	if len(nulls) == 0 {
		return
	}
	b := v.bits()
	v.nulls += len(nulls)
	if v.place == nil {
		if bm := c.NullBitmapBytes(); bm != nil {
			bitutil.CopyBitmap(bm, c.Data().Offset(), c.Len(), b, first)
			return
		}
		for _, i := range nulls {
			bitutil.ClearBit(b, first+int(i))
		}
		return
	}
	place := v.place[first : first+c.Len()]
	for _, i := range nulls {
		bitutil.ClearBit(b, int(place[i]))
	}
}

// take returns the bitmap and the null count, and leaves v empty.
func (v *validity) take() (*memory.Buffer, int) {
	b, n := v.buf, v.nulls
	v.buf, v.nulls = nil, 0
	return b, n
}

func (v *validity) release() {
	if v.buf != nil {
		v.buf.Release()
		v.buf = nil
	}
}

// isValid reports whether row i of the column, as placed, is valid.
func (v *validity) isValid(i int) bool {
	return v.buf == nil || bitutil.BitIsSet(v.buf.Bytes(), i)
}

// placeValues writes src, the rows from first on, to dst at their rows,
// converted to Out.
func placeValues[In, Out int8 | int16 | int32 | int64 | uint8 | uint16 | uint32 | uint64 | float32 | float64](src []In, dst []Out, first int, place []uint32) {
	if place == nil {
		d := dst[first : first+len(src)]
		for i, v := range src {
			d[i] = Out(v)
		}
		return
	}
	p := place[first : first+len(src)]
	for i, v := range src {
		dst[p[i]] = Out(v)
	}
}

// fixedPlacer places a column of fixed-width values: integers, numbers
// and datetimes as int64 and float64, dates as int32. Null rows hold 0.
type fixedPlacer[T int32 | int64 | float64] struct {
	typ   schema.Type
	dt    arrow.DataType
	n     int
	place []uint32
	rows  int
	buf   *memory.Buffer
	vals  []T
	valid validity
	nulls []int32 // scratch: the null rows of a chunk

	// What putShared needs: the rows it put, and a lock on valid.
	shared  atomic.Int64
	validMu sync.Mutex
}

func newFixedPlacer[T int32 | int64 | float64](mem memory.Allocator, typ schema.Type, dt arrow.DataType, n int, place []uint32) *fixedPlacer[T] {
	var zero T
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(n * int(unsafe.Sizeof(zero)))
	return &fixedPlacer[T]{typ: typ, dt: dt, n: n, place: place, buf: buf, vals: arrow.GetData[T](buf.Bytes()),
		valid: validity{mem: mem, n: n, place: place}}
}

func (p *fixedPlacer[T]) put(c arrow.Array, first int, _ bool) error {
	m := c.Len()
	if first != p.rows || first+m > p.n {
		return fmt.Errorf("BUG: rows [%d, %d) of a column of %d, %d put", first, first+m, p.n, p.rows)
	}
	if err := p.convertNulls(c, first, &p.nulls); err != nil {
		return err
	}
	p.valid.put(c, first, p.nulls)
	p.rows += m
	return nil
}

// putShared is put for chunks that come in any order, from several
// goroutines at once (the row groups of a Parquet file, each decoded on a
// core): the chunks' rows must not overlap. nulls is the caller's
// scratch.
func (p *fixedPlacer[T]) putShared(c arrow.Array, first int, nulls *[]int32) error {
	m := c.Len()
	if first < 0 || first+m > p.n {
		return fmt.Errorf("BUG: rows [%d, %d) of a column of %d put", first, first+m, p.n)
	}
	if err := p.convertNulls(c, first, nulls); err != nil {
		return err
	}
	if len(*nulls) > 0 {
		// Validity bits of different chunks may share a byte.
		p.validMu.Lock()
		p.valid.put(c, first, *nulls)
		p.validMu.Unlock()
	}
	p.shared.Add(int64(m))
	return nil
}

// convertNulls writes the values of c to their rows, a null row's as 0,
// and sets nulls to the null rows of c.
func (p *fixedPlacer[T]) convertNulls(c arrow.Array, first int, nulls *[]int32) error {
	*nulls = appendNulls((*nulls)[:0], c)
	if err := p.convert(c, first); err != nil {
		return err
	}
	// What a null slot of the source holds means nothing; the column's
	// hold 0.
	for _, i := range *nulls {
		r := first + int(i)
		if p.place != nil {
			r = int(p.place[r])
		}
		p.vals[r] = 0
	}
	return nil
}

// convert writes the values of c to their rows.
func (p *fixedPlacer[T]) convert(c arrow.Array, first int) error {
	d := c.Data()
	id := c.DataType().ID()
	switch p.typ {
	case schema.Integer:
		dst := any(p.vals).([]int64)
		switch id {
		case arrow.INT8:
			placeValues(arrow.GetValues[int8](d, 1), dst, first, p.place)
		case arrow.INT16:
			placeValues(arrow.GetValues[int16](d, 1), dst, first, p.place)
		case arrow.INT32:
			placeValues(arrow.GetValues[int32](d, 1), dst, first, p.place)
		case arrow.INT64:
			placeValues(arrow.GetValues[int64](d, 1), dst, first, p.place)
		case arrow.UINT8:
			placeValues(arrow.GetValues[uint8](d, 1), dst, first, p.place)
		case arrow.UINT16:
			placeValues(arrow.GetValues[uint16](d, 1), dst, first, p.place)
		case arrow.UINT32:
			placeValues(arrow.GetValues[uint32](d, 1), dst, first, p.place)
		default:
			return fmt.Errorf("BUG: integer chunk of type %s", c.DataType())
		}
	case schema.Number:
		dst := any(p.vals).([]float64)
		if id == arrow.FLOAT32 {
			src := arrow.GetValues[float32](d, 1)
			if err := checkFiniteValues(c, src, first); err != nil {
				return err
			}
			placeValues(src, dst, first, p.place)
		} else {
			src := arrow.GetValues[float64](d, 1)
			if err := checkFiniteValues(c, src, first); err != nil {
				return err
			}
			placeValues(src, dst, first, p.place)
		}
	case schema.Date:
		dst := any(p.vals).([]int32)
		if id == arrow.DATE32 {
			src := arrow.GetValues[int32](d, 1)
			if err := checkDays(c, src, first); err != nil {
				return err
			}
			placeValues(src, dst, first, p.place)
			return nil
		}
		const msPerDay = secondsPerDay * 1000
		noNulls := c.NullN() == 0
		for i, v := range arrow.GetValues[int64](d, 1) {
			if !noNulls && c.IsNull(i) {
				continue
			}
			if v%msPerDay != 0 {
				return &valueError{row: first + i, value: fmt.Sprintf("date64 %d", v), err: errNotWholeDay}
			}
			day := v / msPerDay
			if !exact.DayInRange(day) {
				return &valueError{row: first + i, value: fmt.Sprintf("date64 %d", v), err: errDateRange}
			}
			dst[p.at(first+i)] = int32(day)
		}
	case schema.Datetime:
		dst := any(p.vals).([]int64)
		unit := c.DataType().(*arrow.TimestampType).Unit
		src := arrow.GetValues[int64](d, 1)
		if unit == arrow.Microsecond {
			if err := checkMicros(c, src, first); err != nil {
				return err
			}
			placeValues(src, dst, first, p.place)
			return nil
		}
		noNulls := c.NullN() == 0
		for i, v := range src {
			if !noNulls && c.IsNull(i) {
				continue
			}
			us, err := toMicros(v, unit)
			if err == nil && !exact.InRange(us) {
				err = errTSYears
			}
			if err != nil {
				return &valueError{row: first + i, value: fmt.Sprintf("timestamp %d (%s)", v, unit), err: err}
			}
			dst[p.at(first+i)] = us
		}
	default:
		return fmt.Errorf("BUG: fixed-width column of type %s", p.typ)
	}
	return nil
}

// at is the row of the column that row r of the data goes to.
func (p *fixedPlacer[T]) at(r int) int {
	if p.place == nil {
		return r
	}
	return int(p.place[r])
}

func (p *fixedPlacer[T]) finish() (arrow.Array, error) {
	if rows := p.rows + int(p.shared.Load()); rows != p.n {
		return nil, fmt.Errorf("BUG: %d rows of a column of %d put", rows, p.n)
	}
	validity, nulls := p.valid.take()
	if validity != nil {
		defer validity.Release()
	}
	defer p.release()
	d := array.NewData(p.dt, p.n, []*memory.Buffer{validity, p.buf}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

func (p *fixedPlacer[T]) release() {
	if p.buf != nil {
		p.buf.Release()
		p.buf, p.vals = nil, nil
	}
	p.valid.release()
}

// checkMicros returns an error for the first valid value of vals (a
// microsecond timestamp column c, whose row 0 is row first of the data)
// outside the years a datetime holds (exact.InRange), which would print
// in a form no reader takes back.
func checkMicros[T ~int64](c arrow.Array, vals []T, first int) error {
	noNulls := c.NullN() == 0
	for i, v := range vals {
		if !exact.InRange(int64(v)) && (noNulls || c.IsValid(i)) {
			return &valueError{row: first + i, value: fmt.Sprintf("timestamp %d (us)", int64(v)), err: errTSYears}
		}
	}
	return nil
}

// checkDays returns an error for the first valid value of vals (a date32
// column c, whose row 0 is row first of the data) outside the years a
// date holds (exact.DayInRange), which would print in a form no reader
// takes back.
func checkDays[T ~int32](c arrow.Array, vals []T, first int) error {
	noNulls := c.NullN() == 0
	for i, v := range vals {
		if !exact.DayInRange(int64(v)) && (noNulls || c.IsValid(i)) {
			return &valueError{row: first + i, value: fmt.Sprintf("date32 %d", v), err: errDateRange}
		}
	}
	return nil
}

// checkFiniteValues rejects a valid NaN or infinity among vals, the values
// of c, the rows from first on.
func checkFiniteValues[F float32 | float64](c arrow.Array, vals []F, first int) error {
	noNulls := c.NullN() == 0
	for i, v := range vals {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			if noNulls || c.IsValid(i) {
				return &valueError{row: first + i, value: fmt.Sprint(f), err: errNotFinite}
			}
		}
	}
	return nil
}

// boolPlacer places a boolean column, one bit per value; a null row's
// value bit is 0.
type boolPlacer struct {
	n     int
	place []uint32
	rows  int
	buf   *memory.Buffer
	valid validity
	nulls []int32
}

func newBoolPlacer(mem memory.Allocator, n int, place []uint32) *boolPlacer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(n))))
	clear(buf.Bytes())
	return &boolPlacer{n: n, place: place, buf: buf, valid: validity{mem: mem, n: n, place: place}}
}

func (p *boolPlacer) put(c arrow.Array, first int, _ bool) error {
	m := c.Len()
	if first != p.rows || first+m > p.n {
		return fmt.Errorf("BUG: rows [%d, %d) of a column of %d, %d put", first, first+m, p.n, p.rows)
	}
	if c.DataType().ID() != arrow.BOOL {
		return fmt.Errorf("BUG: boolean chunk of type %s", c.DataType())
	}
	d := c.Data()
	var vals []byte
	if b := d.Buffers()[1]; b != nil {
		vals = b.Bytes()
	}
	off := d.Offset()
	dst := p.buf.Bytes()
	p.nulls = appendNulls(p.nulls[:0], c)
	if p.place == nil {
		if m > 0 {
			bitutil.CopyBitmap(vals, off, m, dst, first)
		}
		for _, i := range p.nulls {
			bitutil.ClearBit(dst, first+int(i))
		}
	} else {
		// Only the true values are written, a word of them at a time.
		valid := c.NullBitmapBytes()
		place := p.place[first : first+m]
		for base := 0; base < m; base += 64 {
			w := bitWord(vals, off+base, m-base)
			if valid != nil {
				w &= bitWord(valid, off+base, m-base)
			} else if c.NullN() > 0 {
				w = 0
			}
			for w != 0 {
				bitutil.SetBit(dst, int(place[base+bits.TrailingZeros64(w)]))
				w &= w - 1
			}
		}
	}
	p.valid.put(c, first, p.nulls)
	p.rows += m
	return nil
}

func (p *boolPlacer) finish() (arrow.Array, error) {
	if p.rows != p.n {
		return nil, fmt.Errorf("BUG: %d rows of a column of %d put", p.rows, p.n)
	}
	validity, nulls := p.valid.take()
	if validity != nil {
		defer validity.Release()
	}
	defer p.release()
	d := array.NewData(arrow.FixedWidthTypes.Boolean, p.n, []*memory.Buffer{validity, p.buf}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d), nil
}

func (p *boolPlacer) release() {
	if p.buf != nil {
		p.buf.Release()
		p.buf = nil
	}
	p.valid.release()
}

// stringPlacer places a string column, dictionary-encoded while that
// pays, as the CSV reader always has: it starts with a dictionary (a map
// from value to code, the distinct values in the order the data first
// has them, a code per row) and gives it up at a multiple of batchRows
// rows of the data, or at the end, when more than half of the rows so far
// hold distinct values (keys, free text). A plain column is built in data
// order and placed at the end.
//
// A dictionary chunk (a Parquet column read with its dictionary pages) is
// mapped entry by entry: each entry of its dictionary is looked up once,
// then its rows take the entry's code.
type stringPlacer struct {
	mem   memory.Allocator
	n     int
	place []uint32
	rows  int

	// The dictionary form; codes is nil once the column is plain.
	codes  *memory.Buffer
	code   []int32 // per row, at its place
	valid  validity
	lookup map[string]int32
	values []string
	// local maps the entries of the current chunk's dictionary to codes:
	// notLooked until looked up, noCode for a null entry.
	local []int32
	nulls []int32 // scratch: the null rows of a chunk

	plain *array.StringBuilder // in data order

	// byAddress caches the code of the value at an address (see
	// putBytes); an entry is checked before use, so a stale one only
	// misses.
	byAddress *[1 << byAddressBits]addressCode
}

const (
	notLooked int32 = -2
	noCode    int32 = -1
)

func newStringPlacer(mem memory.Allocator, n int, place []uint32) *stringPlacer {
	codes := memory.NewResizableBuffer(mem)
	codes.Resize(4 * n)
	return &stringPlacer{mem: mem, n: n, place: place, codes: codes, code: arrow.GetData[int32](codes.Bytes()),
		valid: validity{mem: mem, n: n, place: place}, lookup: map[string]int32{}, byAddress: new([1 << byAddressBits]addressCode)}
}

func (p *stringPlacer) at(r int) int {
	if p.place == nil {
		return r
	}
	return int(p.place[r])
}

// intern returns the code of s, adding it to the dictionary if new.
func (p *stringPlacer) intern(s string) (int32, error) {
	if code, ok := p.lookup[s]; ok {
		return code, nil
	}
	// Only a new value needs the UTF-8 check.
	if err := checkString(s); err != nil {
		return 0, err
	}
	// Clone: s may share memory with a buffer that is reused.
	v := strings.Clone(s)
	code := int32(len(p.values))
	p.values = append(p.values, v)
	p.lookup[v] = code
	return code, nil
}

func (p *stringPlacer) put(c arrow.Array, first int, extends bool) error {
	m := c.Len()
	if first != p.rows || first+m > p.n {
		return fmt.Errorf("BUG: rows [%d, %d) of a column of %d, %d put", first, first+m, p.n, p.rows)
	}
	var at func(i int) (string, bool, error)
	dict, isDict := c.(*array.Dictionary)
	if isDict && !extends && dict.Dictionary().Len() > 4*m+1024 {
		// Mapping a large dictionary entry by entry would cost more than
		// the rows that use it: the rows are looked up one by one.
		isDict = false
	}
	if !isDict {
		var err error
		if at, err = stringAt(c); err != nil {
			return err
		}
	}
	// The rows are taken up to each checkpoint, where the column may turn
	// plain.
	for lo := 0; lo < m; {
		hi := min(m, (first+lo)/batchRows*batchRows+batchRows-first)
		var err error
		switch {
		case p.codes == nil:
			err = p.putPlain(c, at, dict, first, lo, hi)
		case isDict:
			err = p.putDictionary(dict, first, lo, hi, extends || lo > 0)
		default:
			err = p.putStrings(c, at, first, lo, hi)
		}
		if err != nil {
			return err
		}
		p.rows = first + hi
		if p.rows%batchRows == 0 && p.codes != nil && !p.pays(p.rows) {
			p.toPlain()
		}
		lo = hi
	}
	return nil
}

// pays reports whether the dictionary form is worth keeping for rows rows.
func (p *stringPlacer) pays(rows int) bool { return len(p.values) <= rows/2 }

// putStrings takes rows [lo, hi) of a chunk of plain strings into the
// dictionary.
func (p *stringPlacer) putStrings(c arrow.Array, at func(int) (string, bool, error), first, lo, hi int) error {
	if s, ok := c.(*array.String); ok {
		noNulls := s.NullN() == 0
		for i := lo; i < hi; i++ {
			r := p.at(first + i)
			if !noNulls && s.IsNull(i) {
				p.valid.setNull(r)
				continue
			}
			code, err := p.intern(s.Value(i))
			if err != nil {
				return &valueError{row: first + i, value: quoteValue(s.Value(i)), err: err}
			}
			p.code[r] = code
		}
		return nil
	}
	for i := lo; i < hi; i++ {
		s, valid, err := at(i)
		if err != nil {
			return withRow(err, first+i)
		}
		r := p.at(first + i)
		if !valid {
			p.valid.setNull(r)
			continue
		}
		code, err := p.intern(s)
		if err != nil {
			return &valueError{row: first + i, value: quoteValue(s), err: err}
		}
		p.code[r] = code
	}
	return nil
}

// putDictionary takes rows [lo, hi) of a dictionary chunk into the
// dictionary; extends keeps the codes of the entries already looked up.
func (p *stringPlacer) putDictionary(c *array.Dictionary, first, lo, hi int, extends bool) error {
	dictAt, err := stringAt(c.Dictionary())
	if err != nil {
		return err
	}
	size := c.Dictionary().Len()
	if !extends {
		p.local = p.local[:0]
	}
	for len(p.local) < size {
		p.local = append(p.local, notLooked)
	}
	noNulls := c.NullN() == 0
	// slow takes row i whose index is not one of an entry looked up
	// already.
	slow := func(i int) error {
		r := p.at(first + i)
		if !noNulls && c.IsNull(i) {
			p.valid.setNull(r)
			return nil
		}
		j := c.GetValueIndex(i)
		if j < 0 || j >= size {
			return &valueError{row: first + i, value: fmt.Sprintf("index %d", j), err: errDictIndex}
		}
		code := p.local[j]
		if code == notLooked {
			s, valid, err := dictAt(j)
			if err != nil {
				return withRow(err, first+i)
			}
			if !valid {
				code = noCode
			} else if code, err = p.intern(s); err != nil {
				return &valueError{row: first + i, value: quoteValue(s), err: err}
			}
			p.local[j] = code
		}
		if code == noCode {
			p.valid.setNull(r)
			return nil
		}
		p.code[r] = code
		return nil
	}
	idx, ok := c.Indices().(*array.Int32)
	if !ok {
		for i := lo; i < hi; i++ {
			if err := slow(i); err != nil {
				return err
			}
		}
		return nil
	}
	// Rows whose entry is looked up already (nearly all) take its code
	// straight; a null row too, its code cleared after.
	local := p.local[:size]
	vals := idx.Int32Values()
	for i := lo; i < hi; i++ {
		j := vals[i]
		if uint32(j) >= uint32(size) || local[j] < 0 {
			if err := slow(i); err != nil {
				return err
			}
			continue
		}
		if p.place == nil {
			p.code[first+i] = local[j]
		} else {
			p.code[p.place[first+i]] = local[j]
		}
	}
	if !noNulls {
		p.nulls = appendNulls(p.nulls[:0], c)
		for _, i := range p.nulls {
			if i := int(i); i >= lo && i < hi {
				r := p.at(first + i)
				if p.valid.isValid(r) {
					p.code[r] = 0
					p.valid.setNull(r)
				}
			}
		}
	}
	return nil
}

// putBytes takes the rows [first, first+rows) of the data from a Parquet
// column read as byte arrays: defs holds each row's definition level (nil
// when every row is valid), a row whose level is below maxDef is null, and
// vals holds the values of the valid rows in order. The values may point
// into buffers that are reused once the call returns. A value seen at an
// address before (an entry of the row group's dictionary) takes the code
// it had, once its bytes are checked to be the code's value.
func (p *stringPlacer) putBytes(vals []parquet.ByteArray, defs []int16, maxDef int16, first, rows int) error {
	if first != p.rows || first+rows > p.n {
		return fmt.Errorf("BUG: rows [%d, %d) of a column of %d, %d put", first, first+rows, p.n, p.rows)
	}
	k := 0 // the next value
	for lo := 0; lo < rows; {
		hi := min(rows, (first+lo)/batchRows*batchRows+batchRows-first)
		for i := lo; i < hi; i++ {
			if defs != nil && defs[i] < maxDef {
				if p.codes == nil {
					p.plain.AppendNull()
				} else {
					p.valid.setNull(p.at(first + i))
				}
				continue
			}
			v := vals[k]
			k++
			if p.codes == nil {
				if !utf8.Valid(v) {
					return &valueError{row: first + i, value: quoteValue(string(v)), err: errNotUTF8}
				}
				p.plain.BinaryBuilder.Append(v)
				continue
			}
			code, err := p.codeOf(v)
			if err != nil {
				return &valueError{row: first + i, value: quoteValue(string(v)), err: err}
			}
			p.code[p.at(first+i)] = code
		}
		p.rows = first + hi
		if p.rows%batchRows == 0 && p.codes != nil && !p.pays(p.rows) {
			p.toPlain()
		}
		lo = hi
	}
	return nil
}

// internGroup takes the rows [first, first+len(d.idx)) of the data, a row
// group of a dictionary-encoded Parquet column, into the dictionary: the
// entries of d in the order its rows first hold them, as putBytes would
// one row at a time, and the null rows. It sets codes to the code of
// every entry that a row holds. Row groups come in order, one call at a
// time, before their placeGroup. plain reports, with nothing taken, that
// the column turns plain in these rows (at a multiple of batchRows more
// than half of the rows so far hold distinct values): it is then placed
// row by row (putBytes) from the start. A cancelled ctx stops it with
// ctx's error, within 65536 rows.
func (p *stringPlacer) internGroup(ctx context.Context, d *dictRows, first int, codes *[]int32) (plain bool, err error) {
	rows := len(d.idx)
	if first != p.rows || first+rows > p.n || p.codes == nil {
		return false, fmt.Errorf("BUG: rows [%d, %d) of a column of %d, %d put", first, first+rows, p.n, p.rows)
	}
	size := d.size()
	c := (*codes)[:0]
	for range size {
		c = append(c, notLooked)
	}
	*codes = c
	before := len(p.values)
	// The rows at which a value new to the dictionary comes, in order.
	var newAt []int
	seen := 0
	for r, j := range d.idx {
		if r&(1<<16-1) == 0 && r > 0 {
			if err := ctx.Err(); err != nil {
				return false, err
			}
		}
		if j < 0 || c[j] != notLooked {
			continue
		}
		v := d.entry(j)
		code, ok := p.lookup[string(v)]
		if !ok {
			if code, err = p.intern(string(v)); err != nil {
				return false, &valueError{row: first + r, value: quoteValue(string(v)), err: err}
			}
			newAt = append(newAt, first+r)
		}
		c[j] = code
		if seen++; seen == size {
			break
		}
	}
	// The checkpoints of these rows, where putBytes tells whether the
	// dictionary still pays.
	k := 0
	for cp := (first/batchRows + 1) * batchRows; cp <= first+rows; cp += batchRows {
		for k < len(newAt) && newAt[k] < cp {
			k++
		}
		if before+k > cp/2 {
			return true, nil
		}
	}
	for _, r := range d.nulls {
		p.valid.setNull(p.at(first + int(r)))
	}
	p.rows = first + rows
	return false, nil
}

// placeGroup writes the codes of the valid rows of d, the rows from first
// on, to their rows; codes are those internGroup gave. Several row groups
// may be placed at once.
func (p *stringPlacer) placeGroup(d *dictRows, first int, codes []int32) {
	if p.place == nil {
		dst := p.code[first : first+len(d.idx)]
		for r, j := range d.idx {
			if j >= 0 {
				dst[r] = codes[j]
			}
		}
		return
	}
	place := p.place[first : first+len(d.idx)]
	for r, j := range d.idx {
		if j >= 0 {
			p.code[place[r]] = codes[j]
		}
	}
}

// codeOf is intern for a value given as bytes, looked up first by its
// address.
func (p *stringPlacer) codeOf(v []byte) (int32, error) {
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(v)))
	h := (uint64(addr) ^ uint64(len(v))<<48) * 0x9e3779b97f4a7c15 >> (64 - byAddressBits)
	if e := &p.byAddress[h]; e.addr == addr && int(e.code) < len(p.values) && p.values[e.code] == string(v) {
		return e.code, nil
	}
	code, ok := p.lookup[string(v)]
	if !ok {
		var err error
		if code, err = p.intern(string(v)); err != nil {
			return 0, err
		}
	}
	p.byAddress[h] = addressCode{addr: addr, code: code}
	return code, nil
}

// byAddressBits sizes the cache of codes by value address.
const byAddressBits = 12

// addressCode is an entry of the cache of codes by value address.
type addressCode struct {
	addr uintptr
	code int32
}

// putPlain appends rows [lo, hi) of a chunk to the plain column.
func (p *stringPlacer) putPlain(c arrow.Array, at func(int) (string, bool, error), dict *array.Dictionary, first, lo, hi int) error {
	if s, ok := c.(*array.String); ok && lo == 0 && hi == c.Len() {
		// A whole plain chunk of valid UTF-8 is appended as it is.
		if utf8.Valid(s.ValueBytes()) {
			p.plain.Reserve(hi - lo)
			// ReserveData grows to what it is asked for: asking for at
			// least as much again keeps the copies linear.
			if need := len(s.ValueBytes()); p.plain.DataLen()+need > p.plain.DataCap() {
				p.plain.ReserveData(max(need, p.plain.DataCap()))
			}
			for i := lo; i < hi; i++ {
				if s.IsNull(i) {
					p.plain.AppendNull()
				} else {
					p.plain.Append(s.Value(i))
				}
			}
			return nil
		}
	}
	if dict != nil {
		var err error
		if at, err = stringAt(dict); err != nil {
			return err
		}
	}
	p.plain.Reserve(hi - lo)
	for i := lo; i < hi; i++ {
		s, valid, err := at(i)
		if err != nil {
			return withRow(err, first+i)
		}
		if !valid {
			p.plain.AppendNull()
			continue
		}
		if err := checkString(s); err != nil {
			return &valueError{row: first + i, value: quoteValue(s), err: err}
		}
		p.plain.Append(s)
	}
	return nil
}

// withRow sets the row of a *valueError.
func withRow(err error, row int) error {
	if ve, ok := err.(*valueError); ok {
		ve.row = row
	}
	return err
}

// shiftRow adds by to the row of a *valueError: its row was counted from
// the start of a chunk that starts at row by.
func shiftRow(err error, by int) error {
	if ve, ok := err.(*valueError); ok {
		ve.row += by
	}
	return err
}

// toPlain turns the rows so far into a plain column in data order.
func (p *stringPlacer) toPlain() {
	p.plain = array.NewStringBuilder(p.mem)
	p.plain.Reserve(p.rows)
	for r := range p.rows {
		i := p.at(r)
		if p.valid.isValid(i) {
			p.plain.Append(p.values[p.code[i]])
		} else {
			p.plain.AppendNull()
		}
	}
	p.dropDictionary()
}

func (p *stringPlacer) dropDictionary() {
	if p.codes != nil {
		p.codes.Release()
	}
	p.valid.release()
	p.codes, p.code, p.lookup, p.values, p.local, p.byAddress = nil, nil, nil, nil, nil, nil
}

func (p *stringPlacer) finish() (arrow.Array, error) {
	if p.rows != p.n {
		return nil, fmt.Errorf("BUG: %d rows of a column of %d put", p.rows, p.n)
	}
	defer p.release()
	if p.codes != nil && !p.pays(p.n) {
		// The column is plain after all: its rows are built where they
		// are placed already.
		b := array.NewStringBuilder(p.mem)
		defer b.Release()
		b.Reserve(p.n)
		for i := range p.n {
			if p.valid.isValid(i) {
				b.Append(p.values[p.code[i]])
			} else {
				b.AppendNull()
			}
		}
		return b.NewArray(), nil
	}
	if p.codes == nil {
		arr := p.plain.NewArray()
		if p.place == nil {
			return arr, nil
		}
		defer arr.Release()
		return scatter(p.mem, arr, p.place)
	}
	dictB := array.NewStringBuilder(p.mem)
	defer dictB.Release()
	dictB.Reserve(len(p.values))
	for _, v := range p.values {
		dictB.Append(v)
	}
	dict := dictB.NewArray()
	defer dict.Release()
	validity, nulls := p.valid.take()
	if validity != nil {
		defer validity.Release()
	}
	d := array.NewData(arrow.PrimitiveTypes.Int32, p.n, []*memory.Buffer{validity, p.codes}, nil, nulls, 0)
	defer d.Release()
	codes := array.MakeFromData(d)
	defer codes.Release()
	return array.NewDictionaryArray(stringDictType, codes, dict), nil
}

func (p *stringPlacer) release() {
	p.dropDictionary()
	if p.plain != nil {
		p.plain.Release()
		p.plain = nil
	}
}
