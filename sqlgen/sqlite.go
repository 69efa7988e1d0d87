package sqlgen

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// SQLite is the dialect of SQLite 3.38 or later (for unixepoch), such as
// modernc.org/sqlite. Its table layout is the package documentation's:
// dates are TEXT YYYY-MM-DD, datetimes TEXT RFC 3339, booleans INTEGER 0
// or 1, and each table's rowid follows its data file's row order.
var SQLite Dialect = sqliteDialect{}

func init() { register(SQLite) }

type sqliteDialect struct{ standardHooks }

func (sqliteDialect) Name() string { return "sqlite" }

func (sqliteDialect) Features() Features {
	return Features{CTE: true, SetOps: true, Window: true, Params: true}
}

// Ident writes "name", with " doubled. A name with a control character
// (a line break, NUL) or invalid UTF-8 is refused: SQLite keeps it, but no
// query of this package should depend on one.
func (sqliteDialect) Ident(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return `"` + strings.ReplaceAll(name, `"`, `""`) + `"`, nil
}

// checkName refuses names that cannot be written on one line.
func checkName(name string) error {
	if name == "" {
		return errorf("an empty name")
	}
	if !utf8.ValidString(name) {
		return errorf("the name %q is not valid UTF-8", name)
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return errorf("the name %q holds the control character %U", name, r)
		}
	}
	return nil
}

// Literal writes SQLite literals: NULL; 1 and 0 for booleans; integers in
// decimal (the smallest int64 as an expression, which SQLite would read
// as a float); floats as the shortest text that reads back as the same
// float64, always with a '.' or an exponent so that SQLite reads a REAL;
// strings in single quotes with ' doubled, a control character written
// as char(N) joined with ||, so that the literal stays on one line and a
// NUL does not end the statement.
func (sqliteDialect) Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "NULL", nil
	case bool:
		if x {
			return "1", nil
		}
		return "0", nil
	case int64:
		return intLiteral(x), nil
	case int:
		return intLiteral(int64(x)), nil
	case float64:
		return floatLiteral(x)
	case string:
		return quoteString(x, "char")
	}
	return "", errorf("no literal for a value of type %T", v)
}

func intLiteral(i int64) string {
	if i == math.MinInt64 {
		return "(-9223372036854775807 - 1)"
	}
	return strconv.FormatInt(i, 10)
}

// floatLiteral writes f so that it reads back exactly, as a float: 1.0,
// 0.1, 1e+300, -0.0.
func floatLiteral(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", errorf("the number %v has no SQL literal", f)
	}
	s := strconv.FormatFloat(f, 'g', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s, nil
}

// quoteString writes s in single quotes, ' doubled; each control
// character (C0 and DEL) goes outside the quotes as chr(N), joined with
// ||, chr being the dialect's character function.
func quoteString(s, chr string) (string, error) {
	if !utf8.ValidString(s) {
		return "", errorf("the string %q is not valid UTF-8", s)
	}
	var parts []string
	var b strings.Builder
	flush := func() {
		if b.Len() > 0 {
			parts = append(parts, "'"+b.String()+"'")
			b.Reset()
		}
	}
	for _, r := range s {
		switch {
		case r < 0x20 || r == 0x7f:
			flush()
			parts = append(parts, chr+"("+strconv.Itoa(int(r))+")")
		case r == '\'':
			b.WriteString("''")
		default:
			b.WriteRune(r)
		}
	}
	flush()
	switch len(parts) {
	case 0:
		return "''", nil
	case 1:
		return parts[0], nil
	}
	return "(" + strings.Join(parts, " || ") + ")", nil
}

func (sqliteDialect) Placeholder(n int) string { return "?" + strconv.Itoa(n) }

// Value turns a TEXT datetime into its microseconds since the epoch: the
// whole seconds by unixepoch over the text without its fraction (offset
// included), plus the fraction's first six digits. Text comparison would
// not do: "12:00:00.5Z" sorts before "12:00:00Z", and offsets differ.
// SQLite's own datetime functions keep milliseconds only.
func (sqliteDialect) Value(expr string, t schema.Type) string {
	if t != schema.Datetime {
		return expr
	}
	// zone is the text after the fraction: "Z", "+02:00".
	zone := "ltrim(substr(" + expr + ", 20), '.0123456789')"
	return "(unixepoch(substr(" + expr + ", 1, 19) || " + zone + ") * 1000000 + " +
		"CAST(substr(substr(" + expr + ", 21, max(length(" + expr + ") - 20 - length(" + zone + "), 0)) || '000000', 1, 6) AS INTEGER))"
}

func (sqliteDialect) Date(d int64, lit Lit) string { return lit(exact.FormatDay(d)) }

func (sqliteDialect) Datetime(us int64, lit Lit) string { return lit(us) }

// Search uses GLOB, which compares characters exactly (its classes [...]
// hold a case folding orbit); *, ? and [ of the pattern are written as
// classes. GLOB reads its pattern up to a NUL, so a pattern with one is
// refused.
func (sqliteDialect) Search(expr string, kind SearchKind, p Pattern, lit Lit) (string, error) {
	var b strings.Builder
	if kind == SearchContains || kind == SearchSuffix {
		b.WriteByte('*')
	}
	for _, set := range p {
		for _, r := range set {
			if r == 0 {
				return "", errorf("a search for a string with a NUL character")
			}
		}
		switch {
		case len(set) == 1 && strings.ContainsRune("*?[", set[0]):
			b.WriteString("[" + string(set[0]) + "]")
		case len(set) == 1:
			b.WriteRune(set[0])
		case strings.ContainsAny(string(set), "]^-"):
			// Case folding orbits hold letters only.
			return "", errorf("a search for the character class %q", string(set))
		default:
			b.WriteString("[" + string(set) + "]")
		}
	}
	if kind == SearchContains || kind == SearchPrefix {
		b.WriteByte('*')
	}
	return expr + " GLOB " + lit(b.String()), nil
}

// IntegerSum adds the high and the low 32 bits of the values apart, each
// exactly (SQLite's SUM stops with an error when an int64 sum overflows),
// then joins them in one float addition, which rounds once: exact for up
// to 2^21 rows per customer.
func (sqliteDialect) IntegerSum(expr string) string {
	return "(CAST(SUM(" + expr + " >> 32) AS REAL) * 4294967296.0 + CAST(SUM(" + expr + " & 4294967295) AS REAL))"
}

// OrderedSums adds each customer's values one by one in a recursive CTE:
// SQLite's SUM and TOTAL add with compensation (Kahan-Babuska-Neumaier),
// which rounds differently from FORMAT.md's sum in row order.
func (d sqliteDialect) OrderedSums(rows string, fresh func(string) string) (string, error) {
	id := func(s string) string { q, _ := d.Ident(s); return q }
	numbered, acc := id(fresh("numbered")), id(fresh("running"))
	cust, v, ord, i, n, sum, count := id("cust"), id("v"), id("ord"), id("i"), id("n"), id("sum"), id("count")
	t := id("rows")
	return "WITH RECURSIVE\n" +
		numbered + " AS (\n" +
		"  SELECT " + t + "." + cust + " AS " + cust + ", " + t + "." + v + " AS " + v + ",\n" +
		"    ROW_NUMBER() OVER (PARTITION BY " + t + "." + cust + " ORDER BY " + t + "." + ord + ") AS " + i + ",\n" +
		"    COUNT(*) OVER (PARTITION BY " + t + "." + cust + ") AS " + n + "\n" +
		"  FROM (\n" + indent(indent(rows)) + "\n  ) AS " + t + "\n" +
		"),\n" +
		acc + " AS (\n" +
		"  SELECT " + cust + ", " + i + ", " + n + ", " + v + " AS " + sum + " FROM " + numbered + " WHERE " + i + " = 1\n" +
		"  UNION ALL\n" +
		"  SELECT " + numbered + "." + cust + ", " + numbered + "." + i + ", " + numbered + "." + n + ", " +
		acc + "." + sum + " + " + numbered + "." + v + "\n" +
		"  FROM " + acc + " JOIN " + numbered + " ON " + numbered + "." + cust + " = " + acc + "." + cust +
		" AND " + numbered + "." + i + " = " + acc + "." + i + " + 1\n" +
		")\n" +
		"SELECT " + cust + ", " + sum + ", " + n + " AS " + count + " FROM " + acc + " WHERE " + i + " = " + n, nil
}

// RowOrder is the rowid, under one of its names that no column hides.
func (sqliteDialect) RowOrder(alias string, e *schema.Entity) (string, bool) {
	for _, name := range []string{"rowid", "_rowid_", "oid"} {
		hidden := false
		for _, a := range e.Attributes {
			hidden = hidden || strings.EqualFold(a.Name, name)
		}
		if !hidden {
			return alias + "." + name, true
		}
	}
	return "", false
}

func (sqliteDialect) In(expr, query string, not bool) string { return inSubquery(expr, query, not) }

// inSubquery writes expr [NOT] IN (query), the query on lines of its own.
func inSubquery(expr, query string, not bool) string {
	op := " IN "
	if not {
		op = " NOT IN "
	}
	return expr + op + "(\n" + indent(query) + "\n)"
}
