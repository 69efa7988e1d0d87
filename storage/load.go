package storage

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

func (o *Options) allocator() memory.Allocator {
	if o.Allocator == nil {
		return memory.DefaultAllocator
	}
	return o.Allocator
}

func (o *Options) progress(entity string, rows, bytesRead, bytesTotal int64) {
	if o.Progress != nil {
		o.Progress(entity, rows, bytesRead, bytesTotal)
	}
}

// loaded is an entity's table and where its rows came from.
type loaded struct {
	t   *Table
	org *origin
}

func releaseLoaded(ls []loaded) {
	for _, l := range ls {
		if l.t != nil {
			l.t.release()
		}
	}
}

// release releases the table's arrays.
func (t *Table) release() {
	for _, c := range t.Columns {
		if c != nil && c.Data != nil {
			c.Data.Release()
		}
	}
}

// Load reads the data directory dir: dir/schema.json (schema.Parse), then
// every entity's source, a .csv or .parquet file named relative to dir,
// as FORMAT.md section 1 describes. It then checks keys, resolves every
// relationship and every relationship path, and returns the snapshot.
// The schema's measures are definitions, kept as written: like the
// definitions of segments they are validated by the segment package
// (segment.MeasuresOf), whichever of Load, FromTables and FromRecords
// built the snapshot.
// String columns are dictionary-encoded when at most half their rows hold
// distinct values, whatever the source; Parquet columns are converted as
// FromTables converts Arrow columns.
//
// Related entities are clustered by customer (see Links.Sorted) as they
// load, not copied afterwards: every value is written to its clustered
// row as its batch of the file is converted, and the work is spread over
// every core (GOMAXPROCS), entities and columns side by side.
//
// Problems with the schema or the data come back as a diag.List (test
// with errors.Is for schema.ErrUnknownType, ErrData, ErrDuplicateKey,
// ErrNullKey, ErrTooManyCustomers, ...); a CSV file reports up to 20
// problems, each naming file, line and column. An unreadable file gives
// the os error, wrapped. Cancelling ctx stops the load within a batch of
// rows with an error wrapping ctx.Err().
//
// Arrow memory comes from opts.Allocator and belongs to the snapshot until
// Snapshot.Release; on error nothing stays allocated. Load may be called
// concurrently.
func Load(ctx context.Context, dir string, opts Options) (*Snapshot, error) {
	data, err := schema.ReadFile(filepath.Join(dir, "schema.json"))
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", dir, err)
	}
	sch, err := schema.Parse(data)
	if err != nil {
		return nil, err
	}
	var problems diag.List
	for i, e := range sch.Entities {
		at := fmt.Sprintf("entities[%d].source", i)
		switch ext := strings.ToLower(filepath.Ext(e.File)); {
		case e.File == "":
			problems.Add(at, ErrData, "entity %s has no source file", e.Name)
		case ext != ".csv" && ext != ".parquet":
			problems.Add(at, ErrData, "entity %s: source %q must be a .csv or .parquet file", e.Name, e.File)
		case !opts.AllowExternalSources && !insideDir(e.File):
			problems.Add(at, ErrData, "entity %s: source %q is outside the data directory; a source is a path inside it (storage.Options.AllowExternalSources allows others)", e.Name, e.File)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}

	return newLoader(ctx, dir, sch, &opts).run()
}

// insideDir reports whether a source, a path relative to the data
// directory (FORMAT.md section 1; a leading "/" is joined under the
// directory like any other), stays inside it: no ".." leads out.
func insideDir(source string) bool {
	return filepath.IsLocal(strings.TrimLeft(filepath.FromSlash(source), string(filepath.Separator)))
}

// tooManyErr is the sentinel for an entity with more rows than ids.
func tooManyErr(sch *schema.Schema, e *schema.Entity) error {
	if e.Name == sch.CustomerEntity {
		return ErrTooManyCustomers
	}
	return ErrData
}

// FromTables builds a snapshot from in-memory data: tables holds one
// arrow.Table per entity of sch, keyed by entity name. Each attribute is
// the column whose field has its name; other fields are ignored.
//
// A column of one chunk in the normalized type of Column is shared, not
// copied: the snapshot retains it. Other columns are concatenated and
// converted into buffers from opts.Allocator: Int8 to Int64 and Uint8 to
// Uint32 to Int64; Float32 to Float64; LargeString and StringView to
// String; dictionaries of strings are kept, their indexes converted to
// int32; Date64 to Date32; timestamps of any unit and zone to microseconds
// in UTC (a timestamp without a zone is taken as UTC). A value that does
// not survive the conversion (sub-microsecond nanoseconds, an overflow, a
// NaN or infinite number, invalid UTF-8) and any other Arrow type are
// ErrData problems naming the entity, the column and, for a type, the
// Arrow type found and the one expected.
//
// sch is validated (on a copy, since Validate prepares the relationship
// paths); Snapshot.Schema returns that validated copy. The caller keeps
// ownership of tables and may release them once FromTables returns.
// Errors, cancellation and memory are as for Load.
func FromTables(ctx context.Context, sch *schema.Schema, tables map[string]arrow.Table, opts Options) (*Snapshot, error) {
	return fromArrow(ctx, sch, func(name string) (arrowSource, bool) {
		t, ok := tables[name]
		if !ok || t == nil {
			return arrowSource{}, false
		}
		return arrowSource{
			schema: t.Schema(),
			rows:   t.NumRows(),
			chunks: func(i int) []arrow.Array { return t.Column(i).Data().Chunks() },
		}, true
	}, func() []string { return mapKeys(tables) }, &opts)
}

// FromRecords is FromTables for data held as one arrow.RecordBatch per
// entity: every column is a single chunk, shared without a copy when it
// has the normalized type.
func FromRecords(ctx context.Context, sch *schema.Schema, records map[string]arrow.RecordBatch, opts Options) (*Snapshot, error) {
	return fromArrow(ctx, sch, func(name string) (arrowSource, bool) {
		r, ok := records[name]
		if !ok || r == nil {
			return arrowSource{}, false
		}
		return arrowSource{
			schema: r.Schema(),
			rows:   r.NumRows(),
			chunks: func(i int) []arrow.Array { return []arrow.Array{r.Column(i)} },
		}, true
	}, func() []string { return mapKeys(records) }, &opts)
}

// mapKeys returns the keys of m, sorted so that problems come in a stable
// order.
func mapKeys[V any](m map[string]V) []string {
	return slices.Sorted(maps.Keys(m))
}

// arrowSource is an entity's in-memory data.
type arrowSource struct {
	schema *arrow.Schema
	rows   int64
	chunks func(field int) []arrow.Array
	// reencode builds string columns anew, dictionary-encoded when that
	// pays, instead of sharing them.
	reencode bool
}

func fromArrow(ctx context.Context, sch *schema.Schema, get func(string) (arrowSource, bool), names func() []string, opts *Options) (*Snapshot, error) {
	if sch == nil {
		return nil, fmt.Errorf("%w: nil schema", schema.ErrInvalid)
	}
	valid := *sch
	if err := valid.Validate(); err != nil {
		return nil, err
	}
	sch = &valid
	var problems diag.List
	for _, name := range names() {
		if _, ok := sch.Entity(name); !ok {
			problems.AddSuggest(name, ErrData, name, sch.EntityNames(), "no entity %s in the schema", name)
		}
	}
	for _, e := range sch.Entities {
		if _, ok := get(e.Name); !ok {
			problems.Add(e.Name, ErrData, "no data for entity %s", e.Name)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	mem := opts.allocator()
	tables := make([]loaded, 0, len(sch.Entities))
	for i := range sch.Entities {
		e := &sch.Entities[i]
		src, _ := get(e.Name)
		org := &origin{name: e.Name}
		t, err := tableFromArrow(ctx, mem, e, org, src, tooManyErr(sch, e))
		if err != nil {
			releaseLoaded(tables)
			return nil, err
		}
		opts.progress(e.Name, int64(t.NumRows), 0, 0)
		tables = append(tables, loaded{t: t, org: org})
	}
	return build(ctx, sch, tables, opts, opts.Cluster)
}

// tableFromArrow normalizes the columns of one entity.
func tableFromArrow(ctx context.Context, mem memory.Allocator, e *schema.Entity, org *origin, src arrowSource, tooMany error) (_ *Table, err error) {
	if src.rows > maxRows {
		var l diag.List
		l.Add(org.name, tooMany, "%d rows, more than %d", src.rows, maxRows)
		return nil, l
	}
	var problems diag.List
	fields := make([]int, len(e.Attributes))
	names := make([]string, src.schema.NumFields())
	for i, f := range src.schema.Fields() {
		names[i] = f.Name
	}
	for i, a := range e.Attributes {
		switch idx := src.schema.FieldIndices(a.Name); len(idx) {
		case 0:
			problems.AddSuggest(org.name, ErrData, a.Name, names, "missing column %s", a.Name)
		case 1:
			fields[i] = idx[0]
		default:
			problems.Add(org.name, ErrData, "column %s appears %d times", a.Name, len(idx))
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	t := &Table{Entity: e, NumRows: int(src.rows), Columns: make([]*Column, len(e.Attributes))}
	defer func() {
		if err != nil {
			t.release()
		}
	}()
	for i, a := range e.Attributes {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("load %s: %w", e.Name, err)
		}
		arr, err := normalize(ctx, mem, org, a, src.chunks(fields[i]), src.reencode)
		if err != nil {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return nil, fmt.Errorf("load %s: %w", e.Name, err)
			}
			return nil, err
		}
		arr = withValueBuffer(arr)
		t.Columns[i] = &Column{Attr: a, Data: arr}
		if arr.Len() != t.NumRows {
			var l diag.List
			l.Add(org.name, ErrData, "column %s has %d rows, the table %d", a.Name, arr.Len(), t.NumRows)
			return nil, l
		}
	}
	return t, nil
}

// build checks the keys of every table, resolves relationships and paths,
// and assembles the snapshot. It owns tables: on error it releases them.
func build(ctx context.Context, sch *schema.Schema, tables []loaded, opts *Options, cluster bool) (_ *Snapshot, err error) {
	defer func() {
		if err != nil {
			releaseLoaded(tables)
		}
	}()
	s := &Snapshot{
		schema:  sch,
		tables:  make(map[string]*Table, len(tables)),
		links:   map[string][]*Links{},
		entries: make([]*Table, 0, len(tables)),
	}
	keys := make(map[string]*keyIndex, len(tables))
	// Every table was read by readCSV, readParquetChunks or tableFromArrow,
	// each of which rejects more than maxRows rows.
	for _, l := range tables {
		ki, err := buildKeyIndex(ctx, l.t.Column(l.t.Entity.Key), l.org)
		if err != nil {
			return nil, err
		}
		keys[l.t.Entity.Name] = ki
		s.tables[l.t.Entity.Name] = l.t
		s.entries = append(s.entries, l.t)
	}
	cust, ok := s.tables[sch.CustomerEntity]
	if !ok {
		return nil, fmt.Errorf("BUG: no table for the customer entity %s", sch.CustomerEntity)
	}
	s.customers = cust
	s.keys = keys[sch.CustomerEntity]

	targets := make(map[string][]int32, len(sch.Relationships))
	for _, r := range sch.Relationships {
		from := s.tables[r.From.Entity]
		to := keys[r.To.Entity]
		if from == nil || to == nil {
			return nil, fmt.Errorf("BUG: relationship %s between unloaded entities", r.Name)
		}
		target, null, dangling, err := resolve(ctx, from.Column(r.From.Attribute), to)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", r.Name, err)
		}
		targets[r.Name] = target
		s.reports = append(s.reports, LinkReport{Relationship: r.Name, Null: null, Dangling: dangling})
	}
	lk := &linker{ctx: ctx, sch: sch, targets: targets, numCustomers: cust.NumRows, links: s.links}
	for _, e := range sch.Entities {
		for _, p := range sch.Paths(e.Name) {
			if _, err := lk.linksFor(e.Name, p); err != nil {
				return nil, fmt.Errorf("load %s: %w", e.Name, err)
			}
		}
	}
	if cluster {
		if err := s.cluster(ctx, opts.allocator()); err != nil {
			return nil, err
		}
	}
	s.makeDictionaries()
	s.memBytes = s.computeMemory()
	return s, nil
}

// makeDictionaries makes the values array of every dictionary column: an
// Arrow dictionary array makes it on the first call to Dictionary and
// keeps it, a write that readers sharing the snapshot would race on.
// Made here, before the snapshot is shared, Dictionary only reads.
func (s *Snapshot) makeDictionaries() {
	for _, t := range s.entries {
		for _, c := range t.Columns {
			if d, ok := c.Data.(*array.Dictionary); ok {
				d.Dictionary()
			}
		}
	}
}
