package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
)

// Who entered and left.
//
// Every successful refresh stores, beside its history entry and under the
// same key, a change entry: the customers who entered as a roaring bitmap
// of ids of the refresh's snapshot, and those who left as ids of the
// previous members' key list (customers who left may be gone from the
// data, so only that list still names them). Each bitmap carries the hash
// of its key list, and a key list stays in the file while a change entry
// refers to it. Entries older than Options.ChangeRetention are removed
// when a refresh commits, which bounds the file.

// Change is one successful refresh of a segment: who entered and who left
// compared with the members before it.
type Change struct {
	// Time is when the refresh stored its result (HistoryEntry.Time).
	Time time.Time `json:"time"`
	// Job is the refresh job's id.
	Job uint64 `json:"job"`
	// AsOf is the instant the job evaluated at.
	AsOf time.Time `json:"asOf,omitzero"`
	// Kept is true when a static segment kept its frozen members: nobody
	// entered or left.
	Kept bool `json:"kept,omitempty"`
	// EnteredCount and LeftCount are len(Entered) and len(Left).
	EnteredCount int `json:"enteredCount"`
	LeftCount    int `json:"leftCount"`
	// Entered are the keys of the customers who entered, in customer id
	// order of the refresh's snapshot; Left those who left, in id order of
	// the snapshot the previous members were ids of. Never nil.
	Entered []string `json:"entered"`
	Left    []string `json:"left"`
}

// MembershipStatus says how a customer stands in a segment, as a CDP
// reports it.
type MembershipStatus uint8

const (
	// MemberEntered: the customer entered at the segment's latest refresh.
	MemberEntered MembershipStatus = iota + 1
	// MemberStillIn: the customer was a member before the segment's latest
	// refresh and still is.
	MemberStillIn
	// MemberExited: the customer left at the segment's latest refresh.
	MemberExited
)

// membershipNames are the statuses' names, by value; 0 is no status.
var membershipNames = [...]string{"", "entered", "still in", "exited"}

// String returns "entered", "still in", "exited" or
// "MembershipStatus(N)".
func (s MembershipStatus) String() string {
	if s > 0 && int(s) < len(membershipNames) {
		return membershipNames[s]
	}
	return fmt.Sprintf("MembershipStatus(%d)", uint8(s))
}

// MarshalText returns the status's String.
func (s MembershipStatus) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status's name.
func (s *MembershipStatus) UnmarshalText(b []byte) error {
	if i := slices.Index(membershipNames[:], string(b)); i > 0 {
		*s = MembershipStatus(i)
		return nil
	}
	return fmt.Errorf("unknown membership status %q", b)
}

// Membership is a customer's place in one segment.
type Membership struct {
	// Segment is the segment's name.
	Segment string `json:"segment"`
	// Status is entered, still in or exited.
	Status MembershipStatus `json:"status"`
	// Since is, for a member, the time of the refresh at which the
	// customer last entered; for MemberExited, the time of the refresh at
	// which they left. Zero when SinceKnown is false.
	Since time.Time `json:"since,omitzero"`
	// SinceKnown is false when the change entry of the refresh at which a
	// member entered is no longer in the file (removed by
	// Options.ChangeRetention, or stored before changes were recorded).
	SinceKnown bool `json:"sinceKnown"`
	// Before is, when SinceKnown is false, the time of the segment's
	// oldest change entry the file keeps: the customer has been a member
	// since before it. Zero when there is none.
	Before time.Time `json:"before,omitzero"`
}

// Changes returns the segment's successful refreshes with a time in
// [from, to], oldest first, each with the keys of the customers who
// entered and left (a zero from or to leaves that end open). Only the
// refreshes within Options.ChangeRetention are kept. The keys are read
// from the catalog file, so Changes needs no Source. An unknown name
// wraps ErrNotFound.
func (c *Catalog) Changes(ctx context.Context, name string, from, to time.Time) ([]Change, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out []Change
	err := c.view(func(tx *bolt.Tx) error {
		r, err := getByName(tx, name)
		if err != nil {
			return err
		}
		b := changesOf(tx, r.ID)
		if b == nil {
			return nil
		}
		cur := b.Cursor()
		for k, v := firstFrom(cur, from); k != nil; k, v = cur.Next() {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("changes of %q: %w", name, err)
			}
			cb, err := decodeChange(k, v)
			if err != nil {
				return corrupt("changes of %q: %v", name, err)
			}
			if !to.IsZero() && cb.time.After(to) {
				break
			}
			if cb.time.Before(from) {
				continue
			}
			ch := Change{Time: cb.time, Job: cb.job, AsOf: cb.asOf, Kept: cb.kept}
			if ch.Entered, err = c.keysOf(ctx, tx, cb.enteredKeys, cb.entered); err != nil {
				return fmt.Errorf("changes of %q: %w", name, err)
			}
			if ch.Left, err = c.keysOf(ctx, tx, cb.leftKeys, cb.left); err != nil {
				return fmt.Errorf("changes of %q: %w", name, err)
			}
			ch.EnteredCount, ch.LeftCount = len(ch.Entered), len(ch.Left)
			out = append(out, ch)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SegmentsOf returns the segments the customer with the key is in now
// (their stored members contain it), and those the customer left at the
// segment's latest refresh, sorted by name. A member's Status is
// MemberEntered when they entered at the segment's latest refresh and
// MemberStillIn otherwise, with Since the time they last entered; see
// Membership. A key that no stored key list holds (an unknown customer)
// gives an empty list and no error. The keys are read from the catalog
// file, so SegmentsOf needs no Source; it reads each distinct key list
// once per call.
func (c *Catalog) SegmentsOf(ctx context.Context, customerKey string) ([]Membership, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out []Membership
	err := c.view(func(tx *bolt.Tx) error {
		recs, err := allRecords(tx)
		if err != nil {
			return err
		}
		slices.SortFunc(recs, func(a, b *record) int { return strings.Compare(a.Name, b.Name) })
		f := &keyFinder{key: customerKey, ids: map[[32]byte]int64{}}
		// has reports whether the bitmap of ids of the key list keys
		// holds the customer.
		has := func(keys [32]byte, bm *roaring.Bitmap) (bool, error) {
			if bm == nil || bm.IsEmpty() {
				return false, nil
			}
			id, err := f.find(ctx, tx, keys)
			return id >= 0 && bm.Contains(uint32(id)), err
		}
		for _, r := range recs {
			if err := ctx.Err(); err != nil {
				return err
			}
			m, err := membershipIn(tx, r, has)
			if err != nil {
				return err
			}
			if m != nil {
				out = append(out, *m)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("segments of customer %q: %w", customerKey, err)
	}
	return out, nil
}

// membershipIn returns the customer's membership in the segment r, or nil
// if they are not in it and did not leave it at its latest refresh. has
// tells whether a bitmap of ids of a key list holds the customer.
func membershipIn(tx *bolt.Tx, r *record, has func([32]byte, *roaring.Bitmap) (bool, error)) (*Membership, error) {
	blob, ok, err := getMembers(tx, r.ID)
	if err != nil {
		return nil, err
	}
	in := false
	if ok {
		if in, err = has(blob.keys, blob.members); err != nil {
			return nil, err
		}
	}
	var cur *bolt.Cursor
	var latest *changeBlob
	if b := changesOf(tx, r.ID); b != nil {
		cur = b.Cursor()
		if k, v := cur.Last(); k != nil {
			if latest, err = decodeChange(k, v); err != nil {
				return nil, corrupt("changes of %q: %v", r.Name, err)
			}
		}
	}
	m := &Membership{Segment: r.Name}
	if !in {
		if latest == nil {
			return nil, nil
		}
		left, err := has(latest.leftKeys, latest.left)
		if err != nil || !left {
			return nil, err
		}
		m.Status, m.Since, m.SinceKnown = MemberExited, latest.time, true
		return m, nil
	}
	m.Status = MemberStillIn
	// Walk back to the refresh at which they entered.
	for e, first := latest, true; e != nil; first = false {
		entered, err := has(e.enteredKeys, e.entered)
		if err != nil {
			return nil, err
		}
		if entered {
			if first {
				m.Status = MemberEntered
			}
			m.Since, m.SinceKnown, m.Before = e.time, true, time.Time{}
			return m, nil
		}
		m.Before = e.time
		k, v := cur.Prev()
		if k == nil {
			break
		}
		if e, err = decodeChange(k, v); err != nil {
			return nil, corrupt("changes of %q: %v", r.Name, err)
		}
	}
	return m, nil
}

// changesOf returns the segment's bucket of change entries, or nil.
func changesOf(tx *bolt.Tx, id uint64) *bolt.Bucket {
	root := tx.Bucket(bucketChanges)
	if root == nil {
		return nil
	}
	return root.Bucket(u64(id))
}

// changedIDs returns who entered (ids of d's snapshot) and who left (ids
// of prev's key list) when a segment's members prev become members;
// mapped are prev as ids of d's snapshot. Both are nil when the catalog
// records no changes.
func (c *Catalog) changedIDs(prev memberBlob, mapped, members *roaring.Bitmap, d *loadedData) (entered, left *roaring.Bitmap, err error) {
	if c.opts.ChangeRetention < 0 {
		return nil, nil, nil
	}
	entered = roaring.AndNot(members, mapped)
	if prev.keys == d.keys {
		return entered, roaring.AndNot(prev.members, members), nil
	}
	var ids []int32
	err = c.view(func(tx *bolt.Tx) error {
		ids, err = c.translation(tx, prev.keys, d)
		return err
	})
	if err != nil {
		return nil, nil, err
	}
	left = roaring.New()
	buf := make([]uint32, 0, 4096)
	it := prev.members.Iterator()
	for it.HasNext() {
		old := it.Next()
		if int(old) >= len(ids) {
			return nil, nil, corrupt("a stored member id %d is beyond its key list of %d", old, len(ids))
		}
		if id := ids[old]; id < 0 || !members.Contains(uint32(id)) {
			buf = append(buf, old)
			if len(buf) == cap(buf) {
				left.AddMany(buf)
				buf = buf[:0]
			}
		}
	}
	left.AddMany(buf)
	return entered, left, nil
}

// putChanges stores the change entry of the refresh e of segment id under
// key (its history entry's), unless the catalog keeps none, and removes
// the entries of every segment that retention drops. keys names the key
// list of the refresh's snapshot. gc is true when a removed entry referred
// to a key list that may now be unused.
func (c *Catalog) putChanges(tx *bolt.Tx, id uint64, key []byte, e *HistoryEntry, keys [32]byte, m *computedMembers) (gc bool, err error) {
	ret := c.opts.ChangeRetention
	if ret < 0 {
		return pruneChanges(tx, time.Time{}, true)
	}
	v, err := encodeChange(key, &changeBlob{time: e.Time, job: e.Job, asOf: e.AsOf, kept: m.kept,
		enteredKeys: keys, entered: m.enteredIDs, leftKeys: m.prev.keys, left: m.leftIDs})
	if err != nil {
		return false, fmt.Errorf("encode the changes: %v", err)
	}
	b, err := tx.Bucket(bucketChanges).CreateBucketIfNotExists(u64(id))
	if err != nil {
		return false, err
	}
	if err := b.Put(key, v); err != nil {
		return false, err
	}
	return pruneChanges(tx, c.now().Add(-ret), false)
}

// pruneChanges removes the change entries older than cutoff (all of them
// with all), and the segment buckets it empties. gc is true when a removed
// entry referred to a key list no member blob refers to.
func pruneChanges(tx *bolt.Tx, cutoff time.Time, all bool) (gc bool, err error) {
	root := tx.Bucket(bucketChanges)
	limit := historyTimeKey(cutoff)
	var segs [][]byte
	root.ForEachBucket(func(k []byte) error {
		segs = append(segs, bytes.Clone(k))
		return nil
	})
	dropped := map[[32]byte]bool{}
	for _, sk := range segs {
		cur := root.Bucket(sk).Cursor()
		var last []byte
		k, v := cur.First()
		for ; k != nil && (all || bytes.Compare(k, limit) < 0); k, v = cur.First() {
			// Each first key is past the one deleted before it; one that is
			// not is a page whose delete did nothing (keys out of order,
			// which Open's page walk refuses): a second guard against
			// looping for ever.
			if last != nil && bytes.Compare(k, last) <= 0 {
				return false, corrupt("the change entries of segment %x are out of order at key %x", sk, k)
			}
			last = append(last[:0], k...)
			if en, lf, ok := changeHashes(v); ok {
				dropped[en], dropped[lf] = true, true
			}
			if err := cur.Delete(); err != nil {
				return false, err
			}
		}
		if k == nil {
			if err := root.DeleteBucket(sk); err != nil {
				return false, err
			}
		}
	}
	delete(dropped, [32]byte{})
	if len(dropped) == 0 {
		return false, nil
	}
	tx.Bucket(bucketMembers).ForEach(func(_, v []byte) error {
		if k, ok := blobKeys(v); ok {
			delete(dropped, k)
		}
		return nil
	})
	return len(dropped) > 0, nil
}

// deleteChanges removes the segment's change entries.
func deleteChanges(tx *bolt.Tx, id uint64) error {
	if root := tx.Bucket(bucketChanges); root != nil && root.Bucket(u64(id)) != nil {
		return root.DeleteBucket(u64(id))
	}
	return nil
}

// changeKeys adds the key lists that change entries refer to to used.
func changeKeys(tx *bolt.Tx, used map[[32]byte]bool) {
	root := tx.Bucket(bucketChanges)
	if root == nil {
		return
	}
	root.ForEachBucket(func(k []byte) error {
		return root.Bucket(k).ForEach(func(_, v []byte) error {
			if en, lf, ok := changeHashes(v); ok {
				used[en], used[lf] = true, true
			}
			return nil
		})
	})
	delete(used, [32]byte{})
}

// A change blob: a version byte, then (version 2, format version 2) a
// CRC-32C of the blob's key and everything after the sum, 4 bytes big
// endian (records.go), a flags byte (bit 0: kept), the time and the
// as-of (each Unix seconds, 8 bytes big endian, then nanoseconds, 4
// bytes), the job id (8 bytes), the hash of the entered ids' key list and
// that of the left ids' (32 bytes each; zeros for an empty bitmap), then
// each bitmap as a uvarint length and its portable roaring serialization
// (length 0: empty). Version 1, of format version 1, has no sum; it is
// read unchecked.
const (
	changeBlobV1      = 1
	changeBlobVersion = 2
	changeHeaderLen   = 1 + 1 + 12 + 12 + 8 + 32 + 32 // without the sum
	changeKept        = 1
)

// changeBlob is a decoded change entry.
type changeBlob struct {
	time, asOf            time.Time
	job                   uint64
	kept                  bool
	enteredKeys, leftKeys [32]byte
	entered, left         *roaring.Bitmap
}

// encodeChange returns the change blob of b stored under the key k.
func encodeChange(k []byte, b *changeBlob) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write([]byte{changeBlobVersion, 0, 0, 0, 0})
	var flags byte
	if b.kept {
		flags |= changeKept
	}
	buf.WriteByte(flags)
	for _, t := range []time.Time{b.time, b.asOf} {
		buf.Write(binary.BigEndian.AppendUint64(nil, uint64(t.Unix())))
		buf.Write(binary.BigEndian.AppendUint32(nil, uint32(t.Nanosecond())))
	}
	buf.Write(u64(b.job))
	empty := func(bm *roaring.Bitmap) bool { return bm == nil || bm.IsEmpty() }
	for _, p := range []struct {
		keys [32]byte
		bm   *roaring.Bitmap
	}{{b.enteredKeys, b.entered}, {b.leftKeys, b.left}} {
		if empty(p.bm) {
			p.keys = [32]byte{}
		}
		buf.Write(p.keys[:])
	}
	for _, bm := range []*roaring.Bitmap{b.entered, b.left} {
		if empty(bm) {
			buf.WriteByte(0)
			continue
		}
		buf.Write(binary.AppendUvarint(nil, bm.GetSerializedSizeInBytes()))
		if _, err := bm.WriteTo(&buf); err != nil {
			return nil, err
		}
	}
	out := buf.Bytes()
	binary.BigEndian.PutUint32(out[1:], recordSum(k, out[5:]))
	return out, nil
}

// changeBody returns a change blob without its version byte and sum: the
// flags byte and what follows, without checking the sum.
func changeBody(v []byte) ([]byte, bool) {
	switch {
	case len(v) >= changeHeaderLen && v[0] == changeBlobV1:
		return v[1:], true
	case len(v) >= changeHeaderLen+4 && v[0] == changeBlobVersion:
		return v[5:], true
	}
	return nil, false
}

// changeHashes returns the key-list hashes of a change blob without
// decoding it.
func changeHashes(v []byte) (entered, left [32]byte, ok bool) {
	body, ok := changeBody(v)
	if !ok {
		return entered, left, false
	}
	copy(entered[:], body[33:65])
	copy(left[:], body[65:97])
	return entered, left, true
}

// decodeChange decodes the change blob v stored under the key k, checking
// its sum; the bitmaps are copies (v may point into the memory map).
func decodeChange(k, v []byte) (*changeBlob, error) {
	body, ok := changeBody(v)
	if !ok {
		return nil, errors.New("a change entry has an unknown encoding")
	}
	if v[0] == changeBlobVersion && recordSum(k, body) != binary.BigEndian.Uint32(v[1:]) {
		return nil, errors.New("a change entry's checksum does not match: it is damaged")
	}
	en, lf, _ := changeHashes(v)
	b := &changeBlob{kept: body[0]&changeKept != 0, enteredKeys: en, leftKeys: lf}
	readTime := func(p []byte) time.Time {
		return time.Unix(int64(binary.BigEndian.Uint64(p)), int64(binary.BigEndian.Uint32(p[8:]))).UTC()
	}
	b.time, b.asOf = readTime(body[1:13]), readTime(body[13:25])
	b.job = binary.BigEndian.Uint64(body[25:33])
	rest := body[changeHeaderLen-1:]
	for i, dst := range []**roaring.Bitmap{&b.entered, &b.left} {
		n, w := binary.Uvarint(rest)
		if w <= 0 || n > uint64(len(rest)-w) {
			return nil, errors.New("a change entry is truncated")
		}
		bm := roaring.New()
		if n > 0 {
			var err error
			if bm, err = decodeBitmap(rest[w : w+int(n)]); err != nil {
				return nil, fmt.Errorf("a change entry's bitmap does not decode: %v", err)
			}
		}
		if keys := [2][32]byte{en, lf}[i]; !bm.IsEmpty() && keys == ([32]byte{}) {
			return nil, errors.New("a change entry's bitmap has no key list")
		}
		*dst = bm
		rest = rest[w+int(n):]
	}
	if len(rest) != 0 {
		return nil, errors.New("a change entry has trailing bytes")
	}
	return b, nil
}

// Reading keys from stored key lists.

// keyListOf returns the stored key list with the hash and its count.
func keyListOf(tx *bolt.Tx, h [32]byte) ([]byte, uint64, error) {
	v := tx.Bucket(bucketKeysets).Get(h[:])
	if v == nil {
		return nil, 0, corrupt("the customer key list %s is missing", shortHash(h))
	}
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)) {
		return nil, 0, corrupt("customer key list %s: bad count", shortHash(h))
	}
	return v, n, nil
}

// keyIndexStride is how many keys of a stored list one offset of its
// index covers.
const keyIndexStride = 64

// keyIndex finds a key of a stored list by id: offs[i] is the offset of
// key i*keyIndexStride in the list's bytes. A list is stored under the
// hash of its keys, so its bytes, and the index, never change.
type keyIndex struct {
	n    uint64
	offs []int
}

func buildKeyIndex(ctx context.Context, h [32]byte, v []byte, n uint64) (*keyIndex, error) {
	ix := &keyIndex{n: n, offs: make([]int, 0, n/keyIndexStride+1)}
	_, off := binary.Uvarint(v)
	for i := range n {
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if i%keyIndexStride == 0 {
			ix.offs = append(ix.offs, off)
		}
		l, w := binary.Uvarint(v[off:])
		if w <= 0 || l > uint64(len(v)-off-w) {
			return nil, corrupt("customer key list %s: truncated", shortHash(h))
		}
		off += w + int(l)
	}
	return ix, nil
}

// key returns key id of the list v the index was built from.
func (ix *keyIndex) key(v []byte, id uint32) string {
	off := ix.offs[id/keyIndexStride]
	for range id % keyIndexStride {
		l, w := binary.Uvarint(v[off:])
		off += w + int(l)
	}
	l, w := binary.Uvarint(v[off:])
	return string(v[off+w : off+w+int(l)])
}

// keyIndexCache keeps the indexes of the last key lists read.
type keyIndexCache struct {
	mu      sync.Mutex
	entries []keyIndexEntry
}

type keyIndexEntry struct {
	h  [32]byte
	ix *keyIndex
}

const keyIndexCacheSize = 2

func (kc *keyIndexCache) get(h [32]byte) *keyIndex {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	for _, e := range kc.entries {
		if e.h == h {
			return e.ix
		}
	}
	return nil
}

func (kc *keyIndexCache) put(h [32]byte, ix *keyIndex) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if len(kc.entries) >= keyIndexCacheSize {
		kc.entries = kc.entries[1:]
	}
	kc.entries = append(kc.entries, keyIndexEntry{h: h, ix: ix})
}

// keysOf returns the keys of the ids in bm, ids of the stored key list h,
// in id order; an empty (never nil) slice for an empty bm.
func (c *Catalog) keysOf(ctx context.Context, tx *bolt.Tx, h [32]byte, bm *roaring.Bitmap) ([]string, error) {
	if bm.IsEmpty() {
		return []string{}, nil
	}
	v, n, err := keyListOf(tx, h)
	if err != nil {
		return nil, err
	}
	ix := c.kidx.get(h)
	if ix == nil {
		if ix, err = buildKeyIndex(ctx, h, v, n); err != nil {
			return nil, err
		}
		c.kidx.put(h, ix)
	}
	if hi := bm.Maximum(); uint64(hi) >= n {
		return nil, corrupt("a change entry's id %d is beyond its key list of %d", hi, n)
	}
	out := make([]string, 0, bm.GetCardinality())
	it := bm.Iterator()
	for i := 0; it.HasNext(); i++ {
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		out = append(out, ix.key(v, it.Next()))
	}
	return out, nil
}

// keyFinder finds one customer key's id in stored key lists, reading each
// list once.
type keyFinder struct {
	key string
	// ids holds the id found in each list read; -1 when it is not there.
	ids map[[32]byte]int64
}

func (f *keyFinder) find(ctx context.Context, tx *bolt.Tx, h [32]byte) (int64, error) {
	if id, ok := f.ids[h]; ok {
		return id, nil
	}
	v, n, err := keyListOf(tx, h)
	if err != nil {
		return 0, err
	}
	_, off := binary.Uvarint(v)
	id := int64(-1)
	for i := range n {
		if i&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		l, w := binary.Uvarint(v[off:])
		if w <= 0 || l > uint64(len(v)-off-w) {
			return 0, corrupt("customer key list %s: truncated", shortHash(h))
		}
		if int(l) == len(f.key) && string(v[off+w:off+w+int(l)]) == f.key {
			id = int64(i)
			break
		}
		off += w + int(l)
	}
	f.ids[h] = id
	return id, nil
}

// verifyChanges checks the change entries for Verify: each belongs to a
// segment, sits under the key of its time, decodes, and refers to key
// lists that exist and hold its ids.
func verifyChanges(tx *bolt.Tx, recs map[uint64]*record, broken map[uint64]bool, l *diag.List) {
	root := tx.Bucket(bucketChanges)
	root.ForEachBucket(func(k []byte) error {
		id := beUint64(k)
		r := recs[id]
		if r == nil {
			if !broken[id] {
				l.Add("changes", ErrCorrupt, "changes of segment %d, which does not exist", id)
			}
			return nil
		}
		at := "changes of " + r.Name
		return root.Bucket(k).ForEach(func(k, v []byte) error {
			cb, err := decodeChange(k, v)
			if err != nil {
				l.Add(at, ErrCorrupt, "%v", err)
				return nil
			}
			if len(k) != 16 || !bytes.Equal(k[:8], historyTimeKey(cb.time)) {
				l.Add(at, ErrCorrupt, "the entry of %s is under key %x", cb.time.Format(time.RFC3339Nano), k)
			}
			for _, p := range []struct {
				keys [32]byte
				bm   *roaring.Bitmap
			}{{cb.enteredKeys, cb.entered}, {cb.leftKeys, cb.left}} {
				if p.bm.IsEmpty() {
					continue
				}
				v := tx.Bucket(bucketKeysets).Get(p.keys[:])
				if v == nil {
					l.Add(at, ErrCorrupt, "the customer key list %s is missing", shortHash(p.keys))
					continue
				}
				if n, w := binary.Uvarint(v); w > 0 && uint64(p.bm.Maximum()) >= n {
					l.Add(at, ErrCorrupt, "the id %d is beyond its customer key list %s of %d", p.bm.Maximum(), shortHash(p.keys), n)
				}
			}
			return nil
		})
	})
}
