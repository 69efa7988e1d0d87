package segment

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/segmentkit/segmentkit/internal/exact"
)

// The JSON writers are hand-written so that keys come out in FORMAT.md's
// order and empty optional fields are left out; Parse(Marshal(d)) then
// equals d and a second Marshal gives the same bytes.
//
// They write any Definition, even one that fails validation (a draft), and
// fail only where no JSON can represent a value: a number whose text is not
// a JSON number, or an unknown ValueKind. Nil conditions are written as
// null, and enum values out of range as their String form; Parse reports
// both.

var (
	_ json.Marshaler   = (*Definition)(nil)
	_ json.Unmarshaler = (*Definition)(nil)
	_ json.Marshaler   = (*Measure)(nil)
	_ json.Unmarshaler = (*Measure)(nil)
	_ json.Marshaler   = Value{}
	_ json.Unmarshaler = (*Value)(nil)

	_ Condition = (*And)(nil)
	_ Condition = (*Or)(nil)
	_ Condition = (*Not)(nil)
	_ Condition = (*Predicate)(nil)
	_ Condition = (*Related)(nil)
	_ Condition = (*SegmentRef)(nil)
)

// MarshalJSON writes the definition as compact JSON in FORMAT.md's form.
// displayName, description, type (when dynamic) and the first group's
// setOperator are omitted when empty. It has a value receiver, so that
// encoding/json uses it for a Definition as well as a *Definition.
func (d Definition) MarshalJSON() ([]byte, error) {
	var e encoder
	e.definition(&d)
	return e.result()
}

// MarshalCondition writes a condition as compact JSON, as MarshalJSON
// writes a group's condition. A nil condition is written as null.
func MarshalCondition(c Condition) ([]byte, error) {
	var e encoder
	e.condition(c)
	return e.result()
}

// MarshalJSON writes the measure as compact JSON in FORMAT.md's form. It
// has a value receiver, like Definition's.
func (m Measure) MarshalJSON() ([]byte, error) {
	var e encoder
	e.measure(&m)
	return e.result()
}

// MarshalJSON writes the value as JSON: numbers exactly as their text. It
// fails for an absent value (NoValue), which has no JSON form, and for a
// number whose text is not a JSON number.
func (v Value) MarshalJSON() ([]byte, error) {
	if v.Kind == NoValue {
		return nil, errors.New("segment: cannot write an absent Value as JSON")
	}
	var e encoder
	e.value(v)
	return e.result()
}

// encoder appends JSON to b and keeps the first error.
type encoder struct {
	b     []byte
	err   error
	comma bool // a member or element was written at this level
}

func (e *encoder) result() ([]byte, error) {
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

func (e *encoder) open(c byte) {
	e.b = append(e.b, c)
	e.comma = false
}

func (e *encoder) close(c byte) {
	e.b = append(e.b, c)
	e.comma = true
}

// key starts an object member.
func (e *encoder) key(k string) {
	if e.comma {
		e.b = append(e.b, ',')
	}
	e.b = appendString(e.b, k)
	e.b = append(e.b, ':')
	e.comma = false
}

// elem starts an array element.
func (e *encoder) elem() {
	if e.comma {
		e.b = append(e.b, ',')
	}
	e.comma = false
}

func (e *encoder) str(s string) {
	e.b = appendString(e.b, s)
	e.comma = true
}

func (e *encoder) strMember(k, s string) {
	e.key(k)
	e.str(s)
}

func (e *encoder) null() {
	e.b = append(e.b, "null"...)
	e.comma = true
}

func (e *encoder) definition(d *Definition) {
	if d == nil {
		e.null()
		return
	}
	e.open('{')
	e.strMember("name", d.Name)
	if d.DisplayName != "" {
		e.strMember("displayName", d.DisplayName)
	}
	if d.Description != "" {
		e.strMember("description", d.Description)
	}
	if d.Membership != Dynamic {
		e.strMember("type", d.Membership.String())
	}
	if d.TimeZone != "" {
		e.strMember("timeZone", d.TimeZone)
	}
	e.key("groups")
	e.open('[')
	for _, g := range d.Groups {
		e.elem()
		e.open('{')
		if g.SetOp != NoSetOp {
			e.strMember("setOperator", g.SetOp.String())
		}
		e.key("condition")
		e.condition(g.Condition)
		e.close('}')
	}
	e.close(']')
	e.close('}')
}

func (e *encoder) condition(c Condition) {
	switch n := c.(type) {
	case *And:
		if n == nil {
			break
		}
		e.open('{')
		e.key("and")
		e.conditions(n.Conditions)
		e.close('}')
		return
	case *Or:
		if n == nil {
			break
		}
		e.open('{')
		e.key("or")
		e.conditions(n.Conditions)
		e.close('}')
		return
	case *Not:
		if n == nil {
			break
		}
		e.open('{')
		e.key("not")
		e.condition(n.Condition)
		e.close('}')
		return
	case *Predicate:
		if n == nil {
			break
		}
		e.predicate(n)
		return
	case *Related:
		if n == nil {
			break
		}
		e.related(n)
		return
	case *SegmentRef:
		if n == nil {
			break
		}
		e.open('{')
		e.strMember("segment", n.Name)
		if n.Group != "" {
			e.strMember("group", n.Group)
		}
		e.close('}')
		return
	}
	e.null()
}

func (e *encoder) conditions(cs []Condition) {
	e.open('[')
	for _, c := range cs {
		e.elem()
		e.condition(c)
	}
	e.close(']')
}

func (e *encoder) predicate(n *Predicate) {
	e.open('{')
	e.strMember("attribute", n.Attribute)
	if n.Op != NoOp {
		e.strMember("operator", n.Op.String())
	}
	if n.Value.Kind != NoValue {
		e.key("value")
		e.value(n.Value)
	}
	if n.IgnoreCase {
		e.key("ignoreCase")
		e.b = append(e.b, "true"...)
		e.comma = true
	}
	e.close('}')
}

func (e *encoder) related(n *Related) {
	e.open('{')
	e.strMember("related", n.Entity)
	e.path(n.Path)
	if n.Where != nil {
		e.key("where")
		e.condition(n.Where)
	}
	if n.Match != MatchAny {
		e.strMember("match", n.Match.String())
	}
	if n.Aggregate != nil {
		e.key("aggregate")
		e.aggregate(n.Aggregate)
	}
	if n.Op != NoOp {
		e.strMember("operator", n.Op.String())
	}
	if n.Value.Kind != NoValue {
		e.key("value")
		e.value(n.Value)
	}
	if s := n.Sequence; s != nil {
		e.key("sequence")
		e.open('{')
		e.strMember("attribute", s.Attribute)
		e.key("first")
		e.condition(s.First)
		e.key("then")
		e.condition(s.Then)
		e.days("withinDays", s.WithinDays)
		e.close('}')
	}
	if c := n.Change; c != nil {
		e.key(c.Trend.String())
		if c.Trend != Stopped && c.Trend != Started {
			e.fail(fmt.Errorf("segment: a Change needs the Trend Stopped or Started, not %s", c.Trend))
		}
		e.open('{')
		e.strMember("attribute", c.Attribute)
		e.days("lastDays", c.LastDays)
		e.days("priorDays", c.PriorDays)
		e.close('}')
	}
	e.close('}')
}

// days writes a member that counts days, when present.
func (e *encoder) days(k string, v Value) {
	if v.Kind != NoValue {
		e.key(k)
		e.value(v)
	}
}

func (e *encoder) path(p []string) {
	if len(p) == 0 {
		return
	}
	e.key("path")
	e.open('[')
	for _, r := range p {
		e.elem()
		e.str(r)
	}
	e.close(']')
}

func (e *encoder) aggregate(a *Aggregate) {
	e.open('{')
	if a.Func != NoFunc {
		e.strMember("function", a.Func.String())
	}
	if a.Attribute != "" {
		e.strMember("attribute", a.Attribute)
	}
	if a.Period != NoPeriod {
		e.strMember("period", a.Period.String())
	}
	if a.OrderBy != "" {
		e.strMember("orderBy", a.OrderBy)
	}
	e.close('}')
}

func (e *encoder) measure(m *Measure) {
	if m == nil {
		e.null()
		return
	}
	e.open('{')
	e.strMember("name", m.Name)
	if m.DisplayName != "" {
		e.strMember("displayName", m.DisplayName)
	}
	e.strMember("related", m.Entity)
	e.path(m.Path)
	if m.Where != nil {
		e.key("where")
		e.condition(m.Where)
	}
	e.key("aggregate")
	e.aggregate(&m.Aggregate)
	e.close('}')
}

func (e *encoder) value(v Value) {
	switch v.Kind {
	case NullValue:
		e.b = append(e.b, "null"...)
	case BoolValue:
		e.b = strconv.AppendBool(e.b, v.Bool)
	case NumberValue:
		if !exact.ValidNumber(string(v.Num)) {
			e.fail(fmt.Errorf("segment: value %q is not a JSON number", string(v.Num)))
		}
		e.b = append(e.b, v.Num...)
	case StringValue:
		e.b = appendString(e.b, v.Str)
	case ListValue:
		e.open('[')
		for _, x := range v.List {
			e.elem()
			e.value(x)
		}
		e.b = append(e.b, ']')
	case OtherValue:
		if len(v.raw) == 0 {
			e.fail(errors.New("segment: an OtherValue built outside Parse has no JSON form"))
		}
		e.b = append(e.b, v.raw...)
	default:
		// NoValue inside a list, or an unknown kind.
		e.fail(fmt.Errorf("segment: cannot write a value of kind %d as JSON", v.Kind))
	}
	e.comma = true
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}
