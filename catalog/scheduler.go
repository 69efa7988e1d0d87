package catalog

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/robfig/cron/v3"
	bolt "go.etcd.io/bbolt"
)

// ScheduleOptions configures a Scheduler. The zero value refreshes no
// segment on a common schedule, and applies per-segment schedules and
// scheduled (de)activations in UTC.
type ScheduleOptions struct {
	// Cron is the schedule of the recurring refresh of all active segments
	// (as ParseSchedule reads it, such as "0 3 * * *"); "" means none.
	Cron string
	// Location is the time zone cron schedules are read in, unless one
	// says CRON_TZ=; nil means UTC.
	Location *time.Location
	// Logger receives a line for every job the scheduler starts and every
	// error; nil discards them.
	Logger *slog.Logger
}

// Scheduler drives a catalog's recurring work on the catalog's clock: the
// refresh of all segments on ScheduleOptions.Cron, each active segment's
// own schedule (Segment.Schedule), and scheduled activations and
// deactivations. Create it with NewScheduler and run it with Run.
//
// Runs missed while no scheduler ran are not caught up: schedules count
// from when Run starts. A scheduled (de)activation whose time has passed
// is applied at once. A refresh that comes due while the previous one of
// the same schedule still runs is skipped.
type Scheduler struct {
	cat    *Catalog
	global cron.Schedule
	spec   string
	loc    *time.Location
	log    *slog.Logger
}

// NewScheduler returns a scheduler for cat. An invalid opts.Cron is an
// error wrapping ErrSchedule.
func NewScheduler(cat *Catalog, opts ScheduleOptions) (*Scheduler, error) {
	s := &Scheduler{cat: cat, loc: opts.Location, log: opts.Logger, spec: opts.Cron}
	if s.loc == nil {
		s.loc = time.UTC
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if opts.Cron != "" {
		g, err := ParseSchedule(opts.Cron)
		if err != nil {
			return nil, err
		}
		s.global = g
	}
	return s, nil
}

// segCron is a segment's schedule as the scheduler follows it.
type segCron struct {
	spec   string
	sched  cron.Schedule // nil: the spec does not parse
	next   time.Time
	paused bool // the segment is inactive; its schedule restarts when it is activated
}

// scheduled is what the scheduler needs of a segment.
type scheduled struct {
	name         string
	id           uint64
	active       bool
	activateAt   time.Time
	deactivateAt time.Time
	schedule     string
	since        time.Time
}

// Run applies the schedules until ctx is done (it then returns nil) or
// the catalog is closed (ErrClosed). Refreshes run in the background, one
// per schedule at a time; Run waits for them before it returns. Run must
// not be called twice at once on one Scheduler. ctx must be non-nil.
func (s *Scheduler) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	defer wg.Wait()
	var mu sync.Mutex
	busy := map[string]bool{}
	launch := func(key string, fn func() (*Job, error)) {
		mu.Lock()
		if busy[key] {
			mu.Unlock()
			s.log.Warn("skipping a scheduled refresh: the previous one still runs", "schedule", key)
			return
		}
		busy[key] = true
		mu.Unlock()
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { mu.Lock(); delete(busy, key); mu.Unlock() }()
			job, err := fn()
			switch {
			case err != nil && !errors.Is(err, ErrCancelled):
				s.log.Error("scheduled refresh failed", "schedule", key, "err", err)
			case job != nil:
				s.log.Info("scheduled refresh ended", "schedule", key, "job", job.ID, "status", job.Status.String())
			}
		}()
	}

	st := s.newState(s.cat.clock.Now().In(s.loc))
	for {
		changed := s.cat.changes()
		now := s.cat.clock.Now().In(s.loc)
		segs, err := s.state()
		if err != nil {
			if errors.Is(err, ErrClosed) {
				return ErrClosed
			}
			s.log.Error("read the catalog", "err", err)
		}
		w := s.tick(st, now, segs)
		s.apply(ctx, w, launch)
		if stop, err := s.wait(ctx, w.wake, changed); stop {
			return err
		}
	}
}

// schedState is what a running scheduler keeps between ticks.
type schedState struct {
	// start is when Run started: schedules count from it.
	start time.Time
	// nextAll is the next refresh of all segments; zero when none.
	nextAll time.Time
	// crons are the segments' own schedules, by segment id.
	crons map[uint64]*segCron
}

// newState returns the state of a scheduler that starts at start.
func (s *Scheduler) newState(start time.Time) *schedState {
	st := &schedState{start: start, crons: map[uint64]*segCron{}}
	if s.global != nil {
		st.nextAll = s.global.Next(start)
	}
	return st
}

// stateChange is a scheduled (de)activation that is due.
type stateChange struct {
	name     string
	at       time.Time
	activate bool
}

// dueWork is what a tick found due, and when something comes due next.
type dueWork struct {
	// changes are the due (de)activations, in segment order, a segment's
	// deactivation before its activation.
	changes []stateChange
	// all is true when the refresh of all segments is due.
	all bool
	// segments names the segments whose own schedule is due.
	segments []string
	// wake is when the next schedule comes due; zero when none will.
	wake time.Time
}

// tick says what is due at now for the segments segs and moves the
// schedules in st past now. It changes nothing in the catalog.
func (s *Scheduler) tick(st *schedState, now time.Time, segs []scheduled) dueWork {
	var w dueWork
	soonest := func(t time.Time) {
		if !t.IsZero() && (w.wake.IsZero() || t.Before(w.wake)) {
			w.wake = t
		}
	}
	seen := map[uint64]bool{}
	for _, sg := range segs {
		seen[sg.id] = true
		for _, ch := range []stateChange{{sg.name, sg.deactivateAt, false}, {sg.name, sg.activateAt, true}} {
			switch {
			case ch.at.IsZero():
			case ch.at.After(now):
				soonest(ch.at)
			default:
				w.changes = append(w.changes, ch)
			}
		}
		if sg.schedule == "" {
			delete(st.crons, sg.id)
			continue
		}
		sc := st.crons[sg.id]
		if sc == nil || sc.spec != sg.schedule {
			sc = &segCron{spec: sg.schedule, paused: !sg.active}
			if sched, err := ParseSchedule(sg.schedule); err == nil {
				// Count from when the schedule was set, or from when Run
				// started if that is later: missed runs are not caught up.
				from := st.start
				if sg.since.After(from) {
					from = sg.since.In(s.loc)
				}
				sc.sched, sc.next = sched, sched.Next(from)
			} else {
				s.log.Error("segment schedule does not parse", "segment", sg.name, "err", err)
			}
			st.crons[sg.id] = sc
		}
		if sc.sched == nil {
			continue
		}
		if !sg.active {
			sc.paused = true
			continue
		}
		if sc.paused {
			// Reactivated: count from now, not from before.
			sc.paused = false
			sc.next = sc.sched.Next(now)
		}
		if !sc.next.IsZero() && !sc.next.After(now) {
			w.segments = append(w.segments, sg.name)
			sc.next = sc.sched.Next(now)
		}
		soonest(sc.next)
	}
	for id := range st.crons {
		if !seen[id] {
			delete(st.crons, id)
		}
	}
	if s.global != nil {
		if !st.nextAll.IsZero() && !st.nextAll.After(now) {
			w.all = true
			st.nextAll = s.global.Next(now)
		}
		soonest(st.nextAll)
	}
	return w
}

// apply carries out what a tick found due: the state changes at once, the
// refreshes in the background through launch.
func (s *Scheduler) apply(ctx context.Context, w dueWork, launch func(string, func() (*Job, error))) {
	for _, ch := range w.changes {
		if ch.activate {
			s.applyActivation(ctx, ch.name, ch.at, launch)
		} else if err := s.cat.deactivate(ch.name, ch.at); err != nil {
			s.log.Error("scheduled deactivation failed", "segment", ch.name, "err", err)
		} else {
			s.log.Info("deactivated segment as scheduled", "segment", ch.name)
		}
	}
	if w.all {
		launch("all", func() (*Job, error) { return s.cat.scheduledRefresh(ctx, nil, true, "schedule") })
	}
	for _, name := range w.segments {
		launch("segment "+name, func() (*Job, error) { return s.cat.scheduledRefresh(ctx, []string{name}, false, "schedule") })
	}
}

// wait waits until the clock reaches wake (with a zero wake, until
// something else happens), the catalog's schedules change, ctx is done or
// the catalog is closed. It reports whether Run stops, and with what.
func (s *Scheduler) wait(ctx context.Context, wake time.Time, changed <-chan struct{}) (stop bool, err error) {
	clock := s.cat.clock
	var timer <-chan time.Time
	if !wake.IsZero() {
		before := clock.Now()
		d := wake.Sub(before)
		if d <= 0 {
			return false, nil
		}
		t := clock.NewTimer(d)
		defer t.Stop()
		// A timer runs from when it is made: if the clock moved on since d
		// was computed (a fake clock advanced by a test, a stalled
		// goroutine), it would fire late; compute it again.
		if clock.Since(before) > time.Millisecond {
			return false, nil
		}
		timer = t.Chan()
	}
	select {
	case <-timer:
	case <-changed:
	case <-ctx.Done():
		return true, nil
	case <-s.cat.done:
		return true, ErrClosed
	}
	return false, nil
}

// applyActivation activates a segment whose activation is due. The state
// change is immediate; its refresh runs in the background.
func (s *Scheduler) applyActivation(ctx context.Context, name string, at time.Time, launch func(string, func() (*Job, error))) {
	ok, err := s.cat.applyScheduledActivation(ctx, name, at)
	if err != nil {
		s.log.Error("scheduled activation failed", "segment", name, "err", err)
		return
	}
	if !ok {
		return
	}
	s.log.Info("activated segment as scheduled", "segment", name)
	launch("activation "+name, func() (*Job, error) {
		return s.cat.scheduledRefresh(ctx, []string{name}, false, "scheduled activation")
	})
}

// state reads what the scheduler needs of every segment.
func (s *Scheduler) state() ([]scheduled, error) {
	c := s.cat
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out []scheduled
	err := c.view(func(tx *bolt.Tx) error {
		recs, err := allRecords(tx)
		for _, r := range recs {
			out = append(out, scheduled{name: r.Name, id: r.ID, active: r.Active && !r.Draft,
				activateAt: r.ActivateAt, deactivateAt: r.DeactivateAt, schedule: r.Schedule, since: r.ScheduleSince})
		}
		return err
	})
	return out, err
}

// applyScheduledActivation activates the segment if its activation at is
// still scheduled. A segment that cannot be activated (a draft, or a
// definition that no longer validates) keeps its state; the reason goes
// to Segment.ScheduleError and the schedule is cleared. It reports whether
// the segment was activated, and so needs its refresh.
func (c *Catalog) applyScheduledActivation(ctx context.Context, name string, at time.Time) (bool, error) {
	if err := c.enter(); err != nil {
		return false, err
	}
	defer c.leave()
	_, changed, err := c.setActive(ctx, name, at)
	if err == nil {
		return changed, nil
	}
	if errors.Is(err, ErrDraft) || errors.Is(err, ErrInvalid) {
		msg := oneLine(err.Error())
		if serr := c.setScheduleLocked(name, func(r *record) error {
			if r.ActivateAt.Equal(at) {
				r.ActivateAt, r.ScheduleError = time.Time{}, msg
			}
			return nil
		}); serr != nil {
			return false, serr
		}
	}
	return false, err
}

// scheduledRefresh runs a refresh for the scheduler.
func (c *Catalog) scheduledRefresh(ctx context.Context, names []string, all bool, trigger string) (*Job, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if c.src == nil {
		return nil, nil
	}
	req := refreshRequest{all: all, trigger: trigger}
	if !all {
		err := c.view(func(tx *bolt.Tx) error {
			for _, n := range names {
				if id, ok := lookup(tx, n); ok {
					req.ids = append(req.ids, id)
				}
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(req.ids) == 0 {
			return nil, nil
		}
	}
	return c.refresh(ctx, req)
}
