package engine

import (
	"context"
	"fmt"
	"math/bits"
	"runtime"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Eval evaluates the plan with the as-of instant asOf (FORMAT.md: the
// instant that inLastDays and inNextDays count from) and returns the member
// customer ids as a new bitmap, which belongs to the caller. It honours ctx:
// cancellation is checked between batches of rows, and the error then wraps
// ctx.Err(). Eval is safe for concurrent use.
func (p *Plan) Eval(ctx context.Context, asOf time.Time) (*roaring.Bitmap, error) {
	b, err := p.evalDense(ctx, asOf)
	if err != nil {
		return nil, err
	}
	return b.ToRoaring(), nil
}

// EvalCardinality evaluates the plan like Eval and returns only the number
// of members.
func (p *Plan) EvalCardinality(ctx context.Context, asOf time.Time) (uint64, error) {
	b, err := p.evalDense(ctx, asOf)
	if err != nil {
		return 0, err
	}
	return uint64(b.Count()), nil
}

func (p *Plan) evalDense(ctx context.Context, asOf time.Time) (column.Bitset, error) {
	par := p.opts.Parallelism
	if par <= 0 {
		par = runtime.GOMAXPROCS(0)
	}
	ec := &evalCtx{ctx: ctx, asOf: asOf, n: p.n, par: par, measures: map[*measureNode]*column.Vec{},
		candidateShare: p.opts.CandidateShare}
	if c := p.opts.Cache; c != nil && c.snap == p.snap {
		ec.cache = c
	}
	var acc column.Bitset
	for i, g := range p.groups {
		// Intersect and except only keep customers of the left side: the
		// group's result matters for those alone. A union adds customers
		// not yet in, as a disjunction's later disjunct does: the group's
		// result matters for those alone, and is right for them (the
		// others are in acc already).
		var cand column.Bitset
		if i > 0 && ec.passesCandidates() {
			switch g.op {
			case segment.Intersect, segment.Except:
				cand = acc
			case segment.Union:
				cand = acc.Clone()
				cand.Not(ec.n)
				if cand.Empty() {
					continue // every customer is in already
				}
			}
		}
		b, err := ec.withCandidates(cand, g.node)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			acc = b
			continue
		}
		if err := applySetOp(acc, b, i, g.op); err != nil {
			return nil, err
		}
	}
	return acc, nil
}

// applySetOp applies group i's set operator op to acc, the members of the
// groups before it, and b, the group's own.
func applySetOp(acc, b column.Bitset, i int, op segment.SetOp) error {
	switch op {
	case segment.Union:
		acc.Or(b)
	case segment.Intersect:
		acc.And(b)
	case segment.Except:
		acc.AndNot(b)
	default:
		return fmt.Errorf("%w: group %d has set operator %s", ErrCompile, i, op)
	}
	return nil
}

// evalCtx is the state of one evaluation.
type evalCtx struct {
	ctx      context.Context
	asOf     time.Time
	n        int // customers
	par      int
	measures map[*measureNode]*column.Vec
	cache    *Cache // nil: no caching
	// cand, when not nil, is the set of customers whose results matter:
	// the caller intersects the node's result with it (see candidates.go).
	cand column.Bitset
	// partial is set when a node restricted its result to cand.
	partial        bool
	candidateShare float64 // Options.CandidateShare
}

func (ec *evalCtx) err() error {
	if err := ec.ctx.Err(); err != nil {
		return fmt.Errorf("evaluate: %w", err)
	}
	return nil
}

// batchRows is how many rows a kernel runs between cancellation checks; a
// multiple of 64 so that batches split bitsets on word boundaries.
const batchRows = column.BatchRows

// Run is run as a column.Runner, for the entries of a large dictionary;
// a cancellation shows in the caller's next check of ec.
func (ec *evalCtx) Run(k *column.Kernel, v *column.Vec, out column.Bitset) { _ = ec.run(k, v, out) }

// run evaluates kernel k over v into out, splitting the rows into batches
// run by up to ec.par goroutines.
func (ec *evalCtx) run(k *column.Kernel, v *column.Vec, out column.Bitset) error {
	k = k.Prepare(v, ec)
	n := v.N
	if n <= batchRows || ec.par == 1 {
		for lo := 0; lo < n; lo += batchRows {
			if err := ec.err(); err != nil {
				return err
			}
			hi := min(n, lo+batchRows)
			k.Eval(v.Slice(lo, hi), out[lo/64:(hi+63)/64])
		}
		if n == 0 {
			return ec.err()
		}
		return nil
	}
	batches := (n + batchRows - 1) / batchRows
	var next int
	var mu sync.Mutex
	var wg sync.WaitGroup
	var firstErr error
	for w := 0; w < min(ec.par, batches); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				i := next
				next++
				mu.Unlock()
				if i >= batches {
					return
				}
				if err := ec.err(); err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					return
				}
				lo := i * batchRows
				hi := min(n, lo+batchRows)
				k.Eval(v.Slice(lo, hi), out[lo/64:(hi+63)/64])
			}
		}()
	}
	wg.Wait()
	return firstErr
}

// node is a compiled condition over customers. eval returns a new bitset
// over the customer universe, owned by the caller.
type node interface {
	eval(ec *evalCtx) (column.Bitset, error)
}

type constNode struct{}

func (constNode) eval(ec *evalCtx) (column.Bitset, error) { return column.NewBitset(ec.n), nil }

type andNode struct{ kids []node }

func (a andNode) eval(ec *evalCtx) (column.Bitset, error) {
	outer := ec.cand
	// The later conjuncts' results restricted to acc are made whole by the
	// intersection with acc: without outer candidates, the conjunction's
	// result is whole whatever its conjuncts restricted.
	wasPartial := ec.partial
	ec.partial = false
	defer func() { ec.partial = wasPartial || outer != nil && ec.partial }()
	var acc column.Bitset
	for i, k := range a.kids {
		// A later conjunct matters only for the customers still in acc,
		// which holds every customer of outer still in the running.
		cand := outer
		if i > 0 && ec.passesCandidates() {
			cand = acc
		}
		b, err := ec.withCandidates(cand, k)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			acc = b
			if outer != nil {
				// Only outer's customers matter: dropping the others keeps
				// the candidates passed on as sparse as they can be. The
				// result is then right for outer's customers alone.
				acc.And(outer)
				ec.partial = true
			}
		} else {
			acc.And(b)
		}
		if acc.Empty() {
			break // nothing can be added back by a conjunction
		}
	}
	return acc, nil
}

// combine folds the results of kids left to right with op. With stopEmpty
// it stops at an empty result, which no later conjunct can change.
func combine[K any](kids []K, eval func(K) (column.Bitset, error), op func(acc, b column.Bitset), stopEmpty bool) (column.Bitset, error) {
	var acc column.Bitset
	for i, k := range kids {
		b, err := eval(k)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			acc = b
		} else {
			op(acc, b)
		}
		if stopEmpty && acc.Empty() {
			break
		}
	}
	return acc, nil
}

type orNode struct{ kids []node }

// eval folds the disjuncts left to right. A later disjunct matters only for
// the customers not yet in the result (and among the outer candidates, if
// any): those are its candidates, so that its conditions may test them
// alone (candidates.go).
func (o orNode) eval(ec *evalCtx) (column.Bitset, error) {
	outer := ec.cand
	// Every customer (of outer) is either in acc, which is right for it, or
	// a candidate of the later disjunct, whose result is right for it: so
	// without outer candidates the disjunction's result is whole whatever
	// its disjuncts restricted.
	wasPartial := ec.partial
	ec.partial = false
	defer func() { ec.partial = wasPartial || outer != nil && ec.partial }()
	var acc column.Bitset
	for i, k := range o.kids {
		cand := outer
		if i > 0 && ec.passesCandidates() {
			if outer != nil {
				cand = andNotOf(outer, acc)
			} else {
				cand = acc.Clone()
				cand.Not(ec.n)
			}
			if cand.Empty() {
				// Every customer that matters is in already: the result
				// is right for outer's customers alone.
				ec.partial = true
				break
			}
		}
		b, err := ec.withCandidates(cand, k)
		if err != nil {
			return nil, err
		}
		if i == 0 {
			acc = b
		} else {
			acc.Or(b)
		}
	}
	return acc, nil
}

type notNode struct{ kid node }

func (n notNode) eval(ec *evalCtx) (column.Bitset, error) {
	b, err := n.kid.eval(ec)
	if err != nil {
		return nil, err
	}
	b.Not(ec.n)
	return b, nil
}

type segmentNode struct{ bm *roaring.Bitmap }

func (s segmentNode) eval(ec *evalCtx) (column.Bitset, error) {
	return column.FromRoaring(s.bm, ec.n), ec.err()
}

// predNode is a predicate on a customer attribute: customer ids are row
// numbers of the customer entity, so the kernel's output is the result.
type predNode struct {
	v      *column.Vec
	narrow *column.Vec // v's narrow view, for the kernel's scan
	p      *predicate
}

func (pn predNode) eval(ec *evalCtx) (column.Bitset, error) {
	out := column.NewBitset(ec.n)
	k := pn.p.bind(ec.asOf)
	if k.Kind == column.KindStrings && ec.cand != nil {
		// A string predicate costs per dictionary entry, or per row: with
		// few candidates, and fewer than entries, test the candidates'
		// values.
		entries, share := pn.v.N, defaultCandidateShare
		if pn.v.Dict != nil {
			entries = pn.v.Dict.Len()
		} else {
			share = stringCandidateShare(k)
		}
		if cand := ec.candidatesFor(share, entries); cand != nil {
			k.EvalCandidates(pn.v, cand, out)
			return out, ec.err()
		}
	}
	return out, ec.run(k, pn.narrow, out)
}

type measurePredNode struct {
	m *measureNode
	p *predicate
}

func (mp measurePredNode) eval(ec *evalCtx) (column.Bitset, error) {
	v, err := ec.measure(mp.m)
	if err != nil {
		return nil, err
	}
	return ec.compare(mp.p, v)
}

// compare evaluates a predicate over per-customer values computed by the
// engine.
func (ec *evalCtx) compare(p *predicate, v *column.Vec) (column.Bitset, error) {
	out := column.NewBitset(ec.n)
	return out, ec.run(p.bind(ec.asOf), v, out)
}

type relatedNode struct {
	links *storage.Links
	rows  int
	where rowNode // nil: every row
	match segment.Match
	agg   *aggSpec
	cmp   *predicate
}

func (r *relatedNode) eval(ec *evalCtx) (column.Bitset, error) {
	// domain is the rows that matter (nil: every row): with sparse
	// candidates over clustered rows, only the candidates' rows.
	var domain, mask column.Bitset
	var list []rowRange
	if ec.cand != nil {
		if starts := r.links.Starts(); starts != nil {
			if r.runsByCandidate() {
				if cand := ec.candidatesFor(relatedCandidateShare(r.rows, ec.n), ec.n); cand != nil {
					return r.evalByCandidate(ec, cand, starts)
				}
			} else if cand := ec.candidatesFor(defaultCandidateShare, ec.n); cand != nil {
				list, domain = rowsOf(starts, cand, r.rows)
				mask = domain
			}
		}
	}
	if r.where != nil {
		var err error
		if domain != nil {
			mask = evalAt(r.where.words(ec), list, domain)
		} else if mask, err = r.where.eval(ec, r.rows); err != nil {
			return nil, err
		}
	}
	if r.agg != nil {
		if starts := r.links.Starts(); starts != nil && domain == nil && r.agg.extremeOfValues() {
			b, ok, err := r.extremeByRows(ec, starts, mask)
			if ok || err != nil {
				return b, err
			}
		}
		v, err := ec.aggregate(r.links, r.rows, mask, r.agg)
		if err != nil {
			return nil, err
		}
		return ec.compare(r.cmp, v)
	}
	if starts := r.links.Starts(); starts != nil {
		// Rows clustered by customer: each customer's rows are one range
		// of the mask (clustered.go).
		switch r.match {
		case segment.MatchAll:
			return ec.clusteredAll(r.links, starts, mask)
		case segment.MatchNone:
			b, err := ec.clusteredAny(r.links, starts, mask)
			if err != nil {
				return nil, err
			}
			b.Not(ec.n)
			return b, nil
		default:
			return ec.clusteredAny(r.links, starts, mask)
		}
	}
	switch r.match {
	case segment.MatchAll:
		// Customers with rows, less those with a row that fails where.
		has, err := ec.customersOf(r.links, r.rows, domain)
		if err != nil || r.where == nil {
			return has, err
		}
		if domain != nil {
			mask = andNotOf(domain, mask)
		} else {
			mask.Not(r.rows)
		}
		bad, err := ec.customersOf(r.links, r.rows, mask)
		if err != nil {
			return nil, err
		}
		has.AndNot(bad)
		return has, nil
	case segment.MatchNone:
		b, err := ec.customersOf(r.links, r.rows, mask)
		if err != nil {
			return nil, err
		}
		b.Not(ec.n)
		return b, nil
	default:
		return ec.customersOf(r.links, r.rows, mask)
	}
}

// customersOf returns the customers linked to at least one row of mask (nil:
// every row).
func (ec *evalCtx) customersOf(l *storage.Links, rows int, mask column.Bitset) (column.Bitset, error) {
	out := column.NewBitset(ec.n)
	cust := l.Customer
	err := ec.eachPart(l, rows, func(lo, hi int) error {
		for wi := lo >> 6; wi<<6 < hi; wi++ {
			w := maskWord(mask, wi, lo, hi)
			for w != 0 {
				r := wi<<6 | bits.TrailingZeros64(w)
				w &= w - 1
				if c := cust[r]; c >= 0 {
					out[c>>6] |= 1 << (uint32(c) & 63)
				}
			}
			if wi&1023 == 1023 {
				if err := ec.err(); err != nil {
					return err
				}
			}
		}
		return ec.err()
	})
	return out, err
}

// rowNode is a compiled where condition over the rows of one entity.
type rowNode interface {
	eval(ec *evalCtx, rows int) (column.Bitset, error)
	// words returns the condition as a test of up to 64 rows at a time.
	words(ec *evalCtx) wordTest
}

type rowConst struct{}

func (rowConst) eval(ec *evalCtx, rows int) (column.Bitset, error) {
	return column.NewBitset(rows), nil
}

// andNotOf returns a new bitset a &^ b.
func andNotOf(a, b column.Bitset) column.Bitset {
	out := a.Clone()
	out.AndNot(b)
	return out
}

type rowPred struct {
	v      *column.Vec
	narrow *column.Vec // v's narrow view, for the kernel's scan
	p      *predicate
}

func (rp rowPred) eval(ec *evalCtx, rows int) (column.Bitset, error) {
	out := column.NewBitset(rows)
	return out, ec.run(rp.p.bind(ec.asOf), rp.narrow, out)
}

type rowAnd struct{ kids []rowNode }

func (a rowAnd) eval(ec *evalCtx, rows int) (column.Bitset, error) {
	return combine(a.kids, func(k rowNode) (column.Bitset, error) { return k.eval(ec, rows) }, column.Bitset.And, true)
}

type rowOr struct{ kids []rowNode }

func (o rowOr) eval(ec *evalCtx, rows int) (column.Bitset, error) {
	return combine(o.kids, func(k rowNode) (column.Bitset, error) { return k.eval(ec, rows) }, column.Bitset.Or, false)
}

type rowNot struct{ kid rowNode }

func (n rowNot) eval(ec *evalCtx, rows int) (column.Bitset, error) {
	b, err := n.kid.eval(ec, rows)
	if err != nil {
		return nil, err
	}
	b.Not(rows)
	return b, nil
}
