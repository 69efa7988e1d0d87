package sqlsyntax

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"sync"
	"time"

	"github.com/segmentkit/segmentkit/diag"
)

// The dialects whose grammars Validate knows.
const (
	// Spark is Spark SQL's grammar.
	Spark = "spark"
	// Trino is Trino's grammar.
	Trino = "trino"
)

var (
	// ErrDialect: Validate was asked for a dialect other than [Spark] and
	// [Trino].
	ErrDialect = diag.NewSentinel("sqlsyntax.dialect", "unknown dialect for the SQL syntax check")
	// ErrNoNode: Node.js (or npm, to build the bundle) is not on PATH,
	// or the node there is too old.
	ErrNoNode = diag.NewSentinel("sqlsyntax.no_node", "Node.js or npm is missing")
	// ErrBuild: the bundle of the grammars could not be built (npm ci or
	// esbuild failed, or the cache folder is not writable).
	ErrBuild = diag.NewSentinel("sqlsyntax.build", "the Spark SQL and Trino grammar bundle could not be built")
	// ErrChecker: a checker process failed: it ended, or answered what it
	// should not.
	ErrChecker = diag.NewSentinel("sqlsyntax.checker", "the SQL syntax checker failed")
)

// SyntaxError is one syntax error in a query, at a 1-based line and
// column of its text.
type SyntaxError struct {
	Line, Column int
	Message      string
}

// String returns the error as "line:column: message".
func (e SyntaxError) String() string {
	return fmt.Sprintf("%d:%d: %s", e.Line, e.Column, e.Message)
}

// std holds the checker processes of Validate.
var std = &checkers{}

// Validate parses each query with the dialect's grammar ([Spark] or
// [Trino]) and returns, for queries[i], its syntax errors at index i: none
// when it parses. The error is not about the queries: the dialect is
// unknown ([ErrDialect]), the checker cannot be built or started
// ([ErrNoNode], [ErrBuild]), it failed ([ErrChecker]), or ctx ended.
// The first call builds the bundle if it is missing and starts the
// dialect's checker process (see the package doc); it is safe to call
// from many goroutines.
func Validate(ctx context.Context, dialect string, queries []string) ([][]SyntaxError, error) {
	return std.validate(ctx, dialect, queries)
}

// Close stops the checker processes that Validate started, waiting for
// them to answer what they were asked. A later Validate starts them
// again.
func Close() error {
	return std.close()
}

// checkers is one checker process per dialect, started when first needed.
type checkers struct {
	mu    sync.Mutex
	procs map[string]*checker
}

func (c *checkers) validate(ctx context.Context, dialect string, queries []string) ([][]SyntaxError, error) {
	if dialect != Spark && dialect != Trino {
		return nil, fmt.Errorf("%w %q: want %q or %q", ErrDialect, dialect, Spark, Trino)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(queries) == 0 {
		return [][]SyntaxError{}, nil
	}
	for tries := 1; ; tries++ {
		p, err := c.get(ctx, dialect)
		if err != nil {
			return nil, err
		}
		res, err := p.check(ctx, queries)
		var gone endedBefore
		if errors.As(err, &gone) && tries < 2 {
			continue // it ended between get and check: start another
		}
		return res, err
	}
}

// endedBefore is check's error when the process had ended before the
// batch was sent.
type endedBefore struct{ err error }

func (e endedBefore) Error() string { return e.err.Error() }
func (e endedBefore) Unwrap() error { return e.err }

// get returns the dialect's running checker, starting one when there is
// none or the last one ended.
func (c *checkers) get(ctx context.Context, dialect string) (*checker, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p := c.procs[dialect]; p != nil && p.alive() {
		return p, nil
	}
	bundle, err := Build(ctx)
	if err != nil {
		return nil, err
	}
	node, err := nodePath()
	if err != nil {
		return nil, err
	}
	p, err := startChecker(node, bundle, dialect)
	if err != nil {
		return nil, err
	}
	if c.procs == nil {
		c.procs = map[string]*checker{}
	}
	c.procs[dialect] = p
	return p, nil
}

func (c *checkers) close() error {
	c.mu.Lock()
	procs := c.procs
	c.procs = nil
	c.mu.Unlock()
	var errs []error
	for _, p := range procs {
		if !p.alive() {
			continue // its end was reported to the batches it failed
		}
		errs = append(errs, p.stop())
	}
	return errors.Join(errs...)
}

// checker is one node process running the bundle for one dialect. Its
// requests carry ids; the reader goroutine hands each answer to the batch
// that waits for it.
type checker struct {
	dialect string
	cmd     *exec.Cmd
	stderr  *tail

	wmu   sync.Mutex // one batch writes its lines at a time
	stdin io.WriteCloser
	w     *bufio.Writer

	mu      sync.Mutex
	next    uint64
	pending map[uint64]slot
	failed  error // why the process ended, once it has
	exited  chan struct{}
}

// slot is where an answer goes: query i of a batch.
type slot struct {
	b *batch
	i int
}

// batch is one Validate call's queries, answered as the answers come.
type batch struct {
	res  [][]SyntaxError
	left int
	err  error
	done chan struct{}
}

// finish ends the batch with err (nil: all answered). The checker's mu is
// held.
func (b *batch) finish(err error) {
	select {
	case <-b.done:
		return
	default:
	}
	b.err = err
	close(b.done)
}

// request and answer are the lines of the protocol (js/validate.js).
type request struct {
	ID  uint64 `json:"id"`
	SQL string `json:"sql"`
}

type answer struct {
	ID     *uint64 `json:"id"`
	Errors []struct {
		Line    int    `json:"line"`
		Column  int    `json:"column"`
		Message string `json:"message"`
	} `json:"errors"`
	Fatal string `json:"fatal"`
}

func startChecker(node, bundle, dialect string) (*checker, error) {
	cmd := exec.Command(node, bundle, dialect)
	p := &checker{dialect: dialect, cmd: cmd, stderr: &tail{}, pending: map[uint64]slot{}, exited: make(chan struct{})}
	cmd.Stderr = p.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChecker, err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrChecker, err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s %s %s: %v", ErrChecker, node, bundle, dialect, err)
	}
	p.stdin, p.w = stdin, bufio.NewWriterSize(stdin, 64<<10)
	go p.read(stdout)
	return p, nil
}

func (p *checker) alive() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

// check sends the queries and waits for their answers.
func (p *checker) check(ctx context.Context, queries []string) ([][]SyntaxError, error) {
	b := &batch{res: make([][]SyntaxError, len(queries)), left: len(queries), done: make(chan struct{})}
	p.mu.Lock()
	if p.failed != nil {
		p.mu.Unlock()
		return nil, endedBefore{p.failed}
	}
	first := p.next
	p.next += uint64(len(queries))
	for i := range queries {
		p.pending[first+uint64(i)] = slot{b, i}
	}
	p.mu.Unlock()

	if err := p.send(ctx, first, queries); err != nil {
		if ctx.Err() == nil {
			// A pipe fails to write when the process has gone: the
			// reader then fails the batch with why, soon.
			select {
			case <-b.done:
			case <-ctx.Done():
			case <-time.After(10 * time.Second):
			}
		}
		p.forget(b, first, len(queries))
		if b.err != nil {
			return nil, b.err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: writing to the %s checker: %v", ErrChecker, p.dialect, err)
	}
	select {
	case <-b.done:
		if b.err != nil {
			return nil, b.err
		}
		return b.res, nil
	case <-ctx.Done():
		p.forget(b, first, len(queries))
		return nil, ctx.Err()
	}
}

// send writes the batch's requests, one line each.
func (p *checker) send(ctx context.Context, first uint64, queries []string) error {
	p.wmu.Lock()
	defer p.wmu.Unlock()
	enc := json.NewEncoder(p.w) // a line each: Encode ends with a newline
	for i, q := range queries {
		if i%64 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if err := enc.Encode(request{ID: first + uint64(i), SQL: q}); err != nil {
			return err
		}
	}
	return p.w.Flush()
}

// forget drops the batch's unanswered queries, whose late answers are
// then ignored, and ends the batch.
func (p *checker) forget(b *batch, first uint64, n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for id := first; id < first+uint64(n); id++ {
		if s, ok := p.pending[id]; ok && s.b == b {
			delete(p.pending, id)
		}
	}
	b.finish(b.err)
}

// read hands each answer to its batch until the process's output ends,
// then fails what is still pending with why the process ended.
func (p *checker) read(stdout io.Reader) {
	r := bufio.NewReaderSize(stdout, 64<<10)
	var bad error
	for {
		line, err := r.ReadBytes('\n')
		if len(strings.TrimSpace(string(line))) > 0 && bad == nil {
			if herr := p.handle(line); herr != nil {
				// A process that answers nonsense is not to be trusted
				// with the rest.
				bad = herr
				_ = p.cmd.Process.Kill()
			}
		}
		if err != nil {
			break
		}
	}
	werr := p.cmd.Wait()
	why := bad
	if why == nil {
		state := "exited"
		if werr != nil {
			state = werr.Error()
		}
		why = fmt.Errorf("%w: the %s checker process (node, pid %d) ended (%s)%s", ErrChecker, p.dialect, p.cmd.Process.Pid, state, p.stderr.quote())
	}
	p.mu.Lock()
	p.failed = why
	// Mark the process ended before its batches learn it, so that a
	// caller told of the failure finds it ended and starts another.
	close(p.exited)
	for id, s := range p.pending {
		s.b.finish(why)
		delete(p.pending, id)
	}
	p.mu.Unlock()
}

// handle records one answer line.
func (p *checker) handle(line []byte) error {
	var a answer
	if err := json.Unmarshal(line, &a); err != nil || a.ID == nil {
		return fmt.Errorf("%w: the %s checker answered %.200q, not an answer line (%v)", ErrChecker, p.dialect, line, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.pending[*a.ID]
	if !ok {
		return nil // a cancelled batch's
	}
	delete(p.pending, *a.ID)
	if a.Fatal != "" {
		s.b.finish(fmt.Errorf("%w: the %s checker failed on query %d of the batch: %s", ErrChecker, p.dialect, s.i, a.Fatal))
		return nil
	}
	if len(a.Errors) > 0 {
		errs := make([]SyntaxError, len(a.Errors))
		for i, e := range a.Errors {
			errs[i] = SyntaxError{Line: e.Line, Column: e.Column, Message: e.Message}
		}
		s.b.res[s.i] = errs
	}
	s.b.left--
	if s.b.left == 0 {
		s.b.finish(nil)
	}
	return nil
}

// stop closes the process's input, so that it answers what it has and
// exits, and kills it if it has not within a few seconds.
func (p *checker) stop() error {
	p.wmu.Lock()
	_ = p.stdin.Close() // fails only when the process has gone, as said below
	p.wmu.Unlock()
	select {
	case <-p.exited:
	case <-time.After(10 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%w: the %s checker process did not exit when its input closed; killed", ErrChecker, p.dialect)
	}
	if st := p.cmd.ProcessState; st != nil && !st.Success() {
		return fmt.Errorf("%w: the %s checker process ended with %s%s", ErrChecker, p.dialect, st, p.stderr.quote())
	}
	return nil
}

// tail keeps the last few kilobytes written to it: a process's standard
// error, quoted when it fails.
type tail struct {
	mu  sync.Mutex
	buf []byte
}

const tailSize = 8 << 10

func (t *tail) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, b...)
	if len(t.buf) > tailSize {
		t.buf = append(t.buf[:0], t.buf[len(t.buf)-tailSize:]...)
	}
	return len(b), nil
}

// quote returns ": its standard error said:\n..." or "" when it said
// nothing.
func (t *tail) quote() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	s := strings.TrimSpace(string(t.buf))
	if s == "" {
		return ""
	}
	return "; its standard error said:\n" + s
}
