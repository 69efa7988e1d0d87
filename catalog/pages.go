package catalog

import (
	"encoding/binary"
	"fmt"
	"os"
)

// The page structure check.
//
// bbolt trusts its pages: it reads them through a memory map and follows
// page ids, element offsets and lengths without checking them against the
// file. A damaged page makes it index out of range (a panic), follow a page
// id outside the map (a fault that kills the process), loop for ever on a
// page that is its own child, or hand out a key of hundreds of megabytes.
// Its own Tx.Check walks the pages the same way, in a goroutine of its own
// where neither a fault nor a loop can be caught. So Open walks the tree
// first, reading the file with ReadAt and checking every page header,
// every element's bounds, that each page is reached once (no cycle), and
// that the free list names only pages nothing else uses. The walk reads
// the first page of each branch and leaf page and the element headers;
// the bytes of large values (on overflow pages) are not read: the records
// that hold them are checked when they are decoded.

// bbolt's page layout (internal/common/page.go), in the machine's byte
// order.
const (
	pageBranch   = 0x01
	pageLeaf     = 0x02
	pageFreelist = 0x10
	elemSize     = 16 // branch and leaf page elements are both 16 bytes
	leafBucket   = 0x01
	bucketHeader = 16 // root page id, sequence
	noFreelist   = ^uint64(0)
	maxTreeDepth = 64
)

type pageWalker struct {
	f     *os.File
	psize uint64
	hwm   uint64
	seen  []bool // pages reached: [id] for every page of [0, hwm)
	buf   []byte

	// Salvage and VerifyFile walk on past damage: lost gets each damaged
	// subtree's error, and the walk goes on with the next.
	tolerant bool
	lost     []error
	// visit, when set, is given every key and value (nil for a bucket,
	// with its sequence) and the names of the buckets it is in.
	visit func(path [][]byte, k, v []byte, seq uint64)
	path  [][]byte
}

// fail records err and returns nil in a tolerant walk, or returns err.
func (w *pageWalker) fail(err error) error {
	if err != nil && w.tolerant {
		w.lost = append(w.lost, err)
		return nil
	}
	return err
}

// checkPages walks every page of the tree and the free list the meta page
// m names; it returns an ErrCorrupt error naming the first damaged page.
func checkPages(f *os.File, m boltMeta) error {
	w := &pageWalker{f: f, psize: uint64(m.pageSize), hwm: m.hwm, seen: make([]bool, m.hwm), buf: make([]byte, m.pageSize)}
	if m.hwm < 2 {
		return corrupt("the meta page says the file has %d pages", m.hwm)
	}
	return w.walk(m)
}

func (w *pageWalker) walk(m boltMeta) error {
	w.seen[0], w.seen[1] = true, true
	if err := w.page(m.root, "the root bucket", 0); err != nil {
		return err
	}
	if m.freelist != noFreelist {
		return w.fail(w.freelist(m.freelist))
	}
	return nil
}

// reach marks the pages [id, id+overflow] as reached.
func (w *pageWalker) reach(id uint64, overflow uint32, what string) error {
	if id < 2 || id >= w.hwm || uint64(overflow) >= w.hwm-id {
		return corrupt("page %d (+%d overflow) of %s is outside the file's %d pages", id, overflow, what, w.hwm)
	}
	for i := id; i <= id+uint64(overflow); i++ {
		if w.seen[i] {
			return corrupt("page %d of %s is used twice", i, what)
		}
		w.seen[i] = true
	}
	return nil
}

// read returns n bytes at off in page id, which spans extent bytes.
func (w *pageWalker) read(id, off, n uint64) ([]byte, error) {
	var b []byte
	if off+n <= uint64(len(w.buf)) && off == 0 {
		b = w.buf[:n]
	} else {
		b = make([]byte, n)
	}
	if _, err := w.f.ReadAt(b, int64(id*w.psize+off)); err != nil {
		return nil, corrupt("page %d: %v", id, err)
	}
	return b, nil
}

// page checks the branch or leaf page id and every page below it.
func (w *pageWalker) page(id uint64, what string, depth int) error {
	return w.fail(w.pageIn(id, what, depth))
}

func (w *pageWalker) pageIn(id uint64, what string, depth int) error {
	if depth > maxTreeDepth {
		return corrupt("the tree of %s is deeper than %d pages", what, maxTreeDepth)
	}
	if id < 2 || id >= w.hwm {
		return corrupt("%s refers to page %d, outside the file's %d pages", what, id, w.hwm)
	}
	hdr, err := w.read(id, 0, min(w.psize, 16))
	if err != nil {
		return err
	}
	e := binary.NativeEndian
	if got := e.Uint64(hdr); got != id {
		return corrupt("page %d of %s says it is page %d", id, what, got)
	}
	flags, count, overflow := e.Uint16(hdr[8:]), uint64(e.Uint16(hdr[10:])), e.Uint32(hdr[12:])
	if err := w.reach(id, overflow, what); err != nil {
		return err
	}
	extent := (uint64(overflow) + 1) * w.psize
	if 16+count*elemSize > extent {
		return corrupt("page %d of %s: %d elements do not fit in %d bytes", id, what, count, extent)
	}
	elems, err := w.read(id, 16, count*elemSize)
	if err != nil {
		return err
	}
	switch flags {
	case pageBranch:
		if count == 0 {
			return corrupt("branch page %d of %s is empty", id, what)
		}
		for i := range count {
			el := elems[i*elemSize:]
			pos, ksize, child := uint64(e.Uint32(el)), uint64(e.Uint32(el[4:])), e.Uint64(el[8:])
			if 16+i*elemSize+pos+ksize > extent {
				return corrupt("page %d of %s: element %d lies outside the page", id, what, i)
			}
			if err := w.page(child, what, depth+1); err != nil {
				return err
			}
		}
		return nil
	case pageLeaf:
		return w.leaf(elems, count, extent, func(off, n uint64) ([]byte, error) { return w.read(id, off, n) },
			fmt.Sprintf("page %d of %s", id, what), depth, true)
	}
	return corrupt("page %d of %s has type %#x, not a branch or leaf page", id, what, flags)
}

// leaf checks the elements of a leaf page, and the buckets they hold when
// subBuckets; value reads the page's bytes.
func (w *pageWalker) leaf(elems []byte, count, extent uint64, value func(off, n uint64) ([]byte, error), what string, depth int, subBuckets bool) error {
	e := binary.NativeEndian
	for i := range count {
		el := elems[i*elemSize:]
		flags, pos, ksize, vsize := e.Uint32(el), uint64(e.Uint32(el[4:])), uint64(e.Uint32(el[8:])), uint64(e.Uint32(el[12:]))
		at := 16 + i*elemSize + pos
		if flags&^leafBucket != 0 || at+ksize+vsize > extent {
			if err := w.fail(corrupt("%s: element %d is damaged", what, i)); err != nil {
				return err
			}
			continue
		}
		if flags&leafBucket == 0 {
			if w.visit != nil {
				k, err := value(at, ksize)
				if err != nil {
					return err
				}
				v, err := value(at+ksize, vsize)
				if err != nil {
					return err
				}
				w.visit(w.path, k, v, 0)
			}
			continue
		}
		if !subBuckets {
			return corrupt("%s: element %d is a bucket inside an inline bucket", what, i)
		}
		if vsize < bucketHeader {
			return corrupt("%s: bucket element %d is %d bytes", what, i, vsize)
		}
		v, err := value(at+ksize, vsize)
		if err != nil {
			return err
		}
		key, err := value(at, ksize)
		if err != nil {
			return err
		}
		key = append([]byte(nil), key...)
		name := fmt.Sprintf("bucket %q", excerpt(string(key)))
		if w.visit != nil {
			w.visit(w.path, key, nil, e.Uint64(v[8:]))
		}
		w.path = append(w.path, key)
		err = w.bucket(v, name, depth, i, what)
		w.path = w.path[:len(w.path)-1]
		if err != nil {
			return err
		}
	}
	return nil
}

// bucket walks the bucket whose header (and inline page) is v.
func (w *pageWalker) bucket(v []byte, name string, depth int, i uint64, what string) error {
	e := binary.NativeEndian
	{
		if root := e.Uint64(v); root != 0 {
			return w.page(root, name, depth+1)
		}
		// An inline bucket: its leaf page follows the header, in the value.
		in := v[bucketHeader:]
		if len(in) < 16 {
			return corrupt("%s: inline bucket %d is %d bytes", what, i, len(in))
		}
		n := uint64(e.Uint16(in[10:]))
		if e.Uint16(in[8:]) != pageLeaf || 16+n*elemSize > uint64(len(in)) {
			return corrupt("%s: inline bucket %d is damaged", what, i)
		}
		inline := func(off, n uint64) ([]byte, error) {
			if off+n > uint64(len(in)) {
				return nil, corrupt("%s: inline bucket %d is damaged", what, i)
			}
			return in[off : off+n], nil
		}
		return w.fail(w.leaf(in[16:], n, uint64(len(in)), inline, name, depth+1, false))
	}
}

// freelist checks the free list page: it names pages of the file that
// nothing else uses, each once.
func (w *pageWalker) freelist(id uint64) error {
	if id < 2 || id >= w.hwm {
		return corrupt("the free list is page %d, outside the file's %d pages", id, w.hwm)
	}
	hdr, err := w.read(id, 0, 16)
	if err != nil {
		return err
	}
	e := binary.NativeEndian
	flags, count, overflow := e.Uint16(hdr[8:]), uint64(e.Uint16(hdr[10:])), e.Uint32(hdr[12:])
	if e.Uint64(hdr) != id || flags != pageFreelist {
		return corrupt("the free list page %d is damaged", id)
	}
	if err := w.reach(id, overflow, "the free list"); err != nil {
		return err
	}
	extent := (uint64(overflow) + 1) * w.psize
	skip := uint64(0)
	if count == 0xFFFF {
		b, err := w.read(id, 16, 8)
		if err != nil {
			return err
		}
		count, skip = e.Uint64(b), 1
	}
	if count > (extent-16)/8-skip {
		return corrupt("the free list page %d: %d ids do not fit in %d bytes", id, count, extent)
	}
	ids, err := w.read(id, 16+8*skip, 8*count)
	if err != nil {
		return err
	}
	for i := range count {
		p := e.Uint64(ids[8*i:])
		if p < 2 || p >= w.hwm {
			return corrupt("the free list names page %d, outside the file's %d pages", p, w.hwm)
		}
		if w.seen[p] {
			return corrupt("the free list names page %d, which is in use or named twice", p)
		}
		w.seen[p] = true
	}
	return nil
}
