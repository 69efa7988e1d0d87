package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/export"
)

// Export jobs. An export sends a segment's current members (those its
// last successful refresh stored) to one destination, with the fields
// computed at that refresh's as-of instant, and records what it sent.
//
// Exports run one at a time. An export to a destination whose writer
// acknowledges batches one by one (the webhook) records each batch
// before it sends it and records its rows as sent once it is
// acknowledged; an export interrupted by a crash leaves the batch in
// flight recorded, and the next export to the destination delivers that
// batch again first, as it was (same rows, same idempotency key), then
// the rest. Other destinations take the export whole at their commit (a
// file renamed into place, a transaction), after which the catalog
// records every row as sent in one transaction.

// ExportJob is one export of a segment to one of its destinations. It is
// the caller's copy.
type ExportJob struct {
	// ID identifies the export job; ids increase with time.
	ID uint64 `json:"id"`
	// Segment and Destination name what was exported where (as named
	// when the job ran); Where describes the target.
	Segment     string `json:"segment"`
	Destination string `json:"destination"`
	Where       string `json:"where"`
	// Group is the split group exported ("" for the whole segment but its
	// holdout).
	Group string `json:"group,omitempty"`
	// Mode is the destination's mode.
	Mode export.Mode `json:"mode"`
	// Trigger is TriggerManual for Export and ExportTo, TriggerRefresh for
	// the export that follows a refresh (RefreshJob names that job).
	Trigger    Trigger `json:"trigger"`
	RefreshJob uint64  `json:"refreshJob,omitempty"`
	// Status is queued, refreshing (running), successful, failed or
	// cancelled.
	Status Status `json:"status"`
	// Created is when the export was asked for; Started and Ended bound
	// its run; Duration is Ended - Started.
	Created  time.Time     `json:"created"`
	Started  time.Time     `json:"started,omitzero"`
	Ended    time.Time     `json:"ended,omitzero"`
	Duration time.Duration `json:"duration"`
	// AsOf is the instant the exported measures were computed at: the
	// as-of of the refresh that computed the members.
	AsOf time.Time `json:"asOf,omitzero"`
	// Members is the number of members the export was of when it ran:
	// the segment's, less its holdout, or its group's.
	Members uint64 `json:"members"`
	// Entered, Changed and Left count the rows of a delta by kind (the
	// rows of a full export are all members).
	Entered uint64 `json:"entered,omitempty"`
	Changed uint64 `json:"changed,omitempty"`
	Left    uint64 `json:"left,omitempty"`
	// Stats counts what was delivered: rows, batches, tries and bytes,
	// the resent batch included.
	Stats export.Stats `json:"stats"`
	// Resent is true when the export first delivered again the batch an
	// interrupted export had in flight.
	Resent bool `json:"resent,omitempty"`
	// Errors says why the export failed.
	Errors []string `json:"errors,omitempty"`
}

// Export exports the segment's current members to its destination of
// that name, as one export job, and returns the job when it ends. Unknown
// names are errors wrapping ErrNotFound, and then no job runs; otherwise
// the error is nil even when the export fails (the job says why), but
// when ctx ends (an error wrapping ErrCancelled and ctx's error) and when
// the export failed on a damaged catalog file (an error wrapping
// ErrCorrupt, with the failed job). Export needs a Source (ErrNoSource).
func (c *Catalog) Export(ctx context.Context, segmentName, destination string) (*ExportJob, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var segID, uid uint64
	err := c.view(func(tx *bolt.Tx) error {
		r, err := getByName(tx, segmentName)
		if err != nil {
			return err
		}
		d, err := getDest(tx, r, destination)
		if err != nil {
			return err
		}
		segID, uid = r.ID, d.UID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.export(ctx, segID, uid, TriggerManual, 0)
}

// ExportTo exports the segment's current members to the target opts
// describes, as Export does. The target is kept as a destination of the
// segment for exports on demand (OnDemand is set), so that a later delta
// to the same target is exact: a destination of the segment with the
// same target is reused, with opts' mode, fields and batch size.
func (c *Catalog) ExportTo(ctx context.Context, segmentName string, opts DestinationOptions) (*ExportJob, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	opts.OnDemand = true
	rec, err := c.checkDestination(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("export %q: %w", segmentName, err)
	}
	var segID, uid uint64
	err = c.update(func(tx *bolt.Tx) error {
		r, err := getByName(tx, segmentName)
		if err != nil {
			return err
		}
		segID = r.ID
		if err := checkExportGroup(tx, r, rec.Group); err != nil {
			return err
		}
		ds, err := segmentDests(tx, r.ID)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if opts.Name != "" && opts.Name == d.Name && !sameTarget(d.Target, rec.Target) {
				return fmt.Errorf("destination %q of segment %q %w: it exports to %s, not %s; name another destination, or export to its target",
					d.Name, r.Name, ErrExists, d.Where, rec.Where)
			}
			if sameTarget(d.Target, rec.Target) && (opts.Name == "" || opts.Name == d.Name) {
				if d.Mode != rec.Mode {
					d.FullPass = 0
				}
				if d.Group != rec.Group {
					// Another group's customers: what was sent says
					// nothing of the next full pass.
					d.FullPass = 0
				}
				d.Mode, d.Fields, d.Changes, d.BatchSize, d.Group = rec.Mode, rec.Fields, rec.Changes, rec.BatchSize, rec.Group
				uid = d.UID
				return putDest(tx, r.ID, d)
			}
		}
		if err := c.attach(tx, r, rec); err != nil {
			return err
		}
		uid = rec.UID
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.export(ctx, segID, uid, TriggerManual, 0)
}

// Exports returns the export jobs of the segment (every segment's when
// segmentName is empty), newest first, at most limit of them (all when
// limit <= 0).
func (c *Catalog) Exports(segmentName string, limit int) ([]*ExportJob, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out []*ExportJob
	err := c.view(func(tx *bolt.Tx) error {
		var segID uint64
		if segmentName != "" {
			r, err := getByName(tx, segmentName)
			if err != nil {
				return err
			}
			segID = r.ID
		}
		cur := tx.Bucket(bucketExports).Cursor()
		for k, v := cur.Last(); k != nil; k, v = cur.Prev() {
			j, err := decodeExportJob(k, v)
			if err != nil {
				return err
			}
			if segID != 0 && j.segID != segID {
				continue
			}
			out = append(out, &j.ExportJob)
			if limit > 0 && len(out) == limit {
				break
			}
		}
		return nil
	})
	return out, err
}

// ExportJob returns the export job with the id (ErrNotFound if the file
// does not hold it).
func (c *Catalog) ExportJob(id uint64) (*ExportJob, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out *ExportJob
	err := c.view(func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketExports).Get(u64(id))
		if v == nil {
			return fmt.Errorf("export job %d %w", id, ErrNotFound)
		}
		j, err := decodeExportJob(u64(id), v)
		if err != nil {
			return err
		}
		out = &j.ExportJob
		return nil
	})
	return out, err
}

// storedExport is an export job as the file keeps it.
type storedExport struct {
	ExportJob
	segID uint64
	uid   uint64
}

func (s *storedExport) MarshalJSON() ([]byte, error) {
	type plain ExportJob
	return json.Marshal(struct {
		*plain
		SegID uint64 `json:"segID"`
		UID   uint64 `json:"destUID"`
	}{(*plain)(&s.ExportJob), s.segID, s.uid})
}

func decodeExportJob(k, v []byte) (*storedExport, error) {
	type plain ExportJob
	aux := struct {
		*plain
		SegID uint64 `json:"segID"`
		UID   uint64 `json:"destUID"`
	}{plain: &plain{}}
	if err := decodeRecord(k, v, &aux); err != nil {
		return nil, corrupt("export job %x: %s", k, unwrapCorrupt(err))
	}
	s := &storedExport{ExportJob: ExportJob(*aux.plain), segID: aux.SegID, uid: aux.UID}
	s.Errors = slices.Clone(s.Errors)
	return s, nil
}

func putExportJob(tx *bolt.Tx, j *storedExport) error {
	v, err := encodeRecord(u64(j.ID), j)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketExports).Put(u64(j.ID), v)
}

// pruneExports removes the oldest finished export jobs while more than
// keep remain.
func pruneExports(tx *bolt.Tx, keep int) error {
	b := tx.Bucket(bucketExports)
	excess := b.Stats().KeyN - keep
	if excess <= 0 {
		return nil
	}
	var drop [][]byte
	cur := b.Cursor()
	for k, v := cur.First(); k != nil && len(drop) < excess; k, v = cur.Next() {
		var h struct {
			Status Status `json:"status"`
		}
		if decodeRecord(k, v, &h) == nil && !h.Status.Done() {
			continue
		}
		drop = append(drop, bytes.Clone(k))
	}
	for _, k := range drop {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// recoverExports marks every export job that is not finished as failed:
// the process that ran it is gone. Batches it had in flight stay recorded
// for the next export to the destination.
func (c *Catalog) recoverExports(tx *bolt.Tx) error {
	for _, j := range runningExports(tx) {
		j.Status = Failed
		j.Errors = append(j.Errors, "interrupted: the process running the export stopped before it finished; the next export to the destination sends what this one did not")
		if j.Ended.IsZero() {
			j.Ended = c.now()
		}
		if err := putExportJob(tx, j); err != nil {
			return err
		}
	}
	return nil
}

// runningExports returns the export jobs that are not finished.
func runningExports(tx *bolt.Tx) []*storedExport {
	b := tx.Bucket(bucketExports)
	if b == nil {
		return nil
	}
	var out []*storedExport
	b.ForEach(func(k, v []byte) error {
		if j, err := decodeExportJob(k, v); err == nil && !j.Status.Done() {
			out = append(out, j)
		}
		return nil
	})
	return out
}

// exportAfterRefresh exports each segment that job refreshed successfully
// to its destinations (but the on-demand ones) and returns the export
// jobs' ids.
func (c *Catalog) exportAfterRefresh(ctx context.Context, job *Job) []uint64 {
	var ids []uint64
	for _, t := range job.Tasks {
		if t.Status != Successful {
			continue
		}
		var uids []uint64
		var segID uint64
		err := c.view(func(tx *bolt.Tx) error {
			id, ok := lookup(tx, t.Segment)
			if !ok {
				return nil
			}
			segID = id
			ds, err := segmentDests(tx, id)
			for _, d := range ds {
				if !d.OnDemand {
					uids = append(uids, d.UID)
				}
			}
			return err
		})
		if err != nil {
			c.warnJob(job.ID, fmt.Sprintf("exports of %s: %v", t.Segment, err))
			continue
		}
		for _, uid := range uids {
			if ctx.Err() != nil {
				return ids
			}
			if ej, err := c.export(ctx, segID, uid, TriggerRefresh, job.ID); ej != nil {
				ids = append(ids, ej.ID)
			} else if err != nil {
				c.warnJob(job.ID, fmt.Sprintf("export of %s: %v", t.Segment, err))
			}
		}
	}
	return ids
}

// warnJob adds a warning to the refresh job.
func (c *Catalog) warnJob(id uint64, warning string) {
	c.update(func(tx *bolt.Tx) error {
		j, err := readJob(tx, id)
		if err != nil {
			return err
		}
		j.Warnings = append(j.Warnings, oneLine(warning))
		return putJobHeader(tx, j)
	})
}

// exportRun is one export job while it runs.
type exportRun struct {
	c    *Catalog
	job  *storedExport
	dest *destRecord
	seg  *record
}

// export runs one export job of segment segID to destination uid.
func (c *Catalog) export(ctx context.Context, segID, uid uint64, trigger Trigger, refreshJob uint64) (*ExportJob, error) {
	if c.src == nil {
		return nil, fmt.Errorf("export: %w", ErrNoSource)
	}
	run := &exportRun{c: c}
	err := c.update(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, segID)
		if err != nil || r == nil {
			return fmt.Errorf("export: segment %d %w", segID, ErrNotFound)
		}
		d, err := destByUID(tx, segID, uid)
		if err != nil {
			return err
		}
		id, err := tx.Bucket(bucketExports).NextSequence()
		if err != nil {
			return err
		}
		run.seg, run.dest = r, d
		run.job = &storedExport{ExportJob: ExportJob{ID: id, Segment: r.Name, Destination: d.Name, Where: d.Where,
			Group: d.Group, Mode: d.Mode, Trigger: trigger, RefreshJob: refreshJob, Status: Queued, Created: c.now()}, segID: segID, uid: uid}
		return putExportJob(tx, run.job)
	})
	if err != nil {
		return nil, err
	}
	jctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-c.done:
			cancel()
		case <-jctx.Done():
		}
	}()
	select {
	case c.exportSem <- struct{}{}:
		defer func() { <-c.exportSem }()
	case <-jctx.Done():
		return run.end(ctx, jctx.Err())
	}
	run.job.Status, run.job.Started = Refreshing, c.now()
	if err := c.update(func(tx *bolt.Tx) error { return putExportJob(tx, run.job) }); err != nil {
		return nil, fmt.Errorf("export: %w", err)
	}
	return run.end(ctx, run.execute(jctx))
}

func destByUID(tx *bolt.Tx, segID, uid uint64) (*destRecord, error) {
	ds, err := segmentDests(tx, segID)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.UID == uid {
			return d, nil
		}
	}
	return nil, fmt.Errorf("export: destination %d %w (it was removed)", uid, ErrNotFound)
}

// execute delivers the export; an error is the job's.
func (run *exportRun) execute(ctx context.Context) error {
	c := run.c
	dest, err := c.openDestination(run.dest.Target)
	if err != nil {
		return err
	}
	d, err := c.loadData(ctx)
	if err != nil {
		return err
	}
	defer d.release()
	// The segment may have been renamed since the job was queued: it is
	// found by id.
	var name string
	if err := c.view(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, run.seg.ID)
		if r != nil {
			name = r.Name
		}
		return err
	}); err != nil {
		return err
	}
	if name == "" {
		return fmt.Errorf("the segment was deleted before the export ran")
	}
	st, err := c.stored(name, d, true)
	if err != nil {
		return err
	}
	if st.rec.ID != run.seg.ID {
		return fmt.Errorf("the segment was deleted or renamed while the export started")
	}
	run.seg, run.job.Segment = st.rec, st.rec.Name
	if st.rec.LastRefreshed.IsZero() {
		// No members yet is not no members: an empty export would empty
		// the file or table, and a delta would remove every customer
		// sent.
		return fmt.Errorf("segment %q has never been refreshed, so it has no members to export; refresh it first", st.rec.Name)
	}
	members := st.members
	// A split segment's holdout is never sent; a destination of one group
	// is sent that group alone.
	if err := c.view(func(tx *bolt.Tx) error {
		var err error
		members, err = exportMembers(ctx, tx, st.rec, run.dest.Group, d.snap, members)
		return err
	}); err != nil {
		return err
	}
	run.job.Members, run.job.AsOf = members.GetCardinality(), st.asOf
	plan, err := export.NewPlan(ctx, d.snap, run.dest.Fields, st.asOf, members)
	if err != nil {
		return fmt.Errorf("the fields do not fit the data: %s", oneLine(err.Error()))
	}
	if err := run.resend(ctx, dest); err != nil {
		return err
	}
	set, err := run.set(ctx, plan, members)
	if err != nil {
		return err
	}
	run.job.Entered, run.job.Changed, run.job.Left = set.Counts()
	h := plan.Header(run.seg.Name, set.Mode, run.keyPrefix())
	acked := false
	stats, err := export.Run(ctx, dest, plan, set, export.RunOptions{
		Segment: run.seg.Name, ID: h.ID, BatchSize: run.dest.BatchSize,
		Before: func(b *export.Batch) error {
			enc, err := export.EncodeBatch(h, b)
			if err != nil {
				return err
			}
			return c.update(func(tx *bolt.Tx) error {
				if _, err := destByUID(tx, run.seg.ID, run.dest.UID); err != nil {
					return err
				}
				return tx.Bucket(bucketPending).Put(u64(run.dest.UID), enc)
			})
		},
		Acknowledged: func(b *export.Batch) error {
			acked = true
			return c.update(func(tx *bolt.Tx) error {
				// A destination removed (or its segment deleted) during
				// the export keeps nothing in the file.
				if _, err := destByUID(tx, run.seg.ID, run.dest.UID); err != nil {
					return err
				}
				if err := applyRows(tx, run.dest.UID, b.Rows); err != nil {
					return err
				}
				return tx.Bucket(bucketPending).Delete(u64(run.dest.UID))
			})
		},
	})
	run.job.Stats = run.job.Stats.Add(stats)
	if err != nil {
		return err
	}
	// The destination has it all. Record what it holds now (when its
	// batches were not recorded one by one) and that the full pass ended.
	return c.update(func(tx *bolt.Tx) error {
		if !acked {
			if err := applySet(ctx, tx, run.dest.UID, plan, set); err != nil {
				return err
			}
		}
		d, err := destByUID(tx, run.seg.ID, run.dest.UID)
		if err != nil {
			return err
		}
		d.FullPass = 0
		return putDest(tx, run.seg.ID, d)
	})
}

// keyPrefix is the prefix of the export's batch keys: unique per
// destination and export.
func (run *exportRun) keyPrefix() string {
	return fmt.Sprintf("d%d-e%d", run.dest.UID, run.job.ID)
}

// resend delivers the batch an interrupted export left in flight, if any.
func (run *exportRun) resend(ctx context.Context, dest export.Destination) error {
	c := run.c
	var enc []byte
	c.view(func(tx *bolt.Tx) error {
		enc = bytes.Clone(tx.Bucket(bucketPending).Get(u64(run.dest.UID)))
		return nil
	})
	if enc == nil {
		return nil
	}
	h, b, err := export.DecodeBatch(enc, nil)
	if err != nil {
		return corrupt("the batch in flight of destination %q cannot be delivered again (%v); remove the destination and add it again to start its exports over",
			run.dest.Name, err)
	}
	defer b.Record.Release()
	stats, err := export.Resend(ctx, dest, h, b)
	run.job.Stats = run.job.Stats.Add(stats)
	if err != nil {
		return fmt.Errorf("deliver again batch %s of an interrupted export: %w", b.Key, err)
	}
	run.job.Resent = true
	return c.update(func(tx *bolt.Tx) error {
		if _, err := destByUID(tx, run.seg.ID, run.dest.UID); err != nil {
			return err
		}
		if err := applyRows(tx, run.dest.UID, b.Rows); err != nil {
			return err
		}
		return tx.Bucket(bucketPending).Delete(u64(run.dest.UID))
	})
}

// set returns the rows the export sends. A delta is computed from what the
// destination was sent. A full export sends every member; one that
// follows an unfinished full export sends the members it did not deliver.
func (run *exportRun) set(ctx context.Context, plan *export.Plan, members *roaring.Bitmap) (export.Set, error) {
	c := run.c
	var set export.Set
	if run.dest.Mode == export.Delta {
		err := c.view(func(tx *bolt.Tx) error {
			var err error
			set, err = export.Diff(ctx, plan, sentReader{tx, run.dest.UID}, members, run.dest.Changes)
			return err
		})
		return set, err
	}
	if run.dest.FullPass != 0 {
		rest := members.Clone()
		err := c.view(func(tx *bolt.Tx) error {
			return sentReader{tx, run.dest.UID}.Range(func(key string, _ uint64) error {
				if id, ok := plan.Snapshot().CustomerID(key); ok {
					rest.Remove(id)
				}
				return nil
			})
		})
		return export.FullSet(rest), err
	}
	err := c.update(func(tx *bolt.Tx) error {
		if err := clearSent(tx, run.dest.UID); err != nil {
			return err
		}
		d, err := destByUID(tx, run.seg.ID, run.dest.UID)
		if err != nil {
			return err
		}
		d.FullPass = run.job.ID
		return putDest(tx, run.seg.ID, d)
	})
	return export.FullSet(members), err
}

// applySet records every row of set as sent.
func applySet(ctx context.Context, tx *bolt.Tx, uid uint64, plan *export.Plan, set export.Set) error {
	b, err := tx.Bucket(bucketSent).CreateBucketIfNotExists(u64(uid))
	if err != nil {
		return err
	}
	snap := plan.Snapshot()
	n := 0
	put := func(bm *roaring.Bitmap) error {
		if bm == nil {
			return nil
		}
		it := bm.Iterator()
		for it.HasNext() {
			if n++; n&4095 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
			id := it.Next()
			if err := b.Put([]byte(snap.CustomerKey(id)), u64(plan.Hash(id))); err != nil {
				return err
			}
		}
		return nil
	}
	if set.Mode == export.Full {
		return put(set.Members)
	}
	if err := put(set.Entered); err != nil {
		return err
	}
	if err := put(set.Changed); err != nil {
		return err
	}
	if set.Left != nil {
		it := set.Left.Iterator()
		for it.HasNext() {
			if err := b.Delete([]byte(snap.CustomerKey(it.Next()))); err != nil {
				return err
			}
		}
	}
	for _, k := range set.Gone {
		if err := b.Delete([]byte(k)); err != nil {
			return err
		}
	}
	return nil
}

// end records the job's outcome: err is nil for a success.
func (run *exportRun) end(ctx context.Context, err error) (*ExportJob, error) {
	c := run.c
	j := run.job
	j.Ended = c.now()
	if j.Started.IsZero() {
		j.Started = j.Ended
	}
	j.Duration = j.Ended.Sub(j.Started)
	cancelled := err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
	switch {
	case err == nil:
		j.Status = Successful
	case cancelled:
		j.Status = Cancelled
		j.Errors = append(j.Errors, "cancelled")
	default:
		j.Status = Failed
		j.Errors = append(j.Errors, oneLine(err.Error()))
	}
	serr := c.update(func(tx *bolt.Tx) error {
		if err := putExportJob(tx, j); err != nil {
			return err
		}
		if d, err := destByUID(tx, j.segID, j.uid); err == nil {
			d.LastExport, d.LastStatus = j.ID, j.Status
			d.LastError = ""
			if len(j.Errors) > 0 {
				d.LastError = j.Errors[0]
			}
			if j.Status == Successful {
				d.LastSuccess = j.Ended
			}
			if err := putDest(tx, j.segID, d); err != nil {
				return err
			}
		}
		return pruneExports(tx, c.opts.JobRetention)
	})
	out := j.ExportJob
	out.Errors = slices.Clone(j.Errors)
	if serr != nil {
		return &out, fmt.Errorf("export: store export job %d: %w", j.ID, serr)
	}
	if cancelled {
		if ctx.Err() != nil {
			return &out, fmt.Errorf("export job %d %w: %w", j.ID, ErrCancelled, ctx.Err())
		}
		return &out, fmt.Errorf("export job %d %w: %w", j.ID, ErrCancelled, ErrClosed)
	}
	if errors.Is(err, ErrCorrupt) {
		// Not the destination's failure: the file is damaged, and the
		// next export would fail the same way.
		return &out, fmt.Errorf("export job %d failed: %w", j.ID, err)
	}
	return &out, nil
}
