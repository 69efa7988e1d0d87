package segment

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // IANA time zones on every machine, whatever it has installed

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// Validate checks the definition against the schema as FORMAT.md sections
// 2 and 3 require, with the zero ValidateOptions: every segment reference is
// a problem. It returns a literal nil, or a diag.List with every problem.
func (d *Definition) Validate(s *schema.Schema) error {
	return d.ValidateWith(s, ValidateOptions{})
}

// ValidateWith checks the definition against the schema and returns a
// literal nil, or a diag.List with every problem, each with its path and,
// where a name is close to a valid one, a suggestion.
//
// The schema's measures (MeasuresOf, or opts.Measures when it was parsed
// from s) are attributes of the entity Measures; problems in them are
// reported too, under "schema.measures".
// A reference to the definition itself is a cycle; longer reference cycles
// span several definitions and are for the caller (a catalog) to find.
// Validate does not modify d or s.
func (d *Definition) ValidateWith(s *schema.Schema, opts ValidateOptions) error {
	if d == nil {
		var l diag.List
		l.Add("", ErrSyntax, "the definition is nil")
		return l
	}
	c, ok := newChecker(s, opts, d.Name)
	if !ok {
		return c.l
	}
	c.loadMeasures(opts.Measures)
	if msg := nameProblem(d.Name); msg != "" {
		c.l.Add("name", ErrName, "%s", msg)
	}
	if int(d.Membership) >= len(membershipNames) {
		c.l.Add("type", ErrSyntax, "unknown type %s; use dynamic or static", d.Membership)
	}
	if _, err := Location(d.TimeZone); err != nil {
		c.l.Add("timeZone", ErrValue, "%v", err)
	}
	if len(d.Groups) > MaxGroups {
		c.l.Add("groups", ErrLimit, "the definition has %s groups; at most %s are allowed",
			exact.FormatCount(len(d.Groups)), exact.FormatCount(MaxGroups))
		return c.l.Err()
	}
	if len(d.Groups) == 0 {
		c.l.Add("groups", ErrGroups, "a definition needs at least one group")
	}
	for i, g := range d.Groups {
		path := index("groups", i)
		switch {
		case i == 0 && g.SetOp != NoSetOp:
			c.l.Add(at(path, "setOperator"), ErrGroups, "the first group has no setOperator")
		case i > 0 && g.SetOp == NoSetOp:
			c.l.Add(at(path, "setOperator"), ErrGroups, "group %d needs a setOperator: union, intersect or except", i+1)
		case int(g.SetOp) >= len(setOpNames):
			c.l.Add(at(path, "setOperator"), ErrGroups, "unknown setOperator %s; use union, intersect or except", g.SetOp)
		}
		c.cond(at(path, "condition"), g.Condition, scope{})
	}
	return c.l.Err()
}

// Validate checks the measure against the schema as FORMAT.md section 3
// requires. It returns a literal nil, or a diag.List with every problem,
// paths relative to the measure ("aggregate.orderBy").
func (m *Measure) Validate(s *schema.Schema) error {
	if m == nil {
		var l diag.List
		l.Add("", ErrSyntax, "the measure is nil")
		return l
	}
	c, ok := newChecker(s, ValidateOptions{}, "")
	if !ok {
		return c.l
	}
	if msg := nameProblem(m.Name); msg != "" {
		c.l.Add("name", ErrName, "%s", msg)
	}
	ent, known := c.relatedEntity("", m.Entity, m.Path)
	if m.Where != nil {
		c.cond("where", m.Where, scope{where: true, entity: ent})
	}
	c.aggregate("aggregate", &m.Aggregate, ent, known, true)
	return c.l.Err()
}

// Type returns the measure's value type: Integer for count and
// countDistinct, Number for sum and avg, the attribute's type for min, max,
// first and last. It returns schema.Invalid when the function is unknown or
// the attribute is not in s.
func (m *Measure) Type(s *schema.Schema) schema.Type {
	if m == nil {
		return schema.Invalid
	}
	switch m.Aggregate.Func {
	case Count, CountDistinct:
		return schema.Integer
	case Sum, Avg:
		return schema.Number
	case Min, Max, First, Last:
		if s == nil {
			return schema.Invalid
		}
		ent, attr, ok := strings.Cut(m.Aggregate.Attribute, ".")
		if !ok {
			return schema.Invalid
		}
		e, ok := s.Entity(ent)
		if !ok {
			return schema.Invalid
		}
		a, ok := e.Attribute(attr)
		if !ok {
			return schema.Invalid
		}
		return a.Type
	}
	return schema.Invalid
}

// checker validates definition nodes against a schema, collecting problems.
type checker struct {
	s    *schema.Schema
	opts ValidateOptions
	self string // the definition's name, for self-references
	// measures are the schema's measures, problems or not; nil until
	// loadMeasures, and for a measure's own validation.
	measures *Measures
	l        diag.List
}

// scope says where a condition is: at the customer level, or in the where
// of a related condition or measure over entity ("" when that entity is
// unknown).
type scope struct {
	where  bool
	entity string
}

func newChecker(s *schema.Schema, opts ValidateOptions, self string) (*checker, bool) {
	c := &checker{s: s, opts: opts, self: self}
	switch {
	case s == nil:
		c.l.Add("", ErrUnknownEntity, "no schema to validate against")
		return c, false
	case s.Customer() == nil:
		c.l.Add("", ErrUnknownEntity, "the schema has no customer entity %q; validate the schema first", s.CustomerEntity)
		return c, false
	}
	return c, true
}

// loadMeasures makes the schema's measures attributes of Measures: ms
// when it was parsed from the checker's schema, else the schema's own.
func (c *checker) loadMeasures(ms *Measures) {
	if ms == nil || ms.schema != c.s {
		ms = MeasuresOf(c.s)
	}
	c.measures = ms
	c.l.Merge("schema", ms.Err())
}

// measureNames lists the schema's measures in order, for suggestions.
func (c *checker) measureNames() []string {
	if c.measures == nil {
		return nil
	}
	return c.measures.names
}

// entityNames lists the names an attribute reference may start with.
func (c *checker) entityNames() []string {
	names := c.s.EntityNames()
	if len(c.measureNames()) > 0 {
		names = append(names, schema.MeasuresEntity)
	}
	return names
}

// attrNames lists the attribute names of the entity (or Measures) ent.
func (c *checker) attrNames(ent string) []string {
	if ent == schema.MeasuresEntity {
		return c.measureNames()
	}
	if e, ok := c.s.Entity(ent); ok {
		return e.AttributeNames()
	}
	return nil
}

// attribute resolves the reference "Entity.Attribute" and returns the
// entity name and the attribute type, or reports a problem at path. Hint
// is the entity to prefer in suggestions for an unqualified name.
func (c *checker) attribute(path, ref, hint string) (string, schema.Type, bool) {
	if ref == "" {
		c.l.Add(path, ErrUnknownAttribute, "the attribute is missing; write it as Entity.Attribute")
		return "", schema.Invalid, false
	}
	entName, attrName, qualified := strings.Cut(ref, ".")
	if !qualified {
		p := c.l.Add(path, ErrUnknownAttribute, "attribute %q must be written as Entity.Attribute", ref)
		p.Suggestion = c.qualify(ref, hint)
		return "", schema.Invalid, false
	}
	if entName == schema.MeasuresEntity {
		var m *Measure
		if c.measures != nil {
			m = c.measures.byName[attrName]
		}
		if m == nil {
			addSuggest(&c.l, path, ErrUnknownAttribute, attrName, c.measureNames(), "Measures has no measure %q", attrName)
			return "", schema.Invalid, false
		}
		return schema.MeasuresEntity, m.Type(c.s), true
	}
	e, ok := c.s.Entity(entName)
	if !ok {
		p := addSuggest(&c.l, path, ErrUnknownEntity, entName, c.entityNames(), "unknown entity %q in %s", entName, clip(ref))
		if p.Suggestion != "" && slices.Contains(c.attrNames(p.Suggestion), attrName) {
			p.Suggestion += "." + attrName
		}
		return "", schema.Invalid, false
	}
	a, ok := e.Attribute(attrName)
	if !ok {
		addSuggest(&c.l, path, ErrUnknownAttribute, attrName, e.AttributeNames(), "%s has no attribute %q", e.Name, attrName)
		return "", schema.Invalid, false
	}
	return e.Name, a.Type, true
}

// qualify suggests "Entity.name" for an unqualified attribute name: the
// hint entity if it has the attribute, else the only entity that has it.
func (c *checker) qualify(name, hint string) string {
	if hint != "" && slices.Contains(c.attrNames(hint), name) {
		return hint + "." + name
	}
	var all []string
	for _, e := range c.entityNames() {
		all = append(all, c.attrNames(e)...)
	}
	if !slices.Contains(all, name) {
		name = nearest(name, all)
		if name == "" {
			return ""
		}
		if hint != "" && slices.Contains(c.attrNames(hint), name) {
			return hint + "." + name
		}
	}
	var found []string
	for _, e := range c.entityNames() {
		if slices.Contains(c.attrNames(e), name) {
			found = append(found, e+"."+name)
		}
	}
	if len(found) == 1 {
		return found[0]
	}
	return ""
}

// cond checks a condition node and its children.
func (c *checker) cond(path string, cond Condition, sc scope) {
	if isNil(cond) {
		c.l.Add(path, ErrSyntax, "the condition is missing")
		return
	}
	switch n := cond.(type) {
	case *And:
		c.list(at(path, "and"), "and", n.Conditions, sc)
	case *Or:
		c.list(at(path, "or"), "or", n.Conditions, sc)
	case *Not:
		c.cond(at(path, "not"), n.Condition, sc)
	case *Predicate:
		c.predicate(path, n, sc)
	case *Related:
		if sc.where {
			c.l.Add(path, ErrWhere, "%s cannot hold a related condition; combine related conditions at the customer level", whereOf(sc))
			return
		}
		c.related(path, n)
	case *SegmentRef:
		if sc.where {
			c.l.Add(path, ErrWhere, "%s cannot reference a segment; reference it at the customer level", whereOf(sc))
			return
		}
		c.segmentRef(path, n)
	}
}

// whereOf names the where of a scope for messages.
func whereOf(sc scope) string {
	if sc.entity == "" {
		return "a where"
	}
	return "the where of related " + sc.entity
}

func (c *checker) list(path, word string, cs []Condition, sc scope) {
	if len(cs) == 0 {
		c.l.Add(path, ErrEmpty, "%s needs at least one condition", word)
		return
	}
	for i, x := range cs {
		c.cond(index(path, i), x, sc)
	}
}

func (c *checker) segmentRef(path string, n *SegmentRef) {
	sp := at(path, "segment")
	switch msg := nameProblem(n.Name); {
	case msg != "":
		c.l.Add(sp, ErrName, "segment reference: %s", msg)
	case n.Name == c.self:
		c.l.Add(sp, ErrSegmentCycle, "segment %s references itself", n.Name)
	case c.opts.Segments == nil || !c.opts.Segments(n.Name):
		c.l.Add(sp, ErrUnknownSegment, "unknown segment %q", n.Name)
	}
	// Whether the segment has the group is the catalog's to say: splits
	// live there.
	if n.Group != "" {
		if msg := nameProblem(n.Group); msg != "" {
			c.l.Add(at(path, "group"), ErrName, "group: %s", msg)
		}
	}
}

func (c *checker) predicate(path string, n *Predicate, sc scope) {
	apath := at(path, "attribute")
	hint := sc.entity
	if !sc.where {
		hint = c.s.CustomerEntity
	}
	ent, typ, ok := c.attribute(apath, n.Attribute, hint)
	if ok {
		switch {
		case sc.where && sc.entity != "" && ent != sc.entity:
			c.l.Add(apath, ErrWhere, "%s names %s; use only attributes of %s", whereOf(sc), n.Attribute, sc.entity)
		case sc.where && ent == schema.MeasuresEntity:
			c.l.Add(apath, ErrWhere, "%s names the measure %s; use it at the customer level", whereOf(sc), n.Attribute)
		case !sc.where && ent != c.s.CustomerEntity && ent != schema.MeasuresEntity:
			c.shorthandPath(apath, ent)
		}
	}
	c.compare(path, n.Attribute, typ, n.Op, n.Value, "a predicate")
	// A missing or unknown operator is reported above.
	if n.IgnoreCase && n.Op != NoOp && int(n.Op) < len(opNames) {
		ip := at(path, "ignoreCase")
		switch {
		case !ignoreCaseOp(n.Op):
			c.l.Add(ip, ErrOperatorType, "ignoreCase does not apply to operator %s; use it with equals, notEquals, in, notIn, contains, notContains, startsWith, endsWith or matches", n.Op)
		case typ != schema.Invalid && typ != schema.String:
			c.l.Add(ip, ErrOperatorType, "ignoreCase applies to string attributes only; %s is %s", n.Attribute, typ)
		}
	}
}

// shorthandPath checks that a customer-level predicate on another entity,
// shorthand for a related condition without path, has exactly one path.
func (c *checker) shorthandPath(path, ent string) {
	switch paths := c.s.Paths(ent); {
	case len(paths) == 0:
		c.l.Add(path, ErrPath, "%s has no relationship path to %s", ent, c.s.CustomerEntity)
	case len(paths) > 1:
		c.l.Add(path, ErrPath, "ambiguous relationship path from %s: write a related condition and specify path, one of %s", ent, listPaths(paths))
	}
}

func listPaths(paths []schema.Path) string {
	const most = 8 // a message lists a few; the rest are counted
	parts := make([]string, 0, min(len(paths), most)+1)
	for _, p := range paths[:min(len(paths), most)] {
		parts = append(parts, "["+p.String()+"]")
	}
	if len(paths) > most {
		parts = append(parts, fmt.Sprintf("and %d more", len(paths)-most))
	}
	return strings.Join(parts, ", ")
}

// relatedEntity checks a related entity and its relationship path. It
// returns the entity's name and whether the entity exists.
func (c *checker) relatedEntity(path, name string, relPath []string) (string, bool) {
	rpath := at(path, "related")
	switch {
	case name == "":
		c.l.Add(rpath, ErrUnknownEntity, "the related entity is missing")
		return "", false
	case name == c.s.CustomerEntity:
		c.l.Add(rpath, ErrPath, "related must be an entity other than the customer entity %s; use a predicate on %s directly", name, name)
		return "", false
	case name == schema.MeasuresEntity:
		c.l.Add(rpath, ErrPath, "Measures is customer-level, not related; use a predicate on Measures.<name> directly")
		return "", false
	}
	if _, ok := c.s.Entity(name); !ok {
		var related []string
		for _, e := range c.s.EntityNames() {
			if len(c.s.Paths(e)) > 0 {
				related = append(related, e)
			}
		}
		addSuggest(&c.l, rpath, ErrUnknownEntity, name, related, "unknown entity %q", name)
		return "", false
	}
	paths := c.s.Paths(name)
	pp := at(path, "path")
	switch {
	case len(paths) == 0:
		c.l.Add(rpath, ErrPath, "%s has no relationship path to %s", name, c.s.CustomerEntity)
	case len(relPath) == 0:
		if len(paths) > 1 {
			c.l.Add(pp, ErrPath, "ambiguous relationship path from %s: specify path, one of %s", name, listPaths(paths))
		}
	case !c.s.ValidPath(name, relPath):
		var onPaths []string
		for _, p := range paths {
			for _, r := range p {
				if !slices.Contains(onPaths, r) {
					onPaths = append(onPaths, r)
				}
			}
		}
		unknown := false
		for i, r := range relPath {
			if _, ok := c.s.Relationship(r); !ok {
				unknown = true
				p := addSuggest(&c.l, index(pp, i), ErrPath, r, onPaths, "unknown relationship %q", r)
				if p.Suggestion == "" {
					var all []string
					for _, rel := range c.s.Relationships {
						all = append(all, rel.Name)
					}
					p.Suggestion = nearest(r, all)
				}
			}
		}
		if !unknown {
			c.l.Add(pp, ErrPath, "path [%s] does not lead from %s to %s; use one of %s",
				schema.Path(relPath), name, c.s.CustomerEntity, listPaths(paths))
		}
	}
	return name, true
}

func (c *checker) related(path string, n *Related) {
	ent, known := c.relatedEntity(path, n.Entity, n.Path)
	if n.Where != nil {
		c.cond(at(path, "where"), n.Where, scope{where: true, entity: ent})
	}
	if n.Sequence != nil || n.Change != nil {
		c.behaviour(path, n, ent, known)
		return
	}
	if n.Aggregate == nil {
		if int(n.Match) >= len(matchNames) {
			c.l.Add(at(path, "match"), ErrAggregate, "unknown match %s; use any, all or none", n.Match)
		}
		if n.Op != NoOp {
			c.l.Add(at(path, "operator"), ErrAggregate, "a related condition with match takes no operator; add an aggregate to compare")
		}
		if n.Value.Kind != NoValue {
			c.l.Add(at(path, "value"), ErrAggregate, "a related condition with match takes no value; add an aggregate to compare")
		}
		return
	}
	if n.Match != MatchAny {
		c.l.Add(at(path, "match"), ErrAggregate, "a related condition takes match or aggregate, not both")
	}
	rt := c.aggregate(at(path, "aggregate"), n.Aggregate, ent, known, false)
	subject := "the aggregate"
	if n.Aggregate.Func != NoFunc {
		var b strings.Builder
		writeAggregate(&b, n.Aggregate)
		subject = b.String()
	}
	if n.Op == NoOp {
		c.l.Add(at(path, "operator"), ErrAggregate, "%s needs an operator and a value to compare it with", subject)
		return
	}
	c.compare(path, subject, rt, n.Op, n.Value, "")
}

// behaviour checks a related condition's sequence or change, which decide
// instead of match and aggregate.
func (c *checker) behaviour(path string, n *Related, ent string, known bool) {
	way := "sequence"
	if n.Sequence == nil {
		way = n.Change.Trend.String()
	}
	switch {
	case n.Sequence != nil && n.Change != nil:
		c.l.Add(path, ErrAggregate, "a related condition takes sequence or %s, not both", n.Change.Trend)
	case n.Aggregate != nil || n.Match != MatchAny:
		c.l.Add(path, ErrAggregate, "a related condition with %s takes no match or aggregate", way)
	case n.Op != NoOp || n.Value.Kind != NoValue:
		c.l.Add(path, ErrAggregate, "a related condition with %s takes no operator or value", way)
	}
	wp := at(path, way)
	timeAttr := func(ref string) {
		ap := at(wp, "attribute")
		t := c.rowAttribute(ap, ref, way, ent, known)
		if t != schema.Invalid && !t.Temporal() {
			c.l.Add(ap, ErrOperatorType, "%s orders rows by a date or datetime attribute; %s is %s", way, ref, t)
		}
	}
	days := func(key string, v Value) {
		p := at(wp, key)
		switch {
		case v.Kind == NoValue:
			c.l.Add(p, ErrValue, "%s needs %s, a positive whole number of days", way, key)
		case v.Kind != NumberValue:
			c.l.Add(p, ErrValue, "%s needs a positive whole number of days, not %s", key, describeValue(v))
		default:
			if _, err := exact.Days(string(v.Num)); err != nil {
				c.l.Add(p, ErrValue, "%s needs a positive whole number of days, not %s", key, clip(string(v.Num)))
			}
		}
	}
	sc := scope{where: true, entity: ent}
	if s := n.Sequence; s != nil {
		timeAttr(s.Attribute)
		c.cond(at(wp, "first"), s.First, sc)
		c.cond(at(wp, "then"), s.Then, sc)
		days("withinDays", s.WithinDays)
		return
	}
	ch := n.Change
	if ch.Trend != Stopped && ch.Trend != Started {
		c.l.Add(path, ErrAggregate, "unknown trend %s; use stopped or started", ch.Trend)
	}
	timeAttr(ch.Attribute)
	days("lastDays", ch.LastDays)
	days("priorDays", ch.PriorDays)
}

// Location returns the time zone of a definition's TimeZone: UTC for "",
// else the IANA time zone of that name. Local, which means a different zone
// on every machine, is not one.
func Location(name string) (*time.Location, error) {
	switch name {
	case "":
		return time.UTC, nil
	case "Local":
		return nil, fmt.Errorf("timeZone Local depends on the machine; name an IANA time zone such as Europe/Paris, or UTC")
	}
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(name)
	if err != nil || strings.HasPrefix(name, "/") || strings.Contains(name, "..") {
		return nil, fmt.Errorf("timeZone %s is not an IANA time zone name such as Europe/Paris, America/New_York or UTC", clip(quoteJSON(name)))
	}
	locations.Store(name, loc)
	return loc, nil
}

// locations keeps the zones Location loaded: a zone is read from the
// time zone database once per process, not at every validation and
// compile.
var locations sync.Map

// aggregate checks an aggregate over the rows of ent (known when it
// exists) and returns its result type, or Invalid when unknown.
func (c *checker) aggregate(path string, a *Aggregate, ent string, known, measure bool) schema.Type {
	fp := at(path, "function")
	switch {
	case a.Func == NoFunc:
		c.l.Add(fp, ErrAggregate, "an aggregate needs a function: %s", strings.Join(funcNames[1:], ", "))
		return schema.Invalid
	case int(a.Func) >= len(funcNames):
		c.l.Add(fp, ErrAggregate, "unknown function %s; use one of %s", a.Func, strings.Join(funcNames[1:], ", "))
		return schema.Invalid
	case (a.Func == First || a.Func == Last) && !measure:
		c.l.Add(fp, ErrAggregate, "%s is allowed in measures only", a.Func)
		return schema.Invalid
	}
	ap := at(path, "attribute")
	typ := schema.Invalid
	if a.Func == Count {
		if a.Attribute != "" {
			c.l.Add(ap, ErrAggregate, "count takes no attribute; use countDistinct to count distinct values")
		}
	} else {
		typ = c.rowAttribute(ap, a.Attribute, "aggregate "+a.Func.String(), ent, known)
	}
	switch a.Func {
	case Sum, Avg:
		if typ != schema.Invalid && !typ.Numeric() {
			c.l.Add(ap, ErrAggregate, "aggregate %s needs a numeric attribute, %s is %s", a.Func, a.Attribute, typ)
		}
	case Min, Max:
		if typ != schema.Invalid && !typ.Numeric() && !typ.Temporal() {
			c.l.Add(ap, ErrAggregate, "aggregate %s needs a numeric, date or datetime attribute, %s is %s", a.Func, a.Attribute, typ)
			typ = schema.Invalid
		}
	}
	if a.Period != NoPeriod {
		pp := at(path, "period")
		switch {
		case int(a.Period) >= len(periodNames):
			c.l.Add(pp, ErrAggregate, "unknown period %s; use day, week or month", a.Period)
		case a.Func != CountDistinct:
			c.l.Add(pp, ErrAggregate, "period applies to countDistinct only, not %s", a.Func)
		case typ != schema.Invalid && !typ.Temporal():
			c.l.Add(pp, ErrAggregate, "period counts the calendar periods of a date or datetime; %s is %s", a.Attribute, typ)
		}
	}
	op := at(path, "orderBy")
	if a.Func == First || a.Func == Last {
		t := c.rowAttribute(op, a.OrderBy, "orderBy of "+a.Func.String(), ent, known)
		if t != schema.Invalid && !t.Ordered() {
			c.l.Add(op, ErrAggregate, "orderBy needs an attribute of an ordered type (integer, number, string, date or datetime), %s is %s", a.OrderBy, t)
		}
	} else if a.OrderBy != "" {
		c.l.Add(op, ErrAggregate, "orderBy applies to first and last only, not %s", a.Func)
	}
	switch a.Func {
	case Count, CountDistinct:
		return schema.Integer
	case Sum, Avg:
		return schema.Number
	}
	return typ
}

// rowAttribute resolves an attribute that must belong to the related
// entity ent, for an aggregate or its orderBy.
func (c *checker) rowAttribute(path, ref, what, ent string, known bool) schema.Type {
	if ref == "" {
		if known {
			c.l.Add(path, ErrAggregate, "%s needs an attribute of %s", what, ent)
		} else {
			c.l.Add(path, ErrAggregate, "%s needs an attribute of the related entity", what)
		}
		return schema.Invalid
	}
	e, t, ok := c.attribute(path, ref, ent)
	if !ok {
		return schema.Invalid
	}
	if known && e != ent {
		p := c.l.Add(path, ErrAggregate, "%s needs an attribute of %s, not %s", what, ent, ref)
		if _, attr, _ := strings.Cut(ref, "."); slices.Contains(c.attrNames(ent), attr) {
			p.Suggestion = ent + "." + attr
		}
		return schema.Invalid
	}
	return t
}

// compare checks an operator and its value against the type of subject
// (Invalid when unknown). What names the node for a missing operator.
func (c *checker) compare(path, subject string, typ schema.Type, op Op, v Value, what string) {
	opath := at(path, "operator")
	switch {
	case op == NoOp:
		c.l.Add(opath, ErrUnknownOperator, "%s needs an operator", what)
		return
	case int(op) >= len(opNames):
		c.l.Add(opath, ErrUnknownOperator, "unknown operator %s", op)
		return
	}
	if typ != schema.Invalid && !op.Allows(typ) {
		c.l.Add(opath, ErrOperatorType, "operator %s does not apply to %s, which is %s; use one of %s",
			op, subject, typ, strings.Join(opsFor(typ), ", "))
		typ = schema.Invalid
	}
	c.value(at(path, "value"), subject, typ, op, v)
}

// Operators returns the operators a predicate on an attribute of type t
// may use (those whose Allows(t) holds), in the order FORMAT.md lists them.
func Operators(t schema.Type) []Op {
	var out []Op
	for o := NoOp + 1; int(o) < len(opNames); o++ {
		if o.Allows(t) {
			out = append(out, o)
		}
	}
	return out
}

// Allows reports whether the operator applies to values of type t, per
// FORMAT.md's operator table. It is false for NoOp, unknown operators and
// schema.Invalid.
func (o Op) Allows(t schema.Type) bool {
	if t == schema.Invalid || t > schema.Boolean {
		return false
	}
	switch o {
	case Equals, NotEquals, IsNull, IsNotNull:
		return true
	case In, NotIn:
		return t != schema.Boolean
	case GreaterThan, GreaterThanOrEqual, LessThan, LessThanOrEqual:
		return t.Ordered()
	case Between:
		return t.Numeric() || t.Temporal()
	case Contains, NotContains, StartsWith, EndsWith:
		return t == schema.String
	case IsTrue, IsFalse:
		return t == schema.Boolean
	case InLastDays, InNextDays, AnniversaryInLastDays, AnniversaryInNextDays:
		return t.Temporal()
	case Matches:
		return t == schema.String
	}
	return false
}

// opsFor lists the operators that apply to t.
func opsFor(t schema.Type) []string {
	var out []string
	for i := 1; i < len(opNames); i++ {
		if Op(i).Allows(t) {
			out = append(out, opNames[i])
		}
	}
	return out
}

// CompilePattern compiles the regular expression of a matches operator:
// RE2 syntax as Go's regexp reads it, at most MaxPatternLength bytes,
// unanchored (a match anywhere in the value), and with ignoreCase the (?i)
// flag, which folds case as ignoreCase does elsewhere.
func CompilePattern(pattern string, ignoreCase bool) (*regexp.Regexp, error) {
	if len(pattern) > MaxPatternLength {
		return nil, fmt.Errorf("the regular expression has %s bytes; at most %s are allowed",
			exact.FormatCount(len(pattern)), exact.FormatCount(MaxPatternLength))
	}
	if ignoreCase {
		pattern = "(?i)" + pattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("matches needs an RE2 regular expression: %v", err)
	}
	return re, nil
}

func ignoreCaseOp(op Op) bool {
	switch op {
	case Equals, NotEquals, In, NotIn, Contains, NotContains, StartsWith, EndsWith, Matches:
		return true
	}
	return false
}

// value checks an operator's value against typ (Invalid when unknown:
// then only the value's presence and shape are checked).
func (c *checker) value(path, subject string, typ schema.Type, op Op, v Value) {
	if !op.TakesValue() {
		if v.Kind != NoValue {
			c.l.Add(path, ErrValue, "%s takes no value", op)
		}
		return
	}
	switch v.Kind {
	case NoValue:
		c.l.Add(path, ErrValue, "%s needs a value", op)
		return
	case NullValue:
		c.nullValue(path, op)
		return
	}
	switch op {
	case In, NotIn:
		switch {
		case v.Kind != ListValue:
			c.l.Add(path, ErrValue, "%s needs an array of values, not %s", op, describeValue(v))
		case len(v.List) == 0:
			c.l.Add(path, ErrValue, "%s needs at least one value", op)
		case len(v.List) > MaxInValues:
			c.l.Add(path, ErrLimit, "%s has %s values; at most %s are allowed (for more, keep them as a segment or an attribute)",
				op, exact.FormatCount(len(v.List)), exact.FormatCount(MaxInValues))
		default:
			for i, x := range v.List {
				c.scalar(index(path, i), subject, typ, op, x)
			}
		}
	case Between:
		if v.Kind != ListValue || len(v.List) != 2 {
			c.l.Add(path, ErrValue, "between needs an array of two values [low, high], not %s", describeValue(v))
			return
		}
		lo, okLo := c.scalar(index(path, 0), subject, typ, op, v.List[0])
		hi, okHi := c.scalar(index(path, 1), subject, typ, op, v.List[1])
		if okLo && okHi && typ != schema.Invalid && lo.Above(hi) {
			c.l.Add(path, ErrValue, "%v", exact.BetweenOrderError(v.List[0].String(), v.List[1].String()))
		}
	case Matches:
		if v.Kind != StringValue {
			c.l.Add(path, ErrValue, "matches needs a regular expression string, not %s", describeValue(v))
			return
		}
		if _, err := CompilePattern(v.Str, false); err != nil {
			c.l.Add(path, ErrValue, "%v", err)
		}
	case InLastDays, InNextDays, AnniversaryInLastDays, AnniversaryInNextDays:
		if v.Kind != NumberValue {
			c.l.Add(path, ErrValue, "%s needs a positive whole number of days, not %s", op, describeValue(v))
			return
		}
		if _, err := exact.Days(string(v.Num)); err != nil {
			c.l.Add(path, ErrValue, "%s needs a positive whole number of days, not %s", op, clip(string(v.Num)))
		}
	default:
		c.scalar(path, subject, typ, op, v)
	}
}

func (c *checker) nullValue(path string, op Op) {
	p := c.l.Add(path, ErrValue, "the value is null, and a comparison with null is always false; use the operator isNull or isNotNull")
	if op == NotEquals || op == NotIn {
		p.Suggestion = IsNotNull.String()
	} else {
		p.Suggestion = IsNull.String()
	}
}

// scalar checks one scalar value against typ and returns it as a key.
// valueWanted names the values an attribute of each type compares with.
var valueWanted = map[schema.Type]string{
	schema.Integer:  "a number",
	schema.Number:   "a number",
	schema.String:   "a string",
	schema.Boolean:  "true or false",
	schema.Date:     "a YYYY-MM-DD date string",
	schema.Datetime: "an RFC 3339 datetime string or a YYYY-MM-DD date string",
}

func (c *checker) scalar(path, subject string, typ schema.Type, op Op, v Value) (exact.Key, bool) {
	switch v.Kind {
	case NullValue:
		c.nullValue(path, op)
		return exact.Key{}, false
	case ListValue, OtherValue:
		c.l.Add(path, ErrValue, "%s takes a single value here, not %s", op, describeValue(v))
		return exact.Key{}, false
	case NoValue:
		c.l.Add(path, ErrValue, "the value is missing")
		return exact.Key{}, false
	}
	if typ == schema.Invalid {
		return exact.Key{}, true
	}
	wrong := func() (exact.Key, bool) {
		c.l.Add(path, ErrValue, "%s is %s: the value must be %s, not %s", subject, typ, valueWanted[typ], describeValue(v))
		return exact.Key{}, false
	}
	switch typ {
	case schema.Integer, schema.Number:
		if v.Kind != NumberValue {
			return wrong()
		}
		x, err := exact.ParseNumber(string(v.Num))
		if err != nil {
			c.l.Add(path, ErrValue, "%v", err)
			return exact.Key{}, false
		}
		return x.Key(), true
	case schema.String:
		if v.Kind != StringValue {
			return wrong()
		}
		return exact.Key{}, true
	case schema.Boolean:
		if v.Kind != BoolValue {
			return wrong()
		}
		return exact.Key{}, true
	case schema.Date:
		if v.Kind != StringValue {
			return wrong()
		}
		d, err := exact.ParseDate(v.Str)
		if err != nil {
			if _, err2 := exact.ParseDatetime(v.Str); err2 == nil {
				c.l.Add(path, ErrValue, "%s is date: the value must be a YYYY-MM-DD date, not the datetime %s", subject, clip(quoteJSON(v.Str)))
			} else {
				c.l.Add(path, ErrValue, "%v", err)
			}
			return exact.Key{}, false
		}
		return exact.DayKey(d), true
	case schema.Datetime:
		if v.Kind != StringValue {
			return wrong()
		}
		t, err := exact.ParseDatetime(v.Str)
		if err != nil {
			c.l.Add(path, ErrValue, "%v", err)
			return exact.Key{}, false
		}
		return exact.TimeKey(t), true
	}
	return exact.Key{}, true
}

// describeValue names a value's JSON type, with the value for scalars.
func describeValue(v Value) string {
	switch v.Kind {
	case NoValue:
		return "no value"
	case NullValue:
		return "null"
	case BoolValue:
		return "boolean " + strconv.FormatBool(v.Bool)
	case NumberValue:
		return "number " + clip(string(v.Num))
	case StringValue:
		return "string " + clip(quoteJSON(v.Str))
	case ListValue:
		return "an array"
	case OtherValue:
		return "an object"
	}
	return fmt.Sprintf("a value of kind %s", v.Kind)
}
