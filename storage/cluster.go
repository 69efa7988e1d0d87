package storage

import (
	"context"
	"fmt"
	"runtime"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/bitutil"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"golang.org/x/sync/errgroup"
)

// cluster re-sorts the rows of every related entity by customer along the
// entity's first relationship path, rows of no customer last. The sort is
// stable, so one customer's rows keep their order. Aggregates scatter into
// per-customer arrays in row order; with clustered rows those writes, and
// the reads of the link and value columns, move forward through memory
// instead of jumping, which is what makes an aggregate one sequential pass
// (DESIGN.md, "Related entities are clustered by customer at load").
//
// Row numbers of related entities are internal: no result or error refers
// to them after load, so the order is free to change.
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
		perm := customerOrder(primary.Customer, customerStarts(primary.Customer, primary.numCustomers, true), true)
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("cluster %s: %w", e.Name, err)
		}
		// fileOrder lists the rows in the order of the entity's data file:
		// the other paths group their rows by it, so that each customer's
		// rows along them stay in file order (sums of numbers add in row
		// order, FORMAT.md section 6).
		fileOrder := make([]uint32, len(perm))
		for i, r := range perm {
			fileOrder[r] = uint32(i)
		}
		// The columns and links are reordered side by side, one per core.
		var g errgroup.Group
		g.SetLimit(runtime.GOMAXPROCS(0))
		for _, c := range t.Columns {
			g.Go(func() error {
				arr, err := take(mem, c.Data, perm)
				if err != nil {
					return fmt.Errorf("cluster %s.%s: %w", e.Name, c.Attr.Name, err)
				}
				c.Data.Release()
				c.Data = arr
				return nil
			})
		}
		for _, l := range s.links[e.Name] {
			g.Go(func() error {
				cust := make([]int32, len(perm))
				for i, r := range perm {
					cust[i] = l.Customer[r]
				}
				l.Customer = cust
				// The primary path is in customer order now, each
				// customer's rows in file order; another path may or may
				// not be, and groups its rows in file order.
				l.Sorted = l == primary
				if !l.Sorted {
					l.fileOrder = fileOrder
					l.Sorted = sortedInFileOrder(cust, perm)
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
	}
	return nil
}

// take returns a new array holding arr's values in the order of perm. It
// handles the storage package's normalized types.
func take(mem memory.Allocator, arr arrow.Array, perm []uint32) (arrow.Array, error) {
	n := len(perm)
	width := 0 // bytes per value; 0 for booleans, one bit each
	switch a := arr.(type) {
	case *array.String:
		b := array.NewStringBuilder(mem)
		defer b.Release()
		b.Reserve(n)
		b.ReserveData(len(a.ValueBytes()))
		for _, r := range perm {
			if a.IsNull(int(r)) {
				b.AppendNull()
			} else {
				b.Append(a.Value(int(r)))
			}
		}
		return b.NewArray(), nil
	case *array.Dictionary:
		idx, err := take(mem, a.Indices(), perm)
		if err != nil {
			return nil, err
		}
		defer idx.Release()
		return array.NewDictionaryArray(a.DataType(), idx, a.Dictionary()), nil
	case *array.Int64, *array.Float64, *array.Timestamp:
		width = 8
	case *array.Date32, *array.Int32:
		width = 4
	case *array.Boolean:
	default:
		return nil, fmt.Errorf("BUG: cannot reorder a column of type %s", arr.DataType())
	}
	var validity *memory.Buffer
	nulls := 0
	if arr.NullN() > 0 {
		validity = takeBits(mem, perm, arr.IsValid)
		nulls = n - bitutil.CountSetBits(validity.Bytes(), 0, n)
		defer validity.Release()
	}
	var vals *memory.Buffer
	if width == 0 {
		vals = takeBits(mem, perm, arr.(*array.Boolean).Value)
	} else {
		d := arr.Data()
		vals = memory.NewResizableBuffer(mem)
		vals.Resize(n * width)
		src := d.Buffers()[1].Bytes()[d.Offset()*width:]
		if width == 8 {
			gather(arrow.GetData[uint64](src), arrow.GetData[uint64](vals.Bytes()), perm)
		} else {
			gather(arrow.GetData[uint32](src), arrow.GetData[uint32](vals.Bytes()), perm)
		}
	}
	defer vals.Release()
	nd := array.NewData(arr.DataType(), n, []*memory.Buffer{validity, vals}, nil, nulls, 0)
	defer nd.Release()
	return array.MakeFromData(nd), nil
}

// gather sets dst[i] to src[perm[i]].
func gather[T any](src, dst []T, perm []uint32) {
	for i, r := range perm {
		dst[i] = src[r]
	}
}

// takeBits returns a bitmap whose bit i is bit(perm[i]).
func takeBits(mem memory.Allocator, perm []uint32, bit func(int) bool) *memory.Buffer {
	buf := memory.NewResizableBuffer(mem)
	buf.Resize(int(bitutil.BytesForBits(int64(len(perm)))))
	b := buf.Bytes()
	clear(b)
	for i, r := range perm {
		if bit(int(r)) {
			bitutil.SetBit(b, i)
		}
	}
	return buf
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
