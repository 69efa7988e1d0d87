package engine

import (
	"context"
	"fmt"
	"runtime"
	"time"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/segment"
)

// Inspection is the size of every part of a definition at one instant
// (Plan.Inspect): how many customers each group's condition holds for,
// each of its top-level conditions alone, and how many are left after each
// set operation. It shows where an audience is lost: a condition alone
// that holds for few customers, or an intersection that empties it.
type Inspection struct {
	// Members is the segment's size: the last group's Running.
	Members uint64 `json:"members"`
	// Customers is the number of customers of the snapshot.
	Customers uint64 `json:"customers"`
	// Groups are the definition's groups, in order.
	Groups []GroupSize `json:"groups"`
}

// GroupSize is the inspection of one group of a definition.
type GroupSize struct {
	// Path is the group's condition in the definition,
	// "groups[i].condition", as problems name it.
	Path string `json:"path"`
	// SetOp is how the group combines with the groups before it, as
	// FORMAT.md spells it ("union", "intersect", "except"); the first
	// group has none ("").
	SetOp string `json:"setOp,omitempty"`
	// Condition is the group's condition in its printed form.
	Condition string `json:"condition"`
	// Size is the number of customers the group's condition holds for,
	// alone.
	Size uint64 `json:"size"`
	// Running is the number of members after this group is combined with
	// the groups before it: the first group's Size, then the size after
	// each union, intersection or exception.
	Running uint64 `json:"running"`
	// Conditions are the group's top-level conditions, each alone: the
	// conjuncts of an and, the disjuncts of an or, and otherwise the
	// group's condition itself.
	Conditions []ConditionSize `json:"conditions"`
}

// ConditionSize is the size of one condition alone.
type ConditionSize struct {
	// Path is the condition in the definition, such as
	// "groups[0].condition.and[1]".
	Path string `json:"path"`
	// Condition is the condition in its printed form.
	Condition string `json:"condition"`
	// Size is the number of customers the condition holds for.
	Size uint64 `json:"size"`
}

// Inspect evaluates the plan at asOf and returns the size of each group,
// of each group's top-level conditions alone, and the running size after
// each set operation. The conditions are evaluated once each, sharing the
// plan's cache (Options.Cache, or one for this call): the groups reuse
// the results of their conditions. The running size of the last group is
// the plan's member count, as Eval gives it.
func (p *Plan) Inspect(ctx context.Context, asOf time.Time) (*Inspection, error) {
	s := p.subEval(ctx, asOf)
	out := &Inspection{Customers: uint64(p.n)}
	var acc column.Bitset
	for i, g := range p.def.Groups {
		path := fmt.Sprintf("groups[%d].condition", i)
		gs := GroupSize{Path: path, Condition: g.Condition.String()}
		if i > 0 {
			gs.SetOp = g.SetOp.String()
		}
		for _, part := range topLevel(path, g.Condition) {
			b, err := s.eval(part.path, part.cond)
			if err != nil {
				return nil, err
			}
			gs.Conditions = append(gs.Conditions, ConditionSize{Path: part.path, Condition: part.cond.String(), Size: uint64(b.Count())})
		}
		b, err := s.eval(path, g.Condition)
		if err != nil {
			return nil, err
		}
		gs.Size = uint64(b.Count())
		if i == 0 {
			acc = b
		} else if err := applySetOp(acc, b, i, g.SetOp); err != nil {
			return nil, err
		}
		gs.Running = uint64(acc.Count())
		out.Groups = append(out.Groups, gs)
	}
	out.Members = uint64(acc.Count())
	return out, nil
}

// part is a condition of a definition with its path.
type part struct {
	path string
	cond segment.Condition
}

// topLevel returns the top-level conditions of a group's condition: the
// conjuncts of an and, the disjuncts of an or, or the condition itself.
func topLevel(path string, c segment.Condition) []part {
	switch n := c.(type) {
	case *segment.And:
		out := make([]part, len(n.Conditions))
		for i, x := range n.Conditions {
			out[i] = part{fmt.Sprintf("%s.and[%d]", path, i), x}
		}
		return out
	case *segment.Or:
		out := make([]part, len(n.Conditions))
		for i, x := range n.Conditions {
			out[i] = part{fmt.Sprintf("%s.or[%d]", path, i), x}
		}
		return out
	}
	return []part{{path, c}}
}

// subEvaluator evaluates conditions of a plan's definition each alone,
// over every customer, at one instant, through one cache: what Inspect and
// Explain share.
type subEvaluator struct {
	p  *Plan
	c  *compiler
	ec *evalCtx
}

func (p *Plan) subEval(ctx context.Context, asOf time.Time) *subEvaluator {
	par := p.opts.Parallelism
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	cache := p.opts.Cache
	if cache == nil || cache.snap != p.snap {
		cache = NewCache(p.snap, 0)
	}
	c := newCompiler(p.def, p.snap, p.opts)
	ec := &evalCtx{ctx: ctx, asOf: asOf, n: p.n, par: par, measures: map[*measureNode]*column.Vec{},
		candidateShare: p.opts.CandidateShare, cache: cache}
	return &subEvaluator{p: p, c: c, ec: ec}
}

// eval returns the customers cond holds for, a new bitset owned by the
// caller. cond is part of the plan's definition, which compiled: a problem
// here is an error of the engine's.
func (s *subEvaluator) eval(path string, cond segment.Condition) (column.Bitset, error) {
	n := s.c.customer(path, cond)
	if _, ok := n.(cachedNode); !ok {
		n = s.c.cached(n, cond) // an and, or, not: its result is kept too
	}
	if err := s.c.problems.Err(); err != nil {
		return nil, err
	}
	s.ec.cand, s.ec.partial = nil, false
	return n.eval(s.ec)
}
