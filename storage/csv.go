package storage

import (
	"bufio"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// maxProblems is how many problems a data file may report before reading
// stops: enough to show a pattern, few enough to stay readable.
const maxProblems = 20

// maxRows bounds the rows of an entity: row indexes and customer ids are
// int32 in Links (NoCustomer is -1).
const maxRows = 1<<31 - 1

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// The sizes a CSV file's fields and records may have (docs/limits.md). A
// record, the text of one row with its separators and quotes, may span
// lines (a quoted field holds line breaks). Beyond them the load stops with
// ErrLimit, naming the line (and for a field its column), having read no
// more than a record's limit and a read buffer past the record's start, so
// that an endless line (a device that never ends, a file of zeros) fails
// at once in bounded memory.
const (
	// MaxFieldBytes is the longest field of a CSV record, in bytes.
	MaxFieldBytes = 1 << 20
	// MaxRecordBytes is the longest record of a CSV file, in bytes.
	MaxRecordBytes = 16 << 20
)

// csvReadAhead is the read buffer of a CSV file, which the reader may
// have read past where the CSV parser is.
const csvReadAhead = 1 << 16

// csvReserveBytes bounds what the columns of a CSV file reserve for a
// batch of rows before they hold any.
const csvReserveBytes = 64 << 20

// errRecordLimit is what csvGuard returns past a record's limit.
var errRecordLimit = errors.New("record too long")

// csvGuard reads a CSV file for the CSV parser, and lets it read no
// further than limit bytes (which the caller moves on after each record)
// and no more after ctx is cancelled: every read of the file, a buffer of
// csvReadAhead bytes, checks both.
type csvGuard struct {
	ctx   context.Context
	r     io.Reader
	read  int64 // bytes read from r
	limit int64 // read may not pass it
}

func (g *csvGuard) Read(p []byte) (int, error) {
	if err := g.ctx.Err(); err != nil {
		return 0, err
	}
	if g.read >= g.limit {
		return 0, errRecordLimit
	}
	if rest := g.limit - g.read; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.r.Read(p)
	g.read += int64(n)
	return n, err
}

// csvColumn is a schema attribute read from a CSV column.
type csvColumn struct {
	attr  schema.Attribute
	field int // index in the CSV record
	b     columnBuilder
}

// csvSource is one entity read from a CSV file: every attribute's values,
// parsed and checked, as chunks of batchRows rows in the normalized Arrow
// types (strings plain), waiting to be placed in their columns.
type csvSource struct {
	chunks [][]arrow.Array // per attribute, in file order
	rows   int
	// headerEnd is the offset of the first byte after the header row (and
	// a byte order mark before it).
	headerEnd int64
}

func (s *csvSource) numRows() int { return s.rows }

// columnError is nil: every value was checked as it was parsed.
func (s *csvSource) columnError(int) error { return nil }

// scan calls fn with attribute i's chunks in order. The chunks stay valid
// until drop.
func (s *csvSource) scan(ctx context.Context, i int, fn func(c arrow.Array, first int, extends bool) error) error {
	first := 0
	for _, c := range s.chunks[i] {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(c, first, false); err != nil {
			return err
		}
		first += c.Len()
	}
	return nil
}

// drop releases attribute i's chunks, once they are placed.
func (s *csvSource) drop(i int) {
	releaseArrays(s.chunks[i])
	s.chunks[i] = nil
}

func (s *csvSource) close() {
	for i := range s.chunks {
		s.drop(i)
	}
}

// readCSV reads one entity from CSV text. name is the file as the user
// knows it ("Order.csv"), used in messages; shift is the number of lines
// of the file between the header and the rest of r that r leaves out (0
// but for the new rows of a grown file, Reload), added to the line
// numbers after the header; size is the input's length in bytes, or 0
// when unknown; tooMany is the sentinel for more rows than maxRows. The
// chunks' buffers come from mem and belong to the caller, who closes the
// source; progress, if not nil, is called after every batch of rows. On
// error nothing stays allocated.
func readCSV(ctx context.Context, r io.Reader, size int64, name string, shift int, ent *schema.Entity, tooMany error, mem memory.Allocator, progress func(rows, bytesRead, bytesTotal int64)) (_ *csvSource, _ *origin, err error) {
	guard := &csvGuard{ctx: ctx, r: r, limit: MaxRecordBytes + csvReadAhead}
	br := bufio.NewReaderSize(guard, csvReadAhead)
	var skipped int64
	if head, _ := br.Peek(len(utf8BOM)); string(head) == string(utf8BOM) {
		_, _ = br.Discard(len(utf8BOM))
		skipped = int64(len(utf8BOM))
	}
	cr := csv.NewReader(br)
	cr.ReuseRecord = true
	cr.LazyQuotes = false
	cr.FieldsPerRecord = 0 // the header fixes the count

	var problems diag.List
	// tooLong records a record beyond MaxRecordBytes starting at line (the
	// first after the record before it).
	tooLong := func(line int) {
		if line > 1 {
			line += shift // a record after the header
		}
		problems.Add(fmt.Sprintf("%s:%d", name, line), ErrLimit,
			"a record longer than %s bytes (storage.MaxRecordBytes) starts here; reading stopped", exact.FormatCount(MaxRecordBytes))
	}
	// done moves the guard's limit past the record just read, which began
	// at start (an offset of the parser), and reports false for a record
	// beyond MaxRecordBytes.
	done := func(start int64) bool {
		end := cr.InputOffset()
		guard.limit = skipped + end + MaxRecordBytes + csvReadAhead
		return end-start <= MaxRecordBytes
	}
	header, err := cr.Read()
	switch {
	case err == io.EOF:
		problems.Add(name, ErrData, "empty file: no header row")
		return nil, nil, problems
	case errors.Is(err, errRecordLimit) || err == nil && !done(0):
		tooLong(1)
		return nil, nil, problems
	case err != nil:
		if !addCSVError(&problems, name, 0, err) {
			return nil, nil, fmt.Errorf("load %s: %w", name, err)
		}
		return nil, nil, problems
	}

	// The reader reuses its record's slice: the header's names are kept.
	header = slices.Clone(header)
	cols, err := mapHeader(name, ent, header)
	if err != nil {
		return nil, nil, err
	}
	// Each column reserves a batch of rows, but no more than a share of
	// csvReserveBytes between them: a wide entity's thousands of columns
	// would otherwise reserve gigabytes for a file of a few rows (10,000
	// columns of 8-byte values, 5 GiB). A column that needs more grows.
	reserve := min(batchRows, max(256, csvReserveBytes/8/max(1, len(cols))))
	src := &csvSource{chunks: make([][]arrow.Array, len(ent.Attributes)), headerEnd: skipped + cr.InputOffset()}
	for i := range cols {
		cols[i].b, err = newColumnBuilder(mem, cols[i].attr.Type)
		if err != nil {
			releaseBuilders(cols)
			return nil, nil, err
		}
		cols[i].b.reserve(reserve)
	}
	defer func() {
		releaseBuilders(cols)
		if err != nil {
			src.close()
		}
	}()
	// cut ends a chunk of every column.
	cut := func() {
		for i := range cols {
			c := &cols[i]
			at := ent.AttributeIndex(c.attr.Name)
			src.chunks[at] = append(src.chunks[at], c.b.finish())
			c.b.reserve(reserve)
		}
	}

	org := &origin{name: name, csv: true}
	rows := 0
	stopped := false
	next := 2 // the line the next record starts on, or after
	for {
		start := cr.InputOffset()
		rec, rerr := cr.Read()
		if rerr == io.EOF {
			break
		}
		var pe *csv.ParseError
		fieldCount := errors.As(rerr, &pe) && errors.Is(pe.Err, csv.ErrFieldCount)
		if errors.Is(rerr, errRecordLimit) || (rerr == nil || fieldCount) && !done(start) {
			tooLong(next)
			break
		}
		if rerr != nil {
			if fieldCount {
				next = pe.Line + 1
				problems.Add(fmt.Sprintf("%s:%d", name, pe.StartLine+shift), ErrData,
					"wrong number of fields: %d, the header has %d", len(rec), len(header))
				if len(problems) >= maxProblems {
					stopped = true
					break
				}
				continue
			}
			// A syntax error leaves the reader at an unknown place in
			// the record structure, so reading stops here.
			if !addCSVError(&problems, name, shift, rerr) {
				return nil, nil, fmt.Errorf("load %s: %w", name, rerr)
			}
			break
		}
		if rows == maxRows {
			problems.Add(name, tooMany, "more than %d rows", maxRows)
			break
		}
		line, _ := cr.FieldPos(0)
		last, _ := cr.FieldPos(len(rec) - 1)
		next = last + strings.Count(rec[len(rec)-1], "\n") + 1
		line += shift
		org.addLine(rows, line)
		for i, f := range rec {
			if len(f) > MaxFieldBytes {
				problems.Add(fmt.Sprintf("%s:%d: column %s", name, line, fieldName(header, i)), ErrLimit,
					"a field of %s bytes is longer than %s (storage.MaxFieldBytes)", exact.FormatCount(len(f)), exact.FormatCount(MaxFieldBytes))
			}
		}
		for i := range cols {
			c := &cols[i]
			s := rec[c.field]
			if s == "" {
				c.b.appendNull()
				continue
			}
			if perr := c.b.appendText(s); perr != nil {
				problems.Add(fmt.Sprintf("%s:%d: column %s", name, line, c.attr.Name), ErrData, "%s", describe(s, perr))
				c.b.appendNull()
			}
		}
		rows++
		if len(problems) >= maxProblems {
			stopped = true
			break
		}
		// A chunk takes tens of milliseconds to parse: the context is
		// checked sixteen times a chunk, so that a cancelled load stops
		// within milliseconds.
		if rows%(batchRows/16) == 0 {
			if err := ctx.Err(); err != nil {
				return nil, nil, fmt.Errorf("load %s: %w", name, err)
			}
		}
		if rows%batchRows == 0 {
			cut()
			if progress != nil {
				progress(int64(rows), skipped+cr.InputOffset(), size)
			}
		}
	}
	if stopped {
		problems.Add(name, ErrData, "stopped reading after %d problems", len(problems))
	}
	if len(problems) > 0 {
		return nil, nil, problems
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("load %s: %w", name, err)
	}
	if rows%batchRows != 0 {
		cut()
	}
	if progress != nil {
		progress(int64(rows), skipped+cr.InputOffset(), size)
	}
	src.rows = rows
	return src, org, nil
}

// fieldName names field i of a record for a message: its header name, or
// its position when the header leaves it unnamed.
func fieldName(header []string, i int) string {
	if i < len(header) && header[i] != "" {
		return header[i]
	}
	return fmt.Sprintf("%d", i+1)
}

// mapHeader finds the CSV field of every attribute of ent.
func mapHeader(name string, ent *schema.Entity, header []string) ([]csvColumn, error) {
	var problems diag.List
	pos := make(map[string]int, len(header))
	for i, h := range header {
		if h == "" {
			continue // unnamed columns are ignored
		}
		if _, dup := pos[h]; dup {
			if _, named := ent.Attribute(h); named {
				problems.Add(fmt.Sprintf("%s:1", name), ErrData, "column %s appears more than once in the header", h)
			}
			continue
		}
		pos[h] = i
	}
	cols := make([]csvColumn, 0, len(ent.Attributes))
	for _, a := range ent.Attributes {
		i, ok := pos[a.Name]
		if !ok {
			problems.AddSuggest(name, ErrData, a.Name, header, "missing column %s", a.Name)
			continue
		}
		cols = append(cols, csvColumn{attr: a, field: i})
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return cols, nil
}

// addCSVError records a syntax error of encoding/csv with its position.
// It reports false for any other error, such as a failed read.
func addCSVError(l *diag.List, name string, shift int, err error) bool {
	var pe *csv.ParseError
	if !errors.As(err, &pe) {
		return false
	}
	l.Add(fmt.Sprintf("%s:%d", name, pe.Line+shift), ErrData, "%v (byte %d of the line)", pe.Err, pe.Column)
	return true
}

func releaseBuilders(cols []csvColumn) {
	for i := range cols {
		if cols[i].b != nil {
			cols[i].b.release()
			cols[i].b = nil
		}
	}
}

// origin says where an entity's rows came from, for messages that name a
// row: a CSV file's physical lines, or row indexes of an Arrow source.
type origin struct {
	name string // "Order.csv", "Order.parquet" or the entity name
	csv  bool
	// lines holds each row's first physical line; nil while every row r
	// is on line r+2 (one header line, no blank lines, no quoted line
	// breaks), which is the common case and costs no memory.
	lines []int
}

func (o *origin) addLine(row, line int) {
	if o.lines == nil {
		if line == row+2 {
			return
		}
		o.lines = make([]int, row, row+batchRows)
		for r := range o.lines {
			o.lines[r] = r + 2
		}
	}
	o.lines = append(o.lines, line)
}

// ref names a row inside its source: "line 15" or "row 14".
func (o *origin) ref(row int) string {
	if !o.csv {
		return fmt.Sprintf("row %d", row)
	}
	if o.lines != nil && row < len(o.lines) {
		return fmt.Sprintf("line %d", o.lines[row])
	}
	return fmt.Sprintf("line %d", row+2)
}

// at locates a row: "Order.csv:15" or "Order.parquet: row 14".
func (o *origin) at(row int) string {
	if !o.csv {
		return fmt.Sprintf("%s: row %d", o.name, row)
	}
	if o.lines != nil && row < len(o.lines) {
		return fmt.Sprintf("%s:%d", o.name, o.lines[row])
	}
	return fmt.Sprintf("%s:%d", o.name, row+2)
}

// releaseArrays releases every non-nil array.
func releaseArrays(arrs []arrow.Array) {
	for _, a := range arrs {
		if a != nil {
			a.Release()
		}
	}
}
