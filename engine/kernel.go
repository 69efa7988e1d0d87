package engine

import (
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// predicate is a compiled attribute predicate: its kernel depends on the
// as-of instant only for the relative operators (inLastDays, inNextDays,
// the anniversaries) and windows.
type predicate struct {
	typ        schema.Type
	op         segment.Op
	value      segment.Value
	ignoreCase bool
	loc        *time.Location // the definition's time zone
	win        *window        // instead of op and value: a window of days before the as-of instant
	fixed      *column.Kernel // nil when the kernel depends on the as-of instant
}

// window is a span of a date or datetime relative to the as-of instant:
// from far days before it to near days before it (negative: after it),
// without the near end itself when nearOpen. inLastDays, inNextDays and
// the windows of stopped and started are windows.
type window struct {
	far, near int64
	nearOpen  bool
}

func newPredicate(typ schema.Type, op segment.Op, value segment.Value, ignoreCase bool) (*predicate, error) {
	return newPredicateIn(typ, op, value, ignoreCase, time.UTC)
}

// newPredicateIn is newPredicate for a definition whose relative days
// and calendar count in the time zone loc.
func newPredicateIn(typ schema.Type, op segment.Op, value segment.Value, ignoreCase bool, loc *time.Location) (*predicate, error) {
	p := &predicate{typ: typ, op: op, value: value, ignoreCase: ignoreCase, loc: loc}
	k, err := p.kernel(time.Unix(0, 0).UTC())
	if err != nil {
		return nil, err
	}
	if !op.Relative() {
		p.fixed = k
	}
	return p, nil
}

// newWindow returns the predicate of a window over a date or datetime.
func newWindow(typ schema.Type, w window, loc *time.Location) *predicate {
	return &predicate{typ: typ, win: &w, loc: loc}
}

func (p *predicate) bind(asOf time.Time) *column.Kernel {
	if p.fixed != nil {
		return p.fixed
	}
	k, err := p.kernel(asOf)
	if err != nil {
		panic("BUG: predicate failed to bind after it compiled: " + err.Error())
	}
	return k
}

func (p *predicate) kernel(asOf time.Time) (*column.Kernel, error) {
	if p.win != nil {
		return p.windowKernel(asOf, *p.win)
	}
	switch p.op {
	case segment.IsNull:
		return &column.Kernel{Kind: column.KindNull}, nil
	case segment.IsNotNull:
		return &column.Kernel{Kind: column.KindNotNull}, nil
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
		return 0, fmt.Errorf("%w: %s needs a positive whole number of days", segment.ErrValue, p.op)
	}
	n, err := exact.Days(string(p.value.Num))
	if err != nil {
		return 0, fmt.Errorf("%w: %s: %w", segment.ErrValue, p.op, err)
	}
	return n, nil
}

func (p *predicate) intKernel(asOf time.Time) (*column.Kernel, error) {
	k := &column.Kernel{Kind: column.KindInts}
	add := func(lo *big.Rat, loOpen bool, hi *big.Rat, hiOpen bool) {
		if min, max, ok := exact.IntRange(lo, loOpen, hi, hiOpen); ok {
			k.IR = append(k.IR, column.IRange{Lo: min, Hi: max})
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
			k.Negate = p.op == segment.NotEquals
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
		k.Negate = p.op == segment.NotIn
	case segment.Between:
		ops, err := p.operands(2)
		if err != nil {
			return nil, err
		}
		add(ops[0].r, false, ops[1].r, false)
	case segment.AnniversaryInLastDays, segment.AnniversaryInNextDays:
		n, err := p.days()
		if err != nil {
			return nil, err
		}
		if p.typ != schema.Date && p.typ != schema.Datetime {
			return nil, p.errType()
		}
		k.IR = anniversaryRanges(p.typ, exact.LocalDay(asOf, p.loc), n, p.op == segment.AnniversaryInLastDays, p.loc)
	case segment.InLastDays, segment.InNextDays:
		n, err := p.days()
		if err != nil {
			return nil, err
		}
		// The last n days are a window from n days before the as-of
		// instant to it; the next n from it to n days after.
		w := window{far: n}
		if p.op == segment.InNextDays {
			w = window{near: -n}
		}
		return p.windowKernel(asOf, w)
	default:
		return nil, p.errType()
	}
	if len(k.IR) == 0 && !k.Negate {
		k.Kind = column.KindNone
	}
	k.IR = column.MergeRanges(k.IR)
	return k, nil
}

func (p *predicate) floatKernel() (*column.Kernel, error) {
	k := &column.Kernel{Kind: column.KindFloats}
	inf := math.Inf(1)
	eq := func(o operand) {
		if o.fExact {
			k.FR = append(k.FR, column.FRange{Lo: o.f, Hi: o.f})
		}
	}
	// lower returns the range x > o (strict) or x >= o: with an operand that
	// no float64 equals, both are decided by the nearest float f.
	lower := func(o operand, strict bool) column.FRange {
		if o.fExact {
			return column.FRange{Lo: o.f, Hi: inf, LoOpen: strict}
		}
		return column.FRange{Lo: o.f, Hi: inf, LoOpen: !o.fAbove}
	}
	upper := func(o operand, strict bool) column.FRange {
		if o.fExact {
			return column.FRange{Lo: -inf, Hi: o.f, HiOpen: strict}
		}
		return column.FRange{Lo: -inf, Hi: o.f, HiOpen: o.fAbove}
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
			k.Negate = p.op == segment.NotEquals
		case segment.GreaterThan, segment.GreaterThanOrEqual:
			k.FR = append(k.FR, lower(o, p.op == segment.GreaterThan))
		case segment.LessThan, segment.LessThanOrEqual:
			k.FR = append(k.FR, upper(o, p.op == segment.LessThan))
		}
	case segment.In, segment.NotIn:
		ops, err := p.operands(0)
		if err != nil {
			return nil, err
		}
		for _, o := range ops {
			eq(o)
		}
		k.Negate = p.op == segment.NotIn
	case segment.Between:
		ops, err := p.operands(2)
		if err != nil {
			return nil, err
		}
		lo, hi := lower(ops[0], false), upper(ops[1], false)
		k.FR = append(k.FR, column.FRange{Lo: lo.Lo, LoOpen: lo.LoOpen, Hi: hi.Hi, HiOpen: hi.HiOpen})
	default:
		return nil, p.errType()
	}
	if len(k.FR) == 0 && !k.Negate {
		k.Kind = column.KindNone
	}
	return k, nil
}

func (p *predicate) stringKernel() (*column.Kernel, error) {
	k := &column.Kernel{Kind: column.KindStrings}
	norm := func(s string) string { return s }
	if p.ignoreCase {
		norm = column.FoldString
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
		k.Match = func(x string) bool { _, ok := set[x]; return ok }
		if p.ignoreCase {
			k.Match = func(x string) bool { _, ok := set[column.FoldString(x)]; return ok }
			if len(list) <= 16 {
				// A short list is compared entry by entry, folding as it
				// goes: no folded copy of each value.
				k.Match = func(x string) bool {
					for _, s := range list {
						if column.EqualFold(x, s) {
							return true
						}
					}
					return false
				}
			}
		}
		k.Negate = p.op == segment.NotIn
		return k, nil
	}
	s, err := str(p.value)
	if err != nil {
		return nil, err
	}
	switch p.op {
	case segment.Equals, segment.NotEquals:
		k.Match = func(x string) bool { return x == s }
		if p.ignoreCase {
			k.Match = func(x string) bool { return column.EqualFold(x, s) }
		}
		k.Negate = p.op == segment.NotEquals
	case segment.GreaterThan:
		k.Match = func(x string) bool { return x > s }
	case segment.GreaterThanOrEqual:
		k.Match = func(x string) bool { return x >= s }
	case segment.LessThan:
		k.Match = func(x string) bool { return x < s }
	case segment.LessThanOrEqual:
		k.Match = func(x string) bool { return x <= s }
	case segment.Contains, segment.NotContains:
		k.Match = func(x string) bool { return strings.Contains(x, s) }
		if p.ignoreCase {
			k.Match = func(x string) bool { return column.ContainsFold(x, s) }
		}
		k.Negate = p.op == segment.NotContains
		switch {
		case !p.ignoreCase:
			k.Needle = s
		case s != "" && column.IsASCII(s):
			k.Needle, k.Fold = s, column.NewFoldNeedle(s)
		}
	case segment.StartsWith:
		k.Match = func(x string) bool { return strings.HasPrefix(x, s) }
		if p.ignoreCase {
			k.Match = func(x string) bool { return column.HasPrefixFold(x, s) }
		}
		k.Affix = p.affix(s, false)
	case segment.EndsWith:
		k.Match = func(x string) bool { return strings.HasSuffix(x, s) }
		if p.ignoreCase {
			k.Match = func(x string) bool { return column.HasSuffixFold(x, s) }
		}
		k.Affix = p.affix(s, true)
	case segment.Matches:
		// The expression as written: ignoreCase is its (?i) flag, not a
		// folded operand.
		re, err := segment.CompilePattern(p.value.Str, p.ignoreCase)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", segment.ErrValue, err)
		}
		k.Match = re.MatchString
	default:
		return nil, p.errType()
	}
	return k, nil
}

// affix returns the in-place test of startsWith (endsWith with end) for the
// operand s, already folded with ignoreCase, or nil when values must be
// folded one by one: a folded operand with non-ASCII characters, or with a
// letter that a non-ASCII character folds to.
func (p *predicate) affix(s string, end bool) *column.Affix {
	if !p.ignoreCase {
		return column.NewAffix(s, end, false)
	}
	if !column.IsASCII(s) || column.FoldsWide(s) {
		return nil
	}
	return column.NewAffix(s, end, true)
}

func (p *predicate) boolKernel() (*column.Kernel, error) {
	k := &column.Kernel{Kind: column.KindBool}
	switch p.op {
	case segment.IsTrue:
		k.Want = true
	case segment.IsFalse:
		k.Want = false
	case segment.Equals, segment.NotEquals:
		if p.value.Kind != segment.BoolValue {
			return nil, fmt.Errorf("%w: %s on a boolean needs true or false", segment.ErrValue, p.op)
		}
		k.Want = p.value.Bool
		if p.op == segment.NotEquals {
			k.Want = !k.Want
		}
	default:
		return nil, p.errType()
	}
	return k, nil
}
