package sqlgen

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// Spark is the dialect of Spark SQL 3.2 or later, over tables of its
// native types: BIGINT, DOUBLE, STRING, DATE, TIMESTAMP and BOOLEAN (the
// types Spark reads from Parquet's INT64, DOUBLE, UTF8 strings, DATE,
// INT64 timestamps adjusted to UTC and BOOLEAN). It expects Spark's
// defaults: strings compare by bytes (the UTF8_BINARY collation),
// TIMESTAMP is the type with a time zone (spark.sql.timestampType
// TIMESTAMP_LTZ), backslashes in string literals are escapes
// (spark.sql.parser.escapedStringLiterals false). Every value is inlined
// (the dialect has no bind parameters), and sums of numbers need
// Options.RowOrder, as Spark keeps no row order. docs/scale-out.md lists
// the functions the queries use.
var Spark Dialect = sparkDialect{}

func init() { register(Spark) }

type sparkDialect struct{ standardHooks }

func (sparkDialect) Name() string { return "spark" }

func (sparkDialect) Features() Features {
	return Features{CTE: true, SetOps: true, Window: true}
}

// Ident writes `name`, with ` doubled. A name holding "${" is refused:
// Spark substitutes ${...} variables in the query text before it parses
// it (spark.sql.variable.substitute), quoted names included.
func (sparkDialect) Ident(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if strings.Contains(name, "${") {
		return "", errorf("the name %q holds ${, which Spark would substitute", name)
	}
	return "`" + strings.ReplaceAll(name, "`", "``") + "`", nil
}

// Literal writes Spark literals: NULL; TRUE and FALSE; integers in
// decimal; floats as CAST('0.1' AS DOUBLE), read as the nearest double;
// strings by sparkString.
func (sparkDialect) Literal(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return sparkString(x)
	}
	return castLiteral(v)
}

// castLiteral writes the literals that Spark and Trino write alike: NULL,
// TRUE and FALSE, integers in decimal, floats as CAST('0.1' AS DOUBLE).
func castLiteral(v any) (string, error) {
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
	}
	return "", errorf("no literal for a value of type %T", v)
}

// sparkString writes s as one Spark string literal: in single quotes, a
// backslash (the escape character of Spark's literals) as \\, ' as \'
// (Spark's grammar has long read two quotes as two adjacent literals,
// which join to nothing), and each control character (C0 and DEL, NUL
// included) and $ (which could start a ${...} variable) as \uXXXX. Other
// characters are written as they are.
func sparkString(s string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errorf("the string %q is not valid UTF-8", s)
	}
	var b strings.Builder
	b.WriteByte('\'')
	for _, r := range s {
		switch {
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\'':
			b.WriteString(`\'`)
		case r < 0x20 || r == 0x7f || r == '$':
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('\'')
	return b.String(), nil
}

// Placeholder is not called: the dialect has no bind parameters.
func (sparkDialect) Placeholder(int) string { return "?" }

// Value is the column itself: Spark's strings compare by bytes, its
// DATE and TIMESTAMP as days and microseconds.
func (sparkDialect) Value(expr string, _ schema.Type) string { return expr }

// Date writes DATE 'YYYY-MM-DD'.
func (sparkDialect) Date(d int64, lit Lit) string { return "DATE " + lit(exact.FormatDay(d)) }

// Datetime writes TIMESTAMP 'YYYY-MM-DD HH:MM:SS.ffffffZ': the instant
// in UTC to the microsecond, the zone in the text, so that the session's
// time zone does not change it.
func (sparkDialect) Datetime(us int64, lit Lit) string {
	return "TIMESTAMP " + lit(exact.MicrosTime(us).Format("2006-01-02 15:04:05.000000")+"Z")
}

// Search compares without patterns (LIKE's and regular expressions'
// metacharacters never matter): see translateSearch.
func (sparkDialect) Search(expr string, kind SearchKind, p Pattern, lit Lit) (string, error) {
	return translateSearch(expr, kind, p, lit, "instr", "substr"), nil
}

// translateSearch writes a Search with plain string functions, for Spark
// and Trino. A case-insensitive pattern maps each rune of its orbits to
// the orbit's smallest rune, translate(expr, from, to), which leaves every
// other character as it is: then a character of expr is in the orbit of
// position i exactly when it became the orbit's smallest rune, so the
// search is a case-sensitive one of those smallest runes. translate,
// length and substr count characters (code points) in both engines. pos is
// the function giving the position of a substring (0 when absent), substr
// the one taking a substring from a position (negative: from the end).
func translateSearch(expr string, kind SearchKind, p Pattern, lit Lit, pos, substr string) string {
	var from, to []rune
	var want strings.Builder
	seen := map[rune]bool{}
	for _, set := range p {
		least := slices.Min(set)
		want.WriteRune(least)
		if len(set) == 1 {
			continue
		}
		for _, r := range set {
			if !seen[r] {
				seen[r] = true
				from, to = append(from, r), append(to, least)
			}
		}
	}
	x := expr
	if len(from) > 0 {
		x = "translate(" + expr + ", " + lit(string(from)) + ", " + lit(string(to)) + ")"
	}
	s, n := want.String(), strconv.Itoa(len(p))
	switch {
	case kind == SearchEqual:
		return x + " = " + lit(s)
	case len(p) == 0:
		// Every string has the empty string in it; NULL stays NULL.
		return "length(" + x + ") >= 0"
	case kind == SearchContains:
		return pos + "(" + x + ", " + lit(s) + ") > 0"
	case kind == SearchPrefix:
		return substr + "(" + x + ", 1, " + n + ") = " + lit(s)
	}
	return substr + "(" + x + ", -" + n + ") = " + lit(s)
}

// IntegerSum adds the values as DECIMAL(38,0), exactly, and casts the sum
// to DOUBLE, which rounds once.
func (sparkDialect) IntegerSum(expr string) string {
	return "CAST(SUM(CAST(" + expr + " AS DECIMAL(38,0))) AS DOUBLE)"
}

// OrderedSums collects each customer's (ord, v) pairs, sorts them by ord
// and adds the values one by one with aggregate, from 0.
func (d sparkDialect) OrderedSums(rows string, fresh func(string) string) (string, error) {
	id := func(s string) string { q, _ := d.Ident(s); return q }
	t := id(fresh("rows"))
	cust, v, ord := t+"."+id("cust"), t+"."+id("v"), t+"."+id("ord")
	acc, x := id("acc"), id("x")
	pairs := "array_sort(collect_list(named_struct('ord', " + ord + ", 'v', " + v + ")))"
	sum := "aggregate(" + pairs + ", CAST(0 AS DOUBLE), (" + acc + ", " + x + ") -> " + acc + " + " + x + "." + id("v") + ")"
	return "SELECT " + cust + " AS " + id("cust") + ",\n  " + sum + " AS " + id("sum") +
		",\n  COUNT(*) AS " + id("count") + "\nFROM (\n" + indent(rows) + "\n) AS " + t + "\nGROUP BY " + cust, nil
}

func (sparkDialect) RowOrder(string, *schema.Entity) (string, bool) { return "", false }

func (sparkDialect) In(expr, query string, not bool) string { return inSubquery(expr, query, not) }
