package engine

import (
	"cmp"
	"slices"
)

// A conjunction evaluates its conditions cheapest first: its later
// conditions are then restricted to the customers still in the running
// (candidate restriction, candidates.go), so the expensive ones, over many
// related rows, test fewer rows. A disjunction does too: its later
// disjuncts are restricted to the customers not yet in. The estimate is
// the number of values a condition scans.

// cost estimates the values a node scans.
func cost(n node) int {
	switch n := n.(type) {
	case cachedNode:
		return cost(n.node)
	case predNode:
		c := n.v.N / 8 // one typed pass over a customer column
		if n.v.Str != nil {
			c += len(n.v.Str.ValueBytes()) / 8 // and over plain strings' bytes
		}
		return c
	case measurePredNode:
		return n.m.rows
	case *relatedNode:
		return n.rows
	case *sequenceNode:
		return 2 * n.rows // two row conditions, then each customer's rows sorted
	case notNode:
		return cost(n.kid)
	case andNode:
		return sumCost(n.kids)
	case orNode:
		return sumCost(n.kids)
	}
	return 0
}

func sumCost(kids []node) int {
	c := 0
	for _, k := range kids {
		c += cost(k)
	}
	return c
}

// byCost returns the kids ordered by increasing cost; ties keep their
// order as written.
func byCost(kids []node) []node {
	out := slices.Clone(kids)
	slices.SortStableFunc(out, func(a, b node) int { return cmp.Compare(cost(a), cost(b)) })
	return out
}
