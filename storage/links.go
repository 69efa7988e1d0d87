package storage

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"golang.org/x/sync/errgroup"

	"github.com/segmentkit/segmentkit/schema"
)

// resolve maps every row of a relationship's many side to the row of the
// one side its foreign key names (to indexes the one side's key), or -1
// when the foreign key is null or dangling; it counts both.
func resolve(ctx context.Context, fk *Column, to *keyIndex) (target []int32, null, dangling int, err error) {
	n := fk.Data.Len()
	target = make([]int32, n)
	// find maps the rows one at a time, in batches on every core.
	find := func(key func(i int) int32) error {
		return eachRows(ctx, n, func(lo, hi int) {
			for i := lo; i < hi; i++ {
				target[i] = key(i)
			}
		})
	}
	switch a := fk.Data.(type) {
	case *array.Int64:
		vals := a.Int64Values()
		err = find(func(i int) int32 { return to.findInt(vals[i]) })
	case *array.Timestamp:
		vals := a.TimestampValues()
		err = find(func(i int) int32 { return to.findInt(int64(vals[i])) })
	case *array.Date32:
		vals := a.Date32Values()
		err = find(func(i int) int32 { return to.findInt(int64(vals[i])) })
	case *array.Boolean:
		t, f := to.findInt(1), to.findInt(0)
		for i := range n {
			if a.Value(i) {
				target[i] = t
			} else {
				target[i] = f
			}
		}
	case *array.Float64:
		vals := a.Float64Values()
		err = find(func(i int) int32 { return to.findFloat(vals[i]) })
	case *array.String:
		err = find(func(i int) int32 { return to.findString(a.Value(i)) })
	case *array.Dictionary:
		// Look up each distinct value once, then map the codes.
		dict := a.Dictionary().(*array.String)
		byCode := make([]int32, dict.Len())
		for j := range byCode {
			byCode[j] = to.findString(dict.Value(j))
		}
		codes := a.Indices().(*array.Int32).Int32Values()
		for i := range n {
			if a.IsValid(i) {
				target[i] = byCode[codes[i]]
			}
		}
	default:
		return nil, 0, 0, fmt.Errorf("BUG: foreign key column of type %s", fk.Data.DataType())
	}
	if err != nil {
		return nil, 0, 0, err
	}
	// Nulls last: the loops above read whatever a null slot holds.
	for i := range n {
		if fk.Data.IsNull(i) {
			target[i] = -1
			null++
		} else if target[i] < 0 {
			dangling++
		}
	}
	return target, null, dangling, nil
}

// eachRows calls fn over the rows [0, n) a batch at a time, the batches
// shared by one goroutine per core; a cancelled ctx stops it between
// batches. fn must be safe to call concurrently on different rows.
func eachRows(ctx context.Context, n int, fn func(lo, hi int)) error {
	batches := (n + batchRows - 1) / batchRows
	var next atomic.Int64
	var g errgroup.Group
	for range min(runtime.GOMAXPROCS(0), batches) {
		g.Go(func() error {
			for {
				b := int(next.Add(1) - 1)
				if b >= batches {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				fn(b*batchRows, min(n, (b+1)*batchRows))
			}
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}

// linker composes relationship targets into customer links, sharing the
// links of a path's tail between entities.
type linker struct {
	ctx          context.Context
	sch          *schema.Schema
	targets      map[string][]int32 // by relationship
	numCustomers int
	links        map[string][]*Links // by entity
}

// linksFor returns the links of entity along path, building them (and
// those of the path's tail) on first use.
func (lk *linker) linksFor(entity string, path schema.Path) (*Links, error) {
	for _, l := range lk.links[entity] {
		if slices.Equal(l.Path, path) {
			return l, nil
		}
	}
	rel, ok := lk.sch.Relationship(path[0])
	if !ok {
		return nil, fmt.Errorf("BUG: unknown relationship %s", path[0])
	}
	target := lk.targets[rel.Name]
	var cust []int32
	if len(path) == 1 {
		// One hop: the one side is the customer entity, whose rows are
		// the customer ids.
		cust = target
	} else {
		up, err := lk.linksFor(rel.To.Entity, path[1:])
		if err != nil {
			return nil, err
		}
		cust = make([]int32, len(target))
		for i, t := range target {
			if i%batchRows == batchRows-1 {
				if err := lk.ctx.Err(); err != nil {
					return nil, err
				}
			}
			if t < 0 {
				cust[i] = NoCustomer
			} else {
				cust[i] = up.Customer[t]
			}
		}
	}
	l := &Links{Path: slices.Clone(path), Customer: cust, numCustomers: lk.numCustomers}
	l.Broken, l.Sorted = linkOrder(cust)
	lk.links[entity] = append(lk.links[entity], l)
	return l, nil
}

// group clusters the rows by customer, NoCustomer rows left out.
func (l *Links) group() {
	l.offsets = customerStarts(l.Customer, l.numCustomers, false)
	if l.fileOrder == nil {
		l.rows = customerOrder(l.Customer, l.offsets, false)
		return
	}
	// Place the rows in the order of the data file, so that each
	// customer's rows are in file order.
	n := len(l.offsets) - 1
	l.rows = make([]uint32, l.offsets[n])
	for _, r := range l.fileOrder {
		if c := l.Customer[r]; c >= 0 {
			l.rows[l.offsets[c]] = r
			l.offsets[c]++
		}
	}
	copy(l.offsets[1:], l.offsets[:n])
	l.offsets[0] = 0
}

// customerStarts is the counting half of a counting sort of rows by
// customer: one pass to count each customer's rows, a prefix sum. In
// customer order, the rows of customer c are starts[c] to starts[c+1]-1;
// starts has numCustomers+1 entries. With broken, the NoCustomer rows form
// one more bucket after the last customer (starts has numCustomers+2
// entries); without, they are left out.
func customerStarts(cust []int32, numCustomers int, broken bool) []uint32 {
	n := numCustomers
	if broken {
		n++
	}
	starts := make([]uint32, n+1)
	for _, c := range cust {
		if c >= 0 {
			starts[c+1]++
		} else if broken {
			starts[n]++
		}
	}
	for b := 1; b <= n; b++ {
		starts[b] += starts[b-1]
	}
	return starts
}

// customerOrder is the placing half: it returns the rows in customer order,
// given the starts customerStarts returned for the same cust and broken.
// Placing in row order keeps each customer's rows in row order. starts
// serves as the write cursors and holds its values again on return.
func customerOrder(cust []int32, starts []uint32, broken bool) []uint32 {
	n := len(starts) - 1
	rows := make([]uint32, starts[n])
	for i, c := range cust {
		b := int(c)
		if c < 0 {
			if !broken {
				continue
			}
			b = n - 1
		}
		rows[starts[b]] = uint32(i)
		starts[b]++
	}
	// Each cursor has advanced to the start of the next bucket.
	copy(starts[1:], starts[:n])
	starts[0] = 0
	return rows
}

// linkOrder counts the rows of cust that link to no customer and reports
// whether cust is in customer order: ids non-decreasing, NoCustomer rows
// last (see Links.Sorted).
func linkOrder(cust []int32) (broken int, sorted bool) {
	sorted = true
	last := int32(0)
	for _, c := range cust {
		if c == NoCustomer {
			broken++
			continue
		}
		if c < last || broken > 0 {
			sorted = false
		}
		last = c
	}
	return broken, sorted
}

// resolveChunk is resolve for one chunk of a foreign key column, c, in its
// normalized type or, for strings, plain or dictionary-encoded with any
// dictionary of strings: it sets target[i] for every row i of c and counts
// the null and dangling keys. byCode caches the row of each entry of a
// dictionary chunk's dictionary (notLooked until looked up); extends keeps
// it from the previous chunk, whose dictionary c's begins with. It returns
// byCode for the next chunk.
func resolveChunk(c arrow.Array, to *keyIndex, target []int32, byCode []int32, extends bool, nulls []int32) (_ []int32, null, dangling int, err error) {
	n := c.Len()
	target = target[:n]
	switch a := c.(type) {
	case *array.Int64:
		for i, v := range a.Int64Values() {
			target[i] = to.findInt(v)
		}
	case *array.Timestamp:
		for i, v := range a.TimestampValues() {
			target[i] = to.findInt(int64(v))
		}
	case *array.Date32:
		for i, v := range a.Date32Values() {
			target[i] = to.findInt(int64(v))
		}
	case *array.Boolean:
		t, f := to.findInt(1), to.findInt(0)
		for i := range n {
			if a.Value(i) {
				target[i] = t
			} else {
				target[i] = f
			}
		}
	case *array.Float64:
		for i, v := range a.Float64Values() {
			target[i] = to.findFloat(v)
		}
	case *array.String:
		for i := range n {
			target[i] = to.findString(a.Value(i))
		}
	case *array.Dictionary:
		at, err := stringAt(a.Dictionary())
		if err != nil {
			return byCode, 0, 0, err
		}
		size := a.Dictionary().Len()
		if !extends {
			byCode = byCode[:0]
		}
		for len(byCode) < size {
			byCode = append(byCode, notLooked)
		}
		noNulls := a.NullN() == 0
		for i := range n {
			if !noNulls && a.IsNull(i) {
				continue
			}
			j := a.GetValueIndex(i)
			if j < 0 || j >= size {
				return byCode, 0, 0, &valueError{row: i, value: fmt.Sprintf("index %d", j), err: errDictIndex}
			}
			t := byCode[j]
			if t == notLooked {
				t = -1
				if s, valid, err := at(j); err != nil {
					return byCode, 0, 0, withRow(err, i)
				} else if valid {
					t = to.findString(s)
				}
				byCode[j] = t
			}
			target[i] = t
		}
	default:
		return byCode, 0, 0, fmt.Errorf("BUG: foreign key chunk of type %s", c.DataType())
	}
	// Null rows last: the loops above read whatever a null slot holds.
	for _, i := range nulls {
		target[i] = -1
	}
	for _, t := range target {
		if t < 0 {
			dangling++
		}
	}
	return byCode, len(nulls), dangling - len(nulls), nil
}
