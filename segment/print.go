package segment

import (
	"fmt"
	"strings"
)

// The printed form is for people: logs, CLI listings, test failures. It is
// compact and unambiguous but not parsed back; JSON is the form that round
// trips. Comparisons print as symbols (=, !=, >, >=, <, <=), every other
// operator by its JSON name; ignoreCase prints as "(ignoreCase)" after the
// value. Nil nodes print as "<nil>" and never panic.

var opSymbols = map[Op]string{
	Equals:             "=",
	NotEquals:          "!=",
	GreaterThan:        ">",
	GreaterThanOrEqual: ">=",
	LessThan:           "<",
	LessThanOrEqual:    "<=",
}

var valueKindNames = [...]string{"none", "null", "boolean", "number", "string", "list", "other"}

// String returns the kind's name ("none", "null", "boolean", "number",
// "string", "list", "other") or "ValueKind(N)".
func (k ValueKind) String() string {
	if int(k) < len(valueKindNames) {
		return valueKindNames[k]
	}
	return fmt.Sprintf("ValueKind(%d)", uint8(k))
}

// String returns the definition as "Name: g1 except g2", each group's
// condition in parentheses when there are several groups, with
// " (static)" after the name of a static segment.
func (d *Definition) String() string {
	if d == nil {
		return "<nil>"
	}
	var b strings.Builder
	if d.Name != "" || d.Membership != Dynamic {
		b.WriteString(d.Name)
		if d.Membership != Dynamic {
			fmt.Fprintf(&b, " (%s)", d.Membership)
		}
		b.WriteString(": ")
	}
	if len(d.Groups) == 0 {
		b.WriteString("<no groups>")
	}
	for i, g := range d.Groups {
		if i > 0 {
			b.WriteByte(' ')
			if g.SetOp == NoSetOp {
				b.WriteString("?")
			} else {
				b.WriteString(g.SetOp.String())
			}
			b.WriteByte(' ')
		}
		if len(d.Groups) > 1 {
			writeParen(&b, g.Condition)
		} else {
			writeCond(&b, g.Condition)
		}
	}
	return b.String()
}

// String returns "(a and b)".
func (n *And) String() string { return condString(n) }

// String returns "(a or b)".
func (n *Or) String() string { return condString(n) }

// String returns "not (c)".
func (n *Not) String() string { return condString(n) }

// String returns the predicate as "Customer.Age > 30",
// "Customer.Country in ["XX", "YY"]" or "Customer.Email isNull".
func (n *Predicate) String() string { return condString(n) }

// String returns the related condition as "any Order where ...",
// "all Order via OrderCustomer where ..." or
// "sum(Order.Amount) of Order where ... >= 500".
func (n *Related) String() string { return condString(n) }

// String returns "segment Name".
func (n *SegmentRef) String() string { return condString(n) }

// String returns the measure as "Name = sum(Order.Amount) of Order where ...".
func (m *Measure) String() string {
	if m == nil {
		return "<nil>"
	}
	var b strings.Builder
	b.WriteString(m.Name)
	b.WriteString(" = ")
	writeAggregate(&b, &m.Aggregate)
	b.WriteString(" of ")
	writeSource(&b, m.Entity, m.Path, m.Where)
	return b.String()
}

// String returns the value as JSON with ", " between list elements, or ""
// for an absent value. A number prints as written.
func (v Value) String() string {
	var b strings.Builder
	writeValue(&b, v)
	return b.String()
}

func condString(c Condition) string {
	var b strings.Builder
	writeCond(&b, c)
	return b.String()
}

// isNil reports whether c is nil or a nil pointer.
func isNil(c Condition) bool {
	switch n := c.(type) {
	case nil:
		return true
	case *And:
		return n == nil
	case *Or:
		return n == nil
	case *Not:
		return n == nil
	case *Predicate:
		return n == nil
	case *Related:
		return n == nil
	case *SegmentRef:
		return n == nil
	}
	return false
}

// writeParen writes c in parentheses unless it prints with its own.
func writeParen(b *strings.Builder, c Condition) {
	switch n := c.(type) {
	case *And:
		if n != nil && len(n.Conditions) > 0 {
			writeCond(b, c)
			return
		}
	case *Or:
		if n != nil && len(n.Conditions) > 0 {
			writeCond(b, c)
			return
		}
	}
	if isNil(c) {
		writeCond(b, c)
		return
	}
	b.WriteByte('(')
	writeCond(b, c)
	b.WriteByte(')')
}

func writeCond(b *strings.Builder, c Condition) {
	if isNil(c) {
		b.WriteString("<nil>")
		return
	}
	switch n := c.(type) {
	case *And:
		writeList(b, "and", n.Conditions)
	case *Or:
		writeList(b, "or", n.Conditions)
	case *Not:
		b.WriteString("not ")
		writeParen(b, n.Condition)
	case *Predicate:
		writePredicate(b, n)
	case *Related:
		writeRelated(b, n)
	case *SegmentRef:
		b.WriteString("segment ")
		if nameProblem(n.Name) == "" {
			b.WriteString(n.Name)
		} else {
			b.WriteString(quoteJSON(n.Name))
		}
		if n.Group != "" {
			b.WriteString(" group ")
			if nameProblem(n.Group) == "" {
				b.WriteString(n.Group)
			} else {
				b.WriteString(quoteJSON(n.Group))
			}
		}
	}
}

func writeList(b *strings.Builder, word string, cs []Condition) {
	if len(cs) == 0 {
		b.WriteString(word)
		b.WriteString("()")
		return
	}
	b.WriteByte('(')
	for i, c := range cs {
		if i > 0 {
			b.WriteByte(' ')
			b.WriteString(word)
			b.WriteByte(' ')
		}
		// A related condition's where would run on into the next element.
		if r, ok := c.(*Related); ok && r != nil && r.Where != nil {
			writeParen(b, c)
		} else {
			writeCond(b, c)
		}
	}
	b.WriteByte(')')
}

func writeOp(b *strings.Builder, op Op) {
	switch s, ok := opSymbols[op]; {
	case ok:
		b.WriteString(s)
	case op == NoOp:
		b.WriteString("?")
	default:
		b.WriteString(op.String())
	}
}

func writePredicate(b *strings.Builder, n *Predicate) {
	writeName(b, n.Attribute)
	b.WriteByte(' ')
	writeOp(b, n.Op)
	if n.Value.Kind != NoValue {
		b.WriteByte(' ')
		writeValue(b, n.Value)
	}
	if n.IgnoreCase {
		b.WriteString(" (ignoreCase)")
	}
}

// writeName writes an attribute or entity name, quoted when it is empty
// or has spaces, so that the printed form stays readable.
func writeName(b *strings.Builder, name string) {
	if name == "" || strings.ContainsAny(name, " \t\n\r\"()[],") {
		b.WriteString(quoteJSON(name))
		return
	}
	b.WriteString(name)
}

func writeRelated(b *strings.Builder, n *Related) {
	switch {
	case n.Sequence != nil:
		// "sequence of Order where c: first a then b within 14 days by Order.OrderDate"
		s := n.Sequence
		b.WriteString("sequence of ")
		writeSource(b, n.Entity, n.Path, n.Where)
		b.WriteString(": ")
		writeParen(b, s.First)
		b.WriteString(" then ")
		writeParen(b, s.Then)
		b.WriteString(" within ")
		writeValue(b, s.WithinDays)
		b.WriteString(" days by ")
		writeName(b, s.Attribute)
		return
	case n.Change != nil:
		// "stopped Order where c by Order.OrderDate: some in the 90 days
		// before the last 30, none in the last 30"
		c := n.Change
		b.WriteString(c.Trend.String())
		b.WriteByte(' ')
		writeSource(b, n.Entity, n.Path, n.Where)
		b.WriteString(" by ")
		writeName(b, c.Attribute)
		before, last := "some", "none"
		if c.Trend == Started {
			before, last = "none", "some"
		}
		b.WriteString(": " + before + " in the ")
		writeValue(b, c.PriorDays)
		b.WriteString(" days before the last ")
		writeValue(b, c.LastDays)
		b.WriteString(", " + last + " in the last ")
		writeValue(b, c.LastDays)
		return
	}
	if n.Aggregate == nil {
		b.WriteString(n.Match.String())
		b.WriteByte(' ')
		writeSource(b, n.Entity, n.Path, n.Where)
	} else {
		writeAggregate(b, n.Aggregate)
		b.WriteString(" of ")
		writeSource(b, n.Entity, n.Path, n.Where)
	}
	if n.Op != NoOp {
		b.WriteByte(' ')
		writeOp(b, n.Op)
	}
	if n.Value.Kind != NoValue {
		b.WriteByte(' ')
		writeValue(b, n.Value)
	}
}

// writeSource writes "Order via A -> B where c".
func writeSource(b *strings.Builder, entity string, path []string, where Condition) {
	writeName(b, entity)
	if len(path) > 0 {
		b.WriteString(" via ")
		for i, r := range path {
			if i > 0 {
				b.WriteString(" -> ")
			}
			writeName(b, r)
		}
	}
	if where != nil {
		b.WriteString(" where ")
		writeCond(b, where)
	}
}

// writeAggregate writes "sum(Order.Amount)", "count()" or
// "last(Order.Channel by Order.OrderDate)".
func writeAggregate(b *strings.Builder, a *Aggregate) {
	if a.Func == NoFunc {
		b.WriteString("?")
	} else {
		b.WriteString(a.Func.String())
	}
	b.WriteByte('(')
	if a.Attribute != "" {
		writeName(b, a.Attribute)
	}
	if a.Period != NoPeriod {
		b.WriteString(" by ")
		b.WriteString(a.Period.String())
	}
	if a.OrderBy != "" {
		b.WriteString(" by ")
		writeName(b, a.OrderBy)
	}
	b.WriteByte(')')
}

func writeValue(b *strings.Builder, v Value) {
	switch v.Kind {
	case NoValue:
	case NullValue:
		b.WriteString("null")
	case BoolValue:
		fmt.Fprint(b, v.Bool)
	case NumberValue:
		b.WriteString(string(v.Num))
	case StringValue:
		b.WriteString(quoteJSON(v.Str))
	case ListValue:
		b.WriteByte('[')
		for i, x := range v.List {
			if i > 0 {
				b.WriteString(", ")
			}
			writeValue(b, x)
		}
		b.WriteByte(']')
	case OtherValue:
		b.Write(v.raw)
	default:
		b.WriteString(v.Kind.String())
	}
}
