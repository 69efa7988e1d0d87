package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Refresh jobs.
//
// A job refreshes the requested segments and, before them, every segment
// they reference (transitively), so that a reference means the referenced
// segment's members from the same run (FORMAT.md section 3). Inactive
// segments and drafts are skipped; a segment that references a skipped or
// failed one fails, naming it. Tasks whose references are done run in
// parallel, at most Options.Workers at a time. All segments of a job are
// evaluated against one data snapshot at one as-of instant: the one the
// job was asked for (RefreshOptions.AsOf), or else the job's start on the
// catalog's clock. The job records it (Job.AsOf), and so does each history
// entry it stores.
//
// Jobs run one at a time; a job asked for while another runs waits with
// status "not started". Each successful task commits, in one transaction,
// the segment's members, a history entry, its status and the task's
// record; a task whose segment was edited, renamed or deleted while it
// ran stores nothing and fails. A cancelled job stores nothing more: its
// unfinished tasks end as cancelled and their segments keep their previous
// members.
//
// This file holds the job API; execute.go runs a job.

// refreshRequest says what a job refreshes.
type refreshRequest struct {
	ids     []uint64
	all     bool
	trigger Trigger
	// asOf is the instant to evaluate at; zero: the job's start.
	asOf time.Time
	// started is RefreshOptions.Started.
	started func(id uint64)
}

// RefreshOptions adjusts a refresh job. The zero value evaluates the
// segments at the catalog clock's time when the job starts.
type RefreshOptions struct {
	// AsOf is the instant the job's segments are evaluated at: relative
	// date conditions (inLastDays, ...) and measures count from it. Zero
	// means the catalog clock's now when the job starts.
	AsOf time.Time
	// Started, when set, is called with the job's id once the job is
	// recorded (running, visible to Job and cancellable by CancelJob)
	// and before it does any work: a service that answers before the job
	// ends learns its id from it. It is not called when no job starts.
	Started func(id uint64)
}

// runJob is a job that has not finished.
type runJob struct {
	mu     sync.Mutex
	job    Job
	cancel context.CancelCauseFunc
}

// copy returns a copy of the live job.
func (r *runJob) copy() *Job {
	r.mu.Lock()
	defer r.mu.Unlock()
	return copyJob(&r.job)
}

func copyJob(j *Job) *Job {
	out := *j
	out.Requested = slices.Clone(j.Requested)
	out.Errors = slices.Clone(j.Errors)
	out.Warnings = slices.Clone(j.Warnings)
	if j.Data != nil {
		d := *j.Data
		d.BrokenLinks = slices.Clone(j.Data.BrokenLinks)
		out.Data = &d
	}
	out.Tasks = make([]Task, len(j.Tasks))
	for i, t := range j.Tasks {
		t.Errors = slices.Clone(t.Errors)
		t.Warnings = slices.Clone(t.Warnings)
		t.segID = 0
		out.Tasks[i] = t
	}
	return &out
}

// Refresh refreshes the named segments as RefreshWith does with zero
// options: evaluated at the catalog clock's now.
func (c *Catalog) Refresh(ctx context.Context, names ...string) (*Job, error) {
	return c.RefreshWith(ctx, RefreshOptions{}, names...)
}

// RefreshWith refreshes the named segments (and the segments they
// reference) as one job, evaluated at opts.AsOf, and returns the job when
// it ends. Inactive segments and drafts among them are skipped. An unknown
// name is an error wrapping ErrNotFound, and then no job runs.
//
// The job's outcome is in its status and tasks; the error is nil even
// when tasks fail. When the job is cancelled (by ctx, CancelJob or Close)
// RefreshWith returns it, with status cancelled, and an error wrapping
// ErrCancelled (and ctx's error when ctx ended). RefreshWith needs a
// Source (ErrNoSource).
func (c *Catalog) RefreshWith(ctx context.Context, opts RefreshOptions, names ...string) (*Job, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if len(names) == 0 {
		return nil, fmt.Errorf("refresh: no segment names given (%w); name the segments to refresh, or refresh all of them", ErrNotFound)
	}
	var ids []uint64
	err := c.view(func(tx *bolt.Tx) error {
		for _, n := range names {
			r, err := getByName(tx, n)
			if err != nil {
				return err
			}
			if !slices.Contains(ids, r.ID) {
				ids = append(ids, r.ID)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return c.refresh(ctx, refreshRequest{ids: ids, trigger: TriggerManual, asOf: opts.AsOf, started: opts.Started})
}

// RefreshAll refreshes every segment as RefreshAllWith does with zero
// options: evaluated at the catalog clock's now.
func (c *Catalog) RefreshAll(ctx context.Context) (*Job, error) {
	return c.RefreshAllWith(ctx, RefreshOptions{})
}

// RefreshAllWith refreshes every segment as one job evaluated at
// opts.AsOf, as RefreshWith does: active segments are refreshed, inactive
// ones and drafts are skipped.
func (c *Catalog) RefreshAllWith(ctx context.Context, opts RefreshOptions) (*Job, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	return c.refresh(ctx, refreshRequest{all: true, trigger: TriggerManual, asOf: opts.AsOf, started: opts.Started})
}

// CancelJob cancels a running or waiting job. The job ends as cancelled
// and the segments it had not finished keep their previous members; the
// call that started it returns. It returns an error wrapping ErrNotFound
// if no job with that id is running.
func (c *Catalog) CancelJob(id uint64) error {
	c.mu.Lock()
	r, ok := c.running[id]
	c.mu.Unlock()
	if !ok {
		return fmt.Errorf("running job %d %w", id, ErrNotFound)
	}
	r.cancel(errCancelJob)
	return nil
}

var errCancelJob = errors.New("cancelled by CancelJob")

// Job returns the job with the id, live while it runs.
func (c *Catalog) Job(id uint64) (*Job, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	c.mu.Lock()
	r, ok := c.running[id]
	c.mu.Unlock()
	if ok {
		return r.copy(), nil
	}
	var j *Job
	err := c.view(func(tx *bolt.Tx) error {
		var err error
		j, err = readJob(tx, id)
		return err
	})
	if errors.Is(err, errNoJob) {
		return nil, fmt.Errorf("job %d %w", id, ErrNotFound)
	}
	return j, err
}

// Jobs returns the latest jobs, newest first, running ones included (live);
// at most limit of them, or all the file keeps when limit <= 0.
func (c *Catalog) Jobs(limit int) ([]*Job, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	live := map[uint64]*Job{}
	c.mu.Lock()
	for id, r := range c.running {
		live[id] = r.copy()
	}
	c.mu.Unlock()
	var out []*Job
	err := c.view(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketJobs).Cursor()
		for k, _ := cur.Last(); k != nil; k, _ = cur.Prev() {
			if limit > 0 && len(out) >= limit {
				break
			}
			if len(k) != 8 {
				continue
			}
			id := beUint64(k)
			if j, ok := live[id]; ok {
				out = append(out, j)
				delete(live, id)
				continue
			}
			j, err := readJob(tx, id)
			if err != nil {
				return err
			}
			out = append(out, j)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	// Jobs whose first write is not visible yet cannot be older than the
	// stored ones.
	for _, j := range live {
		out = append(out, j)
	}
	slices.SortFunc(out, func(a, b *Job) int {
		switch {
		case a.ID > b.ID:
			return -1
		case a.ID < b.ID:
			return 1
		}
		return 0
	})
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// liveStatuses returns the status of every segment a running job has not
// finished with.
func (c *Catalog) liveStatuses() map[uint64]Status {
	out := map[uint64]Status{}
	c.mu.Lock()
	runs := make([]*runJob, 0, len(c.running))
	for _, r := range c.running {
		runs = append(runs, r)
	}
	c.mu.Unlock()
	for _, r := range runs {
		r.mu.Lock()
		for _, t := range r.job.Tasks {
			if !t.Status.Done() && t.segID != 0 {
				if old, ok := out[t.segID]; !ok || t.Status > old {
					out[t.segID] = t.Status
				}
			}
		}
		r.mu.Unlock()
	}
	return out
}

// overlay puts the live status of a running job into s.
func (c *Catalog) overlay(s *Segment, id uint64) {
	if st, ok := c.liveStatuses()[id]; ok {
		s.Status = st
	}
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}
