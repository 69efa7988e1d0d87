package engine

import (
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

type kernelKind uint8

const (
	kNull kernelKind = iota
	kNotNull
	kInts   // integer, date, datetime: value in one of ir
	kFloats // number: value in one of fr
	kStrings
	kBool
	kNone // no value matches (still false on null)
)

// irange is an inclusive range of int64 values.
type irange struct{ lo, hi int64 }

// frange is a range of float64 values with open or closed ends.
type frange struct {
	lo, hi         float64
	loOpen, hiOpen bool
}

func (r frange) has(x float64) bool {
	return (x > r.lo || !r.loOpen && x == r.lo) && (x < r.hi || !r.hiOpen && x == r.hi)
}

// kernel is a predicate bound to its operand and as-of instant, ready to run
// over a column. All dispatch on type and operator happens when it is built;
// the loops in eval are per kind only.
type kernel struct {
	kind kernelKind
	// negate selects the non-null values that do NOT match (notEquals,
	// notIn, notContains).
	negate bool
	ir     []irange
	fr     []frange
	match  func(string) bool
	want   bool
	// needle, when not empty, is a contains (or notContains) operand:
	// plain string columns then search their whole value buffer at once
	// instead of row by row. With fold set the needle is folded and ASCII,
	// and the buffer is searched under ASCII case folding.
	needle string
	fold   *foldNeedle
	// affix, when not nil, tests startsWith or endsWith on plain string
	// columns in place.
	affix *affix
	// hit holds the results per dictionary entry of the column being
	// evaluated; see prepare.
	hit bitset
}

// predicate is a compiled attribute predicate: its kernel depends on the
// as-of instant only for inLastDays and inNextDays.
type predicate struct {
	typ        schema.Type
	op         segment.Op
	value      segment.Value
	ignoreCase bool
	fixed      *kernel // nil when the kernel depends on the as-of instant
}

func newPredicate(typ schema.Type, op segment.Op, value segment.Value, ignoreCase bool) (*predicate, error) {
	p := &predicate{typ: typ, op: op, value: value, ignoreCase: ignoreCase}
	k, err := p.kernel(time.Unix(0, 0).UTC())
	if err != nil {
		return nil, err
	}
	if op != segment.InLastDays && op != segment.InNextDays {
		p.fixed = k
	}
	return p, nil
}

func (p *predicate) bind(asOf time.Time) *kernel {
	if p.fixed != nil {
		return p.fixed
	}
	k, err := p.kernel(asOf)
	if err != nil {
		panic("BUG: predicate failed to bind after it compiled: " + err.Error())
	}
	return k
}

func (p *predicate) kernel(asOf time.Time) (*kernel, error) {
	switch p.op {
	case segment.IsNull:
		return &kernel{kind: kNull}, nil
	case segment.IsNotNull:
		return &kernel{kind: kNotNull}, nil
	}
	switch p.typ {
	case schema.Integer, schema.Date, schema.Datetime:
		return p.intKernel(asOf)
	case schema.Number:
		return p.floatKernel()
	case schema.String:
		return p.stringKernel()
	case schema.Boolean:
		return p.boolKernel()
	}
	return nil, fmt.Errorf("%w: %s on type %s", segment.ErrOperatorType, p.op, p.typ)
}

func (p *predicate) errType() error {
	return fmt.Errorf("%w: %s does not apply to %s", segment.ErrOperatorType, p.op, p.typ)
}

// operand converts one scalar of the definition for a column of p.typ.
func (p *predicate) operand(v segment.Value) (operand, error) {
	switch p.typ {
	case schema.Integer, schema.Number:
		if v.Kind != segment.NumberValue {
			return operand{}, fmt.Errorf("%w: %s needs a number", segment.ErrValue, p.typ)
		}
		return numberOperand(v.Num)
	case schema.Date:
		if v.Kind != segment.StringValue {
			return operand{}, fmt.Errorf("%w: date needs a YYYY-MM-DD string", segment.ErrValue)
		}
		return dateOperand(v.Str)
	case schema.Datetime:
		if v.Kind != segment.StringValue {
			return operand{}, fmt.Errorf("%w: datetime needs an RFC 3339 string", segment.ErrValue)
		}
		return datetimeOperand(v.Str)
	}
	return operand{}, p.errType()
}

func (p *predicate) operands(want int) ([]operand, error) {
	if p.value.Kind != segment.ListValue || len(p.value.List) == 0 || want > 0 && len(p.value.List) != want {
		return nil, fmt.Errorf("%w: %s needs a list of values", segment.ErrValue, p.op)
	}
	ops := make([]operand, len(p.value.List))
	for i, v := range p.value.List {
		o, err := p.operand(v)
		if err != nil {
			return nil, err
		}
		ops[i] = o
	}
	return ops, nil
}

func (p *predicate) days() (int64, error) {
	if p.value.Kind != segment.NumberValue {
		return 0, fmt.Errorf("%w: %s needs a positive integer", segment.ErrValue, p.op)
	}
	o, err := numberOperand(p.value.Num)
	if err != nil || !o.r.IsInt() || o.r.Sign() <= 0 {
		return 0, fmt.Errorf("%w: %s needs a positive integer, not %s", segment.ErrValue, p.op, p.value.Num)
	}
	const most = math.MaxInt64 / exact.DayMicros // beyond every representable instant
	if n := o.r.Num(); n.IsInt64() && n.Int64() <= most {
		return n.Int64(), nil
	}
	return most, nil
}

func (p *predicate) intKernel(asOf time.Time) (*kernel, error) {
	k := &kernel{kind: kInts}
	add := func(lo *big.Rat, loOpen bool, hi *big.Rat, hiOpen bool) {
		if min, max, ok := exact.IntRange(lo, loOpen, hi, hiOpen); ok {
			k.ir = append(k.ir, irange{min, max})
		}
	}
	switch p.op {
	case segment.Equals, segment.NotEquals, segment.GreaterThan, segment.GreaterThanOrEqual,
		segment.LessThan, segment.LessThanOrEqual:
		o, err := p.operand(p.value)
		if err != nil {
			return nil, err
		}
		switch p.op {
		case segment.Equals, segment.NotEquals:
			add(o.r, false, o.r, false)
			k.negate = p.op == segment.NotEquals
		case segment.GreaterThan:
			add(o.r, true, nil, false)
		case segment.GreaterThanOrEqual:
			add(o.r, false, nil, false)
		case segment.LessThan:
			add(nil, false, o.r, true)
		case segment.LessThanOrEqual:
			add(nil, false, o.r, false)
		}
	case segment.In, segment.NotIn:
		ops, err := p.operands(0)
		if err != nil {
			return nil, err
		}
		for _, o := range ops {
			add(o.r, false, o.r, false)
		}
		k.negate = p.op == segment.NotIn
	case segment.Between:
		ops, err := p.operands(2)
		if err != nil {
			return nil, err
		}
		add(ops[0].r, false, ops[1].r, false)
	case segment.InLastDays, segment.InNextDays:
		n, err := p.days()
		if err != nil {
			return nil, err
		}
		var lo, hi *big.Rat
		switch p.typ {
		case schema.Date:
			d := exact.Day(asOf)
			lo, hi = big.NewRat(d, 1), big.NewRat(d, 1)
			if p.op == segment.InLastDays {
				lo = addRat(lo, -n)
			} else {
				hi = addRat(hi, n)
			}
		case schema.Datetime:
			t := exact.Micros(asOf)
			lo, hi = t, t
			if p.op == segment.InLastDays {
				lo = addRat(t, -n*exact.DayMicros)
			} else {
				hi = addRat(t, n*exact.DayMicros)
			}
		default:
			return nil, p.errType()
		}
		add(lo, false, hi, false)
	default:
		return nil, p.errType()
	}
	if len(k.ir) == 0 && !k.negate {
		k.kind = kNone
	}
	k.ir = mergeRanges(k.ir)
	return k, nil
}

func mergeRanges(rs []irange) []irange {
	slices.SortFunc(rs, func(a, b irange) int {
		switch {
		case a.lo < b.lo:
			return -1
		case a.lo > b.lo:
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && (r.lo <= out[n-1].hi || out[n-1].hi != math.MaxInt64 && r.lo == out[n-1].hi+1) {
			out[n-1].hi = max(out[n-1].hi, r.hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

func (p *predicate) floatKernel() (*kernel, error) {
	k := &kernel{kind: kFloats}
	inf := math.Inf(1)
	eq := func(o operand) {
		if o.fExact {
			k.fr = append(k.fr, frange{lo: o.f, hi: o.f})
		}
	}
	// lower returns the range x > o (strict) or x >= o: with an operand that
	// no float64 equals, both are decided by the nearest float f.
	lower := func(o operand, strict bool) frange {
		if o.fExact {
			return frange{lo: o.f, hi: inf, loOpen: strict}
		}
		return frange{lo: o.f, hi: inf, loOpen: !o.fAbove}
	}
	upper := func(o operand, strict bool) frange {
		if o.fExact {
			return frange{lo: -inf, hi: o.f, hiOpen: strict}
		}
		return frange{lo: -inf, hi: o.f, hiOpen: o.fAbove}
	}
	switch p.op {
	case segment.Equals, segment.NotEquals, segment.GreaterThan, segment.GreaterThanOrEqual,
		segment.LessThan, segment.LessThanOrEqual:
		o, err := p.operand(p.value)
		if err != nil {
			return nil, err
		}
		switch p.op {
		case segment.Equals, segment.NotEquals:
			eq(o)
			k.negate = p.op == segment.NotEquals
		case segment.GreaterThan, segment.GreaterThanOrEqual:
			k.fr = append(k.fr, lower(o, p.op == segment.GreaterThan))
		case segment.LessThan, segment.LessThanOrEqual:
			k.fr = append(k.fr, upper(o, p.op == segment.LessThan))
		}
	case segment.In, segment.NotIn:
		ops, err := p.operands(0)
		if err != nil {
			return nil, err
		}
		for _, o := range ops {
			eq(o)
		}
		k.negate = p.op == segment.NotIn
	case segment.Between:
		ops, err := p.operands(2)
		if err != nil {
			return nil, err
		}
		lo, hi := lower(ops[0], false), upper(ops[1], false)
		k.fr = append(k.fr, frange{lo: lo.lo, loOpen: lo.loOpen, hi: hi.hi, hiOpen: hi.hiOpen})
	default:
		return nil, p.errType()
	}
	if len(k.fr) == 0 && !k.negate {
		k.kind = kNone
	}
	return k, nil
}

func (p *predicate) stringKernel() (*kernel, error) {
	k := &kernel{kind: kStrings}
	norm := func(s string) string { return s }
	if p.ignoreCase {
		norm = foldString
	}
	str := func(v segment.Value) (string, error) {
		if v.Kind != segment.StringValue {
			return "", fmt.Errorf("%w: %s on a string needs a string value", segment.ErrValue, p.op)
		}
		return norm(v.Str), nil
	}
	switch p.op {
	case segment.In, segment.NotIn:
		if p.value.Kind != segment.ListValue || len(p.value.List) == 0 {
			return nil, fmt.Errorf("%w: %s needs a non-empty list", segment.ErrValue, p.op)
		}
		set := make(map[string]struct{}, len(p.value.List))
		var list []string
		for _, v := range p.value.List {
			s, err := str(v)
			if err != nil {
				return nil, err
			}
			if _, dup := set[s]; !dup {
				list = append(list, s)
			}
			set[s] = struct{}{}
		}
		k.match = func(x string) bool { _, ok := set[x]; return ok }
		if p.ignoreCase {
			k.match = func(x string) bool { _, ok := set[foldString(x)]; return ok }
			if len(list) <= 16 {
				// A short list is compared entry by entry, folding as it
				// goes: no folded copy of each value.
				k.match = func(x string) bool {
					for _, s := range list {
						if equalFold(x, s) {
							return true
						}
					}
					return false
				}
			}
		}
		k.negate = p.op == segment.NotIn
		return k, nil
	}
	s, err := str(p.value)
	if err != nil {
		return nil, err
	}
	switch p.op {
	case segment.Equals, segment.NotEquals:
		k.match = func(x string) bool { return x == s }
		if p.ignoreCase {
			k.match = func(x string) bool { return equalFold(x, s) }
		}
		k.negate = p.op == segment.NotEquals
	case segment.GreaterThan:
		k.match = func(x string) bool { return x > s }
	case segment.GreaterThanOrEqual:
		k.match = func(x string) bool { return x >= s }
	case segment.LessThan:
		k.match = func(x string) bool { return x < s }
	case segment.LessThanOrEqual:
		k.match = func(x string) bool { return x <= s }
	case segment.Contains, segment.NotContains:
		k.match = func(x string) bool { return strings.Contains(x, s) }
		if p.ignoreCase {
			k.match = func(x string) bool { return containsFold(x, s) }
		}
		k.negate = p.op == segment.NotContains
		switch {
		case !p.ignoreCase:
			k.needle = s
		case s != "" && isASCII(s):
			k.needle, k.fold = s, newFoldNeedle(s)
		}
	case segment.StartsWith:
		k.match = func(x string) bool { return strings.HasPrefix(x, s) }
		if p.ignoreCase {
			k.match = func(x string) bool { return hasPrefixFold(x, s) }
		}
		k.affix = p.affix(s, false)
	case segment.EndsWith:
		k.match = func(x string) bool { return strings.HasSuffix(x, s) }
		if p.ignoreCase {
			k.match = func(x string) bool { return hasSuffixFold(x, s) }
		}
		k.affix = p.affix(s, true)
	default:
		return nil, p.errType()
	}
	return k, nil
}

// affix returns the in-place test of startsWith (endsWith with end) for the
// operand s, already folded with ignoreCase, or nil when values must be
// folded one by one: a folded operand with non-ASCII characters, or with a
// letter that a non-ASCII character folds to.
func (p *predicate) affix(s string, end bool) *affix {
	if !p.ignoreCase {
		return newAffix(s, end, false)
	}
	if !isASCII(s) || foldsWide(s) {
		return nil
	}
	return newAffix(s, end, true)
}

func (p *predicate) boolKernel() (*kernel, error) {
	k := &kernel{kind: kBool}
	switch p.op {
	case segment.IsTrue:
		k.want = true
	case segment.IsFalse:
		k.want = false
	case segment.Equals, segment.NotEquals:
		if p.value.Kind != segment.BoolValue {
			return nil, fmt.Errorf("%w: %s on a boolean needs true or false", segment.ErrValue, p.op)
		}
		k.want = p.value.Bool
		if p.op == segment.NotEquals {
			k.want = !k.want
		}
	default:
		return nil, p.errType()
	}
	return k, nil
}

// foldRune maps r to one fixed member of its simple case folding orbit (the
// smallest), so that two strings are equal under simple Unicode case folding
// exactly when their folded forms are equal.
func foldRune(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

func foldString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c >= 'a' && c <= 'z' {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	return strings.Map(foldRune, s)
}

// The folded comparisons below take s folded already (foldString) and fold
// x rune by rune as they go, as foldString would, without a folded copy of
// x: invalid UTF-8 in x decodes, and folds, to U+FFFD a byte at a time,
// as in foldString.

// foldAt returns the first rune of x folded, and its width.
func foldAt(x string) (rune, int) {
	if c := x[0]; c < utf8.RuneSelf {
		return rune(upperByte(c)), 1 // an ASCII letter folds to its upper case
	}
	r, n := utf8.DecodeRuneInString(x)
	return foldRune(r), n
}

// equalFold reports whether foldString(x) == s.
func equalFold(x, s string) bool {
	x, ok := trimPrefixFold(x, s)
	return ok && x == ""
}

// hasPrefixFold reports whether foldString(x) starts with s.
func hasPrefixFold(x, s string) bool {
	_, ok := trimPrefixFold(x, s)
	return ok
}

// trimPrefixFold returns x without the prefix that folds to s, and whether
// there is one.
func trimPrefixFold(x, s string) (string, bool) {
	for s != "" {
		if x == "" {
			return x, false
		}
		rx, nx := foldAt(x)
		rs, ns := utf8.DecodeRuneInString(s)
		if rx != rs {
			return x, false
		}
		x, s = x[nx:], s[ns:]
	}
	return x, true
}

// hasSuffixFold reports whether foldString(x) ends with s.
func hasSuffixFold(x, s string) bool {
	for s != "" {
		if x == "" {
			return false
		}
		rx, nx := utf8.DecodeLastRuneInString(x)
		rs, ns := utf8.DecodeLastRuneInString(s)
		if foldRune(rx) != rs {
			return false
		}
		x, s = x[:len(x)-nx], s[:len(s)-ns]
	}
	return true
}

// containsFold reports whether foldString(x) contains s.
func containsFold(x, s string) bool {
	for {
		if hasPrefixFold(x, s) {
			return true
		}
		if x == "" {
			return false
		}
		_, n := utf8.DecodeRuneInString(x)
		x = x[n:]
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
