package engine

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// TestFoldComparisons checks the comparisons that fold values as they go
// against the same comparisons of foldString's copies, on strings with
// letters that fold across scripts and byte widths, and invalid UTF-8.
func TestFoldComparisons(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	pieces := []string{"a", "A", "k", "K", "\u212a", "s", "S", "\u017f", "ß", "ẞ", "Σ", "σ", "ς", "é", "É", "İ", "ı", "i", "\xff", "\xe2\x82", "-", ""}
	word := func(n int) string {
		var sb strings.Builder
		for range r.IntN(n) {
			sb.WriteString(pieces[r.IntN(len(pieces))])
		}
		return sb.String()
	}
	for range 50000 {
		x, s := word(8), foldString(word(4))
		if r.IntN(4) == 0 { // values that hold the operand in some case
			x = word(3) + strings.ToLower(s) + word(3)
		}
		fx := foldString(x)
		require.Equal(t, fx == s, equalFold(x, s), "%q equals %q", x, s)
		require.Equal(t, strings.HasPrefix(fx, s), hasPrefixFold(x, s), "%q startsWith %q", x, s)
		require.Equal(t, strings.HasSuffix(fx, s), hasSuffixFold(x, s), "%q endsWith %q", x, s)
		require.Equal(t, strings.Contains(fx, s), containsFold(x, s), "%q contains %q", x, s)
	}
}

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
		allocs := testing.AllocsPerRun(100, func() { k.match("Ärger \u212aelvin user ſtraße") })
		require.Zero(t, allocs, "%s", c.op)
	}
}
