package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/internal/regular"
	"github.com/segmentkit/segmentkit/schema"
)

// Incremental reloads. A snapshot loaded from a data directory (Load,
// LoadCached, Reload) keeps the signature of the files it was loaded from
// (dirSignature: schema.json by content, every source by its stamp) and,
// for every CSV source, what the loader read of it: its length, line
// breaks, the SHA-256 of those bytes and where the header row ends
// (csvContent). FORMAT.md names one file per entity, so the one change
// that only adds rows is a CSV file that grew at its end: its first bytes
// are the ones loaded, and they ended with a line break. Reload checks
// that by hashing the file's old length again, parses what follows with
// the file's header, and appends those rows (Snapshot.Append). Every other
// change (schema.json, a Parquet file, a CSV file rewritten, shrunk or
// removed) is a full load, with the reason in LoadInfo.

// csvContent is what a load read of a CSV source.
type csvContent struct {
	Path string `json:"path"`
	// Size is the number of bytes read, Lines the line breaks among them,
	// SHA256 their hash.
	Size   int64  `json:"size"`
	Lines  int    `json:"lines"`
	SHA256 string `json:"sha256"`
	// EndsLine reports that the last byte read was a line break, so that
	// bytes written after it start a new row.
	EndsLine bool `json:"endsLine"`
	// HeaderEnd is the offset of the first byte after the header row.
	HeaderEnd int64 `json:"headerEnd"`
}

// contentReader reads a CSV source for the loader, hashing and counting
// what it reads.
type contentReader struct {
	r     io.Reader
	path  string
	h     hash.Hash
	n     int64
	lines int
	last  byte
}

func newContentReader(r io.Reader, path string) *contentReader {
	return &contentReader{r: r, path: path, h: sha256.New()}
}

func (c *contentReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	if n > 0 {
		c.h.Write(p[:n])
		c.n += int64(n)
		c.lines += bytes.Count(p[:n], []byte{'\n'})
		c.last = p[n-1]
	}
	return n, err
}

// content returns what was read, headerEnd being where the header ended.
func (c *contentReader) content(headerEnd int64) *csvContent {
	return &csvContent{Path: c.path, Size: c.n, Lines: c.lines, SHA256: hex.EncodeToString(c.h.Sum(nil)),
		EndsLine: c.last == '\n', HeaderEnd: headerEnd}
}

// LoadMethod says how a snapshot was made.
type LoadMethod uint8

// The ways a snapshot is made.
const (
	// MadeInMemory: FromTables or FromRecords.
	MadeInMemory LoadMethod = iota
	// LoadedFiles: every data file was read (Load).
	LoadedFiles
	// OpenedFile: a snapshot file was opened (Open, LoadCached).
	OpenedFile
	// AppendedRows: rows were appended to another snapshot (Append, or
	// Reload and LoadCached for a data directory whose files only grew).
	AppendedRows
)

// String returns "in memory", "full load", "snapshot file" or "append".
func (m LoadMethod) String() string {
	switch m {
	case LoadedFiles:
		return "full load"
	case OpenedFile:
		return "snapshot file"
	case AppendedRows:
		return "append"
	}
	return "in memory"
}

// LoadInfo says how a snapshot was made (Snapshot.LoadInfo).
type LoadInfo struct {
	// Method is how the snapshot was made.
	Method LoadMethod
	// Appended counts, for AppendedRows, the rows appended to each entity
	// that gained any.
	Appended map[string]int
	// Reason, for a snapshot that Reload or LoadCached did not make by
	// appending (a full load, or an opened snapshot file), says why not:
	// "Order.csv changed in its first 1,024 bytes", say. Empty when there
	// was no snapshot to append to.
	Reason string
}

// String describes the load: "append: 1,234 rows to Order", "full load:
// schema.json changed", "snapshot file", "full load".
func (i LoadInfo) String() string {
	var b strings.Builder
	b.WriteString(i.Method.String())
	if i.Method == AppendedRows {
		if len(i.Appended) == 0 {
			b.WriteString(": no new rows")
		}
		for j, name := range mapKeys(i.Appended) {
			if j == 0 {
				b.WriteString(": ")
			} else {
				b.WriteString(", ")
			}
			n := i.Appended[name]
			rows := "rows"
			if n == 1 {
				rows = "row"
			}
			fmt.Fprintf(&b, "%s %s to %s", exact.FormatCount(n), rows, name)
		}
	}
	if i.Reason != "" {
		b.WriteString(": ")
		b.WriteString(i.Reason)
	}
	return b.String()
}

// LoadInfo says how the snapshot was made: by a full load of its data
// files, from a snapshot file, or by appending rows to another snapshot
// (and then how many), and, for Reload and LoadCached, why it was not
// made by appending when it was not.
func (s *Snapshot) LoadInfo() LoadInfo { return s.info }

// Reload returns the snapshot of the data directory dir's current files,
// given old, a snapshot loaded from dir earlier (by Load, LoadCached or
// Reload). When the files only gained rows since (a CSV source that grew
// at its end, its old bytes unchanged and ending with a line break), it
// reads the new rows alone and appends them to old (Snapshot.Append): the
// new snapshot shares what did not change with old, and holds the values
// a full load of dir would give. Otherwise it loads dir whole (with
// LoadCached, or Load with opts.NoSnapshotCache), and the snapshot's
// LoadInfo().Reason says why: schema.json changed, a Parquet source
// changed (a Parquet file is read whole), a CSV source was rewritten,
// shrank or is gone, old was not loaded from files, the new rows could not
// be appended (ErrAppendNeedsLoad, or a problem with them, which the full
// load then reports as Load does).
//
// A source whose stamp (size, modification time, inode) did not change
// is taken as unchanged, as LoadCached takes it, unless it was modified
// within two seconds of old's load; a CSV source whose stamp changed is
// checked by content, so a file touched or copied anew still appends.
// Checking a grown CSV file reads its old length once more (SHA-256, at
// about 1.5 GB/s a core); the rest costs in proportion to the new rows,
// plus Append's copy of the columns of the entities that gained rows.
//
// old stays valid and owned by the caller; the snapshot returned is the
// caller's to release as well. Errors and cancellation are as for Load.
func Reload(ctx context.Context, dir string, old *Snapshot, opts Options) (*Snapshot, error) {
	if old == nil || old.released.Load() {
		return nil, fmt.Errorf("reload %s: the snapshot is nil or released", dir)
	}
	s, why := appendGrown(ctx, dir, old, old.sources, opts)
	if s != nil {
		return s, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reload %s: %w", dir, err)
	}
	s, err := LoadCached(ctx, dir, opts)
	if err != nil {
		return nil, err
	}
	if s.info.Method != AppendedRows {
		s.info.Reason = why.Error()
	}
	return s, nil
}

// errNoSources says that a snapshot was not loaded from a data directory.
var errNoSources = errors.New("the snapshot does not record the data files it was loaded from")

// appendGrown returns old with the rows that dir's CSV sources gained
// since sig, old's record of its sources, appended; or nil and why not.
func appendGrown(ctx context.Context, dir string, old *Snapshot, sig *dirSignature, opts Options) (*Snapshot, error) {
	if sig == nil {
		return nil, errNoSources
	}
	data, err := schema.ReadFile(filepath.Join(dir, "schema.json"))
	if err != nil {
		return nil, err
	}
	sch, err := schema.Parse(data)
	if err != nil {
		return nil, err
	}
	now, err := signFiles(dir, data, sch)
	if err != nil {
		return nil, err
	}
	switch {
	case now.Builder != sig.Builder:
		return nil, errors.New("the snapshot was built by another version of segmentkit")
	case now.Schema != sig.Schema:
		return nil, errors.New("schema.json changed")
	case len(now.Files) != len(sig.Files) || len(now.Files) != len(old.schema.Entities)+1:
		return nil, errors.New("schema.json names other sources")
	}
	contents := map[string]*csvContent{}
	for i := range sig.Contents {
		contents[sig.Contents[i].Path] = &sig.Contents[i]
	}
	mem := opts.allocator()
	records := map[string]arrow.RecordBatch{}
	defer func() {
		for _, r := range records {
			r.Release()
		}
	}()
	for i := range old.schema.Entities {
		e := &old.schema.Entities[i]
		o, n := sig.Files[i+1], now.Files[i+1]
		if o.Path != e.File || n.Path != e.File {
			return nil, errors.New("schema.json names other sources")
		}
		c := contents[e.File]
		if o == n && sig.Signed-o.ModTime >= racyWindow.Nanoseconds() {
			if c != nil {
				now.Contents = append(now.Contents, *c)
			}
			continue
		}
		switch {
		case strings.ToLower(filepath.Ext(e.File)) != ".csv":
			return nil, fmt.Errorf("%s changed (a Parquet source is read whole)", e.File)
		case c == nil:
			return nil, fmt.Errorf("%s changed, and the snapshot does not record what was read of it", e.File)
		case n.Size < c.Size:
			return nil, fmt.Errorf("%s shrank from %s to %s bytes", e.File, exact.FormatCount(c.Size), exact.FormatCount(n.Size))
		}
		rec, nc, err := readGrown(ctx, dir, e, c, tooManyErr(old.schema, e), mem)
		if err != nil {
			return nil, err
		}
		if rec != nil {
			records[e.Name] = rec
		}
		now.Contents = append(now.Contents, *nc)
	}
	s, err := old.Append(ctx, records, opts)
	if err != nil {
		return nil, fmt.Errorf("the new rows could not be appended: %w", err)
	}
	s.sources = now
	return s, nil
}

// readGrown reads the rows a CSV source gained after c, what a load read
// of it, as a record (nil when there are none), with what was read of it
// now. An error says why the file did not just grow, or what went wrong
// reading it.
func readGrown(ctx context.Context, dir string, e *schema.Entity, c *csvContent, tooMany error, mem memory.Allocator) (arrow.RecordBatch, *csvContent, error) {
	f, err := os.Open(filepath.Join(dir, filepath.FromSlash(e.File)))
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if err := regular.Check(st); err != nil {
		return nil, nil, fmt.Errorf("%s %w", e.File, err)
	}
	if c.HeaderEnd < 0 || c.HeaderEnd > c.Size {
		return nil, nil, fmt.Errorf("%s: the snapshot's record of it is damaged", e.File)
	}
	header := make([]byte, c.HeaderEnd)
	h := sha256.New()
	if err := hashPrefix(ctx, h, f, c.Size, header); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, nil, fmt.Errorf("%s shrank below %s bytes", e.File, exact.FormatCount(c.Size))
		}
		return nil, nil, err
	}
	if hex.EncodeToString(h.Sum(nil)) != c.SHA256 {
		return nil, nil, fmt.Errorf("%s changed in its first %s bytes (rewritten, not appended to)", e.File, exact.FormatCount(c.Size))
	}
	// What follows the old bytes, to the end of the file as it is now.
	cr := &contentReader{r: io.NewSectionReader(f, c.Size, 1<<62), path: c.Path, h: h, n: c.Size, lines: c.Lines, last: '\n'}
	var probe [1]byte
	if n, _ := f.ReadAt(probe[:], c.Size); n == 0 {
		return nil, c, nil // not grown: touched, or copied anew
	}
	if !c.EndsLine {
		return nil, nil, fmt.Errorf("%s grew, but its old last line did not end with a line break", e.File)
	}
	shift := c.Lines - bytes.Count(header, []byte{'\n'})
	src, _, err := readCSV(ctx, io.MultiReader(bytes.NewReader(header), cr), 0, e.File, shift, e, tooMany, mem, nil)
	if err != nil {
		return nil, nil, err
	}
	defer src.close()
	nc := cr.content(c.HeaderEnd)
	if src.rows == 0 {
		return nil, nc, nil
	}
	rec, err := recordOfSource(mem, e, src)
	if err != nil {
		return nil, nil, err
	}
	return rec, nc, nil
}

// hashPrefix writes the first n bytes of f to h, copying the first
// len(header) of them to header, and stops with ctx.
func hashPrefix(ctx context.Context, h hash.Hash, f *os.File, n int64, header []byte) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < n; {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := buf[:min(int64(len(buf)), n-off)]
		k, err := f.ReadAt(b, off)
		if k < len(b) {
			if err == nil {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if off < int64(len(header)) {
			copy(header[off:], b)
		}
		h.Write(b)
		off += int64(k)
	}
	return nil
}

// recordOfSource makes the record of an entity's rows read from CSV.
func recordOfSource(mem memory.Allocator, e *schema.Entity, src *csvSource) (arrow.RecordBatch, error) {
	fields := make([]arrow.Field, len(e.Attributes))
	cols := make([]arrow.Array, len(e.Attributes))
	defer releaseArrays(cols)
	for i, a := range e.Attributes {
		arr, err := array.Concatenate(src.chunks[i], mem)
		if err != nil {
			return nil, fmt.Errorf("load %s: %w", e.Name, err)
		}
		cols[i] = arr
		fields[i] = arrow.Field{Name: a.Name, Type: arr.DataType(), Nullable: true}
	}
	return array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(src.rows)), nil
}
