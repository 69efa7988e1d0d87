package sqlgen

import (
	"time"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// Sentinel errors of the package; test with errors.Is.
var (
	// ErrUnsupported: the dialect cannot express a construct of the
	// definition (or a name or value of the schema or definition), so no
	// query is written rather than one that means something else. The
	// problem's path names the construct.
	ErrUnsupported = diag.NewSentinel("sqlgen.unsupported", "not expressible in the SQL dialect")
	// ErrUnknownDialect: LookupDialect was given a name it does not know.
	ErrUnknownDialect = diag.NewSentinel("sqlgen.unknown_dialect", "unknown SQL dialect")
	// ErrOptions: the Options are incomplete or inconsistent: no dialect,
	// an empty table name, a segment reference that is neither a
	// definition nor a table, no as-of instant for a relative date.
	ErrOptions = diag.NewSentinel("sqlgen.options", "invalid SQL generation options")
)

// Options configures Compile. Dialect is required; the zero value of every
// other field is useful.
type Options struct {
	// Dialect writes the SQL (LookupDialect, or SQLite, PostgreSQL,
	// DuckDB, Spark, Trino).
	Dialect Dialect
	// AsOf is the evaluation's instant, from which inLastDays and
	// inNextDays count (FORMAT.md section 2). It is needed only by
	// definitions (and measures) that use them; the query holds the
	// resulting bounds, so it answers for that instant only.
	AsOf time.Time
	// Tables maps an entity to the table that holds its rows. The default
	// is the entity's name. A name with dots is a qualified name
	// ("sales.orders" is "sales"."orders").
	Tables map[string]string
	// Segments resolves segment references ({"segment": name}). A name
	// not in Segments is an unknown segment, a validation problem. A
	// reference to a group of a split ({"segment": name, "group": g}) is
	// resolved by the Table of name + "/" + g; without one it is
	// unsupported.
	Segments map[string]Reference
	// Inline writes every value into the SQL text, escaped by the
	// dialect's Literal, so that the query runs as printed and
	// Query.Args is empty. Otherwise values are bind parameters where the
	// dialect has them.
	Inline bool
	// RowOrder maps an entity to a column that orders its rows as its data
	// file does, for sums and averages of number attributes: FORMAT.md
	// adds them in row order, and floating-point sums depend on the order.
	// An entity not in RowOrder uses the dialect's own row order (SQLite's
	// rowid, when rows were inserted in file order); without either, such
	// a sum is unsupported unless AnyOrderSums is set.
	RowOrder map[string]string
	// AnyOrderSums lets sums and averages of number attributes be the
	// engine's SUM and AVG, in whatever order it adds: the last bits of a
	// sum may then differ from segmentkit's, and a comparison that falls
	// within that difference may give other members.
	AnyOrderSums bool
}

// Reference is what a segment reference stands for: the members of a
// definition, compiled into the same query, or the keys in a table.
// Exactly one of Definition and Table is set.
type Reference struct {
	// Definition is the referenced segment's definition. It is validated
	// and compiled with the same Options; its own references resolve
	// through Options.Segments too, and a cycle is an error.
	Definition *segment.Definition
	// Table names a table of member keys (dots qualify, as in
	// Options.Tables), such as a static segment's frozen members.
	Table string
	// Column is the table's key column; the default is the customer
	// entity's key attribute name. Nulls in it are ignored.
	Column string
}

// Query is a compiled definition: one SQL statement whose result is one
// column, named as the customer entity's key attribute, holding the
// member customers' keys, each once, in no particular order.
type Query struct {
	// SQL is the statement.
	SQL string
	// Args are the values of its bind parameters, in order: int64,
	// float64, string or bool values. It is empty with Options.Inline.
	Args []any
}

// Compile compiles the definition against the schema into one SQL query
// returning the member customers' keys, with FORMAT.md's meaning, as of
// opts.AsOf.
//
// The definition is validated first (segment.ValidateWith, with the
// schema's measures and opts.Segments); its problems are returned as a
// diag.List. A construct the dialect cannot express is reported the same
// way, each problem wrapping ErrUnsupported with the path of the construct.
// Compile does not modify its arguments.
func Compile(def *segment.Definition, sch *schema.Schema, opts Options) (*Query, error) {
	c, err := newCompiler(sch, opts)
	if err != nil {
		return nil, err
	}
	return c.compile(def)
}
