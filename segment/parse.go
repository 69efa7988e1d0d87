package segment

import (
	"fmt"
	"slices"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
)

// Parse reads a segment definition from its JSON form (FORMAT.md section 2).
// It checks the shape only: JSON syntax, keys, JSON types, operator,
// function and set operator names, non-empty and/or lists and the groups'
// set operators. Names of entities, attributes and segments, and values,
// are checked by Validate.
//
// On failure Parse returns a nil Definition and a diag.List holding every
// problem, each with its path ("groups[1].condition.and[0].operator") and a
// suggestion where a name is close to a valid one. No input makes it panic.
func Parse(data []byte) (*Definition, error) {
	v, prob := decodeJSON(data)
	if prob != nil {
		return nil, diag.List{prob}
	}
	var p parser
	d := p.definition(v)
	if err := p.l.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

// ParseCondition reads one condition from its JSON form, as Parse reads a
// group's condition. Problem paths are relative to the condition
// ("and[0].operator"); a problem of the whole condition has an empty path.
func ParseCondition(data []byte) (Condition, error) {
	v, prob := decodeJSON(data)
	if prob != nil {
		return nil, diag.List{prob}
	}
	var p parser
	c := p.condition("", v)
	if err := p.l.Err(); err != nil {
		return nil, err
	}
	return c, nil
}

// ParseMeasure reads a customer attribute measure from its JSON form
// (FORMAT.md section 3). Like Parse it checks the shape only; Validate
// checks it against a schema. On failure it returns nil and a diag.List.
func ParseMeasure(data []byte) (*Measure, error) {
	v, prob := decodeJSON(data)
	if prob != nil {
		return nil, diag.List{prob}
	}
	var p parser
	m := p.measure("", v)
	if err := p.l.Err(); err != nil {
		return nil, err
	}
	return m, nil
}

// UnmarshalJSON reads the definition with Parse and replaces d with it. On
// failure d is unchanged.
func (d *Definition) UnmarshalJSON(data []byte) error {
	nd, err := Parse(data)
	if err != nil {
		return err
	}
	*d = *nd
	return nil
}

// UnmarshalJSON reads the measure with ParseMeasure and replaces m with it.
// On failure m is unchanged.
func (m *Measure) UnmarshalJSON(data []byte) error {
	nm, err := ParseMeasure(data)
	if err != nil {
		return err
	}
	*m = *nm
	return nil
}

// UnmarshalJSON reads any JSON value into v, keeping numbers as written.
// Whether the value suits an operator is checked by Validate.
func (v *Value) UnmarshalJSON(data []byte) error {
	j, prob := decodeJSON(data)
	if prob != nil {
		return diag.List{prob}
	}
	*v = valueOf(j)
	return nil
}

// valueOf converts a JSON value to a Value.
func valueOf(j *jval) Value {
	switch j.kind {
	case jNull:
		return Value{Kind: NullValue}
	case jBool:
		return Value{Kind: BoolValue, Bool: j.b}
	case jNumber:
		return Value{Kind: NumberValue, Num: j.num}
	case jString:
		return Value{Kind: StringValue, Str: j.str}
	case jArray:
		list := make([]Value, len(j.arr))
		for i, e := range j.arr {
			list[i] = valueOf(e)
		}
		return Value{Kind: ListValue, List: list}
	default:
		return Value{Kind: OtherValue, raw: j.appendJSON(nil)}
	}
}

// The JSON keys of each object, in the order MarshalJSON writes them.
var (
	definitionKeys = []string{"name", "displayName", "description", "type", "timeZone", "groups"}
	groupKeys      = []string{"setOperator", "condition"}
	predicateKeys  = []string{"attribute", "operator", "value", "ignoreCase"}
	relatedKeys    = []string{"related", "path", "where", "match", "aggregate", "operator", "value", "sequence", "stopped", "started"}
	aggregateKeys  = []string{"function", "attribute", "period", "orderBy"}
	sequenceKeys   = []string{"attribute", "first", "then", "withinDays"}
	changeKeys     = []string{"attribute", "lastDays", "priorDays"}
	measureKeys    = []string{"name", "displayName", "related", "path", "where", "aggregate"}

	// formKeys are the keys that say which form a condition object has.
	formKeys = []string{"and", "or", "not", "attribute", "related", "segment"}
	// conditionKeys are the keys of every condition form.
	conditionKeys = []string{"and", "or", "not", "attribute", "operator", "value", "ignoreCase",
		"related", "path", "where", "match", "aggregate", "sequence", "stopped", "started", "segment", "group"}
)

// formOf describes each condition form for messages, with its keys.
var formOf = map[string]struct {
	what string
	keys []string
}{
	"and":       {"an and condition", []string{"and"}},
	"or":        {"an or condition", []string{"or"}},
	"not":       {"a not condition", []string{"not"}},
	"attribute": {"a predicate", predicateKeys},
	"related":   {"a related condition", relatedKeys},
	"segment":   {"a segment reference", []string{"segment", "group"}},
}

// parser turns a JSON tree into definition nodes, collecting problems.
type parser struct {
	l diag.List
}

// at returns the path of key in the object at path.
func at(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// index returns the path of element i of the array at path.
func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// nearest is diag.Nearest, without its work for a name much longer than
// every candidate, which cannot be within the few edits it allows.
func nearest(name string, candidates []string) string {
	longest := 0
	for _, c := range candidates {
		longest = max(longest, len(c))
	}
	if len(name) > 4*(longest+4) {
		return ""
	}
	return diag.Nearest(name, candidates)
}

// addSuggest is diag.List.AddSuggest with nearest.
func addSuggest(l *diag.List, path string, sentinel error, name string, candidates []string, format string, args ...any) *diag.Problem {
	p := l.Add(path, sentinel, format, args...)
	p.Suggestion = nearest(name, candidates)
	return p
}

// addUnknown reports an unknown name with the nearest of valid as its
// suggestion, or with the list of valid names when none is close.
func addUnknown(l *diag.List, path string, sentinel error, name string, valid []string, format string, args ...any) *diag.Problem {
	p := addSuggest(l, path, sentinel, name, valid, format, args...)
	if p.Suggestion == "" && len(valid) > 0 {
		p.Message += "; use one of " + strings.Join(valid, ", ")
	}
	return p
}

// members returns the object's members by key, reporting duplicate keys.
// It reports a problem and returns false if v is not an object.
func (p *parser) members(path, what string, v *jval) (map[string]*jval, []string, bool) {
	if v.kind != jObject {
		p.l.Add(path, ErrSyntax, "%s must be a JSON object, not %s", what, v.describe())
		return nil, nil, false
	}
	m := make(map[string]*jval, len(v.obj))
	keys := make([]string, 0, len(v.obj))
	for _, mem := range v.obj {
		if _, dup := m[mem.key]; dup {
			p.l.Add(at(path, mem.key), ErrSyntax, "key %q appears twice in %s", mem.key, what)
			continue
		}
		m[mem.key] = mem.val
		keys = append(keys, mem.key)
	}
	return m, keys, true
}

// object returns the members of the object at path, reporting keys that
// are not in allowed.
func (p *parser) object(path, what string, v *jval, allowed []string) (map[string]*jval, bool) {
	m, keys, ok := p.members(path, what, v)
	if !ok {
		return nil, false
	}
	for _, k := range keys {
		if !slices.Contains(allowed, k) {
			addUnknown(&p.l, at(path, k), ErrSyntax, k, allowed, "unknown key %q in %s", k, what)
		}
	}
	return m, true
}

// str returns the string at path, or reports a problem.
func (p *parser) str(path, key string, v *jval) (string, bool) {
	if v.kind != jString {
		p.l.Add(path, ErrSyntax, "%s must be a string, not %s", key, v.describe())
		return "", false
	}
	return v.str, true
}

// enum returns the position in names of the string at path, or reports an
// unknown name (wrapping sentinel) with a suggestion. Empty names in names
// are not valid.
func (p *parser) enum(path, key string, v *jval, names []string, sentinel error) (int, bool) {
	s, ok := p.str(path, key, v)
	if !ok {
		return 0, false
	}
	if s != "" {
		if i := slices.Index(names, s); i >= 0 {
			return i, true
		}
	}
	var valid []string
	for _, n := range names {
		if n != "" {
			valid = append(valid, n)
		}
	}
	addUnknown(&p.l, path, sentinel, s, valid, "unknown %s %q", key, s)
	return 0, false
}

func (p *parser) definition(v *jval) *Definition {
	m, ok := p.object("", "a definition", v, definitionKeys)
	if !ok {
		return nil
	}
	d := &Definition{}
	if j := m["name"]; j != nil {
		d.Name, _ = p.str("name", "name", j)
	}
	if j := m["displayName"]; j != nil {
		d.DisplayName, _ = p.str("displayName", "displayName", j)
	}
	if j := m["description"]; j != nil {
		d.Description, _ = p.str("description", "description", j)
	}
	if j := m["type"]; j != nil {
		k, _ := p.enum("type", "type", j, membershipNames[:], ErrSyntax)
		d.Membership = Membership(k)
	}
	if j := m["timeZone"]; j != nil {
		d.TimeZone, _ = p.str("timeZone", "timeZone", j)
	}
	j := m["groups"]
	switch {
	case j == nil:
		p.l.Add("groups", ErrGroups, "a definition needs at least one group")
	case j.kind != jArray:
		p.l.Add("groups", ErrSyntax, "groups must be an array, not %s", j.describe())
	case len(j.arr) == 0:
		p.l.Add("groups", ErrGroups, "a definition needs at least one group")
	default:
		d.Groups = make([]Group, len(j.arr))
		for i, g := range j.arr {
			d.Groups[i] = p.group(index("groups", i), i, g)
		}
	}
	return d
}

func (p *parser) group(path string, i int, v *jval) Group {
	var g Group
	m, ok := p.object(path, "a group", v, groupKeys)
	if !ok {
		return g
	}
	j := m["setOperator"]
	switch {
	case j != nil && i == 0:
		p.l.Add(at(path, "setOperator"), ErrGroups, "the first group has no setOperator")
	case j != nil:
		op, _ := p.enum(at(path, "setOperator"), "setOperator", j, setOpNames[:], ErrGroups)
		g.SetOp = SetOp(op)
	case i > 0:
		p.l.Add(at(path, "setOperator"), ErrGroups, "group %d needs a setOperator: union, intersect or except", i+1)
	}
	if j := m["condition"]; j != nil {
		g.Condition = p.condition(at(path, "condition"), j)
	} else {
		p.l.Add(at(path, "condition"), ErrSyntax, "a group needs a condition")
	}
	return g
}

// condition reads a condition object, recognised by its form key.
func (p *parser) condition(path string, v *jval) Condition {
	m, keys, ok := p.members(path, "a condition", v)
	if !ok {
		return nil
	}
	var forms []string
	for _, k := range formKeys {
		if m[k] != nil {
			forms = append(forms, k)
		}
	}
	switch len(forms) {
	case 0:
		p.formless(path, keys)
		return nil
	case 1:
	default:
		p.l.Add(path, ErrSyntax, "a condition has exactly one of the keys %s; this one has %s",
			strings.Join(formKeys, ", "), strings.Join(forms, " and "))
		return nil
	}
	form := formOf[forms[0]]
	for _, k := range keys {
		if slices.Contains(form.keys, k) {
			continue
		}
		if slices.Contains(conditionKeys, k) {
			p.l.Add(at(path, k), ErrSyntax, "key %q does not belong in %s; its keys are %s", k, form.what, strings.Join(form.keys, ", "))
			continue
		}
		addUnknown(&p.l, at(path, k), ErrSyntax, k, form.keys, "unknown key %q in %s", k, form.what)
	}
	switch forms[0] {
	case "and":
		return &And{Conditions: p.list(at(path, "and"), "and", m["and"])}
	case "or":
		return &Or{Conditions: p.list(at(path, "or"), "or", m["or"])}
	case "not":
		return &Not{Condition: p.condition(at(path, "not"), m["not"])}
	case "attribute":
		return p.predicate(path, m)
	case "related":
		return p.related(path, m)
	default:
		name, _ := p.str(at(path, "segment"), "segment", m["segment"])
		ref := &SegmentRef{Name: name}
		if g := m["group"]; g != nil {
			var ok bool
			if ref.Group, ok = p.str(at(path, "group"), "group", g); ok && ref.Group == "" {
				p.l.Add(at(path, "group"), ErrName, "group: a group name cannot be empty; leave \"group\" out to reference the whole segment")
			}
		}
		return ref
	}
}

// formless reports a condition object with no form key. A key that is a
// misspelt form key is the likely cause, and is reported alone.
func (p *parser) formless(path string, keys []string) {
	typo := false
	for _, k := range keys {
		if slices.Contains(conditionKeys, k) {
			continue
		}
		if s := nearest(k, formKeys); s != "" {
			p.l.Add(at(path, k), ErrSyntax, "unknown key %q in a condition", k).Suggestion = s
			typo = true
		}
	}
	for _, k := range keys {
		if !slices.Contains(conditionKeys, k) && nearest(k, formKeys) == "" {
			addSuggest(&p.l, at(path, k), ErrSyntax, k, conditionKeys, "unknown key %q in a condition", k)
		}
	}
	if !typo {
		p.l.Add(path, ErrSyntax, "a condition needs one of the keys %s", strings.Join(formKeys, ", "))
	}
}

// list reads the array of an and or an or.
func (p *parser) list(path, key string, v *jval) []Condition {
	if v.kind != jArray {
		p.l.Add(path, ErrSyntax, "%s must be an array of conditions, not %s", key, v.describe())
		return nil
	}
	if len(v.arr) == 0 {
		p.l.Add(path, ErrEmpty, "%s needs at least one condition", key)
		return nil
	}
	cs := make([]Condition, len(v.arr))
	for i, e := range v.arr {
		cs[i] = p.condition(index(path, i), e)
	}
	return cs
}

func (p *parser) predicate(path string, m map[string]*jval) *Predicate {
	n := &Predicate{}
	n.Attribute, _ = p.str(at(path, "attribute"), "attribute", m["attribute"])
	if j := m["operator"]; j != nil {
		op, _ := p.enum(at(path, "operator"), "operator", j, opNames[:], ErrUnknownOperator)
		n.Op = Op(op)
	} else {
		p.l.Add(at(path, "operator"), ErrSyntax, "a predicate needs an operator")
	}
	if j := m["value"]; j != nil {
		n.Value = valueOf(j)
	}
	if j := m["ignoreCase"]; j != nil {
		if j.kind == jBool {
			n.IgnoreCase = j.b
		} else {
			p.l.Add(at(path, "ignoreCase"), ErrSyntax, "ignoreCase must be true or false, not %s", j.describe())
		}
	}
	return n
}

func (p *parser) related(path string, m map[string]*jval) *Related {
	n := &Related{}
	n.Entity, _ = p.str(at(path, "related"), "related", m["related"])
	if j := m["path"]; j != nil {
		n.Path = p.path(at(path, "path"), j)
	}
	if j := m["where"]; j != nil {
		n.Where = p.condition(at(path, "where"), j)
	}
	if j := m["match"]; j != nil {
		k, _ := p.enum(at(path, "match"), "match", j, matchNames[:], ErrAggregate)
		n.Match = Match(k)
		if m["aggregate"] != nil {
			p.l.Add(at(path, "match"), ErrAggregate, "a related condition takes match or aggregate, not both")
		}
	}
	if j := m["aggregate"]; j != nil {
		n.Aggregate = p.aggregate(at(path, "aggregate"), j)
	}
	if j := m["operator"]; j != nil {
		op, _ := p.enum(at(path, "operator"), "operator", j, opNames[:], ErrUnknownOperator)
		n.Op = Op(op)
	}
	if j := m["value"]; j != nil {
		n.Value = valueOf(j)
	}
	if j := m["sequence"]; j != nil {
		n.Sequence = p.sequence(at(path, "sequence"), j)
	}
	for _, t := range []Trend{Stopped, Started} {
		if j := m[t.String()]; j != nil {
			if n.Change != nil {
				p.l.Add(at(path, t.String()), ErrAggregate, "a related condition takes stopped or started, not both")
				continue
			}
			n.Change = p.change(at(path, t.String()), t, j)
		}
	}
	// The ways a related condition decides exclude each other.
	var ways []string
	for _, k := range []string{"match", "aggregate", "sequence", "stopped", "started"} {
		if m[k] != nil {
			ways = append(ways, k)
		}
	}
	if len(ways) > 1 && !(len(ways) == 2 && ways[0] == "match" && ways[1] == "aggregate") &&
		!(len(ways) == 2 && ways[0] == "stopped" && ways[1] == "started") {
		p.l.Add(path, ErrAggregate, "a related condition decides by one of match, aggregate, sequence, stopped or started; this one has %s", strings.Join(ways, " and "))
	}
	return n
}

func (p *parser) sequence(path string, v *jval) *Sequence {
	m, ok := p.object(path, "a sequence", v, sequenceKeys)
	if !ok {
		return nil
	}
	s := &Sequence{}
	if j := m["attribute"]; j != nil {
		s.Attribute, _ = p.str(at(path, "attribute"), "attribute", j)
	} else {
		p.l.Add(at(path, "attribute"), ErrSyntax, "a sequence needs attribute: the date or datetime that orders the rows")
	}
	for _, k := range []string{"first", "then"} {
		j := m[k]
		if j == nil {
			p.l.Add(at(path, k), ErrSyntax, "a sequence needs %s: a condition over the related rows", k)
			continue
		}
		c := p.condition(at(path, k), j)
		if k == "first" {
			s.First = c
		} else {
			s.Then = c
		}
	}
	if j := m["withinDays"]; j != nil {
		s.WithinDays = valueOf(j)
	} else {
		p.l.Add(at(path, "withinDays"), ErrSyntax, "a sequence needs withinDays: the most days from the first row to the next")
	}
	return s
}

func (p *parser) change(path string, t Trend, v *jval) *Change {
	m, ok := p.object(path, "a "+t.String()+" window", v, changeKeys)
	if !ok {
		return nil
	}
	c := &Change{Trend: t}
	if j := m["attribute"]; j != nil {
		c.Attribute, _ = p.str(at(path, "attribute"), "attribute", j)
	} else {
		p.l.Add(at(path, "attribute"), ErrSyntax, "%s needs attribute: the date or datetime of the rows", t)
	}
	if j := m["lastDays"]; j != nil {
		c.LastDays = valueOf(j)
	} else {
		p.l.Add(at(path, "lastDays"), ErrSyntax, "%s needs lastDays: the days of the recent window", t)
	}
	if j := m["priorDays"]; j != nil {
		c.PriorDays = valueOf(j)
	} else {
		p.l.Add(at(path, "priorDays"), ErrSyntax, "%s needs priorDays: the days of the window before it", t)
	}
	return c
}

// path reads a relationship path; an empty array means no path.
func (p *parser) path(path string, v *jval) []string {
	if v.kind != jArray {
		p.l.Add(path, ErrSyntax, "path must be an array of relationship names, not %s", v.describe())
		return nil
	}
	var out []string
	for i, e := range v.arr {
		s, ok := p.str(index(path, i), "a relationship name", e)
		if ok {
			out = append(out, s)
		}
	}
	return out
}

func (p *parser) aggregate(path string, v *jval) *Aggregate {
	m, ok := p.object(path, "an aggregate", v, aggregateKeys)
	if !ok {
		return nil
	}
	a := &Aggregate{}
	if j := m["function"]; j != nil {
		f, _ := p.enum(at(path, "function"), "function", j, funcNames[:], ErrAggregate)
		a.Func = Func(f)
	} else {
		p.l.Add(at(path, "function"), ErrSyntax, "an aggregate needs a function: %s", strings.Join(funcNames[1:], ", "))
	}
	if j := m["attribute"]; j != nil {
		a.Attribute, _ = p.str(at(path, "attribute"), "attribute", j)
	}
	if j := m["period"]; j != nil {
		k, _ := p.enum(at(path, "period"), "period", j, periodNames[:], ErrAggregate)
		a.Period = Period(k)
	}
	if j := m["orderBy"]; j != nil {
		a.OrderBy, _ = p.str(at(path, "orderBy"), "orderBy", j)
	}
	return a
}

func (p *parser) measure(path string, v *jval) *Measure {
	m, ok := p.object(path, "a measure", v, measureKeys)
	if !ok {
		return nil
	}
	ms := &Measure{}
	if j := m["name"]; j != nil {
		ms.Name, _ = p.str(at(path, "name"), "name", j)
	}
	if j := m["displayName"]; j != nil {
		ms.DisplayName, _ = p.str(at(path, "displayName"), "displayName", j)
	}
	if j := m["related"]; j != nil {
		ms.Entity, _ = p.str(at(path, "related"), "related", j)
	} else {
		p.l.Add(at(path, "related"), ErrSyntax, "a measure needs related: the entity it aggregates")
	}
	if j := m["path"]; j != nil {
		ms.Path = p.path(at(path, "path"), j)
	}
	if j := m["where"]; j != nil {
		ms.Where = p.condition(at(path, "where"), j)
	}
	if j := m["aggregate"]; j != nil {
		if a := p.aggregate(at(path, "aggregate"), j); a != nil {
			ms.Aggregate = *a
		}
	} else {
		p.l.Add(at(path, "aggregate"), ErrSyntax, "a measure needs an aggregate")
	}
	return ms
}
