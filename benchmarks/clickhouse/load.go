package clickhouse

import (
	"bufio"
	"context"
	"crypto/md5"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

// LocalSuffix ends the name of the MergeTree table that holds one shard's
// rows of an entity: the Distributed table Order reads Order_local on
// every shard.
const LocalSuffix = "_local"

// The dates a ClickHouse 18.16 Date holds: days 0 (1970-01-01) to 49672
// (2105-12-31). Its date functions go wrong past early 2106, and a text
// date outside the range parses to 0000-00-00 without an error.
var (
	MinDate = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxDate = time.Date(2105, 12, 31, 0, 0, 0, 0, time.UTC)
)

const maxDay = 49672 // MaxDate in days since 1970-01-01

// ColumnType returns the ClickHouse type of an attribute's column:
//
//	integer   Nullable(Int64)
//	number    Nullable(Float64)
//	string    Nullable(String)
//	date      Nullable(Date)
//	datetime  Nullable(Int64), microseconds since 1970-01-01T00:00:00Z
//	boolean   Nullable(UInt8), 1 for true and 0 for false
//
// ClickHouse 18.16 has no DateTime64; its DateTime counts whole seconds.
func ColumnType(t schema.Type) string {
	switch t {
	case schema.Integer, schema.Datetime:
		return "Nullable(Int64)"
	case schema.Number:
		return "Nullable(Float64)"
	case schema.String:
		return "Nullable(String)"
	case schema.Date:
		return "Nullable(Date)"
	case schema.Boolean:
		return "Nullable(UInt8)"
	}
	return ""
}

// EntityLayout is where Load put one entity.
type EntityLayout struct {
	Entity string
	// Table is the Distributed table over every shard's Local table.
	Table string
	// Local is the MergeTree table on each shard.
	Local string
	// Path is the relationship path whose customer decides each row's
	// shard: nil for the customer entity, and for an entity with no path
	// to it (whose rows all go to shard 1).
	Path schema.Path
	// Rows counts the rows put on each shard, in shard order.
	Rows []int
	// Unlinked counts the rows that link to no customer along Path (a
	// null or dangling foreign key on the way): they are on shard 1.
	Unlinked int
}

// Layout is what Load created: the entities in schema order.
type Layout struct {
	Entities []EntityLayout
}

// Entity returns the layout of the named entity, or nil.
func (l *Layout) Entity(name string) *EntityLayout {
	for i := range l.Entities {
		if l.Entities[i].Entity == name {
			return &l.Entities[i]
		}
	}
	return nil
}

// Load reads the data directory dir (schema.json and its CSV or Parquet
// files, storage.Load) and loads it into the cluster, as LoadSnapshot
// does.
func Load(ctx context.Context, c *Cluster, dir string, tables map[string]string) (*Layout, error) {
	snap, err := storage.Load(ctx, dir, storage.Options{})
	if err != nil {
		return nil, err
	}
	defer snap.Release()
	return LoadSnapshot(ctx, c, snap, tables)
}

// ShardOf returns the shard (0-based) of a customer whose key, written as
// in a CSV file (storage.Column.Format), is key: the first 8 bytes of the
// MD5 of key, read big-endian, modulo the number of shards. For an
// integer or string key that is ClickHouse's
// halfMD5(toString(key)) % shards.
func ShardOf(key string, shards int) int {
	sum := md5.Sum([]byte(key))
	return int(binary.BigEndian.Uint64(sum[:8]) % uint64(shards))
}

// LoadSnapshot loads a snapshot into the cluster. For every entity it
// creates, in Cluster.Database on every shard (after dropping tables of
// those names):
//
//   - the local table Name+LocalSuffix, ENGINE = MergeTree() ORDER BY
//     tuple(), with one column per attribute, named as in schema.json, of
//     ColumnType's type;
//   - the table Name, ENGINE = Distributed(cluster, database, local)
//     over the same columns, which queries read.
//
// Name is the entity's name unless tables maps the entity to another.
// Each customer is put on shard ShardOf(key); the customer entity's
// Distributed table has that rule as its sharding key when the key is an
// integer or a string, so rows inserted through it land where Load puts
// them. Every other entity's row goes to the shard of the customer it
// links to along its first relationship path (multi-hop: an order line
// with its order's customer), and to shard 1 when it links to none (a
// null or dangling foreign key on the way, or no path at all). Their
// Distributed tables have no sharding key, so ClickHouse refuses inserts
// through them rather than put rows on another shard than their
// customer's.
//
// Values are sent in RowBinary, exact: floats by their bits, datetimes as
// microseconds, strings as bytes; null as NULL. A date outside MinDate to
// MaxDate is an error (ErrLoad). A Load that fails may leave tables
// partly filled.
func LoadSnapshot(ctx context.Context, c *Cluster, snap *storage.Snapshot, tables map[string]string) (*Layout, error) {
	sch := snap.Schema()
	names, err := tableNames(sch, tables)
	if err != nil {
		return nil, err
	}
	if len(c.Shards) == 0 {
		return nil, fmt.Errorf("%w: the cluster has no shards", ErrCluster)
	}
	db := c.database()
	for i := range c.Shards {
		// In the default database: a request naming one that does not
		// exist fails.
		s := c.Shard(i)
		s.Database = ""
		if err := s.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+QuoteIdent(db)); err != nil {
			return nil, err
		}
	}
	cust := sch.Customer()
	custShard, err := customerShards(snap, len(c.Shards))
	if err != nil {
		return nil, err
	}
	layout := &Layout{}
	for _, e := range sch.Entities {
		el := EntityLayout{Entity: e.Name, Table: names[e.Name], Local: names[e.Name] + LocalSuffix, Rows: make([]int, len(c.Shards))}
		t := snap.Table(e.Name)
		var shardOf func(row int) int
		if e.Name == cust.Name {
			shardOf = func(row int) int { return int(custShard[row]) }
		} else {
			var links *storage.Links
			if paths := sch.Paths(e.Name); len(paths) > 0 {
				el.Path = paths[0]
				links = snap.Links(e.Name, paths[0])
			}
			if links == nil {
				el.Path = nil
				el.Unlinked = t.NumRows
				shardOf = func(int) int { return 0 }
			} else {
				el.Unlinked = links.Broken
				shardOf = func(row int) int {
					if id := links.Customer[row]; id != storage.NoCustomer {
						return int(custShard[id])
					}
					return 0
				}
			}
		}
		if err := createTables(ctx, c, &e, el, e.Name == cust.Name); err != nil {
			return nil, err
		}
		if err := insertRows(ctx, c, t, el, shardOf, el.Rows); err != nil {
			return nil, err
		}
		layout.Entities = append(layout.Entities, el)
	}
	return layout, nil
}

// tableNames returns every entity's table name, checking that tables maps
// only entities and that no two tables (Distributed or local) share a
// name.
func tableNames(sch *schema.Schema, tables map[string]string) (map[string]string, error) {
	names := map[string]string{}
	for ent, name := range tables {
		if _, ok := sch.Entity(ent); !ok {
			return nil, fmt.Errorf("%w: the table map names entity %q, which the schema does not have (entities: %s)", ErrLoad, ent, strings.Join(sch.EntityNames(), ", "))
		}
		if name == "" {
			return nil, fmt.Errorf("%w: the table map gives entity %s an empty name", ErrLoad, ent)
		}
	}
	owner := map[string]string{}
	for _, e := range sch.Entities {
		name := e.Name
		if n, ok := tables[e.Name]; ok {
			name = n
		}
		names[e.Name] = name
		for _, t := range []string{name, name + LocalSuffix} {
			if other, ok := owner[t]; ok {
				return nil, fmt.Errorf("%w: entities %s and %s would both have a table named %s", ErrLoad, other, e.Name, t)
			}
			owner[t] = e.Name
		}
	}
	return names, nil
}

// customerShards returns every customer's shard, by customer id.
func customerShards(snap *storage.Snapshot, shards int) ([]uint8, error) {
	if shards > math.MaxUint8 {
		return nil, fmt.Errorf("%w: %d shards; at most %d", ErrLoad, shards, math.MaxUint8)
	}
	custs := snap.Customers()
	key := custs.Column(custs.Entity.Key)
	out := make([]uint8, custs.NumRows)
	for i := range out {
		out[i] = uint8(ShardOf(key.Format(i), shards))
	}
	return out, nil
}

func createTables(ctx context.Context, c *Cluster, e *schema.Entity, el EntityLayout, customer bool) error {
	db := QuoteIdent(c.database())
	var cols strings.Builder
	for i, a := range e.Attributes {
		if i > 0 {
			cols.WriteString(", ")
		}
		cols.WriteString(QuoteIdent(a.Name) + " " + ColumnType(a.Type))
	}
	if c.RowOrder != "" {
		if _, clash := e.Attribute(c.RowOrder); clash {
			return fmt.Errorf("%w: entity %s has an attribute %s, the name of the row order column", ErrLoad, e.Name, c.RowOrder)
		}
		cols.WriteString(", " + QuoteIdent(c.RowOrder) + " UInt64")
	}
	engine := "Distributed(" + Quote(c.name()) + ", " + Quote(c.database()) + ", " + Quote(el.Local)
	if key, _ := e.Attribute(e.Key); customer && (key.Type == schema.Integer || key.Type == schema.String) {
		engine += ", halfMD5(toString(assumeNotNull(" + QuoteIdent(key.Name) + ")))"
	}
	engine += ")"
	stmts := []string{
		"DROP TABLE IF EXISTS " + db + "." + QuoteIdent(el.Table),
		"DROP TABLE IF EXISTS " + db + "." + QuoteIdent(el.Local),
		"CREATE TABLE " + db + "." + QuoteIdent(el.Local) + " (" + cols.String() + ") ENGINE = MergeTree() ORDER BY tuple()",
		"CREATE TABLE " + db + "." + QuoteIdent(el.Table) + " (" + cols.String() + ") ENGINE = " + engine,
	}
	for i := range c.Shards {
		for _, s := range stmts {
			if err := c.Shard(i).Exec(ctx, s); err != nil {
				return fmt.Errorf("entity %s, shard %d: %w", e.Name, i+1, err)
			}
		}
	}
	return nil
}

// insertRows sends every row of t to its shard's local table, one
// streamed RowBinary INSERT per shard, all shards at once. It counts the
// rows per shard in counts.
func insertRows(ctx context.Context, c *Cluster, t *storage.Table, el EntityLayout, shardOf func(int) int, counts []int) error {
	encoders := make([]encoder, len(t.Columns))
	key := t.Column(t.Entity.Key)
	for i, col := range t.Columns {
		enc, err := newEncoder(el.Entity, col, key)
		if err != nil {
			return err
		}
		encoders[i] = enc
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := len(c.Shards)
	pipes := make([]*io.PipeWriter, n)
	writers := make([]*bufio.Writer, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sql := "INSERT INTO " + QuoteIdent(c.database()) + "." + QuoteIdent(el.Local) + " FORMAT RowBinary"
	for i := range n {
		pr, pw := io.Pipe()
		pipes[i], writers[i] = pw, bufio.NewWriterSize(pw, 256<<10)
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := c.Shard(i).Insert(ctx, sql, pr)
			// Unblock the encoder if the request ended early.
			pr.CloseWithError(errInsertEnded)
			if err != nil {
				errs[i] = fmt.Errorf("entity %s, shard %d: %w", el.Entity, i+1, err)
				cancel()
			}
		}()
	}
	encErr := func() error {
		var buf []byte
		for row := range t.NumRows {
			if row&0xffff == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			buf = buf[:0]
			for _, enc := range encoders {
				var err error
				if buf, err = enc(buf, row); err != nil {
					return err
				}
			}
			if c.RowOrder != "" {
				buf = binary.LittleEndian.AppendUint64(buf, uint64(row))
			}
			s := shardOf(row)
			counts[s]++
			if _, err := writers[s].Write(buf); err != nil {
				return err
			}
		}
		for _, w := range writers {
			if err := w.Flush(); err != nil {
				return err
			}
		}
		return nil
	}()
	for _, pw := range pipes {
		if encErr != nil {
			pw.CloseWithError(encErr)
		} else {
			pw.Close()
		}
	}
	wg.Wait()
	// The encoder's own error comes first: the inserts it aborted fail
	// with it.
	if encErr != nil && !errors.Is(encErr, errInsertEnded) {
		return fmt.Errorf("entity %s: %w", el.Entity, encErr)
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	if encErr != nil {
		return fmt.Errorf("entity %s: %w", el.Entity, encErr)
	}
	return nil
}

// errInsertEnded is what writing to an insert's pipe fails with once the
// request has ended.
var errInsertEnded = errors.New("the insert request ended")

// An encoder appends a row's value of one column in RowBinary: a byte 1
// for NULL, or a byte 0 and the value.
type encoder func(buf []byte, row int) ([]byte, error)

func newEncoder(entity string, col, key *storage.Column) (encoder, error) {
	null := func(buf []byte, data arrow.Array, row int) ([]byte, bool) {
		if data.IsNull(row) {
			return append(buf, 1), true
		}
		return append(buf, 0), false
	}
	switch a := col.Data.(type) {
	case *array.Int64:
		return func(buf []byte, row int) ([]byte, error) {
			buf, isNull := null(buf, a, row)
			if isNull {
				return buf, nil
			}
			return binary.LittleEndian.AppendUint64(buf, uint64(a.Value(row))), nil
		}, nil
	case *array.Timestamp:
		return func(buf []byte, row int) ([]byte, error) {
			buf, isNull := null(buf, a, row)
			if isNull {
				return buf, nil
			}
			return binary.LittleEndian.AppendUint64(buf, uint64(a.Value(row))), nil
		}, nil
	case *array.Float64:
		return func(buf []byte, row int) ([]byte, error) {
			buf, isNull := null(buf, a, row)
			if isNull {
				return buf, nil
			}
			return binary.LittleEndian.AppendUint64(buf, math.Float64bits(a.Value(row))), nil
		}, nil
	case *array.String:
		return func(buf []byte, row int) ([]byte, error) {
			buf, isNull := null(buf, a, row)
			if isNull {
				return buf, nil
			}
			s := a.Value(row)
			return append(binary.AppendUvarint(buf, uint64(len(s))), s...), nil
		}, nil
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		if !ok {
			break
		}
		return func(buf []byte, row int) ([]byte, error) {
			buf, isNull := null(buf, a, row)
			if isNull {
				return buf, nil
			}
			s := dict.Value(a.GetValueIndex(row))
			return append(binary.AppendUvarint(buf, uint64(len(s))), s...), nil
		}, nil
	case *array.Date32:
		return func(buf []byte, row int) ([]byte, error) {
			buf, isNull := null(buf, a, row)
			if isNull {
				return buf, nil
			}
			d := a.Value(row)
			if d < 0 || d > maxDay {
				return nil, fmt.Errorf("%w: %s.%s of the row with key %s: the date %s is outside what a ClickHouse 18.16 Date holds (%s to %s)",
					ErrLoad, entity, col.Attr.Name, key.Format(row), col.Format(row), MinDate.Format(time.DateOnly), MaxDate.Format(time.DateOnly))
			}
			return binary.LittleEndian.AppendUint16(buf, uint16(d)), nil
		}, nil
	case *array.Boolean:
		return func(buf []byte, row int) ([]byte, error) {
			buf, isNull := null(buf, a, row)
			if isNull {
				return buf, nil
			}
			if a.Value(row) {
				return append(buf, 1), nil
			}
			return append(buf, 0), nil
		}, nil
	}
	return nil, fmt.Errorf("%w: %s.%s: a column of Arrow type %s, which the storage package does not make", ErrLoad, entity, col.Attr.Name, col.Data.DataType())
}
