package export

import (
	"fmt"
	"io"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var roaringFormat = &fileFormat{name: "roaring", start: startRoaring}

// Suffixes of the files a roaring destination writes beside its bitmap.
const (
	// RoaringKeysSuffix names the key list: PATH + ".keys".
	RoaringKeysSuffix = ".keys"
	// RoaringLeftSuffix names the keys of the customers who left, in a
	// delta: PATH + ".left".
	RoaringLeftSuffix = ".left"
)

// NewRoaring returns a destination that writes the export as a roaring
// bitmap with its key list:
//
//   - PATH holds the customer ids (the ids of the exported snapshot) of
//     the rows in the portable roaring format (roaring's WriteTo, which
//     the Java, C and Go libraries read);
//   - PATH.keys holds one customer key per line, in ascending id order
//     (the bitmap's iteration order): line i is the key of the bitmap's
//     i-th id;
//   - in a delta, the bitmap and PATH.keys hold the customers who entered
//     and those whose fields changed (the ids carry no change: both are
//     to be added or updated), and PATH.left holds the keys of the
//     customers who left, one per line (they have no id: they may be gone
//     from the data). A full export removes a PATH.left an earlier delta
//     export left there.
//
// Fields are not written: the bitmap is a membership list. A key with a
// line break cannot be written and fails the export. Each file is written
// beside its target and renamed into place at commit, PATH.keys and
// PATH.left first and the bitmap last, so that a reader that sees the new
// bitmap sees its key list too; a failed export leaves the files that were
// there.
func NewRoaring(path string) Destination { return &fileDest{format: roaringFormat, path: path} }

type roaringEncoder struct {
	bitmap, keys, left io.Writer
	bm                 *roaring.Bitmap
	next               uint64 // the lowest id the next row may have
	ids                []uint32
	buf, leftBuf       []byte
}

func startRoaring(h *Header, o *fileOutputs, _ memory.Allocator) (encoder, error) {
	e := &roaringEncoder{bm: roaring.New()}
	var err error
	// The bitmap is created first: it moves into place last.
	if e.bitmap, err = o.create(""); err != nil {
		return nil, err
	}
	if e.keys, err = o.create(RoaringKeysSuffix); err != nil {
		return nil, err
	}
	if h.Mode == Delta {
		if e.left, err = o.create(RoaringLeftSuffix); err != nil {
			return nil, err
		}
	} else {
		o.stale = append(o.stale, o.path+RoaringLeftSuffix)
	}
	return e, nil
}

func (e *roaringEncoder) write(b *Batch) error {
	ids, buf, left := e.ids[:0], e.buf[:0], e.leftBuf[:0]
	for _, r := range b.Rows {
		if hasLineBreak(r.Key) {
			return fmt.Errorf("the customer key %q has a line break, which a key list of one key a line cannot hold", r.Key)
		}
		if r.Change == Left {
			if e.left == nil {
				return fmt.Errorf("a full export has no left rows (customer %q)", r.Key)
			}
			left = append(append(left, r.Key...), '\n')
			continue
		}
		// Line i of the keys is the bitmap's i-th id only if ids come in
		// ascending order, as Run sends them.
		if uint64(r.ID) < e.next {
			return fmt.Errorf("customer %q (id %d) comes after a higher id; the key list must follow the id order", r.Key, r.ID)
		}
		e.next = uint64(r.ID) + 1
		ids = append(ids, r.ID)
		buf = append(append(buf, r.Key...), '\n')
	}
	e.bm.AddMany(ids)
	e.ids, e.buf, e.leftBuf = ids[:0], buf[:0], left[:0]
	if _, err := e.keys.Write(buf); err != nil {
		return err
	}
	if len(left) > 0 {
		if _, err := e.left.Write(left); err != nil {
			return err
		}
	}
	return nil
}

func (e *roaringEncoder) finish() error {
	e.bm.RunOptimize()
	_, err := e.bm.WriteTo(e.bitmap)
	return err
}

func (e *roaringEncoder) release() { e.bm = nil }
