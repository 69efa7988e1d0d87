package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/storage"
)

// Members across data reloads.
//
// Customer ids are row numbers of one snapshot: after the data is
// reloaded the same id may be another customer. The catalog stores a
// segment's members as a roaring bitmap of ids together with a hash of the
// snapshot's customer key list (every key, in id order), and stores that
// key list once per hash in the keysets bucket. When the current snapshot
// has the same key list (the common case: only related entities changed,
// or nothing did) the bitmap is used as is; otherwise each member id is
// mapped to its key in the stored list and back to an id of the current
// snapshot. Customers no longer in the data drop out of the mapped set.
// This is how a static segment's frozen members survive any number of
// reloads without being rewritten.

// hashKeys returns the hash of the snapshot's customer key list, checking
// ctx every 64K customers.
func hashKeys(ctx context.Context, snap *storage.Snapshot) ([32]byte, error) {
	h := sha256.New()
	var buf []byte
	n := snap.NumCustomers()
	for i := range n {
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return [32]byte{}, err
			}
		}
		k := snap.CustomerKey(uint32(i))
		buf = binary.AppendUvarint(buf[:0], uint64(len(k)))
		buf = append(buf, k...)
		h.Write(buf)
	}
	var out [32]byte
	h.Sum(out[:0])
	return out, nil
}

// fingerprintCache remembers the key-list hash of the latest snapshot, so
// that a cached snapshot is hashed once.
type fingerprintCache struct {
	mu   sync.Mutex
	snap *storage.Snapshot
	keys [32]byte
}

func (f *fingerprintCache) get(ctx context.Context, snap *storage.Snapshot) ([32]byte, error) {
	f.mu.Lock()
	if f.snap == snap {
		k := f.keys
		f.mu.Unlock()
		return k, nil
	}
	f.mu.Unlock()
	k, err := hashKeys(ctx, snap)
	if err != nil {
		return k, err
	}
	f.mu.Lock()
	f.snap, f.keys = snap, k
	f.mu.Unlock()
	return k, nil
}

// encodeKeys writes the snapshot's customer keys: a uvarint count, then
// each key as a uvarint length and its bytes.
func encodeKeys(snap *storage.Snapshot) []byte {
	n := snap.NumCustomers()
	buf := binary.AppendUvarint(make([]byte, 0, n*10+8), uint64(n))
	for i := range n {
		k := snap.CustomerKey(uint32(i))
		buf = binary.AppendUvarint(buf, uint64(len(k)))
		buf = append(buf, k...)
	}
	return buf
}

// translate returns, for every customer id of the stored key list with
// hash from, the id of the same customer in d's snapshot, or -1 (ids fit
// in an int32: storage bounds an entity to 2^31-1 rows). It reads the
// list straight from the file, without keeping its keys.
func translate(tx *bolt.Tx, from [32]byte, d *loadedData) ([]int32, error) {
	v := tx.Bucket(bucketKeysets).Get(from[:])
	if v == nil {
		return nil, corrupt("the customer key list %s of stored members is missing", shortHash(from))
	}
	if !keysMatch(from[:], v) {
		return nil, corrupt("customer key list %s: the keys do not match their hash: the list is damaged", shortHash(from))
	}
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)) {
		return nil, corrupt("customer key list %s: bad count", shortHash(from))
	}
	v = v[w:]
	out := make([]int32, n)
	for i := range out {
		l, w := binary.Uvarint(v)
		if w <= 0 || l > uint64(len(v)-w) {
			return nil, corrupt("customer key list %s: truncated", shortHash(from))
		}
		out[i] = -1
		if id, ok := d.snap.CustomerID(string(v[w : w+int(l)])); ok {
			out[i] = int32(id)
		}
		v = v[w+int(l):]
	}
	return out, nil
}

// translationCache keeps the last id translations between a stored key
// list and a snapshot's, so that mapping many segments' members after a
// data reload reads the stored list once.
type translationCache struct {
	mu      sync.Mutex
	entries []translation
}

type translation struct {
	from, to [32]byte
	ids      []int32
}

const translationCacheSize = 2

func (tc *translationCache) get(from, to [32]byte) ([]int32, bool) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	for _, e := range tc.entries {
		if e.from == from && e.to == to {
			return e.ids, true
		}
	}
	return nil, false
}

func (tc *translationCache) put(from, to [32]byte, ids []int32) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if len(tc.entries) >= translationCacheSize {
		tc.entries = tc.entries[1:]
	}
	tc.entries = append(tc.entries, translation{from: from, to: to, ids: ids})
}

// mapMembers returns blob's members as ids of the snapshot d, and how many
// of them are not in it. The bitmap is new and the caller's.
func (c *Catalog) mapMembers(tx *bolt.Tx, blob memberBlob, d *loadedData) (*roaring.Bitmap, uint64, error) {
	if blob.keys == d.keys {
		// The snapshot's own ids; a damaged blob (version 1 has no
		// checksum) may name one past its customers.
		if n := d.snap.NumCustomers(); !blob.members.IsEmpty() && uint64(blob.members.Maximum()) >= uint64(n) {
			return nil, 0, corrupt("a stored member id %d is beyond the snapshot's %d customers", blob.members.Maximum(), n)
		}
		return blob.members.Clone(), 0, nil
	}
	ids, err := c.translation(tx, blob.keys, d)
	if err != nil {
		return nil, 0, err
	}
	out := roaring.New()
	var missing uint64
	buf := make([]uint32, 0, 4096)
	it := blob.members.Iterator()
	for it.HasNext() {
		old := it.Next()
		if int(old) >= len(ids) {
			return nil, 0, corrupt("a stored member id %d is beyond its key list of %d", old, len(ids))
		}
		id := ids[old]
		if id < 0 {
			missing++
			continue
		}
		buf = append(buf, uint32(id))
		if len(buf) == cap(buf) {
			out.AddMany(buf)
			buf = buf[:0]
		}
	}
	out.AddMany(buf)
	return out, missing, nil
}

// translation returns translate's ids from the stored key list from to
// d's snapshot, through the cache.
func (c *Catalog) translation(tx *bolt.Tx, from [32]byte, d *loadedData) ([]int32, error) {
	if ids, ok := c.trans.get(from, d.keys); ok {
		return ids, nil
	}
	ids, err := translate(tx, from, d)
	if err != nil {
		return nil, err
	}
	c.trans.put(from, d.keys, ids)
	return ids, nil
}

// storedMembers reads the segment's members mapped to d; an empty bitmap
// if it has none.
func (c *Catalog) storedMembers(tx *bolt.Tx, id uint64, d *loadedData) (*roaring.Bitmap, error) {
	blob, ok, err := getMembers(tx, id)
	if err != nil || !ok {
		return roaring.New(), err
	}
	bm, _, err := c.mapMembers(tx, blob, d)
	return bm, err
}

func shortHash(h [32]byte) string { return hex.EncodeToString(h[:8]) }

// keysetWriter encodes a snapshot's key list at most once per job, and
// only when the file does not hold it yet.
type keysetWriter struct {
	once sync.Once
	d    *loadedData
	enc  []byte
}

// ensure puts the key list into tx if it is missing.
func (w *keysetWriter) ensure(tx *bolt.Tx) error {
	ks := tx.Bucket(bucketKeysets)
	if ks.Get(w.d.keys[:]) != nil {
		return nil
	}
	w.once.Do(func() { w.enc = encodeKeys(w.d.snap) })
	if err := ks.Put(w.d.keys[:], w.enc); err != nil {
		return fmt.Errorf("store customer key list: %w", err)
	}
	return nil
}
