package sqlgen_test

import (
	"database/sql"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/sqlgen"
)

// hostile are strings that must survive quoting: quotes, backslashes,
// comment markers, statement ends, control characters and non-ASCII text.
var hostile = []string{
	"", "plain", "O'Brien", "''", "'", `\`, `\'`, `\\'`, `"`, `""`, "a\"b'c",
	"-- comment", "/* open", "close */", "*/ DROP TABLE x; --", "'; DROP TABLE \"Customer\"; --",
	"line\nbreak", "cr\rlf\r\n", "tab\t", "\x01\x1f\x7f", "ends with newline\n", "\n",
	"ümlaut", "ΣΊΣΥΦΟΣ", "\u212Aelvin", "😀 emoji", "\u2028line separator\u2029", "%_*?[]^$.()|+{}",
	"$1 ?1 :name @p", "E'x'", "U&'x'",
}

// withNUL are hostile strings with NUL, which SQLite takes and the others
// refuse.
var withNUL = []string{"\x00", "a\x00b", "'\x00'"}

func openMemory(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", ":memory:")
	require.NoError(t, err)
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	return db
}

// TestSQLiteLiteral runs every literal through SQLite: it reads back as
// the same value and type.
func TestSQLiteLiteral(t *testing.T) {
	db := openMemory(t)
	for _, s := range append(append([]string{}, hostile...), withNUL...) {
		lit, err := sqlgen.SQLite.Literal(s)
		require.NoError(t, err)
		require.NotContains(t, lit, "\n")
		require.NotContains(t, lit, "\r")
		require.NotContains(t, lit, "\x00")
		var got string
		var typ string
		require.NoError(t, db.QueryRow("SELECT "+lit+", typeof("+lit+")").Scan(&got, &typ), lit)
		require.Equal(t, s, got, lit)
		require.Equal(t, "text", typ)
	}
	ints := []int64{0, 1, -1, 42, math.MaxInt64, math.MinInt64, math.MinInt64 + 1, 1 << 53, 1<<53 + 1}
	for _, i := range ints {
		lit, err := sqlgen.SQLite.Literal(i)
		require.NoError(t, err)
		var got int64
		var typ string
		require.NoError(t, db.QueryRow("SELECT "+lit+", typeof("+lit+")").Scan(&got, &typ), lit)
		require.Equal(t, i, got)
		require.Equal(t, "integer", typ, lit)
	}
	r := rand.New(rand.NewPCG(1, 2))
	floats := []float64{0, math.Copysign(0, -1), 0.1, 1, 30, 1e300, 5e-324, math.MaxFloat64, -2.5, 9007199254740993}
	for range 3000 {
		floats = append(floats, math.Float64frombits(r.Uint64()), float64(r.IntN(100000))/100)
	}
	for _, f := range floats {
		if math.IsNaN(f) || math.IsInf(f, 0) {
			_, err := sqlgen.SQLite.Literal(f)
			require.ErrorIs(t, err, sqlgen.ErrUnsupported)
			continue
		}
		lit, err := sqlgen.SQLite.Literal(f)
		require.NoError(t, err)
		var got float64
		var typ string
		require.NoError(t, db.QueryRow("SELECT "+lit+", typeof("+lit+")").Scan(&got, &typ), lit)
		require.Equal(t, math.Float64bits(f), math.Float64bits(got), lit)
		require.Equal(t, "real", typ, lit)
	}
	for b, want := range map[bool]int64{true: 1, false: 0} {
		lit, err := sqlgen.SQLite.Literal(b)
		require.NoError(t, err)
		var got int64
		require.NoError(t, db.QueryRow("SELECT "+lit).Scan(&got))
		require.Equal(t, want, got)
	}
	_, err := sqlgen.SQLite.Literal("\xff")
	require.ErrorIs(t, err, sqlgen.ErrUnsupported)
	_, err = sqlgen.SQLite.Literal(struct{}{})
	require.ErrorIs(t, err, sqlgen.ErrUnsupported)
}

// TestSQLiteIdent creates a table whose name and columns are hostile and
// reads them back through quoted names.
func TestSQLiteIdent(t *testing.T) {
	db := openMemory(t)
	var names []string
	for _, s := range hostile {
		if _, err := sqlgen.SQLite.Ident(s); err == nil {
			names = append(names, s)
		}
	}
	require.Greater(t, len(names), 20)
	// SQLite's names ignore ASCII case: keep one of each.
	seen := map[string]bool{}
	var cols, quoted []string
	for _, n := range names {
		if seen[strings.ToLower(n)] {
			continue
		}
		seen[strings.ToLower(n)] = true
		q, err := sqlgen.SQLite.Ident(n)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(q, `"`) && strings.HasSuffix(q, `"`))
		quoted = append(quoted, q)
		cols = append(cols, q+" TEXT")
	}
	table, err := sqlgen.SQLite.Ident("Or'der\" -- */")
	require.NoError(t, err)
	_, err = db.Exec("CREATE TABLE " + table + " (" + strings.Join(cols, ", ") + ")")
	require.NoError(t, err)
	rows, err := db.Query("SELECT name FROM pragma_table_info(?1)", "Or'der\" -- */")
	require.NoError(t, err)
	var got []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		got = append(got, n)
	}
	require.NoError(t, rows.Close())
	require.Len(t, got, len(quoted))
	_, err = db.Exec("SELECT " + strings.Join(quoted, ", ") + " FROM " + table)
	require.NoError(t, err)

	for _, bad := range []string{"", "a\nb", "a\x00b", "\xff", "tab\there"} {
		_, err := sqlgen.SQLite.Ident(bad)
		require.ErrorIs(t, err, sqlgen.ErrUnsupported, "%q", bad)
	}
}

// decodeStandard reads a string literal of the PostgreSQL and DuckDB
// dialects: 'text' with ” for ', or such literals and chr(N) joined with
// || in parentheses. It fails on anything else, so a literal that could
// end early or hold a comment does not decode.
func decodeStandard(t *testing.T, lit string) string {
	t.Helper()
	quoted := `'(?:[^']|'')*'`
	part := regexp.MustCompile(`^(?:` + quoted + `|chr\(\d+\))$`)
	parts := []string{lit}
	if strings.HasPrefix(lit, "(") {
		require.True(t, strings.HasSuffix(lit, ")"), lit)
		parts = strings.Split(lit[1:len(lit)-1], " || ")
		require.Greater(t, len(parts), 1, lit)
	}
	var b strings.Builder
	for _, p := range parts {
		require.Regexp(t, part, p, lit)
		if strings.HasPrefix(p, "chr(") {
			n, err := strconv.Atoi(p[4 : len(p)-1])
			require.NoError(t, err)
			b.WriteRune(rune(n))
			continue
		}
		b.WriteString(strings.ReplaceAll(p[1:len(p)-1], "''", "'"))
	}
	return b.String()
}

func TestStandardLiterals(t *testing.T) {
	for _, d := range []sqlgen.Dialect{sqlgen.PostgreSQL, sqlgen.DuckDB} {
		t.Run(d.Name(), func(t *testing.T) {
			for _, s := range hostile {
				lit, err := d.Literal(s)
				require.NoError(t, err)
				require.NotContains(t, lit, "\n")
				require.Equal(t, s, decodeStandard(t, lit))
			}
			for _, s := range withNUL {
				_, err := d.Literal(s)
				require.ErrorIs(t, err, sqlgen.ErrUnsupported)
			}
			cast := regexp.MustCompile(`^CAST\('([-+.0-9e]+)' AS (DOUBLE PRECISION|DOUBLE)\)$`)
			for _, f := range []float64{0, math.Copysign(0, -1), 0.1, 1e300, 5e-324, -2.5} {
				lit, err := d.Literal(f)
				require.NoError(t, err)
				m := cast.FindStringSubmatch(lit)
				require.NotNil(t, m, lit)
				back, err := strconv.ParseFloat(m[1], 64)
				require.NoError(t, err)
				require.Equal(t, math.Float64bits(f), math.Float64bits(back))
			}
			lit, err := d.Literal(int64(math.MinInt64))
			require.NoError(t, err)
			require.Equal(t, "(-9223372036854775807 - 1)", lit)
			lit, err = d.Literal(true)
			require.NoError(t, err)
			require.Equal(t, "TRUE", lit)
			q, err := d.Ident(`a"b`)
			require.NoError(t, err)
			require.Equal(t, `"a""b"`, q)
			_, err = d.Ident("a\nb")
			require.ErrorIs(t, err, sqlgen.ErrUnsupported)
		})
	}
}

// TestSQLiteSearch checks SQLite's string search against the engine's
// folding (internal/column) on random strings and needles drawn from
// characters that GLOB treats specially and characters with case folding
// orbits of two and three.
func TestSQLiteSearch(t *testing.T) {
	db := openMemory(t)
	alphabet := []rune("aAbB*?[]^-\\%_'kK\u212AsSſσςΣßẞéÉ .")
	r := rand.New(rand.NewPCG(3, 4))
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	kinds := []sqlgen.SearchKind{sqlgen.SearchEqual, sqlgen.SearchContains, sqlgen.SearchPrefix, sqlgen.SearchSuffix}
	for range 3000 {
		s, needle := word(r.IntN(6)), word(r.IntN(3))
		if r.IntN(4) == 0 {
			needle = s
		}
		fold := r.IntN(2) == 0
		kind := kinds[r.IntN(len(kinds))]
		var p sqlgen.Pattern
		for _, c := range needle {
			set := []rune{c}
			if fold {
				for f := unicode.SimpleFold(c); f != c; f = unicode.SimpleFold(f) {
					set = append(set, f)
				}
			}
			p = append(p, set)
		}
		var args []any
		lit := func(v any) string { args = append(args, v); return "?" + strconv.Itoa(len(args)) }
		cond, err := sqlgen.SQLite.Search(lit(s), kind, p, lit)
		require.NoError(t, err)
		var got bool
		require.NoError(t, db.QueryRow("SELECT "+cond, args...).Scan(&got))
		x, n := s, needle
		if fold {
			x, n = column.FoldString(s), column.FoldString(needle)
		}
		want := map[sqlgen.SearchKind]bool{
			sqlgen.SearchEqual: x == n, sqlgen.SearchContains: strings.Contains(x, n),
			sqlgen.SearchPrefix: strings.HasPrefix(x, n), sqlgen.SearchSuffix: strings.HasSuffix(x, n),
		}[kind]
		require.Equal(t, want, got, "%q %s %q fold=%v: %s", s, kind, needle, fold, cond)
	}
}

// TestCommentsHoldNoUserText: in every golden query, a comment line holds
// only the characters of paths, names and instants, whatever the schema
// and definition hold.
func TestCommentsHoldNoUserText(t *testing.T) {
	files, err := filepath.Glob("testdata/golden/*/*.sql")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	safe := regexp.MustCompile(`^-- [A-Za-z0-9_\-.\[\]:+ ,()?]*$`)
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for line := range strings.Lines(string(b)) {
			line = strings.TrimSpace(line)
			if strings.HasPrefix(line, "--") {
				require.Regexp(t, safe, line, f)
			}
		}
		if strings.HasSuffix(f, "hostile.sql") {
			require.Contains(t, string(b), "-- one row per member: Cust?omer.I?d")
		}
	}
}
