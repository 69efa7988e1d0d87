package sqldiff

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	// The DuckDB driver registers itself as "duckdb", pgx's stdlib as
	// "pgx", with database/sql.
	_ "github.com/duckdb/duckdb-go/v2"
	_ "github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/sqlgen"
	"github.com/segmentkit/segmentkit/storage"
)

// sqlBackend is an engine reached through database/sql, its tables of
// native types (sqlgen's documentation): DuckDB or PostgreSQL.
type sqlBackend struct {
	db      *sql.DB
	dialect sqlgen.Dialect
	// schema is the PostgreSQL schema of the tables ("" for DuckDB's
	// default); order adds the row order column (PostgreSQL keeps no
	// row order; DuckDB's rowid follows insertion).
	schema string
	order  bool
	snap   *storage.Snapshot
}

// sqlTypes are the native column types, the same names in DuckDB and
// PostgreSQL.
var sqlTypes = map[schema.Type]string{
	schema.Integer: "BIGINT", schema.Number: "DOUBLE PRECISION", schema.String: "TEXT",
	schema.Date: "DATE", schema.Datetime: "TIMESTAMPTZ", schema.Boolean: "BOOLEAN",
}

func (b *sqlBackend) table(name string) string {
	q, _ := b.dialect.Ident(name)
	if b.schema != "" {
		s, _ := b.dialect.Ident(b.schema)
		return s + "." + q
	}
	return q
}

func (b *sqlBackend) load(ctx context.Context, _ string, snap *storage.Snapshot) error {
	b.snap = snap
	tx, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, e := range snap.Schema().Entities {
		var cols, marks []string
		for i, a := range e.Attributes {
			q, err := b.dialect.Ident(a.Name)
			if err != nil {
				return err
			}
			cols = append(cols, q+" "+sqlTypes[a.Type])
			marks = append(marks, "$"+strconv.Itoa(i+1))
		}
		if b.order {
			q, _ := b.dialect.Ident(rowOrder)
			cols = append(cols, q+" BIGINT")
			marks = append(marks, "$"+strconv.Itoa(len(marks)+1))
		}
		t := b.table(e.Name)
		if _, err := tx.ExecContext(ctx, "DROP TABLE IF EXISTS "+t); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, "CREATE TABLE "+t+" ("+strings.Join(cols, ", ")+")"); err != nil {
			return err
		}
		stmt, err := tx.PrepareContext(ctx, "INSERT INTO "+t+" VALUES ("+strings.Join(marks, ", ")+")")
		if err != nil {
			return err
		}
		tab := snap.Table(e.Name)
		args := make([]any, len(marks))
		for row := range tab.NumRows {
			for j, a := range e.Attributes {
				if args[j], err = value(tab.Column(a.Name), row); err != nil {
					stmt.Close()
					return fmt.Errorf("%s row %d: %w", e.Name, row, err)
				}
			}
			if b.order {
				args[len(args)-1] = int64(row)
			}
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				stmt.Close()
				return fmt.Errorf("%s row %d: %w", e.Name, row, err)
			}
		}
		stmt.Close()
	}
	return tx.Commit()
}

// value is a column's value at row as the driver takes it. Snapshot rows
// of related entities are clustered by customer, stably, so each
// customer's rows keep their data file's order, which is what sums add
// in.
func value(c *storage.Column, row int) (any, error) {
	if c.Data.IsNull(row) {
		return nil, nil
	}
	text := c.Format(row)
	switch c.Attr.Type {
	case schema.Integer:
		return strconv.ParseInt(text, 10, 64)
	case schema.Number:
		return strconv.ParseFloat(text, 64)
	case schema.Boolean:
		return text == "true", nil
	case schema.Date:
		return text, nil
	case schema.Datetime:
		return time.Parse(time.RFC3339Nano, text)
	}
	return text, nil
}

func (b *sqlBackend) members(ctx context.Context, q *sqlgen.Query) ([]string, error) {
	rows, err := b.db.QueryContext(ctx, q.SQL, q.Args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		switch x := v.(type) {
		case int64:
			keys = append(keys, strconv.FormatInt(x, 10))
		case int32:
			keys = append(keys, strconv.FormatInt(int64(x), 10))
		case string:
			keys = append(keys, x)
		case []byte:
			keys = append(keys, string(x))
		default:
			return nil, fmt.Errorf("key %v of type %T", v, v)
		}
	}
	return keys, rows.Err()
}

func (b *sqlBackend) options() sqlgen.Options {
	opts := sqlgen.Options{Dialect: b.dialect}
	if b.order {
		opts.RowOrder = rowOrders(b.snap)
	}
	if b.schema != "" {
		opts.Tables = map[string]string{}
		for _, e := range b.snap.Schema().Entities {
			opts.Tables[e.Name] = b.schema + "." + e.Name
		}
	}
	return opts
}

// TestDuckDBMatchesEngine runs the differential test on an in-memory
// DuckDB database, with bind parameters and the rowid as row order.
func TestDuckDBMatchesEngine(t *testing.T) {
	db, err := sql.Open("duckdb", "")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	run(t, "duckdb", &sqlBackend{db: db, dialect: sqlgen.DuckDB})
}

// postgresEnv names the PostgreSQL server of the test (.ci/run starts
// one with .ci/postgres.sh).
const postgresEnv = "SEGMENTKIT_TEST_POSTGRES"

// TestPostgresMatchesEngine runs the differential test on the PostgreSQL
// server SEGMENTKIT_TEST_POSTGRES names, in a schema of its own, with a
// row order column.
func TestPostgresMatchesEngine(t *testing.T) {
	url := os.Getenv(postgresEnv)
	require.NotEmpty(t, url, "no PostgreSQL server: set %s (.ci/postgres.sh start prints it)", postgresEnv)
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	name := fmt.Sprintf("sk_sqldiff_%d", os.Getpid())
	_, err = db.ExecContext(ctx, `CREATE SCHEMA IF NOT EXISTS "`+name+`"`)
	require.NoError(t, err)
	t.Cleanup(func() {
		_, err := db.ExecContext(ctx, `DROP SCHEMA IF EXISTS "`+name+`" CASCADE`)
		require.NoError(t, err)
	})
	run(t, "postgres", &sqlBackend{db: db, dialect: sqlgen.PostgreSQL, schema: name, order: true})
}
