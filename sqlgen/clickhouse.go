package sqlgen

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/segmentkit/segmentkit/schema"
)

// ClickHouse is the dialect of ClickHouse 18.16 or later, over the layout
// of the benchmarks module's clickhouse package: integer Nullable(Int64),
// number Nullable(Float64), string Nullable(String), date Nullable(Date),
// datetime Nullable(Int64) holding microseconds since the Unix epoch,
// boolean Nullable(UInt8) 0 or 1, every table Distributed over the shards
// with a customer's related rows on its shard.
//
// 18.16 has no CTEs, no INTERSECT or EXCEPT, no window functions and no
// bind parameters: groups combine as membership conditions, parts nest as
// subqueries, every value is inlined, first and last sort each group's
// rows in an array (FirstValue), and relationship paths of several hops
// nest one JOIN per SELECT (JoinPath). Its logic is not SQL's on NULL (0
// AND NULL is NULL, NULL NOT IN (..) is true): every predicate on a
// nullable value is made two-valued (NotNull). Subqueries are GLOBAL IN
// and joins GLOBAL, which see every shard. Strings compare by bytes.
// ClickHouse keeps no row order, so sums of numbers need Options.RowOrder
// (clickhouse.Cluster.RowOrder loads such a column) or
// Options.AnyOrderSums.
var ClickHouse Dialect = clickhouseDialect{}

func init() { register(ClickHouse) }

type clickhouseDialect struct{}

func (clickhouseDialect) Name() string { return "clickhouse" }

func (clickhouseDialect) Features() Features {
	return Features{}
}

// Ident writes `name`, with \ and ` escaped by a backslash.
func (clickhouseDialect) Ident(name string) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	return "`" + strings.NewReplacer(`\`, `\\`, "`", "\\`").Replace(name) + "`", nil
}

// Literal writes ClickHouse literals: NULL; 1 and 0 for booleans (UInt8);
// integers in decimal; floats as the shortest text that reads back, and
// subnormal ones (which 18.16 cannot parse) by their bits,
// reinterpretAsFloat64(unhex('..')); strings in single quotes with \ and '
// escaped by a backslash and every control character (NUL included) as
// \xHH, so that the literal stays on one line.
func (clickhouseDialect) Literal(v any) (string, error) {
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
		if x != 0 && math.Abs(x) < 0x1p-1022 {
			var b strings.Builder
			bits := math.Float64bits(x)
			for i := 0; i < 8; i++ {
				b.WriteString(strconv.FormatUint(bits>>(8*i)&0xff|0x100, 16)[1:])
			}
			return "reinterpretAsFloat64(unhex('" + strings.ToUpper(b.String()) + "'))", nil
		}
		s, err := floatLiteral(x)
		if err != nil {
			return "", err
		}
		return s, nil
	case string:
		if !utf8.ValidString(x) {
			return "", errorf("the string %q is not valid UTF-8", x)
		}
		var b strings.Builder
		b.WriteByte('\'')
		for _, r := range x {
			switch {
			case r == '\\':
				b.WriteString(`\\`)
			case r == '\'':
				b.WriteString(`\'`)
			case r < 0x20 || r == 0x7f:
				b.WriteString(`\x` + strconv.FormatUint(uint64(r)|0x100, 16)[1:])
			default:
				b.WriteRune(r)
			}
		}
		b.WriteByte('\'')
		return b.String(), nil
	}
	return "", errorf("no literal for a value of type %T", v)
}

// Placeholder is never called: ClickHouse 18.16 has no bind parameters.
func (clickhouseDialect) Placeholder(n int) string { return "?" }

// Value turns a date into its day number (days since 1970-01-01), which
// compares with any day, even those a Date cannot hold.
func (clickhouseDialect) Value(expr string, t schema.Type) string {
	if t == schema.Date {
		return "toInt64(" + expr + ")"
	}
	return expr
}

// Date is the day number.
func (clickhouseDialect) Date(d int64, lit Lit) string { return lit(d) }

// Datetime is the microseconds, as the column holds them.
func (clickhouseDialect) Datetime(us int64, lit Lit) string { return lit(us) }

// Search uses =, position, startsWith and endsWith for case-sensitive
// searches, and match (RE2, which reads UTF-8 by characters) with the
// case folding orbits as classes otherwise: lowerUTF8 and the
// CaseInsensitive functions do not fold as segmentkit does.
func (clickhouseDialect) Search(expr string, kind SearchKind, p Pattern, lit Lit) (string, error) {
	if s, ok := p.Literal(); ok {
		switch kind {
		case SearchEqual:
			return expr + " = " + lit(s), nil
		case SearchContains:
			return "position(" + expr + ", " + lit(s) + ") > 0", nil
		case SearchPrefix:
			return "startsWith(" + expr + ", " + lit(s) + ")", nil
		case SearchSuffix:
			return "endsWith(" + expr + ", " + lit(s) + ")", nil
		}
	}
	re, err := regexPattern(p, kind)
	if err != nil {
		return "", err
	}
	return "match(" + expr + ", " + lit(re) + ")", nil
}

// IntegerSum adds the high and the low 32 bits apart, each exactly in
// Int64, then joins them in one float addition, which rounds once (as
// SQLite's): exact for up to 2^21 rows per customer. A plain sum would
// wrap around on overflow.
func (clickhouseDialect) IntegerSum(expr string) string {
	return "(toFloat64(sum(bitShiftRight(" + expr + ", 32))) * 4294967296.0 + toFloat64(sum(bitAnd(" + expr + ", 4294967295))))"
}

// OrderedSums collects each customer's (ord, v) pairs, sorts them by ord
// and takes the last of arrayCumSum's running sums, which adds the
// float64 values one at a time in that order.
func (d clickhouseDialect) OrderedSums(rows string, fresh func(string) string) (string, error) {
	id := func(s string) string { q, _ := d.Ident(s); return q }
	t := id(fresh("rows"))
	cust, v, ord := t+"."+id("cust"), t+"."+id("v"), t+"."+id("ord")
	pairs := "arraySort(p -> p.1, groupArray((assumeNotNull(" + ord + "), assumeNotNull(" + v + "))))"
	return "SELECT " + cust + " AS " + id("cust") +
		", arrayElement(arrayCumSum(arrayMap(p -> p.2, " + pairs + ")), -1) AS " + id("sum") +
		", count() AS " + id("count") + "\nFROM (\n" + indent(rows) + "\n) AS " + t + "\nGROUP BY " + cust, nil
}

// RowOrder: ClickHouse keeps no row order.
func (clickhouseDialect) RowOrder(string, *schema.Entity) (string, bool) { return "", false }

// In writes GLOBAL IN, whose subquery runs once over every shard, and
// GLOBAL NOT IN guarded against a null expr, which ClickHouse would count
// as not in.
func (clickhouseDialect) In(expr, query string, not bool) string {
	if !not {
		return expr + " GLOBAL IN (\n" + indent(query) + "\n)"
	}
	return "(" + expr + " IS NOT NULL AND " + expr + " GLOBAL NOT IN (\n" + indent(query) + "\n))"
}

// NotNull makes cond two-valued: ifNull(raw IS NOT NULL AND cond, 0) is 0
// where raw is null, whatever ClickHouse's cond gives there.
func (clickhouseDialect) NotNull(raw, cond string) string {
	return "ifNull(" + raw + " IS NOT NULL AND " + paren(cond) + ", 0)"
}

// JoinPath joins each hop as a subquery renaming its key to the name of
// the column that points at it, GLOBAL ALL INNER JOIN ... USING: 18.16
// takes one JOIN per SELECT and does not resolve the right table's
// columns by its alias, so a path of several hops nests. Rows with a null
// key drop out, as broken links do.
func (d clickhouseDialect) JoinPath(from, fk string, hops []Hop, fresh func(string) string) (string, string) {
	id := func(s string) string { q, _ := d.Ident(s); return q }
	cust := id(fresh("path_customer"))
	// right returns the subquery of hops[i:], its key named as.
	var right func(i int, as string) string
	right = func(i int, as string) string {
		h := hops[i]
		key := id(h.Key)
		if i == len(hops)-1 {
			return "SELECT " + key + " AS " + id(as) + ", " + id(h.Next) + " AS " + cust +
				"\nFROM " + h.Table + "\nWHERE " + key + " IS NOT NULL"
		}
		return "SELECT " + key + " AS " + id(as) + ", " + cust +
			"\nFROM " + h.Table + "\nGLOBAL ALL INNER JOIN (\n" + indent(right(i+1, h.Next)) + "\n) USING " + id(h.Next) +
			"\nWHERE " + key + " IS NOT NULL"
	}
	return from + "\nGLOBAL ALL INNER JOIN (\n" + indent(right(0, fk)) + "\n) USING " + id(fk), cust
}

// CountDistinct is ifNull(COUNT(DISTINCT x), 0): over a Nullable column
// whose values in the group are all null, ClickHouse's count is NULL.
func (clickhouseDialect) CountDistinct(expr string) string {
	return "ifNull(COUNT(DISTINCT " + expr + "), 0)"
}

// FirstValue sorts the group's (order, key, value) triples and takes the
// first or the last value: 18.16 has no window functions.
func (clickhouseDialect) FirstValue(value, order, key string, last bool) string {
	i := "1"
	if last {
		i = "-1"
	}
	return "arrayElement(arrayMap(p -> p.3, arraySort(p -> (p.1, p.2), groupArray((assumeNotNull(" + order + "), assumeNotNull(" + key +
		"), " + value + ")))), " + i + ")"
}
