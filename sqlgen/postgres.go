package sqlgen

import (
	"regexp"
	"strconv"
	"strings"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// PostgreSQL is the dialect of PostgreSQL 11 or later, over tables of
// native types: bigint, double precision, text, date, timestamptz (or
// timestamp, holding UTC) and boolean. Strings compare in the "C"
// collation, which orders UTF-8 by bytes as FORMAT.md does. PostgreSQL
// keeps no row order, so sums of numbers need Options.RowOrder (or
// Options.AnyOrderSums).
var PostgreSQL Dialect = postgresDialect{}

func init() { register(PostgreSQL) }

type postgresDialect struct{ standardHooks }

func (postgresDialect) Name() string { return "postgres" }

func (postgresDialect) Features() Features {
	return Features{CTE: true, SetOps: true, Window: true, Params: true}
}

// Ident writes "name", with " doubled. PostgreSQL cuts names longer than
// 63 bytes, which could make two names one, and has no NUL in names: both
// are refused.
func (postgresDialect) Ident(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if len(name) > 63 {
		return "", errorf("the name %q is longer than PostgreSQL's 63 bytes", name)
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`, nil
}

// Literal writes PostgreSQL literals: NULL; TRUE and FALSE; integers in
// decimal; floats as CAST('0.1' AS DOUBLE PRECISION), read as the nearest
// double; strings in single quotes with ' doubled (backslashes are plain
// characters with standard_conforming_strings, the default since 9.1),
// control characters as chr(N) joined with ||. Text cannot hold NUL: a
// string with one is refused.
func (postgresDialect) Literal(v any) (string, error) {
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
		return "CAST('" + s + "' AS DOUBLE PRECISION)", nil
	case string:
		if strings.ContainsRune(x, 0) {
			return "", errorf("PostgreSQL text cannot hold the NUL character of %q", x)
		}
		return quoteString(x, "chr")
	}
	return "", errorf("no literal for a value of type %T", v)
}

func (postgresDialect) Placeholder(n int) string { return "$" + strconv.Itoa(n) }

// Value orders strings by bytes (the "C" collation, whatever the column's).
func (postgresDialect) Value(expr string, t schema.Type) string {
	if t == schema.String {
		return expr + ` COLLATE "C"`
	}
	return expr
}

func (postgresDialect) Date(d int64, lit Lit) string {
	return "CAST(" + lit(exact.FormatDay(d)) + " AS DATE)"
}

func (postgresDialect) Datetime(us int64, lit Lit) string {
	return "CAST(" + lit(exact.FormatMicros(us)) + " AS TIMESTAMPTZ)"
}

// Search uses LIKE for case-sensitive searches and a regular expression
// (~) whose bracket expressions hold the case folding orbits otherwise.
func (postgresDialect) Search(expr string, kind SearchKind, p Pattern, lit Lit) (string, error) {
	if s, ok := p.Literal(); ok && kind != SearchEqual {
		return expr + " LIKE " + lit(likePattern(s, kind)) + ` ESCAPE '\'`, nil
	}
	re, err := regexPattern(p, kind)
	if err != nil {
		return "", err
	}
	return expr + " ~ " + lit(re), nil
}

// likePattern escapes s for LIKE ... ESCAPE '\' and adds the wildcards of
// kind.
func likePattern(s string, kind SearchKind) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	s = r.Replace(s)
	switch kind {
	case SearchContains:
		return "%" + s + "%"
	case SearchPrefix:
		return s + "%"
	case SearchSuffix:
		return "%" + s
	}
	return s
}

// regexPattern writes p as a regular expression of RE2 and PostgreSQL's
// ARE syntax alike: metacharacters escaped with a backslash, each orbit a
// bracket expression, anchored as kind says.
func regexPattern(p Pattern, kind SearchKind) (string, error) {
	var b strings.Builder
	if kind == SearchEqual || kind == SearchPrefix {
		b.WriteByte('^')
	}
	for _, set := range p {
		for _, r := range set {
			if r == 0 {
				return "", errorf("a search for a string with a NUL character")
			}
		}
		if len(set) == 1 {
			b.WriteString(regexp.QuoteMeta(string(set[0])))
			continue
		}
		if strings.ContainsAny(string(set), `]^-\[`) {
			return "", errorf("a search for the character class %q", string(set))
		}
		b.WriteString("[" + string(set) + "]")
	}
	if kind == SearchEqual || kind == SearchSuffix {
		b.WriteByte('$')
	}
	return b.String(), nil
}

// IntegerSum casts SUM's exact numeric to double precision, which rounds
// once.
func (postgresDialect) IntegerSum(expr string) string {
	return "CAST(SUM(" + expr + ") AS DOUBLE PRECISION)"
}

// OrderedSums uses an ordered aggregate: SUM(v ORDER BY ord) adds doubles
// one by one in that order.
func (d postgresDialect) OrderedSums(rows string, fresh func(string) string) (string, error) {
	return orderedAggregate(d, rows, fresh), nil
}

// orderedAggregate writes OrderedSums with SUM(v ORDER BY ord), for the
// dialects whose ordered aggregates add in order.
func orderedAggregate(d Dialect, rows string, fresh func(string) string) string {
	id := func(s string) string { q, _ := d.Ident(s); return q }
	t := id(fresh("rows"))
	cust, v, ord := t+"."+id("cust"), t+"."+id("v"), t+"."+id("ord")
	return "SELECT " + cust + " AS " + id("cust") + ", SUM(" + v + " ORDER BY " + ord + ") AS " + id("sum") +
		", COUNT(*) AS " + id("count") + "\nFROM (\n" + indent(rows) + "\n) AS " + t + "\nGROUP BY " + cust
}

func (postgresDialect) RowOrder(string, *schema.Entity) (string, bool) { return "", false }

func (postgresDialect) In(expr, query string, not bool) string { return inSubquery(expr, query, not) }
