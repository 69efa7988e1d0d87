package storage

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/regular"
	"github.com/segmentkit/segmentkit/schema"
)

// How Load builds a snapshot in one pass.
//
// Every entity loads on a goroutine of its own, and its work runs as
// tasks (parsing a CSV file, decoding and placing a column, indexing keys,
// resolving a relationship), as many at once as there are cores. An
// entity without relationship paths (the customer entity among them) is
// read in file order, a column per task. A related entity is read in
// three steps:
//
//  1. its key column, in file order, which is indexed;
//  2. once the entities its relationships lead to have done step 2, each
//     foreign key column, resolved batch by batch to rows of the other
//     side, and from those the customer of every row along every path,
//     and from the first path the row each row takes once sorted by
//     customer (clusterPlace);
//  3. every column, a task each, its values written straight to their
//     clustered rows as the batches are decoded (placer).
//
// The key and foreign key columns are thus decoded twice, a Parquet
// column each time from the file, rather than kept in file order beside
// the snapshot. Decoded batches come from a scratch pool and go back to it
// once placed.
//
// Problems are those the entity by entity reading always reported, in
// the same order: the first entity in schema order whose data cannot be
// read, else the first whose keys are not unique and present. Within an
// entity, a row group that cannot be decoded comes before any value, and
// values go by attribute order. Once an entity fails, it and the entities
// that depend on it only read all their columns, in file order, for
// problems with their data.

// loader is one run of Load.
type loader struct {
	ctx     context.Context
	dir     string
	sch     *schema.Schema
	opts    *Options
	mem     memory.Allocator // the snapshot's
	scratch *scratchPool
	tokens  *tokens
	ents    []*entityLoad // in schema order
	byName  map[string]*entityLoad
	reports chan progressReport // nil without Options.Progress
}

// progressReport is a call of Options.Progress to make from the
// goroutine that runs Load; done is closed once it returns.
type progressReport struct {
	entity            string
	rows, read, total int64
	done              chan struct{}
}

func newLoader(ctx context.Context, dir string, sch *schema.Schema, opts *Options) *loader {
	l := &loader{ctx: ctx, dir: dir, sch: sch, opts: opts, mem: opts.allocator(),
		tokens: &tokens{free: runtime.GOMAXPROCS(0)}, byName: map[string]*entityLoad{}}
	l.scratch = newScratchPool(l.mem)
	if opts.Progress != nil {
		l.reports = make(chan progressReport)
	}
	for i := range sch.Entities {
		e := &sch.Entities[i]
		el := &entityLoad{l: l, index: i, e: e, paths: sch.Paths(e.Name), tooMany: tooManyErr(sch, e),
			keysReady: make(chan struct{}), ready: make(chan struct{}), reports: map[string]LinkReport{}, dangling: map[string][]danglingKey{}}
		el.holders.Store(1)
		l.ents = append(l.ents, el)
		l.byName[e.Name] = el
	}
	for _, r := range sch.Relationships {
		from, to := l.byName[r.From.Entity], l.byName[r.To.Entity]
		from.rels = append(from.rels, r)
		if !slices.Contains(from.deps, to) {
			from.deps = append(from.deps, to)
			to.holders.Add(1)
			to.dependents++
		}
	}
	return l
}

// work runs fn as a task: it waits for a core's turn unless ctx is done.
// Urgent tasks get their turn first: those that let other entities go on
// (keys, relationships, the sort by customer), before the columns.
func (l *loader) work(urgent bool, fn func() error) error {
	if err := l.tokens.acquire(l.ctx, urgent); err != nil {
		return err
	}
	defer l.tokens.release()
	return fn()
}

// tokens hands out turns on the cores, urgent waiters first.
type tokens struct {
	mu             sync.Mutex
	free           int
	urgent, normal []chan struct{}
}

func (t *tokens) acquire(ctx context.Context, urgent bool) error {
	t.mu.Lock()
	if t.free > 0 {
		t.free--
		t.mu.Unlock()
		return nil
	}
	turn := make(chan struct{})
	if urgent {
		t.urgent = append(t.urgent, turn)
	} else {
		t.normal = append(t.normal, turn)
	}
	t.mu.Unlock()
	select {
	case <-turn:
		return nil
	case <-ctx.Done():
	}
	t.mu.Lock()
	waiting := false
	for _, q := range []*[]chan struct{}{&t.urgent, &t.normal} {
		if i := slices.Index(*q, turn); i >= 0 {
			*q = slices.Delete(*q, i, i+1)
			waiting = true
		}
	}
	t.mu.Unlock()
	if !waiting {
		// The turn came as ctx ended: pass it on.
		t.release()
	}
	return ctx.Err()
}

func (t *tokens) release() {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, q := range []*[]chan struct{}{&t.urgent, &t.normal} {
		if len(*q) > 0 {
			close((*q)[0])
			*q = (*q)[1:]
			return
		}
	}
	t.free++
}

// progress reports, through the goroutine that runs Load, and waits until
// the report is made.
func (l *loader) progress(entity string, rows, read, total int64) {
	if l.reports == nil {
		return
	}
	r := progressReport{entity: entity, rows: rows, read: read, total: total, done: make(chan struct{})}
	l.reports <- r
	<-r.done
}

// run loads every entity and assembles the snapshot.
func (l *loader) run() (*Snapshot, error) {
	defer l.scratch.close()
	var wg sync.WaitGroup
	for _, el := range l.ents {
		wg.Go(el.load)
	}
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	for waiting := true; waiting; {
		select {
		case r := <-l.reports:
			l.opts.Progress(r.entity, r.rows, r.read, r.total)
			close(r.done)
		case <-done:
			waiting = false
		}
	}
	s, err := l.assemble()
	if err != nil {
		for _, el := range l.ents {
			if el.table != nil {
				el.table.release()
			}
		}
		return nil, err
	}
	return s, nil
}

// assemble returns the snapshot of the loaded entities, or the problem
// Load reports.
func (l *loader) assemble() (*Snapshot, error) {
	if err := l.ctx.Err(); err != nil {
		for _, el := range l.ents {
			if el.err != nil && errors.Is(el.err, err) {
				return nil, el.err
			}
		}
		return nil, fmt.Errorf("load %s: %w", l.dir, err)
	}
	for _, el := range l.ents {
		if el.readErr != nil {
			return nil, el.readErr
		}
	}
	for _, el := range l.ents {
		if el.keyErr != nil {
			return nil, el.keyErr
		}
	}
	for _, el := range l.ents {
		if el.err != nil {
			return nil, el.err
		}
		if el.table == nil {
			return nil, fmt.Errorf("BUG: entity %s not loaded", el.e.Name)
		}
	}
	s := &Snapshot{
		schema:  l.sch,
		tables:  make(map[string]*Table, len(l.ents)),
		links:   map[string][]*Links{},
		entries: make([]*Table, 0, len(l.ents)),
	}
	for _, el := range l.ents {
		s.tables[el.e.Name] = el.table
		s.entries = append(s.entries, el.table)
		if len(el.links) > 0 {
			s.links[el.e.Name] = el.links
		}
	}
	cust := l.byName[l.sch.CustomerEntity]
	s.customers, s.keys = cust.table, cust.keys
	for _, r := range l.sch.Relationships {
		s.reports = append(s.reports, l.byName[r.From.Entity].reports[r.Name])
	}
	s.makeDictionaries()
	s.memBytes = s.computeMemory()
	return s, nil
}

// entitySource is an entity's data: each attribute's column as chunks in
// the order of the data file, which a scan hands over one at a time.
type entitySource interface {
	numRows() int
	// columnError is the problem with attribute i's column as a whole
	// (its type), found before any value is read.
	columnError(i int) error
	// scan calls fn with the chunks of attribute i in order; first is
	// the row a chunk starts at, and extends tells a dictionary chunk
	// whose dictionary begins with the previous chunk's. A chunk is valid
	// during the call only. Scans of different attributes may run at
	// once.
	scan(ctx context.Context, i int, fn func(c arrow.Array, first int, extends bool) error) error
	// drop releases what attribute i's scans read, once none follows.
	drop(i int)
	close()
}

func (s *parquetSource) drop(int) {}

// entityLoad is one entity's part of a load.
type entityLoad struct {
	l       *loader
	index   int
	e       *schema.Entity
	paths   []schema.Path
	rels    []schema.Relationship // from this entity, in schema order
	deps    []*entityLoad         // the entities they lead to, once each
	tooMany error
	src     entitySource
	org     *origin

	// What the dependents read, set before ready is closed. keys indexes
	// the rows in file order; keyData is the file-order key column it
	// reads, when that is not the table's; fileCust holds, per path, the
	// customer of every row in file order. failed means the load fails
	// and dependents need not resolve. They are released when the last
	// of holders (the entity and its dependents) is done with them.
	keys     *keyIndex
	keyData  arrow.Array
	fileCust [][]int32
	// dense tells integer keys that count up by one from denseBase, the
	// first row's: the key of row r is denseBase+r.
	dense      bool
	denseBase  int64
	dependents int // the entities whose relationships lead here
	failed     atomic.Bool
	// keysReady is closed once keys is set, or failed; ready once
	// fileCust is too.
	keysReady chan struct{}
	keysOnce  sync.Once
	ready     chan struct{}
	readyOnce sync.Once
	holders   atomic.Int32
	depsDone  bool

	table    *Table
	links    []*Links
	reports  map[string]LinkReport    // by relationship
	dangling map[string][]danglingKey // by relationship, for an integer foreign key
	// readErr is a problem with the data, keyErr with the keys, err
	// anything else (cancellation).
	readErr, keyErr, err error
}

// markKeysReady lets the dependents resolve their keys.
func (el *entityLoad) markKeysReady() { el.keysOnce.Do(func() { close(el.keysReady) }) }

// markReady lets the dependents go on.
func (el *entityLoad) markReady() {
	el.markKeysReady()
	el.readyOnce.Do(func() { close(el.ready) })
}

// done drops one hold on what the dependents read.
func (el *entityLoad) done() {
	if el.holders.Add(-1) > 0 {
		return
	}
	if el.keyData != nil {
		el.keyData.Release()
		el.keyData = nil
	}
	el.fileCust = nil
	if el.e.Name != el.l.sch.CustomerEntity {
		el.keys = nil
	}
}

// releaseDeps drops the entity's holds on its dependencies, once.
func (el *entityLoad) releaseDeps() {
	if el.depsDone {
		return
	}
	el.depsDone = true
	for _, d := range el.deps {
		d.done()
	}
}

// fail records err: a problem with the data, keys or anything else.
func (el *entityLoad) fail(err error) {
	el.failed.Store(true)
	switch {
	case isCancel(err):
		if el.err == nil {
			el.err = err
			if !strings.HasPrefix(err.Error(), "load ") {
				el.err = fmt.Errorf("load %s: %w", el.e.Name, err)
			}
		}
	case el.readErr == nil:
		el.readErr = err
	}
}

// isCancel reports whether err comes from a cancelled context.
func isCancel(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func (el *entityLoad) load() {
	defer el.releaseDeps()
	defer el.done()
	defer el.markReady()
	defer func() {
		if el.src != nil {
			el.src.close()
		}
	}()
	if err := el.open(); err != nil {
		el.fail(err)
		return
	}
	if len(el.paths) == 0 {
		el.loadInOrder()
	} else {
		el.loadClustered()
	}
}

// open opens the entity's data file: a CSV file is parsed whole, a
// Parquet file's columns are checked.
func (el *entityLoad) open() error {
	l, e := el.l, el.e
	path := filepath.Join(l.dir, filepath.FromSlash(e.File))
	var size int64
	if st, err := os.Stat(path); err == nil {
		if err := regular.Check(st); err != nil {
			return fmt.Errorf("%w: entity %s: source %s %w", ErrData, e.Name, e.File, err)
		}
		size = st.Size()
	}
	if strings.ToLower(filepath.Ext(e.File)) != ".csv" {
		src, err := openParquetSource(path, e, el.tooMany, l.scratch)
		if err != nil {
			return err
		}
		if l.reports != nil {
			src.progress = func(rows, read int64) { l.progress(e.Name, rows, read, size) }
		}
		el.src, el.org = src, &origin{name: e.File}
		return nil
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("load %s: %w", e.Name, err)
	}
	defer f.Close()
	var progress func(rows, read, total int64)
	if l.reports != nil {
		progress = func(rows, read, total int64) { l.progress(e.Name, rows, read, total) }
	}
	return l.work(true, func() error {
		src, org, err := readCSV(l.ctx, f, size, e.File, e, el.tooMany, l.scratch, progress)
		if err != nil {
			return err
		}
		el.src, el.org = src, org
		return nil
	})
}

// loadInOrder loads an entity without relationship paths: its rows stay
// in file order. Its keys come first, for the entities that lead here.
func (el *entityLoad) loadInOrder() {
	e := el.e
	keyAttr := e.AttributeIndex(e.Key)
	keyCol, err := el.placeColumn(keyAttr, nil, nil, true)
	if err != nil {
		el.fail(el.check(err))
		return
	}
	defer keyCol.Release()
	if err := el.indexKeys(&Column{Attr: e.Attributes[keyAttr], Data: keyCol}); err != nil {
		el.fail(el.check(nil))
		return
	}
	el.markKeysReady()
	t, err := el.placeAll(nil, keyCol, nil)
	if err != nil {
		el.fail(err)
		return
	}
	el.table = t
	el.markReady()
	if !el.waitDeps(false) {
		return
	}
	for _, r := range el.rels {
		if err := el.l.work(true, func() error {
			_, null, dangling, err := resolve(el.l.ctx, t.Column(r.From.Attribute), el.l.byName[r.To.Entity].keys)
			el.reports[r.Name] = LinkReport{Relationship: r.Name, Null: null, Dangling: dangling}
			return err
		}); err != nil {
			el.fail(err)
			return
		}
	}
}

// indexKeys indexes the key column col, in file order, and records a
// problem with the keys.
func (el *entityLoad) indexKeys(col *Column) error {
	return el.l.work(true, func() error {
		ki, err := buildKeyIndex(el.l.ctx, col, el.org)
		if err != nil {
			el.failed.Store(true)
			if isCancel(err) {
				el.fail(err)
			} else {
				el.keyErr = err
			}
			return err
		}
		el.keys = ki
		el.dense, el.denseBase = ki.dense && col.Attr.Type == schema.Integer, ki.base
		return nil
	})
}

// waitDeps waits until every dependency has its keys ready, or is ready
// whole with links, and reports whether all of them loaded so far.
func (el *entityLoad) waitDeps(keysOnly bool) bool {
	for _, d := range el.deps {
		ready := d.ready
		if keysOnly {
			ready = d.keysReady
		}
		select {
		case <-ready:
		case <-el.l.ctx.Done():
			el.fail(el.l.ctx.Err())
			return false
		}
		if d.failed.Load() {
			el.failed.Store(true)
			return false
		}
	}
	return true
}

// loadClustered loads a related entity, its rows clustered by customer
// along its first path.
func (el *entityLoad) loadClustered() {
	l, e := el.l, el.e
	keyAttr := e.AttributeIndex(e.Key)
	keyCol, err := el.placeColumn(keyAttr, nil, nil, true)
	if err != nil {
		el.fail(el.check(err))
		return
	}
	a := e.Attributes[keyAttr]
	if err := el.indexKeys(&Column{Attr: a, Data: keyCol}); err != nil {
		keyCol.Release()
		el.fail(el.check(nil))
		return
	}
	if el.keys.dense {
		// The index needs no values: the column is decoded again when
		// its turn comes, rather than kept.
		el.keys.ints = nil
		keyCol.Release()
	} else {
		el.keyData = keyCol
	}
	el.markKeysReady()
	if !el.waitDeps(true) {
		el.fail(el.check(nil))
		return
	}
	targets := make(map[string][]int32, len(el.rels))
	for _, r := range el.rels {
		target, err := el.resolveScan(r)
		if err != nil {
			el.fail(el.check(err))
			return
		}
		targets[r.Name] = target
	}
	if !el.waitDeps(false) {
		el.fail(el.check(nil))
		return
	}
	numCustomers := l.byName[l.sch.CustomerEntity].src.numRows()
	el.links = make([]*Links, len(el.paths))
	var starts []uint32
	var parts *customerParts
	if err := l.work(true, func() error {
		var err error
		if el.fileCust, err = el.customersInFileOrder(targets); err != nil {
			return err
		}
		el.fillLinks(numCustomers, &starts, &parts)
		return nil
	}); err != nil {
		el.fail(err)
		return
	}
	el.markReady()
	el.releaseDeps()
	var place []uint32
	if primary := el.links[0]; !primary.Sorted && el.src.numRows() >= 2 {
		if err := l.work(true, func() error {
			place = placeByCounts(primary.Customer, starts, parts)
			if err := l.ctx.Err(); err != nil {
				return err
			}
			clusterLinks(el.links, el.links[0], place, starts)
			return nil
		}); err != nil {
			el.fail(err)
			return
		}
		if el.dependents == 0 {
			// The links hold the clustered customers; nothing reads the
			// ones in file order any more.
			el.fileCust = nil
		}
	}
	t, err := el.placeAll(place, el.keyData, el.synthetics(place, targets))
	if err != nil {
		el.fail(err)
		return
	}
	el.table = t
}

// fillLinks makes the entity's links, customers in file order, and sets
// starts to the counts of the first path's rows by customer.
func (el *entityLoad) fillLinks(numCustomers int, starts *[]uint32, parts **customerParts) {
	for j, p := range el.paths {
		lk := &Links{Path: slices.Clone(p), Customer: el.fileCust[j], numCustomers: numCustomers}
		if j == 0 {
			// The counts of the first path's rows by customer serve the
			// sort by customer, should the rows need it.
			*starts, lk.Broken, lk.Sorted, *parts = countCustomers(lk.Customer, numCustomers)
		} else {
			lk.Broken, lk.Sorted = linkOrder(lk.Customer)
		}
		el.links[j] = lk
	}
}

// synthetics returns, by attribute, the columns of the entity that need
// not be decoded again, being made of what the load knows already: an
// integer key that counts up by one from the first row's (row r holds
// the first key plus r), and an integer foreign key to a customer entity
// whose keys do (a row's key is the first customer key plus its
// customer, the rows of no customer null but for the dangling keys, kept
// as they were resolved). The entity's links are clustered already.
func (el *entityLoad) synthetics(place []uint32, targets map[string][]int32) map[int]func() (arrow.Array, error) {
	l, e := el.l, el.e
	out := map[int]func() (arrow.Array, error){}
	n := el.src.numRows()
	keyAttr := e.AttributeIndex(e.Key)
	if el.keys.dense && el.keyData == nil && e.Attributes[keyAttr].Type == schema.Integer {
		base := el.keys.base
		out[keyAttr] = func() (arrow.Array, error) { return denseKeys(l.mem, n, base, place), nil }
	}
	for _, r := range el.rels {
		i := e.AttributeIndex(r.From.Attribute)
		if _, done := out[i]; done {
			continue
		}
		dangling, base := el.dangling[r.Name], l.byName[r.To.Entity].denseBase
		if j := slices.IndexFunc(el.paths, func(p schema.Path) bool { return len(p) == 1 && p[0] == r.Name }); j >= 0 && el.synthesized(r) {
			// The clustered customers are the foreign keys' rows, in
			// order.
			links := el.links[j]
			out[i] = func() (arrow.Array, error) { return keysOfRows(l.mem, links.Customer, nil, base, dangling, place), nil }
		} else if target := targets[r.Name]; target != nil && el.synthesized(r) {
			out[i] = func() (arrow.Array, error) { return keysOfRows(l.mem, target, place, base, dangling, place), nil }
		}
	}
	return out
}

// synthesized reports whether the foreign key column of r, from the
// entity, is built from the rows its keys resolved to: integer keys
// naming an entity whose integer keys count up by one from its first
// row's.
func (el *entityLoad) synthesized(r schema.Relationship) bool {
	a, _ := el.e.Attribute(r.From.Attribute)
	return a.Type == schema.Integer && el.l.byName[r.To.Entity].dense
}

// danglingKey is an integer foreign key that matches no row.
type danglingKey struct {
	row int // in file order
	key int64
}

// denseKeys returns the column of n integer keys counting up from base,
// row r's placed at place[r].
func denseKeys(mem memory.Allocator, n int, base int64, place []uint32) arrow.Array {
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(8 * n)
	vals := arrow.GetData[int64](buf.Bytes())
	if place == nil {
		for r := range vals {
			vals[r] = base + int64(r)
		}
	} else {
		for r, i := range place {
			vals[i] = base + int64(r)
		}
	}
	d := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{nil, buf}, nil, 0, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// keysOfRows returns the foreign key column whose row place[r] (r when
// place is nil) names row rows[r] of an entity whose integer keys count
// up from base; a row of no row (-1) is null, but for the dangling keys,
// each at placeDangling of its data row.
func keysOfRows(mem memory.Allocator, rows []int32, place []uint32, base int64, dangling []danglingKey, placeDangling []uint32) arrow.Array {
	n := len(rows)
	buf := memory.NewResizableBuffer(mem)
	defer buf.Release()
	buf.Resize(8 * n)
	vals := arrow.GetData[int64](buf.Bytes())
	valid := validity{mem: mem, n: n}
	if place == nil {
		for i, t := range rows {
			if t >= 0 {
				vals[i] = base + int64(t)
			} else {
				valid.setNull(i)
			}
		}
	} else {
		for r, t := range rows {
			if t >= 0 {
				vals[place[r]] = base + int64(t)
			} else {
				valid.setNull(int(place[r]))
			}
		}
	}
	for _, d := range dangling {
		i := d.row
		if placeDangling != nil {
			i = int(placeDangling[i])
		}
		vals[i] = d.key
		bitutil.SetBit(valid.bits(), i)
		valid.nulls--
	}
	vb, nulls := valid.take()
	if vb != nil {
		defer vb.Release()
		if nulls == 0 {
			vb = nil
		}
	}
	d := array.NewData(arrow.PrimitiveTypes.Int64, n, []*memory.Buffer{vb, buf}, nil, nulls, 0)
	defer d.Release()
	return array.MakeFromData(d)
}

// resolveScan resolves relationship r from the entity: it scans the
// foreign key column and returns, for every row in file order, the row of
// the other side in file order, or -1, and records the link report. The
// row groups of a Parquet file are resolved a task each; the problem
// reported is the earliest row group's.
func (el *entityLoad) resolveScan(r schema.Relationship) ([]int32, error) {
	l, e := el.l, el.e
	i := e.AttributeIndex(r.From.Attribute)
	if err := el.src.columnError(i); err != nil {
		return nil, err
	}
	target := make([]int32, el.src.numRows())
	var parts []*resolvePart
	var err error
	if ps, ok := el.src.(*parquetSource); ok && len(ps.groups) > 1 {
		firsts := ps.groupFirsts()
		parts = make([]*resolvePart, len(ps.groups))
		errs := make([]error, len(ps.groups))
		var wg sync.WaitGroup
		for g := range ps.groups {
			parts[g] = &resolvePart{}
			wg.Go(func() {
				errs[g] = l.work(true, func() error {
					err := ps.scanGroup(l.ctx, i, g, firsts[g], el.resolveChunks(r, target, parts[g]))
					if err == nil {
						ps.decoded(i, g)
					}
					return err
				})
			})
		}
		wg.Wait()
		for _, e := range errs {
			if e != nil {
				err = e
				break
			}
		}
	} else {
		parts = []*resolvePart{{}}
		err = l.work(true, func() error { return el.src.scan(l.ctx, i, el.resolveChunks(r, target, parts[0])) })
	}
	if err != nil {
		return nil, err
	}
	rep := LinkReport{Relationship: r.Name}
	var keys []danglingKey
	for _, p := range parts {
		rep.Null += p.null
		rep.Dangling += p.dangling
		keys = append(keys, p.keys...)
	}
	el.reports[r.Name] = rep
	el.dangling[r.Name] = keys
	return target, nil
}

// resolvePart is what resolving some of a foreign key column's chunks,
// in order, found.
type resolvePart struct {
	byCode, nulls  []int32 // scratch
	null, dangling int
	keys           []danglingKey
}

// resolveChunks returns the function that resolves chunks of the foreign
// key column of r, in order, into target, recording in part.
func (el *entityLoad) resolveChunks(r schema.Relationship, target []int32, part *resolvePart) func(c arrow.Array, first int, extends bool) error {
	l, e := el.l, el.e
	attr, _ := e.Attribute(r.From.Attribute)
	to := l.byName[r.To.Entity].keys
	return func(c arrow.Array, first int, extends bool) error {
		if err := checkLayout(c); err != nil {
			return &layoutError{err}
		}
		if !resolvable(c) {
			// Not in a type the index reads: converted first, as the
			// column will be.
			p, err := newPlacer(l.scratch, attr, c.Len(), nil)
			if err != nil {
				return err
			}
			err = p.put(c, 0, false)
			var nc arrow.Array
			if err == nil {
				nc, err = p.finish()
			}
			p.release()
			if err != nil {
				return shiftRow(err, first)
			}
			defer nc.Release()
			c, extends = nc, false
		}
		part.nulls = appendNulls(part.nulls[:0], c)
		var null, dangling int
		var err error
		part.byCode, null, dangling, err = resolveChunk(c, to, target[first:], part.byCode, extends, part.nulls)
		part.null += null
		part.dangling += dangling
		if a, ok := c.(*array.Int64); ok && dangling > 0 && attr.Type == schema.Integer {
			for i, t := range target[first : first+c.Len()] {
				if t < 0 && a.IsValid(i) {
					part.keys = append(part.keys, danglingKey{row: first + i, key: a.Value(i)})
				}
			}
		}
		return shiftRow(err, first)
	}
}

// resolvable reports whether resolveChunk reads c as it is.
func resolvable(c arrow.Array) bool {
	switch c.DataType().ID() {
	case arrow.INT64, arrow.FLOAT64, arrow.DATE32, arrow.BOOL, arrow.STRING, arrow.DICTIONARY:
		return true
	case arrow.TIMESTAMP:
		return c.DataType().(*arrow.TimestampType).Unit == arrow.Microsecond
	}
	return false
}

// customersInFileOrder returns the customer of every row along every
// path, rows in file order, from the targets of the entity's
// relationships and the customers of their other sides. A target used by
// one path only, and not for its foreign key column, becomes that path's
// customers.
func (el *entityLoad) customersInFileOrder(targets map[string][]int32) ([][]int32, error) {
	uses := map[string]int{}
	for _, p := range el.paths {
		uses[p[0]]++
	}
	out := make([][]int32, len(el.paths))
	for j, p := range el.paths {
		target := targets[p[0]]
		if len(p) == 1 {
			// One hop: the other side is the customer entity, whose rows
			// are the customer ids (and -1 is NoCustomer).
			out[j] = target
			continue
		}
		rel, _ := el.l.sch.Relationship(p[0])
		up := el.l.byName[rel.To.Entity]
		upCust := up.fileCust[slices.IndexFunc(up.paths, func(q schema.Path) bool { return slices.Equal(q, p[1:]) })]
		cust := target
		if uses[p[0]] > 1 || el.synthesized(*rel) {
			// The targets are kept, for another path or the foreign key
			// column.
			cust = make([]int32, len(target))
		}
		if err := eachRows(el.l.ctx, len(target), func(lo, hi int) {
			for i, t := range target[lo:hi] {
				if t < 0 {
					cust[lo+i] = NoCustomer
				} else {
					cust[lo+i] = upCust[t]
				}
			}
		}); err != nil {
			return nil, err
		}
		out[j] = cust
	}
	return out, nil
}

// placeAll builds every column of the entity, a task each, with the rows
// placed as place says (nil: in file order). keyData, if not nil, is the
// key column in file order, placed instead of decoded again; synth makes
// the columns it has a function for.
func (el *entityLoad) placeAll(place []uint32, keyData arrow.Array, synth map[int]func() (arrow.Array, error)) (*Table, error) {
	e := el.e
	cols := make([]*Column, len(e.Attributes))
	errs := make([]error, len(e.Attributes))
	keyAttr := e.AttributeIndex(e.Key)
	var wg sync.WaitGroup
	for i, a := range e.Attributes {
		wg.Go(func() {
			var from arrow.Array
			if i == keyAttr {
				from = keyData
			}
			var arr arrow.Array
			var err error
			if f := synth[i]; f != nil {
				err = el.l.work(false, func() (err error) {
					arr, err = f()
					return err
				})
			} else {
				arr, err = el.placeColumn(i, place, from, false)
			}
			if err != nil {
				errs[i] = err
				return
			}
			// Nothing reads the column's data again.
			el.src.drop(i)
			cols[i] = &Column{Attr: a, Data: withValueBuffer(arr)}
		})
	}
	wg.Wait()
	t := &Table{Entity: e, NumRows: el.src.numRows(), Columns: cols}
	if err := el.firstProblem(errs); err != nil {
		for _, c := range cols {
			if c != nil {
				c.Data.Release()
			}
		}
		return nil, err
	}
	return t, nil
}

// placeColumn builds attribute i's column as a task: from the data file,
// or placing from, the column in file order when it is not nil. A problem
// with the column's values does not stop the decoding: a row group that
// cannot be decoded comes first.
func (el *entityLoad) placeColumn(i int, place []uint32, from arrow.Array, urgent bool) (arr arrow.Array, err error) {
	l := el.l
	if from != nil {
		err = l.work(urgent, func() error {
			if place == nil {
				from.Retain()
				arr = from
				return nil
			}
			arr, err = scatter(l.mem, from, place)
			return err
		})
		return arr, err
	}
	if ps, ok := el.src.(*parquetSource); ok {
		if arr, done, err := el.placeParquetGroups(ps, i, place, urgent); done {
			return arr, err
		}
	}
	err = l.work(urgent, func() error {
		typeErr := el.src.columnError(i)
		var p placer
		if typeErr == nil {
			if p, err = newPlacer(l.mem, el.e.Attributes[i], el.src.numRows(), place); err != nil {
				return err
			}
			defer p.release()
		}
		var layoutErr, valueErr error
		if ps, ok := el.src.(*parquetSource); ok && p != nil && ps.byteArrays[i] {
			if err := el.placeBytes(ps, i, p.(*stringPlacer)); err != nil {
				return err
			}
			arr, err = p.finish()
			return err
		}
		if err := el.src.scan(l.ctx, i, func(c arrow.Array, first int, extends bool) error {
			if layoutErr != nil {
				return nil
			}
			if err := checkLayout(c); err != nil {
				layoutErr = &layoutError{err}
				return nil
			}
			if p == nil || valueErr != nil {
				return nil
			}
			valueErr = p.put(c, first, extends)
			return nil
		}); err != nil {
			return err
		}
		switch {
		case layoutErr != nil:
			return layoutErr
		case typeErr != nil:
			return typeErr
		case valueErr != nil:
			return valueErr
		}
		arr, err = p.finish()
		return err
	})
	return arr, err
}

// placeBytes places attribute i, a flat string column, into p from the
// Parquet source's values read as byte arrays, row group by row group.
func (el *entityLoad) placeBytes(ps *parquetSource, i int, p *stringPlacer) error {
	var valueErr error
	if err := ps.scanBytes(el.l.ctx, i, func(vals []parquet.ByteArray, defs []int16, maxDef int16, first, rows int) error {
		if valueErr == nil {
			valueErr = p.putBytes(vals, defs, maxDef, first, rows)
		}
		return nil
	}); err != nil {
		return err
	}
	return valueErr
}

// placeParquetGroups is placeColumn for a Parquet column placed a row
// group per task (see placeGroups): a column of fixed-width values in more
// than one row group, or a dictionary-encoded string column. done is
// false for any other column.
func (el *entityLoad) placeParquetGroups(ps *parquetSource, i int, place []uint32, urgent bool) (_ arrow.Array, done bool, _ error) {
	l, a := el.l, el.e.Attributes[i]
	n := el.src.numRows()
	switch {
	case ps.dictPages[i] && ps.typeErr[i] == nil:
		p := newStringPlacer(l.mem, n, place)
		defer p.release()
		plain, err := el.placeDictGroups(ps, i, p, urgent)
		if err != nil {
			return nil, true, err
		}
		if plain {
			// The column turns plain: it is placed row by row.
			p.release()
			p = newStringPlacer(l.mem, n, place)
			if err := l.work(urgent, func() error { return el.placeBytes(ps, i, p) }); err != nil {
				return nil, true, err
			}
		}
		var arr arrow.Array
		err = l.work(urgent, func() (err error) {
			arr, err = p.finish()
			return err
		})
		return arr, true, err
	case len(ps.groups) > 1 && a.Type != schema.Boolean && a.Type != schema.String:
		var p sharedPlacer
		if ps.typeErr[i] == nil {
			np, err := newPlacer(l.mem, a, n, place)
			if err != nil {
				return nil, true, err
			}
			defer np.release()
			p = np.(sharedPlacer)
		}
		if err := el.placeGroups(ps, i, p, urgent); err != nil {
			return nil, true, err
		}
		if p == nil {
			return nil, true, ps.typeErr[i]
		}
		var arr arrow.Array
		err := l.work(urgent, func() (err error) {
			arr, err = p.finish()
			return err
		})
		return arr, true, err
	}
	return nil, false, nil
}

// firstProblem returns the problem that Load reports among errs, the
// errors of the entity's columns in attribute order: a row group that
// cannot be decoded, the earliest; then cancellation; then the first
// column's problem.
func (el *entityLoad) firstProblem(errs []error) error {
	var first *decodeError
	for _, err := range errs {
		var de *decodeError
		if errors.As(err, &de) && (first == nil || de.group < first.group) {
			first = de
		}
	}
	if first != nil {
		var l diag.List
		l.Add(el.org.name, ErrData, "row group %d: %v", first.group, first.err)
		return l
	}
	for _, err := range errs {
		if isCancel(err) {
			return fmt.Errorf("load %s: %w", el.org.name, err)
		}
	}
	for i, err := range errs {
		if err != nil {
			return columnProblem(el.org, el.e.Attributes[i], err)
		}
	}
	return nil
}

// check returns the problem to report once the entity has failed, err
// being what a scan of some of its columns found (nil for none): a
// cancellation as it is; else the first problem of reading every column
// in file order. A CSV source's values were all checked as they were
// parsed.
func (el *entityLoad) check(err error) error {
	if isCancel(err) {
		return err
	}
	el.failed.Store(true)
	if _, ok := el.src.(*csvSource); ok {
		return err
	}
	t, cerr := el.placeAll(nil, nil, nil)
	if t != nil {
		t.release()
	}
	return cerr
}
