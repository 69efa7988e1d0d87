package catalog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
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

// testHookBeforeEval, when set by a test, runs before each segment's
// evaluation.
var testHookBeforeEval func(ctx context.Context, segment string)

// refreshRequest says what a job refreshes.
type refreshRequest struct {
	ids     []uint64
	all     bool
	trigger string
	// asOf is the instant to evaluate at; zero: the job's start.
	asOf time.Time
}

// RefreshOptions adjusts a refresh job. The zero value evaluates the
// segments at the catalog clock's time when the job starts.
type RefreshOptions struct {
	// AsOf is the instant the job's segments are evaluated at: relative
	// date conditions (inLastDays, ...) and measures count from it. Zero
	// means the catalog clock's now when the job starts.
	AsOf time.Time
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
// it ends. Inactive segments and
// drafts among them are skipped. An unknown name is an error wrapping
// ErrNotFound, and then no job runs.
//
// The job's outcome is in its status and tasks; the error is nil even
// when tasks fail. When the job is cancelled (by ctx, CancelJob or Close)
// Refresh returns it, with status cancelled, and an error wrapping
// ErrCancelled (and ctx's error when ctx ended). RefreshWith needs a
// Source (ErrNoSource).
func (c *Catalog) RefreshWith(ctx context.Context, opts RefreshOptions, names ...string) (*Job, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if len(names) == 0 {
		return nil, fmt.Errorf("refresh: no segment names given (%w); use RefreshAll to refresh every segment", ErrNotFound)
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
	return c.refresh(ctx, refreshRequest{ids: ids, trigger: "manual", asOf: opts.AsOf})
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
	return c.refresh(ctx, refreshRequest{all: true, trigger: "manual", asOf: opts.AsOf})
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

// taskRun is one task while its job runs.
type taskRun struct {
	rec        *record
	deps       []int
	dependents []int
	pending    int
	runnable   bool
	// members are the segment's members in the job's snapshot once the
	// task succeeded, for the segments that reference it.
	members *roaring.Bitmap
}

// execution is one job's run.
type execution struct {
	c      *Catalog
	run    *runJob
	tasks  []*taskRun
	data   *loadedData
	keyset *keysetWriter
	asOf   time.Time
	sch    *schema.Schema
}

// refresh runs a job. The caller has entered the catalog.
func (c *Catalog) refresh(ctx context.Context, req refreshRequest) (*Job, error) {
	if c.src == nil {
		return nil, fmt.Errorf("refresh: %w", ErrNoSource)
	}
	ctx = ctxOrBackground(ctx)
	jctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	req.asOf = utcOrZero(req.asOf)
	job := Job{Trigger: req.trigger, All: req.all, Status: NotStarted, Created: c.now(), AsOf: req.asOf}
	err := c.update(func(tx *bolt.Tx) error {
		for _, id := range req.ids {
			if r, err := getRecord(tx, id); err == nil && r != nil {
				job.Requested = append(job.Requested, r.Name)
			}
		}
		id, err := tx.Bucket(bucketJobs).NextSequence()
		if err != nil {
			return err
		}
		job.ID = id
		return putJobHeader(tx, &job)
	})
	if err != nil {
		return nil, fmt.Errorf("refresh: %w", err)
	}
	run := &runJob{job: job, cancel: cancel}
	c.mu.Lock()
	c.running[job.ID] = run
	if c.closed {
		cancel(ErrClosed)
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.running, job.ID)
		c.mu.Unlock()
	}()
	ex := &execution{c: c, run: run, asOf: req.asOf}
	select {
	case c.jobSem <- struct{}{}:
		defer func() { <-c.jobSem }()
	case <-jctx.Done():
		return ex.end(ctx, jctx)
	}
	if err := ex.plan(req); err != nil {
		ex.jobError("plan the job: %v", err)
		return ex.end(ctx, jctx)
	}
	if jctx.Err() != nil {
		return ex.end(ctx, jctx)
	}
	d, err := c.loadData(jctx)
	if err != nil {
		if jctx.Err() == nil {
			ex.jobError("%s", oneLine(err.Error()))
			ex.failRunnable("the data did not load")
		}
		return ex.end(ctx, jctx)
	}
	defer d.release()
	ex.data = d
	ex.sch = d.snap.Schema()
	ex.keyset = &keysetWriter{d: d}
	ex.describeData()
	ex.execute(jctx)
	return ex.end(ctx, jctx)
}

// update changes the live job under its lock.
func (ex *execution) update(fn func(j *Job)) {
	ex.run.mu.Lock()
	defer ex.run.mu.Unlock()
	fn(&ex.run.job)
}

func (ex *execution) jobError(format string, args ...any) {
	ex.update(func(j *Job) { j.Errors = append(j.Errors, fmt.Sprintf(format, args...)) })
}

// plan lists the tasks: the requested segments (or all), then the
// segments they reference, and stores the plan with the skipped segments'
// statuses.
func (ex *execution) plan(req refreshRequest) error {
	c := ex.c
	now := c.now()
	var planned []Task
	err := c.view(func(tx *bolt.Tx) error {
		recs, err := allRecords(tx)
		if err != nil {
			return err
		}
		byID := map[uint64]*record{}
		byName := map[string]*record{}
		for _, r := range recs {
			byID[r.ID], byName[r.Name] = r, r
		}
		index := map[uint64]int{}
		add := func(r *record, reason string) int {
			if i, ok := index[r.ID]; ok {
				return i
			}
			i := len(ex.tasks)
			index[r.ID] = i
			t := Task{Segment: r.Name, Reason: reason, segID: r.ID}
			tr := &taskRun{rec: r, runnable: r.Active && !r.Draft}
			switch {
			case r.Draft:
				t.Status = Skipped
				t.Warnings = append(t.Warnings, "the segment is a draft; fix its definition and activate it to refresh it")
			case !r.Active:
				t.Status = Skipped
				t.Warnings = append(t.Warnings, "the segment is inactive; activate it to refresh it")
			}
			ex.tasks = append(ex.tasks, tr)
			planned = append(planned, t)
			return i
		}
		if req.all {
			sorted := slices.Clone(recs)
			slices.SortFunc(sorted, func(a, b *record) int { return strings.Compare(a.Name, b.Name) })
			for _, r := range sorted {
				add(r, "all")
			}
		}
		for _, id := range req.ids {
			if r, ok := byID[id]; ok {
				add(r, "requested")
			}
		}
		for i := 0; i < len(ex.tasks); i++ {
			t := ex.tasks[i]
			if !t.runnable {
				continue
			}
			for _, ref := range t.rec.Refs {
				dep, ok := byName[ref]
				if !ok {
					planned[i].Status = Failed
					planned[i].Errors = append(planned[i].Errors, fmt.Sprintf("references segment %q, which does not exist", ref))
					continue
				}
				j := add(dep, "referenced by "+t.rec.Name)
				if !slices.Contains(t.deps, j) {
					t.deps = append(t.deps, j)
					ex.tasks[j].dependents = append(ex.tasks[j].dependents, i)
				}
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i, t := range ex.tasks {
		if planned[i].Status == Failed {
			t.runnable = false
		}
	}
	if ex.asOf.IsZero() {
		ex.asOf = now
	}
	ex.update(func(j *Job) {
		j.Tasks = planned
		j.Status = Refreshing
		j.Started = now
		j.AsOf = ex.asOf
	})
	job := ex.run.copy()
	return c.update(func(tx *bolt.Tx) error {
		if err := putJob(tx, job); err != nil {
			return err
		}
		for i, t := range job.Tasks {
			if t.Status.Done() {
				if err := ex.putSegmentStatus(tx, i, &t); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// putSegmentStatus records a finished task's status on its segment, if
// the segment still is the one the task was planned for.
func (ex *execution) putSegmentStatus(tx *bolt.Tx, i int, t *Task) error {
	r, err := getRecord(tx, ex.tasks[i].rec.ID)
	if err != nil || r == nil {
		return err
	}
	r.Status = t.Status
	r.LastJob = ex.run.job.ID
	if t.Status == Failed && len(t.Errors) > 0 {
		r.LastError = t.Errors[0]
	}
	return putRecord(tx, r)
}

// failRunnable fails every task that has not finished.
func (ex *execution) failRunnable(msg string) {
	ex.update(func(j *Job) {
		for i := range j.Tasks {
			if !j.Tasks[i].Status.Done() {
				j.Tasks[i].Status = Failed
				j.Tasks[i].Errors = append(j.Tasks[i].Errors, msg)
			}
		}
	})
}

// describeData records the snapshot in the job, with the relationships
// whose links are broken as warnings.
func (ex *execution) describeData() {
	d := ex.data
	info := &DataInfo{Source: d.source, Customers: d.snap.NumCustomers(), Keys: shortHash(d.keys),
		LoadDuration: d.loadTime, MemoryBytes: d.snap.MemoryBytes()}
	var warnings []string
	for _, lr := range d.snap.LinkReports() {
		if lr.Null+lr.Dangling == 0 {
			continue
		}
		info.BrokenLinks = append(info.BrokenLinks, lr)
		warnings = append(warnings, brokenLinkMessage(ex.sch, lr))
	}
	ex.update(func(j *Job) {
		j.Data = info
		j.Warnings = append(j.Warnings, warnings...)
	})
}

func brokenLinkMessage(sch *schema.Schema, lr storage.LinkReport) string {
	from := ""
	if r, ok := sch.Relationship(lr.Relationship); ok {
		from = r.From.Entity + " "
	}
	return fmt.Sprintf("relationship %s: %d %srows have a null foreign key and %d a dangling one; they belong to no customer",
		lr.Relationship, lr.Null, from, lr.Dangling)
}

// taskResult is what a worker reports.
type taskResult struct {
	i    int
	task Task
	// persisted is true when the task's outcome is already committed.
	persisted bool
}

// execute runs the runnable tasks in dependency order.
func (ex *execution) execute(ctx context.Context) {
	runnable := 0
	for _, t := range ex.tasks {
		if t.runnable {
			runnable++
			t.pending = len(t.deps)
		}
	}
	workers := max(1, min(ex.c.opts.Workers, runnable))
	par := max(1, runtime.GOMAXPROCS(0)/workers)
	var ready []int
	// Tasks that are not runnable are done before anything runs; their
	// dependents learn it now.
	done := make([]bool, len(ex.tasks))
	var settle func(i int)
	settle = func(i int) {
		done[i] = true
		for _, d := range ex.tasks[i].dependents {
			dt := ex.tasks[d]
			if !dt.runnable || done[d] {
				continue
			}
			dt.pending--
			if dt.pending == 0 {
				if bad := ex.failedDep(d); bad != "" {
					ex.finishTask(ctx, taskResult{i: d, task: ex.failTask(d, bad)})
					settle(d)
					continue
				}
				ready = append(ready, d)
				ex.setStatus(d, Queued)
			}
		}
	}
	for i, t := range ex.tasks {
		if !t.runnable {
			settle(i)
		}
	}
	for i, t := range ex.tasks {
		if t.runnable && t.pending == 0 && !done[i] && !slices.Contains(ready, i) {
			ready = append(ready, i)
			ex.setStatus(i, Queued)
		}
	}
	results := make(chan taskResult)
	inflight := 0
	for {
		for inflight < workers && len(ready) > 0 && ctx.Err() == nil {
			i := ready[0]
			ready = ready[1:]
			inflight++
			ex.update(func(j *Job) {
				j.Tasks[i].Status = Refreshing
				j.Tasks[i].Started = ex.c.now()
			})
			go func() { results <- ex.runTask(ctx, i, par) }()
		}
		if inflight == 0 {
			break
		}
		res := <-results
		inflight--
		ex.finishTask(ctx, res)
		settle(res.i)
	}
	// What is left did not run: the job was cancelled, or references form
	// a cycle that validation should have refused.
	for i := range ex.tasks {
		if done[i] {
			continue
		}
		if ctx.Err() != nil {
			ex.update(func(j *Job) { j.Tasks[i].Status = Cancelled })
			continue
		}
		ex.finishTask(ctx, taskResult{i: i, task: ex.failTask(i, "its segment references form a cycle")})
	}
}

// failedDep returns a message naming a referenced segment of task i that
// did not succeed, or "".
func (ex *execution) failedDep(i int) string {
	ex.run.mu.Lock()
	defer ex.run.mu.Unlock()
	for _, d := range ex.tasks[i].deps {
		t := ex.run.job.Tasks[d]
		if t.Status != Successful {
			why := t.Status.String()
			if t.Status == Skipped {
				why = "skipped: it is " + ex.tasks[d].rec.state().String()
			}
			return fmt.Sprintf("references segment %q, which was not refreshed (%s)", t.Segment, why)
		}
	}
	return ""
}

// task returns a copy of task i of the live job.
func (ex *execution) task(i int) Task {
	ex.run.mu.Lock()
	defer ex.run.mu.Unlock()
	t := ex.run.job.Tasks[i]
	t.Errors = slices.Clone(t.Errors)
	t.Warnings = slices.Clone(t.Warnings)
	return t
}

func (ex *execution) setStatus(i int, s Status) {
	ex.update(func(j *Job) { j.Tasks[i].Status = s })
}

// failTask returns task i's record failed with msg.
func (ex *execution) failTask(i int, msg string) Task {
	t := ex.task(i)
	t.Status = Failed
	t.Errors = append(t.Errors, msg)
	now := ex.c.now()
	if t.Started.IsZero() {
		t.Started = now
	}
	t.Ended = now
	t.Duration = t.Ended.Sub(t.Started)
	return t
}

// finishTask records a finished task in the live job and, unless it is
// committed already, in the file.
func (ex *execution) finishTask(ctx context.Context, res taskResult) {
	ex.update(func(j *Job) {
		res.task.segID = j.Tasks[res.i].segID
		j.Tasks[res.i] = res.task
	})
	if res.persisted || res.task.Status == Cancelled {
		return
	}
	t := res.task
	err := ex.c.update(func(tx *bolt.Tx) error {
		if err := putTask(tx, ex.run.job.ID, res.i, &t); err != nil {
			return err
		}
		return ex.putSegmentStatus(tx, res.i, &t)
	})
	if err != nil {
		ex.jobError("store the outcome of %s: %v", t.Segment, err)
	}
}

// runTask refreshes task i's segment and commits the result.
func (ex *execution) runTask(ctx context.Context, i int, par int) (res taskResult) {
	res.i = i
	tr := ex.tasks[i]
	t := ex.task(i)
	fail := func(format string, args ...any) taskResult {
		t.Status = Failed
		t.Errors = append(t.Errors, fmt.Sprintf(format, args...))
		t.Ended = ex.c.now()
		t.Duration = t.Ended.Sub(t.Started)
		res.task = t
		return res
	}
	cancelled := func() taskResult {
		t.Status = Cancelled
		t.Ended = ex.c.now()
		t.Duration = t.Ended.Sub(t.Started)
		res.task = t
		return res
	}
	def, err := segment.Parse(tr.rec.Definition)
	if err != nil {
		return fail("the definition does not parse: %v", err)
	}
	t.Warnings = append(t.Warnings, linkWarnings(def, ex.sch, ex.data.snap.LinkReports())...)
	static := tr.rec.kind() == segment.Static

	var prev memberBlob
	var hasPrev bool
	err = ex.c.view(func(tx *bolt.Tx) error {
		var err error
		prev, hasPrev, err = getMembers(tx, tr.rec.ID)
		return err
	})
	if err != nil {
		return fail("read the previous members: %v", err)
	}

	var members *roaring.Bitmap
	var entered, left, count uint64
	kept := static && tr.rec.Frozen && hasPrev
	if kept {
		var missing uint64
		err := ex.c.view(func(tx *bolt.Tx) error {
			var err error
			members, missing, err = ex.c.mapMembers(tx, prev, ex.data)
			return err
		})
		if err != nil {
			return fail("read the frozen members: %v", err)
		}
		count = prev.members.GetCardinality()
		note := fmt.Sprintf("static segment: kept the %d members frozen by its first successful refresh", count)
		if !tr.rec.LastRefreshed.IsZero() {
			note = fmt.Sprintf("static segment: kept its %d frozen members", count)
		}
		t.Warnings = append(t.Warnings, note)
		if missing > 0 {
			t.Warnings = append(t.Warnings, fmt.Sprintf("%d frozen members are no longer in the data", missing))
		}
	} else {
		segs := make(map[string]*roaring.Bitmap, len(tr.deps))
		for _, d := range tr.deps {
			segs[ex.tasks[d].rec.Name] = ex.tasks[d].members
		}
		plan, err := engine.Compile(def, ex.data.snap, engine.Options{Segments: segs, Parallelism: par})
		if err != nil {
			return fail("the definition does not fit the data: %s", oneLine(err.Error()))
		}
		if testHookBeforeEval != nil {
			testHookBeforeEval(ctx, tr.rec.Name)
		}
		members, err = plan.Eval(ctx, ex.asOf)
		if err != nil {
			if ctx.Err() != nil {
				return cancelled()
			}
			return fail("evaluation failed: %v", err)
		}
		count = members.GetCardinality()
		if hasPrev {
			var mapped *roaring.Bitmap
			err := ex.c.view(func(tx *bolt.Tx) error {
				var err error
				mapped, _, err = ex.c.mapMembers(tx, prev, ex.data)
				return err
			})
			if err != nil {
				return fail("read the previous members: %v", err)
			}
			stayed := mapped.AndCardinality(members)
			entered = count - stayed
			left = prev.members.GetCardinality() - stayed
		} else {
			entered = count
		}
	}
	if ctx.Err() != nil {
		return cancelled()
	}
	now := ex.c.now()
	t.Status = Successful
	t.Ended = now
	t.Duration = now.Sub(t.Started)
	t.Members, t.Entered, t.Left, t.Kept = count, entered, left, kept
	var blob []byte
	if !kept {
		if blob, err = encodeMembers(ex.data.keys, members); err != nil {
			return fail("encode the members: %v", err)
		}
	}
	var stale string
	err = ex.c.update(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, tr.rec.ID)
		if err != nil {
			return err
		}
		switch {
		case r == nil:
			stale = "the segment was deleted during the refresh; nothing was stored"
			return nil
		case r.Revision != tr.rec.Revision:
			stale = "the segment's definition was edited during the refresh; its members were not stored, refresh it again"
			return nil
		}
		if !kept {
			if err := ex.keyset.ensure(tx); err != nil {
				return err
			}
			if err := tx.Bucket(bucketMembers).Put(u64(r.ID), blob); err != nil {
				return err
			}
			if hasPrev && prev.keys != ex.data.keys {
				if err := gcKeysets(tx); err != nil {
					return err
				}
			}
		}
		if err := putHistory(tx, r.ID, &HistoryEntry{Time: now, Job: ex.run.job.ID, AsOf: ex.asOf, Members: count, Entered: entered, Left: left, Kept: kept}); err != nil {
			return err
		}
		r.Members = count
		r.LastRefreshed = now
		r.Status, r.LastJob, r.LastError = Successful, ex.run.job.ID, ""
		if static {
			r.Frozen = true
		}
		if err := putRecord(tx, r); err != nil {
			return err
		}
		return putTask(tx, ex.run.job.ID, i, &t)
	})
	if err != nil {
		return fail("store the members: %v", err)
	}
	if stale != "" {
		return fail("%s", stale)
	}
	tr.members = members
	res.task = t
	res.persisted = true
	return res
}

// end finishes the job: final status, times, the record in the file.
func (ex *execution) end(ctx, jctx context.Context) (*Job, error) {
	c := ex.c
	now := c.now()
	cancelled := jctx.Err() != nil
	// ended lists the tasks that end with the job; their segments' status
	// is stored with it.
	var ended []int
	ex.update(func(j *Job) {
		for i := range j.Tasks {
			switch t := &j.Tasks[i]; {
			case t.Status == Cancelled:
				ended = append(ended, i)
			case t.Status.Done():
			case cancelled:
				t.Status = Cancelled
				ended = append(ended, i)
			default:
				t.Status = Failed
				t.Errors = append(t.Errors, "not refreshed: the job failed")
				ended = append(ended, i)
			}
		}
		j.Ended = now
		if j.Started.IsZero() {
			j.Started = now
		}
		if j.AsOf.IsZero() {
			// The job ended before it started: it would have evaluated
			// at its start.
			j.AsOf = j.Started
		}
		j.Duration = j.Ended.Sub(j.Started)
		failed, skipped := len(j.Errors) > 0, len(j.Tasks) > 0
		for _, t := range j.Tasks {
			failed = failed || t.Status == Failed
			skipped = skipped && t.Status == Skipped
		}
		switch {
		case cancelled:
			j.Status = Cancelled
		case failed:
			j.Status = Failed
		case skipped:
			j.Status = Skipped
		default:
			j.Status = Successful
		}
	})
	job := ex.run.copy()
	err := c.update(func(tx *bolt.Tx) error {
		if err := putJob(tx, job); err != nil {
			return err
		}
		for _, i := range ended {
			if i < len(ex.tasks) {
				if err := ex.putSegmentStatus(tx, i, &job.Tasks[i]); err != nil {
					return err
				}
			}
		}
		return pruneJobs(tx, c.opts.JobRetention)
	})
	if err != nil {
		return job, fmt.Errorf("refresh: store job %d: %w", job.ID, err)
	}
	if cancelled {
		switch cause := context.Cause(jctx); {
		case ctx.Err() != nil:
			return job, fmt.Errorf("refresh job %d %w: %w", job.ID, ErrCancelled, ctx.Err())
		case errors.Is(cause, ErrClosed):
			return job, fmt.Errorf("refresh job %d %w: %w", job.ID, ErrCancelled, ErrClosed)
		default:
			return job, fmt.Errorf("refresh job %d %w", job.ID, ErrCancelled)
		}
	}
	return job, nil
}

// linkWarnings returns a warning for each relationship on the paths the
// definition uses whose foreign keys are broken.
func linkWarnings(def *segment.Definition, sch *schema.Schema, reports []storage.LinkReport) []string {
	if sch == nil {
		return nil
	}
	var rels []string
	addPath := func(entity string, path []string) {
		if len(path) == 0 {
			if ps := sch.Paths(entity); len(ps) == 1 {
				path = ps[0]
			}
		}
		for _, r := range path {
			if !slices.Contains(rels, r) {
				rels = append(rels, r)
			}
		}
	}
	for _, g := range def.Groups {
		segment.Inspect(g.Condition, func(c segment.Condition) bool {
			switch n := c.(type) {
			case *segment.Related:
				addPath(n.Entity, n.Path)
				return false
			case *segment.Predicate:
				if ent, _, ok := strings.Cut(n.Attribute, "."); ok && ent != sch.CustomerEntity && ent != schema.MeasuresEntity {
					addPath(ent, nil)
				}
			}
			return true
		})
	}
	var out []string
	for _, lr := range reports {
		if lr.Null+lr.Dangling > 0 && slices.Contains(rels, lr.Relationship) {
			out = append(out, brokenLinkMessage(sch, lr))
		}
	}
	return out
}

func oneLine(s string) string {
	return strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(s)
}

func beUint64(b []byte) uint64 {
	var v uint64
	for _, x := range b {
		v = v<<8 | uint64(x)
	}
	return v
}
