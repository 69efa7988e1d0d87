package engine

import "github.com/segmentkit/segmentkit/internal/column"

// Candidate restriction: a conjunction restricts its later conditions to
// the customers still in the running, its candidates, and a disjunction
// its later disjuncts to the customers not yet in its result. While
// ec.cand is set, a node's result needs to be right only for the customers
// in ec.cand: the caller intersects with it, or, a disjunction, adds it to
// customers already in. A node that uses the candidates (candidatesFor)
// marks the evaluation partial, so that its result is not cached as the
// condition's whole result. A related condition over rows clustered by
// customer then tests only the rows of those customers instead of scanning
// every row: a VIP who has not ordered lately costs the VIPs' orders, not
// all orders. It runs customer by customer where it can
// (candidates_related.go), otherwise over the candidates' row ranges
// (below).

// defaultCandidateShare is the share of customers below which the
// candidates restrict a string predicate on a dictionary column, or a
// related condition that cannot run customer by customer.
const defaultCandidateShare = 0.1

// stringCandidateShare is the default share of customers below which a
// string predicate on a plain (not dictionary) column tests the
// candidates' values one by one (column.Kernel.EvalCandidates) rather than
// the whole column, by the kernel benchmarks (BenchmarkKernelCandidates
// on 1M e-mails): a case-insensitive contains searches the whole value
// buffer faster than it tests even 1% of the values one by one, so never;
// startsWith and endsWith, compared in place a word at a time, below
// 0.15; the others, which test the values one by one either way, below
// half.
func stringCandidateShare(k *column.Kernel) float64 {
	switch {
	case k.Fold != nil:
		return 0
	case k.Affix != nil:
		return 0.15
	}
	return 0.5
}

// candidatesFor returns the candidates to restrict a node's result to, or
// nil: ec.cand when its share of the customers is below
// Options.CandidateShare (def when that is not set) and it has fewer than
// limit customers. A returned cand marks the evaluation partial: the
// caller's result is then right for the candidates alone.
func (ec *evalCtx) candidatesFor(def float64, limit int) column.Bitset {
	share := ec.candidateShare
	if share == 0 {
		share = def
	}
	if ec.cand == nil || share <= 0 {
		return nil
	}
	if n := ec.cand.Count(); float64(n) >= share*float64(ec.n) || n >= limit {
		return nil
	}
	ec.partial = true
	return ec.cand
}

// passesCandidates reports whether conjunctions pass their candidates on.
func (ec *evalCtx) passesCandidates() bool { return ec.candidateShare >= 0 }

// withCandidates evaluates n with ec.cand set to cand (nil: unrestricted).
func (ec *evalCtx) withCandidates(cand column.Bitset, n node) (column.Bitset, error) {
	old := ec.cand
	ec.cand = cand
	defer func() { ec.cand = old }()
	return n.eval(ec)
}

// rowRange is the rows [lo, hi) of consecutive candidate customers.
type rowRange struct{ lo, hi uint32 }

// rowsOf returns the rows of the candidate customers as ascending ranges,
// neighbours merged, and the same rows as a bitset over all rows.
func rowsOf(starts []uint32, cand column.Bitset, rows int) ([]rowRange, column.Bitset) {
	var rs []rowRange
	dom := column.NewBitset(rows)
	cand.ForEach(func(c int) {
		lo, hi := starts[c], starts[c+1]
		if lo == hi {
			return
		}
		if n := len(rs); n > 0 && rs[n-1].hi == lo {
			rs[n-1].hi = hi
		} else {
			rs = append(rs, rowRange{lo, hi})
		}
	})
	for _, r := range rs {
		setRange(dom, int(r.lo), int(r.hi))
	}
	return rs, dom
}

// setRange sets the bits [lo, hi) of b.
func setRange(b column.Bitset, lo, hi int) {
	for lo < hi && lo&63 != 0 {
		b.Set(lo)
		lo++
	}
	for ; lo+64 <= hi; lo += 64 {
		b[lo>>6] = ^uint64(0)
	}
	for ; lo < hi; lo++ {
		b.Set(lo)
	}
}

// evalAt tests the rows of the ranges in list with t and returns their
// results as a new bitset the size of dom, the ranges' bitset.
func evalAt(t wordTest, list []rowRange, dom column.Bitset) column.Bitset {
	out := make(column.Bitset, len(dom))
	for _, rr := range list {
		for p := int(rr.lo); p < int(rr.hi); p += 64 {
			n := min(64, int(rr.hi)-p)
			w := t(p, n)
			s := uint(p) & 63
			out[p>>6] |= w << s
			if s != 0 && int(s)+n > 64 {
				out[p>>6+1] |= w >> (64 - s)
			}
		}
	}
	return out
}
