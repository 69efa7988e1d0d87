package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"time"

	"github.com/segmentkit/segmentkit/internal/regular"
)

// bbolt's meta page, as it lays it out: a 16-byte page header, then the
// meta fields in the machine's byte order.
const (
	boltMagic      = 0xED0CDAED
	boltVersion    = 2
	boltPageHeader = 16
	boltMetaSize   = 64 // magic .. checksum
	boltMetaSum    = 56 // the bytes the checksum covers
)

type boltMeta struct {
	pageSize uint32
	root     uint64 // the root bucket's page
	freelist uint64 // the free list's page, or noFreelist
	hwm      uint64 // the high water mark: pages [0, hwm) are in use
	txid     uint64
}

// readBoltMeta decodes the meta page at off; ok is false if it is not a
// valid one.
func readBoltMeta(f *os.File, off int64) (m boltMeta, ok bool) {
	var buf [boltPageHeader + boltMetaSize]byte
	if _, err := f.ReadAt(buf[:], off); err != nil {
		return m, false
	}
	b := buf[boltPageHeader:]
	e := binary.NativeEndian
	if e.Uint32(b[0:]) != boltMagic || e.Uint32(b[4:]) != boltVersion {
		return m, false
	}
	h := fnv.New64a()
	h.Write(b[:boltMetaSum])
	if h.Sum64() != e.Uint64(b[boltMetaSum:]) {
		return m, false
	}
	m = boltMeta{pageSize: e.Uint32(b[8:]), root: e.Uint64(b[16:]), freelist: e.Uint64(b[32:]), hwm: e.Uint64(b[40:]), txid: e.Uint64(b[48:])}
	return m, m.pageSize >= 512
}

// checkFile refuses what is not a regular file (regular.ErrNotRegular: a
// FIFO would block bbolt's open), an empty file (bbolt would make it a new database), a
// bbolt file shorter than the pages its meta page says are in use, as left
// by a partial copy or a full disk (bbolt maps the file and reads those
// pages without checking its length, and touching a mapped page past the
// end of the file kills the process), and a file whose pages do not hold
// together (checkPages). Files it cannot read, and longer files that are
// not bbolt files, are left to bolt.Open to report.
//
// It holds a shared lock on the file while it reads, so that it never
// reads a file that a writer is changing: a file another process writes
// is ErrLocked once timeout has passed (zero: wait for ever).
func checkFile(path string, timeout time.Duration) error {
	// A FIFO would block the open, a device never end.
	f, err := regular.Open(path)
	if errors.Is(err, regular.ErrNotRegular) {
		return err
	}
	if err != nil {
		return nil
	}
	defer f.Close() // and unlocks
	switch ok, err := lockShared(f, timeout); {
	case err != nil:
		return nil // left to bolt.Open
	case !ok:
		return ErrLocked
	}
	return checkOpenFile(f)
}

// checkOwnFile is checkFile for the catalog's own file, which it holds
// locked: Verify calls it while it holds off writers.
func (c *Catalog) checkOwnFile() error {
	f, err := os.Open(c.path)
	if err != nil {
		return err
	}
	defer f.Close()
	return checkOpenFile(f)
}

// checkOpenFile makes checkFile's checks on f.
func checkOpenFile(f *os.File) error {
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return nil
	}
	size := st.Size()
	if size == 0 {
		return fmt.Errorf("%w: the file is empty (0 bytes); remove it to start a new catalog", ErrNotCatalog)
	}
	m, ok := currentMeta(f)
	if !ok {
		if size > 0 && size < 2*int64(os.Getpagesize()) {
			return fmt.Errorf("%w: the file is only %d bytes long", ErrNotCatalog, size)
		}
		return nil
	}
	if need := uint64(size) / uint64(m.pageSize); m.hwm > need {
		return corrupt("the file is %d bytes long, but it holds %d pages of %d bytes: it is truncated", size, m.hwm, m.pageSize)
	}
	return checkPages(f, m)
}

// currentMeta returns the meta page bbolt uses: the valid one with the
// higher transaction id. The first meta page gives the page size; without
// it, the second is looked for where bbolt looks.
func currentMeta(f *os.File) (boltMeta, bool) {
	var metas []boltMeta
	m0, ok0 := readBoltMeta(f, 0)
	if ok0 {
		metas = append(metas, m0)
		if m1, ok := readBoltMeta(f, int64(m0.pageSize)); ok && m1.pageSize == m0.pageSize {
			metas = append(metas, m1)
		}
	} else {
		for i := 0; i <= 14; i++ {
			if m1, ok := readBoltMeta(f, 1024<<i); ok && int64(m1.pageSize) == 1024<<i {
				metas = append(metas, m1)
				break
			}
		}
	}
	if len(metas) == 0 {
		return boltMeta{}, false
	}
	m := metas[0]
	if len(metas) == 2 && metas[1].txid > m.txid {
		m = metas[1]
	}
	return m, true
}
