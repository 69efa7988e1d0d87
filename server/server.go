package server

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/storage"
)

//go:embed web
var webFS embed.FS

// Defaults of Options.
const (
	DefaultMaxBody        = 1 << 20
	DefaultRequestTimeout = 60 * time.Second
	DefaultReloadInterval = 2 * time.Second
	DefaultSessionTTL     = 12 * time.Hour
)

// ErrConfig reports Options a server cannot start with.
var ErrConfig = diag.NewSentinel("server.config", "invalid server configuration")

// Options configures a Server.
type Options struct {
	// Catalog is the catalog the server owns; required. The server does
	// not close it.
	Catalog *catalog.Catalog
	// Source is the catalog's data source, for the reads that need the
	// data (previews go through the catalog; evaluations, estimates and
	// insights through the snapshot the server keeps); required.
	Source catalog.Source
	// RequireTokens makes every API call present a token or a session
	// made from one. Serve sets it when the address is not loopback.
	RequireTokens bool
	// MaxBody bounds a request body; zero means DefaultMaxBody.
	MaxBody int64
	// RequestTimeout bounds a request's work (downloads excepted, which
	// stream for as long as the client reads); zero means
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// ReloadInterval is how often the data directory is checked for
	// changes; zero means DefaultReloadInterval, negative never.
	ReloadInterval time.Duration
	// SessionTTL is how long a page session lives unused; zero means
	// DefaultSessionTTL.
	SessionTTL time.Duration
	// Logger receives one line per request and the reloads; nil
	// discards. Tokens and cookies are never logged.
	Logger *slog.Logger
	// Clock is the server's clock; nil means the real one.
	Clock clockwork.Clock
}

// Server serves the API and the page. Create it with New, serve its
// Handler, and Close it.
type Server struct {
	opts     Options
	cat      *catalog.Catalog
	log      *slog.Logger
	clock    clockwork.Clock
	handler  http.Handler
	sessions *sessions

	mu  sync.Mutex
	cur *snapshotRef

	// jobs is the context of the jobs the API starts: they outlive their
	// requests and are cancelled by Close.
	jobs     context.Context
	stopJobs context.CancelFunc
	wg       sync.WaitGroup
	closed   atomic.Bool
}

// snapshotRef is a loaded snapshot with the statistics quick segments
// read, shared by the requests that started while it was current.
type snapshotRef struct {
	snap    *storage.Snapshot
	release func()
	stats   *quick.Stats
	loaded  time.Time
	refs    atomic.Int64
}

func (r *snapshotRef) done() {
	if r.refs.Add(-1) == 0 {
		r.release()
	}
}

// New loads the data (through opts.Source) and returns a server over it.
// Its background reloads run until Close.
func New(ctx context.Context, opts Options) (*Server, error) {
	if opts.Catalog == nil || opts.Source == nil {
		return nil, fmt.Errorf("%w: a catalog and a data source are required", ErrConfig)
	}
	if opts.MaxBody <= 0 {
		opts.MaxBody = DefaultMaxBody
	}
	if opts.RequestTimeout <= 0 {
		opts.RequestTimeout = DefaultRequestTimeout
	}
	if opts.ReloadInterval == 0 {
		opts.ReloadInterval = DefaultReloadInterval
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = DefaultSessionTTL
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	s := &Server{opts: opts, cat: opts.Catalog, log: opts.Logger, clock: opts.Clock}
	s.sessions = newSessions(opts.Clock, opts.SessionTTL)
	if err := s.reload(ctx); err != nil {
		return nil, err
	}
	s.jobs, s.stopJobs = context.WithCancel(context.Background())
	s.handler = s.routes()
	if opts.ReloadInterval > 0 {
		s.wg.Go(s.watch)
	}
	return s, nil
}

// Handler returns the server's HTTP handler: the API under /api/ and the
// page at /.
func (s *Server) Handler() http.Handler { return s.handler }

// Close cancels the jobs the API started and waits for them to be
// recorded as cancelled, stops the reloads and releases the snapshot. It
// does not close the catalog.
func (s *Server) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.stopJobs()
	s.wg.Wait()
	s.mu.Lock()
	cur := s.cur
	s.cur = nil
	s.mu.Unlock()
	if cur != nil {
		cur.done()
	}
	return nil
}

// watch reloads the data when it changes, until Close.
func (s *Server) watch() {
	t := s.clock.NewTicker(s.opts.ReloadInterval)
	defer t.Stop()
	for {
		select {
		case <-s.jobs.Done():
			return
		case <-t.Chan():
			if err := s.reload(s.jobs); err != nil && s.jobs.Err() == nil {
				s.log.Warn("reload the data", "err", err)
			}
		}
	}
}

// reload asks the source for its current snapshot and makes it the one
// new requests read, when it is new.
func (s *Server) reload(ctx context.Context) error {
	snap, release, err := s.opts.Source.Snapshot(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	old := s.cur
	if old != nil && old.snap == snap {
		s.mu.Unlock()
		release()
		return nil
	}
	s.mu.Unlock()
	ref := &snapshotRef{snap: snap, release: release, stats: quick.New(snap, quick.Options{}), loaded: s.clock.Now()}
	ref.refs.Store(1)
	s.mu.Lock()
	old, s.cur = s.cur, ref
	s.mu.Unlock()
	if old != nil {
		old.done()
		s.log.Info("data reloaded", "source", s.opts.Source.String(), "customers", snap.NumCustomers(), "load", snap.LoadInfo().String())
	}
	return nil
}

// acquire returns the current snapshot; the caller calls done once.
func (s *Server) acquire() (*snapshotRef, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil {
		return nil, catalog.ErrClosed
	}
	s.cur.refs.Add(1)
	return s.cur, nil
}

// IsLoopback reports whether addr (host:port, as given to Serve) binds
// only loopback interfaces: a loopback IP, or localhost.
func IsLoopback(addr string) bool {
	_, _, err := net.SplitHostPort(addr)
	return err == nil && loopbackHost(addr)
}

// assets returns the page's files.
func assets() fs.FS {
	sub, err := fs.Sub(webFS, "web")
	if err != nil {
		panic(err) // the embedded directory exists at build time
	}
	return sub
}

// Serve serves h on addr until ctx ends, then shuts down gracefully,
// giving requests in flight up to grace to finish. ready, when not nil,
// is called with the address listened on.
func Serve(ctx context.Context, addr string, h http.Handler, grace time.Duration, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
	}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	err = srv.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = srv.Close()
	}
	<-errc
	return err
}
