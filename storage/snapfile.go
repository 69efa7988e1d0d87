package storage

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math/bits"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// ErrSnapshotFile: a snapshot file (Save, Open) is damaged, truncated, of a
// newer format version, or not a snapshot file at all.
var ErrSnapshotFile = diag.NewSentinel("storage.snapshot_file", "invalid snapshot file")

// A snapshot file holds one Snapshot, laid out so that Open can map it into
// memory and point the Arrow buffers, the links and everything else at the
// mapping instead of reading them:
//
//	header     64 bytes: magic, format version, byte order mark, the file's
//	           size, where the metadata is and its checksum; the header's
//	           own checksum last
//	sections   every Arrow buffer and every link slice, each starting at a
//	           multiple of 64 bytes (Arrow's alignment), checksummed in
//	           blocks of snapBlock bytes
//	metadata   JSON: the schema, the tables' arrays (type, length, null
//	           count, which section holds each buffer), the links, the link
//	           reports, the sections with their checksums
//
// Integers are little-endian, the byte order of every platform segmentkit
// runs on; the byte order mark makes a file written elsewhere an error
// rather than garbage. The checksums are CRC-32C (Castagnoli), which the
// hardware of amd64 and arm64 computes.
const (
	snapMagic      = "SEGKSNAP"
	snapVersion    = 1
	snapHeaderSize = 64
	snapAlign      = 64
	snapBlock      = 4 << 20
	snapByteOrder  = 0x01020304
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// fileMeta is the metadata of a snapshot file.
type fileMeta struct {
	// Schema is the snapshot's schema without its measures, which are in
	// Measures as written (JSON would reformat them).
	Schema      json.RawMessage `json:"schema"`
	Measures    []string        `json:"measures,omitempty"`
	Customers   int             `json:"customers"`
	MemoryBytes int64           `json:"memoryBytes"`
	Reports     []LinkReport    `json:"reports"`
	Tables      []fileTable     `json:"tables"`
	Links       []fileLinks     `json:"links"`
	Sections    []fileSection   `json:"sections"`
	// Block is the size of the blocks the sections' checksums cover.
	Block int64 `json:"block"`
	// Sources, for the snapshot file of a data directory, identifies the
	// files it was built from (LoadCached).
	Sources *dirSignature `json:"sources,omitempty"`
	// Appended reports that rows were appended to the snapshot the file
	// holds (Snapshot.Append, Reload): it holds the values of a load of
	// the same files, not the same arrays (string columns of the new rows
	// are not dictionary-encoded again, say).
	Appended bool `json:"appended,omitempty"`
}

type fileTable struct {
	Entity  string      `json:"entity"`
	Rows    int         `json:"rows"`
	Columns []fileArray `json:"columns"`
}

// fileArray is one Arrow array: Buffers are section numbers, in the order
// of arrow.ArrayData.Buffers, -1 for a nil buffer.
type fileArray struct {
	Type    fileType   `json:"type"`
	Len     int        `json:"len"`
	Nulls   int        `json:"nulls"`
	Buffers []int      `json:"buffers"`
	Dict    *fileArray `json:"dict,omitempty"`
}

type fileType struct {
	Name    string    `json:"name"`
	Unit    string    `json:"unit,omitempty"`
	Zone    string    `json:"zone,omitempty"`
	Index   *fileType `json:"index,omitempty"`
	Value   *fileType `json:"value,omitempty"`
	Ordered bool      `json:"ordered,omitempty"`
}

type fileLinks struct {
	Entity string      `json:"entity"`
	Path   schema.Path `json:"path"`
	Broken int         `json:"broken"`
	Sorted bool        `json:"sorted"`
	// Customer, FileOrder and Starts are section numbers (-1: none).
	Customer  int `json:"customer"`
	FileOrder int `json:"fileOrder"`
	Starts    int `json:"starts"`
}

// fileSection is one byte range of the file. Eager sections are those
// whose damage could make a reader index out of bounds (validity bitmaps,
// string offsets, dictionary indices and values, links): Open verifies
// them before it returns. The others hold values only and are verified in
// the background (Snapshot.Verify).
type fileSection struct {
	Name  string   `json:"name"`
	Off   int64    `json:"off"`
	Len   int64    `json:"len"`
	Eager bool     `json:"eager,omitempty"`
	CRC   []uint32 `json:"crc"`
}

// Save writes snap to the file path, replacing it atomically: the data goes
// to a temporary file in the same directory, which is synced and renamed
// over path, so a reader (Open, in this process or another) sees the old
// file or the new one, never a part. A mapping of the old file stays valid.
// Open maps the file back. Cancelling ctx stops the write and removes the
// temporary file.
func Save(ctx context.Context, snap *Snapshot, path string) error {
	return saveFile(ctx, snap, path, nil, 0)
}

// saveFile is Save, recording sources (LoadCached) and giving the file the
// permissions perm (0: what the umask leaves of 0666).
func saveFile(ctx context.Context, snap *Snapshot, path string, sources *dirSignature, perm os.FileMode) (err error) {
	if snap == nil || snap.released.Load() {
		return fmt.Errorf("save %s: the snapshot is nil or released", path)
	}
	f, tmp, err := createTemp(path)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	defer func() {
		if f != nil {
			f.Close()
		}
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if perm != 0 {
		if err := f.Chmod(perm); err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
	}
	if sources != nil {
		st, err := f.Stat()
		if err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
		if err := checkRacy(sources, st.ModTime()); err != nil {
			return fmt.Errorf("save %s: %w", path, err)
		}
	}
	w := &snapWriter{ctx: ctx, f: f, off: snapHeaderSize}
	if _, err := f.Write(make([]byte, snapHeaderSize)); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	meta, err := w.snapshot(snap)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	meta.Sources = sources
	meta.Appended = snap.appended
	js, err := json.Marshal(meta)
	if err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := w.pad(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	metaOff := w.off
	if _, err := f.Write(js); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	size := metaOff + int64(len(js))
	if _, err := f.WriteAt(encodeHeader(size, metaOff, js), 0); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		f = nil
		return fmt.Errorf("save %s: %w", path, err)
	}
	f = nil
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save %s: %w", path, err)
	}
	syncDir(filepath.Dir(path))
	removeOldTemps(path)
	return nil
}

// createTemp creates a new file beside path, named after it, readable as
// the umask allows (os.CreateTemp would make it private to its owner).
func createTemp(path string) (*os.File, string, error) {
	dir, base := filepath.Split(path)
	for range 100 {
		tmp := filepath.Join(dir, fmt.Sprintf(".%s.%d-%d.tmp", base, os.Getpid(), rand.Uint32()))
		f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o666)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		return f, tmp, err
	}
	return nil, "", fmt.Errorf("no free temporary name beside %s", path)
}

// syncDir makes a rename in dir durable, where the system allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

func encodeHeader(size, metaOff int64, metaJSON []byte) []byte {
	h := make([]byte, snapHeaderSize)
	copy(h, snapMagic)
	le := binary.LittleEndian
	le.PutUint32(h[8:], snapVersion)
	// The mark in the writer's byte order, which is that of the sections.
	binary.NativeEndian.PutUint32(h[12:], snapByteOrder)
	le.PutUint64(h[16:], uint64(size))
	le.PutUint64(h[24:], uint64(metaOff))
	le.PutUint64(h[32:], uint64(len(metaJSON)))
	le.PutUint32(h[40:], crc32.Checksum(metaJSON, crcTable))
	le.PutUint32(h[60:], crc32.Checksum(h[:60], crcTable))
	return h
}

// syncEvery is how many bytes Save writes between calls of writeBehind,
// so that a cancelled Save waits for the sync of little more than this.
const syncEvery = 8 << 20

// snapWriter writes the sections of a snapshot file.
type snapWriter struct {
	ctx      context.Context
	f        *os.File
	off      int64
	unsynced int64 // bytes written since the last sync
	sections []fileSection
	// shared maps the first element of a link slice written already to its
	// section, so that links sharing a slice share a section.
	shared map[*uint32]int
}

func (w *snapWriter) pad() error {
	if r := w.off % snapAlign; r != 0 {
		n, err := w.f.Write(make([]byte, snapAlign-r))
		w.off += int64(n)
		return err
	}
	return nil
}

// section writes b as a new section and returns its number.
func (w *snapWriter) section(name string, b []byte, eager bool) (int, error) {
	if err := w.pad(); err != nil {
		return 0, err
	}
	s := fileSection{Name: name, Off: w.off, Len: int64(len(b)), Eager: eager}
	for len(b) > 0 {
		if err := w.ctx.Err(); err != nil {
			return 0, err
		}
		chunk := b[:min(len(b), snapBlock)]
		s.CRC = append(s.CRC, crc32.Checksum(chunk, crcTable))
		n, err := w.f.Write(chunk)
		w.off += int64(n)
		if err != nil {
			return 0, err
		}
		// Written back as it goes: a sync cannot be interrupted, and one
		// of the whole file at the end kept a cancelled Save waiting.
		if w.unsynced += int64(n); w.unsynced >= syncEvery {
			writeBehind(w.f, w.off-w.unsynced, w.unsynced)
			w.unsynced = 0
		}
		b = b[len(chunk):]
	}
	w.sections = append(w.sections, s)
	return len(w.sections) - 1, nil
}

func (w *snapWriter) snapshot(s *Snapshot) (*fileMeta, error) {
	plain := *s.schema
	plain.Measures = nil
	js, err := json.Marshal(&plain)
	if err != nil {
		return nil, err
	}
	meta := &fileMeta{Schema: js, Customers: s.NumCustomers(), MemoryBytes: s.memBytes, Reports: s.reports}
	for _, m := range s.schema.Measures {
		meta.Measures = append(meta.Measures, string(m))
	}
	for _, t := range s.entries {
		ft := fileTable{Entity: t.Entity.Name, Rows: t.NumRows}
		for _, c := range t.Columns {
			fa, err := w.array(t.Entity.Name+"."+c.Attr.Name, c.Data.Data(), false)
			if err != nil {
				return nil, err
			}
			ft.Columns = append(ft.Columns, fa)
		}
		meta.Tables = append(meta.Tables, ft)
	}
	w.shared = map[*uint32]int{}
	for _, e := range s.schema.Entities {
		for _, l := range s.links[e.Name] {
			name := e.Name + " along " + l.Path.String()
			fl := fileLinks{Entity: e.Name, Path: l.Path, Broken: l.Broken, Sorted: l.Sorted, FileOrder: -1, Starts: -1}
			var err error
			if fl.Customer, err = w.uint32s(name+": customers", int32Bytes(l.Customer)); err != nil {
				return nil, err
			}
			if l.fileOrder != nil {
				if fl.FileOrder, err = w.uint32s(name+": file order", l.fileOrder); err != nil {
					return nil, err
				}
			}
			if starts := l.Starts(); starts != nil {
				if fl.Starts, err = w.uint32s(name+": starts", starts); err != nil {
					return nil, err
				}
			}
			meta.Links = append(meta.Links, fl)
		}
	}
	meta.Sections = w.sections
	meta.Block = snapBlock
	return meta, nil
}

// uint32s writes a link slice, once however many links share it.
func (w *snapWriter) uint32s(name string, v []uint32) (int, error) {
	if len(v) > 0 {
		if i, ok := w.shared[&v[0]]; ok {
			return i, nil
		}
	}
	i, err := w.section(name, unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(v))), len(v)*4), true)
	if err == nil && len(v) > 0 {
		w.shared[&v[0]] = i
	}
	return i, err
}

func int32Bytes(v []int32) []uint32 {
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}

// array writes the buffers of d, without its offset: an array sliced from
// a larger one (FromTables shares such columns) is written as if it were
// whole, so that every array of a snapshot file has offset 0.
func (w *snapWriter) array(name string, d arrow.ArrayData, eager bool) (fileArray, error) {
	ft, err := encodeType(d.DataType())
	if err != nil {
		return fileArray{}, fmt.Errorf("column %s: %w", name, err)
	}
	n, off := d.Len(), d.Offset()
	bufs := d.Buffers()
	nulls := d.NullN()
	if nulls < 0 { // not counted yet, as in a slice
		nulls = 0
		if len(bufs) > 0 && bufs[0] != nil {
			nulls = n - bitutil.CountSetBits(bufs[0].Bytes(), off, n)
		}
	}
	fa := fileArray{Type: ft, Len: n, Nulls: nulls}
	buf := func(i int) *memory.Buffer {
		if i < len(bufs) {
			return bufs[i]
		}
		return nil
	}
	add := func(what string, b []byte, eager bool) error {
		i, err := w.section(name+" "+what, b, eager)
		fa.Buffers = append(fa.Buffers, i)
		return err
	}
	none := func() { fa.Buffers = append(fa.Buffers, -1) }

	// Validity.
	if v := buf(0); v != nil {
		if err := add("validity", bitsFrom(v.Bytes(), off, n), true); err != nil {
			return fa, err
		}
	} else {
		none()
	}
	dt := d.DataType()
	switch dt.ID() {
	case arrow.BOOL:
		if v := buf(1); v != nil {
			if err := add("values", bitsFrom(v.Bytes(), off, n), eager); err != nil {
				return fa, err
			}
		} else {
			none()
		}
	case arrow.STRING, arrow.BINARY:
		o, data := buf(1), buf(2)
		if o == nil || n == 0 && o.Len() < 4 {
			// An empty array may come without offsets.
			none()
			if data != nil {
				if err := add("bytes", nil, eager); err != nil {
					return fa, err
				}
			} else {
				none()
			}
			break
		}
		offs := arrow.Int32Traits.CastFromBytes(o.Bytes())[off : off+n+1]
		lo, hi := offs[0], offs[n]
		if lo != 0 {
			rebased := make([]int32, n+1)
			for i, v := range offs {
				rebased[i] = v - lo
			}
			offs = rebased
		}
		if err := add("offsets", arrow.Int32Traits.CastToBytes(offs), true); err != nil {
			return fa, err
		}
		var b []byte
		if data != nil {
			b = data.Bytes()[lo:hi]
		}
		if err := add("bytes", b, eager); err != nil {
			return fa, err
		}
	case arrow.DICTIONARY:
		// The indices are read as positions in the dictionary: eager.
		width := dt.(*arrow.DictionaryType).IndexType.(arrow.FixedWidthDataType).BitWidth() / 8
		if err := w.fixed(&fa, name+" indices", buf(1), off, n, width, true); err != nil {
			return fa, err
		}
		dict, ok := d.Dictionary().(*array.Data)
		if !ok || dict == nil {
			return fa, fmt.Errorf("column %s: a dictionary array without a dictionary", name)
		}
		da, err := w.array(name+" dictionary", dict, true)
		if err != nil {
			return fa, err
		}
		fa.Dict = &da
	default:
		fw, ok := dt.(arrow.FixedWidthDataType)
		if !ok || fw.BitWidth()%8 != 0 {
			return fa, fmt.Errorf("BUG: column %s: type %s", name, dt)
		}
		if err := w.fixed(&fa, name+" values", buf(1), off, n, fw.BitWidth()/8, eager); err != nil {
			return fa, err
		}
	}
	return fa, nil
}

// fixed writes the values of a fixed-width array.
func (w *snapWriter) fixed(fa *fileArray, name string, b *memory.Buffer, off, n, width int, eager bool) error {
	if b == nil {
		fa.Buffers = append(fa.Buffers, -1)
		return nil
	}
	var v []byte
	if n > 0 {
		v = b.Bytes()[off*width : (off+n)*width]
	}
	i, err := w.section(name, v, eager)
	fa.Buffers = append(fa.Buffers, i)
	return err
}

// bitsFrom returns n bits of b from bit off, as a bitmap starting at bit 0:
// b itself, sliced, when off is a whole byte.
func bitsFrom(b []byte, off, n int) []byte {
	size := int(bitutil.BytesForBits(int64(n)))
	if off%8 == 0 {
		return b[off/8 : off/8+size]
	}
	out := make([]byte, size)
	bitutil.CopyBitmap(b, off, n, out, 0)
	return out
}

// Arrow types a snapshot file holds, by name.
var fileTypes = map[string]arrow.DataType{
	"bool":    arrow.FixedWidthTypes.Boolean,
	"int8":    arrow.PrimitiveTypes.Int8,
	"int16":   arrow.PrimitiveTypes.Int16,
	"int32":   arrow.PrimitiveTypes.Int32,
	"int64":   arrow.PrimitiveTypes.Int64,
	"uint8":   arrow.PrimitiveTypes.Uint8,
	"uint16":  arrow.PrimitiveTypes.Uint16,
	"uint32":  arrow.PrimitiveTypes.Uint32,
	"uint64":  arrow.PrimitiveTypes.Uint64,
	"float32": arrow.PrimitiveTypes.Float32,
	"float64": arrow.PrimitiveTypes.Float64,
	"date32":  arrow.FixedWidthTypes.Date32,
	"date64":  arrow.FixedWidthTypes.Date64,
	"utf8":    arrow.BinaryTypes.String,
	"binary":  arrow.BinaryTypes.Binary,
}

var timeUnits = map[string]arrow.TimeUnit{"s": arrow.Second, "ms": arrow.Millisecond, "us": arrow.Microsecond, "ns": arrow.Nanosecond}

func encodeType(dt arrow.DataType) (fileType, error) {
	switch t := dt.(type) {
	case *arrow.TimestampType:
		return fileType{Name: "timestamp", Unit: t.Unit.String(), Zone: t.TimeZone}, nil
	case *arrow.DictionaryType:
		idx, err := encodeType(t.IndexType)
		if err != nil {
			return fileType{}, err
		}
		val, err := encodeType(t.ValueType)
		if err != nil {
			return fileType{}, err
		}
		if !arrow.IsInteger(t.IndexType.ID()) || val.Name == "dictionary" {
			return fileType{}, fmt.Errorf("snapshot files do not hold the type %s", dt)
		}
		return fileType{Name: "dictionary", Index: &idx, Value: &val, Ordered: t.Ordered}, nil
	}
	name := dt.Name()
	if want, ok := fileTypes[name]; ok && arrow.TypeEqual(want, dt) {
		return fileType{Name: name}, nil
	}
	return fileType{}, fmt.Errorf("snapshot files do not hold the type %s", dt)
}

func (ft *fileType) decode() (arrow.DataType, bool) {
	switch ft.Name {
	case "timestamp":
		u, ok := timeUnits[ft.Unit]
		return &arrow.TimestampType{Unit: u, TimeZone: ft.Zone}, ok
	case "dictionary":
		if ft.Index == nil || ft.Value == nil || ft.Value.Name == "dictionary" {
			return nil, false
		}
		idx, ok := ft.Index.decode()
		if !ok || !arrow.IsInteger(idx.ID()) {
			return nil, false
		}
		val, ok := ft.Value.decode()
		if !ok {
			return nil, false
		}
		return &arrow.DictionaryType{IndexType: idx, ValueType: val, Ordered: ft.Ordered}, true
	}
	dt, ok := fileTypes[ft.Name]
	return dt, ok
}

// snapFile is the mapped file of a snapshot that Open returned: it checks
// the value sections in the background and unmaps the file on Release.
type snapFile struct {
	path string
	data []byte
	// unmap releases data; the file is mapped read-only, so a reader that
	// writes to it faults.
	unmap func() error

	blocks []blockRef // the value sections' blocks, checked in the background
	next   atomic.Int64
	left   atomic.Int64 // blocks not checked yet
	done   chan struct{}
	err    error // the first damage found; read after done is closed
	errMu  sync.Mutex
	stop   atomic.Bool
	// onDamage, if set, runs once when a block is found damaged (LoadCached
	// removes the file then, so that the next load rebuilds it).
	onDamage func()

	mu      sync.Mutex // guards closed and the workers' registration
	closed  bool
	workers sync.WaitGroup
}

// blockRef is one checksum block of a section.
type blockRef struct {
	sec   *fileSection
	index int
	size  int64 // of every block but the section's last
}

func (f *snapFile) blockBytes(b blockRef) []byte {
	lo := b.sec.Off + int64(b.index)*b.size
	hi := min(b.sec.Off+b.sec.Len, lo+b.size)
	return f.data[lo:hi]
}

func (f *snapFile) checkBlock(b blockRef) error {
	if got, want := crc32.Checksum(f.blockBytes(b), crcTable), b.sec.CRC[b.index]; got != want {
		return badFile(f.path, "%s: block %d of %d is damaged (checksum %08x, written %08x)", b.sec.Name, b.index+1, len(b.sec.CRC), got, want)
	}
	return nil
}

// startWorker runs one more checker of the value blocks, unless the file
// is closed or every block is taken.
func (f *snapFile) startWorker() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed || f.next.Load() >= int64(len(f.blocks)) {
		return false
	}
	f.workers.Add(1)
	go f.work()
	return true
}

func (f *snapFile) work() {
	defer f.workers.Done()
	for !f.stop.Load() {
		i := f.next.Add(1) - 1
		if i >= int64(len(f.blocks)) {
			return
		}
		if err := f.checkBlock(f.blocks[i]); err != nil {
			f.errMu.Lock()
			first := f.err == nil
			if first {
				f.err = err
			}
			f.errMu.Unlock()
			f.stop.Store(true)
			if first {
				if f.onDamage != nil {
					f.onDamage()
				}
				close(f.done)
			}
			return
		}
		if f.left.Add(-1) == 0 {
			close(f.done)
		}
	}
}

// close stops the checkers, waits for them and unmaps the file.
func (f *snapFile) close() {
	if f == nil {
		return
	}
	f.mu.Lock()
	f.closed = true
	f.stop.Store(true)
	f.mu.Unlock()
	f.workers.Wait()
	// No checker runs or can start: one that has not finished never will.
	select {
	case <-f.done:
	default:
		f.err = fmt.Errorf("verify %s: the snapshot was released before its check finished", f.path)
		close(f.done)
	}
	if f.unmap != nil {
		f.unmap()
		f.unmap, f.data = nil, nil
	}
}

// Verify waits until the snapshot's data has been checked against its
// checksums, and returns nil or the damage found, wrapping ErrSnapshotFile.
// It matters only for a snapshot from Open or LoadCached, whose value
// sections (the values of fixed-width columns and the bytes of strings)
// are checked in the background after Open returns; for any other snapshot
// it returns nil at once. Verify lends the background check every core
// while it waits. A program that must not act on damaged data calls Verify
// before it trusts what it read; the damage a background check can find
// changes values only (Open checks before returning every byte whose
// damage could make a reader fail). Cancelling ctx stops the wait, not
// the check. Verify is safe for concurrent use, but not after Release.
func (s *Snapshot) Verify(ctx context.Context) error {
	f := s.file
	if f == nil {
		return nil
	}
	select {
	case <-f.done:
		return f.err
	default:
	}
	for range runtime.GOMAXPROCS(0) {
		if !f.startWorker() {
			break
		}
	}
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return fmt.Errorf("verify %s: %w", f.path, ctx.Err())
	}
}

// File returns the snapshot file the snapshot was opened from (Open, or
// LoadCached using the data directory's snapshot file), or "" for a
// snapshot built from data.
func (s *Snapshot) File() string {
	if s.file == nil {
		return ""
	}
	return s.file.path
}

func badFile(path, format string, args ...any) error {
	return fmt.Errorf("%w: %s: %s", ErrSnapshotFile, path, fmt.Sprintf(format, args...))
}

// Open maps the snapshot file path, which Save wrote, into memory and
// returns its snapshot. Nothing is copied: the Arrow buffers, the links
// and the customer keys point into the mapping, which is read-only and
// shared, so processes that open the same file share its pages, and
// opening takes the time to read the metadata and check part of the
// checksums, whatever the data's size. The customer key index
// (CustomerID) is built on first use.
//
// Before it returns, Open checks the header, the format version, the
// file's size, the metadata's checksum and consistency (every buffer in
// the file and as long as its array needs), and the checksums of every
// section whose damage could make a reader index out of bounds: validity
// bitmaps, string offsets, dictionaries and their indices, and the links.
// The other sections, which hold values only, are checked in the
// background; Snapshot.Verify waits for that check and reports what it
// found. Any problem is an error wrapping ErrSnapshotFile: a damaged or
// truncated file gives an error, never a panic. A file of a newer format
// version is such an error too.
//
// opts.Allocator is not used: Open allocates no Arrow memory. Release
// unmaps the file; nothing read from the snapshot may be used after that.
// The file must not be modified in place while it is open (Save replaces
// it with a new file, which is safe): the system may then fault the
// process that reads the changed pages.
func Open(ctx context.Context, path string, opts Options) (*Snapshot, error) {
	data, unmap, _, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("open snapshot file %s: %w", path, err)
	}
	f := &snapFile{path: path, data: data, unmap: unmap, done: make(chan struct{})}
	s, err := openMapped(ctx, f, nil)
	if err != nil {
		f.close()
		return nil, err
	}
	return s, nil
}

// openMapped reads the snapshot of a mapped file and starts the background
// check of its value sections. accept, if not nil, judges the metadata
// first: an error from it is returned as it is.
func openMapped(ctx context.Context, f *snapFile, accept func(*fileMeta) error) (*Snapshot, error) {
	meta, err := readMeta(f.path, f.data)
	if err != nil {
		return nil, err
	}
	if accept != nil {
		if err := accept(meta); err != nil {
			return nil, err
		}
	}
	if err := checkSections(f.path, meta); err != nil {
		return nil, err
	}
	var eager []blockRef
	for i := range meta.Sections {
		sec := &meta.Sections[i]
		for b := range sec.CRC {
			ref := blockRef{sec, b, meta.Block}
			if sec.Eager {
				eager = append(eager, ref)
			} else {
				f.blocks = append(f.blocks, ref)
			}
		}
	}
	if err := checkBlocks(ctx, f, eager); err != nil {
		return nil, err
	}
	s, err := buildFromFile(f, meta)
	if err != nil {
		return nil, err
	}
	s.file = f
	s.info = LoadInfo{Method: OpenedFile}
	s.sources, s.appended = meta.Sources, meta.Appended
	f.left.Store(int64(len(f.blocks)))
	if len(f.blocks) == 0 {
		close(f.done)
	} else {
		f.startWorker()
	}
	return s, nil
}

// checkBlocks checks blocks on every core.
func checkBlocks(ctx context.Context, f *snapFile, blocks []blockRef) error {
	var next atomic.Int64
	var failed atomic.Bool
	errs := make([]error, runtime.GOMAXPROCS(0))
	var wg sync.WaitGroup
	for w := range errs {
		wg.Go(func() {
			for !failed.Load() {
				i := next.Add(1) - 1
				if i >= int64(len(blocks)) {
					return
				}
				if i%16 == 0 && ctx.Err() != nil {
					errs[w] = fmt.Errorf("open snapshot file %s: %w", f.path, ctx.Err())
					failed.Store(true)
					return
				}
				if err := f.checkBlock(blocks[i]); err != nil {
					errs[w] = err
					failed.Store(true)
					return
				}
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// readMeta checks the header and reads the metadata.
func readMeta(path string, data []byte) (*fileMeta, error) {
	if len(data) < snapHeaderSize {
		if len(data) < len(snapMagic) || string(data[:len(snapMagic)]) != snapMagic {
			return nil, badFile(path, "not a segmentkit snapshot file")
		}
		return nil, badFile(path, "truncated: %d bytes, fewer than the header's %d", len(data), snapHeaderSize)
	}
	h := data[:snapHeaderSize]
	le := binary.LittleEndian
	if string(h[:len(snapMagic)]) != snapMagic {
		return nil, badFile(path, "not a segmentkit snapshot file")
	}
	// The magic and the version keep their place in every version; the
	// rest of the header is the version's.
	if v := le.Uint32(h[8:]); v != snapVersion {
		if v > snapVersion {
			return nil, badFile(path, "format version %d is newer than this segmentkit reads (%d); save it again, or delete it", v, snapVersion)
		}
		return nil, badFile(path, "unknown format version %d", v)
	}
	if crc32.Checksum(h[:60], crcTable) != le.Uint32(h[60:]) {
		return nil, badFile(path, "the header is damaged")
	}
	if binary.NativeEndian.Uint32(h[12:]) != snapByteOrder {
		return nil, badFile(path, "written with another byte order")
	}
	size, metaOff, metaLen := le.Uint64(h[16:]), le.Uint64(h[24:]), le.Uint64(h[32:])
	switch {
	case uint64(len(data)) < size:
		return nil, badFile(path, "truncated: %d bytes of %d", len(data), size)
	case uint64(len(data)) > size:
		return nil, badFile(path, "%d bytes, more than the %d written", len(data), size)
	case metaOff < snapHeaderSize || metaOff > size || metaLen != size-metaOff:
		return nil, badFile(path, "the header is inconsistent")
	}
	js := data[metaOff:size]
	if crc32.Checksum(js, crcTable) != le.Uint32(h[40:]) {
		return nil, badFile(path, "the metadata is damaged")
	}
	var meta fileMeta
	if err := json.Unmarshal(js, &meta); err != nil {
		return nil, badFile(path, "the metadata does not parse: %v", err)
	}
	if meta.Block < snapAlign || meta.Block > 1<<40 {
		return nil, badFile(path, "checksum blocks of %d bytes", meta.Block)
	}
	// The sections end where the metadata starts.
	for i, s := range meta.Sections {
		if s.Off < snapHeaderSize || s.Off%snapAlign != 0 || s.Len < 0 || s.Off > int64(metaOff) || s.Len > int64(metaOff)-s.Off {
			return nil, badFile(path, "section %d (%s) lies outside the data", i, s.Name)
		}
		if want := (s.Len + meta.Block - 1) / meta.Block; int64(len(s.CRC)) != want {
			return nil, badFile(path, "section %d (%s) has %d checksums for %d blocks", i, s.Name, len(s.CRC), want)
		}
	}
	return &meta, nil
}

// checkSections checks that every section number in meta names a section.
func checkSections(path string, meta *fileMeta) error {
	n := len(meta.Sections)
	bad := func(i int) bool { return i < -1 || i >= n }
	var arr func(a *fileArray) bool
	arr = func(a *fileArray) bool {
		if slices.ContainsFunc(a.Buffers, bad) {
			return false
		}
		return a.Dict == nil || arr(a.Dict)
	}
	for _, t := range meta.Tables {
		for i := range t.Columns {
			if !arr(&t.Columns[i]) {
				return badFile(path, "table %s: a buffer names no section", t.Entity)
			}
		}
	}
	for _, l := range meta.Links {
		if l.Customer < 0 || bad(l.Customer) || bad(l.FileOrder) || bad(l.Starts) {
			return badFile(path, "links of %s: a slice names no section", l.Entity)
		}
	}
	return nil
}

// buildFromFile assembles the snapshot of meta over the mapped data,
// checking that every part is where the schema wants it and as long as it
// must be.
func buildFromFile(f *snapFile, meta *fileMeta) (_ *Snapshot, err error) {
	sch, err := schema.Parse(meta.Schema)
	if err != nil {
		return nil, badFile(f.path, "the schema does not parse: %v", err)
	}
	for _, m := range meta.Measures {
		sch.Measures = append(sch.Measures, json.RawMessage(m))
	}
	if len(meta.Tables) != len(sch.Entities) {
		return nil, badFile(f.path, "%d tables for %d entities", len(meta.Tables), len(sch.Entities))
	}
	s := &Snapshot{
		schema:   sch,
		tables:   make(map[string]*Table, len(sch.Entities)),
		links:    map[string][]*Links{},
		entries:  make([]*Table, 0, len(sch.Entities)),
		reports:  meta.Reports,
		memBytes: meta.MemoryBytes,
	}
	defer func() {
		if err != nil {
			for _, t := range s.entries {
				t.release()
			}
		}
	}()
	for i := range sch.Entities {
		e := &sch.Entities[i]
		ft := &meta.Tables[i]
		if ft.Entity != e.Name || len(ft.Columns) != len(e.Attributes) || ft.Rows < 0 || ft.Rows > maxRows {
			return nil, badFile(f.path, "table %d does not match entity %s", i, e.Name)
		}
		t := &Table{Entity: e, NumRows: ft.Rows, Columns: make([]*Column, len(e.Attributes))}
		s.entries = append(s.entries, t)
		for j, a := range e.Attributes {
			fa := &ft.Columns[j]
			name := e.Name + "." + a.Name
			if fa.Len != ft.Rows {
				return nil, badFile(f.path, "column %s has %d rows, its table %d", name, fa.Len, ft.Rows)
			}
			d, err := f.arrayData(meta, name, fa)
			if err != nil {
				return nil, err
			}
			if !holds(a.Type, d.DataType()) {
				d.Release()
				return nil, badFile(f.path, "column %s has the Arrow type %s, which does not hold a %s", name, d.DataType(), a.Type)
			}
			t.Columns[j] = &Column{Attr: a, Data: array.MakeFromData(d)}
			d.Release()
		}
		s.tables[e.Name] = t
	}
	s.customers = s.tables[sch.CustomerEntity]
	if s.customers == nil || s.customers.NumRows != meta.Customers {
		return nil, badFile(f.path, "the customer table does not match the metadata")
	}
	if len(s.reports) != len(sch.Relationships) {
		return nil, badFile(f.path, "%d link reports for %d relationships", len(s.reports), len(sch.Relationships))
	}
	for _, fl := range meta.Links {
		t := s.tables[fl.Entity]
		if t == nil || !slices.ContainsFunc(sch.Paths(fl.Entity), func(p schema.Path) bool { return slices.Equal(p, fl.Path) }) ||
			s.Links(fl.Entity, fl.Path) != nil {
			return nil, badFile(f.path, "links of %s along %s do not match the schema", fl.Entity, fl.Path)
		}
		what := fmt.Sprintf("links of %s along %s", fl.Entity, fl.Path)
		cust, ok := f.uint32s(meta, fl.Customer, t.NumRows)
		if !ok {
			return nil, badFile(f.path, "%s: the customers are not one per row", what)
		}
		l := &Links{Path: slices.Clone(fl.Path), Customer: int32s(cust), Broken: fl.Broken, Sorted: fl.Sorted, numCustomers: meta.Customers}
		if fl.FileOrder >= 0 {
			if l.fileOrder, ok = f.uint32s(meta, fl.FileOrder, t.NumRows); !ok {
				return nil, badFile(f.path, "%s: the file order is not one per row", what)
			}
		}
		if fl.Starts >= 0 {
			starts, ok := f.uint32s(meta, fl.Starts, meta.Customers+1)
			if !ok || !fl.Sorted {
				return nil, badFile(f.path, "%s: the customer starts do not match", what)
			}
			l.starts = starts
			l.startsOnce.Do(func() {})
		}
		s.links[fl.Entity] = append(s.links[fl.Entity], l)
	}
	for _, e := range sch.Entities {
		if len(s.links[e.Name]) != len(sch.Paths(e.Name)) {
			return nil, badFile(f.path, "entity %s has links along %d paths, the schema %d", e.Name, len(s.links[e.Name]), len(sch.Paths(e.Name)))
		}
	}
	s.makeDictionaries()
	return s, nil
}

func int32s(v []uint32) []int32 {
	return unsafe.Slice((*int32)(unsafe.Pointer(unsafe.SliceData(v))), len(v))
}

// sectionBytes returns the bytes of section i, or nil for -1.
func (f *snapFile) sectionBytes(meta *fileMeta, i int) []byte {
	if i < 0 {
		return nil
	}
	s := meta.Sections[i]
	return f.data[s.Off : s.Off+s.Len : s.Off+s.Len]
}

// uint32s returns section i as n uint32s.
func (f *snapFile) uint32s(meta *fileMeta, i, n int) ([]uint32, bool) {
	b := f.sectionBytes(meta, i)
	if len(b) != n*4 {
		return nil, false
	}
	if n == 0 {
		return []uint32{}, true
	}
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(b))), n), true
}

// holds reports whether an Arrow type may hold an attribute of type t: the
// normalized types of Column, or narrower integers.
func holds(t schema.Type, dt arrow.DataType) bool {
	switch t {
	case schema.Integer:
		return arrow.IsInteger(dt.ID())
	case schema.Number:
		return dt.ID() == arrow.FLOAT64
	case schema.String:
		if d, ok := dt.(*arrow.DictionaryType); ok {
			return d.ValueType.ID() == arrow.STRING
		}
		return dt.ID() == arrow.STRING
	case schema.Date:
		return dt.ID() == arrow.DATE32
	case schema.Datetime:
		return dt.ID() == arrow.TIMESTAMP
	case schema.Boolean:
		return dt.ID() == arrow.BOOL
	}
	return false
}

// arrayData builds the Arrow data of fa over the mapping, checking every
// buffer's length against what the type and the length need.
func (f *snapFile) arrayData(meta *fileMeta, name string, fa *fileArray) (*array.Data, error) {
	dt, ok := fa.Type.decode()
	if !ok {
		return nil, badFile(f.path, "column %s has an unknown type", name)
	}
	n := fa.Len
	if n < 0 || n > maxRows || fa.Nulls < 0 || fa.Nulls > n {
		return nil, badFile(f.path, "column %s: %d rows, %d nulls", name, n, fa.Nulls)
	}
	bitBytes := int(bitutil.BytesForBits(int64(n)))
	want := []int{bitBytes} // the least length of each buffer
	switch dt.ID() {
	case arrow.BOOL:
		want = append(want, bitBytes)
	case arrow.STRING, arrow.BINARY:
		want = append(want, 0, 0)
	default:
		want = append(want, n*dt.(arrow.FixedWidthDataType).BitWidth()/8)
	}
	if len(fa.Buffers) != len(want) {
		return nil, badFile(f.path, "column %s has %d buffers, its type %d", name, len(fa.Buffers), len(want))
	}
	bufs := make([]*memory.Buffer, len(want))
	for i, sec := range fa.Buffers {
		if sec < 0 {
			continue
		}
		b := f.sectionBytes(meta, sec)
		if len(b) < want[i] {
			return nil, badFile(f.path, "column %s: buffer %d holds %d bytes, fewer than %d rows need", name, i, len(b), n)
		}
		bufs[i] = memory.NewBufferBytes(b)
	}
	switch {
	case fa.Nulls > 0 && bufs[0] == nil:
		return nil, badFile(f.path, "column %s has nulls but no validity bitmap", name)
	case dt.ID() != arrow.STRING && dt.ID() != arrow.BINARY && n > 0 && bufs[1] == nil:
		return nil, badFile(f.path, "column %s has no values", name)
	}
	if id := dt.ID(); id == arrow.STRING || id == arrow.BINARY {
		if err := f.checkOffsets(meta, name, fa, n); err != nil {
			return nil, err
		}
	}
	if dt.ID() != arrow.DICTIONARY {
		if fa.Dict != nil {
			return nil, badFile(f.path, "column %s has a dictionary but is no dictionary array", name)
		}
		return array.NewData(dt, n, bufs, nil, fa.Nulls, 0), nil
	}
	if fa.Dict == nil {
		return nil, badFile(f.path, "column %s is a dictionary array without a dictionary", name)
	}
	dict, err := f.arrayData(meta, name+" dictionary", fa.Dict)
	if err != nil {
		return nil, err
	}
	defer dict.Release()
	if !arrow.TypeEqual(dict.DataType(), dt.(*arrow.DictionaryType).ValueType) {
		return nil, badFile(f.path, "column %s: the dictionary's type is not the column's value type", name)
	}
	return array.NewDataWithDictionary(dt, n, bufs, fa.Nulls, 0, dict), nil
}

// checkOffsets checks the shape of a string array's offsets: present with
// n+1 entries, ending within the bytes. (Their order is the checksum's
// business: Open verifies offsets before it returns.)
func (f *snapFile) checkOffsets(meta *fileMeta, name string, fa *fileArray, n int) error {
	if fa.Buffers[1] < 0 {
		if n == 0 {
			return nil
		}
		return badFile(f.path, "column %s has no offsets", name)
	}
	o := f.sectionBytes(meta, fa.Buffers[1])
	if len(o) != (n+1)*4 {
		return badFile(f.path, "column %s has %d bytes of offsets for %d rows", name, len(o), n)
	}
	offs := arrow.Int32Traits.CastFromBytes(o)
	data := len(f.sectionBytes(meta, fa.Buffers[2]))
	if offs[0] != 0 || int(offs[n]) > data || offs[n] < 0 {
		return badFile(f.path, "column %s: the offsets run outside its %d bytes", name, data)
	}
	return nil
}

// customerKeys returns the index of the customer keys: the one Load built,
// or for a snapshot from Open one built on first use (nil if the key
// column cannot be indexed, which Open's checks rule out).
func (s *Snapshot) customerKeys() *keyIndex {
	if s.file == nil {
		return s.keys
	}
	s.keysOnce.Do(func() {
		s.keys = indexKeys(s.customers.Column(s.customers.Entity.Key).Data)
	})
	return s.keys
}

// indexKeys indexes a key column whose values Load found distinct and
// not null, without checking them again.
func indexKeys(c arrow.Array) *keyIndex {
	ki, err := newKeyView(c)
	if err != nil {
		return nil
	}
	if ki.denseInts(c) {
		return ki
	}
	n := c.Len()
	size := uint64(8)
	if n > 2 {
		size = max(size, 1<<bits.Len64(uint64(n)*2-1))
	}
	ki.slots = make([]int32, size)
	ki.mask = size - 1
	for i := range n {
		ki.insert(i)
	}
	return ki
}
