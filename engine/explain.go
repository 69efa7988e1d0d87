package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// MaxExplainRows is how many related rows an explanation lists for one
// related condition; RelatedRows.Matched and Total count them all.
const MaxExplainRows = 20

// Explanation says why one customer is or is not a member of a segment at
// one instant (Plan.Explain): the definition's tree with each node's truth
// for the customer, the customer's values of the attributes and measures
// that predicates compare, and for related conditions the rows that
// decided them and the aggregate's value.
type Explanation struct {
	// Customer is the customer's key.
	Customer string `json:"customer"`
	// Member reports whether the customer is a member: the last group's
	// Running.
	Member bool `json:"member"`
	// Groups are the definition's groups, in order.
	Groups []GroupExplanation `json:"groups"`
}

// GroupExplanation is one group of an explanation.
type GroupExplanation struct {
	// SetOp is how the group combines with the groups before it
	// ("union", "intersect", "except"); "" for the first group.
	SetOp string `json:"setOp,omitempty"`
	// Running reports whether the customer is a member after this group
	// is combined with the groups before it.
	Running bool `json:"running"`
	// Condition is the group's condition, whose Holds says whether it
	// holds for the customer.
	Condition *NodeExplanation `json:"condition"`
}

// NodeExplanation is one condition of an explanation's tree.
type NodeExplanation struct {
	// Path is the condition in the definition, as problems name it
	// ("groups[0].condition.and[1]").
	Path string `json:"path"`
	// Kind is "and", "or", "not", "predicate", "related" or "segment".
	Kind string `json:"kind"`
	// Condition is the condition in its printed form.
	Condition string `json:"condition"`
	// Holds reports whether the condition holds for the customer.
	Holds bool `json:"holds"`
	// Children are the conditions of an and, an or or a not.
	Children []*NodeExplanation `json:"children,omitempty"`
	// Value is the customer's value of a predicate's customer attribute or
	// measure, in the form of the data files ("" with Null).
	Value string `json:"value,omitempty"`
	// Null reports that the customer has no value for the predicate's
	// attribute or measure.
	Null bool `json:"null,omitempty"`
	// Rows are the related rows of a related condition, or of a predicate
	// on another entity's attribute (a related condition, match any).
	Rows *RelatedRows `json:"rows,omitempty"`
}

// RelatedRows are the customer's rows of a related entity along one
// relationship path, as far as they decide a related condition.
type RelatedRows struct {
	// Entity is the related entity.
	Entity string `json:"entity"`
	// Total is the number of the customer's rows of the entity.
	Total int `json:"total"`
	// Matched is the number of those rows that satisfy the condition's
	// where (Total without one).
	Matched int `json:"matched"`
	// Match is the related condition's match ("any", "all" or "none"),
	// which decides it from Matched and Total; "sequence", "stopped" or
	// "started" for those, which the listed rows' attributes decide; ""
	// for one with an aggregate, which Aggregate decides.
	Match string `json:"match,omitempty"`
	// Listed says which rows Rows lists: "matching" (those that satisfy
	// where: for match any and none, and the rows an aggregate is computed
	// over) or "failing" (those that do not: for match all, which they
	// make false).
	Listed string `json:"listed"`
	// Attributes name the columns of Rows: the entity's key, then the
	// attributes the condition reads, in the schema's order.
	Attributes []string `json:"attributes"`
	// Rows are up to MaxExplainRows of the listed rows, in the order of
	// the data file, each with the values of Attributes.
	Rows [][]string `json:"rows"`
	// Aggregate is the aggregate's value for the customer, for a related
	// condition with one: the value compared ("" with AggregateNull).
	Aggregate string `json:"aggregate,omitempty"`
	// AggregateNull reports an aggregate without a value (the average,
	// least or greatest over no rows).
	AggregateNull bool `json:"aggregateNull,omitempty"`
}

// Explain explains, at asOf, why the customer id is or is not a member:
// each condition of the definition is evaluated alone, over every
// customer, sharing the plan's cache (Options.Cache, or one for this
// call), so that a node's Holds is the condition's own result for the
// customer. Member is the customer's membership as Eval gives it. The
// customer is an id of the plan's snapshot (storage.Snapshot.CustomerID
// finds it from a key); an id out of range is an error.
func (p *Plan) Explain(ctx context.Context, asOf time.Time, id uint32) (*Explanation, error) {
	if int(id) >= p.n {
		return nil, fmt.Errorf("%w: id %d is not one of the snapshot's %d customers", ErrUnknownCustomer, id, p.n)
	}
	s := p.subEval(ctx, asOf)
	out := &Explanation{Customer: p.snap.CustomerKey(id)}
	var member bool
	for i, g := range p.def.Groups {
		node, err := s.explain(fmt.Sprintf("groups[%d].condition", i), g.Condition, int(id))
		if err != nil {
			return nil, err
		}
		ge := GroupExplanation{Condition: node}
		switch {
		case i == 0:
			member = node.Holds
		case g.SetOp == segment.Union:
			member = member || node.Holds
		case g.SetOp == segment.Intersect:
			member = member && node.Holds
		case g.SetOp == segment.Except:
			member = member && !node.Holds
		default:
			return nil, fmt.Errorf("%w: group %d has set operator %s", ErrCompile, i, g.SetOp)
		}
		if i > 0 {
			ge.SetOp = g.SetOp.String()
		}
		ge.Running = member
		out.Groups = append(out.Groups, ge)
	}
	out.Member = member
	return out, nil
}

// explain explains cond, at path, for customer c.
func (s *subEvaluator) explain(path string, cond segment.Condition, c int) (*NodeExplanation, error) {
	b, err := s.eval(path, cond)
	if err != nil {
		return nil, err
	}
	e := &NodeExplanation{Path: path, Condition: cond.String(), Holds: b.Has(c)}
	kids := func(kind string, conds []segment.Condition) error {
		e.Kind = kind
		for i, x := range conds {
			sub := fmt.Sprintf("%s.%s[%d]", path, kind, i)
			if kind == "not" {
				sub = path + ".not"
			}
			k, err := s.explain(sub, x, c)
			if err != nil {
				return err
			}
			e.Children = append(e.Children, k)
		}
		return nil
	}
	switch n := cond.(type) {
	case *segment.And:
		err = kids("and", n.Conditions)
	case *segment.Or:
		err = kids("or", n.Conditions)
	case *segment.Not:
		err = kids("not", []segment.Condition{n.Condition})
	case *segment.SegmentRef:
		e.Kind = "segment"
	case *segment.Related:
		e.Kind = "related"
		e.Rows, err = s.relatedRows(path, n, c)
	case *segment.Predicate:
		e.Kind = "predicate"
		entity, attr, _ := splitAttr(n.Attribute)
		switch entity {
		case s.p.snap.Schema().CustomerEntity:
			col := s.p.snap.Customers().Column(attr)
			e.Value, e.Null = col.Format(c), col.Data.IsNull(c)
		case schema.MeasuresEntity:
			m := s.c.measure(path+".attribute", attr)
			if m == nil {
				return nil, s.c.problems.Err()
			}
			v, err := s.ec.measure(m)
			if err != nil {
				return nil, err
			}
			vs := &Values{v: v, typ: m.agg.storageType}
			e.Value, e.Null = vs.Format(uint32(c)), !vs.Valid(uint32(c))
		default:
			e.Rows, err = s.relatedRows(path, &segment.Related{Entity: entity, Where: n}, c)
		}
	}
	if err != nil {
		return nil, err
	}
	return e, nil
}

// relatedRows returns customer c's rows of a related condition.
func (s *subEvaluator) relatedRows(path string, n *segment.Related, c int) (*RelatedRows, error) {
	if n.Sequence != nil || n.Change != nil {
		return s.behaviourRows(path, n, c)
	}
	r, ok := s.c.related(path, n).(*relatedNode)
	if !ok {
		return nil, s.c.problems.Err()
	}
	t := s.p.snap.Table(n.Entity)
	var mask column.Bitset
	if r.where != nil {
		var err error
		if mask, err = r.where.eval(s.ec, r.rows); err != nil {
			return nil, err
		}
	}
	out := &RelatedRows{Entity: n.Entity, Listed: "matching", Attributes: readAttributes(t.Entity, n), Rows: [][]string{}}
	if r.agg == nil {
		out.Match = n.Match.String()
		if n.Match == segment.MatchAll {
			out.Listed = "failing"
		}
	}
	out.list(t, customerRows(r.links, c), mask)
	if r.agg != nil {
		var v *column.Vec
		var err error
		id := uint32(c)
		if starts := r.links.Starts(); starts != nil && r.agg.aggregatesByCandidate() {
			// The customer's rows alone; the value is at index 0.
			var where wordTest
			if mask != nil {
				where = mask.BitsAt
			}
			v, err = s.ec.aggregateByCandidate(r.agg, []uint32{id}, starts, where)
			id = 0
		} else {
			v, err = s.ec.aggregate(r.links, r.rows, mask, r.agg)
		}
		if err != nil {
			return nil, err
		}
		vs := &Values{v: v, typ: r.agg.storageType}
		out.Aggregate, out.AggregateNull = vs.Format(id), !vs.Valid(id)
	}
	return out, nil
}

// behaviourRows returns customer c's rows of a sequence, stopped or
// started: those that satisfy the where, with the attributes that decide.
func (s *subEvaluator) behaviourRows(path string, n *segment.Related, c int) (*RelatedRows, error) {
	t, l, ok := s.c.link(path, n.Entity, n.Path)
	if !ok {
		return nil, s.c.problems.Err()
	}
	var mask column.Bitset
	if n.Where != nil {
		w := s.c.rows(path+".where", t, n.Where)
		if err := s.c.problems.Err(); err != nil {
			return nil, err
		}
		var err error
		if mask, err = w.eval(s.ec, t.NumRows); err != nil {
			return nil, err
		}
	}
	out := &RelatedRows{Entity: n.Entity, Listed: "matching", Attributes: readAttributes(t.Entity, n), Rows: [][]string{}}
	if n.Sequence != nil {
		out.Match = "sequence"
	} else {
		out.Match = n.Change.Trend.String()
	}
	out.list(t, customerRows(l, c), mask)
	return out, nil
}

// list counts a customer's rows of t and those of mask (nil: every row),
// and lists up to MaxExplainRows of the rows out.Listed names, with the
// values of out.Attributes.
func (out *RelatedRows) list(t *storage.Table, rows []uint32, mask column.Bitset) {
	out.Total = len(rows)
	cols := make([]*storage.Column, len(out.Attributes))
	for i, a := range out.Attributes {
		cols[i] = t.Column(a)
	}
	for _, row := range rows {
		pass := mask == nil || mask.Has(int(row))
		if pass {
			out.Matched++
		}
		if pass != (out.Listed == "matching") || len(out.Rows) == MaxExplainRows {
			continue
		}
		vals := make([]string, len(cols))
		for i, col := range cols {
			vals[i] = col.Format(int(row))
		}
		out.Rows = append(out.Rows, vals)
	}
}

// customerRows returns customer c's rows along links, in the order of the
// data file.
func customerRows(l *storage.Links, c int) []uint32 {
	if starts := l.Starts(); starts != nil {
		rows := make([]uint32, 0, starts[c+1]-starts[c])
		for r := starts[c]; r < starts[c+1]; r++ {
			rows = append(rows, r)
		}
		return rows
	}
	offsets, rows := l.Grouped()
	return rows[offsets[c]:offsets[c+1]]
}

// readAttributes returns the attributes of entity e that a related
// condition reads (its where's predicates and its aggregate's attributes),
// after e's key, in the schema's order.
func readAttributes(e *schema.Entity, n *segment.Related) []string {
	read := map[string]bool{e.Key: true}
	mark := func(ref string) {
		if entity, attr, ok := splitAttr(ref); ok && entity == e.Name {
			read[attr] = true
		}
	}
	inspect := func(c segment.Condition) {
		segment.Inspect(c, func(x segment.Condition) bool {
			if p, ok := x.(*segment.Predicate); ok {
				mark(p.Attribute)
			}
			return true
		})
	}
	inspect(n.Where)
	if a := n.Aggregate; a != nil {
		mark(a.Attribute)
		mark(a.OrderBy)
	}
	if q := n.Sequence; q != nil {
		mark(q.Attribute)
		inspect(q.First)
		inspect(q.Then)
	}
	if ch := n.Change; ch != nil {
		mark(ch.Attribute)
	}
	var out []string
	for _, a := range e.AttributeNames() {
		if read[a] {
			out = append(out, a)
		}
	}
	if i := slices.Index(out, e.Key); i > 0 {
		out = append(append([]string{e.Key}, out[:i]...), out[i+1:]...)
	}
	return out
}
