package benchmarks

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	// The DuckDB driver registers itself as "duckdb" with database/sql.
	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
	"github.com/segmentkit/segmentkit/diag"
)

// DuckDB is an in-memory DuckDB database holding the dataset's tables.
// It uses a single connection, so it is not safe for concurrent use.
type DuckDB struct {
	db   *sql.DB
	conn *sql.Conn
	// Order is the order the related tables were loaded in.
	Order DuckDBOrder
	// LoadTime is how long loading the tables from Parquet took, their
	// ordering included.
	LoadTime time.Duration
	// Tables are the load times of the tables, in the order of
	// gen.Entities.
	Tables []time.Duration
}

// DuckDBOrder is the order in which LoadDuckDB stores the rows of the
// related tables.
type DuckDBOrder string

const (
	// ByCustomer stores the rows of every related table ordered by their
	// customer, as segmentkit clusters them at load (storage, "Related
	// entities are clustered by customer at load"): Order and SupportCase
	// by CustomerId, OrderLine, whose path to the customer goes through
	// Order, by its order's CustomerId; rows of no customer (a null or
	// dangling key) last. The dataset's customer keys count up in the
	// Customer file, and its dangling keys are larger than every customer
	// key, so that this is segmentkit's order of customers. The rows of
	// one customer may come in any order (segmentkit keeps them in file
	// order); no query depends on it.
	ByCustomer DuckDBOrder = "customer"
	// FileOrder stores every table in the order of its Parquet file.
	FileOrder DuckDBOrder = "file"
)

// ParseDuckDBOrder returns the order named s: "customer" or "file".
func ParseDuckDBOrder(s string) (DuckDBOrder, error) {
	switch o := DuckDBOrder(s); o {
	case ByCustomer, FileOrder:
		return o, nil
	}
	return "", fmt.Errorf("duckdb order %q: %w (customer or file)", s, ErrUnknownOrder)
}

// ErrUnknownOrder: a DuckDB table order that is neither "customer" nor
// "file"; test with errors.Is.
var ErrUnknownOrder = diag.NewSentinel("benchmarks.unknown_order", "not a DuckDB table order")

// DuckDBOptions configures LoadDuckDB.
type DuckDBOptions struct {
	// Threads is DuckDB's threads setting; zero means 2.
	Threads int
	// MemoryLimit is DuckDB's memory_limit setting ("12GB"); empty keeps
	// DuckDB's default.
	MemoryLimit string
	// Order is the order of the related tables' rows; empty means
	// ByCustomer, segmentkit's.
	Order DuckDBOrder
}

// LoadDuckDB opens an in-memory DuckDB database and loads every entity of
// the data directory dir into a table of the same name, with CREATE TABLE
// AS SELECT * FROM read_parquet(...), in the order opts.Order says: the
// tables hold the data in DuckDB's own storage, as the snapshot holds it
// in segmentkit's. With ByCustomer, each related table is ordered in the
// same statement (ORDER BY, after a join to Order for OrderLine), so that
// the ordering is part of the load time, as segmentkit's clustering is
// part of its. The caller must Close it.
func LoadDuckDB(ctx context.Context, dir string, opts DuckDBOptions) (*DuckDB, error) {
	order := opts.Order
	if order == "" {
		order = ByCustomer
	}
	if _, err := ParseDuckDBOrder(string(order)); err != nil {
		return nil, err
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	d := &DuckDB{db: db, Order: order}
	if d.conn, err = db.Conn(ctx); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	threads := opts.Threads
	if threads == 0 {
		threads = 2
	}
	settings := []string{
		fmt.Sprintf("SET threads = %d", threads),
		// Member sets are unordered; keeping insertion order would only
		// serialize the materialization of results. An ORDER BY in a
		// CREATE TABLE AS is kept all the same.
		"SET preserve_insertion_order = false",
	}
	if opts.MemoryLimit != "" {
		settings = append(settings, fmt.Sprintf("SET memory_limit = '%s'", opts.MemoryLimit))
	}
	for _, s := range settings {
		if _, err := d.conn.ExecContext(ctx, s); err != nil {
			_ = d.Close()
			return nil, fmt.Errorf("duckdb %s: %w", s, err)
		}
	}
	start := time.Now()
	for _, e := range gen.Entities {
		path, err := filepath.Abs(filepath.Join(dir, e+".parquet"))
		if err != nil {
			_ = d.Close()
			return nil, err
		}
		q := loadQuery(e, strings.ReplaceAll(path, "'", "''"), order)
		tableStart := time.Now()
		if _, err := d.conn.ExecContext(ctx, q); err != nil {
			_ = d.Close()
			return nil, fmt.Errorf("duckdb load %s: %w", e, err)
		}
		d.Tables = append(d.Tables, time.Since(tableStart))
	}
	d.LoadTime = time.Since(start)
	return d, nil
}

// loadQuery is the statement that loads entity e from the Parquet file at
// path (quoted for a SQL string) in the given order. Order is loaded
// before OrderLine (gen.Entities), which finds its customer through it.
func loadQuery(e, path string, order DuckDBOrder) string {
	read := fmt.Sprintf("read_parquet('%s')", path)
	if order == ByCustomer {
		switch e {
		case "Order", "SupportCase":
			return fmt.Sprintf(`CREATE TABLE "%s" AS SELECT * FROM %s ORDER BY CustomerId NULLS LAST`, e, read)
		case "OrderLine":
			return fmt.Sprintf(`CREATE TABLE "%s" AS SELECT l.* FROM %s l LEFT JOIN "Order" o ON l.OrderId = o.OrderId ORDER BY o.CustomerId NULLS LAST`, e, read)
		}
	}
	return fmt.Sprintf(`CREATE TABLE "%s" AS SELECT * FROM %s`, e, read)
}

// Close closes the database and frees its memory.
func (d *DuckDB) Close() error {
	if d.conn != nil {
		_ = d.conn.Close()
	}
	return d.db.Close()
}

// Version returns DuckDB's version string.
func (d *DuckDB) Version(ctx context.Context) (string, error) {
	var v string
	err := d.conn.QueryRowContext(ctx, "SELECT version()").Scan(&v)
	return v, err
}

// Result runs the case's query and returns its answer, in the form that
// Segmentkit.Result gives.
func (d *DuckDB) Result(ctx context.Context, c suite.Case) (Result, error) {
	rows, err := d.conn.QueryContext(ctx, c.SQL)
	if err != nil {
		return Result{}, fmt.Errorf("duckdb %s: %w", c.Name, err)
	}
	defer rows.Close()
	var r Result
	for rows.Next() {
		switch c.Kind {
		case suite.Members:
			var k int64
			if err := rows.Scan(&k); err != nil {
				return Result{}, fmt.Errorf("duckdb %s: %w", c.Name, err)
			}
			r.Keys = append(r.Keys, k)
		case suite.TopValues:
			var v string
			var n int64
			if err := rows.Scan(&v, &n); err != nil {
				return Result{}, fmt.Errorf("duckdb %s: %w", c.Name, err)
			}
			r.Rows = append(r.Rows, v+"\t"+strconv.FormatInt(n, 10))
		case suite.Percentiles:
			var p int64
			var v sql.NullInt64
			if err := rows.Scan(&p, &v); err != nil {
				return Result{}, fmt.Errorf("duckdb %s: %w", c.Name, err)
			}
			s := "null"
			if v.Valid {
				s = strconv.FormatInt(v.Int64, 10)
			}
			r.Rows = append(r.Rows, strconv.FormatInt(p, 10)+"\t"+s)
		}
	}
	if err := rows.Err(); err != nil {
		return Result{}, fmt.Errorf("duckdb %s: %w", c.Name, err)
	}
	slices.Sort(r.Keys)
	return r, nil
}

// Run evaluates the case once, as the timed runs do. A segment's members
// are materialized into a temporary table inside DuckDB, the counterpart
// of the bitmap segmentkit hands back, rather than fetched row by row
// through database/sql, which would time the driver instead of the
// engine. An insight's few rows are fetched.
func (d *DuckDB) Run(ctx context.Context, c suite.Case) error {
	if c.Kind != suite.Members {
		_, err := d.Result(ctx, c)
		return err
	}
	_, err := d.conn.ExecContext(ctx, "CREATE OR REPLACE TEMP TABLE bench_result AS "+c.SQL)
	if err != nil {
		return fmt.Errorf("duckdb %s: %w", c.Name, err)
	}
	return nil
}

// MemoryBytes returns the memory DuckDB reports in use by the database
// (duckdb_memory()), its tables included.
func (d *DuckDB) MemoryBytes(ctx context.Context) (int64, error) {
	var n sql.NullInt64
	err := d.conn.QueryRowContext(ctx, "SELECT sum(memory_usage_bytes)::BIGINT FROM duckdb_memory()").Scan(&n)
	return n.Int64, err
}
