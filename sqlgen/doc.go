// Package sqlgen compiles a segment definition, a schema and an as-of
// instant into one SQL query that returns the member customers' keys, with
// FORMAT.md's meaning, for SQL engines that hold the data where it lives.
//
//	q, err := sqlgen.Compile(def, sch, sqlgen.Options{
//		Dialect: sqlgen.SQLite,
//		AsOf:    asOf,
//	})
//	rows, err := db.QueryContext(ctx, q.SQL, q.Args...)
//	// one column, named as the customer key attribute: the members
//
// One compiler serves every dialect; a Dialect holds only what engines
// write differently (quoting, literals, date and datetime values, string
// search and case folding, exact sums) and Features says which constructs
// it has (CTEs, INTERSECT and EXCEPT, window functions, bind parameters).
// The compiler writes the query another way where a construct is missing
// (nested subqueries for CTEs, membership conditions for set operators)
// and reports what it cannot express as an error wrapping ErrUnsupported,
// with the definition path of the construct: never a query that means
// something else.
//
// # The query
//
// Each group of the definition is one named part of the query (a CTE,
// "group1", "group2", ...), selecting the customers its condition holds
// for; the parts combine left to right with UNION, INTERSECT and EXCEPT.
// A referenced segment compiled into the query is a part named after it.
// Every condition is preceded by a comment with its definition path
// (-- groups[0].condition.and[1]); comments hold nothing else a user
// wrote. Identifiers are quoted; values are bind parameters, or with
// Options.Inline literals written by the dialect's one escaping function
// (Dialect.Literal), so that the query runs as printed.
//
// Related conditions compile to IN over subqueries of the related rows,
// joined to their customer along the relationship path; every predicate's
// value is resolved exactly at compile time (integers, days and
// microseconds as exact bounds, numbers as their nearest float64, the
// bounds of inLastDays and inNextDays from Options.AsOf). Conditions keep
// FORMAT.md's two-valued logic: a predicate under a not is guarded against
// SQL's NULL.
//
// # Table layout
//
// One table per entity, named after the entity (Options.Tables may rename
// it), with one column per attribute, named as in schema.json. For SQLite
// the types are those of a CSV data file as written:
//
//	integer   INTEGER
//	number    REAL
//	string    TEXT     (without NUL characters)
//	date      TEXT     YYYY-MM-DD
//	datetime  TEXT     RFC 3339 (2026-06-15T12:00:00Z; fractional seconds
//	                   and offsets allowed; compared by instant, to the
//	                   microsecond)
//	boolean   INTEGER  0 or 1
//
// with NULL for null, and the rows of each table inserted in their data
// file's order: FORMAT.md adds a sum of numbers in row order, and the
// query follows the rowid (Options.RowOrder names another order column).
// PostgreSQL and DuckDB take their native types: bigint, double precision,
// text, date, timestamptz (timestamp with time zone), boolean; a sum of
// numbers needs Options.RowOrder there. ClickHouse (18.16 or later) takes
// the layout of the benchmarks module's clickhouse package: Nullable
// Int64, Float64, String, Date, Int64 microseconds for datetimes and UInt8
// for booleans, Distributed over shards with each customer's related rows
// on its shard; see ClickHouse for what it cannot express. Spark SQL
// (BIGINT, DOUBLE, STRING, DATE, TIMESTAMP, BOOLEAN) and Trino (bigint,
// double, varchar, date, timestamp(6) with time zone, boolean) need
// Options.RowOrder for sums of numbers too, and their queries inline every
// value; docs/scale-out.md gives the layouts, the engine settings they
// assume and the functions their queries use.
//
// # Limits
//
// Integer sums are exact for up to 2^21 rows per customer; an average of
// integers is exact when the sum is within 2^53. Segment references are
// resolved by Options.Segments: a referenced definition is compiled into
// the query, or a table holds the members' keys.
package sqlgen
