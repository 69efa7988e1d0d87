package catalog

import (
	"time"

	bolt "go.etcd.io/bbolt"
)

// History returns the segment's successful refreshes with a time in
// [from, to], oldest first; a zero from or to leaves that end open. The
// slice is the caller's.
func (c *Catalog) History(name string, from, to time.Time) ([]HistoryEntry, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out []HistoryEntry
	err := c.view(func(tx *bolt.Tx) error {
		r, err := getByName(tx, name)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketHistory).Bucket(u64(r.ID))
		if b == nil {
			return nil
		}
		cur := b.Cursor()
		for k, v := firstFrom(cur, from); k != nil; k, v = cur.Next() {
			var e HistoryEntry
			if err := decodeRecord(k, v, &e); err != nil {
				return corrupt("history of %q: %s", name, unwrapCorrupt(err))
			}
			if !to.IsZero() && e.Time.After(to) {
				break
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// firstFrom moves cur, over a bucket keyed by historyKey, to the first
// entry at or after from (the first entry when from is zero).
func firstFrom(cur *bolt.Cursor, from time.Time) (k, v []byte) {
	if from.IsZero() {
		return cur.First()
	}
	return cur.Seek(historyTimeKey(from))
}
