package column

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
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
		x, s := word(8), FoldString(word(4))
		if r.IntN(4) == 0 { // values that hold the operand in some case
			x = word(3) + strings.ToLower(s) + word(3)
		}
		fx := FoldString(x)
		require.Equal(t, fx == s, EqualFold(x, s), "%q equals %q", x, s)
		require.Equal(t, strings.HasPrefix(fx, s), HasPrefixFold(x, s), "%q startsWith %q", x, s)
		require.Equal(t, strings.HasSuffix(fx, s), HasSuffixFold(x, s), "%q endsWith %q", x, s)
		require.Equal(t, strings.Contains(fx, s), ContainsFold(x, s), "%q contains %q", x, s)
	}
}
