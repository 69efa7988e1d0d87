package benchmarks

import (
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segmentkit/segmentkit/benchmarks/suite"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// BandwidthProbe measures the memory read bandwidth: workers goroutines
// sum disjoint parts of a buffer much larger than the caches. The buffer
// is allocated, and every page written, once; each Measure then reads it
// once. Release frees it. A BandwidthProbe is not safe for concurrent
// use.
type BandwidthProbe struct {
	buf     []uint64
	workers int
	sums    []uint64
}

// NewBandwidthProbe returns a probe of workers goroutines (at least one)
// over a buffer of size bytes.
func NewBandwidthProbe(workers int, size int64) *BandwidthProbe {
	p := &BandwidthProbe{buf: make([]uint64, size/8), workers: max(workers, 1)}
	p.sums = make([]uint64, p.workers)
	// Write every page first, so that the passes read memory rather than
	// fault it in.
	p.parts(func(part []uint64, w int) {
		for i := range part {
			part[i] = uint64(i)
		}
	})
	return p
}

// Size is the buffer's size in bytes.
func (p *BandwidthProbe) Size() int64 { return int64(len(p.buf)) * 8 }

// Measure reads the whole buffer once and returns the bandwidth, in bytes
// per second.
func (p *BandwidthProbe) Measure() float64 {
	start := time.Now()
	p.parts(func(part []uint64, w int) { p.sums[w] = sum(part) })
	bw := float64(len(p.buf)*8) / time.Since(start).Seconds()
	sink = p.sums
	return bw
}

// Release frees the buffer and returns its memory to the system; the
// probe must not be used after it.
func (p *BandwidthProbe) Release() {
	p.buf = nil
	runtime.GC()
	debug.FreeOSMemory()
}

// parts runs f on the workers' parts of the buffer, concurrently.
func (p *BandwidthProbe) parts(f func(part []uint64, w int)) {
	var wg sync.WaitGroup
	n := len(p.buf) / p.workers
	for w := range p.workers {
		lo, hi := w*n, (w+1)*n
		if w == p.workers-1 {
			hi = len(p.buf)
		}
		wg.Go(func() { f(p.buf[lo:hi], w) })
	}
	wg.Wait()
}

// PeakRSS returns the peak resident memory of the process (VmHWM) since
// it started or since the last ResetPeakRSS, or 0 where /proc does not
// tell it.
func PeakRSS() int64 { return procStatus("VmHWM:") }

// RSS returns the resident memory of the process (VmRSS), or 0 where
// /proc does not tell it.
func RSS() int64 { return procStatus("VmRSS:") }

// ResetPeakRSS resets the process's peak resident memory to its current
// resident memory (writing "5" to /proc/self/clear_refs, Linux), so that
// PeakRSS then measures the peak of what follows. It returns an error
// where that is not possible.
func ResetPeakRSS() error {
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		return fmt.Errorf("resetting the peak resident memory: %w", err)
	}
	return nil
}

// procStatus returns the field of /proc/self/status that starts with
// prefix, in bytes, or 0.
func procStatus(prefix string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, prefix); ok {
			f := strings.Fields(rest)
			if len(f) == 2 && f[1] == "kB" {
				if kb, err := strconv.ParseInt(f[0], 10, 64); err == nil {
					return kb * 1024
				}
			}
		}
	}
	return 0
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
