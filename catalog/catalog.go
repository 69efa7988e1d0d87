package catalog

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jonboulle/clockwork"
	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/segment"
)

// Sentinel errors of the catalog package. Every error a Catalog returns for
// one of these conditions wraps the sentinel; test with errors.Is.
var (
	// ErrNotFound: no segment (or running job) has that name or id. The
	// message suggests the nearest existing name when one is close.
	ErrNotFound = diag.NewSentinel("catalog.not_found", "not found")
	// ErrNoMembers is wrapped by the error for a segment that has never
	// been refreshed where its members are needed (an overlap): having no
	// members yet is not having none.
	ErrNoMembers = diag.NewSentinel("catalog.no_members", "has no members yet")
	// ErrExists: a segment of that name already exists.
	ErrExists = diag.NewSentinel("catalog.exists", "already exists")
	// ErrInvalidName: a segment name is not 1 to 128 letters, digits, '_'
	// and '-', a definition has no readable name, or a definition's name
	// does not match the segment it edits.
	ErrInvalidName = diag.NewSentinel("catalog.invalid_name", "invalid segment name")
	// ErrDraft: the segment is a draft (its definition does not validate),
	// so it cannot be activated; the error also holds the problems.
	ErrDraft = diag.NewSentinel("catalog.draft", "is a draft")
	// ErrInvalid: a saved definition no longer validates against the
	// current data's schema, so the segment cannot be activated.
	ErrInvalid = diag.NewSentinel("catalog.invalid", "does not validate")
	// ErrReferenced: the segment is referenced by other segments and cannot
	// be deleted.
	ErrReferenced = diag.NewSentinel("catalog.referenced", "is referenced")
	// ErrCycle: segment references form a cycle. It is the segment
	// package's sentinel, reported as a draft problem.
	ErrCycle = segment.ErrSegmentCycle
	// ErrNewerFormat: the catalog file was written by a newer version of
	// segmentkit, with a format this version cannot read.
	ErrNewerFormat = diag.NewSentinel("catalog.newer_format", "catalog file format is newer than this segmentkit")
	// ErrNotCatalog: the file is not a segmentkit catalog.
	ErrNotCatalog = diag.NewSentinel("catalog.not_catalog", "not a segmentkit catalog file")
	// ErrLocked: another process has the catalog file open.
	ErrLocked = diag.NewSentinel("catalog.locked", "catalog file is in use by another process")
	// ErrClosed: the catalog is closed.
	ErrClosed = diag.NewSentinel("catalog.closed", "catalog is closed")
	// ErrNoSource: the call needs data (a schema to validate against, or a
	// snapshot to refresh, preview or download) and Options.Source is nil.
	ErrNoSource = diag.NewSentinel("catalog.no_source", "catalog has no data source")
	// ErrCancelled: a refresh job was cancelled, by CancelJob, by its
	// context or by Close.
	ErrCancelled = diag.NewSentinel("catalog.cancelled", "cancelled")
	// ErrSchedule: a cron specification does not parse.
	ErrSchedule = diag.NewSentinel("catalog.schedule", "invalid schedule")
	// ErrUnknownField: a download or export field names no customer
	// attribute or measure. It is the export package's sentinel (code
	// export.unknown_field; catalog.unknown_field before exports existed).
	// measure.
	ErrUnknownField = export.ErrUnknownField
	// ErrCorrupt: the catalog file holds a record that does not decode, or
	// its records do not agree with each other (see Verify).
	ErrCorrupt = diag.NewSentinel("catalog.corrupt", "catalog file is corrupt")
	// ErrSplit: a split's groups are not valid (fewer than two, a bad or
	// repeated name, percentages that are not multiples of 0.01 or do not
	// add up to 100, two holdouts). Each problem wraps it.
	ErrSplit = diag.NewSentinel("catalog.split", "invalid split")
	// ErrHoldout: an export of a split's holdout group, which no export
	// receives, or a change that would make an exported group the holdout.
	ErrHoldout = diag.NewSentinel("catalog.holdout", "holdout group")
	// ErrPriorityList: a priority list is not valid (a bad name, no
	// entries, an entry given twice, a holdout as an entry). Each problem
	// wraps it, or ErrNotFound for an entry naming no segment or group.
	ErrPriorityList = diag.NewSentinel("catalog.priority_list", "invalid priority list")
	// ErrReadOnly: a call that changes the catalog, on a catalog opened
	// with Options.ReadOnly.
	ErrReadOnly = diag.NewSentinel("catalog.read_only", "catalog is open read-only")
)

func init() { diag.RenameCode("catalog.unknown_field", export.ErrUnknownField) }

// Options configures Open. The zero value is usable for a catalog that only
// lists, renames, deletes and (de)activates segments without refreshing
// them; give a Source to create, edit, refresh, preview and download.
type Options struct {
	// Clock is the source of time for every timestamp the catalog records
	// and for the Scheduler. Nil means the real clock.
	Clock clockwork.Clock
	// Source is where the customer data comes from. Nil means none: calls
	// that need data return ErrNoSource.
	Source Source
	// Workers bounds how many segments one refresh job evaluates at once.
	// Zero means runtime.GOMAXPROCS(0).
	Workers int
	// JobRetention is how many finished jobs the file keeps; older ones are
	// removed when a job ends. Zero means 1000.
	JobRetention int
	// OpenDestination opens the export destination a target names
	// (DestinationOptions.To). Nil means export.ParseDestination; tests
	// and programs with destinations of their own give another.
	OpenDestination func(target string) (export.Destination, error)
	// LockTimeout is how long Open waits for another process to release
	// the file. Zero means 5 seconds; negative means wait forever.
	LockTimeout time.Duration
	// ChangeRetention is how long the file keeps the record of who
	// entered and left each segment at each refresh (Changes,
	// SegmentsOf), counted from the refresh's time on Clock: older
	// records are removed when a refresh commits. Zero means
	// DefaultChangeRetention (90 days); negative means none is kept, so
	// none is recorded (and those of earlier runs go at the next refresh).
	ChangeRetention time.Duration
	// ReadOnly opens the file for reading only, so that a file or
	// directory the process may not write can be read: calls that would
	// change the catalog (and refresh and export jobs) return ErrReadOnly,
	// and jobs a previous process left unfinished are shown as they were
	// left. Other processes may read the file at the same time.
	ReadOnly bool

	// asLeft: a ReadOnly catalog that cannot be written is read as it is.
	asLeft bool
}

// DefaultChangeRetention is the ChangeRetention of a zero Options: 90
// days.
const DefaultChangeRetention = 90 * 24 * time.Hour

// Catalog is a durable set of segments: their definitions, states and
// schedules, the refresh jobs run on them, their member history and
// current members. It lives in one bbolt file.
//
// A Catalog is safe for concurrent use by many goroutines. Every call that
// changes the catalog commits one transaction (with fsync) before it
// returns, so a crash at any moment loses nothing a call has returned as
// done. Only one process may have the file open at a time.
//
// A method that takes a context needs a non-nil one (context.Background()
// when there is nothing to cancel): a nil ctx is a programming error, and
// the method may panic on it.
type Catalog struct {
	db    *bolt.DB
	path  string
	clock clockwork.Clock
	src   Source
	opts  Options

	// jobSem serializes refresh jobs: one runs at a time and later ones
	// wait with status "not started".
	jobSem chan struct{}
	// exportSem serializes export jobs.
	exportSem chan struct{}

	mu      sync.Mutex
	closed  bool
	done    chan struct{}      // closed by Close
	changed chan struct{}      // closed and replaced when schedules change
	running map[uint64]*runJob // jobs not yet finished, by id
	calls   sync.WaitGroup     // calls in flight, for Close

	trans translationCache
	fp    fingerprintCache
	kidx  keyIndexCache
	// stamps are the evaluations behind stored members, for reuse.
	stamps stampCache
}

// Open opens the catalog file at path, creating it if it does not exist.
// It refuses a file of a newer format version (ErrNewerFormat) and a file
// that is not a catalog (ErrNotCatalog). Jobs that a previous process left
// unfinished (it crashed or was killed) are marked failed. The caller must
// Close the catalog.
//
// With Options.ReadOnly, a file that needs writing first (jobs to mark
// failed, buckets of a newer segmentkit to add) is opened once for
// writing to do that, if the process may write it; if it may not, the
// jobs are shown as they were left, and a file without the newer buckets
// is refused (ErrReadOnly).
func Open(path string, opts Options) (*Catalog, error) {
	c, err := open(path, opts)
	if !errors.Is(err, errNeedsWrite) {
		return c, err
	}
	rw := opts
	rw.ReadOnly = false
	c, err = open(path, rw)
	switch {
	case err == nil:
		if err := c.Close(); err != nil {
			return nil, err
		}
	case errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS):
		opts.asLeft = true
	default:
		return nil, err
	}
	return open(path, opts)
}

// errNeedsWrite: init of a read-only catalog found the file needing
// writes.
var errNeedsWrite = errors.New("the catalog file needs writing")

func open(path string, opts Options) (*Catalog, error) {
	timeout := opts.LockTimeout
	switch {
	case timeout == 0:
		timeout = 5 * time.Second
	case timeout < 0:
		timeout = 0
	}
	if err := checkFile(path, timeout); err != nil {
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	db, err := openBolt(path, timeout, opts.ReadOnly)
	if err != nil {
		switch {
		case errors.Is(err, bolterrors.ErrTimeout):
			return nil, fmt.Errorf("open catalog %s: %w", path, ErrLocked)
		case errors.Is(err, bolterrors.ErrInvalid), errors.Is(err, bolterrors.ErrVersionMismatch), errors.Is(err, bolterrors.ErrChecksum):
			return nil, fmt.Errorf("open catalog %s: %w: %w", path, ErrNotCatalog, err)
		}
		var pe *os.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("open catalog %s: %w", path, pe.Err)
		}
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.JobRetention <= 0 {
		opts.JobRetention = 1000
	}
	if opts.ChangeRetention == 0 {
		opts.ChangeRetention = DefaultChangeRetention
	}
	c := &Catalog{
		db:        db,
		path:      path,
		clock:     opts.Clock,
		src:       opts.Source,
		opts:      opts,
		jobSem:    make(chan struct{}, 1),
		exportSem: make(chan struct{}, 1),
		done:      make(chan struct{}),
		changed:   make(chan struct{}),
		running:   map[uint64]*runJob{},
	}
	if err := c.init(); err != nil {
		db.Close()
		if errors.Is(err, errNeedsWrite) {
			return nil, err
		}
		return nil, fmt.Errorf("open catalog %s: %w", path, err)
	}
	return c, nil
}

// openBolt is bolt.Open, with a damaged file reported as ErrCorrupt: bbolt
// checks the pages it reads by panicking, and a page it reads outside the
// file faults.
func openBolt(path string, timeout time.Duration, readOnly bool) (db *bolt.DB, err error) {
	err = guard(func() error {
		var err error
		db, err = bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, ReadOnly: readOnly})
		return err
	})
	return db, err
}

// guard runs f, which reads the file through bbolt, with a fault on the
// memory map made a panic (debug.SetPanicOnFault) and a panic raised in
// bbolt, or a fault, returned as ErrCorrupt: bbolt checks what it reads
// by panicking. Open walks the pages before bbolt does (checkPages), so
// this is the second line; a panic of the catalog's own code is a bug and
// goes on.
func guard(f func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if !damagePanic(r) {
				panic(r)
			}
			err = damageError(r)
		}
	}()
	return f()
}

// damageError is the ErrCorrupt for the panic r raised reading the file:
// bbolt's own checks say what they found; a Go runtime error (a fault on
// the memory map, an index out of range) is not quoted, as its text says
// nothing to the user.
func damageError(r any) error {
	if _, ok := r.(runtime.Error); ok {
		return corrupt("bbolt could not read its pages: a page is damaged")
	}
	return corrupt("bbolt could not read its pages (%s)", excerpt(fmt.Sprint(r)))
}

// damagePanic reports whether the panic r, being recovered, is a memory
// fault or was raised inside bbolt.
func damagePanic(r any) bool {
	if e, ok := r.(interface{ Addr() uintptr }); ok && e.Addr() != 0 {
		return true
	}
	// The panicking frames are still on the stack while deferred calls run.
	pcs := make([]uintptr, 64)
	frames := runtime.CallersFrames(pcs[:runtime.Callers(3, pcs)])
	for {
		fr, more := frames.Next()
		if strings.HasPrefix(fr.Function, "go.etcd.io/bbolt") {
			return true
		}
		if strings.HasPrefix(fr.Function, "github.com/segmentkit/segmentkit/catalog.") || !more {
			return false
		}
	}
}

// excerpt bounds a text quoted from the file to 200 bytes.
func excerpt(s string) string {
	const max = 200
	if len(s) <= max {
		return s
	}
	return strings.ToValidUTF8(s[:max], "") + "..."
}

// Path returns the catalog file's path as given to Open.
func (c *Catalog) Path() string { return c.path }

// Close cancels running refresh jobs (they end as cancelled), waits for
// calls in flight to return, and closes the file. Calls after Close return
// ErrClosed. Close is idempotent.
func (c *Catalog) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	close(c.done)
	for _, r := range c.running {
		r.cancel(ErrClosed)
	}
	c.mu.Unlock()
	c.calls.Wait()
	return c.db.Close()
}

// enter registers a call in flight; it fails once the catalog is closed.
// Every successful enter is matched by a leave.
func (c *Catalog) enter() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	c.calls.Add(1)
	return nil
}

func (c *Catalog) leave() { c.calls.Done() }

// changes returns a channel that is closed at the next change of anything
// the Scheduler watches: states, scheduled (de)activations, per-segment
// schedules, segments created, renamed or deleted.
func (c *Catalog) changes() <-chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.changed
}

// notify wakes everything waiting on changes.
func (c *Catalog) notify() {
	c.mu.Lock()
	defer c.mu.Unlock()
	close(c.changed)
	c.changed = make(chan struct{})
}

// now returns the clock's time in UTC, the form every record stores.
func (c *Catalog) now() time.Time { return c.clock.Now().UTC() }

// update runs fn in one write transaction, committed (and synced) before
// it returns.
// A damaged file is reported as ErrCorrupt (guard).
func (c *Catalog) update(fn func(tx *bolt.Tx) error) error {
	if c.opts.ReadOnly {
		return fmt.Errorf("%w: %s was opened read-only", ErrReadOnly, c.path)
	}
	return guard(func() error { return c.db.Update(fn) })
}

// view runs fn in one read transaction.
// A damaged file is reported as ErrCorrupt (guard).
func (c *Catalog) view(fn func(tx *bolt.Tx) error) error {
	return guard(func() error { return c.db.View(fn) })
}

// sourceOrErr returns the data source or ErrNoSource.
func (c *Catalog) sourceOrErr() (Source, error) {
	if c.src == nil {
		return nil, ErrNoSource
	}
	return c.src, nil
}

// oneLine joins the lines of s with "; ", for messages kept on one line.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(s)
}
