package segment_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/segment"
)

// recorder records the nodes Walk visits, nil for the end of children.
type recorder struct{ seen *[]string }

func (r recorder) Visit(c segment.Condition) segment.Visitor {
	if c == nil {
		*r.seen = append(*r.seen, "end")
		return nil
	}
	*r.seen = append(*r.seen, c.String())
	if _, ok := c.(*segment.Not); ok {
		return nil // do not descend into not
	}
	return r
}

func TestWalk(t *testing.T) {
	c, err := segment.ParseCondition([]byte(`{"and": [
		{"related": "Order", "where": {"attribute": "Order.Gift", "operator": "isTrue"}},
		{"not": {"segment": "A"}},
		{"segment": "B"}]}`))
	require.NoError(t, err)
	var seen []string
	segment.Walk(recorder{&seen}, c)
	require.Equal(t, []string{
		"((any Order where Order.Gift isTrue) and not (segment A) and segment B)",
		"any Order where Order.Gift isTrue",
		"Order.Gift isTrue", "end",
		"end",
		"not (segment A)",
		"segment B", "end",
		"end",
	}, seen)

	// Nil nodes are skipped.
	seen = nil
	segment.Walk(recorder{&seen}, &segment.Or{Conditions: []segment.Condition{nil, (*segment.And)(nil)}})
	require.Equal(t, []string{"(<nil> or <nil>)", "end"}, seen)
}

func TestInspect(t *testing.T) {
	c, err := segment.ParseCondition([]byte(`{"or": [{"segment": "A"}, {"related": "Order", "where": {"not": {"attribute": "Order.Gift", "operator": "isTrue"}}}]}`))
	require.NoError(t, err)
	var refs []string
	segment.Inspect(c, func(c segment.Condition) bool {
		switch n := c.(type) {
		case *segment.SegmentRef:
			refs = append(refs, n.Name)
		case *segment.Predicate:
			refs = append(refs, n.Attribute)
		}
		return true
	})
	require.Equal(t, []string{"A", "Order.Gift"}, refs)
}
