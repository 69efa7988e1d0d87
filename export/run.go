package export

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// DefaultBatchSize is the number of rows of a batch when
// RunOptions.BatchSize is zero.
const DefaultBatchSize = 1000

// MaxBatchSize bounds RunOptions.BatchSize.
const MaxBatchSize = 1 << 20

// Set is the rows of one export.
type Set struct {
	// Mode is full or delta.
	Mode Mode
	// Members are the customers a full export sends, as ids of the plan's
	// snapshot.
	Members *roaring.Bitmap
	// Entered and Changed are the customers a delta sends as entered and
	// changed; Left the customers of the snapshot it sends as left, and
	// Gone the keys of customers who left and are no longer in the data.
	Entered, Changed, Left *roaring.Bitmap
	Gone                   []string
}

// FullSet returns the set of a full export of members.
func FullSet(members *roaring.Bitmap) Set { return Set{Mode: Full, Members: members} }

// Len returns the number of rows the set sends.
func (s Set) Len() uint64 {
	if s.Mode == Full {
		return card(s.Members)
	}
	e, c, l := s.Counts()
	return e + c + l
}

// Counts returns the rows of a delta by kind: entered, changed, and left
// (the customers still in the data and those gone from it).
func (s Set) Counts() (entered, changed, left uint64) {
	return card(s.Entered), card(s.Changed), card(s.Left) + uint64(len(s.Gone))
}

func card(b *roaring.Bitmap) uint64 {
	if b == nil {
		return 0
	}
	return b.GetCardinality()
}

// Sent is what a destination was last sent: each customer's key with the
// hash of its exported fields then (Plan.Hash; zero when changes are not
// tracked).
type Sent interface {
	// Range calls fn for every customer sent, in any order, until fn
	// returns an error.
	Range(fn func(key string, hash uint64) error) error
}

// SentMap is a Sent held in memory, for tests and small destinations.
type SentMap map[string]uint64

// Range calls fn for each entry, in key order.
func (m SentMap) Range(fn func(key string, hash uint64) error) error {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if err := fn(k, m[k]); err != nil {
			return err
		}
	}
	return nil
}

// Diff returns the delta that brings a destination sent sent to members
// (ids of p's snapshot): the members it was not sent (entered), the
// customers it was sent that are not members (left, or gone when no
// longer in the data) and, with changes, the members whose fields hash
// differently from what was sent (changed).
func Diff(ctx context.Context, p *Plan, sent Sent, members *roaring.Bitmap, changes bool) (Set, error) {
	if p == nil {
		return Set{}, fmt.Errorf("export: no plan")
	}
	if members == nil {
		members = roaring.New()
	}
	if err := p.checkIDs("members", members); err != nil {
		return Set{}, err
	}
	if sent == nil {
		sent = SentMap{}
	}
	s := Set{Mode: Delta, Entered: roaring.New(), Changed: roaring.New(), Left: roaring.New()}
	seen := roaring.New()
	n := 0
	err := sent.Range(func(key string, hash uint64) error {
		if n++; n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		id, ok := p.snap.CustomerID(key)
		switch {
		case !ok:
			s.Gone = append(s.Gone, key)
		case !members.Contains(id):
			s.Left.Add(id)
		default:
			seen.Add(id)
			if changes && p.Hash(id) != hash {
				s.Changed.Add(id)
			}
		}
		return nil
	})
	if err != nil {
		return Set{}, err
	}
	if err := sortKeys(ctx, s.Gone); err != nil {
		return Set{}, err
	}
	s.Entered = roaring.AndNot(members, seen)
	return s, nil
}

// checkSet checks that the set's customers are ids of the plan's
// snapshot: a set computed on another snapshot would read past its
// columns.
func (p *Plan) checkSet(set Set) error {
	for _, b := range []struct {
		name string
		bm   *roaring.Bitmap
	}{{"members", set.Members}, {"entered", set.Entered}, {"changed", set.Changed}, {"left", set.Left}} {
		if err := p.checkIDs(b.name, b.bm); err != nil {
			return err
		}
	}
	return nil
}

// checkIDs checks that bm holds only customer ids of the plan's
// snapshot.
func (p *Plan) checkIDs(what string, bm *roaring.Bitmap) error {
	if bm == nil || bm.IsEmpty() {
		return nil
	}
	if n := p.snap.NumCustomers(); uint64(bm.Maximum()) >= uint64(n) {
		return fmt.Errorf("export: the %s hold customer id %d, but the plan's data has %d customers: they are ids of other data", what, bm.Maximum(), n)
	}
	return nil
}

// RunOptions adjusts Run.
type RunOptions struct {
	// Segment names the exported segment, for the header.
	Segment string
	// ID identifies the export; batch keys are ID + "-" + the batch's
	// sequence number. Empty means "export".
	ID string
	// BatchSize is the number of rows per batch; zero means
	// DefaultBatchSize. It must not exceed MaxBatchSize.
	BatchSize int
	// Allocator allocates the batches' Arrow memory; nil means
	// memory.DefaultAllocator.
	Allocator memory.Allocator
	// Before, for a writer that acknowledges batches (Acknowledger), is
	// called with each batch before it is written: a caller that must not
	// repeat an acknowledged batch after a crash records the batch there,
	// to resend it as it is (Resend) if the crash comes before the
	// acknowledgement is recorded. An error stops the export.
	Before func(b *Batch) error
	// Acknowledged, for an Acknowledger, is called with each batch its
	// Write delivered. An error stops the export.
	Acknowledged func(b *Batch) error
}

func (o *RunOptions) batchSize() (int, error) {
	switch {
	case o.BatchSize == 0:
		return DefaultBatchSize, nil
	case o.BatchSize < 0 || o.BatchSize > MaxBatchSize:
		return 0, fmt.Errorf("%w: batch size %d is not between 1 and %d", ErrDestination, o.BatchSize, MaxBatchSize)
	}
	return o.BatchSize, nil
}

func (o *RunOptions) allocator() memory.Allocator {
	if o.Allocator != nil {
		return o.Allocator
	}
	return memory.DefaultAllocator
}

func (o *RunOptions) id() string {
	if o.ID == "" {
		return "export"
	}
	return o.ID
}

// BatchKey returns the idempotency key of batch seq of the export id.
func BatchKey(id string, seq uint64) string { return fmt.Sprintf("%s-%d", id, seq) }

// Run sends the set's rows, as the plan reads them, to dest: it opens a
// writer, writes the rows in batches (in customer id order: entered and
// changed rows merged, then left, then gone), and commits. On an error
// the writer is aborted and the error returned; errors of the destination
// wrap ErrDelivery. Run checks ctx between batches and every 4096 rows.
// The stats are the writer's, also on an error.
func Run(ctx context.Context, dest Destination, p *Plan, set Set, opts RunOptions) (Stats, error) {
	switch {
	case dest == nil:
		return Stats{}, fmt.Errorf("export: no destination")
	case p == nil:
		return Stats{}, fmt.Errorf("export: no plan")
	}
	size, err := opts.batchSize()
	if err != nil {
		return Stats{}, err
	}
	if err := p.checkSet(set); err != nil {
		return Stats{}, err
	}
	if set.Mode != Full && set.Mode != Delta {
		return Stats{}, fmt.Errorf("%w: %v", ErrMode, set.Mode)
	}
	if err := checkColumns(p.cols, set.Mode); err != nil {
		return Stats{}, err
	}
	if err := ctx.Err(); err != nil {
		return Stats{}, err
	}
	h := p.Header(opts.Segment, set.Mode, opts.id())
	w, err := dest.Open(ctx, h)
	if err != nil {
		return Stats{}, err
	}
	_, acks := w.(Acknowledger)
	bb := newBatchBuilder(p, h, opts.allocator(), size)
	defer bb.release()
	var seq uint64
	flush := func() error {
		if bb.rows() == 0 {
			return nil
		}
		seq++
		b := bb.finish(seq, BatchKey(h.ID, seq))
		defer b.Record.Release()
		if acks && opts.Before != nil {
			if err := opts.Before(b); err != nil {
				return err
			}
		}
		if err := w.Write(ctx, b); err != nil {
			return err
		}
		if acks && opts.Acknowledged != nil {
			return opts.Acknowledged(b)
		}
		return nil
	}
	err = eachRow(ctx, p, set, func(c Change, id uint32, key string) error {
		bb.add(c, id, key)
		if bb.rows() == size {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err == nil {
		err = w.Commit(ctx)
	}
	return w.Stats(), abortOn(w, err)
}

// abortOn aborts w when err is not nil, and returns err with Abort's own
// error joined to it.
func abortOn(w Writer, err error) error {
	if err == nil {
		return nil
	}
	if aerr := w.Abort(); aerr != nil {
		return errors.Join(err, fmt.Errorf("abort the export: %w", aerr))
	}
	return err
}

// eachRow calls fn for each row of the set, in Run's order, checking ctx
// every 4096 rows.
func eachRow(ctx context.Context, p *Plan, set Set, fn func(c Change, id uint32, key string) error) error {
	n := 0
	emit := func(c Change, id uint32, key string) error {
		if n++; n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		return fn(c, id, key)
	}
	if set.Mode == Full {
		if set.Members == nil {
			return nil
		}
		it := set.Members.Iterator()
		for it.HasNext() {
			id := it.Next()
			if err := emit(Member, id, p.snap.CustomerKey(id)); err != nil {
				return err
			}
		}
		return nil
	}
	// Entered and changed rows merged in id order, then left ones.
	upserts := roaring.New()
	for _, bm := range []*roaring.Bitmap{set.Entered, set.Changed} {
		if bm != nil {
			upserts.Or(bm)
		}
	}
	it := upserts.Iterator()
	for it.HasNext() {
		id := it.Next()
		c := Changed
		if set.Entered != nil && set.Entered.Contains(id) {
			c = Entered
		}
		if err := emit(c, id, p.snap.CustomerKey(id)); err != nil {
			return err
		}
	}
	if set.Left != nil {
		it := set.Left.Iterator()
		for it.HasNext() {
			id := it.Next()
			if err := emit(Left, id, p.snap.CustomerKey(id)); err != nil {
				return err
			}
		}
	}
	for _, k := range set.Gone {
		if err := emit(Left, 0, k); err != nil {
			return err
		}
	}
	return nil
}

// batchBuilder builds one batch at a time.
type batchBuilder struct {
	p      *Plan
	h      *Header
	rb     *array.RecordBuilder
	change *array.StringBuilder
	key    *array.StringBuilder
	fields []array.Builder
	info   []Row
	// scratch holds a row's typed bytes while its hash is computed.
	scratch []byte
}

func newBatchBuilder(p *Plan, h *Header, mem memory.Allocator, size int) *batchBuilder {
	rb := array.NewRecordBuilder(mem, h.Schema)
	rb.Reserve(size)
	bb := &batchBuilder{p: p, h: h, rb: rb, info: make([]Row, 0, size), scratch: make([]byte, 0, 1024)}
	fs := rb.Fields()
	if h.Mode == Delta {
		bb.change, fs = fs[0].(*array.StringBuilder), fs[1:]
	}
	bb.key, bb.fields = fs[0].(*array.StringBuilder), fs[1:]
	return bb
}

func (bb *batchBuilder) rows() int { return len(bb.info) }

func (bb *batchBuilder) add(c Change, id uint32, key string) {
	if bb.change != nil {
		bb.change.Append(c.String())
	}
	bb.key.Append(key)
	r := Row{Change: c, ID: id, Key: key}
	if c == Left {
		for _, f := range bb.fields {
			f.AppendNull()
		}
	} else {
		r.Hash = bb.p.row(bb.fields, bb.scratch[:0], id)
	}
	bb.info = append(bb.info, r)
}

func (bb *batchBuilder) finish(seq uint64, key string) *Batch {
	rec := bb.rb.NewRecordBatch()
	b := &Batch{Seq: seq, Key: key, Record: rec, Rows: slices.Clone(bb.info)}
	bb.info = bb.info[:0]
	return b
}

func (bb *batchBuilder) release() { bb.rb.Release() }
