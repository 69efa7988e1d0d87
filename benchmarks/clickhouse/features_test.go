package clickhouse

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The probes behind FINDINGS.md: what ClickHouse 18.16's SQL has and
// lacks that matters to a compiler of segment definitions, each a small
// query against the real server with the answer, or the exception code,
// that 18.16 gives. A probe that fails means FINDINGS.md is out of date.

type probe struct {
	name string
	sql  string
	// want is the answer, rows joined by "\n" and fields by "\t" as
	// TabSeparated writes them (NULL is \N); unused when code is set.
	want string
	// code is the exception code when 18.16 refuses the query.
	code int
	// settings are sent with the query.
	settings map[string]string
}

// probeFixtures are small tables: a(k, v) and b(k, w) for joins and
// subqueries, n(x) with a NULL, e(x) empty.
var probeFixtures = []string{
	"CREATE TABLE a (k Int64, v Nullable(Int64)) ENGINE = Memory",
	"INSERT INTO a VALUES (1, 10), (2, NULL), (3, 30)",
	"CREATE TABLE b (k Int64, w Nullable(Int64)) ENGINE = Memory",
	"INSERT INTO b VALUES (1, 100), (1, 101), (4, 400)",
	"CREATE TABLE n (x Nullable(Int64)) ENGINE = Memory",
	"INSERT INTO n VALUES (NULL), (1), (2)",
	"CREATE TABLE e (x Nullable(Int64), y Int64, f Float64) ENGINE = Memory",
}

var probes = []probe{
	// Named subqueries and set operators.
	{name: "WITH name AS (subquery)", sql: "WITH x AS (SELECT 1 AS c) SELECT c FROM x", code: 62},
	{name: "WITH expression AS name", sql: "WITH 5 AS x SELECT x + 1", want: "6"},
	{name: "WITH (scalar subquery) AS name", sql: "WITH (SELECT max(k) FROM a) AS m SELECT m", want: "3"},
	{name: "WITH alias inside a subquery", sql: "WITH 2 AS m SELECT count() FROM a WHERE k IN (SELECT k FROM b WHERE k < m)", code: 47},
	{name: "subquery in FROM", sql: "SELECT count() FROM (SELECT k FROM a WHERE k > 1)", want: "2"},
	{name: "INTERSECT", sql: "SELECT k FROM a INTERSECT SELECT k FROM b", code: 62},
	{name: "EXCEPT", sql: "SELECT k FROM a EXCEPT SELECT k FROM b", code: 62},
	{name: "UNION DISTINCT", sql: "SELECT k FROM a UNION DISTINCT SELECT k FROM b", code: 62},
	{name: "UNION", sql: "SELECT k FROM a UNION SELECT k FROM b", code: 62},
	{name: "UNION ALL", sql: "SELECT count() FROM (SELECT k FROM a UNION ALL SELECT k FROM b)", want: "6"},
	{name: "union as DISTINCT over UNION ALL", sql: "SELECT DISTINCT k FROM (SELECT k FROM a UNION ALL SELECT k FROM b) ORDER BY k", want: "1\n2\n3\n4"},
	{name: "intersect as IN", sql: "SELECT k FROM a WHERE k IN (SELECT k FROM b) ORDER BY k", want: "1"},
	{name: "except as NOT IN", sql: "SELECT k FROM a WHERE k NOT IN (SELECT k FROM b) ORDER BY k", want: "2\n3"},
	{name: "EXISTS", sql: "SELECT k FROM a WHERE EXISTS (SELECT 1 FROM b)", code: 62},
	{name: "correlated subquery in WHERE", sql: "SELECT k FROM a WHERE v > (SELECT min(w) FROM b WHERE b.k = a.k)", code: 47},
	{name: "correlated IN", sql: "SELECT k FROM a WHERE k IN (SELECT k FROM b WHERE b.w > a.v)", code: 47},
	{name: "scalar subquery", sql: "SELECT k, (SELECT count() FROM b) FROM a ORDER BY k LIMIT 1", want: "1\t3"},
	{name: "tuple IN subquery", sql: "SELECT k FROM a WHERE (k, assumeNotNull(v) * 10) IN (SELECT k, assumeNotNull(w) FROM b WHERE w IS NOT NULL)", want: "1"},
	{name: "tuple IN with a Nullable on one side", sql: "SELECT k FROM a WHERE (k, 10) IN (SELECT k, w FROM b)", code: 53},
	{name: "IN empty list", sql: "SELECT k FROM a WHERE k IN ()", code: 62},
	{name: "IN over an empty subquery", sql: "SELECT count() FROM a WHERE k IN (SELECT y FROM e)", want: "0"},
	{name: "HAVING", sql: "SELECT k FROM b GROUP BY k HAVING count() > 1", want: "1"},
	{name: "aggregate condition as IN (GROUP BY .. HAVING)", sql: "SELECT k FROM a WHERE k IN (SELECT k FROM b GROUP BY k HAVING sum(w) > 200) ORDER BY k", want: "1"},

	// NULLs: IN ignores them and AND/OR are not SQL's three-valued logic.
	{name: "x NOT IN (list with NULL)", sql: "SELECT 3 NOT IN (1, NULL), 3 IN (1, NULL)", want: "1\t0"},
	{name: "NULL NOT IN (list)", sql: "SELECT count() FROM n WHERE x NOT IN (1)", want: "2"},
	{name: "NULL IN (list)", sql: "SELECT count() FROM n WHERE x IN (1, 2)", want: "2"},
	{name: "NOT IN (subquery with NULL)", sql: "SELECT count() FROM a WHERE v NOT IN (SELECT x FROM n)", want: "3"},
	{name: "NULL = 1, NOT (NULL = 1)", sql: "SELECT count() FROM n WHERE NOT (x = 1)", want: "1"},
	{name: "0 AND NULL", sql: "SELECT 0 AND NULL, 1 AND NULL, 1 OR NULL, 0 OR NULL", want: "\\N\t\\N\t1\t0"},
	{name: "NOT NULL", sql: "SELECT NOT CAST(NULL AS Nullable(UInt8))", want: "\\N"},
	{name: "ifNull for two-valued logic", sql: "SELECT count() FROM n WHERE NOT ifNull(x = 1, 0)", want: "2"},
	{name: "literal NULL IN (list)", sql: "SELECT NULL IN (1, 2)", code: 53},
	{name: "comparison type", sql: "SELECT toTypeName(1 = 1), toTypeName(x = 1) FROM n LIMIT 1", want: "UInt8\tNullable(UInt8)"},

	// Case folding and string search.
	{name: "lower (ASCII only)", sql: "SELECT lower('ÉTÉ Straße')", want: "ÉtÉ straße"},
	{name: "lowerUTF8", sql: "SELECT lowerUTF8('ÉTÉ ÄÖÜ Σ'), upperUTF8('straße')", want: "été äöü σ\tSTRAßE"},
	{name: "lowerUTF8 of K (U+212A KELVIN SIGN)", sql: "SELECT lowerUTF8('\u212a') = 'k', lowerUTF8('\u212a') = '\u212a'", want: "0\t1"},
	{name: "positionCaseInsensitiveUTF8", sql: "SELECT positionCaseInsensitiveUTF8('xÄBy', 'äb'), positionCaseInsensitiveUTF8('x\u212ay', 'k'), positionCaseInsensitiveUTF8('xςy', 'Σ')", want: "2\t2\t0"},
	{name: "positionCaseInsensitive (ASCII)", sql: "SELECT positionCaseInsensitive('ÄBC', 'äb'), positionCaseInsensitive('ABC', 'bc')", want: "0\t2"},
	{name: "position of the empty string", sql: "SELECT position('abc', ''), position('', '')", want: "1\t1"},
	{name: "startsWith, endsWith", sql: "SELECT startsWith('abc', 'ab'), endsWith('abc', 'bc'), startsWith('abc', '')", want: "1\t1\t1"},
	{name: "LIKE with escaped % and _", sql: "SELECT 'a%b' LIKE 'a\\\\%b', 'axb' LIKE 'a\\\\%b', 'a_b' LIKE 'a\\\\_b', 'axb' LIKE 'a\\\\_b'", want: "1\t0\t1\t0"},
	{name: "ILIKE", sql: "SELECT 'abc' ILIKE 'A%'", code: 62},
	{name: "replaceAll", sql: "SELECT replaceAll('aKa', 'K', 'k')", want: "aka"},
	{name: "string order is by bytes", sql: "SELECT 'B' < 'a', 'é' > 'z'", want: "1\t1"},
	{name: "string literal escapes", sql: "SELECT 'a''b', 'a\\'b', length('a\\\\b'), 'tab\\there'", want: "a\\'b\ta\\'b\t3\ttab\\there"},
	{name: "quoted identifiers", sql: "SELECT \"k\", `k` FROM a ORDER BY k LIMIT 1", want: "1\t1"},

	// Dates, datetimes, numbers.
	{name: "date - days", sql: "SELECT toDate('2026-06-15') - 30, toDate('2026-06-15') + 1", want: "2026-05-16\t2026-06-16"},
	{name: "addDays, subtractDays, INTERVAL", sql: "SELECT addDays(toDate('2026-06-15'), -30), subtractDays(toDate('2026-06-15'), 30), toDate('2026-06-15') + INTERVAL 1 DAY", want: "2026-05-16\t2026-05-16\t2026-06-16"},
	{name: "dateDiff", sql: "SELECT dateDiff('day', toDate('2026-06-01'), toDate('2026-06-15'))", want: "14"},
	{name: "date as a day number", sql: "SELECT toUInt16(toDate('2026-06-15')), toDate(toUInt16(20619)), toRelativeDayNum(toDate('2026-06-15'))", want: "20619\t2026-06-15\t20619"},
	{name: "day 0 prints as 0000-00-00", sql: "SELECT toDate('1970-01-01'), toDate('1970-01-01') = toDate(0)", want: "0000-00-00\t1"},
	{name: "dates outside 1970..2105 parse to day 0", sql: "SELECT toDate('1969-12-31'), toDate('2150-01-01'), toDate('2105-12-31')", want: "0000-00-00\t0000-00-00\t2105-12-31"},
	{name: "DateTime64", sql: "SELECT toDateTime64('2026-06-15 12:00:00.123456', 6)", code: 46},
	{name: "Decimal64(6): exact microseconds", sql: "SELECT toDecimal64('1781524800.123456', 6) + toDecimal64('0.000001', 6), toTypeName(toDecimal64(1, 6))", want: "1781524800.123457\tDecimal(18, 6)"},
	{name: "DateTime counts whole seconds (UTC here)", sql: "SELECT toDateTime(1781524800), toDate(toDateTime(1781524800))", want: "2026-06-15 12:00:00\t2026-06-15"},
	{name: "intDiv, % truncate toward zero", sql: "SELECT intDiv(toInt64(-7), 3), toInt64(-7) % 3, intDiv(toInt64(-1), toInt64(86400000000))", want: "-2\t-1\t0"},
	{name: "intDiv, % of a negative by a UInt64 literal are wrong", sql: "SELECT intDiv(toInt64(-1), 86400000000), toInt64(-1) % 86400000000, toTypeName(86400000000)", want: "213503982\t28909551615\tUInt64"},
	{name: "+, -, *, < with a UInt64 literal are right", sql: "SELECT toInt64(-1) + 86400000000, toInt64(-1) * 86400000000, toInt64(-1) < 86400000000, toInt64(-1) = 18446744073709551615", want: "86399999999\t-86400000000\t1\t0"},
	{name: "floor division of microseconds to days", sql: "SELECT intDiv(x, toInt64(86400000000)) - (x % toInt64(86400000000) < 0) FROM (SELECT arrayJoin([toInt64(-1), toInt64(0), toInt64(86399999999), toInt64(86400000000), toInt64(-86400000000)]) AS x)", want: "-1\n0\n0\n1\n-1"},
	{name: "integer literal types", sql: "SELECT toTypeName(1), toTypeName(-1), toTypeName(9223372036854775807), toTypeName(-9223372036854775808)", want: "UInt8\tInt8\tUInt64\tInt64"},
	{name: "float literal, subnormal", sql: "SELECT 5e-324", code: 62},
	{name: "exact float from its bits", sql: "SELECT reinterpretAsFloat64(unhex('0100000000000000')) > 0, reinterpretAsFloat64(unhex('B2909E20837E7C44')) = 8.41e21", want: "1\t1"},
	{name: "toFloat64(string) is not exact", sql: "SELECT toFloat64('8.41e21') = 8.41e21, toFloat64('5e-324')", want: "0\t0"},
	{name: "float literal is exact", sql: "SELECT 0.1 + 0.2 = 0.30000000000000004, 8.41e21 = reinterpretAsFloat64(unhex('B2909E20837E7C44'))", want: "1\t1"},
	{name: "Int64 = Float64 compares exactly", sql: "SELECT toInt64(9007199254740993) = toFloat64(9007199254740992), toInt64(9007199254740993) > 9007199254740992.0", want: "0\t1"},
	{name: "float output", sql: "SELECT 0.1, 1e23, 8.41e21, -0., 1e-300, 123456789012345680000.", want: "0.1\t1e23\t8.41e21\t-0\t1e-300\t123456789012345680000"},
	{name: "BETWEEN", sql: "SELECT 5 BETWEEN 1 AND 5, 6 BETWEEN 1 AND 5", want: "1\t0"},
	{name: "if(NULL, a, b) is NULL", sql: "SELECT if(NULL, 1, 2), if(CAST(NULL AS Nullable(UInt8)), 1, 2)", want: "\\N\t\\N"},
	{name: "multiIf, CASE of NULL take the else branch", sql: "SELECT multiIf(NULL, 1, 2), CASE WHEN NULL THEN 1 ELSE 2 END, multiIf(0, 1, 2), CASE WHEN 1 THEN 'a' ELSE 'b' END", want: "2\t2\t2\ta"},
	{name: "coalesce, ifNull, isNull", sql: "SELECT coalesce(NULL, 3), ifNull(NULL, 4), isNull(NULL), isNotNull(1)", want: "3\t4\t1\t1"},
	{name: "query parameters {x:T}", sql: "SELECT {x:UInt8}", code: 115, settings: map[string]string{"param_x": "3"}},

	// Aggregates.
	{name: "countIf, sumIf, argMax, uniqExact, count(DISTINCT)", sql: "SELECT countIf(w > 100), sumIf(w, w > 100), argMax(k, w), uniqExact(k), count(DISTINCT k) FROM b", want: "2\t501\t4\t2\t2"},
	{name: "avgIf, minIf, maxIf", sql: "SELECT avgIf(w, k = 1), minIf(w, k = 1), maxIf(w, k = 1) FROM b", want: "100.5\t100\t101"},
	{name: "count(DISTINCT) skips NULL", sql: "SELECT count(DISTINCT x), uniqExact(x) FROM n", want: "2\t2"},
	{name: "aggregates of Nullable over no rows", sql: "SELECT sum(x), avg(x), min(x), max(x), count(x), count() FROM e", want: "\\N\t\\N\t\\N\t\\N\t0\t0"},
	{name: "aggregates of non-Nullable over no rows", sql: "SELECT sum(y), avg(y), min(y), max(y), sum(f), avg(f) FROM e", want: "0\tnan\t0\t0\t0\tnan"},
	{name: "-If aggregates of Nullable with no match", sql: "SELECT sumIf(w, k = 9), countIf(k = 9), avgIf(w, k = 9), maxIf(w, k = 9) FROM b", want: "0\t0\tnan\t0"},
	{name: "countIf of a NULL condition", sql: "SELECT countIf(x > 0), countIf(NOT (x > 1)) FROM n", want: "2\t1"},

	// Text to values, as a load of CSV files through String columns
	// converts them (docs/scale-out.md's worked example).
	{name: "toDecimal64 of an empty string", sql: "SELECT toDecimal64('', 4)", code: 32},
	{name: "toDecimal64 of a NULL from nullIf", sql: "SELECT toDecimal64(nullIf('', ''), 4)", code: 32},
	{name: "toDecimal64 of more decimals than its scale", sql: "SELECT toDecimal64('1.23456', 4)", code: 69},
	{name: "toFloat64 of a Decimal64 is exact", sql: "SELECT toFloat64(toDecimal64('3.97', 4)) = 3.97, toFloat64('3.97') = 3.97", want: "1\t0"},
	{name: "toInt64 of a NULL from nullIf", sql: "SELECT toInt64(nullIf('', ''))", code: 32},
	{name: "toDate of a NULL from nullIf", sql: "SELECT toDate(nullIf('', ''))", code: 38},
	{name: "toInt64OrNull and toDateOrNull of an empty string", sql: "SELECT toInt64OrNull(''), toDateOrNull(''), toDateOrNull('2026-06-30')", want: "\\N\t\\N\t2026-06-30"},
	{name: "toInt64OrNull overflows silently", sql: "SELECT toInt64OrNull('9223372036854775808')", want: "-9223372036854775808"},
	{name: "parseDateTimeBestEffort of an empty string", sql: "SELECT parseDateTimeBestEffort(''), parseDateTimeBestEffortOrNull('')", want: "2000-01-01 00:00:00\t2000-01-01 00:00:00"},
	{name: "parseDateTimeBestEffort of a NULL from nullIf", sql: "SELECT parseDateTimeBestEffort(nullIf('', ''))", want: "\\N"},
	{name: "parseDateTimeBestEffort reads Z and offsets", sql: "SELECT toUnixTimestamp(parseDateTimeBestEffort('2026-06-30T14:05:00Z')), toUnixTimestamp(parseDateTimeBestEffort('2026-06-30T16:05:00+02:00'))", want: "1782828300\t1782828300"},
	{name: "input formats", sql: "SELECT name FROM system.formats WHERE is_input AND name IN ('CSV', 'CSVWithNames', 'Parquet', 'RowBinary') ORDER BY name", want: "CSV\nCSVWithNames\nRowBinary"},

	// Joins.
	{name: "LEFT JOIN USING (ALL by default)", sql: "SELECT k, v, w FROM a LEFT JOIN b USING k ORDER BY k, w", want: "1\t10\t100\n1\t10\t101\n2\t\\N\t\\N\n3\t30\t\\N"},
	{name: "ANY LEFT JOIN", sql: "SELECT k, w FROM a ANY LEFT JOIN b USING k ORDER BY k", want: "1\t100\n2\t\\N\n3\t\\N"},
	{name: "LEFT JOIN fills a non-Nullable column with its default", sql: "SELECT k, c FROM a ALL LEFT JOIN (SELECT k, count() AS c FROM b GROUP BY k) USING k ORDER BY k", want: "1\t2\n2\t0\n3\t0"},
	{name: "LEFT JOIN with join_use_nulls = 1", sql: "SELECT k, c FROM a ALL LEFT JOIN (SELECT k, count() AS c FROM b GROUP BY k) USING k ORDER BY k", want: "1\t2\n2\t\\N\n3\t\\N", settings: map[string]string{"join_use_nulls": "1"}},
	{name: "RIGHT and FULL JOIN", sql: "SELECT count() FROM a ALL RIGHT JOIN b USING k UNION ALL SELECT count() FROM a ALL FULL JOIN b USING k", want: "3\n5"},
	{name: "CROSS JOIN", sql: "SELECT count() FROM a CROSS JOIN b", want: "9"},
	{name: "JOIN ON equality", sql: "SELECT a.k FROM a ALL INNER JOIN b ON a.k = b.k", want: "1\n1"},
	{name: "JOIN ON non-equality", sql: "SELECT a.k FROM a ALL INNER JOIN b ON a.k = b.k AND a.v < b.w", code: 403},
	{name: "two JOINs in one SELECT", sql: "SELECT k FROM a ALL INNER JOIN b USING k ALL INNER JOIN n ON k = x", code: 48},
	{name: "JOIN of a subquery with a JOIN", sql: "SELECT k FROM (SELECT k FROM a ALL INNER JOIN b USING k) ALL INNER JOIN (SELECT x AS k FROM n WHERE x IS NOT NULL) USING k", want: "1\n1"},
}

func TestProbes(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	for _, s := range probeFixtures {
		require.NoError(t, c.Exec(ctx, s))
	}
	dump := os.Getenv("SEGMENTKIT_PROBE_DUMP") != ""
	for _, p := range probes {
		t.Run(p.name, func(t *testing.T) {
			pc := *c
			pc.Settings = p.settings
			rows, err := pc.Rows(ctx, p.sql)
			got, code := tsvText(rows), 0
			var se *ServerError
			if errors.As(err, &se) {
				code, got = se.Code, se.Body
			} else {
				require.NoError(t, err)
			}
			if dump {
				t.Logf("code %d, got %q", code, got)
			}
			if p.code != 0 {
				require.Equal(t, p.code, code, "%s: got %q", p.sql, got)
				return
			}
			require.Zero(t, code, "%s: %s", p.sql, got)
			require.Equal(t, p.want, got, p.sql)
		})
	}
}

// tsvText writes rows back as TabSeparated text, NULL as \N, without
// escaping the fields (the probes' answers have no tabs or newlines).
func tsvText(rows [][]Field) string {
	lines := make([]string, len(rows))
	for i, r := range rows {
		fs := make([]string, len(r))
		for j, f := range r {
			if f.Null {
				fs[j] = `\N`
			} else {
				fs[j] = strings.NewReplacer("'", `\'`, "\t", `\t`, `\`, `\\`).Replace(f.Text)
			}
		}
		lines[i] = strings.Join(fs, "\t")
	}
	return strings.Join(lines, "\n")
}

// TestTextFloatInput shows why Load sends RowBinary: 18.16 parses floats
// in TabSeparated and JSONEachRow input (as toFloat64 does strings) to a
// neighbour of the right value, and subnormals to 0.
func TestTextFloatInput(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	require.NoError(t, c.Exec(ctx, "CREATE TABLE ft (src String, x Float64) ENGINE = Memory"))
	require.NoError(t, c.Insert(ctx, "INSERT INTO ft FORMAT TabSeparated", strings.NewReader("tsv\t8.41e21\ntsv\t5e-324\n")))
	require.NoError(t, c.Insert(ctx, "INSERT INTO ft FORMAT JSONEachRow", strings.NewReader(`{"src":"json","x":8.41e21}`+"\n")))
	rows, err := c.Rows(ctx, "SELECT src, x FROM ft ORDER BY src, x")
	require.NoError(t, err)
	require.Equal(t, "json\t8.410000000000001e21\ntsv\t0\ntsv\t8.410000000000001e21", tsvText(rows))
}

// TestCSVEmptyField: 18.16's CSV input reads an empty field as the
// column type's default, never NULL, in a Nullable column too; only \N
// is NULL.
func TestCSVEmptyField(t *testing.T) {
	c := testCluster(t)
	ctx := context.Background()
	require.NoError(t, c.Exec(ctx, "CREATE TABLE csv_empty (k String, s Nullable(String), n Nullable(Int64)) ENGINE = Memory"))
	require.NoError(t, c.Insert(ctx, "INSERT INTO csv_empty FORMAT CSV", strings.NewReader("a,,\nb,\"\",\\N\n")))
	rows, err := c.Rows(ctx, "SELECT k, s, isNull(s), n, isNull(n) FROM csv_empty ORDER BY k")
	require.NoError(t, err)
	require.Equal(t, "a\t\t0\t0\t0\nb\t\t0\t\\N\t1", tsvText(rows))
}
