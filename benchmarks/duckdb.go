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
)

// DuckDB is an in-memory DuckDB database holding the dataset's tables.
// It uses a single connection, so it is not safe for concurrent use.
type DuckDB struct {
	db   *sql.DB
	conn *sql.Conn
	// LoadTime is how long loading the tables from Parquet took.
	LoadTime time.Duration
}

// DuckDBOptions configures LoadDuckDB.
type DuckDBOptions struct {
	// Threads is DuckDB's threads setting; zero means 2.
	Threads int
	// MemoryLimit is DuckDB's memory_limit setting ("12GB"); empty keeps
	// DuckDB's default.
	MemoryLimit string
}

// LoadDuckDB opens an in-memory DuckDB database and loads every entity of
// the data directory dir into a table of the same name, with CREATE TABLE
// AS SELECT * FROM read_parquet(...): the tables hold the data in DuckDB's
// own storage, as the snapshot holds it in segmentkit's. The caller must
// Close it.
func LoadDuckDB(ctx context.Context, dir string, opts DuckDBOptions) (*DuckDB, error) {
	db, err := sql.Open("duckdb", "")
	if err != nil {
		return nil, fmt.Errorf("duckdb: %w", err)
	}
	d := &DuckDB{db: db}
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
		// serialize the materialization of results.
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
		q := fmt.Sprintf(`CREATE TABLE "%s" AS SELECT * FROM read_parquet('%s')`, e, strings.ReplaceAll(path, "'", "''"))
		if _, err := d.conn.ExecContext(ctx, q); err != nil {
			_ = d.Close()
			return nil, fmt.Errorf("duckdb load %s: %w", e, err)
		}
	}
	d.LoadTime = time.Since(start)
	return d, nil
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
