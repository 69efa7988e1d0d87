package demo

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"golang.org/x/sync/errgroup"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

// Format is the file format of a demo directory's data files.
type Format string

const (
	// CSV writes each entity's rows to <Entity>.csv (CustomerFile, ...),
	// as FORMAT.md's CSV files are written.
	CSV Format = "csv"
	// Parquet writes each entity's rows to <Entity>/<Entity>.parquet, a
	// folder per entity as warehouse tables are laid out (Spark reads the
	// folder, a Trino Hive table names it as its external location), with
	// the columns typed as storage.ArrowType maps the attribute types:
	// INT64, DOUBLE, UTF8 strings, DATE (INT32 days), INT64 timestamps in
	// microseconds adjusted to UTC, BOOLEAN. The rows are those of the CSV
	// files, in the same order.
	Parquet Format = "parquet"
)

// Formats returns the formats Write writes, the default first.
func Formats() []Format { return []Format{CSV, Parquet} }

// ParseFormat returns the format named name ("csv" or "parquet"); an
// empty name is CSV. Another name is an ErrOptions error listing them.
func ParseFormat(name string) (Format, error) {
	if name == "" {
		return CSV, nil
	}
	for _, f := range Formats() {
		if string(f) == name {
			return f, nil
		}
	}
	names := make([]string, 0, len(Formats()))
	for _, f := range Formats() {
		names = append(names, string(f))
	}
	return "", fmt.Errorf("%w: format must be one of %s, not %q", ErrOptions, strings.Join(names, ", "), name)
}

// DataFile returns the data file of the named entity of the demo schema
// in format f, relative to the directory and with "/" separators.
func DataFile(entity string, f Format) string {
	if f == Parquet {
		return entity + "/" + entity + ".parquet"
	}
	e, ok := Schema().Entity(entity)
	if !ok {
		return ""
	}
	return e.File
}

// SchemaFor returns the demo schema with the data files of format f.
func SchemaFor(f Format) *schema.Schema {
	s := Schema()
	for i := range s.Entities {
		s.Entities[i].File = DataFile(s.Entities[i].Name, f)
	}
	return s
}

// Parquet row groups: as many rows as the export's Parquet files hold at
// most (export.NewParquet), Snappy-compressed like them.
const parquetRowGroupRows = 64 << 10

// toParquet rewrites the CSV demo directory dir as a Parquet one: it loads
// the CSV files with the storage package, writes each entity's table to
// its Parquet file, then schema.json naming those, and removes the CSV
// files. It returns the Parquet files' total size.
func toParquet(ctx context.Context, dir string) (int64, error) {
	snap, err := storage.Load(ctx, dir, storage.Options{})
	if err != nil {
		return 0, err
	}
	defer snap.Release()
	// One entity per core.
	entities := snap.Schema().Entities
	sizes := make([]int64, len(entities))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(runtime.GOMAXPROCS(0))
	for i, e := range entities {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			name := DataFile(e.Name, Parquet)
			n, err := writeParquet(filepath.Join(dir, filepath.FromSlash(name)), snap.Table(e.Name))
			if err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			sizes[i] = n
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	var size int64
	for _, n := range sizes {
		size += n
	}
	if err := writeSchema(dir, Parquet); err != nil {
		return 0, err
	}
	return size, removeFiles(dir, CSV)
}

// writeSchema writes schema.json with the data files of format f.
func writeSchema(dir string, f Format) error {
	data, err := schemaJSON(SchemaFor(f))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, SchemaFile), data, 0o644)
}

// removeFiles removes the data files of format f from dir, and the folders
// they leave empty; a file that is not there is no error.
func removeFiles(dir string, f Format) error {
	for _, e := range Schema().Entities {
		name := DataFile(e.Name, f)
		if err := os.Remove(filepath.Join(dir, filepath.FromSlash(name))); err != nil && !errors.Is(err, iofs.ErrNotExist) {
			return err
		}
		if d := path.Dir(name); d != "." {
			// Only an empty folder is removed: one holding other files
			// stays.
			_ = os.Remove(filepath.Join(dir, filepath.FromSlash(d)))
		}
	}
	return nil
}

// writeParquet writes t's rows to a Parquet file at path, in the order of
// the entity's CSV file, and returns the file's size. The file appears
// whole: it is written beside and renamed.
func writeParquet(path string, t *storage.Table) (size int64, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	fields := make([]arrow.Field, len(t.Columns))
	for i, c := range t.Columns {
		fields[i] = arrow.Field{Name: c.Attr.Name, Type: storage.ArrowType(c.Attr.Type), Nullable: true}
	}
	sch := arrow.NewSchema(fields, nil)
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return 0, err
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmp)
		}
	}()
	props := parquet.NewWriterProperties(
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(parquetRowGroupRows),
	)
	fw, err := pqarrow.NewFileWriter(sch, f, props, pqarrow.NewArrowWriterProperties(pqarrow.WithStoreSchema()))
	if err != nil {
		return 0, err
	}
	order := fileOrder(t)
	mem := memory.DefaultAllocator
	for start := 0; start < len(order) || start == 0; start += parquetRowGroupRows {
		// An empty table still gets its columns: one empty row group.
		rows := order[start:min(start+parquetRowGroupRows, len(order))]
		rec, err := takeRows(mem, sch, t, rows)
		if err != nil {
			_ = fw.Close()
			return 0, err
		}
		err = fw.Write(rec)
		rec.Release()
		if err != nil {
			_ = fw.Close()
			return 0, err
		}
	}
	if err := fw.Close(); err != nil { // closes f too
		return 0, err
	}
	st, err := os.Stat(tmp)
	if err != nil {
		return 0, err
	}
	return st.Size(), os.Rename(tmp, path)
}

// fileOrder returns t's rows in the order of the entity's CSV file. The
// storage package clusters related rows by customer at load; the demo
// numbers every entity's keys in the order it writes the rows, zero-padded
// to one width (C0000001, O00000001, ...), so that order is the keys'
// byte order.
func fileOrder(t *storage.Table) []int {
	order := make([]int, t.NumRows)
	for i := range order {
		order[i] = i
	}
	key := t.Column(t.Entity.Key)
	keyOf := func(i int) string { return key.Format(i) }
	if a, ok := key.Data.(*array.String); ok {
		keyOf = a.Value // no copy
	}
	byKey := func(a, b int) int { return cmp.Compare(keyOf(a), keyOf(b)) }
	if !slices.IsSortedFunc(order, byKey) {
		slices.SortFunc(order, byKey)
	}
	return order
}

// takeRows returns a record of sch holding t's rows in the given order:
// every column in its storage type, a string dictionary decoded.
func takeRows(mem memory.Allocator, sch *arrow.Schema, t *storage.Table, rows []int) (arrow.RecordBatch, error) {
	b := array.NewRecordBuilder(mem, sch)
	defer b.Release()
	for i, c := range t.Columns {
		if err := appendRows(b.Field(i), c, rows); err != nil {
			return nil, fmt.Errorf("column %s: %w", c.Attr.Name, err)
		}
	}
	return b.NewRecordBatch(), nil
}

// appendRows appends column c's values at rows to the builder of its
// storage type.
func appendRows(fb array.Builder, c *storage.Column, rows []int) error {
	fb.Reserve(len(rows))
	switch a := c.Data.(type) {
	case *array.Int64:
		appendValues(fb.(*array.Int64Builder), a, rows, a.Value)
	case *array.Float64:
		appendValues(fb.(*array.Float64Builder), a, rows, a.Value)
	case *array.String:
		appendValues(fb.(*array.StringBuilder), a, rows, a.Value)
	case *array.Dictionary:
		dict, ok := a.Dictionary().(*array.String)
		if !ok {
			return fmt.Errorf("a dictionary of %s, not of strings", a.Dictionary().DataType())
		}
		appendValues(fb.(*array.StringBuilder), a, rows, func(i int) string { return dict.Value(a.GetValueIndex(i)) })
	case *array.Date32:
		appendValues(fb.(*array.Date32Builder), a, rows, a.Value)
	case *array.Timestamp:
		appendValues(fb.(*array.TimestampBuilder), a, rows, a.Value)
	case *array.Boolean:
		appendValues(fb.(*array.BooleanBuilder), a, rows, a.Value)
	default:
		return fmt.Errorf("an Arrow column of type %s, which the storage package does not make", c.Data.DataType())
	}
	return nil
}

// appendValues appends data's values at rows to b, a null as a null.
func appendValues[T any, B interface {
	Append(T)
	AppendNull()
}](b B, data arrow.Array, rows []int, value func(int) T) {
	for _, r := range rows {
		if data.IsNull(r) {
			b.AppendNull()
		} else {
			b.Append(value(r))
		}
	}
}
