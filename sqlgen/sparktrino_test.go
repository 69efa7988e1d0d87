package sqlgen_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/sqlsyntax"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/sqlgen"
)

// The tests of the Spark and Trino dialects parse their SQL with the
// engines' grammars (internal/sqlsyntax, which needs Node.js and npm:
// they fail, never skip, without them). No test here can run the engines.

func TestMain(m *testing.M) {
	code := m.Run()
	if err := sqlsyntax.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "sqlsyntax: Close:", err)
		code = 1
	}
	os.Exit(code)
}

// grammars maps each dialect checked by grammar to sqlsyntax's name.
var grammars = map[sqlgen.Dialect]string{sqlgen.Spark: sqlsyntax.Spark, sqlgen.Trino: sqlsyntax.Trino}

// requireParses validates queries with the grammar of d in one batch and
// requires that none has a syntax error.
func requireParses(t *testing.T, d sqlgen.Dialect, queries []string) {
	t.Helper()
	errs, err := sqlsyntax.Validate(context.Background(), grammars[d], queries)
	require.NoError(t, err)
	for i, e := range errs {
		require.Empty(t, e, "%s query %d:\n%s", d.Name(), i, queries[i])
	}
}

// decodeSpark reads a string literal of the Spark dialect: 'text' in
// which a backslash is followed by \, ' or uXXXX, and no other quote or
// backslash appears, as Spark unescapes it. It fails on anything else.
func decodeSpark(t *testing.T, lit string) string {
	t.Helper()
	require.Regexp(t, `^'(?:[^'\\$\x00-\x1f\x7f]|\\\\|\\'|\\u[0-9A-F]{4})*'$`, lit)
	body := lit[1 : len(lit)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] != '\\' {
			b.WriteByte(body[i])
			continue
		}
		switch body[i+1] {
		case '\\', '\'':
			b.WriteByte(body[i+1])
			i++
		case 'u':
			n, err := strconv.ParseUint(body[i+2:i+6], 16, 32)
			require.NoError(t, err)
			b.WriteRune(rune(n))
			i += 5
		}
	}
	return b.String()
}

// TestSparkTrinoLiterals decodes every hostile string's literal as the
// engine reads it, and parses SELECT of each with the engine's grammar.
func TestSparkTrinoLiterals(t *testing.T) {
	decode := map[sqlgen.Dialect]func(*testing.T, string) string{sqlgen.Spark: decodeSpark, sqlgen.Trino: decodeStandard}
	strs := append(append([]string{"${env:HOME} ${x}", `\u0041 \n \0`}, hostile...), withNUL...)
	for d, grammar := range grammars {
		t.Run(d.Name(), func(t *testing.T) {
			var queries []string
			for _, s := range strs {
				lit, err := d.Literal(s)
				require.NoError(t, err)
				require.NotContains(t, lit, "\n")
				require.NotContains(t, lit, "\r")
				require.NotContains(t, lit, "\x00")
				if d == sqlgen.Spark {
					require.NotContains(t, lit, "${")
				}
				require.Equal(t, s, decode[d](t, lit), lit)
				queries = append(queries, "SELECT "+lit+" AS x")
			}
			for _, f := range []float64{0, math.Copysign(0, -1), 0.1, 1e300, 5e-324, -2.5, math.MaxFloat64} {
				lit, err := d.Literal(f)
				require.NoError(t, err)
				m := regexp.MustCompile(`^CAST\('([-+.0-9e]+)' AS DOUBLE\)$`).FindStringSubmatch(lit)
				require.NotNil(t, m, lit)
				back, err := strconv.ParseFloat(m[1], 64)
				require.NoError(t, err)
				require.Equal(t, math.Float64bits(f), math.Float64bits(back))
				queries = append(queries, "SELECT "+lit+" AS x")
			}
			_, err := d.Literal(math.Inf(1))
			require.ErrorIs(t, err, sqlgen.ErrUnsupported)
			_, err = d.Literal("\xff")
			require.ErrorIs(t, err, sqlgen.ErrUnsupported)
			for _, v := range []any{int64(0), int64(math.MaxInt64), int64(math.MinInt64), true, false, nil} {
				lit, err := d.Literal(v)
				require.NoError(t, err)
				queries = append(queries, "SELECT "+lit+" AS x")
			}
			lit, err := d.Literal(int64(math.MinInt64))
			require.NoError(t, err)
			require.Equal(t, "(-9223372036854775807 - 1)", lit)

			// Names: every hostile one that the dialect takes parses as
			// a table and a column.
			quote := map[string]string{"spark": "`", "trino": `"`}[d.Name()]
			taken := 0
			for _, s := range hostile {
				q, err := d.Ident(s)
				if err != nil {
					require.ErrorIs(t, err, sqlgen.ErrUnsupported)
					continue
				}
				taken++
				require.Equal(t, quote+strings.ReplaceAll(s, quote, quote+quote)+quote, q)
				queries = append(queries, "SELECT "+q+"."+q+" FROM "+q+" AS "+q)
			}
			require.Greater(t, taken, 20)
			for _, bad := range []string{"", "a\nb", "a\x00b", "\xff"} {
				_, err := d.Ident(bad)
				require.ErrorIs(t, err, sqlgen.ErrUnsupported, "%q", bad)
			}
			_, err = d.Ident("a${b}")
			if d == sqlgen.Spark {
				require.ErrorIs(t, err, sqlgen.ErrUnsupported)
			} else {
				require.NoError(t, err)
			}
			require.Equal(t, grammars[d], grammar)
			requireParses(t, d, queries)
		})
	}
}

// searchForm is the shape of a Spark or Trino Search condition, with the
// column as x and the literals as L0, L1, ...
var searchForm = regexp.MustCompile(`^(?:(?P<fn>instr|strpos|substr|length)\()?(?P<x>x|translate\(x, L(?P<from>\d+), L(?P<to>\d+)\))` +
	`(?:, (?P<needle>L\d+)\) > 0|, 1, (?P<n>\d+)\) = (?P<prefix>L\d+)|, -(?P<m>\d+)\) = (?P<suffix>L\d+)|\) >= 0| = (?P<equal>L\d+))$`)

// evalSearch evaluates a Search condition of searchForm on s by the
// functions' documented meaning, over code points: translate replaces
// each character found in from by the one at its position in to, instr
// and strpos give the 1-based position of a substring or 0, substr(s, 1,
// n) the first n characters, substr(s, -n) the last n (the whole string
// when shorter).
func evalSearch(t *testing.T, cond string, lits []string, s string) bool {
	t.Helper()
	m := searchForm.FindStringSubmatch(cond)
	require.NotNil(t, m, cond)
	g := func(name string) string { return m[searchForm.SubexpIndex(name)] }
	lit := func(name string) string {
		i, err := strconv.Atoi(strings.TrimPrefix(g(name), "L"))
		require.NoError(t, err, cond)
		return lits[i]
	}
	x := []rune(s)
	if g("from") != "" {
		from, to := []rune(lit("from")), []rune(lit("to"))
		require.Len(t, to, len(from))
		for i, r := range x {
			for j, f := range from {
				if r == f {
					x[i] = to[j]
					break
				}
			}
		}
	}
	atoi := func(name string) int { n, err := strconv.Atoi(g(name)); require.NoError(t, err); return n }
	switch {
	case g("equal") != "":
		return string(x) == lit("equal")
	case g("needle") != "":
		return strings.Contains(string(x), lit("needle"))
	case g("prefix") != "":
		n := atoi("n")
		return string(x[:min(n, len(x))]) == lit("prefix")
	case g("suffix") != "":
		n := atoi("m")
		return string(x[max(len(x)-n, 0):]) == lit("suffix")
	}
	require.Equal(t, "length", g("fn"), cond)
	return true
}

// TestSparkTrinoSearch checks the string searches of Spark and Trino
// against the engine's folding (internal/column), by the documented
// meaning of the functions they use, on random strings of characters with
// folding orbits of one, two and three and of pattern metacharacters.
func TestSparkTrinoSearch(t *testing.T) {
	alphabet := []rune("aAbB*?[]^-\\%_'kK\u212AsSſσςΣßẞéÉ .$\n\x00\U00010400\U00010428")
	r := rand.New(rand.NewPCG(5, 6))
	word := func(n int) string {
		var b strings.Builder
		for range n {
			b.WriteRune(alphabet[r.IntN(len(alphabet))])
		}
		return b.String()
	}
	kinds := []sqlgen.SearchKind{sqlgen.SearchEqual, sqlgen.SearchContains, sqlgen.SearchPrefix, sqlgen.SearchSuffix}
	for _, d := range []sqlgen.Dialect{sqlgen.Spark, sqlgen.Trino} {
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
			var lits []string
			lit := func(v any) string {
				s, ok := v.(string)
				require.True(t, ok, "a search writes strings only: %v", v)
				require.True(t, utf8.ValidString(s))
				lits = append(lits, s)
				return "L" + strconv.Itoa(len(lits)-1)
			}
			cond, err := d.Search("x", kind, p, lit)
			require.NoError(t, err)
			x, n := s, needle
			if fold {
				x, n = column.FoldString(s), column.FoldString(needle)
			}
			want := map[sqlgen.SearchKind]bool{
				sqlgen.SearchEqual: x == n, sqlgen.SearchContains: strings.Contains(x, n),
				sqlgen.SearchPrefix: strings.HasPrefix(x, n), sqlgen.SearchSuffix: strings.HasSuffix(x, n),
			}[kind]
			require.Equal(t, want, evalSearch(t, cond, lits, s), "%s: %q %s %q fold=%v: %s %q", d.Name(), s, kind, needle, fold, cond, lits)
		}
	}
}

// TestGoldenSyntax parses every golden query of Spark and Trino with the
// engine's grammar, in one batch per dialect.
func TestGoldenSyntax(t *testing.T) {
	for d := range grammars {
		var queries []string
		for _, gc := range goldenCases(t) {
			q, err := sqlgen.Compile(gc.def, gc.sch, goldenOptions(t, d, gc.sch))
			require.NoError(t, err, gc.name)
			queries = append(queries, q.SQL)
		}
		require.NotEmpty(t, queries)
		requireParses(t, d, queries)
	}
}

var flagGrammar = flag.Int("sqlgen.grammar", 1, "random definitions per data directory whose Spark and Trino queries "+
	"TestSQLiteMatchesEngine parses with the engines' grammars (-1: all; parsing a new query takes 50 to 300 ms)")

// grammarRun compiles the definitions of the differential run for Spark
// and Trino too: each must compile without bind parameters or be reported
// unsupported. The queries of the first -sqlgen.grammar definitions of
// each data directory (all with -1) are parsed with the engines'
// grammars, in one batch per dialect and directory. (The grammars parse a
// query of a new shape in 50 ms (Trino) to 300 ms (Spark), so parsing all
// of a default run takes about ten minutes on two cores.)
type grammarRun struct {
	// compiled and unsupported count the definitions per dialect, in the
	// order of grammarDialects.
	compiled, unsupported, parsed [2]atomic.Int64
	mu                            sync.Mutex
	// example is a reason a definition was unsupported, per dialect.
	example [2]string
}

var grammarDialects = [2]sqlgen.Dialect{sqlgen.Spark, sqlgen.Trino}

// compile compiles def for each dialect of grammarDialects, with the
// references of the run and a row order column for every entity (the
// name is all the grammar needs), and appends the query to queries when
// k, the definition's number in its directory, is among those parsed; a
// definition the dialect reports unsupported is counted.
func (g *grammarRun) compile(k int, def *segment.Definition, sch *schema.Schema, asOf time.Time, rf refs, queries *[2][]string) error {
	for i, d := range grammarDialects {
		opts, err := sqlOptions(0, asOf, rf)
		if err != nil {
			return err
		}
		opts.Dialect, opts.Inline = d, false
		opts.RowOrder = map[string]string{}
		for _, e := range sch.Entities {
			opts.RowOrder[e.Name] = "file_row"
		}
		q, err := sqlgen.Compile(def, sch, opts)
		if errors.Is(err, sqlgen.ErrUnsupported) {
			g.unsupported[i].Add(1)
			g.mu.Lock()
			if g.example[i] == "" {
				g.example[i] = err.Error()
			}
			g.mu.Unlock()
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: %w", d.Name(), err)
		}
		if len(q.Args) != 0 {
			return fmt.Errorf("%s: the query has %d bind parameters; every value must be inlined", d.Name(), len(q.Args))
		}
		g.compiled[i].Add(1)
		if *flagGrammar < 0 || k < *flagGrammar {
			g.parsed[i].Add(1)
			queries[i] = append(queries[i], q.SQL)
		}
	}
	return nil
}

// validate parses the queries of one data directory, a batch per dialect.
func (g *grammarRun) validate(t *testing.T, queries [2][]string) {
	t.Helper()
	for i, d := range grammarDialects {
		if len(queries[i]) > 0 {
			requireParses(t, d, queries[i])
		}
	}
}

// log reports the counts.
func (g *grammarRun) log(t *testing.T) {
	for i, d := range grammarDialects {
		c, u, p := g.compiled[i].Load(), g.unsupported[i].Load(), g.parsed[i].Load()
		share := 0.0
		if c+u > 0 {
			share = 100 * float64(c) / float64(c+u)
		}
		t.Logf("%s: %d definitions compiled (%d of them parsed by its grammar), %d unsupported (%.1f%% supported)", d.Name(), c, p, u, share)
		if g.example[i] != "" {
			t.Logf("%s: an unsupported one: %s", d.Name(), g.example[i])
		}
	}
}

// TestSparkTrinoDatetimes reads the date and datetime literals back: each
// names its day or instant exactly, to the microsecond, with its zone,
// from the year 0000 to 9999, and parses.
func TestSparkTrinoDatetimes(t *testing.T) {
	inline := func(d sqlgen.Dialect) sqlgen.Lit {
		return func(v any) string { s, err := d.Literal(v); require.NoError(t, err); return s }
	}
	lo := time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC).UnixMicro()
	hi := time.Date(9999, 12, 31, 23, 59, 59, 999999000, time.UTC).UnixMicro()
	instants := []int64{0, -1, 1, lo, hi, 1781524800000001}
	r := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		instants = append(instants, lo+r.Int64N(hi-lo))
	}
	layouts := map[sqlgen.Dialect]string{sqlgen.Spark: "2006-01-02 15:04:05.000000Z", sqlgen.Trino: "2006-01-02 15:04:05.000000 UTC"}
	for d, layout := range layouts {
		var queries []string
		for _, us := range instants {
			lit := d.Datetime(us, inline(d))
			m := regexp.MustCompile(`^TIMESTAMP '([^']*)'$`).FindStringSubmatch(lit)
			require.NotNil(t, m, lit)
			back, err := time.Parse(layout, m[1])
			require.NoError(t, err, lit)
			require.Equal(t, us, back.UnixMicro(), lit)
			day := us / 86_400_000_000
			if us < 0 && us%86_400_000_000 != 0 {
				day--
			}
			dl := d.Date(day, inline(d))
			require.Equal(t, "DATE '"+time.UnixMicro(us).UTC().Format(time.DateOnly)+"'", dl)
			queries = append(queries, "SELECT "+lit+" AS x, "+dl+" AS y")
		}
		requireParses(t, d, queries)
	}
}
