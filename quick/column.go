package quick

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segmentkit/segmentkit/engine"
	colview "github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// batch is how many customers are read between two checks of the context.
const batch = 1 << 16

// acc accumulates the values of one field over a set of customers, one
// value (or null) per customer. Exactly one of the value forms is used,
// as the field's storage dictates.
type acc struct {
	customers int
	nulls     int
	nan       int // number values that are NaN: no order, no operator matches

	ints   []int64   // integer, date (days), datetime (microseconds)
	floats []float64 // number

	// Strings are counted per dictionary code while reading a dictionary
	// column, and by value otherwise; finish merges the codes into strs.
	dict  *array.String
	codes []int
	strs  map[string]int

	bools [2]int // counts of false and true
}

// addStr counts one string value. The string may point into Arrow memory,
// so it is cloned before it becomes a map key.
func (a *acc) addStr(s string) {
	if n, ok := a.strs[s]; ok {
		a.strs[s] = n + 1
		return
	}
	if a.strs == nil {
		a.strs = map[string]int{}
	}
	a.strs[strings.Clone(s)] = 1
}

// finish merges the dictionary code counts into strs.
func (a *acc) finish() {
	for code, n := range a.codes {
		if n == 0 {
			continue
		}
		if a.dict.IsNull(code) {
			a.nulls += n
			continue
		}
		if a.strs == nil {
			a.strs = map[string]int{}
		}
		s := a.dict.Value(code)
		if _, ok := a.strs[s]; !ok {
			s = strings.Clone(s)
		}
		a.strs[s] += n
	}
	a.codes = nil
}

// reader adds customer id's value to an acc. Customer ids are below the
// snapshot's NumCustomers.
type reader struct {
	read func(id int, a *acc)
	// dict is the dictionary of a dictionary-encoded string column; an acc
	// read by this reader counts codes against it.
	dict *array.String
	// ints and floats say which slice the values go to, when known, so
	// that reading every customer allocates it once.
	ints, floats bool
	// span, if not nil, reads customers lo..hi-1 at once, in a loop over
	// the column's typed values instead of a call per customer.
	span func(lo, hi int, a *acc)
}

// appendInts appends the valid values of v at rows lo..hi-1 and counts
// the others as nulls.
func appendInts[T colview.Integer](a *acc, v *colview.Vec, vals []T, lo, hi int) {
	before := len(a.ints)
	if v.Valid == nil {
		for _, x := range vals[lo:hi] {
			a.ints = append(a.ints, int64(x))
		}
	} else {
		for i := lo; i < hi; i++ {
			if v.IsValid(i) {
				a.ints = append(a.ints, int64(vals[i]))
			}
		}
	}
	a.nulls += hi - lo - (len(a.ints) - before)
}

func appendFloats(a *acc, v *colview.Vec, lo, hi int) {
	before := len(a.floats) + a.nan
	for i := lo; i < hi; i++ {
		if v.IsValid(i) {
			if x := v.F64[i]; x == x {
				a.floats = append(a.floats, x)
			} else {
				a.nan++
			}
		}
	}
	a.nulls += hi - lo - (len(a.floats) + a.nan - before)
}

func (r reader) newAcc(capacity int) *acc {
	a := &acc{}
	if r.dict != nil {
		a.dict, a.codes = r.dict, make([]int, r.dict.Len())
	}
	switch {
	case r.ints:
		a.ints = make([]int64, 0, capacity)
	case r.floats:
		a.floats = make([]float64, 0, capacity)
	}
	return a
}

// intReader reads a column of integer-like values (integers, days,
// microseconds) as int64.
func intReader[T colview.Integer](v *colview.Vec, vals []T, rowOf []int32, row func(int) int) reader {
	var span func(lo, hi int, a *acc)
	if rowOf == nil {
		span = func(lo, hi int, a *acc) { appendInts(a, v, vals, lo, hi) }
	}
	return reader{span: span, read: func(id int, a *acc) {
		if r := row(id); r >= 0 && v.IsValid(r) {
			a.ints = append(a.ints, int64(vals[r]))
			return
		}
		a.nulls++
	}, ints: true}
}

// viewReader reads an attribute column through its typed view (see
// colview.View). rowOf maps a customer id to its row, or to -1 for none;
// nil means row = customer id.
func viewReader(v *colview.Vec, rowOf []int32) (reader, error) {
	row := func(id int) int { return id }
	if rowOf != nil {
		row = func(id int) int { return int(rowOf[id]) }
	}
	switch {
	case v.I64 != nil:
		return intReader(v, v.I64, rowOf, row), nil
	case v.I32 != nil:
		return intReader(v, v.I32, rowOf, row), nil
	case v.F64 != nil:
		var span func(lo, hi int, a *acc)
		if rowOf == nil {
			span = func(lo, hi int, a *acc) { appendFloats(a, v, lo, hi) }
		}
		vals := v.F64
		return reader{span: span, read: func(id int, a *acc) {
			if r := row(id); r >= 0 && v.IsValid(r) {
				if x := vals[r]; x == x {
					a.floats = append(a.floats, x)
				} else {
					a.nan++
				}
				return
			}
			a.nulls++
		}, floats: true}, nil
	case v.B != nil:
		return reader{read: func(id int, a *acc) {
			if r := row(id); r >= 0 && v.IsValid(r) {
				if v.B.Has(r) {
					a.bools[1]++
				} else {
					a.bools[0]++
				}
				return
			}
			a.nulls++
		}}, nil
	case v.Codes != nil:
		codes, dict := v.Codes, v.Dict
		n := dict.Len()
		return reader{dict: dict, read: func(id int, a *acc) {
			if r := row(id); r >= 0 && v.IsValid(r) {
				if k := int(codes[r]); k >= 0 && k < n {
					a.codes[k]++
					return
				}
			}
			a.nulls++
		}}, nil
	case v.Str != nil:
		return reader{read: func(id int, a *acc) {
			if r := row(id); r >= 0 && v.IsValid(r) {
				a.addStr(v.StringAt(r))
				return
			}
			a.nulls++
		}}, nil
	}
	return reader{}, fmt.Errorf("%w: a view of %s without values", colview.ErrNotNormalized, v.Type)
}

// valuesReader reads the per-customer values of a measure.
func valuesReader(vals *engine.Values) reader {
	date := vals.Type() == schema.Date
	return reader{read: func(id int, a *acc) {
		if !vals.Valid(uint32(id)) {
			a.nulls++
			return
		}
		switch x := vals.Value(uint32(id)).(type) {
		case int64:
			a.ints = append(a.ints, x)
		case float64:
			if x == x {
				a.floats = append(a.floats, x)
			} else {
				a.nan++
			}
		case string:
			a.addStr(x)
		case bool:
			if x {
				a.bools[1]++
			} else {
				a.bools[0]++
			}
		case time.Time:
			if date {
				a.ints = append(a.ints, exact.Day(x))
			} else {
				a.ints = append(a.ints, x.UnixMicro())
			}
		default:
			a.nulls++
		}
	}}
}

// readAll reads every customer's value.
func readAll(ctx context.Context, r reader, n int) (*acc, error) {
	a := r.newAcc(n)
	for lo := 0; lo < n; lo += batch {
		if err := ctxErr(ctx); err != nil {
			return nil, err
		}
		if r.span != nil {
			r.span(lo, min(n, lo+batch), a)
			continue
		}
		for id := lo; id < min(n, lo+batch); id++ {
			r.read(id, a)
		}
	}
	a.customers = n
	a.finish()
	return a, nil
}

// readMembers reads the values of the members below n.
func readMembers(ctx context.Context, r reader, n int, members *roaring.Bitmap) (*acc, error) {
	a := r.newAcc(0)
	if members == nil {
		a.finish()
		return a, nil
	}
	it := members.ManyIterator()
	buf := make([]uint32, 4096)
	done := 0
	for {
		k := it.NextMany(buf)
		if k == 0 {
			break
		}
		for _, id := range buf[:k] {
			if int64(id) >= int64(n) {
				continue
			}
			r.read(int(id), a)
			a.customers++
		}
		if done += k; done >= batch {
			done = 0
			if err := ctxErr(ctx); err != nil {
				return nil, err
			}
		}
	}
	a.finish()
	return a, ctxErr(ctx)
}

// column is the statistics of one field over a set of customers. It is
// immutable once built.
type column struct {
	field     Field // with its scale
	rows      int
	customers int
	nulls     int
	nan       int
	distinct  int

	// Ordered values, ascending: ints or floats.
	ints   []int64
	floats []float64

	strs  map[string]int // string value counts
	bools [2]int         // boolean value counts

	top             []ValueCount
	min, max        segment.Value
	percentiles     []segment.Value // 101 values when there are ordered values
	reader          reader
	isStrs, isBools bool
}

// count returns how many ordered values there are.
func (c *column) count() int {
	return len(c.ints) + len(c.floats)
}

// build computes a column's statistics from the values in a, taking
// ownership of a's slices. With decideScale it sets the field's scale from
// its type and distinct values (statistics over all customers); without,
// it keeps f.Kind (statistics over a subset).
func build(f Field, a *acc, rows int, decideScale bool) *column {
	c := &column{field: f, rows: rows, customers: a.customers, nulls: a.nulls, nan: a.nan}
	switch f.Type {
	case schema.String:
		c.isStrs, c.strs = true, a.strs
	case schema.Boolean:
		c.isBools, c.bools = true, a.bools
	default:
		c.ints, c.floats = a.ints, a.floats
		if len(c.ints) > 0 && len(c.floats) > 0 {
			// One measure has one storage; should two ever meet, order
			// them together as numbers.
			for _, x := range c.ints {
				c.floats = append(c.floats, float64(x))
			}
			c.ints = nil
		}
		sortInt64s(c.ints)
		sortFloat64s(c.floats)
	}
	tk := topK{k: TopValues}
	switch {
	case c.isStrs:
		c.distinct = len(c.strs)
		tk.byStr = true
		first := true
		for s, n := range c.strs {
			tk.offer(topEntry{count: n, str: s})
			if first || s < c.min.Str {
				c.min = segment.Str(s)
			}
			if first || s > c.max.Str {
				c.max = segment.Str(s)
			}
			first = false
		}
	case c.isBools:
		for i, n := range c.bools {
			if n > 0 {
				c.distinct++
				tk.offer(topEntry{count: n, pos: i})
			}
		}
		if c.bools[0] > 0 {
			c.min = segment.Bool(false)
		} else if c.bools[1] > 0 {
			c.min = segment.Bool(true)
		}
		if c.bools[1] > 0 {
			c.max = segment.Bool(true)
		} else if c.bools[0] > 0 {
			c.max = segment.Bool(false)
		}
	default:
		c.runs(&tk)
		if n := c.count(); n > 0 {
			c.min, c.max = c.valueAt(0), c.valueAt(n-1)
			c.percentiles = make([]segment.Value, 101)
			for p := range c.percentiles {
				c.percentiles[p] = c.valueAt(percentileIndex(p, n))
			}
		}
	}
	c.top = make([]ValueCount, len(tk.e))
	for i, e := range tk.e {
		var v segment.Value
		switch {
		case c.isStrs:
			v = segment.Str(e.str)
		case c.isBools:
			v = segment.Bool(e.pos == 1)
		default:
			v = c.valueAt(e.pos)
		}
		c.top[i] = ValueCount{Value: v, Customers: e.count}
	}
	if decideScale {
		c.field.Scale = scaleOf(f.Type, c.distinct)
	}
	return c
}

// scaleOf returns the scale of a field of type t with distinct values.
func scaleOf(t schema.Type, distinct int) Scale {
	switch t {
	case schema.String, schema.Boolean:
		return Categorical
	case schema.Integer:
		if distinct <= CategoricalLimit {
			return Categorical
		}
	}
	return Numerical
}

// percentileIndex is the position of the nearest-rank p-th percentile among
// n sorted values: the value at rank ceil(p*n/100), counting from 1, with
// p0 the first value.
func percentileIndex(p, n int) int {
	if p <= 0 {
		return 0
	}
	rank := (int64(p)*int64(n) + 99) / 100
	return int(min(max(rank, 1), int64(n)) - 1)
}

// runs counts the distinct ordered values and offers each run of equal
// values to tk, in ascending order.
func (c *column) runs(tk *topK) {
	pos := 0
	offer := func(n int) {
		c.distinct++
		tk.offer(topEntry{count: n, pos: pos})
		pos += n
	}
	for i, xs := 0, c.ints; i < len(xs); {
		j := i + 1
		for j < len(xs) && xs[j] == xs[i] {
			j++
		}
		offer(j - i)
		i = j
	}
	// -0 and 0 are one value, as the operators compare them.
	for i, xs := 0, c.floats; i < len(xs); {
		j := i + 1
		for j < len(xs) && xs[j] == xs[i] {
			j++
		}
		offer(j - i)
		i = j
	}
}

// valueAt returns the ordered value at position i as a definition value.
func (c *column) valueAt(i int) segment.Value {
	if len(c.floats) > 0 {
		return segment.Float(c.floats[i])
	}
	return intValue(c.field.Type, c.ints[i])
}

// intValue writes an integer-stored value in the form of its type: days
// as a date, microseconds as an RFC 3339 datetime, integers as numbers.
func intValue(t schema.Type, x int64) segment.Value {
	switch t {
	case schema.Date:
		return segment.Str(exact.FormatDay(x))
	case schema.Datetime:
		return segment.Str(exact.FormatMicros(x))
	}
	return segment.Int(x)
}

// topEntry is a candidate for the most frequent values: a run of ordered
// values starting at pos, or a string, or a boolean (pos 0 or 1).
type topEntry struct {
	count int
	pos   int
	str   string
}

// topK keeps the k best entries by count, ties broken by value ascending.
type topK struct {
	k     int
	byStr bool
	e     []topEntry
}

func (t *topK) better(a, b topEntry) bool {
	if a.count != b.count {
		return a.count > b.count
	}
	if t.byStr {
		return a.str < b.str
	}
	return a.pos < b.pos
}

func (t *topK) offer(x topEntry) {
	if len(t.e) == t.k && !t.better(x, t.e[t.k-1]) {
		return
	}
	i := len(t.e)
	for i > 0 && t.better(x, t.e[i-1]) {
		i--
	}
	if len(t.e) < t.k {
		t.e = append(t.e, topEntry{})
	}
	copy(t.e[i+1:], t.e[i:])
	t.e[i] = x
}

// fieldColumn returns the statistics of the named field, computing them
// on first use.
func (v View) fieldColumn(ctx context.Context, field string) (*column, error) {
	r, err := v.s.lookup(field)
	if err != nil {
		return nil, err
	}
	return v.column(ctx, r)
}

// column returns the statistics of the field over all customers (at the
// view's instant, for a measure), computing them on first use.
func (v View) column(ctx context.Context, r *fieldRef) (*column, error) {
	s := v.s
	if s.snap == nil {
		return nil, fmt.Errorf("quick: no snapshot")
	}
	n := s.snap.NumCustomers()
	switch r.Origin {
	case Measures:
		key := cacheKey{kind: keyMeasure, name: r.Attribute, at: instantOf(v.asOf)}
		val, err := s.get(ctx, key, func(ctx context.Context) (any, error) {
			vals, err := engine.EvalMeasure(ctx, s.snap, r.measure, v.asOf)
			if err != nil {
				return nil, fmt.Errorf("measure %s: %w", r.Attribute, err)
			}
			rd := valuesReader(vals)
			a, err := readAll(ctx, rd, n)
			if err != nil {
				return nil, err
			}
			c := build(r.Field, a, n, true)
			c.reader = rd
			return c, nil
		})
		if err != nil {
			return nil, err
		}
		return val.(*column), nil
	}
	val, err := s.get(ctx, cacheKey{kind: keyColumn, name: r.Name}, func(ctx context.Context) (any, error) {
		var rowOf []int32
		rows := n
		if r.Origin == Intelligence {
			var err error
			if rowOf, err = s.rowOf(ctx, r); err != nil {
				return nil, err
			}
			rows = r.col.Data.Len()
		}
		cv, err := colview.View(r.col)
		if err != nil {
			return nil, err
		}
		rd, err := viewReader(cv, rowOf)
		if err != nil {
			return nil, err
		}
		a, err := readAll(ctx, rd, n)
		if err != nil {
			return nil, err
		}
		c := build(r.Field, a, rows, true)
		c.reader = rd
		return c, nil
	})
	if err != nil {
		return nil, err
	}
	return val.(*column), nil
}

// rowOf returns, for a prediction entity, the row of every customer or -1,
// checking that no customer has two rows. Rows that link to no customer
// are left out.
func (s *Stats) rowOf(ctx context.Context, r *fieldRef) ([]int32, error) {
	val, err := s.get(ctx, cacheKey{kind: keyEntity, name: r.Entity}, func(ctx context.Context) (any, error) {
		l := s.snap.Links(r.Entity, r.path)
		if l == nil {
			return nil, fmt.Errorf("quick: %s has no links along %s", r.Entity, r.path)
		}
		rowOf := make([]int32, s.snap.NumCustomers())
		for i := range rowOf {
			rowOf[i] = -1
		}
		for row, c := range l.Customer {
			if row%batch == 0 {
				if err := ctxErr(ctx); err != nil {
					return nil, err
				}
			}
			if c == storage.NoCustomer || int(c) >= len(rowOf) || c < 0 {
				continue
			}
			if rowOf[c] >= 0 {
				return nil, fmt.Errorf("%w: %s has rows %d and %d for customer %s",
					ErrNotOneToOne, r.Entity, rowOf[c]+1, row+1, s.snap.CustomerKey(uint32(c)))
			}
			rowOf[c] = int32(row)
		}
		return rowOf, nil
	})
	if err != nil {
		return nil, err
	}
	return val.([]int32), nil
}
