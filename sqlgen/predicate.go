package sqlgen

import (
	"math"
	"math/big"
	"slices"
	"strings"
	"unicode"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// A test is a predicate's operator and value, resolved once for the type
// it compares: integer, date and datetime values as exact integer sets and
// ranges (integers, days, microseconds), numbers as the float64 nearest
// to the value, strings as bytes or case folding patterns. The same test
// writes the SQL and decides the predicate on the value of an empty set
// (a count of 0, a sum of 0, a null), which an aggregate needs.
type test interface {
	// sql writes the predicate over x. nullable reports that it is NULL,
	// not false, when x is null.
	sql(c *compiler, x col) (e expr, nullable bool)
	// holds decides the predicate on a constant: nil, an int64 (integer
	// types) or a float64 (number).
	holds(v any) bool
}

// The values the data of each temporal type can hold: years 0000 to 9999,
// as the data files write them.
var (
	minDay, _ = exact.ParseDate("0000-01-01")
	maxDay, _ = exact.ParseDate("9999-12-31")
)

// bounds returns the smallest and largest value of an integer-like type.
func bounds(t schema.Type) (lo, hi int64) {
	switch t {
	case schema.Date:
		return minDay, maxDay
	case schema.Datetime:
		return minDay * exact.DayMicros, (maxDay+1)*exact.DayMicros - 1
	}
	return math.MinInt64, math.MaxInt64
}

// test resolves an operator and value for values of type t.
func (c *compiler) test(path string, t schema.Type, op segment.Op, v segment.Value, ignoreCase bool) test {
	switch op {
	case segment.IsNull:
		return nullTest{}
	case segment.IsNotNull:
		return nullTest{not: true}
	}
	switch t {
	case schema.Integer, schema.Date, schema.Datetime:
		return c.intTest(path, t, op, v)
	case schema.Number:
		return c.floatTest(op, v)
	case schema.String:
		return stringTest{op: op, v: v, fold: ignoreCase, path: path}
	case schema.Boolean:
		return boolTest{op: op, v: v}
	}
	c.unsupported(path, "values of type %s", t)
	return nullTest{never: true}
}

// nullTest is isNull or isNotNull (or, with never, a predicate that holds
// for nothing).
type nullTest struct{ not, never bool }

func (n nullTest) sql(c *compiler, x col) (expr, bool) {
	switch {
	case n.never:
		return c.constant(false), false
	case n.not:
		return leaf(x.raw + " IS NOT NULL"), false
	}
	return leaf(x.raw + " IS NULL"), false
}

func (n nullTest) holds(v any) bool { return !n.never && (v == nil) != n.not }

// intTest is a predicate over integers, days or microseconds, resolved to
// exact int64 sets and ranges within the type's bounds.
type intTest struct {
	t schema.Type
	// never: false for every value; always: true for every non-null one.
	never, always bool
	// in lists the values the predicate holds for, or, with notIn, the
	// values it does not hold for.
	in    []int64
	notIn bool
	// Otherwise it holds for lo <= x <= hi, each bound only when has.
	lo, hi       int64
	hasLo, hasHi bool
}

// intValue returns a scalar value of an integer-like type exactly: an
// integer's number, a date's day, a datetime's microseconds.
func intValue(t schema.Type, v segment.Value) (*big.Rat, bool) {
	switch t {
	case schema.Integer:
		// Validation rejects what does not parse; a number beyond float64
		// still has its exact value.
		n, _ := exact.ParseNumber(string(v.Num))
		return n.Rat, n.Rat != nil
	case schema.Date:
		d, err := exact.ParseDate(v.Str)
		if err != nil {
			return nil, false
		}
		return new(big.Rat).SetInt64(d), true
	case schema.Datetime:
		tm, err := exact.ParseDatetime(v.Str)
		if err != nil {
			return nil, false
		}
		return exact.Micros(tm), true
	}
	return nil, false
}

func (c *compiler) intTest(path string, t schema.Type, op segment.Op, v segment.Value) test {
	tlo, thi := bounds(t)
	value := func(x segment.Value) (int64, bool) {
		r, ok := intValue(t, x)
		if !ok {
			c.unsupported(path, "value %s", x)
			return 0, false
		}
		lo, hi, ok := exact.IntRange(r, false, r, false)
		if !ok || lo != hi || lo < tlo || lo > thi {
			return 0, false // no value of the type equals it
		}
		return lo, true
	}
	switch op {
	case segment.Equals, segment.NotEquals, segment.In, segment.NotIn:
		list := []segment.Value{v}
		if op == segment.In || op == segment.NotIn {
			list = v.List
		}
		it := intTest{t: t, notIn: op == segment.NotEquals || op == segment.NotIn}
		for _, x := range list {
			if i, ok := value(x); ok && !slices.Contains(it.in, i) {
				it.in = append(it.in, i)
			}
		}
		slices.Sort(it.in)
		if len(it.in) == 0 {
			it.never, it.always = !it.notIn, it.notIn
		}
		return it
	}
	// A range: lo < x (or <=) and x < hi (or <=), nil for no bound.
	var lo, hi *big.Rat
	var loOpen, hiOpen bool
	scalar := func(x segment.Value) *big.Rat {
		r, ok := intValue(t, x)
		if !ok {
			c.unsupported(path, "value %s", x)
			return new(big.Rat)
		}
		return r
	}
	switch op {
	case segment.GreaterThan, segment.GreaterThanOrEqual:
		lo, loOpen = scalar(v), op == segment.GreaterThan
	case segment.LessThan, segment.LessThanOrEqual:
		hi, hiOpen = scalar(v), op == segment.LessThan
	case segment.Between:
		if len(v.List) != 2 {
			c.unsupported(path, "between without two values")
			return intTest{t: t, never: true}
		}
		lo, hi = scalar(v.List[0]), scalar(v.List[1])
	case segment.InLastDays, segment.InNextDays:
		lo, hi = c.relative(path, t, op, v)
		if lo == nil {
			return intTest{t: t, never: true}
		}
	default:
		c.unsupported(path, "operator %s on %s", op, t)
		return intTest{t: t, never: true}
	}
	min, max, ok := exact.IntRange(lo, loOpen, hi, hiOpen)
	if !ok || min > thi || max < tlo {
		return intTest{t: t, never: true}
	}
	it := intTest{t: t, lo: max64(min, tlo), hi: min64(max, thi)}
	it.hasLo, it.hasHi = it.lo > tlo, it.hi < thi
	switch {
	case !it.hasLo && !it.hasHi:
		it.always = true
	case it.lo == it.hi:
		it.in = []int64{it.lo}
	}
	return it
}

// relative returns the inclusive bounds of inLastDays or inNextDays N from
// the as-of instant: days for a date, microseconds for a datetime.
func (c *compiler) relative(path string, t schema.Type, op segment.Op, v segment.Value) (lo, hi *big.Rat) {
	if c.opts.AsOf.IsZero() {
		c.problems.Add(path, ErrOptions, "%s counts from the as-of instant: set Options.AsOf", op)
		return nil, nil
	}
	n, err := exact.ParseNumber(string(v.Num))
	if err != nil || n.Rat == nil || !n.Rat.IsInt() {
		c.unsupported(path, "%s %s", op, v)
		return nil, nil
	}
	var now, span *big.Rat
	if t == schema.Date {
		now, span = new(big.Rat).SetInt64(exact.LocalDay(c.opts.AsOf, c.loc)), n.Rat
	} else {
		now = exact.Micros(c.opts.AsOf)
		span = new(big.Rat).Mul(n.Rat, new(big.Rat).SetInt64(exact.DayMicros))
	}
	if op == segment.InLastDays {
		return new(big.Rat).Sub(now, span), now
	}
	return now, new(big.Rat).Add(now, span)
}

func min64(a, b int64) int64 {
	if a < b {
		return a
	}
	return b
}

func max64(a, b int64) int64 {
	if a > b {
		return a
	}
	return b
}

func (it intTest) lit(c *compiler, v int64) string {
	switch it.t {
	case schema.Date:
		return c.d.Date(v, c.lit)
	case schema.Datetime:
		return c.d.Datetime(v, c.lit)
	}
	return c.lit(v)
}

func (it intTest) sql(c *compiler, x col) (expr, bool) {
	switch {
	case it.never:
		return c.constant(false), false
	case it.always:
		return leaf(x.raw + " IS NOT NULL"), false
	case it.in != nil:
		return c.inList(x.val, it.notIn, len(it.in), func(i int) string { return it.lit(c, it.in[i]) }), true
	case it.hasLo && it.hasHi:
		return leaf(x.val + " BETWEEN " + it.lit(c, it.lo) + " AND " + it.lit(c, it.hi)), true
	case it.hasLo:
		return leaf(x.val + " >= " + it.lit(c, it.lo)), true
	}
	return leaf(x.val + " <= " + it.lit(c, it.hi)), true
}

func (it intTest) holds(v any) bool {
	i, ok := v.(int64)
	switch {
	case !ok || it.never:
		return false
	case it.always:
		return true
	case it.in != nil:
		return slices.Contains(it.in, i) != it.notIn
	}
	return (!it.hasLo || i >= it.lo) && (!it.hasHi || i <= it.hi)
}

// inList writes x = v, x <> v, x IN (...) or x NOT IN (...).
func (c *compiler) inList(x string, not bool, n int, item func(int) string) expr {
	if n == 1 {
		if not {
			return leaf(x + " <> " + item(0))
		}
		return leaf(x + " = " + item(0))
	}
	items := make([]string, n)
	for i := range items {
		items[i] = item(i)
	}
	if not {
		return leaf(x + " NOT IN (" + strings.Join(items, ", ") + ")")
	}
	return leaf(x + " IN (" + strings.Join(items, ", ") + ")")
}

// floatTest is a predicate over numbers, compared with the float64 nearest
// to each value as written.
type floatTest struct {
	op   segment.Op
	vals []float64
}

func (c *compiler) floatTest(op segment.Op, v segment.Value) test {
	nearest := func(x segment.Value) float64 {
		n, _ := exact.ParseNumber(string(x.Num))
		return n.Float
	}
	ft := floatTest{op: op}
	switch op {
	case segment.In, segment.NotIn:
		for _, x := range v.List {
			if f := nearest(x); !slices.Contains(ft.vals, f) {
				ft.vals = append(ft.vals, f)
			}
		}
	case segment.Between:
		for _, x := range v.List {
			ft.vals = append(ft.vals, nearest(x))
		}
	default:
		ft.vals = []float64{nearest(v)}
	}
	return ft
}

var floatOps = map[segment.Op]string{
	segment.GreaterThan: ">", segment.GreaterThanOrEqual: ">=",
	segment.LessThan: "<", segment.LessThanOrEqual: "<=",
}

func (ft floatTest) sql(c *compiler, x col) (expr, bool) {
	lit := func(i int) string { return c.lit(ft.vals[i]) }
	switch ft.op {
	case segment.Equals, segment.In:
		return c.inList(x.val, false, len(ft.vals), lit), true
	case segment.NotEquals, segment.NotIn:
		return c.inList(x.val, true, len(ft.vals), lit), true
	case segment.Between:
		return leaf(x.val + " BETWEEN " + lit(0) + " AND " + lit(1)), true
	}
	if sym, ok := floatOps[ft.op]; ok {
		return leaf(x.val + " " + sym + " " + lit(0)), true
	}
	c.unsupported(c.path, "operator %s on number", ft.op)
	return c.constant(false), false
}

func (ft floatTest) holds(v any) bool {
	f, ok := v.(float64)
	if !ok {
		return false
	}
	switch ft.op {
	case segment.Equals, segment.In:
		return slices.Contains(ft.vals, f)
	case segment.NotEquals, segment.NotIn:
		return !slices.Contains(ft.vals, f)
	case segment.Between:
		return ft.vals[0] <= f && f <= ft.vals[1]
	case segment.GreaterThan:
		return f > ft.vals[0]
	case segment.GreaterThanOrEqual:
		return f >= ft.vals[0]
	case segment.LessThan:
		return f < ft.vals[0]
	case segment.LessThanOrEqual:
		return f <= ft.vals[0]
	}
	return false
}

// stringTest is a predicate over strings: bytes compare, and ignoreCase
// compares characters by their simple case folding orbits.
type stringTest struct {
	op   segment.Op
	v    segment.Value
	fold bool
	path string
}

var stringOps = map[segment.Op]string{
	segment.GreaterThan: ">", segment.GreaterThanOrEqual: ">=",
	segment.LessThan: "<", segment.LessThanOrEqual: "<=",
}

func (st stringTest) sql(c *compiler, x col) (expr, bool) {
	search := func(kind SearchKind, s string) expr {
		out, err := c.d.Search(x.val, kind, pattern(s, st.fold), c.lit)
		if err != nil {
			c.fail(st.path, err)
			return c.constant(false)
		}
		return leaf(out)
	}
	switch st.op {
	case segment.Equals, segment.NotEquals, segment.In, segment.NotIn:
		list := []string{st.v.Str}
		if st.op == segment.In || st.op == segment.NotIn {
			list = nil
			for _, x := range st.v.List {
				list = append(list, x.Str)
			}
		}
		list = distinct(list, st.fold)
		not := st.op == segment.NotEquals || st.op == segment.NotIn
		if !st.fold {
			return c.inList(x.val, not, len(list), func(i int) string { return c.lit(list[i]) }), true
		}
		xs := make([]expr, len(list))
		for i, s := range list {
			xs[i] = search(SearchEqual, s)
		}
		if not {
			for i := range xs {
				xs[i] = c.not(xs[i])
			}
			return c.and(xs...), true
		}
		return c.or(xs...), true
	case segment.Contains:
		return search(SearchContains, st.v.Str), true
	case segment.NotContains:
		return c.not(search(SearchContains, st.v.Str)), true
	case segment.StartsWith:
		return search(SearchPrefix, st.v.Str), true
	case segment.EndsWith:
		return search(SearchSuffix, st.v.Str), true
	}
	if sym, ok := stringOps[st.op]; ok {
		return leaf(x.val + " " + sym + " " + c.lit(st.v.Str)), true
	}
	c.unsupported(st.path, "operator %s on string", st.op)
	return c.constant(false), false
}

func (st stringTest) holds(any) bool { return false }

// distinct drops the strings of list equal (or, with fold, equal under
// case folding) to an earlier one.
func distinct(list []string, fold bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, s := range list {
		k := s
		if fold {
			// A folded string's character is its orbit's smallest rune.
			var b strings.Builder
			for _, set := range pattern(s, true) {
				b.WriteRune(set[0])
			}
			k = b.String()
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, s)
		}
	}
	return out
}

// pattern returns s as a search pattern: one rune per position, or, with
// fold, each rune's simple case folding orbit (the runes unicode.SimpleFold
// cycles through), sorted.
func pattern(s string, fold bool) Pattern {
	var p Pattern
	for _, r := range s {
		set := []rune{r}
		if fold {
			for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
				set = append(set, f)
			}
			slices.Sort(set)
		}
		p = append(p, set)
	}
	return p
}

// boolTest is a predicate over booleans.
type boolTest struct {
	op segment.Op
	v  segment.Value
}

func (bt boolTest) sql(c *compiler, x col) (expr, bool) {
	var want bool
	switch bt.op {
	case segment.IsTrue:
		want = true
	case segment.IsFalse:
		want = false
	case segment.Equals:
		want = bt.v.Bool
	case segment.NotEquals:
		want = !bt.v.Bool
	default:
		c.unsupported(c.path, "operator %s on boolean", bt.op)
		return c.constant(false), false
	}
	return leaf(x.val + " = " + c.mustLiteral(want)), true
}

func (bt boolTest) holds(any) bool { return false }
