package clickhouse

import (
	"context"
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/column"
)

// Case folding on ClickHouse 18.16, for FINDINGS.md: how far lowerUTF8
// is from segmentkit's simple Unicode case folding, and an expression
// that folds exactly as segmentkit does.

// foldRunes returns every rune that case folding or case mapping moves.
func foldRunes() []rune {
	var rs []rune
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if utf8.ValidRune(r) && (unicode.SimpleFold(r) != r || unicode.ToLower(r) != r || unicode.ToUpper(r) != r) {
			rs = append(rs, r)
		}
	}
	return rs
}

// orbit returns r's simple case folding orbit, smallest rune first.
func orbit(r rune) []rune {
	o := []rune{r}
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		o = append(o, f)
	}
	slices.Sort(o)
	return o
}

// serverMap returns what the SQL expression expr (of the column s) gives
// for each string.
func serverMap(t *testing.T, c *Cluster, expr string, ss []string) map[string]string {
	t.Helper()
	lits := make([]string, len(ss))
	for i, s := range ss {
		lits[i] = Quote(s)
	}
	rows, err := c.Rows(context.Background(), "SELECT s, "+expr+" FROM (SELECT arrayJoin(["+strings.Join(lits, ", ")+"]) AS s)")
	require.NoError(t, err)
	require.Len(t, rows, len(ss))
	out := map[string]string{}
	for _, row := range rows {
		out[row[0].Text] = row[1].Text
	}
	return out
}

func TestLowerUTF8Folding(t *testing.T) {
	c := testCluster(t)
	rs := foldRunes()
	ss := make([]string, len(rs))
	for i, r := range rs {
		ss[i] = string(r)
	}
	low := serverMap(t, c, "lowerUTF8(s)", ss)
	unified := func(r rune) bool {
		o := orbit(r)
		for _, m := range o[1:] {
			if low[string(m)] != low[string(o[0])] {
				return false
			}
		}
		return true
	}
	for _, r := range "AaZzÄäÉéÖöÜüÆæØøÞþĀāŁłŒœŸÿΔδΛλАаЯяЁёЇїԱա" {
		require.True(t, unified(r), "lowerUTF8 folds %q with its case partners", r)
	}
	// Not folded together: a lower case form of another UTF-8 length
	// (K KELVIN SIGN, Ω OHM SIGN, Å ANGSTROM SIGN, ẞ, Ɐ), fold-only variants
	// (ſ, ς, ϐ, ϑ, ẛ, titlecase ǅ, Greek ᾈ), and letters newer than
	// ClickHouse's tables (Georgian Mtavruli, Cherokee small letters).
	for _, r := range "\u212a\u2126\u212bẞⱯſςϐϑẛǅᾈᲐꭰ" {
		require.False(t, unified(r), "lowerUTF8 does not fold %q with its case partners", r)
	}
	seen := map[rune]bool{}
	n := 0
	for _, r := range rs {
		if o := orbit(r); len(o) > 1 && !seen[o[0]] {
			seen[o[0]] = true
			if !unified(r) {
				n++
			}
		}
	}
	t.Logf("lowerUTF8 leaves %d of %d case folding orbits apart", n, len(seen))
	require.Greater(t, n, 500)

	// positionCaseInsensitiveUTF8 folds some of those (K KELVIN SIGN with
	// k), but not all (ς with σ).
	var pairs []string
	for _, r := range rs {
		if o := orbit(r); len(o) > 1 && r != o[0] {
			pairs = append(pairs, "("+Quote(string(r))+", "+Quote(string(o[0]))+")")
		}
	}
	rows, err := c.Rows(context.Background(), "SELECT countIf(positionCaseInsensitiveUTF8(tupleElement(p, 1), tupleElement(p, 2)) != 1), count() FROM (SELECT arrayJoin(["+strings.Join(pairs, ", ")+"]) AS p)")
	require.NoError(t, err)
	t.Logf("positionCaseInsensitiveUTF8 misses %s of %s pairs of case partners", rows[0][0].Text, rows[0][1].Text)
	require.NotEqual(t, "0", rows[0][0].Text)
	// It never folds together what case folding keeps apart.
	byLow := map[string]rune{}
	for _, r := range rs {
		if other, ok := byLow[low[string(r)]]; ok {
			require.Contains(t, orbit(r), other, "lowerUTF8 folds %q and %q together", r, other)
		}
		byLow[low[string(r)]] = r
	}
}

// foldExpr is an expression that folds the String expression x exactly
// as segmentkit does (column.FoldString): it splits x into code points
// and maps each through transform with the table of every rune that
// folding moves.
func foldExpr(x string) string {
	var from, to []string
	for r := rune(0); r <= unicode.MaxRune; r++ {
		if !utf8.ValidRune(r) {
			continue
		}
		if f := column.FoldString(string(r)); f != string(r) {
			from, to = append(from, Quote(string(r))), append(to, Quote(f))
		}
	}
	return "arrayStringConcat(arrayMap(ch -> transform(ch, [" + strings.Join(from, ",") + "], [" + strings.Join(to, ",") + "], ch), extractAll(" + x + ", '(?s).')))"
}

func TestFoldExpression(t *testing.T) {
	c := testCluster(t)
	var ss []string
	for _, r := range foldRunes() {
		ss = append(ss, string(r))
	}
	ss = append(ss, hardStrings...)
	ss = append(ss, "\u212Aelvin", "KELVIN", "Σίσυφος", "ΣΊΣΥΦΟΣ", "straße", "STRASSE", "ẞ", "Ωmega", "a\x00b\nc", "")
	t.Logf("the fold expression is %d bytes", len(foldExpr("s")))
	got := serverMap(t, c, foldExpr("s"), ss)
	for _, s := range ss {
		require.Equal(t, column.FoldString(s), got[s], "%q", s)
	}
	// On a Nullable column: extractAll refuses Nullable(String), so the
	// expression takes ifNull(x, '') and the NULL is tested apart.
	rows, err := c.Rows(context.Background(), "SELECT isNull(s) OR "+foldExpr("ifNull(s, '')")+" = "+Quote(column.FoldString("kelvin"))+" FROM (SELECT arrayJoin([CAST(NULL AS Nullable(String)), '\u212aELVIN', 'x']) AS s)")
	require.NoError(t, err)
	require.Equal(t, [][]Field{{{Text: "1"}}, {{Text: "1"}}, {{Text: "0"}}}, rows)
}
