// Package sqlload loads a data directory into a SQLite database with the
// table layout the sqlgen package documents, for the tests that run
// generated SQL: one table per entity, named after it (or as tables
// says), one column per attribute, named as in schema.json, with the
// types
//
//	integer   INTEGER
//	number    REAL
//	string    TEXT
//	date      TEXT     YYYY-MM-DD
//	datetime  TEXT     RFC 3339 in UTC, fractional seconds when not zero
//	boolean   INTEGER  0 or 1
//
// and null as NULL: the values of a CSV data file, as storage reads and
// formats them (storage.Column.Format), so that the database holds exactly
// what the engine sees. Rows are inserted in the order of their CSV file,
// so that a table's rowid is its file's row order, as FORMAT.md's sums of
// numbers need.
//
//	db, _ := sql.Open("sqlite", ":memory:")
//	err := sqlload.Load(ctx, db, dir, nil)
package sqlload

import (
	"context"
	"database/sql"
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/sqlgen"
	"github.com/segmentkit/segmentkit/storage"
)

// Load reads the data directory dir with storage.Load and writes one table
// per entity into db, which must not have them yet. tables maps an entity
// to its table name (default: the entity's name). The caller registers the
// SQLite driver.
func Load(ctx context.Context, db *sql.DB, dir string, tables map[string]string) error {
	snap, err := storage.Load(ctx, dir, storage.Options{})
	if err != nil {
		return err
	}
	defer snap.Release()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it does nothing
	sch := snap.Schema()
	for i := range sch.Entities {
		e := &sch.Entities[i]
		name := e.Name
		if t, ok := tables[e.Name]; ok {
			name = t
		}
		order, err := fileOrder(dir, e, snap.Table(e.Name))
		if err != nil {
			return err
		}
		if err := writeTable(ctx, tx, name, snap.Table(e.Name), order); err != nil {
			return fmt.Errorf("table %s: %w", name, err)
		}
	}
	return tx.Commit()
}

// SQLType is the column type of the layout for an attribute type.
func SQLType(t schema.Type) string {
	switch t {
	case schema.Integer, schema.Boolean:
		return "INTEGER"
	case schema.Number:
		return "REAL"
	}
	return "TEXT"
}

// Value converts text, a value as a CSV data file writes it ("" for null),
// into the layout's value for an attribute of type t.
func Value(t schema.Type, text string) (any, error) {
	if text == "" && t != schema.String {
		return nil, nil
	}
	switch t {
	case schema.Integer:
		return strconv.ParseInt(text, 10, 64)
	case schema.Number:
		return strconv.ParseFloat(text, 64)
	case schema.Boolean:
		if text == "true" {
			return int64(1), nil
		}
		return int64(0), nil
	}
	return text, nil
}

func quote(name string) (string, error) { return sqlgen.SQLite.Ident(name) }

func writeTable(ctx context.Context, tx *sql.Tx, name string, t *storage.Table, order []int) error {
	var cols, marks []string
	for i, a := range t.Entity.Attributes {
		q, err := quote(a.Name)
		if err != nil {
			return err
		}
		cols = append(cols, q+" "+SQLType(a.Type))
		marks = append(marks, "?"+strconv.Itoa(i+1))
	}
	table, err := quote(name)
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, "CREATE TABLE "+table+" ("+strings.Join(cols, ", ")+")"); err != nil {
		return err
	}
	stmt, err := tx.PrepareContext(ctx, "INSERT INTO "+table+" VALUES ("+strings.Join(marks, ", ")+")")
	if err != nil {
		return err
	}
	defer stmt.Close()
	args := make([]any, len(t.Columns))
	for _, row := range order {
		for j, c := range t.Columns {
			// Format writes "" for a null, and a string may be empty.
			if c.Data.IsNull(row) {
				args[j] = nil
				continue
			}
			if args[j], err = Value(c.Attr.Type, c.Format(row)); err != nil {
				return err
			}
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return err
		}
	}
	return nil
}

// fileOrder returns the rows of t in the order of the entity's CSV file,
// found by key; storage keeps related rows clustered by customer. Other
// sources keep the snapshot's order.
func fileOrder(dir string, e *schema.Entity, t *storage.Table) ([]int, error) {
	order := make([]int, t.NumRows)
	for i := range order {
		order[i] = i
	}
	if !strings.HasSuffix(strings.ToLower(e.File), ".csv") {
		return order, nil
	}
	key := t.Column(e.Key)
	rowOf := make(map[string]int, t.NumRows)
	for i := range t.NumRows {
		rowOf[key.Format(i)] = i
	}
	f, err := os.Open(filepath.Join(dir, e.File))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", e.File, err)
	}
	at := -1
	for i, h := range header {
		if h == e.Key {
			at = i
		}
	}
	if at < 0 {
		return nil, fmt.Errorf("%s: no column %s", e.File, e.Key)
	}
	order = order[:0]
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.File, err)
		}
		// The key as storage formats it: integers and datetimes may be
		// written otherwise in the file.
		text := rec[at]
		if row, ok := rowOf[text]; ok {
			order = append(order, row)
			continue
		}
		row, ok := rowOf[canonical(key.Attr.Type, text)]
		if !ok {
			return nil, fmt.Errorf("%s: key %q not loaded", e.File, text)
		}
		order = append(order, row)
	}
	if len(order) != t.NumRows {
		return nil, fmt.Errorf("%s: %d rows in the file, %d loaded", e.File, len(order), t.NumRows)
	}
	return order, nil
}

// canonical rewrites a key as storage formats it, for the key types whose
// text may vary.
func canonical(t schema.Type, text string) string {
	if t == schema.Integer {
		if i, err := strconv.ParseInt(text, 10, 64); err == nil {
			return strconv.FormatInt(i, 10)
		}
	}
	return text
}

// Keys writes a table of one column of customer keys (as text, converted
// to the key type t), for a segment reference given as a table.
func Keys(ctx context.Context, db *sql.DB, table, column string, t schema.Type, keys []string) error {
	tq, err := quote(table)
	if err != nil {
		return err
	}
	cq, err := quote(column)
	if err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "CREATE TABLE "+tq+" ("+cq+" "+SQLType(t)+")"); err != nil {
		return err
	}
	for _, k := range keys {
		v, err := Value(t, k)
		if err != nil {
			return err
		}
		if _, err := db.ExecContext(ctx, "INSERT INTO "+tq+" VALUES (?1)", v); err != nil {
			return err
		}
	}
	return nil
}
