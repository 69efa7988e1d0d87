package catalog

import (
	"bytes"
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
	if err := w.page(m.root, "the root bucket", 0, keyRange{}); err != nil {
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

// keyRange is the range of keys a page may hold: from lo, inclusive, to
// hi, exclusive; nil is no bound. A branch element's key is the first
// key of its child, so the child's range runs from it to the next
// element's key. bbolt finds a key by binary search: a key out of order
// is not found, and deleting it does nothing (a loop that deletes the
// first key until none is left would never end).
type keyRange struct{ lo, hi []byte }

// check returns an error when key is not after prev (nil for the first
// key of a page) or outside r.
func (r keyRange) check(prev, key []byte, what string, i uint64) error {
	if prev != nil && bytes.Compare(key, prev) <= 0 {
		return corrupt("%s: the key of element %d is not after the one before it", what, i)
	}
	if r.lo != nil && bytes.Compare(key, r.lo) < 0 || r.hi != nil && bytes.Compare(key, r.hi) >= 0 {
		return corrupt("%s: the key of element %d lies outside the range its parent page gives", what, i)
	}
	return nil
}

// page checks the branch or leaf page id, whose keys lie in r, and every
// page below it.
func (w *pageWalker) page(id uint64, what string, depth int, r keyRange) error {
	return w.fail(w.pageIn(id, what, depth, r))
}

func (w *pageWalker) pageIn(id uint64, what string, depth int, r keyRange) error {
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
		keys := make([][]byte, count)
		for i := range count {
			el := elems[i*elemSize:]
			pos, ksize := uint64(e.Uint32(el)), uint64(e.Uint32(el[4:]))
			if 16+i*elemSize+pos+ksize > extent {
				return corrupt("page %d of %s: element %d lies outside the page", id, what, i)
			}
			if keys[i], err = w.read(id, 16+i*elemSize+pos, ksize); err != nil {
				return err
			}
			var prev []byte
			if i > 0 {
				prev = keys[i-1]
			}
			if err := r.check(prev, keys[i], fmt.Sprintf("branch page %d of %s", id, what), i); err != nil {
				return err
			}
		}
		for i := range count {
			child := keyRange{lo: keys[i], hi: r.hi}
			if i+1 < count {
				child.hi = keys[i+1]
			}
			if err := w.page(e.Uint64(elems[i*elemSize+8:]), what, depth+1, child); err != nil {
				return err
			}
		}
		return nil
	case pageLeaf:
		// The whole page in one read (its keys are compared, and the
		// buckets it holds walked, while it is in use: a buffer of its own).
		pg := make([]byte, extent)
		if _, err := w.f.ReadAt(pg, int64(id*w.psize)); err != nil {
			return corrupt("page %d: %v", id, err)
		}
		return w.leaf(elems, count, extent, func(off, n uint64) ([]byte, error) { return pg[off : off+n], nil },
			fmt.Sprintf("page %d of %s", id, what), depth, true, r)
	}
	return corrupt("page %d of %s has type %#x, not a branch or leaf page", id, what, flags)
}

// leaf checks the elements of a leaf page, whose keys lie in r, and the
// buckets they hold when subBuckets; value reads the page's bytes.
func (w *pageWalker) leaf(elems []byte, count, extent uint64, value func(off, n uint64) ([]byte, error), what string, depth int, subBuckets bool, r keyRange) error {
	e := binary.NativeEndian
	var prev []byte
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
		k, err := value(at, ksize)
		if err != nil {
			return err
		}
		if err := r.check(prev, k, what, i); err != nil {
			// A tolerant walk reads on: the keys are still there to copy.
			if err := w.fail(err); err != nil {
				return err
			}
		}
		prev = k
		if flags&leafBucket == 0 {
			if w.visit != nil {
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
		key := append([]byte(nil), k...)
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
			return w.page(root, name, depth+1, keyRange{})
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
		return w.fail(w.leaf(in[16:], n, uint64(len(in)), inline, name, depth+1, false, keyRange{}))
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
