package sqlgen

import (
	"strings"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// Trino is the dialect of Trino (version 400 or later), over tables of its
// native types: bigint, double, varchar, date, timestamp(6) with time zone
// (a timestamp(p) with time zone of any precision up to 6 compares the
// same) and boolean. Trino compares varchar by code points, the order of
// UTF-8 bytes, as FORMAT.md does. Every value is inlined (the dialect's
// queries write no bind parameters), and sums of numbers need
// Options.RowOrder, as Trino keeps no row order. docs/scale-out.md lists
// the functions the queries use.
var Trino Dialect = trinoDialect{}

func init() { register(Trino) }

type trinoDialect struct{ standardHooks }

func (trinoDialect) Name() string { return "trino" }

func (trinoDialect) Features() Features {
	return Features{CTE: true, SetOps: true, Window: true}
}

// Ident writes "name", with " doubled. Trino folds names to lower case,
// quoted ones too, so names must not differ in case only.
func (trinoDialect) Ident(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`, nil
}

// Literal writes Trino literals: NULL; TRUE and FALSE; integers in
// decimal; floats as CAST('0.1' AS DOUBLE), read as the nearest double;
// strings in single quotes with ' doubled (a backslash is a plain
// character in Trino), control characters (NUL included) as chr(N)
// joined with ||.
func (trinoDialect) Literal(v any) (string, error) {
	if s, ok := v.(string); ok {
		return quoteString(s, "chr")
	}
	return castLiteral(v)
}

// Placeholder is not called: the dialect's queries write every value.
func (trinoDialect) Placeholder(int) string { return "?" }

func (trinoDialect) Value(expr string, _ schema.Type) string { return expr }

// Date writes DATE 'YYYY-MM-DD'.
func (trinoDialect) Date(d int64, lit Lit) string { return "DATE " + lit(exact.FormatDay(d)) }

// Datetime writes TIMESTAMP 'YYYY-MM-DD HH:MM:SS.ffffff UTC', a
// timestamp(6) with time zone: the instant to the microsecond, whatever
// the session's time zone.
func (trinoDialect) Datetime(us int64, lit Lit) string {
	return "TIMESTAMP " + lit(exact.MicrosTime(us).Format("2006-01-02 15:04:05.000000")+" UTC")
}

// Search compares without patterns, as Spark's does (translateSearch).
func (trinoDialect) Search(expr string, kind SearchKind, p Pattern, lit Lit) (string, error) {
	return translateSearch(expr, kind, p, lit, "strpos", "substr"), nil
}

// IntegerSum adds the values as decimal(38,0), exactly, and casts the sum
// to double, which rounds once.
func (trinoDialect) IntegerSum(expr string) string {
	return "CAST(SUM(CAST(" + expr + " AS DECIMAL(38,0))) AS DOUBLE)"
}

// OrderedSums aggregates each customer's values into an array in ord
// order, array_agg(v ORDER BY ord), and adds them one by one with reduce,
// from 0.
func (d trinoDialect) OrderedSums(rows string, fresh func(string) string) (string, error) {
	id := func(s string) string { q, _ := d.Ident(s); return q }
	t := id(fresh("rows"))
	cust, v, ord := t+"."+id("cust"), t+"."+id("v"), t+"."+id("ord")
	s, x := id("s"), id("x")
	sum := "reduce(array_agg(" + v + " ORDER BY " + ord + "), CAST(0 AS DOUBLE), (" + s + ", " + x + ") -> " +
		s + " + " + x + ", " + s + " -> " + s + ")"
	return "SELECT " + cust + " AS " + id("cust") + ",\n  " + sum + " AS " + id("sum") +
		",\n  COUNT(*) AS " + id("count") + "\nFROM (\n" + indent(rows) + "\n) AS " + t + "\nGROUP BY " + cust, nil
}

func (trinoDialect) RowOrder(string, *schema.Entity) (string, bool) { return "", false }

func (trinoDialect) In(expr, query string, not bool) string { return inSubquery(expr, query, not) }
