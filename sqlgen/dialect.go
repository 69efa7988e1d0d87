package sqlgen

import (
	"fmt"
	"slices"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// Dialect is what differs between SQL engines. The compiler is one for
// every dialect: it decides what a definition means and which SQL
// constructs express it, and asks the dialect only for the spelling of
// identifiers, literals and the few expressions engines write differently.
//
// Every method returns SQL text. No name or literal in it may hold a line
// break (a string with one is written with the engine's character
// function), so that the compiler can indent and comment the query by
// lines; the queries that In and OrderedSums return span several. A method that cannot express what it is asked returns an error
// wrapping ErrUnsupported, which the compiler reports with the definition
// path: a dialect never returns SQL that would mean something else.
//
// The expressions the compiler passes in are SQL text it built: a column
// (`r0."Amount"`), an aggregate, a subquery. Values reach the dialect as Go
// values (int64, float64, string, bool) through a Lit, which writes them
// as a bind parameter or, inlined, through the dialect's Literal.
//
// A Dialect must be safe for concurrent use; the ones of this package are
// stateless values.
type Dialect interface {
	// Name is the dialect's name, as LookupDialect takes it: "sqlite".
	Name() string
	// Features says which SQL constructs the compiler may use.
	Features() Features

	// Ident quotes an identifier: a table, a column or a query part.
	// Every identifier of a generated query is quoted, whatever it holds.
	Ident(name string) (string, error)
	// Literal writes v as a SQL literal: v is nil, a bool, an int64, a
	// float64 (finite; it must read back as the same float64) or a string
	// (valid UTF-8). It is the one function of the dialect that escapes
	// values; a value it cannot write safely is an error.
	Literal(v any) (string, error)
	// Placeholder writes the n-th bind parameter (n from 1); the compiler
	// numbers them in Query.Args order and may use one several times.
	// Only called when Features().Params is true.
	Placeholder(n int) string

	// Value returns a column or aggregate of type t in the form the
	// compiler compares, orders, groups and aggregates: where the stored
	// form does not order as FORMAT.md says (text datetimes, strings
	// under a linguistic collation), the expression that does.
	Value(expr string, t schema.Type) string
	// Date returns day d (days since 1970-01-01) as a value comparable
	// with Value(x, schema.Date). d is between 0000-01-01 and 9999-12-31.
	Date(d int64, lit Lit) string
	// Datetime returns the instant us (microseconds since the Unix epoch)
	// as a value comparable with Value(x, schema.Datetime). us lies within
	// the years 0000 to 9999.
	Datetime(us int64, lit Lit) string

	// Search returns a condition that holds when the string expr (in
	// Value form, never null) matches p as kind says. Case-insensitive
	// searches come as patterns whose positions hold a character's whole
	// case folding orbit.
	Search(expr string, kind SearchKind, p Pattern, lit Lit) (string, error)
	// IntegerSum returns an aggregate of the integer expression expr over
	// a group: the exact sum of its non-null values rounded once to the
	// nearest float64 (FORMAT.md's sum of integers), or NULL when there
	// are none.
	IntegerSum(expr string) string
	// CountDistinct returns an aggregate of the number of distinct
	// non-null values of expr over a group: 0, not NULL, when there are
	// none.
	CountDistinct(expr string) string
	// FirstValue returns an aggregate of value on the group's row with
	// the smallest (order, key), or with last the largest, for engines
	// without window functions; "" when the dialect has none (the
	// compiler then needs Features.Window). order and key are never null.
	FirstValue(value, order, key string, last bool) string
	// OrderedSums returns a query with the columns "cust", "sum" and
	// "count": one row per customer of rows, a query with the columns
	// "cust", "v" (a non-null float) and "ord" (the rows' order). sum adds
	// the customer's v one at a time in ord order, as float64 additions:
	// FORMAT.md's sum of numbers, which is not what a SQL SUM promises.
	// count is the number of rows. fresh returns a name for a query part
	// (a CTE, an alias) that no table or other part of the query has.
	OrderedSums(rows string, fresh func(hint string) string) (string, error)
	// RowOrder returns an expression giving the rows of the table aliased
	// alias (entity e's table) in the order of its data file, when the
	// engine keeps one (SQLite's rowid); ok is false when it has none, and
	// Options.RowOrder must name an order column for sums of numbers.
	RowOrder(alias string, e *schema.Entity) (expr string, ok bool)
	// In returns the condition "expr is (not) among the values of query",
	// a subquery of one column without nulls.
	In(expr, query string, not bool) string
	// NotNull returns the predicate cond over the column raw (SQL's
	// NULL where raw is null) as a condition that is false, never NULL,
	// where raw is null, for engines whose logic is not SQL's on NULL; or
	// "" when SQL's three-valued logic holds, and the compiler guards cond
	// with "raw IS NOT NULL AND" where a NOT is over it.
	NotNull(raw, cond string) string
	// JoinPath returns the FROM clause of rows that reach their customer
	// key along several relationships, for engines whose JOIN ... ON
	// cannot do it, and the expression of the customer key in it; or ""
	// for the compiler's "JOIN table AS alias ON key = fk" per hop. from
	// is "FROM table AS alias" of the rows, fk the name of their column
	// the first relationship starts from, hops the entities reached
	// before the customer. fresh names a column no table has.
	JoinPath(from, fk string, hops []Hop, fresh func(hint string) string) (clause, cust string)
}

// Hop is an entity a relationship path reaches on its way to the
// customer: its table and, unquoted, the key column the previous
// relationship points at and the column the next one starts from (the
// customer key's foreign key on the last hop).
type Hop struct {
	Table     string
	Key, Next string
}

// Features are the SQL constructs a dialect lets the compiler use. Where
// one is missing the compiler writes the query another way, or reports the
// construct as unsupported.
type Features struct {
	// CTE: WITH name AS (subquery). Without it each part of the query is a
	// nested subquery where it is used.
	CTE bool
	// SetOps: UNION, INTERSECT and EXCEPT. Without them groups combine as
	// conditions on each customer's membership (IN and NOT IN).
	SetOps bool
	// Window: ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...), which
	// measures with first and last need.
	Window bool
	// Params: bind parameters. Without them every value is inlined.
	Params bool
}

// Lit writes a value for a Dialect method: as a bind parameter, or inlined
// with the dialect's Literal, as Options.Inline says. v is a bool, an int64,
// a float64 or a string.
type Lit func(v any) string

// SearchKind says where a Search pattern must match.
type SearchKind uint8

const (
	// SearchEqual: the whole string matches.
	SearchEqual SearchKind = iota + 1
	// SearchContains: some part of the string matches.
	SearchContains
	// SearchPrefix: the string starts with a match.
	SearchPrefix
	// SearchSuffix: the string ends with a match.
	SearchSuffix
)

var searchNames = [...]string{"", "equal", "contains", "prefix", "suffix"}

// String returns "equal", "contains", "prefix", "suffix" or "SearchKind(N)".
func (k SearchKind) String() string {
	if k > 0 && int(k) < len(searchNames) {
		return searchNames[k]
	}
	return fmt.Sprintf("SearchKind(%d)", uint8(k))
}

// Pattern is a string to search for, one position per character: a
// character of the searched string matches position i when it is one of
// p[i]. A case-sensitive search has one rune per position; ignoreCase puts
// there every rune of the character's simple case folding orbit, so that
// "Kelvin" is [K k K] [e E] [l L] [v V] [i I] [n N] (the Kelvin sign
// included), and the match is the engine's: two strings are equal under
// ignoreCase when their characters are pairwise in the same orbit.
type Pattern [][]rune

// Literal reports whether every position has one rune, and returns the
// string.
func (p Pattern) Literal() (string, bool) {
	var b strings.Builder
	for _, set := range p {
		if len(set) != 1 {
			return "", false
		}
		b.WriteRune(set[0])
	}
	return b.String(), true
}

// dialects are the dialects LookupDialect knows, by name.
var dialects = map[string]Dialect{}

func register(d Dialect) {
	if _, dup := dialects[d.Name()]; dup {
		panic("BUG: sqlgen: dialect " + d.Name() + " registered twice")
	}
	dialects[d.Name()] = d
}

// LookupDialect returns the dialect named name ("sqlite", "postgres",
// "duckdb", "clickhouse", "spark", "trino"). An unknown name is an error wrapping ErrUnknownDialect that
// lists the dialects and suggests the nearest name.
func LookupDialect(name string) (Dialect, error) {
	if d, ok := dialects[name]; ok {
		return d, nil
	}
	names := Dialects()
	msg := fmt.Sprintf("%q: use one of %s", name, strings.Join(names, ", "))
	if near := diag.Nearest(name, names); near != "" {
		msg += fmt.Sprintf(" (did you mean %s?)", near)
	}
	return nil, fmt.Errorf("%w %s", ErrUnknownDialect, msg)
}

// Dialects lists the names of the dialects, sorted.
func Dialects() []string {
	names := make([]string, 0, len(dialects))
	for n := range dialects {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// standardHooks are the hooks of a dialect whose engine needs nothing
// special for them (every one but ClickHouse): a dialect embeds it.
type standardHooks struct{}

// NotNull leaves SQL's three-valued predicates as they are.
func (standardHooks) NotNull(string, string) string { return "" }

// JoinPath lets the compiler write its usual joins.
func (standardHooks) JoinPath(string, string, []Hop, func(string) string) (string, string) {
	return "", ""
}

// CountDistinct is COUNT(DISTINCT expr).
func (standardHooks) CountDistinct(expr string) string { return "COUNT(DISTINCT " + expr + ")" }

// FirstValue lets the compiler use window functions.
func (standardHooks) FirstValue(string, string, string, bool) string { return "" }
