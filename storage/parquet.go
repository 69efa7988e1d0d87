package storage

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/metadata"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// parquetSource reads one entity from a Parquet file, a column at a time:
// each scan decodes one attribute's column chunks in row group order, in
// batches of batchRows rows whose buffers go back to the load's scratch
// pool as soon as they are placed. String columns whose every column chunk
// is dictionary-encoded are read with their dictionaries, so that a value
// is converted once per dictionary entry rather than once per row.
//
// Scans of different attributes may run concurrently: they share the file
// reader, which reads with ReadAt.
type parquetSource struct {
	name   string // the file as the schema names it, for messages
	entity string
	rdr    *file.Reader
	fr     *pqarrow.FileReader
	fields []int // per attribute: its field in fr.Manifest
	leaves []int // per attribute: its leaf column
	// byteArrays tells, per attribute, a flat column of strings, which
	// scanBytes reads; dictPages one whose every column chunk is
	// dictionary-encoded too, which readDictGroup reads.
	byteArrays, dictPages []bool
	// typeErr holds, per attribute, a *typeError when its column's Arrow
	// type cannot hold its values. The column is still decoded: a
	// corrupt row group is reported before a type.
	typeErr []error
	groups  []int64 // the rows of every row group
	rows    int
	size    int64 // of the file, for progress

	progress func(rows, bytesRead int64) // nil for no reports
	mu       sync.Mutex
	seen     [][]bool // per attribute and row group: decoded once
	columns  []int    // per row group: the attributes decoded once
	rowsRead int64
	read     int64
}

// decodeError is a row group that could not be decoded.
type decodeError struct {
	group int
	err   error
}

func (e *decodeError) Error() string { return fmt.Sprintf("row group %d: %v", e.group, e.err) }

func (e *decodeError) Unwrap() error { return e.err }

// openParquetSource opens the entity's Parquet file and checks its
// columns: every attribute's, once, as a leaf. Problems come as a
// diag.List naming the file; an unreadable file gives the os error.
func openParquetSource(path string, e *schema.Entity, tooMany error, scratch memory.Allocator) (_ *parquetSource, err error) {
	name := e.File
	fail := func(format string, args ...any) error {
		var l diag.List
		l.Add(name, ErrData, format, args...)
		return l
	}
	// The Parquet decoder may panic on a corrupt file; that is bad input,
	// not a broken invariant of this package.
	defer func() {
		if p := recover(); p != nil {
			err = fail("corrupt Parquet file: %v", p)
		}
	}()
	s := &parquetSource{name: name, entity: e.Name}
	if st, serr := os.Stat(path); serr == nil {
		s.size = st.Size()
	}
	props := parquet.NewReaderProperties(scratch)
	// Column chunks are read a buffer at a time rather than whole, into
	// memory that is reused.
	props.BufferedStreamEnabled = true
	props.BufferSize = 1 << 17
	rdr, err := file.OpenParquetFile(path, false, file.WithReadProps(props))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) {
			return nil, fmt.Errorf("load %s: %w", e.Name, err)
		}
		return nil, fail("not a Parquet file: %v", err)
	}
	defer func() {
		if err != nil {
			rdr.Close()
		}
	}()
	md := rdr.MetaData()
	// pqarrow decodes the Arrow schema that Arrow writers store in the
	// file's metadata, and a corrupt one makes it allocate without bound,
	// which no recover catches: it is dropped. The Parquet types are all
	// this package needs: strings are dictionary-encoded again as the CSV
	// reader does, and every timestamp is UTC.
	kept := md.FileMetaData.KeyValueMetadata[:0:0]
	for _, kv := range md.FileMetaData.KeyValueMetadata {
		if kv != nil && kv.Key != "ARROW:schema" {
			kept = append(kept, kv)
		}
	}
	md.FileMetaData.KeyValueMetadata = kept

	plain, err := pqarrow.NewFileReader(rdr, pqarrow.ArrowReadProperties{}, scratch)
	if err != nil {
		return nil, fail("cannot read the Parquet schema: %v", err)
	}
	sc, err := plain.Schema()
	if err != nil {
		return nil, fail("cannot read the Parquet schema: %v", err)
	}
	var problems diag.List
	names := make([]string, sc.NumFields())
	for i, f := range sc.Fields() {
		names[i] = f.Name
	}
	for _, a := range e.Attributes {
		idx := sc.FieldIndices(a.Name)
		switch {
		case len(idx) == 0:
			problems.AddSuggest(name, ErrData, a.Name, names, "missing column %s", a.Name)
		case len(idx) > 1:
			problems.Add(name, ErrData, "column %s appears %d times", a.Name, len(idx))
		case !plain.Manifest.Fields[idx[0]].IsLeaf():
			problems.Add(name, ErrData, "column %s has Arrow type %s, want %s (%s)", a.Name, sc.Field(idx[0]).Type, ArrowType(a.Type), a.Type)
		default:
			s.fields = append(s.fields, idx[0])
			s.leaves = append(s.leaves, plain.Manifest.Fields[idx[0]].ColIndex)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	if md.NumRows > maxRows {
		var l diag.List
		l.Add(name, tooMany, "more than %d rows", maxRows)
		return nil, l
	}
	if md.NumRows < 0 {
		return nil, fail("the file's metadata gives %d rows (is the file damaged?)", md.NumRows)
	}
	s.rows = int(md.NumRows)
	s.groups = make([]int64, rdr.NumRowGroups())
	var sum int64
	for g := range s.groups {
		rg := md.RowGroup(g)
		n := rg.NumRows()
		if n < 0 || n > md.NumRows-sum {
			return nil, fail("row group %d gives %d rows, beyond the file's %d (is the file damaged?)", g, n, md.NumRows)
		}
		s.groups[g] = n
		sum += n
		// A codec the reader does not know fails its column chunk after
		// the reader allocated its buffers, which it then does not
		// release (arrow-go 18.8): refused here, before any is read.
		for i, leaf := range s.leaves {
			cc, err := rg.ColumnChunk(leaf)
			if err != nil {
				return nil, fail("row group %d, column %s: %v (is the file damaged?)", g, e.Attributes[i].Name, err)
			}
			if _, err := compress.GetCodec(cc.Compression()); err != nil {
				return nil, fail("row group %d, column %s: compression codec %s, which the reader does not know (is the file damaged?)", g, e.Attributes[i].Name, cc.Compression())
			}
		}
	}
	if sum != md.NumRows {
		return nil, fail("the row groups hold %d rows, the file's metadata %d (is the file damaged?)", sum, md.NumRows)
	}

	readProps := pqarrow.ArrowReadProperties{}
	s.typeErr = make([]error, len(e.Attributes))
	s.byteArrays = make([]bool, len(e.Attributes))
	s.dictPages = make([]bool, len(e.Attributes))
	for i, a := range e.Attributes {
		dt := sc.Field(s.fields[i]).Type
		if !convertible(a.Type, dt) {
			s.typeErr[i] = &typeError{found: dt, want: ArrowType(a.Type)}
			continue
		}
		dict := a.Type == schema.String && dictionaryEncoded(md, s.leaves[i])
		if dict {
			readProps.SetReadDict(s.leaves[i], true)
		}
		s.byteArrays[i] = a.Type == schema.String && dt.ID() == arrow.STRING && md.Schema.Column(s.leaves[i]).MaxRepetitionLevel() == 0
		s.dictPages[i] = s.byteArrays[i] && dict
	}
	if s.fr, err = pqarrow.NewFileReader(rdr, readProps, scratch); err != nil {
		return nil, fail("cannot read the Parquet schema: %v", err)
	}
	s.rdr = rdr
	s.seen = make([][]bool, len(e.Attributes))
	for i := range s.seen {
		s.seen[i] = make([]bool, len(s.groups))
	}
	s.columns = make([]int, len(s.groups))
	return s, nil
}

// dictionaryEncoded reports whether every column chunk of the leaf column
// is a BYTE_ARRAY chunk whose data pages all use its dictionary, as the
// chunks' encoding statistics tell: such a column is read with its
// dictionaries. A chunk that falls back to plain pages would make the
// reader hash each of their values into a dictionary of its own.
func dictionaryEncoded(md *metadata.FileMetaData, leaf int) bool {
	if md.NumRowGroups() == 0 {
		return false
	}
	for g := range md.NumRowGroups() {
		cc, err := md.RowGroup(g).ColumnChunk(leaf)
		if err != nil || cc.Type() != parquet.Types.ByteArray || !cc.HasDictionaryPage() {
			return false
		}
		stats := cc.EncodingStats()
		if len(stats) == 0 {
			return false
		}
		for _, st := range stats {
			// Page types 0 and 3 are the data pages of versions 1 and 2.
			if pt := int32(st.PageType); (pt == 0 || pt == 3) &&
				st.Encoding != parquet.Encodings.RLEDict && st.Encoding != parquet.Encodings.PlainDict {
				return false
			}
		}
	}
	return true
}

func (s *parquetSource) numRows() int { return s.rows }

// columnError is the type problem of attribute i, if any.
func (s *parquetSource) columnError(i int) error { return s.typeErr[i] }

// scan decodes attribute i's column and calls fn with its chunks in order:
// first is the row of the file that a chunk starts at; extends reports
// that a dictionary chunk's dictionary begins with the previous chunk's
// (later batches of one row group). The chunks are valid during the call
// only. A row group that cannot be decoded is a *decodeError; a cancelled
// ctx stops the scan between batches.
func (s *parquetSource) scan(ctx context.Context, i int, fn func(c arrow.Array, first int, extends bool) error) error {
	first := 0
	for g, n := range s.groups {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.scanGroup(ctx, i, g, first, fn); err != nil {
			return err
		}
		s.decoded(i, g)
		first += int(n)
	}
	return nil
}

// scanGroup is scan for row group g, whose first row is first.
func (s *parquetSource) scanGroup(ctx context.Context, i, g, first int, fn func(arrow.Array, int, bool) error) (err error) {
	// A decoder panic on a corrupt file is the row group's error, with
	// what it had allocated left to the collector.
	defer func() {
		if p := recover(); p != nil {
			err = &decodeError{group: g, err: fmt.Errorf("corrupt Parquet file: %v", p)}
		}
	}()
	cr, err := s.fr.GetFieldReader(ctx, s.fields[i], map[int]bool{s.leaves[i]: true}, []int{g})
	if err != nil {
		return &decodeError{group: g, err: err}
	}
	if cr == nil {
		return &decodeError{group: g, err: errors.New("column not read")}
	}
	defer cr.Release()
	want := int(s.groups[g])
	row := first
	extends := false
	for row < first+want {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := cr.NextBatch(int64(min(batchRows, first+want-row)))
		if err != nil {
			return &decodeError{group: g, err: err}
		}
		if batch.Len() == 0 {
			batch.Release()
			break
		}
		for _, c := range batch.Chunks() {
			if err := checkIndices(c); err != nil {
				batch.Release()
				return &decodeError{group: g, err: err}
			}
			if err := fn(c, row, extends); err != nil {
				batch.Release()
				return err
			}
			row += c.Len()
			extends = true
		}
		batch.Release()
	}
	if row != first+want {
		return &decodeError{group: g, err: fmt.Errorf("%d rows decoded of %d", row-first, want)}
	}
	return nil
}

// scanBytes is scan for attribute i, a string column: fn gets the rows
// [first, first+rows) as the file holds them, defs their definition
// levels (nil for a column without nulls: every row valid) and vals the
// values of the valid rows in order. Nothing is copied: a value may point
// into the page, valid during the call only. A dictionary-encoded
// column's values point into its dictionary, so that the same value
// comes at the same address throughout a row group.
func (s *parquetSource) scanBytes(ctx context.Context, i int, fn func(vals []parquet.ByteArray, defs []int16, maxDef int16, first, rows int) error) error {
	vals := make([]parquet.ByteArray, batchRows)
	defs := make([]int16, batchRows)
	maxDef := s.rdr.MetaData().Schema.Column(s.leaves[i]).MaxDefinitionLevel()
	first := 0
	for g, n := range s.groups {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.scanGroupBytes(ctx, i, g, first, int(n), vals, defs, maxDef, fn); err != nil {
			return err
		}
		s.decoded(i, g)
		first += int(n)
	}
	return nil
}

func (s *parquetSource) scanGroupBytes(ctx context.Context, i, g, first, n int, vals []parquet.ByteArray, defs []int16, maxDef int16, fn func([]parquet.ByteArray, []int16, int16, int, int) error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &decodeError{group: g, err: fmt.Errorf("corrupt Parquet file: %v", p)}
		}
	}()
	cr, err := s.rdr.RowGroup(g).Column(s.leaves[i])
	if err != nil {
		return &decodeError{group: g, err: err}
	}
	defer cr.Close()
	br, ok := cr.(*file.ByteArrayColumnChunkReader)
	if !ok {
		return &decodeError{group: g, err: fmt.Errorf("column of physical type %s, not BYTE_ARRAY", cr.Type())}
	}
	var levels []int16
	if maxDef > 0 {
		levels = defs
	}
	for row := first; row < first+n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		// One page at a time: the values point into it.
		rows, read, err := br.ReadBatchInPage(int64(min(batchRows, first+n-row)), vals, levels, nil)
		if err != nil {
			return &decodeError{group: g, err: err}
		}
		if rows == 0 {
			if err := br.Err(); err != nil {
				return &decodeError{group: g, err: err}
			}
			return &decodeError{group: g, err: fmt.Errorf("%d rows decoded of %d", row-first, n)}
		}
		var d []int16
		if levels != nil {
			d = levels[:rows]
		} else if read != int(rows) {
			return &decodeError{group: g, err: fmt.Errorf("%d values for %d rows", read, rows)}
		}
		if err := fn(vals[:read], d, maxDef, row, int(rows)); err != nil {
			return err
		}
		row += int(rows)
	}
	return nil
}

// checkIndices checks that every index of a dictionary chunk is inside
// its dictionary: the reader takes a corrupt dictionary page's indexes as
// they come.
func checkIndices(c arrow.Array) error {
	d, ok := c.(*array.Dictionary)
	if !ok {
		return nil
	}
	idx, ok := d.Indices().(*array.Int32)
	if !ok {
		return nil
	}
	size := int32(d.Dictionary().Len())
	valid := idx.NullBitmapBytes()
	off := idx.Data().Offset()
	for i, j := range idx.Int32Values() {
		if uint32(j) >= uint32(size) && (valid == nil || bitutil.BitIsSet(valid, off+i)) {
			return fmt.Errorf("dictionary index %d of row %d is outside the dictionary of %d values", j, i, size)
		}
	}
	return nil
}

// decoded counts row group g of attribute i as read, the first time, for
// the progress reports.
func (s *parquetSource) decoded(i, g int) {
	if s.progress == nil {
		return
	}
	s.mu.Lock()
	if s.seen[i][g] {
		s.mu.Unlock()
		return
	}
	s.seen[i][g] = true
	if cc, err := s.rdr.MetaData().RowGroup(g).ColumnChunk(s.leaves[i]); err == nil {
		s.read += cc.TotalCompressedSize()
	}
	s.columns[g]++
	if s.columns[g] == len(s.seen) {
		s.rowsRead += s.groups[g]
	}
	rows, read := s.rowsRead, min(s.read, s.size)
	s.mu.Unlock()
	s.progress(rows, read)
}

func (s *parquetSource) close() { s.rdr.Close() }
