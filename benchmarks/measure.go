package benchmarks

import (
	"runtime"
	"runtime/debug"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segmentkit/segmentkit/benchmarks/suite"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// MemoryBandwidth measures the memory read bandwidth in bytes per second:
// workers goroutines sum disjoint parts of a buffer of size bytes, and the
// best of tries passes counts. The buffer is freed before it returns.
func MemoryBandwidth(workers int, size int64, tries int) float64 {
	buf := make([]uint64, size/8)
	parts := func(f func(part []uint64, w int)) {
		var wg sync.WaitGroup
		n := len(buf) / workers
		for w := range workers {
			lo, hi := w*n, (w+1)*n
			if w == workers-1 {
				hi = len(buf)
			}
			wg.Go(func() { f(buf[lo:hi], w) })
		}
		wg.Wait()
	}
	// Write every page first, so that the passes read memory rather than
	// fault it in.
	parts(func(part []uint64, w int) {
		for i := range part {
			part[i] = uint64(i)
		}
	})
	sums := make([]uint64, workers)
	best := 0.0
	for range tries {
		start := time.Now()
		parts(func(part []uint64, w int) { sums[w] = sum(part) })
		if bw := float64(len(buf)*8) / time.Since(start).Seconds(); bw > best {
			best = bw
		}
	}
	sink = sums
	buf = nil
	runtime.GC()
	debug.FreeOSMemory()
	return best
}

// sink keeps the sums alive so the compiler keeps the loops.
var sink []uint64

// sum adds xs with four independent accumulators, so that the loop is
// limited by memory rather than by the latency of one chain of adds.
func sum(xs []uint64) uint64 {
	var a, b, c, d uint64
	i := 0
	for ; i+4 <= len(xs); i += 4 {
		a += xs[i]
		b += xs[i+1]
		c += xs[i+2]
		d += xs[i+3]
	}
	for ; i < len(xs); i++ {
		a += xs[i]
	}
	return a + b + c + d
}

// BytesRead returns the bytes a case must read at least: every column it
// touches, in full, at the width segmentkit stores it (8 bytes for integers,
// numbers and datetimes, 4 for dates and dictionary codes, one bit for
// booleans; a dictionary's values and a plain string's offsets and bytes
// in full), plus, for every related entity it reaches, 4 bytes per row for
// the row's customer (the relationship path resolved at load). Validity
// bitmaps are not counted.
func BytesRead(snap *storage.Snapshot, c suite.Case) int64 {
	sch := snap.Schema()
	attrs := map[string]bool{}
	related := map[string]bool{}
	switch c.Kind {
	case suite.Members:
		for _, g := range c.Def.Groups {
			segment.Inspect(g.Condition, func(n segment.Condition) bool {
				switch n := n.(type) {
				case *segment.Predicate:
					attrs[n.Attribute] = true
				case *segment.Related:
					related[n.Entity] = true
					if n.Aggregate != nil {
						if n.Aggregate.Attribute != "" {
							attrs[n.Aggregate.Attribute] = true
						}
						if n.Aggregate.OrderBy != "" {
							attrs[n.Aggregate.OrderBy] = true
						}
					}
				}
				return true
			})
		}
	default:
		attrs[c.Field] = true
	}
	var total int64
	for a := range attrs {
		entity, name := splitAttribute(a)
		if entity != sch.CustomerEntity {
			related[entity] = true
		}
		if t := snap.Table(entity); t != nil {
			if col := t.Column(name); col != nil {
				total += columnBytes(col)
			}
		}
	}
	for e := range related {
		if t := snap.Table(e); t != nil && len(sch.Paths(e)) > 0 {
			total += 4 * int64(t.NumRows)
		}
	}
	return total
}

func splitAttribute(a string) (entity, name string) {
	for i := range len(a) {
		if a[i] == '.' {
			return a[:i], a[i+1:]
		}
	}
	return "", a
}

// columnBytes is the bytes of a column's values as segmentkit holds them.
func columnBytes(col *storage.Column) int64 {
	n := int64(col.Data.Len())
	switch a := col.Data.(type) {
	case *array.Boolean:
		return (n + 7) / 8
	case *array.Date32:
		return 4 * n
	case *array.Dictionary:
		return 4*n + stringBytes(a.Dictionary())
	case *array.String:
		return stringBytes(a)
	}
	return 8 * n
}

// stringBytes is the bytes of a plain string array: an offset per row and
// one more, and the UTF-8 bytes.
func stringBytes(a arrow.Array) int64 {
	s, ok := a.(*array.String)
	if !ok {
		return 0
	}
	return 4*int64(s.Len()+1) + stringData(s)
}

// stringData is the UTF-8 bytes of a plain string array.
func stringData(s *array.String) int64 {
	offs := s.ValueOffsets()
	if len(offs) == 0 {
		return 0
	}
	return int64(offs[len(offs)-1] - offs[0])
}

// RawBytes returns the bytes of every column of the snapshot as plain
// values, without validity: 8 bytes per integer, number and datetime,
// 4 per date, one bit per boolean, and strings as plain Arrow strings
// (a 4-byte offset per row and their UTF-8 bytes, however they are
// encoded in the snapshot).
func RawBytes(snap *storage.Snapshot) int64 {
	var total int64
	for _, e := range snap.Schema().Entities {
		t := snap.Table(e.Name)
		for _, col := range t.Columns {
			if col.Attr.Type != schema.String {
				total += columnBytes(col)
				continue
			}
			total += 4 * int64(col.Data.Len()+1)
			switch a := col.Data.(type) {
			case *array.String:
				total += stringData(a)
			case *array.Dictionary:
				dict, _ := a.Dictionary().(*array.String)
				if dict == nil {
					continue
				}
				for i := range a.Len() {
					if a.IsValid(i) {
						total += int64(len(dict.Value(a.GetValueIndex(i))))
					}
				}
			}
		}
	}
	return total
}
