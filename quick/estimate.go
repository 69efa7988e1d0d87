package quick

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strconv"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// Size is a quick segment's estimated size. It is exact: the engine
// evaluates the built definition, at the same as-of instant, to MemberCount
// customers.
type Size struct {
	// MemberCount is how many customers the segment holds.
	MemberCount int
	// Customers is how many customers were considered: all of them, or
	// the members of the set given to EstimateIn.
	Customers int
	// Share is MemberCount / Customers, 0 when there are no customers.
	Share float64
}

func newSize(members, customers int) Size {
	s := Size{MemberCount: members, Customers: customers}
	if customers > 0 {
		s.Share = float64(members) / float64(customers)
	}
	return s
}

// point is an ordered value as the engine compares it: r exactly with
// integers, dates (days) and datetimes (microseconds); f, the float64
// nearest to a number's text, with number columns, as a JSON decoder
// reads it.
type point struct {
	r   *big.Rat
	f   float64
	key exact.Key // for the order of between bounds
}

// interval is the set of values between two bounds; a nil bound is
// unbounded.
type interval struct {
	lo, hi         *point
	loOpen, hiOpen bool
}

// cond is a checked operator and value: an interval of ordered values, or
// one string or boolean.
type cond struct {
	iv    interval
	isStr bool
	str   string
	isB   bool
	b     bool
}

// check checks that op applies to the field's scale and that value has the
// form op needs and the field's type, and returns the condition.
func (v View) check(ctx context.Context, r *fieldRef, op Op, value segment.Value) (cond, error) {
	if int(op) >= len(opNames) {
		return cond{}, fmt.Errorf("%w: unknown operator %s", ErrOperator, op)
	}
	scale, err := v.scale(ctx, r)
	if err != nil {
		return cond{}, err
	}
	ops := scale.Ops()
	if !slices.Contains(ops, op) {
		names := make([]string, len(ops))
		for i, o := range ops {
			names[i] = o.String()
		}
		return cond{}, fmt.Errorf("%w: %s does not apply to %s, a %s field; use %s",
			ErrOperator, op, r.Name, scale, strings.Join(names, ", "))
	}
	if op != Between && value.Kind == segment.ListValue {
		return cond{}, fmt.Errorf("%w: %s takes a single value, not a list", ErrValue, op)
	}
	switch op {
	case Is:
		switch r.Type {
		case schema.String:
			if value.Kind != segment.StringValue {
				return cond{}, r.wrongValue("value", value)
			}
			return cond{isStr: true, str: value.Str}, nil
		case schema.Boolean:
			if value.Kind != segment.BoolValue {
				return cond{}, r.wrongValue("value", value)
			}
			return cond{isB: true, b: value.Bool}, nil
		}
		x, err := r.bound("value", value)
		if err != nil {
			return cond{}, err
		}
		return cond{iv: interval{lo: x, hi: x}}, nil
	case Between:
		if value.Kind != segment.ListValue || len(value.List) != 2 {
			return cond{}, fmt.Errorf("%w: between needs a list of two values [low, high], not %s", ErrValue, describe(value))
		}
		lo, err := r.bound("value[0]", value.List[0])
		if err != nil {
			return cond{}, err
		}
		hi, err := r.bound("value[1]", value.List[1])
		if err != nil {
			return cond{}, err
		}
		if lo.key.Above(hi.key) {
			return cond{}, fmt.Errorf("%w: %w", ErrValue, exact.BetweenOrderError(value.List[0].String(), value.List[1].String()))
		}
		return cond{iv: interval{lo: lo, hi: hi}}, nil
	case GreaterThan:
		x, err := r.bound("value", value)
		if err != nil {
			return cond{}, err
		}
		return cond{iv: interval{lo: x, loOpen: true}}, nil
	default: // LessThan
		x, err := r.bound("value", value)
		if err != nil {
			return cond{}, err
		}
		return cond{iv: interval{hi: x, hiOpen: true}}, nil
	}
}

// bound converts a value of an ordered field to its place in the field's
// order, as the engine reads it (exact.ParseNumber, exact.ParseDate,
// exact.ParseDatetime): a number is exactly the decimal its JSON text
// writes (for integer columns) and the float64 nearest to it (for number
// columns); a date is its day number; a datetime (RFC 3339, or a date
// meaning its start in UTC) is its exact microsecond.
func (r *fieldRef) bound(path string, v segment.Value) (*point, error) {
	switch r.Type {
	case schema.Integer, schema.Number:
		if v.Kind != segment.NumberValue {
			return nil, r.wrongValue(path, v)
		}
		x, err := exact.ParseNumber(string(v.Num))
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrValue, path, err)
		}
		return &point{r: x.Rat, f: x.Float, key: x.Key()}, nil
	case schema.Date:
		if v.Kind != segment.StringValue {
			return nil, r.wrongValue(path, v)
		}
		d, err := exact.ParseDate(v.Str)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrValue, path, err)
		}
		return &point{r: new(big.Rat).SetInt64(d), key: exact.DayKey(d)}, nil
	case schema.Datetime:
		if v.Kind != segment.StringValue {
			return nil, r.wrongValue(path, v)
		}
		t, err := exact.ParseDatetime(v.Str)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrValue, path, err)
		}
		return &point{r: exact.Micros(t), key: exact.TimeKey(t)}, nil
	}
	return nil, fmt.Errorf("%w: %s is %s, which has no order", ErrOperator, r.Name, r.Type)
}

// wrongValue is the error for a value not of the field's type.
func (r *fieldRef) wrongValue(path string, v segment.Value) error {
	want := map[schema.Type]string{
		schema.Integer:  "a number",
		schema.Number:   "a number",
		schema.String:   "a string",
		schema.Boolean:  "true or false",
		schema.Date:     "a YYYY-MM-DD date string",
		schema.Datetime: "an RFC 3339 datetime string",
	}[r.Type]
	return fmt.Errorf("%w: %s: %s is %s, so the value must be %s, not %s", ErrValue, path, r.Name, r.Type, want, describe(v))
}

// describe names a value's kind, with the value for scalars.
func describe(v segment.Value) string {
	switch v.Kind {
	case segment.NoValue:
		return "no value"
	case segment.NullValue:
		return "null"
	case segment.BoolValue:
		return "boolean " + strconv.FormatBool(v.Bool)
	case segment.NumberValue:
		return "number " + string(v.Num)
	case segment.StringValue:
		return "string " + strconv.Quote(v.Str)
	case segment.ListValue:
		return fmt.Sprintf("a list of %d values", len(v.List))
	}
	return "an object"
}

// matcher is a condition ready to count values in either storage of
// ordered values, or strings, or booleans.
type matcher struct {
	c cond
	// Integer range, inclusive; empty when !iok.
	ilo, ihi int64
	iok      bool
	// Float range: x > flo (or >= when !loStrict) and x < fhi (or <=).
	flo, fhi           float64
	loStrict, hiStrict bool
}

func newMatcher(c cond) matcher {
	m := matcher{c: c}
	if c.isStr || c.isB {
		return m
	}
	m.ilo, m.ihi, m.iok = intRange(c.iv)
	m.flo, m.loStrict = math.Inf(-1), false
	m.fhi, m.hiStrict = math.Inf(1), false
	if c.iv.lo != nil {
		m.flo, m.loStrict = c.iv.lo.f, c.iv.loOpen
	}
	if c.iv.hi != nil {
		m.fhi, m.hiStrict = c.iv.hi.f, c.iv.hiOpen
	}
	return m
}

func (m *matcher) holdsFloat(x float64) bool {
	if m.loStrict && !(x > m.flo) || !m.loStrict && !(x >= m.flo) {
		return false
	}
	return m.hiStrict && x < m.fhi || !m.hiStrict && x <= m.fhi
}

// countSorted counts the column's customers that satisfy the condition,
// by binary search over the sorted values or a lookup in the value counts.
func (m *matcher) countSorted(c *column) int {
	switch {
	case m.c.isStr:
		return c.strs[m.c.str]
	case m.c.isB:
		if m.c.b {
			return c.bools[1]
		}
		return c.bools[0]
	}
	if xs := c.floats; len(xs) > 0 {
		// The first value inside the range, then the first one above it.
		i := searchFloats(xs, func(x float64) bool { return x > m.flo || !m.loStrict && x == m.flo })
		j := searchFloats(xs, func(x float64) bool { return x > m.fhi || m.hiStrict && x == m.fhi })
		return max(0, j-i)
	}
	if !m.iok || len(c.ints) == 0 {
		return 0
	}
	i, _ := slices.BinarySearch(c.ints, m.ilo)
	j := len(c.ints)
	if m.ihi < math.MaxInt64 {
		j, _ = slices.BinarySearch(c.ints, m.ihi+1)
	}
	return max(0, j-i)
}

// searchFloats returns the first index where pred holds; pred is false
// then true along the sorted slice.
func searchFloats(xs []float64, pred func(float64) bool) int {
	lo, hi := 0, len(xs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if pred(xs[mid]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}

// countAcc counts the values in a that satisfy the condition, one by one.
func (m *matcher) countAcc(a *acc) int {
	switch {
	case m.c.isStr:
		return a.strs[m.c.str]
	case m.c.isB:
		if m.c.b {
			return a.bools[1]
		}
		return a.bools[0]
	}
	n := 0
	for _, x := range a.floats {
		if m.holdsFloat(x) {
			n++
		}
	}
	if m.iok {
		for _, x := range a.ints {
			if x >= m.ilo && x <= m.ihi {
				n++
			}
		}
	}
	return n
}

// Estimate returns the exact size of the quick segment "field op value"
// over all customers: Is for categorical fields (value: a string, a
// boolean or an integer), Between (value: a list [low, high], both
// inclusive, low <= high), GreaterThan and LessThan for numerical ones
// (value: a number, a YYYY-MM-DD date or an RFC 3339 datetime, as the
// field's type). Customers with no value are never members. Once the
// field's statistics exist it does no scan. Errors wrap ErrUnknownField,
// ErrOperator, ErrValue or, for a prediction entity with two rows for one
// customer, ErrNotOneToOne.
func (v View) Estimate(ctx context.Context, field string, op Op, value segment.Value) (Size, error) {
	r, err := v.s.lookup(field)
	if err != nil {
		return Size{}, err
	}
	cd, err := v.check(ctx, r, op, value)
	if err != nil {
		return Size{}, err
	}
	c, err := v.column(ctx, r)
	if err != nil {
		return Size{}, err
	}
	m := newMatcher(cd)
	return newSize(m.countSorted(c), c.customers), nil
}

// EstimateIn is Estimate over the customers in members (ids the snapshot
// does not have are ignored): how many of them the quick segment holds.
// It reads the members' values; members is not modified.
func (v View) EstimateIn(ctx context.Context, field string, op Op, value segment.Value, members *roaring.Bitmap) (Size, error) {
	r, err := v.s.lookup(field)
	if err != nil {
		return Size{}, err
	}
	cd, err := v.check(ctx, r, op, value)
	if err != nil {
		return Size{}, err
	}
	c, err := v.column(ctx, r)
	if err != nil {
		return Size{}, err
	}
	a, err := readMembers(ctx, c.reader, v.s.snap.NumCustomers(), members)
	if err != nil {
		return Size{}, err
	}
	m := newMatcher(cd)
	return newSize(m.countAcc(a), a.customers), nil
}

// Build returns the definition of the quick segment "field op value",
// named name (1 to 128 letters, digits, '_' and '-') with an optional
// display name, checked as Estimate checks it. Its single group is a
// predicate on the field: {"attribute": "Customer.Age", ...} for Profiles,
// {"attribute": "Measures.Spend90d", ...} for Measures, and for
// Intelligence the shorthand predicate on the prediction entity (a related
// condition with its path when the entity has several). Is becomes
// equals. The engine evaluates it, at the view's as-of instant, to exactly
// the Estimate's members. The definition and its value are the caller's.
// Errors are Estimate's, and those of segment.ValidateName for the name.
func (v View) Build(ctx context.Context, name, displayName, field string, op Op, value segment.Value) (*segment.Definition, error) {
	if err := segment.ValidateName(name); err != nil {
		return nil, err
	}
	r, err := v.s.lookup(field)
	if err != nil {
		return nil, err
	}
	if _, err := v.check(ctx, r, op, value); err != nil {
		return nil, err
	}
	if r.Origin == Intelligence {
		// The estimate counts one row per customer; make sure there is one.
		if _, err := v.s.rowOf(ctx, r); err != nil {
			return nil, err
		}
	}
	pred := &segment.Predicate{Attribute: r.Name, Op: op.segmentOp(), Value: cloneValue(value)}
	var c segment.Condition = pred
	if r.Origin == Intelligence && !r.single {
		c = &segment.Related{Entity: r.Entity, Path: slices.Clone(r.path), Where: pred}
	}
	def := &segment.Definition{Name: name, DisplayName: displayName, Groups: []segment.Group{{Condition: c}}}
	vo := segment.ValidateOptions{Measures: engine.Measures(v.s.snap)}
	if err := def.ValidateWith(v.s.snap.Schema(), vo); err != nil {
		return nil, fmt.Errorf("quick: the definition built for %s does not validate: %w", r.Name, err)
	}
	return def, nil
}

func cloneValue(v segment.Value) segment.Value {
	if v.List != nil {
		list := make([]segment.Value, len(v.List))
		for i, x := range v.List {
			list[i] = cloneValue(x)
		}
		v.List = list
	}
	return v
}

// ParseValue reads a value for a field from text, as a command line gives
// it: for Between, "low,high"; otherwise one value, typed as the field: a
// number for integers and numbers (JSON syntax), YYYY-MM-DD for dates, RFC
// 3339 (or YYYY-MM-DD) for datetimes, true or false for booleans, and any
// text for strings. Errors wrap ErrValue.
func ParseValue(f Field, op Op, text string) (segment.Value, error) {
	if op == Between {
		lo, hi, ok := strings.Cut(text, ",")
		if !ok || strings.Contains(hi, ",") {
			return segment.Value{}, fmt.Errorf("%w: between needs two values written low,high, not %q", ErrValue, text)
		}
		l, err := parseScalar(f, strings.TrimSpace(lo))
		if err != nil {
			return segment.Value{}, err
		}
		h, err := parseScalar(f, strings.TrimSpace(hi))
		if err != nil {
			return segment.Value{}, err
		}
		return segment.List(l, h), nil
	}
	return parseScalar(f, text)
}

func parseScalar(f Field, s string) (segment.Value, error) {
	switch f.Type {
	case schema.Integer, schema.Number:
		t := strings.TrimSpace(s)
		if _, err := exact.ParseNumber(t); err != nil {
			return segment.Value{}, fmt.Errorf("%w: %s is %s: %w", ErrValue, f.Name, f.Type, err)
		}
		return segment.Value{Kind: segment.NumberValue, Num: json.Number(t)}, nil
	case schema.Date:
		t := strings.TrimSpace(s)
		if _, err := exact.ParseDate(t); err != nil {
			return segment.Value{}, fmt.Errorf("%w: %s is a date: %w", ErrValue, f.Name, err)
		}
		return segment.Str(t), nil
	case schema.Datetime:
		t := strings.TrimSpace(s)
		if _, err := exact.ParseDatetime(t); err != nil {
			return segment.Value{}, fmt.Errorf("%w: %s is a datetime: %w", ErrValue, f.Name, err)
		}
		return segment.Str(t), nil
	case schema.Boolean:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true":
			return segment.Bool(true), nil
		case "false":
			return segment.Bool(false), nil
		}
		return segment.Value{}, fmt.Errorf("%w: %s is a boolean: %q is not true or false", ErrValue, f.Name, s)
	case schema.String:
		return segment.Str(s), nil
	}
	return segment.Value{}, fmt.Errorf("%w: %s has type %s", ErrValue, f.Name, f.Type)
}

// intRange returns the integers in iv, clamped to int64.
func intRange(iv interval) (lo, hi int64, ok bool) {
	var l, h *big.Rat
	if iv.lo != nil {
		l = iv.lo.r
	}
	if iv.hi != nil {
		h = iv.hi.r
	}
	return exact.IntRange(l, iv.loOpen, h, iv.hiOpen)
}
