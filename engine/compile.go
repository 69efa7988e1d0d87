package engine

import (
	"fmt"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// ErrCompile is wrapped by every error Compile returns for a definition
// that does not fit the snapshot beyond what Validate reports.
var ErrCompile = diag.NewSentinel("engine.compile", "compile")

// ErrUnknownCustomer is returned by Explain for a customer id that is not
// one of the snapshot's.
var ErrUnknownCustomer = diag.NewSentinel("engine.unknown_customer", "unknown customer")

// Options configures Compile. The zero value is ready to use: no segment
// references can be resolved, evaluation uses every core.
type Options struct {
	// Segments holds the members of the segments that the definition may
	// reference by name; a reference to a group of a split segment
	// ({"segment": NAME, "group": GROUP}) is looked up as NAME + "/" +
	// GROUP. The bitmaps are read, never modified; they must not change
	// while plans compiled with them are evaluated.
	Segments map[string]*roaring.Bitmap
	// Cache, if not nil, keeps condition results across evaluations of
	// plans over the same snapshot; it is ignored for other snapshots.
	Cache *Cache
	// CandidateShare sets candidate restriction: the share of customers
	// below which a conjunction evaluates its later conditions only for
	// its candidates, the customers still in the running, and a
	// disjunction its later disjuncts only for the customers not yet in
	// (related conditions over rows clustered by customer, and string
	// predicates). Zero chooses per condition: a related condition that
	// runs customer by customer (a match, count, the sum or average of a
	// number, the least or greatest value) is restricted below r/(r+16) of
	// the customers, with r its entity's rows per customer (0.38 for ten
	// orders a customer); a string predicate on a plain column below 0.2
	// for startsWith and endsWith, never for contains with ignoreCase
	// (its search of the whole column is faster), below 0.5 for the
	// others; the others below 0.1. A negative value turns candidate
	// restriction off. Results are the same either way.
	CandidateShare float64
	// Parallelism bounds the goroutines one evaluation uses; zero means
	// runtime.GOMAXPROCS(0).
	Parallelism int
}

// Plan is a definition compiled against one snapshot. It is immutable and
// safe for concurrent use by many goroutines; each Eval allocates its own
// scratch space. A Plan keeps its snapshot's columns in use: it must not be
// evaluated after the snapshot is released.
type Plan struct {
	def    *segment.Definition
	snap   *storage.Snapshot
	opts   Options
	n      int
	groups []group
}

type group struct {
	op   segment.SetOp
	node node
}

// compiler carries what one Compile call shares across nodes: column views
// and measures are built once per plan.
type compiler struct {
	snap     *storage.Snapshot
	sch      *schema.Schema
	opts     Options
	vecs     map[*storage.Column]*column.Vec
	measures map[string]*measureNode
	// mdef finds the definition of the measure "Measures.name".
	mdef     func(name string) (*segment.Measure, bool)
	problems diag.List
	// loc is the definition's time zone; tz its name, "" for UTC.
	loc *time.Location
	tz  string
}

// newCompiler returns a compiler for def over snap; def validated.
func newCompiler(def *segment.Definition, snap *storage.Snapshot, opts Options) *compiler {
	loc, err := segment.Location(def.TimeZone)
	if err != nil {
		loc = time.UTC // Validate reported it
	}
	return &compiler{snap: snap, sch: snap.Schema(), opts: opts, vecs: map[*storage.Column]*column.Vec{},
		measures: map[string]*measureNode{}, mdef: Measures(snap).Lookup, loc: loc, tz: def.TimeZone}
}

// Compile checks def against the snapshot's schema (every problem at once,
// as a diag.List whose problems wrap the segment package's sentinels) and
// builds a Plan. Segment references resolve through opts.Segments.
func Compile(def *segment.Definition, snap *storage.Snapshot, opts Options) (*Plan, error) {
	if def == nil || snap == nil {
		return nil, fmt.Errorf("%w: nil definition or snapshot", ErrCompile)
	}
	sch := snap.Schema()
	ms := Measures(snap)
	vo := segment.ValidateOptions{
		Segments: func(name string) bool { _, ok := opts.Segments[name]; return ok },
		Measures: ms,
	}
	if err := def.ValidateWith(sch, vo); err != nil {
		return nil, err
	}
	c := newCompiler(def, snap, opts)
	p := &Plan{def: def, snap: snap, opts: opts, n: snap.NumCustomers()}
	for i, g := range def.Groups {
		n := c.customer(fmt.Sprintf("groups[%d].condition", i), g.Condition)
		p.groups = append(p.groups, group{op: g.SetOp, node: c.cached(n, g.Condition)})
	}
	if err := c.problems.Err(); err != nil {
		return nil, err
	}
	return p, nil
}

// Definition returns the definition the plan was compiled from.
func (p *Plan) Definition() *segment.Definition { return p.def }

// Snapshot returns the snapshot the plan was compiled against.
func (p *Plan) Snapshot() *storage.Snapshot { return p.snap }

func (c *compiler) fail(path string, format string, args ...any) node {
	c.problems.Add(path, ErrCompile, format, args...)
	return constNode{}
}

func splitAttr(ref string) (entity, attr string, ok bool) {
	entity, attr, ok = strings.Cut(ref, ".")
	return entity, attr, ok && entity != "" && attr != ""
}

func (c *compiler) column(t *storage.Table, attr string) (*storage.Column, *column.Vec, bool) {
	col := t.Column(attr)
	if col == nil {
		return nil, nil, false
	}
	if v, ok := c.vecs[col]; ok {
		return col, v, true
	}
	v, err := column.View(col)
	if err != nil {
		c.problems.Add("", ErrCompile, "%v", err)
		return nil, nil, false
	}
	c.vecs[col] = v
	return col, v, true
}

// customer compiles a condition over customers.
func (c *compiler) customer(path string, cond segment.Condition) node {
	switch n := cond.(type) {
	case *segment.And:
		kids := make([]node, len(n.Conditions))
		for i, x := range n.Conditions {
			kids[i] = c.customer(fmt.Sprintf("%s.and[%d]", path, i), x)
		}
		return andNode{byCost(kids)}
	case *segment.Or:
		kids := make([]node, len(n.Conditions))
		for i, x := range n.Conditions {
			kids[i] = c.customer(fmt.Sprintf("%s.or[%d]", path, i), x)
		}
		return orNode{byCost(kids)}
	case *segment.Not:
		return notNode{c.customer(path+".not", n.Condition)}
	case *segment.SegmentRef:
		key := n.Name
		if n.Group != "" {
			key = n.Name + "/" + n.Group // a slash is in no name
		}
		bm, ok := c.opts.Segments[key]
		if !ok && n.Group != "" {
			return c.fail(path+".group", "unknown group %q of segment %q", n.Group, n.Name)
		}
		if !ok {
			return c.fail(path+".segment", "unknown segment %q", n.Name)
		}
		return segmentNode{bm}
	case *segment.Predicate:
		entity, attr, ok := splitAttr(n.Attribute)
		if !ok {
			return c.fail(path+".attribute", "attribute %q is not Entity.Attribute", n.Attribute)
		}
		switch entity {
		case c.sch.CustomerEntity:
			col, v, ok := c.column(c.snap.Customers(), attr)
			if !ok {
				return c.fail(path+".attribute", "unknown attribute %q", n.Attribute)
			}
			pr, err := newPredicateIn(col.Attr.Type, n.Op, n.Value, n.IgnoreCase, c.loc)
			if err != nil {
				return c.fail(path, "%v", err)
			}
			return c.cached(predNode{v: v, narrow: column.Narrow(col, v), p: pr}, n)
		case schema.MeasuresEntity:
			m := c.measure(path+".attribute", attr)
			if m == nil {
				return constNode{}
			}
			pr, err := newPredicateIn(m.agg.storageType, n.Op, n.Value, n.IgnoreCase, c.loc)
			if err != nil {
				return c.fail(path, "%v", err)
			}
			return c.cached(measurePredNode{m: m, p: pr}, n)
		default:
			// Shorthand for a related condition, match any.
			return c.cached(c.related(path, &segment.Related{Entity: entity, Where: n}), n)
		}
	case *segment.Related:
		return c.cached(c.related(path, n), n)
	case nil:
		return c.fail(path, "missing condition")
	}
	return c.fail(path, "unknown condition %T", cond)
}

// link resolves a related entity and its relationship path.
func (c *compiler) link(path, entity string, rel []string) (*storage.Table, *storage.Links, bool) {
	t := c.snap.Table(entity)
	if t == nil || entity == c.sch.CustomerEntity {
		c.fail(path, "%q is not a related entity", entity)
		return nil, nil, false
	}
	p := schema.Path(rel)
	if len(p) == 0 {
		paths := c.sch.Paths(entity)
		if len(paths) != 1 {
			c.fail(path, "entity %s has %d relationship paths to the customer", entity, len(paths))
			return nil, nil, false
		}
		p = paths[0]
	}
	l := c.snap.Links(entity, p)
	if l == nil {
		c.fail(path+".path", "%s is not a relationship path from %s", p, entity)
		return nil, nil, false
	}
	return t, l, true
}

func (c *compiler) related(path string, n *segment.Related) node {
	t, l, ok := c.link(path, n.Entity, n.Path)
	if !ok {
		return constNode{}
	}
	switch {
	case n.Sequence != nil:
		return c.sequence(path, n, t, l)
	case n.Change != nil:
		return c.change(path, n, t, l)
	}
	r := &relatedNode{links: l, rows: t.NumRows, match: n.Match}
	if n.Where != nil {
		r.where = c.rows(path+".where", t, n.Where)
	}
	if n.Aggregate != nil {
		a, ok := c.aggregate(path+".aggregate", t, n.Entity, *n.Aggregate)
		if !ok {
			return constNode{}
		}
		r.agg = a
		pr, err := newPredicateIn(a.storageType, n.Op, n.Value, false, c.loc)
		if err != nil {
			return c.fail(path, "%v", err)
		}
		r.cmp = pr
	}
	return r
}

// rows compiles a where condition over the rows of table t.
func (c *compiler) rows(path string, t *storage.Table, cond segment.Condition) rowNode {
	switch n := cond.(type) {
	case *segment.And:
		kids := make([]rowNode, len(n.Conditions))
		for i, x := range n.Conditions {
			kids[i] = c.rows(fmt.Sprintf("%s.and[%d]", path, i), t, x)
		}
		return rowAnd{kids}
	case *segment.Or:
		kids := make([]rowNode, len(n.Conditions))
		for i, x := range n.Conditions {
			kids[i] = c.rows(fmt.Sprintf("%s.or[%d]", path, i), t, x)
		}
		return rowOr{kids}
	case *segment.Not:
		return rowNot{c.rows(path+".not", t, n.Condition)}
	case *segment.Predicate:
		entity, attr, ok := splitAttr(n.Attribute)
		if !ok || entity != t.Entity.Name {
			c.fail(path+".attribute", "where of %s names %q", t.Entity.Name, n.Attribute)
			return rowConst{}
		}
		col, v, ok := c.column(t, attr)
		if !ok {
			c.fail(path+".attribute", "unknown attribute %q", n.Attribute)
			return rowConst{}
		}
		pr, err := newPredicateIn(col.Attr.Type, n.Op, n.Value, n.IgnoreCase, c.loc)
		if err != nil {
			c.fail(path, "%v", err)
			return rowConst{}
		}
		return rowPred{v: v, narrow: column.Narrow(col, v), p: pr}
	}
	c.fail(path, "where of %s allows and, or, not and predicates only", t.Entity.Name)
	return rowConst{}
}

// aggregate compiles an aggregate over the rows of t.
func (c *compiler) aggregate(path string, t *storage.Table, entity string, a segment.Aggregate) (*aggSpec, bool) {
	spec := &aggSpec{fn: a.Func}
	attrVec := func(field, ref string) (*storage.Column, *column.Vec, bool) {
		e, attr, ok := splitAttr(ref)
		if !ok || e != entity {
			c.fail(path+"."+field, "aggregate %s must be an attribute of %s, not %q", field, entity, ref)
			return nil, nil, false
		}
		col, v, ok := c.column(t, attr)
		if !ok {
			c.fail(path+"."+field, "unknown attribute %q", ref)
			return nil, nil, false
		}
		return col, v, true
	}
	if a.Func != segment.Count {
		col, v, ok := attrVec("attribute", a.Attribute)
		if !ok {
			return nil, false
		}
		spec.attr, spec.attrType, spec.col = v, col.Attr.Type, col
		if a.Period != segment.NoPeriod {
			if a.Func != segment.CountDistinct || !col.Attr.Type.Temporal() {
				c.fail(path+".period", "period applies to countDistinct of a date or datetime")
				return nil, false
			}
			spec.attr = periodVec(v, col.Attr.Type, a.Period, c.loc)
			spec.attrType = schema.Integer
		}
	}
	if a.Func == segment.First || a.Func == segment.Last {
		_, v, ok := attrVec("orderBy", a.OrderBy)
		if !ok {
			return nil, false
		}
		spec.orderBy = v
		_, kv, ok := c.column(t, t.Entity.Key)
		if !ok {
			return nil, false
		}
		spec.key = kv
	}
	switch a.Func {
	case segment.Count, segment.CountDistinct:
		spec.storageType = schema.Integer
	case segment.Sum, segment.Avg:
		spec.storageType = schema.Number
	case segment.Min, segment.Max, segment.First, segment.Last:
		spec.storageType = spec.attrType
	default:
		c.fail(path+".function", "unknown aggregate function %s", a.Func)
		return nil, false
	}
	if a.Func == segment.Sum || a.Func == segment.Avg {
		if !spec.attrType.Numeric() {
			c.fail(path+".attribute", "%s needs a numeric attribute", a.Func)
			return nil, false
		}
	}
	return spec, true
}

// measure returns the compiled measure named name, compiling it once.
func (c *compiler) measure(path, name string) *measureNode {
	if m, ok := c.measures[name]; ok {
		return m
	}
	def, ok := c.mdef(name)
	if !ok {
		c.fail(path, "unknown measure %q", name)
		return nil
	}
	t, l, ok := c.link(path, def.Entity, def.Path)
	if !ok {
		return nil
	}
	m := &measureNode{links: l, rows: t.NumRows}
	if def.Where != nil {
		m.where = c.rows(path, t, def.Where)
	}
	a, ok := c.aggregate(path, t, def.Entity, def.Aggregate)
	if !ok {
		return nil
	}
	m.agg = a
	c.measures[name] = m
	return m
}
