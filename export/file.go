package export

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// How the file destinations write. Every format writes through the same
// mechanics: Open creates a temporary file beside the target (in the
// target's folder, so that the rename stays on one file system), Write
// appends to it, Commit flushes, syncs, closes and renames it into place
// and syncs the folder, Abort removes it. A failed export therefore never
// leaves a partial file at the target: the file that was there stays.
// A destination that writes a stream (standard output for "csv:-" and
// "jsonl:-") flushes at Commit, and its Abort cannot take back what was
// written.

// fileBufferSize is the buffer between an encoder and its file.
const fileBufferSize = 256 << 10

// fileFormat is one kind of file destination.
type fileFormat struct {
	// name is the destination kind, as String writes it: "csv", ...
	name string
	// stream reports that the path "-" writes standard output.
	stream bool
	// start begins one export's encoding into outputs it creates from o.
	start func(h *Header, o *fileOutputs, mem memory.Allocator) (encoder, error)
}

// encoder writes one export's batches in one format.
type encoder interface {
	// write encodes one batch.
	write(b *Batch) error
	// finish writes what ends the files (a footer, the bitmap); the files
	// are committed after it.
	finish() error
	// release frees what the encoder holds; it is called once, after
	// finish or instead of it.
	release()
}

// fileDest is a file destination of some format. It is safe for
// concurrent use: each Open writes its own temporary file (the last
// export to commit wins the target).
type fileDest struct {
	format *fileFormat
	path   string
	// to, when not nil, is the stream written instead of a file at path
	// (path is then only the destination's name).
	to io.Writer
	// mem allocates the Arrow memory of the Parquet and Arrow encoders;
	// nil means memory.DefaultAllocator.
	mem memory.Allocator
}

var _ Destination = (*fileDest)(nil)

// String returns the kind and the path: "csv:members.csv".
func (d *fileDest) String() string { return d.format.name + ":" + d.path }

// Open checks that the target's folder exists and takes a new file, creates
// the temporary file(s) there, and starts the format.
func (d *fileDest) Open(ctx context.Context, h *Header) (Writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if h == nil || h.Schema == nil {
		return nil, fmt.Errorf("%w: %s: no header", ErrDelivery, d)
	}
	o := &fileOutputs{path: d.path, mode: h.Mode}
	switch {
	case d.to != nil:
		o.stream = bufio.NewWriterSize(d.to, fileBufferSize)
	case d.path == "-" && d.format.stream:
		o.stream = bufio.NewWriterSize(os.Stdout, fileBufferSize)
	case d.path == "-":
		return nil, fmt.Errorf("%w: %s: %s cannot be written to standard output; name a file", ErrDestination, d, kindArticle(d.format.name))
	case d.path == "":
		return nil, fmt.Errorf("%w: %s: no file named", ErrDestination, d)
	default:
		if err := checkTarget(d.path); err != nil {
			return nil, err
		}
	}
	mem := d.mem
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	enc, err := d.format.start(h, o, mem)
	if err != nil {
		o.abort()
		return nil, o.fail("start", err)
	}
	return &fileWriter{out: o, enc: enc}, nil
}

// checkTarget checks that path's folder exists and that path is not a
// folder.
func checkTarget(path string) error {
	dir := filepath.Dir(path)
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %s: the folder %s does not exist", ErrDelivery, path, dir)
	case err != nil:
		return fmt.Errorf("%w: %s: %w", ErrDelivery, path, err)
	case !st.IsDir():
		return fmt.Errorf("%w: %s: %s is not a folder", ErrDelivery, path, dir)
	}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return fmt.Errorf("%w: %s is a folder", ErrDelivery, path)
	}
	return nil
}

// fileWriter is the Writer of every file destination.
type fileWriter struct {
	out   *fileOutputs
	enc   encoder
	stats Stats
	done  bool // committed or aborted
}

// Write encodes the batch into the temporary file.
func (w *fileWriter) Write(ctx context.Context, b *Batch) error {
	if w.done {
		return fmt.Errorf("%w: %s: write after the export ended", ErrDelivery, w.out.path)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := w.enc.write(b); err != nil {
		return w.out.fail("write", err)
	}
	w.stats.Rows += int64(len(b.Rows))
	w.stats.Batches++
	w.stats.Tries++
	return nil
}

// Commit finishes the format and moves the file(s) into place. On an
// error nothing is moved into place (for roaring: the bitmap is not,
// see NewRoaring) and the temporary files are removed.
func (w *fileWriter) Commit(ctx context.Context) error {
	if w.done {
		return fmt.Errorf("%w: %s: commit after the export ended", ErrDelivery, w.out.path)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	w.done = true
	err := w.enc.finish()
	w.enc.release()
	if err != nil {
		w.out.abort()
		return w.out.fail("finish", err)
	}
	if err := w.out.commit(); err != nil {
		w.out.abort()
		return err
	}
	return nil
}

// Abort removes the temporary files; after Commit, or a second time, it
// does nothing.
func (w *fileWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	w.enc.release()
	w.out.abort()
	return nil
}

// Stats returns the rows and batches written and the bytes encoded so
// far.
func (w *fileWriter) Stats() Stats {
	s := w.stats
	s.Bytes = w.out.bytes
	return s
}

// fileOutputs are the files of one export: the main file at path, and
// for roaring the files beside it (path + a suffix).
type fileOutputs struct {
	path string
	mode Mode
	// stream, when not nil, is the main file's stream.
	stream *bufio.Writer
	files  []*pendingFile
	// stale are files beside the target that Commit removes (before the
	// main file moves into place).
	stale []string
	bytes int64
}

// pendingFile is a temporary file that becomes target at commit.
type pendingFile struct {
	target string
	tmp    *os.File
	buf    *bufio.Writer
	moved  bool
}

// create returns the writer of the file at path+suffix: a new temporary
// file beside it, or the stream for the main file ("") of a stream
// destination. Writes are counted in the stats' bytes.
func (o *fileOutputs) create(suffix string) (io.Writer, error) {
	if o.stream != nil {
		if suffix != "" {
			return nil, fmt.Errorf("standard output cannot hold a %s file", suffix)
		}
		return &countingWriter{w: o.stream, n: &o.bytes}, nil
	}
	target := o.path + suffix
	dir := filepath.Dir(target)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(target)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("cannot create a file in the folder %s: %w", dir, unwrapPathError(err))
	}
	f := &pendingFile{target: target, tmp: tmp, buf: bufio.NewWriterSize(tmp, fileBufferSize)}
	o.files = append(o.files, f)
	return &countingWriter{w: f.buf, n: &o.bytes}, nil
}

// commit flushes, syncs and closes every temporary file, then renames the
// files beside the main file into place, removes the stale ones, renames
// the main file last and syncs the folder.
func (o *fileOutputs) commit() error {
	if o.stream != nil {
		if err := o.stream.Flush(); err != nil {
			return o.fail("write", err)
		}
		return nil
	}
	for _, f := range o.files {
		if err := f.close(); err != nil {
			return o.fail("write", err)
		}
	}
	// The main file (the one created first, at path) moves last: a
	// reader that sees it sees the files beside it complete too.
	rest := o.files[1:]
	for _, f := range rest {
		if err := f.move(); err != nil {
			return o.fail("rename", err)
		}
	}
	for _, s := range o.stale {
		if err := os.Remove(s); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return o.fail("remove", err)
		}
	}
	if len(o.files) > 0 {
		if err := o.files[0].move(); err != nil {
			return o.fail("rename", err)
		}
	}
	if err := syncDir(filepath.Dir(o.path)); err != nil {
		return o.fail("sync the folder of", err)
	}
	return nil
}

// abort removes the temporary files not yet moved into place.
func (o *fileOutputs) abort() {
	for _, f := range o.files {
		if !f.moved {
			f.tmp.Close()
			os.Remove(f.tmp.Name())
		}
	}
}

// fail wraps err as a delivery failure of the target.
func (o *fileOutputs) fail(op string, err error) error {
	if errors.Is(err, ErrDelivery) {
		return err
	}
	return fmt.Errorf("%w: %s %s: %w", ErrDelivery, op, o.path, unwrapPathError(err))
}

func (f *pendingFile) close() error {
	err := f.buf.Flush()
	if err == nil {
		err = f.tmp.Sync()
	}
	if err == nil {
		// CreateTemp makes the file private; an export is for others to
		// read, as the file it replaces was.
		mode := fs.FileMode(0o644)
		if st, serr := os.Stat(f.target); serr == nil && st.Mode().IsRegular() {
			mode = st.Mode().Perm()
		}
		err = f.tmp.Chmod(mode)
	}
	if cerr := f.tmp.Close(); err == nil {
		err = cerr
	}
	return err
}

func (f *pendingFile) move() error {
	if err := os.Rename(f.tmp.Name(), f.target); err != nil {
		return err
	}
	f.moved = true
	return nil
}

// syncDir makes the renames in dir durable.
func syncDir(dir string) error {
	if runtime.GOOS == "windows" {
		return nil // folders cannot be opened for syncing there
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// unwrapPathError drops the *fs.PathError around err: messages name the
// target, not its temporary file.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n *int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	*c.n += int64(n)
	return n, err
}

// WriteString avoids a copy for writers that take strings.
func (c *countingWriter) WriteString(s string) (int, error) {
	n, err := io.WriteString(c.w, s)
	*c.n += int64(n)
	return n, err
}

// hasLineBreak reports whether s would break a file of one value a line.
func hasLineBreak(s string) bool { return strings.ContainsAny(s, "\n\r") }
