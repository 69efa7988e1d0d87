package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// readParquet reads one entity from a Parquet file: only the attributes'
// columns, one row group at a time (the context is checked and progress
// reported between row groups), then normalized as FromTables does.
func readParquet(ctx context.Context, path string, e *schema.Entity, tooMany error, opts *Options) (*Table, *origin, error) {
	chunks, rows, err := readParquetChunks(ctx, path, e, tooMany, opts)
	if err != nil {
		return nil, nil, err
	}
	defer func() {
		for _, cs := range chunks {
			releaseArrays(cs)
		}
	}()
	org := &origin{name: e.File}
	src := arrowSource{
		schema:   arrowSchemaOf(e, chunks),
		rows:     rows,
		chunks:   func(i int) []arrow.Array { return chunks[i] },
		reencode: true,
	}
	t, err := tableFromArrow(ctx, opts.allocator(), e, org, src, tooMany)
	if err != nil {
		return nil, nil, err
	}
	return t, org, nil
}

// readParquetChunks returns the chunks of every attribute's column, in
// attribute order, and the row count. The chunks are the caller's.
func readParquetChunks(ctx context.Context, path string, e *schema.Entity, tooMany error, opts *Options) (_ [][]arrow.Array, rows int64, err error) {
	name := e.File
	fail := func(format string, args ...any) error {
		var l diag.List
		l.Add(name, ErrData, format, args...)
		return l
	}
	var chunks [][]arrow.Array
	defer func() {
		if err != nil {
			for _, cs := range chunks {
				releaseArrays(cs)
			}
		}
	}()
	// The Parquet decoder may panic on a corrupt file; that is bad input,
	// not a broken invariant of this package. Declared last, this runs
	// first, so the chunks read so far are then released.
	defer func() {
		if p := recover(); p != nil {
			err = fail("corrupt Parquet file: %v", p)
		}
	}()

	var size int64
	if st, serr := os.Stat(path); serr == nil {
		size = st.Size()
	}
	mem := opts.allocator()
	rdr, fr, err := openParquet(path, mem)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, 0, fmt.Errorf("load %s: %w", e.Name, err)
		}
		return nil, 0, fail("%v", err)
	}
	defer rdr.Close()
	sc, err := fr.Schema()
	if err != nil {
		return nil, 0, fail("cannot read the Parquet schema: %v", err)
	}

	var problems diag.List
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	leaves := make([]int, 0, len(e.Attributes))
	for _, a := range e.Attributes {
		idx := sc.FieldIndices(a.Name)
		switch {
		case len(idx) == 0:
			problems.AddSuggest(name, ErrData, a.Name, names, "missing column %s", a.Name)
		case len(idx) > 1:
			problems.Add(name, ErrData, "column %s appears %d times", a.Name, len(idx))
		case !fr.Manifest.Fields[idx[0]].IsLeaf():
			problems.Add(name, ErrData, "column %s has Arrow type %s, want %s (%s)", a.Name, sc.Field(idx[0]).Type, ArrowType(a.Type), a.Type)
		default:
			leaves = append(leaves, fr.Manifest.Fields[idx[0]].ColIndex)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, 0, err
	}

	chunks = make([][]arrow.Array, len(e.Attributes))
	groups := readRowGroups(ctx, path, mem, fr, rdr.NumRowGroups(), leaves, e)
	defer func() {
		// After a failure, the groups not taken yet are released.
		for g := range groups {
			g.release()
		}
	}()
	var bytesRead int64
	rg := 0
	for g := range groups {
		if g.err != nil {
			g.release()
			if ctx.Err() != nil {
				return nil, 0, fmt.Errorf("load %s: %w", name, ctx.Err())
			}
			return nil, 0, fail("row group %d: %v", rg, g.err)
		}
		for i := range chunks {
			chunks[i] = append(chunks[i], g.cols[i]...)
		}
		rows += g.rows
		if rows > maxRows {
			var l diag.List
			l.Add(name, tooMany, "more than %d rows", maxRows)
			return nil, 0, l
		}
		bytesRead += rdr.MetaData().RowGroup(rg).TotalCompressedSize()
		opts.progress(e.Name, rows, min(bytesRead, size), size)
		rg++
	}
	if err := ctx.Err(); err != nil {
		return nil, 0, fmt.Errorf("load %s: %w", name, err)
	}
	return chunks, rows, nil
}

// openParquet opens a Parquet file for reading as Arrow. pqarrow decodes
// the Arrow schema that Arrow writers store in the file's metadata, and a
// corrupt one makes it allocate without bound, which no recover catches:
// it is dropped. The Parquet types are all this package needs: strings are
// dictionary-encoded again as the CSV reader does, and every timestamp is
// UTC.
func openParquet(path string, mem memory.Allocator) (*file.Reader, *pqarrow.FileReader, error) {
	rdr, err := file.OpenParquetFile(path, false)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, nil, err
		}
		return nil, nil, fmt.Errorf("not a Parquet file: %v", err)
	}
	md := rdr.MetaData().FileMetaData
	kept := md.KeyValueMetadata[:0:0]
	for _, kv := range md.KeyValueMetadata {
		if kv != nil && kv.Key != "ARROW:schema" {
			kept = append(kept, kv)
		}
	}
	md.KeyValueMetadata = kept
	fr, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{BatchSize: batchRows}, mem)
	if err != nil {
		rdr.Close()
		return nil, nil, fmt.Errorf("cannot read the Parquet schema: %v", err)
	}
	return rdr, fr, nil
}

// rowGroup is one row group's chunks of the attributes' columns, in
// attribute order, or the error that reading it met.
type rowGroup struct {
	cols [][]arrow.Array
	rows int64
	err  error
}

func (g rowGroup) release() {
	for _, cs := range g.cols {
		releaseArrays(cs)
	}
}

// readRowGroups reads the row groups of a file on up to one goroutine per
// core, each with its own reader (fr for the first), and delivers them in
// order on the returned channel, which is closed after the last, or after
// the first that fails. A decoder panic on a corrupt file is that row
// group's error. The caller must drain the channel.
func readRowGroups(ctx context.Context, path string, mem memory.Allocator, fr *pqarrow.FileReader, n int, leaves []int, e *schema.Entity) <-chan rowGroup {
	ctx, cancel := context.WithCancel(ctx)
	slots := make([]chan rowGroup, n)
	for i := range slots {
		slots[i] = make(chan rowGroup, 1)
	}
	var next atomic.Int64
	read := func(fr *pqarrow.FileReader, rg int) (g rowGroup) {
		defer func() {
			if p := recover(); p != nil {
				g.release()
				g = rowGroup{err: fmt.Errorf("corrupt Parquet file: %v", p)}
			}
		}()
		if err := ctx.Err(); err != nil {
			return rowGroup{err: err}
		}
		tbl, err := fr.ReadRowGroups(ctx, leaves, []int{rg})
		if err != nil {
			return rowGroup{err: err}
		}
		defer tbl.Release()
		g.cols = make([][]arrow.Array, len(e.Attributes))
		for i, a := range e.Attributes {
			idx := tbl.Schema().FieldIndices(a.Name)
			if len(idx) != 1 {
				g.release()
				return rowGroup{err: fmt.Errorf("column %s not read", a.Name)}
			}
			for _, c := range tbl.Column(idx[0]).Data().Chunks() {
				c.Retain()
				g.cols[i] = append(g.cols[i], c)
			}
		}
		g.rows = tbl.NumRows()
		return g
	}
	work := func(fr *pqarrow.FileReader) {
		for {
			rg := int(next.Add(1) - 1)
			if rg >= n {
				return
			}
			slots[rg] <- read(fr, rg)
		}
	}
	var wg sync.WaitGroup
	wg.Go(func() { work(fr) })
	for range min(runtime.GOMAXPROCS(0), n) - 1 {
		wg.Go(func() {
			rdr, own, err := openParquet(path, mem)
			if err != nil {
				return // the other readers read every row group
			}
			defer rdr.Close()
			work(own)
		})
	}
	out := make(chan rowGroup)
	go func() {
		defer close(out)
		defer wg.Wait()
		defer cancel()
		failed := false
		for _, slot := range slots {
			g := <-slot
			if failed {
				g.release()
				continue
			}
			out <- g
			if g.err != nil {
				// Stop reading; the groups still in flight are released
				// above as they arrive.
				failed = true
				cancel()
			}
		}
	}()
	return out
}

// arrowSchemaOf names field i after attribute i, so that tableFromArrow
// finds each attribute's chunks at its own position.
func arrowSchemaOf(e *schema.Entity, chunks [][]arrow.Array) *arrow.Schema {
	fields := make([]arrow.Field, len(e.Attributes))
	for i, a := range e.Attributes {
		fields[i] = arrow.Field{Name: a.Name, Type: ArrowType(a.Type), Nullable: true}
		if len(chunks[i]) > 0 {
			fields[i].Type = chunks[i][0].DataType()
		}
	}
	return arrow.NewSchema(fields, nil)
}
