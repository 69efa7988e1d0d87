package catalog

import (
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/segment"
)

// Verify checks the catalog file: bbolt's own page consistency, then that
// its records agree with each other — every name points to its segment
// and back, every valid segment's definition parses and references only
// existing segments without a cycle, stored members decode and their
// customer key lists exist, history and jobs decode, change entries
// decode and their customer key lists exist and hold their ids,
// destinations belong to segments, what they were sent and their batches
// in flight belong to destinations, export jobs decode. A segment whose
// record is damaged is one problem: what belongs to it is not reported
// again. It returns a literal nil, or a diag.List of every problem, each
// wrapping ErrCorrupt. Verify
// only reads; it is safe to call at any time, but holds off writers while
// it checks the pages.
func (c *Catalog) Verify() error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	var l diag.List
	// The pages are walked as Open walks them (checkPages: bbolt's own
	// Tx.Check can fault on a damaged page), while a write transaction,
	// rolled back, holds off writers; a read-only catalog has none.
	var wtx *bolt.Tx
	if !c.opts.ReadOnly {
		var err error
		if wtx, err = c.db.Begin(true); err != nil {
			return err
		}
	}
	if err := c.checkOwnFile(); err != nil {
		l.Add("file", ErrCorrupt, "%v", unwrapCorrupt(err))
	}
	if wtx != nil {
		if err := wtx.Rollback(); err != nil {
			return err
		}
	}
	if len(l) > 0 {
		return l.Err()
	}
	var err error
	err = c.view(func(tx *bolt.Tx) error {
		for _, b := range allBuckets {
			if tx.Bucket(b) == nil {
				l.Add(string(b), ErrCorrupt, "the bucket is missing")
				return nil
			}
		}
		recs := map[uint64]*record{}
		byName := map[string]*record{}
		// broken are the segments whose record is damaged: reported once,
		// and what belongs to them is not reported again as belonging to
		// no segment.
		broken := map[uint64]bool{}
		tx.Bucket(bucketSegments).ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				l.Add("segments", ErrCorrupt, "key %x is not an id", excerpt(string(k)))
				return nil
			}
			if err := decodeRecord(k, v, new(record)); err != nil {
				l.Add(fmt.Sprintf("segments[%d]", beUint64(k)), ErrCorrupt, "the record does not decode: %s", unwrapCorrupt(err))
				broken[beUint64(k)] = true
				return nil
			}
			r, err := decodeSegment(k, v)
			if err != nil {
				l.Add(fmt.Sprintf("segments[%d]", beUint64(k)), ErrCorrupt, "%s", unwrapCorrupt(err))
				broken[beUint64(k)] = true
				return nil
			}
			recs[r.ID], byName[r.Name] = r, r
			return nil
		})
		tx.Bucket(bucketNames).ForEach(func(k, v []byte) error {
			if len(v) != 8 {
				l.Add("names", ErrCorrupt, "name %q has a bad id", k)
				return nil
			}
			r := recs[beUint64(v)]
			switch {
			case r == nil && broken[beUint64(v)]:
			case r == nil:
				l.Add("names", ErrCorrupt, "name %q points to no segment", k)
			case r.Name != string(k):
				l.Add("names", ErrCorrupt, "name %q points to segment %q", k, r.Name)
			}
			return nil
		})
		for _, r := range recs {
			at := "segment " + r.Name
			if id, ok := lookup(tx, r.Name); !ok || id != r.ID {
				l.Add(at, ErrCorrupt, "the segment is not in the name index")
			}
			if r.Draft {
				continue
			}
			def, err := segment.Parse(r.Definition)
			if err != nil {
				l.Add(at, ErrCorrupt, "the definition of a valid segment does not parse: %v", oneLine(err.Error()))
				continue
			}
			if def.Name != r.Name {
				l.Add(at, ErrCorrupt, "the definition is named %q", def.Name)
			}
			for _, ref := range r.Refs {
				if byName[ref] == nil {
					l.Add(at, ErrCorrupt, "references segment %q, which does not exist", ref)
				}
			}
			for _, ref := range r.Refs {
				if byName[ref] != nil && findCycle(tx, r.Name, 0, ref) != nil {
					l.Add(at, ErrCorrupt, "segment references form a cycle through %q", ref)
				}
			}
		}
		tx.Bucket(bucketMembers).ForEach(func(k, v []byte) error {
			id := beUint64(k)
			if recs[id] == nil {
				if !broken[id] {
					l.Add("members", ErrCorrupt, "members of segment %d, which does not exist", id)
				}
				return nil
			}
			blob, _, err := getMembers(tx, id)
			if err != nil {
				l.Add("members of "+recs[id].Name, ErrCorrupt, "%v", err)
				return nil
			}
			if tx.Bucket(bucketKeysets).Get(blob.keys[:]) == nil {
				l.Add("members of "+recs[id].Name, ErrCorrupt, "the customer key list %s is missing", shortHash(blob.keys))
			}
			return nil
		})
		tx.Bucket(bucketKeysets).ForEach(func(k, v []byte) error {
			if err := checkKeys(v); err != nil || !keysMatch(k, v) {
				if err == nil {
					err = errors.New("the keys do not match their hash")
				}
				l.Add(fmt.Sprintf("customer key list %x", k), ErrCorrupt, "%v", err)
			}
			return nil
		})
		tx.Bucket(bucketHistory).ForEachBucket(func(k []byte) error {
			id := beUint64(k)
			if recs[id] == nil {
				if !broken[id] {
					l.Add("history", ErrCorrupt, "history of segment %d, which does not exist", id)
				}
				return nil
			}
			tx.Bucket(bucketHistory).Bucket(k).ForEach(func(hk, v []byte) error {
				var e HistoryEntry
				if err := decodeRecord(hk, v, &e); err != nil {
					l.Add("history of "+recs[id].Name, ErrCorrupt, "an entry does not decode: %s", unwrapCorrupt(err))
				}
				return nil
			})
			return nil
		})
		verifyChanges(tx, recs, broken, &l)
		tx.Bucket(bucketJobs).ForEachBucket(func(k []byte) error {
			if _, err := readJob(tx, beUint64(k)); err != nil {
				l.Add(fmt.Sprintf("job %d", beUint64(k)), ErrCorrupt, "%v", err)
			}
			return nil
		})
		verifyDestinations(tx, recs, broken, &l)
		verifySplitsAndLists(tx, recs, broken, &l)
		verifyTokens(tx, &l)
		return nil
	})
	if err != nil {
		return err
	}
	return l.Err()
}

// checkKeys checks the encoding of a stored customer key list.
func checkKeys(v []byte) error {
	n, w := binary.Uvarint(v)
	if w <= 0 || n > uint64(len(v)) {
		return errors.New("bad count")
	}
	v = v[w:]
	for range n {
		l, w := binary.Uvarint(v)
		if w <= 0 || l > uint64(len(v)-w) {
			return errors.New("truncated")
		}
		v = v[w+int(l):]
	}
	if len(v) != 0 {
		return errors.New("trailing bytes")
	}
	return nil
}

// verifyDestinations checks the destinations, what they were sent, their
// batches in flight and the export jobs.
func verifyDestinations(tx *bolt.Tx, recs map[uint64]*record, broken map[uint64]bool, l *diag.List) {
	// Both hold a bucket under each key; a value there hides what the
	// key's bucket should hold.
	for _, b := range [][]byte{bucketDestinations, bucketSent} {
		tx.Bucket(b).ForEach(func(k, v []byte) error {
			if v != nil {
				l.Add(string(b), ErrCorrupt, "key %x holds a value where a bucket belongs", k)
			}
			return nil
		})
	}
	uids := map[uint64]bool{}
	tx.Bucket(bucketDestinations).ForEachBucket(func(k []byte) error {
		if len(k) != 8 || recs[beUint64(k)] == nil {
			if len(k) != 8 || !broken[beUint64(k)] {
				l.Add("destinations", ErrCorrupt, "destinations of segment %x, which does not exist", k)
			}
			return nil
		}
		ds, err := segmentDests(tx, beUint64(k))
		if err != nil {
			l.Add(fmt.Sprintf("destinations[%d]", beUint64(k)), ErrCorrupt, "%v", err)
			return nil
		}
		for _, d := range ds {
			if uids[d.UID] {
				l.Add(fmt.Sprintf("destinations[%d].%s", beUint64(k), d.Name), ErrCorrupt, "uid %d is used twice", d.UID)
			}
			uids[d.UID] = true
		}
		return nil
	})
	tx.Bucket(bucketSent).ForEachBucket(func(k []byte) error {
		if len(k) != 8 || !uids[beUint64(k)] {
			l.Add("sent", ErrCorrupt, "what destination %x was sent is kept, but the destination does not exist", k)
			return nil
		}
		tx.Bucket(bucketSent).Bucket(k).ForEach(func(key, v []byte) error {
			if len(v) != 8 {
				l.Add(fmt.Sprintf("sent[%d]", beUint64(k)), ErrCorrupt, "customer %q: a hash of %d bytes", key, len(v))
			}
			return nil
		})
		return nil
	})
	tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
		if len(k) != 8 || !uids[beUint64(k)] {
			l.Add("pending", ErrCorrupt, "a batch in flight of destination %x, which does not exist", k)
			return nil
		}
		if _, b, err := export.DecodeBatch(v, nil); err != nil {
			l.Add(fmt.Sprintf("pending[%d]", beUint64(k)), ErrCorrupt, "%v", err)
		} else {
			b.Record.Release()
		}
		return nil
	})
	tx.Bucket(bucketExports).ForEach(func(k, v []byte) error {
		if _, err := decodeExportJob(k, v); err != nil {
			l.Add(fmt.Sprintf("exports[%x]", k), ErrCorrupt, "%v", err)
		}
		return nil
	})
}
