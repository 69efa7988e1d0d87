package catalog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// The executor of refresh jobs (refresh.go has the job API): an execution
// plans a job's tasks, loads the data once, runs the tasks in dependency
// order and commits each one that succeeds.

// testHookBeforeEval, when set by a test, runs before each segment's
// evaluation.
var testHookBeforeEval func(ctx context.Context, segment string)

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
	// reused is true when the task kept the segment's stored members
	// (reuse.go).
	reused bool
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

// refresh runs a job, then the exports to the destinations of the
// segments it refreshed (exports.go). The caller has entered the catalog.
func (c *Catalog) refresh(ctx context.Context, req refreshRequest) (*Job, error) {
	job, err := c.refreshJob(ctx, req)
	if err != nil || job == nil || ctx.Err() != nil {
		return job, err
	}
	if ids := c.exportAfterRefresh(ctx, job); len(ids) > 0 {
		job.Exports = ids
		err := c.update(func(tx *bolt.Tx) error {
			j, err := readJob(tx, job.ID)
			if err != nil {
				return err
			}
			j.Exports = ids
			job.Warnings = j.Warnings
			return putJobHeader(tx, j)
		})
		if err != nil && !errors.Is(err, errNoJob) {
			return job, fmt.Errorf("refresh: store job %d: %w", job.ID, err)
		}
	}
	return job, nil
}

// refreshJob runs a refresh job.
func (c *Catalog) refreshJob(ctx context.Context, req refreshRequest) (*Job, error) {
	if c.src == nil {
		return nil, fmt.Errorf("refresh: %w", ErrNoSource)
	}
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
	if req.started != nil {
		req.started(job.ID)
	}
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
		LoadDuration: d.loadTime, Load: d.snap.LoadInfo().String(), MemoryBytes: d.snap.MemoryBytes()}
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
	return fmt.Sprintf("relationship %s: %s %srows have a null foreign key and %s a dangling one; they belong to no customer",
		lr.Relationship, exact.FormatCount(lr.Null), from, exact.FormatCount(lr.Dangling))
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

// runTask refreshes task i's segment: it computes the members, then
// commits them.
func (ex *execution) runTask(ctx context.Context, i int, par int) taskResult {
	t := ex.task(i)
	end := func(st Status, errs ...string) taskResult {
		t.Status = st
		t.Errors = append(t.Errors, errs...)
		t.Ended = ex.c.now()
		t.Duration = t.Ended.Sub(t.Started)
		return taskResult{i: i, task: t}
	}
	m, err := ex.computeMembers(ctx, i, par)
	t.Warnings = append(t.Warnings, m.warnings...)
	switch {
	case errors.Is(err, errTaskCancelled):
		return end(Cancelled)
	case err != nil:
		return end(Failed, err.Error())
	case ctx.Err() != nil:
		return end(Cancelled)
	}
	now := ex.c.now()
	t.Status = Successful
	t.Ended = now
	t.Duration = now.Sub(t.Started)
	t.MemberCount, t.Entered, t.Left, t.Kept, t.Reused = m.count, m.entered, m.left, m.kept, m.reused
	if err := ex.commitTask(i, &t, m); err != nil {
		return end(Failed, err.Error())
	}
	ex.tasks[i].members = m.members
	ex.tasks[i].reused = m.reused
	if !m.kept {
		ex.c.stamps.put(ex.tasks[i].rec.ID, evalStamp{job: ex.run.job.ID, snap: ex.data.snap.ID(), asOf: ex.asOf,
			revision: ex.tasks[i].rec.Revision, keys: ex.data.keys, count: m.count})
	}
	return taskResult{i: i, task: t, persisted: true}
}

// errTaskCancelled: the task's evaluation stopped because the job was
// cancelled.
var errTaskCancelled = errors.New("task cancelled")

// computedMembers are a task's members before they are committed, with
// what the commit needs to know of the segment's previous ones.
type computedMembers struct {
	members *roaring.Bitmap
	// count, entered and left are as in Task; kept is true when a static
	// segment kept its frozen members.
	count, entered, left uint64
	kept                 bool
	// reused is true when the segment's stored members were kept, the
	// data it reads being unchanged (reuse.go).
	reused bool
	// prev are the previous members as stored, if hasPrev.
	prev    memberBlob
	hasPrev bool
	// enteredIDs are the customers who entered, as ids of the job's
	// snapshot, and leftIDs those who left, as ids of prev's key list;
	// nil for nobody (a static segment that kept its members).
	enteredIDs, leftIDs *roaring.Bitmap
	// warnings concern the segment.
	warnings []string
}

// computeMembers computes task i's members in the job's snapshot: a frozen
// static segment's stored members, or the definition evaluated at the
// job's as-of with the members of the segments it references from this
// job. An error's message is the task's; errTaskCancelled when the job
// was cancelled during the evaluation.
func (ex *execution) computeMembers(ctx context.Context, i int, par int) (*computedMembers, error) {
	tr := ex.tasks[i]
	m := &computedMembers{}
	def, err := segment.Parse(tr.rec.Definition)
	if err != nil {
		return m, fmt.Errorf("the definition does not parse: %v", err)
	}
	m.warnings = linkWarnings(def, ex.sch, ex.data.snap.LinkReports())
	err = ex.c.view(func(tx *bolt.Tx) error {
		var err error
		m.prev, m.hasPrev, err = getMembers(tx, tr.rec.ID)
		return err
	})
	if err != nil {
		return m, fmt.Errorf("read the previous members: %v", err)
	}
	// mapPrev returns the previous members as ids of the job's snapshot
	// and how many are no longer in it.
	mapPrev := func() (bm *roaring.Bitmap, missing uint64, err error) {
		err = ex.c.view(func(tx *bolt.Tx) error {
			bm, missing, err = ex.c.mapMembers(tx, m.prev, ex.data)
			return err
		})
		return bm, missing, err
	}
	m.kept = tr.rec.membership() == segment.Static && tr.rec.Frozen && m.hasPrev
	if m.kept {
		members, missing, err := mapPrev()
		if err != nil {
			return m, fmt.Errorf("read the frozen members: %v", err)
		}
		m.members, m.count = members, m.prev.members.GetCardinality()
		note := fmt.Sprintf("static segment: kept the %s members frozen by its first successful refresh", exact.FormatCount(m.count))
		if !tr.rec.LastRefreshed.IsZero() {
			note = fmt.Sprintf("static segment: kept its %s frozen members", exact.FormatCount(m.count))
		}
		m.warnings = append(m.warnings, note)
		if missing > 0 {
			m.warnings = append(m.warnings, fmt.Sprintf("%s frozen members are no longer in the data", exact.FormatCount(missing)))
		}
		return m, nil
	}
	if note, ok := ex.reusable(i, def, m); ok {
		members, missing, err := mapPrev()
		if err == nil && missing == 0 {
			m.members, m.count, m.reused = members, members.GetCardinality(), true
			m.warnings = append(m.warnings, note)
			return m, nil
		}
	}
	segs := make(map[string]*roaring.Bitmap, len(tr.deps))
	for _, d := range tr.deps {
		segs[ex.tasks[d].rec.Name] = ex.tasks[d].members
	}
	if err := ex.c.addGroupMembers(ctx, def, ex.data.snap, segs); err != nil {
		return m, err
	}
	plan, err := engine.Compile(def, ex.data.snap, engine.Options{Segments: segs, Parallelism: par})
	if err != nil {
		return m, fmt.Errorf("the definition does not fit the data: %s", oneLine(err.Error()))
	}
	if testHookBeforeEval != nil {
		testHookBeforeEval(ctx, tr.rec.Name)
	}
	if m.members, err = plan.Eval(ctx, ex.asOf); err != nil {
		if ctx.Err() != nil {
			return m, errTaskCancelled
		}
		return m, fmt.Errorf("evaluation failed: %v", err)
	}
	m.count, m.entered = m.members.GetCardinality(), m.members.GetCardinality()
	m.enteredIDs = m.members
	if m.hasPrev {
		mapped, _, err := mapPrev()
		if err != nil {
			return m, fmt.Errorf("read the previous members: %v", err)
		}
		stayed := mapped.AndCardinality(m.members)
		m.entered = m.count - stayed
		m.left = m.prev.members.GetCardinality() - stayed
		if m.enteredIDs, m.leftIDs, err = ex.c.changedIDs(m.prev, mapped, m.members, ex.data); err != nil {
			return m, fmt.Errorf("compare with the previous members: %v", err)
		}
	}
	return m, nil
}

// commitTask stores task i's computed members (unless it kept frozen
// ones), a history entry with its change entry, the segment's status and
// the task t in one transaction. A segment deleted or edited since the
// job was planned stores nothing; the error says so.
func (ex *execution) commitTask(i int, t *Task, m *computedMembers) error {
	tr := ex.tasks[i]
	var blob []byte
	if !m.kept && !m.reused {
		var err error
		if blob, err = encodeMembers(tr.rec.ID, ex.data.keys, m.members); err != nil {
			return fmt.Errorf("encode the members: %v", err)
		}
	}
	var stale string
	err := ex.c.update(func(tx *bolt.Tx) error {
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
		if !m.kept && !m.reused {
			if err := ex.keyset.ensure(tx); err != nil {
				return err
			}
			if err := tx.Bucket(bucketMembers).Put(u64(r.ID), blob); err != nil {
				return err
			}
		}
		e := &HistoryEntry{Time: t.Ended, Job: ex.run.job.ID, AsOf: ex.asOf, MemberCount: m.count, Entered: m.entered, Left: m.left, Kept: m.kept, Reused: m.reused}
		key, err := putHistory(tx, r.ID, e)
		if err != nil {
			return err
		}
		// The change entry keeps the previous key list while it names
		// who left, so key lists are collected after it is stored.
		gc, err := ex.c.putChanges(tx, r.ID, key, e, ex.data.keys, m)
		if err != nil {
			return err
		}
		if gc || !m.kept && m.hasPrev && m.prev.keys != ex.data.keys {
			if err := gcKeysets(tx); err != nil {
				return err
			}
		}
		r.MemberCount = m.count
		r.LastRefreshed = t.Ended
		r.Status, r.LastJob, r.LastError = Successful, ex.run.job.ID, ""
		if tr.rec.membership() == segment.Static {
			r.Frozen = true
		}
		if err := putRecord(tx, r); err != nil {
			return err
		}
		return putTask(tx, ex.run.job.ID, i, t)
	})
	switch {
	case err != nil:
		return fmt.Errorf("store the members: %v", err)
	case stale != "":
		return errors.New(stale)
	}
	return nil
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
