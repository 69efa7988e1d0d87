package sqlgen

import (
	"strings"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// Conditions compile to SQL boolean expressions with FORMAT.md's
// two-valued logic. SQL's logic has a third value, NULL, which a
// comparison with a null column gives. Where a condition is used as it
// is (a WHERE, under AND and OR, in CASE WHEN), NULL filters like false,
// which is FORMAT.md's meaning; under NOT it would not (NOT NULL is NULL,
// where the complement of false is true). So a predicate under a NOT is
// guarded, "x IS NOT NULL AND ...", which makes it false, not NULL, on
// null. The guard flag passed down says whether the node is under a NOT.
// Related conditions and segment references compile to IN over subqueries
// without nulls, which are never NULL.

// exprKind says how an expression combines, for parentheses.
type exprKind uint8

const (
	leafExpr exprKind = iota
	andExpr
	orExpr
)

// expr is a compiled condition.
type expr struct {
	sql  string
	kind exprKind
	// negated is x of NOT (x), which a NOT over this one gives back: NOT
	// is its own inverse in SQL's logic too, and ClickHouse 18.16 fails
	// on NOT (NOT (x)) inside an aggregate.
	negated *expr
}

func leaf(sql string) expr { return expr{sql: sql} }

// col is a column or aggregate a predicate compares: raw is the
// expression as stored (for IS NULL), val its Dialect.Value form.
type col struct {
	raw, val string
	t        schema.Type
}

func (c *compiler) and(xs ...expr) expr { return c.join(andExpr, "AND", xs) }
func (c *compiler) or(xs ...expr) expr  { return c.join(orExpr, "OR", xs) }

func (c *compiler) join(kind exprKind, op string, xs []expr) expr {
	if len(xs) == 1 {
		return xs[0]
	}
	parts := make([]string, len(xs))
	multi := false
	for i, x := range xs {
		s := x.sql
		if x.kind != leafExpr && x.kind != kind {
			s = paren(s)
		}
		parts[i] = s
		multi = multi || strings.Contains(s, "\n")
	}
	if multi {
		return expr{sql: strings.Join(parts, "\n"+op+"\n"), kind: kind}
	}
	return expr{sql: strings.Join(parts, " "+op+" "), kind: kind}
}

func (c *compiler) not(x expr) expr {
	if x.negated != nil {
		return *x.negated
	}
	return expr{sql: "NOT " + paren(x.sql), negated: &x}
}

// paren puts s in parentheses, on lines of their own when s has several.
func paren(s string) string {
	if strings.Contains(s, "\n") {
		return "(\n" + indent(s) + "\n)"
	}
	return "(" + s + ")"
}

// commented puts a comment with the definition path before x.
func commented(path string, x expr) expr {
	return expr{sql: "-- " + comment(path) + "\n" + x.sql, kind: x.kind}
}

func (c *compiler) constant(b bool) expr { return leaf(c.mustLiteral(b)) }

// mustLiteral writes a value the compiler itself chose, which every
// dialect can write.
func (c *compiler) mustLiteral(v any) string {
	s, err := c.d.Literal(v)
	if err != nil {
		c.fail(c.path, err)
		return "NULL"
	}
	return s
}

// condition compiles a customer-level condition over the customer rows
// aliased "c".
func (c *compiler) condition(path string, cond segment.Condition, guard bool) expr {
	c.path = path
	switch n := cond.(type) {
	case *segment.And:
		xs := make([]expr, len(n.Conditions))
		for i, x := range n.Conditions {
			xs[i] = c.condition(joinPath(path, "and["+itoa(i)+"]"), x, guard)
		}
		return c.and(xs...)
	case *segment.Or:
		xs := make([]expr, len(n.Conditions))
		for i, x := range n.Conditions {
			xs[i] = c.condition(joinPath(path, "or["+itoa(i)+"]"), x, guard)
		}
		return c.or(xs...)
	case *segment.Not:
		return c.not(c.condition(joinPath(path, "not"), n.Condition, true))
	case *segment.Predicate:
		ent, attr, _ := strings.Cut(n.Attribute, ".")
		switch ent {
		case c.cust.Name:
			alias := c.ident("c")
			return commented(path, c.predicate(path, c.column(alias, c.cust, attr), n, guard))
		case schema.MeasuresEntity:
			return commented(path, c.measure(path, attr, n))
		}
		// Shorthand for a related condition with this predicate as its
		// where and match any.
		return commented(path, c.related(path, path, &segment.Related{Entity: ent, Where: n}))
	case *segment.Related:
		return commented(path, c.related(path, joinPath(path, "where"), n))
	case *segment.SegmentRef:
		return commented(path, c.segmentRef(path, n))
	}
	c.unsupported(path, "unknown condition %T", cond)
	return c.constant(false)
}

// rowCondition compiles a condition over the related rows of ch, for a
// where.
func (c *compiler) rowCondition(path string, cond segment.Condition, ch *chain, guard bool) expr {
	c.path = path
	switch n := cond.(type) {
	case *segment.And:
		xs := make([]expr, len(n.Conditions))
		for i, x := range n.Conditions {
			xs[i] = c.rowCondition(joinPath(path, "and["+itoa(i)+"]"), x, ch, guard)
		}
		return c.and(xs...)
	case *segment.Or:
		xs := make([]expr, len(n.Conditions))
		for i, x := range n.Conditions {
			xs[i] = c.rowCondition(joinPath(path, "or["+itoa(i)+"]"), x, ch, guard)
		}
		return c.or(xs...)
	case *segment.Not:
		return c.not(c.rowCondition(joinPath(path, "not"), n.Condition, ch, true))
	case *segment.Predicate:
		_, attr, _ := strings.Cut(n.Attribute, ".")
		return c.predicate(path, c.column(ch.alias, ch.entity, attr), n, guard)
	}
	c.unsupported(path, "a where holds only and, or, not and predicates, not %T", cond)
	return c.constant(false)
}

// column returns attribute attr of entity e's rows aliased alias.
func (c *compiler) column(alias string, e *schema.Entity, attr string) col {
	raw := alias + "." + c.ident(attr)
	t := c.attrType(e, attr)
	return col{raw: raw, val: c.d.Value(raw, t), t: t}
}

func (c *compiler) attrType(e *schema.Entity, attr string) schema.Type {
	a, _ := e.Attribute(attr)
	return a.Type
}

// predicate compiles a predicate over x.
func (c *compiler) predicate(path string, x col, p *segment.Predicate, guard bool) expr {
	t := c.test(path, x.t, p.Op, p.Value, p.IgnoreCase)
	e, nullable := t.sql(c, x)
	if !nullable {
		return e
	}
	if g := c.d.NotNull(x.raw, e.sql); g != "" {
		return leaf(g)
	}
	if guard {
		e = c.and(leaf(x.raw+" IS NOT NULL"), e)
	}
	return e
}

// segmentRef compiles {"segment": name}.
func (c *compiler) segmentRef(path string, n *segment.SegmentRef) expr {
	ref := c.opts.Segments[n.Name]
	if n.Group != "" {
		// A split's groups are a catalog's hash of customer keys: SQL
		// reads them from a table of their members, never from the
		// segment's definition.
		ref = c.opts.Segments[n.Name+"/"+n.Group]
		if ref.Table == "" {
			c.unsupported(path+".group", "group %s of segment %s needs a table of its members: give Segments[%q] a Table", n.Group, n.Name, n.Name+"/"+n.Group)
			return c.constant(false)
		}
	}
	key := c.keyCol(c.ident("c"))
	if ref.Table != "" {
		column := ref.Column
		if column == "" {
			column = c.cust.Key
		}
		alias := c.ident("t")
		raw := alias + "." + c.ident(column)
		q := "SELECT " + c.d.Value(raw, key.t) + "\nFROM " + c.qualified(ref.Table) + " AS " + alias +
			"\nWHERE " + raw + " IS NOT NULL"
		return leaf(c.d.In(key.val, q, false))
	}
	p, ok := c.segmentPart(path, n.Name, ref.Definition)
	if !ok {
		return c.constant(false)
	}
	return leaf(c.d.In(key.val, c.memberQuery(p), false))
}

func itoa(i int) string {
	const digits = "0123456789"
	if i < 10 {
		return digits[i : i+1]
	}
	return itoa(i/10) + digits[i%10:i%10+1]
}
