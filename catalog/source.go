package catalog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

// Source is where a catalog gets its customer data. Implementations must
// be safe for concurrent use. The catalog always passes a non-nil ctx.
type Source interface {
	// Schema returns the data's schema, for validating definitions. It
	// should be cheap: it is called on every create and edit. The caller
	// must not modify the schema.
	Schema(ctx context.Context) (*schema.Schema, error)
	// Snapshot returns the current data. The caller calls release exactly
	// once when it no longer reads the snapshot; the snapshot must stay
	// valid until then.
	Snapshot(ctx context.Context) (snap *storage.Snapshot, release func(), err error)
	// String describes the source for job records ("data directory ...").
	String() string
}

// DirSource loads a data directory (FORMAT.md section 1). It keeps the
// loaded snapshot and reloads only when schema.json or an entity's source
// file changes (size or modification time), so repeated refreshes of
// unchanged data do not reload it. It loads with storage.LoadCached, so a
// process that starts on a directory whose snapshot file is current
// (written by an earlier load) opens that file in well under a second
// instead of reading the data files; the snapshot file is checked whole
// (storage.Options.VerifySnapshotFile) before the catalog uses it. Set
// storage.Options.NoSnapshotCache to read the data files every time.
// Create it with NewDirSource; it is safe for concurrent use, and
// concurrent callers share one load.
type DirSource struct {
	dir  string
	opts storage.Options

	loadSem chan struct{} // one load at a time

	mu        sync.Mutex
	cur       *sharedSnap
	curSig    []fileSig
	schemaSig fileSig
	schema    *schema.Schema
	closed    bool
}

var _ Source = (*DirSource)(nil)
var _ Source = SnapshotSource{}

// NewDirSource returns a source that loads dir with opts. Call Close when
// done to release the cached snapshot.
func NewDirSource(dir string, opts storage.Options) *DirSource {
	return &DirSource{dir: dir, opts: opts, loadSem: make(chan struct{}, 1)}
}

// String returns "data directory DIR".
func (s *DirSource) String() string { return "data directory " + s.dir }

// Dir returns the directory.
func (s *DirSource) Dir() string { return s.dir }

// fileSig identifies one version of a file.
type fileSig struct {
	path  string
	size  int64
	mtime int64
	err   string
}

func statSig(path string) fileSig {
	st, err := os.Stat(path)
	if err != nil {
		return fileSig{path: path, err: err.Error()}
	}
	return fileSig{path: path, size: st.Size(), mtime: st.ModTime().UnixNano()}
}

// Schema reads and parses schema.json, from cache when the file has not
// changed. ctx must be non-nil.
func (s *DirSource) Schema(ctx context.Context) (*schema.Schema, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.schemaLocked()
}

func (s *DirSource) schemaLocked() (*schema.Schema, error) {
	path := filepath.Join(s.dir, "schema.json")
	sig := statSig(path)
	if s.schema != nil && sig == s.schemaSig {
		return s.schema, nil
	}
	data, err := schema.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s, err)
	}
	sch, err := schema.Parse(data)
	if err != nil {
		return nil, err
	}
	s.schema, s.schemaSig = sch, sig
	return sch, nil
}

// signature stats schema.json and every source file it names.
func (s *DirSource) signature() []fileSig {
	s.mu.Lock()
	sch, err := s.schemaLocked()
	s.mu.Unlock()
	sigs := []fileSig{statSig(filepath.Join(s.dir, "schema.json"))}
	if err != nil {
		return append(sigs, fileSig{path: "schema", err: err.Error()})
	}
	for _, e := range sch.Entities {
		sigs = append(sigs, statSig(filepath.Join(s.dir, filepath.FromSlash(e.File))))
	}
	return sigs
}

// Snapshot returns the directory's data, loading it if no snapshot is
// cached or a file changed since. The snapshot stays valid until release
// is called, even if a later call loads a newer one. ctx must be non-nil.
func (s *DirSource) Snapshot(ctx context.Context) (*storage.Snapshot, func(), error) {
	select {
	case s.loadSem <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("%s: %w", s, ctx.Err())
	}
	defer func() { <-s.loadSem }()
	sig := s.signature()
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, fmt.Errorf("%s: %w", s, errSourceClosed)
	}
	if s.cur != nil && slices.Equal(sig, s.curSig) {
		sh := s.cur.acquire()
		s.mu.Unlock()
		return sh.snap, sh.releaseFunc(), nil
	}
	s.mu.Unlock()
	opts := s.opts
	opts.VerifySnapshotFile = true
	snap, err := storage.LoadCached(ctx, s.dir, opts)
	if err != nil {
		return nil, nil, err
	}
	sh := &sharedSnap{snap: snap}
	sh.refs.Store(1) // the caller's
	// A file that changed while loading makes the signature differ; the
	// snapshot is then not cached, and the next call loads again.
	after := s.signature()
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.closed && slices.Equal(sig, after) {
		if s.cur != nil {
			s.cur.release()
		}
		sh.refs.Add(1) // the cache's
		s.cur, s.curSig = sh, sig
	}
	return snap, sh.releaseFunc(), nil
}

var errSourceClosed = errors.New("source is closed")

// Close releases the cached snapshot (callers still holding it keep it
// until they release it). Later Snapshot calls fail.
func (s *DirSource) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.cur != nil {
		s.cur.release()
		s.cur = nil
	}
	return nil
}

// sharedSnap counts the holders of a snapshot and releases it when the
// last one lets go.
type sharedSnap struct {
	snap *storage.Snapshot
	refs atomic.Int64
}

func (sh *sharedSnap) acquire() *sharedSnap {
	sh.refs.Add(1)
	return sh
}

func (sh *sharedSnap) release() {
	if sh.refs.Add(-1) == 0 {
		sh.snap.Release()
	}
}

// releaseFunc returns a release function that is safe to call more than
// once.
func (sh *sharedSnap) releaseFunc() func() {
	var once sync.Once
	return func() { once.Do(sh.release) }
}

// SnapshotSource serves a snapshot the caller holds. The caller keeps
// ownership: it must not release Snap while the catalog may use it.
type SnapshotSource struct {
	Snap *storage.Snapshot
	// Name describes the snapshot in job records; "" means "snapshot".
	Name string
}

// Schema returns the snapshot's schema.
func (s SnapshotSource) Schema(ctx context.Context) (*schema.Schema, error) {
	if s.Snap == nil {
		return nil, errors.New("snapshot source has no snapshot")
	}
	return s.Snap.Schema(), nil
}

// Snapshot returns Snap with a release function that does nothing.
func (s SnapshotSource) Snapshot(ctx context.Context) (*storage.Snapshot, func(), error) {
	if s.Snap == nil {
		return nil, nil, errors.New("snapshot source has no snapshot")
	}
	return s.Snap, func() {}, nil
}

// String returns Name, or "snapshot".
func (s SnapshotSource) String() string {
	if s.Name == "" {
		return "snapshot"
	}
	return s.Name
}

// loadData gets a snapshot from the catalog's source and its key-list
// hash, timing the load.
func (c *Catalog) loadData(ctx context.Context) (*loadedData, error) {
	src, err := c.sourceOrErr()
	if err != nil {
		return nil, err
	}
	start := c.clock.Now()
	snap, release, err := src.Snapshot(ctx)
	if err != nil {
		return nil, fmt.Errorf("load the data of %s: %w", src, err)
	}
	if snap == nil {
		if release != nil {
			release()
		}
		return nil, fmt.Errorf("%s returned no snapshot", src)
	}
	if release == nil {
		release = func() {}
	}
	keys, err := c.fp.get(ctx, snap)
	if err != nil {
		release()
		return nil, err
	}
	return &loadedData{snap: snap, release: release, keys: keys, loadTime: c.clock.Since(start), source: src.String()}, nil
}

// loadedData is a snapshot in use by one call.
type loadedData struct {
	snap     *storage.Snapshot
	release  func()
	keys     [32]byte
	loadTime time.Duration
	source   string
}
