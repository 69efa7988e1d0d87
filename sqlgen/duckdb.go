package sqlgen

import (
	"strconv"
	"strings"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// DuckDB is the dialect of DuckDB 1.0 or later, over tables of native
// types: BIGINT, DOUBLE, VARCHAR, DATE, TIMESTAMPTZ (or TIMESTAMP,
// holding UTC) and BOOLEAN. DuckDB's default collation compares strings
// by bytes. Sums of numbers add in the order of Options.RowOrder, or of
// the table's rowid (its insertion order) when the rows were inserted in
// their data file's order.
var DuckDB Dialect = duckdbDialect{}

func init() { register(DuckDB) }

type duckdbDialect struct{ standardHooks }

func (duckdbDialect) Name() string { return "duckdb" }

func (duckdbDialect) Features() Features {
	return Features{CTE: true, SetOps: true, Window: true, Params: true}
}

// Ident writes "name", with " doubled.
func (duckdbDialect) Ident(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`, nil
}

// Literal writes DuckDB literals: NULL; TRUE and FALSE; integers in
// decimal; floats as CAST('0.1' AS DOUBLE); strings in single quotes with
// ' doubled (a backslash is a plain character), control characters as
// chr(N) joined with ||. A string with NUL is refused.
func (duckdbDialect) Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case bool:
		if x {
			return "TRUE", nil
		}
		return "FALSE", nil
	case int64:
		return intLiteral(x), nil
	case int:
		return intLiteral(int64(x)), nil
	case float64:
		s, err := floatLiteral(x)
		if err != nil {
			return "", err
		}
		return "CAST('" + s + "' AS DOUBLE)", nil
	case string:
		if strings.ContainsRune(x, 0) {
			return "", errorf("a string with a NUL character, %q", x)
		}
		return quoteString(x, "chr")
	}
	return "", errorf("no literal for a value of type %T", v)
}

func (duckdbDialect) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

func (duckdbDialect) Value(expr string, _ schema.Type) string { return expr }

func (duckdbDialect) Date(d int64, lit Lit) string {
	return "CAST(" + lit(exact.FormatDay(d)) + " AS DATE)"
}

func (duckdbDialect) Datetime(us int64, lit Lit) string {
	return "CAST(" + lit(exact.FormatMicros(us)) + " AS TIMESTAMPTZ)"
}

// Search uses contains, starts_with and ends_with for case-sensitive
// searches, and RE2 regular expressions whose classes hold the case
// folding orbits otherwise.
func (duckdbDialect) Search(expr string, kind SearchKind, p Pattern, lit Lit) (string, error) {
	if s, ok := p.Literal(); ok && kind != SearchEqual {
		fn := map[SearchKind]string{SearchContains: "contains", SearchPrefix: "starts_with", SearchSuffix: "ends_with"}[kind]
		return fn + "(" + expr + ", " + lit(s) + ")", nil
	}
	re, err := regexPattern(p, kind)
	if err != nil {
		return "", err
	}
	return "regexp_matches(" + expr + ", " + lit(re) + ")", nil
}

// IntegerSum casts SUM's HUGEINT to DOUBLE.
func (duckdbDialect) IntegerSum(expr string) string {
	return "CAST(SUM(" + expr + ") AS DOUBLE)"
}

// OrderedSums uses an ordered aggregate, SUM(v ORDER BY ord).
func (d duckdbDialect) OrderedSums(rows string, fresh func(string) string) (string, error) {
	return orderedAggregate(d, rows, fresh), nil
}

// RowOrder is the table's rowid, unless a column hides it.
func (duckdbDialect) RowOrder(alias string, e *schema.Entity) (string, bool) {
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, "rowid") {
			return "", false
		}
	}
	return alias + ".rowid", true
}

func (duckdbDialect) In(expr, query string, not bool) string { return inSubquery(expr, query, not) }
