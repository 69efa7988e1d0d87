package storage

import (
	"math/bits"
	"sync"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

// scratchMin is the smallest buffer a scratchPool keeps for reuse; smaller
// ones come from and go back to the underlying allocator directly.
const scratchMin = 4 << 10

// scratchPool is the allocator of the Arrow buffers that a load holds only
// for a while: decoded Parquet pages and batches, the parsed batches of a
// CSV file until they are placed in their columns. A freed buffer is kept
// and handed out again, zeroed as a new one would be, so that decoding a
// file of any size reuses the memory of a few batches instead of leaving
// gigabytes of garbage for the collector (whose headroom over the live
// snapshot is what makes the peak resident memory of a load). Buffers of
// scratchMin bytes and more are kept in power-of-two size classes.
//
// Every byte comes from the underlying allocator, and close returns the
// kept buffers to it: a checked allocator sees a load's scratch memory
// too. It is safe for concurrent use.
type scratchPool struct {
	mem    memory.Allocator
	mu     sync.Mutex
	free   [64][][]byte // by size class: log2 of the capacity
	closed bool
}

var _ memory.Allocator = (*scratchPool)(nil)

func newScratchPool(mem memory.Allocator) *scratchPool { return &scratchPool{mem: mem} }

// Allocate returns a zeroed buffer of size bytes.
func (p *scratchPool) Allocate(size int) []byte {
	if size < scratchMin {
		// The capacity tells Free where a buffer belongs.
		return p.mem.Allocate(size)[:size:size]
	}
	class := bits.Len(uint(size - 1))
	p.mu.Lock()
	if l := p.free[class]; len(l) > 0 {
		b := l[len(l)-1]
		p.free[class] = l[:len(l)-1]
		p.mu.Unlock()
		clear(b)
		return b[:size]
	}
	p.mu.Unlock()
	n := 1 << class
	return p.mem.Allocate(n)[:size:n]
}

// Reallocate returns a buffer of size bytes holding b's bytes, b itself
// when its capacity suffices.
func (p *scratchPool) Reallocate(size int, b []byte) []byte {
	if cap(b) >= scratchMin && size <= cap(b) {
		if size > len(b) {
			clear(b[len(b):size])
		}
		return b[:size]
	}
	nb := p.Allocate(size)
	copy(nb, b)
	p.Free(b)
	return nb
}

// Free keeps b for reuse, or returns a small one to the underlying
// allocator.
func (p *scratchPool) Free(b []byte) {
	if cap(b) < scratchMin {
		p.mem.Free(b)
		return
	}
	b = b[:cap(b)]
	class := bits.Len(uint(cap(b) - 1))
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		p.mem.Free(b)
		return
	}
	p.free[class] = append(p.free[class], b)
}

// close returns the kept buffers to the underlying allocator; a buffer
// freed after close goes straight back to it.
func (p *scratchPool) close() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.closed = true
	for class, l := range p.free {
		for _, b := range l {
			p.mem.Free(b)
		}
		p.free[class] = nil
	}
}
