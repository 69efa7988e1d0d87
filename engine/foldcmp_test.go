package engine

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// TestFoldPredicatesAllocateNothing checks that ignoreCase predicates
// tested value by value do not allocate per value.
func TestFoldPredicatesAllocateNothing(t *testing.T) {
	for _, c := range []struct {
		op    segment.Op
		value segment.Value
	}{
		{segment.Equals, segment.Str("ſtraße")},
		{segment.StartsWith, segment.Str("user")},
		{segment.EndsWith, segment.Str("\u212aelvin")},
		{segment.Contains, segment.Str("Σσ")},
		{segment.In, segment.List(segment.Str("a"), segment.Str("Kelvin"))},
	} {
		p, err := newPredicate(schema.String, c.op, c.value, true)
		require.NoError(t, err)
		k := p.bind(asOfBench)
		allocs := testing.AllocsPerRun(100, func() { k.Match("Ärger \u212aelvin user ſtraße") })
		require.Zero(t, allocs, "%s", c.op)
	}
}
