package segment

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Membership says whether a segment's members are recomputed at every
// refresh: what FORMAT.md calls the segment's type (the definition's
// "type" key).
type Membership uint8

const (
	// Dynamic segments are recomputed at every refresh. It is the default.
	Dynamic Membership = iota
	// Static segments keep the members of their first successful refresh.
	Static
)

var membershipNames = [...]string{"dynamic", "static"}

// String returns "dynamic", "static" or "Membership(N)".
func (k Membership) String() string {
	if int(k) < len(membershipNames) {
		return membershipNames[k]
	}
	return fmt.Sprintf("Membership(%d)", uint8(k))
}

// SetOp combines a group with the groups before it.
type SetOp uint8

const (
	// NoSetOp is the first group's operator: it has none.
	NoSetOp SetOp = iota
	// Union keeps customers in either side.
	Union
	// Intersect keeps customers in both sides.
	Intersect
	// Except keeps customers of the left side that are not in the group.
	Except
)

var setOpNames = [...]string{"", "union", "intersect", "except"}

// String returns the operator's JSON name ("" for NoSetOp), or "SetOp(N)".
func (o SetOp) String() string {
	if int(o) < len(setOpNames) {
		return setOpNames[o]
	}
	return fmt.Sprintf("SetOp(%d)", uint8(o))
}

// Match says how a related condition's rows decide for a customer.
type Match uint8

const (
	// MatchAny: at least one related row satisfies where. The default.
	MatchAny Match = iota
	// MatchAll: the customer has at least one related row and every one
	// satisfies where.
	MatchAll
	// MatchNone: no related row satisfies where.
	MatchNone
)

var matchNames = [...]string{"any", "all", "none"}

// String returns "any", "all", "none" or "Match(N)".
func (m Match) String() string {
	if int(m) < len(matchNames) {
		return matchNames[m]
	}
	return fmt.Sprintf("Match(%d)", uint8(m))
}

// Func is an aggregate function.
type Func uint8

// The aggregate functions of FORMAT.md sections 2 and 3. First and Last are
// allowed in measures only.
const (
	NoFunc Func = iota
	Count
	CountDistinct
	Sum
	Avg
	Min
	Max
	First
	Last
)

var funcNames = [...]string{"", "count", "countDistinct", "sum", "avg", "min", "max", "first", "last"}

// String returns the function's JSON name or "Func(N)".
func (f Func) String() string {
	if int(f) < len(funcNames) {
		return funcNames[f]
	}
	return fmt.Sprintf("Func(%d)", uint8(f))
}

// Op is a predicate operator.
type Op uint8

// The operators of FORMAT.md section 2.
const (
	NoOp Op = iota
	Equals
	NotEquals
	In
	NotIn
	GreaterThan
	GreaterThanOrEqual
	LessThan
	LessThanOrEqual
	Between
	Contains
	NotContains
	StartsWith
	EndsWith
	IsTrue
	IsFalse
	IsNull
	IsNotNull
	InLastDays
	InNextDays
	// Matches tests a string against an RE2 regular expression.
	Matches
	// AnniversaryInLastDays and AnniversaryInNextDays test whether a
	// date's month and day, in any year, fall in the last or next N days.
	AnniversaryInLastDays
	AnniversaryInNextDays
)

var opNames = [...]string{"", "equals", "notEquals", "in", "notIn", "greaterThan", "greaterThanOrEqual",
	"lessThan", "lessThanOrEqual", "between", "contains", "notContains", "startsWith", "endsWith",
	"isTrue", "isFalse", "isNull", "isNotNull", "inLastDays", "inNextDays", "matches",
	"anniversaryInLastDays", "anniversaryInNextDays"}

// String returns the operator's JSON name or "Op(N)".
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// Relative reports whether the operator counts from the evaluation's as-of
// instant: inLastDays, inNextDays and the anniversaries.
func (o Op) Relative() bool {
	switch o {
	case InLastDays, InNextDays, AnniversaryInLastDays, AnniversaryInNextDays:
		return true
	}
	return false
}

// TakesValue reports whether the operator needs a value.
func (o Op) TakesValue() bool {
	switch o {
	case IsTrue, IsFalse, IsNull, IsNotNull, NoOp:
		return false
	}
	return int(o) < len(opNames)
}

// ValueKind is the JSON kind of a Value.
type ValueKind uint8

const (
	// NoValue: the value is absent.
	NoValue ValueKind = iota
	// NullValue: JSON null.
	NullValue
	// BoolValue: JSON true or false.
	BoolValue
	// NumberValue: a JSON number, kept as written.
	NumberValue
	// StringValue: a JSON string.
	StringValue
	// ListValue: a JSON array.
	ListValue
	// OtherValue: a JSON object, which no operator takes.
	OtherValue
)

// Value is an operand as written in a definition: a JSON scalar or array.
// Numbers keep their text, so that integers beyond 2^53 stay exact.
type Value struct {
	Kind ValueKind
	Bool bool
	// Num is the number's JSON text, for NumberValue.
	Num json.Number
	// Str is the string, for StringValue.
	Str string
	// List holds the elements, for ListValue.
	List []Value
	// raw keeps an OtherValue's JSON for printing.
	raw json.RawMessage
}

// Int returns an integer Value.
func Int(i int64) Value { return Value{Kind: NumberValue, Num: json.Number(strconv.FormatInt(i, 10))} }

// Float returns a number Value.
func Float(f float64) Value {
	return Value{Kind: NumberValue, Num: json.Number(strconv.FormatFloat(f, 'g', -1, 64))}
}

// Str returns a string Value; dates and datetimes are written as strings.
func Str(s string) Value { return Value{Kind: StringValue, Str: s} }

// Bool returns a boolean Value.
func Bool(b bool) Value { return Value{Kind: BoolValue, Bool: b} }

// List returns an array Value.
func List(vs ...Value) Value { return Value{Kind: ListValue, List: vs} }

// Strs returns an array Value of strings.
func Strs(ss ...string) Value {
	vs := make([]Value, len(ss))
	for i, s := range ss {
		vs[i] = Str(s)
	}
	return List(vs...)
}

// IsZero reports whether the value is absent.
func (v Value) IsZero() bool { return v.Kind == NoValue }

// Definition is a segment definition (FORMAT.md section 2). It is plain data:
// build it with literals or Parse, check it with Validate, and compile it with
// the engine package. A Definition is not modified by any function of this
// package and may then be shared between goroutines.
type Definition struct {
	// Name is 1 to 128 letters, digits, '_' and '-'.
	Name string
	// DisplayName and Description are free text.
	DisplayName string
	Description string
	// Membership is Dynamic (the default) or Static; JSON "type".
	Membership Membership
	// TimeZone, when not empty, is the IANA name of the time zone
	// ("Europe/Paris") whose calendar the definition's relative days and
	// calendar periods use; empty means UTC. Comparisons with written dates
	// do not depend on it.
	TimeZone string
	// Groups combine left to right by each group's SetOp.
	Groups []Group
}

// Group is one condition over customers and the operator that combines it
// with the groups before it.
type Group struct {
	// SetOp is NoSetOp for the first group and Union, Intersect or Except
	// for every other.
	SetOp     SetOp
	Condition Condition
}

// Condition is a node of a definition's condition tree: *And, *Or, *Not,
// *Predicate, *Related or *SegmentRef. The set of implementations is closed.
type Condition interface {
	// String returns the condition in a compact readable form.
	String() string
	condition()
}

// And holds when every one of its conditions holds.
type And struct{ Conditions []Condition }

// Or holds when at least one of its conditions holds.
type Or struct{ Conditions []Condition }

// Not holds when its condition does not: the plain complement over all
// customers (or, inside a related where, over all related rows).
type Not struct{ Condition Condition }

// Predicate compares one attribute with a value. An attribute of another
// entity than the customer entity is shorthand for a Related condition with
// this predicate as its where and match any.
type Predicate struct {
	// Attribute is "Entity.Attribute"; the entity may be Measures.
	Attribute string
	Op        Op
	// Value is absent for operators that take none.
	Value Value
	// IgnoreCase applies simple Unicode case folding to string operators.
	IgnoreCase bool
}

// Related is a condition over the rows of an entity related to the customer.
type Related struct {
	// Entity is the related entity's name.
	Entity string
	// Path is the relationship path; empty means the only one.
	Path []string
	// Where filters the related rows; nil means every row.
	Where Condition
	// Match decides with rows; used when Aggregate is nil.
	Match Match
	// Aggregate, when not nil, is computed over the rows that satisfy Where
	// and compared with Op and Value.
	Aggregate *Aggregate
	// Op and Value compare the aggregate.
	Op    Op
	Value Value
	// Sequence, when not nil, decides instead of Match or Aggregate: the
	// customer has a row of First followed by a row of Then.
	Sequence *Sequence
	// Change, when not nil, decides instead of Match or Aggregate: the
	// customer's rows stopped or started between two windows.
	Change *Change
}

// Sequence is a related condition's "sequence": a related row that
// satisfies First, then a later one that satisfies Then, at most
// WithinDays after it by Attribute, both satisfying the condition's Where.
type Sequence struct {
	// Attribute is the rows' date or datetime, "Entity.Attribute".
	Attribute string
	// First and Then are conditions over the related rows, like Where.
	First, Then Condition
	// WithinDays is a positive whole number of days.
	WithinDays Value
}

// Trend is the kind of a Change: the rows stopped or started.
type Trend uint8

const (
	// NoTrend is the zero Trend, which no Change has.
	NoTrend Trend = iota
	// Stopped: rows in the prior window and none in the last days.
	Stopped
	// Started: no rows in the prior window and rows in the last days.
	Started
)

var trendNames = [...]string{"", "stopped", "started"}

// String returns "stopped", "started" or "Trend(N)".
func (t Trend) String() string {
	if int(t) < len(trendNames) {
		return trendNames[t]
	}
	return fmt.Sprintf("Trend(%d)", uint8(t))
}

// Change is a related condition's "stopped" or "started": whether the
// customer had rows satisfying Where in the PriorDays before the last
// LastDays, and in the last LastDays, by Attribute.
type Change struct {
	Trend Trend
	// Attribute is the rows' date or datetime, "Entity.Attribute".
	Attribute string
	// LastDays and PriorDays are positive whole numbers of days.
	LastDays, PriorDays Value
}

// Aggregate is a function over related rows.
type Aggregate struct {
	Func Func
	// Attribute is "Entity.Attribute"; empty for Count.
	Attribute string
	// OrderBy is "Entity.Attribute" for First and Last.
	OrderBy string
	// Period, for CountDistinct of a date or datetime, counts distinct
	// calendar days, weeks or months instead of distinct values.
	Period Period
}

// Period is a calendar period that countDistinct counts.
type Period uint8

const (
	// NoPeriod: countDistinct counts distinct values.
	NoPeriod Period = iota
	// Day counts distinct calendar days.
	Day
	// Week counts distinct ISO weeks, Monday to Sunday.
	Week
	// Month counts distinct calendar months.
	Month
)

var periodNames = [...]string{"", "day", "week", "month"}

// String returns "day", "week", "month" ("" for NoPeriod) or "Period(N)".
func (p Period) String() string {
	if int(p) < len(periodNames) {
		return periodNames[p]
	}
	return fmt.Sprintf("Period(%d)", uint8(p))
}

// SegmentRef holds for the members of another segment, or with Group for
// the members of one group of that segment's split (a catalog extension,
// docs/format.md section 14).
type SegmentRef struct {
	Name string
	// Group names a group of the segment's split; "" for the whole
	// segment.
	Group string
}

// Measure is a customer attribute measure (FORMAT.md section 3): a named
// per-customer value computed from related rows. It is the attribute Name
// of the virtual entity Measures.
type Measure struct {
	Name        string
	DisplayName string
	Entity      string
	Path        []string
	Where       Condition
	Aggregate   Aggregate
}

func (*And) condition()        {}
func (*Or) condition()         {}
func (*Not) condition()        {}
func (*Predicate) condition()  {}
func (*Related) condition()    {}
func (*SegmentRef) condition() {}

// Inspect traverses c depth-first, calling f for each node. If f returns
// false, Inspect does not descend into that node's children. A Related
// node's Where is its child, and so are its Sequence's First and Then.
// Nil nodes, typed or not, are skipped.
func Inspect(c Condition, f func(Condition) bool) {
	if isNil(c) || !f(c) {
		return
	}
	switch n := c.(type) {
	case *And:
		for _, x := range n.Conditions {
			Inspect(x, f)
		}
	case *Or:
		for _, x := range n.Conditions {
			Inspect(x, f)
		}
	case *Not:
		Inspect(n.Condition, f)
	case *Related:
		Inspect(n.Where, f)
		if n.Sequence != nil {
			Inspect(n.Sequence.First, f)
			Inspect(n.Sequence.Then, f)
		}
	}
}
