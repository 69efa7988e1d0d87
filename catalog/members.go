package catalog

import (
	"context"
	"errors"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Members returns the segment's current members (those stored by its last
// successful refresh, or a static segment's frozen members) as customer
// ids of the source's current snapshot. Customers no longer in the data
// are left out. A segment never refreshed has no members. The bitmap is
// new and belongs to the caller. Members needs a Source (ErrNoSource).
func (c *Catalog) Members(ctx context.Context, name string) (*roaring.Bitmap, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	d, err := c.loadData(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release()
	bm, _, err := c.members(name, d)
	return bm, err
}

// MembersIn returns the segment's current members as customer ids of snap,
// a snapshot the caller holds (and keeps ownership of). It needs no
// Source. The bitmap is new and belongs to the caller.
func (c *Catalog) MembersIn(ctx context.Context, name string, snap *storage.Snapshot) (*roaring.Bitmap, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if snap == nil {
		return nil, errors.New("MembersIn: nil snapshot")
	}
	keys, err := c.fp.get(ctx, snap)
	if err != nil {
		return nil, err
	}
	bm, _, err := c.members(name, &loadedData{snap: snap, keys: keys, release: func() {}})
	return bm, err
}

// ReferencesIn returns the current members of every segment and split
// group def references, as customer ids of snap (a snapshot the caller
// holds), keyed as engine.Options.Segments wants them: "Name" for a
// segment, "Name/Group" for a group. It needs no Source. The bitmaps are
// new and belong to the caller; an unknown segment or group is an error
// wrapping ErrNotFound.
func (c *Catalog) ReferencesIn(ctx context.Context, def *segment.Definition, snap *storage.Snapshot) (map[string]*roaring.Bitmap, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if snap == nil || def == nil {
		return nil, errors.New("ReferencesIn: nil definition or snapshot")
	}
	keys, err := c.fp.get(ctx, snap)
	if err != nil {
		return nil, err
	}
	return c.references(ctx, def, &loadedData{snap: snap, keys: keys, release: func() {}})
}

// references is ReferencesIn over loaded data.
func (c *Catalog) references(ctx context.Context, def *segment.Definition, d *loadedData) (map[string]*roaring.Bitmap, error) {
	refs := map[string]*roaring.Bitmap{}
	for _, r := range def.Refs() {
		if _, ok := refs[r.Name]; ok {
			continue
		}
		bm, _, err := c.members(r.Name, d)
		if err != nil {
			return nil, err
		}
		refs[r.Name] = bm
	}
	if err := c.addGroupMembers(ctx, def, d.snap, refs); err != nil {
		return nil, err
	}
	return refs, nil
}

// members reads the named segment's record and members mapped to d.
func (c *Catalog) members(name string, d *loadedData) (*roaring.Bitmap, *record, error) {
	st, err := c.stored(name, d, false)
	if err != nil {
		return nil, nil, err
	}
	return st.members, st.rec, nil
}

// storedSegment is a segment's record with its stored members.
type storedSegment struct {
	rec     *record
	members *roaring.Bitmap
	// asOf is the instant the members were computed at (zero when the
	// segment has none), read when asked for.
	asOf time.Time
}

// stored reads the named segment's record and members mapped to d, in one
// transaction, and with withAsOf the as-of instant they were computed at.
func (c *Catalog) stored(name string, d *loadedData, withAsOf bool) (*storedSegment, error) {
	var st storedSegment
	err := c.view(func(tx *bolt.Tx) error {
		r, err := getByName(tx, name)
		if err != nil {
			return err
		}
		st.rec = r
		if st.members, err = c.storedMembers(tx, r.ID, d); err != nil {
			return err
		}
		if withAsOf {
			st.asOf, err = computedAsOf(tx, r)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// computedAsOf returns the as-of instant of the refresh that computed the
// segment's stored members: that of its newest history entry that did not
// keep frozen members. For an entry stored before history recorded it,
// it is the entry's job's as-of if the file still has the job, else the
// entry's time (close to it: such versions evaluated at the job's start).
// It is zero for a segment never refreshed.
func computedAsOf(tx *bolt.Tx, r *record) (time.Time, error) {
	b := tx.Bucket(bucketHistory).Bucket(u64(r.ID))
	if b == nil {
		return time.Time{}, nil
	}
	var e *HistoryEntry
	cur := b.Cursor()
	for k, v := cur.Last(); k != nil; k, v = cur.Prev() {
		e = new(HistoryEntry)
		if err := decodeRecord(k, v, e); err != nil {
			return time.Time{}, corrupt("history of %q: %s", r.Name, unwrapCorrupt(err))
		}
		if !e.Kept {
			break
		}
	}
	switch {
	case e == nil:
		return time.Time{}, nil
	case !e.AsOf.IsZero():
		return e.AsOf, nil
	}
	if j, err := readJob(tx, e.Job); err == nil && !j.AsOf.IsZero() {
		return j.AsOf, nil
	} else if err != nil && !errors.Is(err, errNoJob) {
		return time.Time{}, err
	}
	return e.Time, nil
}
