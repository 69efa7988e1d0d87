package sqlgen

import (
	"strconv"
	"strings"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// Related conditions, aggregates and measures compile to IN over
// subqueries of the related rows, never to correlated subqueries or outer
// joins, so that one form suits every dialect (and a distributed one as
// GLOBAL IN):
//
//	any:       key IN (customers of the rows that satisfy where)
//	none:      key NOT IN (the same)
//	all:       key IN (customers whose rows all satisfy where: MIN(CASE ...) = 1)
//	aggregate: key IN (customers whose value satisfies the comparison)
//	           OR key NOT IN (customers with rows), when the value of no
//	           rows (count 0, sum 0, null) satisfies it
//
// The rows of an entity reach their customer through inner joins along
// the relationship path: a null or dangling key at any hop drops the row,
// as FORMAT.md says of broken links.

// chain is the rows of a related entity joined up to their customer key.
type chain struct {
	// from is the FROM clause with its joins.
	from string
	// cust is the customer key the rows link to (possibly dangling).
	cust col
	// alias is the quoted alias of the related entity's rows.
	alias  string
	entity *schema.Entity
}

// chainOf joins entity's rows along the relationship path rel (the only
// path when rel is empty).
func (c *compiler) chainOf(path, entity string, rel []string) (*chain, bool) {
	e, ok := c.sch.Entity(entity)
	if !ok {
		c.unsupported(path, "unknown entity %s", entity)
		return nil, false
	}
	if len(rel) == 0 {
		paths := c.sch.Paths(entity)
		if len(paths) != 1 {
			c.unsupported(path, "%s has %d relationship paths and none is given", entity, len(paths))
			return nil, false
		}
		rel = paths[0]
	}
	alias := c.ident("r0")
	ch := &chain{from: "FROM " + c.table(entity) + " AS " + alias, alias: alias, entity: e}
	if len(rel) > 1 {
		if ok, done := c.joinPath(path, ch, rel); done {
			return ch, ok
		}
	}
	cur, curAlias := e, alias
	for i, name := range rel {
		r, ok := c.sch.Relationship(name)
		if !ok || r.From.Entity != cur.Name {
			c.unsupported(path, "relationship %s does not continue the path from %s", name, cur.Name)
			return nil, false
		}
		fk := c.column(curAlias, cur, r.From.Attribute)
		if i == len(rel)-1 {
			ch.cust = fk
			break
		}
		next, ok := c.sch.Entity(r.To.Entity)
		if !ok {
			c.unsupported(path, "unknown entity %s", r.To.Entity)
			return nil, false
		}
		nextAlias := c.ident("r" + strconv.Itoa(i+1))
		key := c.column(nextAlias, next, r.To.Attribute)
		ch.from += "\nJOIN " + c.table(next.Name) + " AS " + nextAlias + " ON " + key.val + " = " + fk.val
		cur, curAlias = next, nextAlias
	}
	return ch, true
}

// joinPath asks the dialect to join the chain's rows along rel (several
// relationships); done is false when the dialect leaves it to JOIN ... ON.
func (c *compiler) joinPath(path string, ch *chain, rel []string) (ok, done bool) {
	cur := ch.entity
	var fk string
	var hops []Hop
	for i, name := range rel {
		r, ok := c.sch.Relationship(name)
		if !ok || r.From.Entity != cur.Name {
			c.unsupported(path, "relationship %s does not continue the path from %s", name, cur.Name)
			return false, true
		}
		if i == 0 {
			fk = r.From.Attribute
		} else {
			hops[i-1].Next = r.From.Attribute
		}
		if i == len(rel)-1 {
			break
		}
		next, ok := c.sch.Entity(r.To.Entity)
		if !ok {
			c.unsupported(path, "unknown entity %s", r.To.Entity)
			return false, true
		}
		hops = append(hops, Hop{Table: c.table(next.Name), Key: r.To.Attribute})
		cur = next
	}
	from, cust := c.d.JoinPath(ch.from, fk, hops, c.fresh)
	if from == "" {
		return false, false
	}
	last, _ := c.sch.Relationship(rel[len(rel)-1])
	t := c.attrType(cur, last.From.Attribute)
	ch.from, ch.cust = from, col{raw: cust, val: c.d.Value(cust, t), t: t}
	return true, true
}

// rows writes SELECT sel over the chain's rows that link to a customer key
// and satisfy conds, with the rest of the query (GROUP BY ...) after.
func (c *compiler) rows(ch *chain, sel string, conds []expr, rest string) string {
	all := append([]expr{leaf(ch.cust.raw + " IS NOT NULL")}, conds...)
	where := c.and(all...)
	q := "SELECT " + sel + "\n" + ch.from + "\n"
	if strings.Contains(where.sql, "\n") {
		q += "WHERE\n" + indent(where.sql)
	} else {
		q += "WHERE " + where.sql
	}
	if rest != "" {
		q += "\n" + rest
	}
	return q
}

// where compiles an optional where into the conditions of rows.
func (c *compiler) where(path string, cond segment.Condition, ch *chain) []expr {
	if cond == nil {
		return nil
	}
	return []expr{c.rowCondition(path, cond, ch, false)}
}

// related compiles a related condition; wherePath is the path of its
// where (the predicate itself for a shorthand predicate).
func (c *compiler) related(path, wherePath string, n *segment.Related) expr {
	ch, ok := c.chainOf(path, n.Entity, n.Path)
	if !ok {
		return c.constant(false)
	}
	switch {
	case n.Sequence != nil:
		c.unsupported(path+".sequence", "a sequence of related rows")
		return c.constant(false)
	case n.Change != nil:
		c.unsupported(path+"."+n.Change.Trend.String(), "%s (rows in one window and none in another)", n.Change.Trend)
		return c.constant(false)
	}
	w := c.where(wherePath, n.Where, ch)
	c.path = path
	key := c.keyCol(c.ident("c"))
	if n.Aggregate != nil {
		return c.aggregate(path, ch, w, n.Aggregate, &segment.Predicate{Op: n.Op, Value: n.Value})
	}
	switch n.Match {
	case segment.MatchAny:
		return leaf(c.d.In(key.val, c.rows(ch, ch.cust.val, w, ""), false))
	case segment.MatchNone:
		return leaf(c.d.In(key.val, c.rows(ch, ch.cust.val, w, ""), true))
	case segment.MatchAll:
		if len(w) == 0 {
			return leaf(c.d.In(key.val, c.rows(ch, ch.cust.val, nil, ""), false))
		}
		// Every row satisfies where: the smallest of 1 (satisfies) and 0
		// (does not) over the customer's rows is 1.
		test := "CASE WHEN " + w[0].sql + " THEN 1 ELSE 0 END"
		if strings.Contains(w[0].sql, "\n") {
			test = "CASE WHEN\n" + indent(indent(w[0].sql)) + "\n  THEN 1 ELSE 0 END"
		}
		rest := "GROUP BY " + ch.cust.val + "\nHAVING MIN(" + test + ") = 1"
		return leaf(c.d.In(key.val, c.rows(ch, ch.cust.val, nil, rest), false))
	}
	c.unsupported(path, "match %s", n.Match)
	return c.constant(false)
}

// aggValue is the per-customer value of an aggregate: query has the
// columns "cust" and "value", one row per customer whose value is not the
// empty one; the others (the customers not in empty, a query of customer
// keys) have the value empty, of type t.
type aggValue struct {
	query, empty string
	t            schema.Type
	emptyValue   any
}

// aggregate compiles the comparison p (Op, Value, IgnoreCase) of agg over
// the rows of ch that satisfy w.
func (c *compiler) aggregate(path string, ch *chain, w []expr, agg *segment.Aggregate, p *segment.Predicate) expr {
	v, ok := c.aggValue(path, ch, w, agg)
	if !ok {
		return c.constant(false)
	}
	key := c.keyCol(c.ident("c"))
	t := c.test(path, v.t, p.Op, p.Value, p.IgnoreCase)
	a := c.ident("a")
	x := col{raw: a + "." + c.ident("value"), t: v.t}
	x.val = x.raw
	cmp, nullable := t.sql(c, x)
	if g := c.d.NotNull(x.raw, cmp.sql); nullable && g != "" {
		cmp = leaf(g)
	}
	q := "SELECT " + a + "." + c.ident("cust") + "\nFROM (\n" + indent(v.query) + "\n) AS " + a
	if strings.Contains(cmp.sql, "\n") {
		q += "\nWHERE\n" + indent(cmp.sql)
	} else {
		q += "\nWHERE " + cmp.sql
	}
	e := leaf(c.d.In(key.val, q, false))
	if t.holds(v.emptyValue) {
		// The customers without rows (or without values) have the value
		// of none, which satisfies the comparison too.
		none := "no rows: the value " + emptyText(v.emptyValue)
		e = c.or(e, leaf("-- "+none+"\n"+c.d.In(key.val, v.empty, true)))
		e = leaf(paren(e.sql))
	}
	return e
}

// emptyText describes the value of an aggregate over no rows.
func emptyText(v any) string {
	switch v.(type) {
	case nil:
		return "is null"
	case float64:
		return "is 0 (a sum)"
	}
	return "is 0 (a count)"
}

// aggValue writes the per-customer value of agg over the rows of ch that
// satisfy w.
func (c *compiler) aggValue(path string, ch *chain, w []expr, agg *segment.Aggregate) (aggValue, bool) {
	cust, value := c.ident("cust"), c.ident("value")
	group := "GROUP BY " + ch.cust.val
	sel := func(v string) string { return ch.cust.val + " AS " + cust + ", " + v + " AS " + value }
	if agg.Func == segment.Count {
		return aggValue{
			query: c.rows(ch, sel("COUNT(*)"), w, group), empty: c.rows(ch, ch.cust.val, w, ""),
			t: schema.Integer, emptyValue: int64(0),
		}, true
	}
	if agg.Period != segment.NoPeriod {
		c.unsupported(path+".period", "countDistinct by calendar %s", agg.Period)
		return aggValue{}, false
	}
	_, attr, _ := strings.Cut(agg.Attribute, ".")
	x := c.column(ch.alias, ch.entity, attr)
	if agg.Func == segment.CountDistinct {
		return aggValue{
			query: c.rows(ch, sel(c.d.CountDistinct(x.val)), w, group), empty: c.rows(ch, ch.cust.val, w, ""),
			t: schema.Integer, emptyValue: int64(0),
		}, true
	}
	// The other functions use the non-null values only: a customer whose
	// rows have none has the value of no rows.
	nonNull := append(append([]expr(nil), w...), leaf(x.raw+" IS NOT NULL"))
	empty := c.rows(ch, ch.cust.val, nonNull, "")
	switch agg.Func {
	case segment.Min, segment.Max:
		fn := strings.ToUpper(agg.Func.String())
		return aggValue{query: c.rows(ch, sel(fn+"("+x.val+")"), nonNull, group), empty: empty, t: x.t}, true
	case segment.Sum, segment.Avg:
		v := aggValue{empty: empty, t: schema.Number}
		if agg.Func == segment.Sum {
			v.emptyValue = 0.0
		}
		switch {
		case x.t == schema.Integer:
			sum := c.d.IntegerSum(x.val)
			if agg.Func == segment.Avg {
				// The exact sum rounded once, divided once: exact for
				// sums within 2^53.
				sum += " / COUNT(*)"
			}
			v.query = c.rows(ch, sel(sum), nonNull, group)
		case c.opts.AnyOrderSums:
			v.query = c.rows(ch, sel(strings.ToUpper(agg.Func.String())+"("+x.val+")"), nonNull, group)
		default:
			ord, ok := c.rowOrder(ch)
			if !ok {
				c.unsupported(path, "%s of %s adds floats in the rows' order, and %s has none: "+
					"give Options.RowOrder a column that orders %s's rows as its data file, or set Options.AnyOrderSums",
					agg.Func, agg.Attribute, ch.entity.Name, ch.entity.Name)
				return aggValue{}, false
			}
			rows := c.rows(ch, ch.cust.val+" AS "+cust+", "+x.val+" AS "+c.ident("v")+", "+ord+" AS "+c.ident("ord"), nonNull, "")
			sums, err := c.d.OrderedSums(rows, c.fresh)
			if err != nil {
				c.fail(path, err)
				return aggValue{}, false
			}
			s := c.ident(c.fresh("sums"))
			result := s + "." + c.ident("sum")
			if agg.Func == segment.Avg {
				result += " / " + s + "." + c.ident("count")
			}
			v.query = "SELECT " + s + "." + cust + " AS " + cust + ", " + result + " AS " + value +
				"\nFROM (\n" + indent(sums) + "\n) AS " + s
		}
		return v, true
	case segment.First, segment.Last:
		return c.firstLast(path, ch, w, agg, x)
	}
	c.unsupported(path, "aggregate %s", agg.Func)
	return aggValue{}, false
}

// rowOrder returns the expression ordering the chain's rows as their data
// file does.
func (c *compiler) rowOrder(ch *chain) (string, bool) {
	if name, ok := c.opts.RowOrder[ch.entity.Name]; ok {
		return ch.alias + "." + c.ident(name), true
	}
	return c.d.RowOrder(ch.alias, ch.entity)
}

// firstLast writes the value of x on the first (or last) of the rows that
// satisfy w and whose orderBy is not null, ordered by (orderBy, key).
func (c *compiler) firstLast(path string, ch *chain, w []expr, agg *segment.Aggregate, x col) (aggValue, bool) {
	_, orderAttr, _ := strings.Cut(agg.OrderBy, ".")
	ob := c.column(ch.alias, ch.entity, orderAttr)
	key := c.column(ch.alias, ch.entity, ch.entity.Key)
	if !c.f.Window {
		conds := append(append([]expr(nil), w...), leaf(ob.raw+" IS NOT NULL"), leaf(key.raw+" IS NOT NULL"))
		fv := c.d.FirstValue(x.val, ob.val, key.val, agg.Func == segment.Last)
		if fv == "" {
			c.unsupported(path, "%s needs window functions (ROW_NUMBER() OVER ...)", agg.Func)
			return aggValue{}, false
		}
		sel := ch.cust.val + " AS " + c.ident("cust") + ", " + fv + " AS " + c.ident("value")
		return aggValue{query: c.rows(ch, sel, conds, "GROUP BY "+ch.cust.val), empty: c.rows(ch, ch.cust.val, conds, ""), t: x.t}, true
	}
	dir := " ASC"
	if agg.Func == segment.Last {
		dir = " DESC"
	}
	cust, value, n := c.ident("cust"), c.ident("value"), c.ident("n")
	conds := append(append([]expr(nil), w...), leaf(ob.raw+" IS NOT NULL"))
	ranked := c.rows(ch, ch.cust.val+" AS "+cust+", "+x.val+" AS "+value+",\n  ROW_NUMBER() OVER (PARTITION BY "+ch.cust.val+
		" ORDER BY "+ob.val+dir+", "+key.val+dir+") AS "+n, conds, "")
	r := c.ident("ranked")
	q := "SELECT " + r + "." + cust + " AS " + cust + ", " + r + "." + value + " AS " + value +
		"\nFROM (\n" + indent(ranked) + "\n) AS " + r + "\nWHERE " + r + "." + n + " = 1"
	return aggValue{query: q, empty: c.rows(ch, ch.cust.val, conds, ""), t: x.t}, true
}

// measure compiles a predicate on Measures.name.
func (c *compiler) measure(path, name string, p *segment.Predicate) expr {
	m, ok := c.ms.Lookup(name)
	if !ok {
		c.unsupported(path, "unknown measure %s", name)
		return c.constant(false)
	}
	ch, ok := c.chainOf(path, m.Entity, m.Path)
	if !ok {
		return c.constant(false)
	}
	w := c.where(path, m.Where, ch)
	c.path = path
	return c.aggregate(path, ch, w, &m.Aggregate, p)
}
