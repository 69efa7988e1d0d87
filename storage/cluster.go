package storage

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"
)

// The rows of every related entity are sorted by customer along the
// entity's first relationship path, rows of no customer last. The sort is
// stable, so one customer's rows keep their order. Aggregates scatter into
// per-customer arrays in row order; with clustered rows those writes, and
// the reads of the link and value columns, move forward through memory
// instead of jumping, which is what makes an aggregate one sequential pass
// (DESIGN.md, "Related entities are clustered by customer at load").
//
// Row numbers of related entities are internal: no result or error refers
// to them after load, so the order is free to change. Load places every
// value at its clustered row as it converts it (see placer); in-memory data
// (FromTables with Options.Cluster) is clustered once built, by cluster.

// clusterPlace is a counting sort of rows by customer, NoCustomer rows
// last: place[r] is the row that row r goes to, and starts the first row
// of every customer, with one more entry for the rows of no customer and
// one for the end (numCustomers+2 entries).
func clusterPlace(cust []int32, numCustomers int) (place, starts []uint32) {
	starts = customerStarts(cust, numCustomers, true)
	return placeByStarts(cust, starts), starts
}

// placeByStarts is the placing half of clusterPlace, given the starts.
func placeByStarts(cust []int32, starts []uint32) []uint32 {
	return placeByCounts(cust, starts, nil)
}

// customerParts splits the rows of a links' customers into a part per
// core for the counting sort by customer (countCustomers, placeByCounts):
// bounds[p] is the first row of part p, with one more entry for the end,
// and counts[p] the rows of part p by customer, the rows of no customer at
// numCustomers.
type customerParts struct {
	bounds []int
	counts [][]uint32
}

// sortParts returns the number of parts the counting sort of n rows by
// customer runs in: one per core, a part of at least minSortPart rows.
func sortParts(n int) int {
	return max(1, min(runtime.GOMAXPROCS(0), n/minSortPart))
}

// minSortPart is the fewest rows of a part of the counting sort by
// customer (a variable for the tests).
var minSortPart = 1 << 20

// placeByCounts is placeByStarts, on every core when parts (from
// countCustomers, whose counts it uses up) holds the rows' counts by part:
// part p places the rows of a customer after those of the parts before
// it, so that the sort stays stable.
func placeByCounts(cust []int32, starts []uint32, parts *customerParts) []uint32 {
	numCustomers := len(starts) - 2
	place := make([]uint32, len(cust))
	if parts == nil || len(parts.counts) < 2 {
		next := make([]uint32, numCustomers+1)
		copy(next, starts)
		placeRows(cust, place, next)
		return place
	}
	// The counts become next: next[p][b] is where part p puts its next
	// row of bucket b.
	next := parts.counts
	parts.counts = nil
	for b := range numCustomers + 1 {
		at := starts[b]
		for _, c := range next {
			at, c[b] = at+c[b], at
		}
	}
	var wg sync.WaitGroup
	for p := range next {
		wg.Go(func() {
			lo, hi := parts.bounds[p], parts.bounds[p+1]
			placeRows(cust[lo:hi], place[lo:hi], next[p])
		})
	}
	wg.Wait()
	return place
}

// placeRows sets place[r] to the next row of the bucket of cust[r] (the
// rows of no customer: the last bucket), counting next up.
func placeRows(cust []int32, place, next []uint32) {
	none := int32(len(next) - 1)
	for r, c := range cust {
		b := c
		if c < 0 {
			b = none
		}
		place[r] = next[b]
		next[b]++
	}
}

// countCustomers is customerStarts with broken, and linkOrder, in one
// pass over cust, a part of the rows per core; parts holds the counts of
// the parts, for placeByCounts.
func countCustomers(cust []int32, numCustomers int) (starts []uint32, broken int, sorted bool, parts *customerParts) {
	n := len(cust)
	np := sortParts(n)
	parts = &customerParts{bounds: make([]int, np+1), counts: make([][]uint32, np)}
	type partOrder struct {
		broken            int
		sorted            bool
		firstVal, lastVal int32 // -1 for none
	}
	orders := make([]partOrder, np)
	var wg sync.WaitGroup
	for p := range np {
		parts.bounds[p+1] = n * (p + 1) / np
		wg.Go(func() {
			counts := make([]uint32, numCustomers+1)
			o := partOrder{sorted: true, firstVal: -1, lastVal: -1}
			last := int32(0)
			for _, c := range cust[n*p/np : n*(p+1)/np] {
				if c < 0 {
					o.broken++
					continue
				}
				counts[c]++
				if c < last || o.broken > 0 {
					o.sorted = false
				}
				last = c
				if o.firstVal < 0 {
					o.firstVal = c
				}
				o.lastVal = c
			}
			counts[numCustomers] = uint32(o.broken)
			parts.counts[p], orders[p] = counts, o
		})
	}
	wg.Wait()
	// Sorted: every part is, and no part's rows go below the customers
	// of the parts before it, or follow their rows of no customer.
	sorted = true
	last := int32(-1)
	for _, o := range orders {
		if !o.sorted || o.firstVal >= 0 && (o.firstVal < last || broken > 0) {
			sorted = false
		}
		if o.lastVal >= 0 {
			last = o.lastVal
		}
		broken += o.broken
	}
	starts = make([]uint32, numCustomers+2)
	for b := range numCustomers + 1 {
		var sum uint32
		for _, c := range parts.counts {
			sum += c[b]
		}
		starts[b+1] = starts[b] + sum
	}
	return starts, broken, sorted, parts
}

// clusteredCustomers returns the customer of every row once the rows are
// clustered, from the starts clusterPlace returned: customer c from
// starts[c] on, NoCustomer after the last.
func clusteredCustomers(starts []uint32, numCustomers int) []int32 {
	cust := make([]int32, starts[len(starts)-1])
	for c := range numCustomers {
		part := cust[starts[c]:starts[c+1]]
		for i := range part {
			part[i] = int32(c)
		}
	}
	broken := cust[starts[numCustomers]:]
	for i := range broken {
		broken[i] = NoCustomer
	}
	return cust
}

// placeInt32 returns vals with vals[r] at place[r].
func placeInt32(vals []int32, place []uint32) []int32 {
	out := make([]int32, len(vals))
	for r, v := range vals {
		out[place[r]] = v
	}
	return out
}

// inversePlace returns, for every row of the clustered order, the row it
// was: perm[place[r]] = r.
func inversePlace(place []uint32) []uint32 {
	perm := make([]uint32, len(place))
	for r, i := range place {
		perm[i] = uint32(r)
	}
	return perm
}

// clusterLinks sets the links of one entity to the clustered order of its
// rows: primary's (the first path's) customers become the clustered ones,
// each other path's are placed, and those paths keep place as their
// FileOrder, so that they can group their rows in the order of the data
// file (sums of numbers add in row order, FORMAT.md section 6). The links'
// customers are not modified but replaced.
func clusterLinks(links []*Links, primary *Links, place, starts []uint32) {
	var perm []uint32
	for _, l := range links {
		if l == primary {
			continue
		}
		if perm == nil {
			perm = inversePlace(place)
		}
		l.Customer = placeInt32(l.Customer, place)
		l.fileOrder = place
		l.Sorted = sortedInFileOrder(l.Customer, perm)
	}
	primary.Customer = clusteredCustomers(starts, primary.numCustomers)
	primary.Sorted = true
	if primary.Broken > 0 {
		primary.placed = place // for Append
	}
	// The starts of the sorted links are those of the sort, without the
	// bucket of the rows of no customer.
	s := starts[:primary.numCustomers+1]
	primary.startsOnce.Do(func() { primary.starts = s })
}

// cluster clusters the rows of every related entity of a snapshot built
// from in-memory data, copying their columns.
func (s *Snapshot) cluster(ctx context.Context, mem memory.Allocator) error {
	for _, e := range s.schema.Entities {
		paths := s.schema.Paths(e.Name)
		t := s.tables[e.Name]
		if len(paths) == 0 || t == nil || t.NumRows < 2 {
			continue
		}
		primary := s.Links(e.Name, paths[0])
		if primary == nil {
			return fmt.Errorf("BUG: no links for %s along %s", e.Name, paths[0])
		}
		if primary.Sorted {
			continue
		}
		place, starts := clusterPlace(primary.Customer, primary.numCustomers)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cluster %s: %w", e.Name, err)
		}
		// The columns are placed side by side, one per core.
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for _, c := range t.Columns {
			g.Go(func() error {
				arr, err := scatter(mem, c.Data, place)
				if err != nil {
					return fmt.Errorf("cluster %s.%s: %w", e.Name, c.Attr.Name, err)
				}
				c.Data.Release()
				c.Data = arr
				return nil
			})
		}
		g.Go(func() error {
			clusterLinks(s.links[e.Name], primary, place, starts)
			return nil
		})
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// scatter returns a new array holding row r of arr at row place[r], with
// buffers from mem. It handles the storage package's normalized types and
// int32 (dictionary codes).
func scatter(mem memory.Allocator, arr arrow.Array, place []uint32) (arrow.Array, error) {
	n := arr.Len()
	if len(place) != n {
		return nil, fmt.Errorf("BUG: placing %d rows by %d places", n, len(place))
	}
	if a, ok := arr.(*array.Dictionary); ok {
		idx, err := scatter(mem, a.Indices(), place)
		if err != nil {
			return nil, err
		}
		defer idx.Release()
		return array.NewDictionaryArray(a.DataType(), idx, a.Dictionary()), nil
	}
	var valid *memory.Buffer
	nulls := arr.NullN()
	if nulls > 0 {
		v := validity{mem: mem, n: n, place: place}
		v.put(arr, 0, appendNulls(nil, arr))
		valid, nulls = v.take()
		defer valid.Release()
	}
	d := arr.Data()
	off := d.Offset()
	var bufs []*memory.Buffer
	switch a := arr.(type) {
	case *array.String:
		offsets, data, err := scatterStrings(mem, a, place)
		if err != nil {
			return nil, err
		}
		defer offsets.Release()
		defer data.Release()
		bufs = []*memory.Buffer{valid, offsets, data}
	case *array.Boolean:
		vals := memory.NewResizableBuffer(mem)
		defer vals.Release()
		vals.Resize(int(bitutil.BytesForBits(int64(n))))
		dst := vals.Bytes()
		clear(dst)
		src := d.Buffers()[1].Bytes()
		validBits := a.NullBitmapBytes()
		// Only the true values are written, a word of them at a time.
		for base := 0; base < n; base += 64 {
			w := bitWord(src, off+base, n-base)
			if validBits != nil {
				w &= bitWord(validBits, off+base, n-base)
			}
			for w != 0 {
				bitutil.SetBit(dst, int(place[base+bits.TrailingZeros64(w)]))
				w &= w - 1
			}
		}
		bufs = []*memory.Buffer{valid, vals}
	case *array.Int64, *array.Float64, *array.Timestamp:
		vals := memory.NewResizableBuffer(mem)
		defer vals.Release()
		vals.Resize(8 * n)
		src := arrow.GetData[uint64](d.Buffers()[1].Bytes())[off : off+n]
		placeValues(src, arrow.GetData[uint64](vals.Bytes()), 0, place)
		bufs = []*memory.Buffer{valid, vals}
	case *array.Date32, *array.Int32:
		vals := memory.NewResizableBuffer(mem)
		defer vals.Release()
		vals.Resize(4 * n)
		src := arrow.GetData[uint32](d.Buffers()[1].Bytes())[off : off+n]
		placeValues(src, arrow.GetData[uint32](vals.Bytes()), 0, place)
		bufs = []*memory.Buffer{valid, vals}
	default:
		return nil, fmt.Errorf("BUG: cannot place a column of type %s", arr.DataType())
	}
	nd := array.NewData(arr.DataType(), n, bufs, nil, nulls, 0)
	defer nd.Release()
	return array.MakeFromData(nd), nil
}

// scatterStrings returns the offsets and data of a's strings with row r at
// row place[r]: the lengths are placed first, then the bytes copied to the
// offsets their prefix sum gives.
func scatterStrings(mem memory.Allocator, a *array.String, place []uint32) (offsets, data *memory.Buffer, err error) {
	n := a.Len()
	offsets = memory.NewResizableBuffer(mem)
	offsets.Resize(4 * (n + 1))
	offs := arrow.GetData[int32](offsets.Bytes())
	src := a.ValueOffsets()
	offs[0] = 0
	for r := range n {
		offs[place[r]+1] = src[r+1] - src[r]
	}
	var total int64
	for i := 1; i <= n; i++ {
		total += int64(offs[i])
		if total > math.MaxInt32 {
			offsets.Release()
			return nil, nil, fmt.Errorf("string column of more than %d bytes", math.MaxInt32)
		}
		offs[i] = int32(total)
	}
	data = memory.NewResizableBuffer(mem)
	data.Resize(int(total))
	dst := data.Bytes()
	bytes := a.ValueBytes()
	base := src[0]
	for r := range n {
		copy(dst[offs[place[r]]:], bytes[src[r]-base:src[r+1]-base])
	}
	return offsets, data, nil
}

// sortedInFileOrder reports whether cust is in customer order (as
// linkOrder says) with each customer's rows in the order of the data file:
// perm[i] is row i's place in the file.
func sortedInFileOrder(cust []int32, perm []uint32) bool {
	if _, sorted := linkOrder(cust); !sorted {
		return false
	}
	for i := 1; i < len(cust); i++ {
		if cust[i] == cust[i-1] && cust[i] != NoCustomer && perm[i] < perm[i-1] {
			return false
		}
	}
	return true
}
