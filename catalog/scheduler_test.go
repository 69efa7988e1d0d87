package catalog

import (
	"context"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// waitJob waits until a finished job matches ok and returns it.
func waitJob(t *testing.T, cat *Catalog, ok func(j *Job) bool) *Job {
	t.Helper()
	var found *Job
	require.Eventually(t, func() bool {
		jobs, err := cat.Jobs(0)
		if err != nil {
			return false
		}
		for _, j := range jobs {
			if j.Status.Done() && ok(j) {
				found = j
				return true
			}
		}
		return false
	}, 5*time.Second, 2*time.Millisecond)
	return found
}

func TestScheduler(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	e := newEnv(t, Options{})
	cat := e.cat
	_, err := cat.Create(ctx, def("A", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = cat.Create(ctx, def("B", ageOver(27)), CreateOptions{})
	require.NoError(t, err)
	_, err = cat.Create(ctx, def("C", ageOver(28)), CreateOptions{})
	require.NoError(t, err)

	_, err = NewScheduler(cat, ScheduleOptions{Cron: "at three"})
	require.ErrorIs(t, err, ErrSchedule)
	sched, err := NewScheduler(cat, ScheduleOptions{Cron: "0 3 * * *", Logger: testLogger(t)})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- sched.Run(ctx) }()

	// t0 is 09:00; the refresh of all segments is due at 03:00 tomorrow.
	require.NoError(t, e.clock.BlockUntilContext(ctx, 1))
	e.clock.Advance(17*time.Hour + 59*time.Minute)
	require.NoError(t, e.clock.BlockUntilContext(ctx, 1))
	jobs, err := cat.Jobs(0)
	require.NoError(t, err)
	require.Len(t, jobs, 1, "only the activation's job so far")
	e.clock.Advance(time.Minute)
	all := waitJob(t, cat, func(j *Job) bool { return j.All && j.Trigger == TriggerSchedule })
	require.Equal(t, time.Date(2026, 3, 3, 3, 0, 0, 0, time.UTC), all.Started)
	require.Equal(t, all.Started, all.AsOf, "evaluated at the scheduler's clock")
	require.Equal(t, Successful, taskOf(t, all, "A").Status)
	require.Equal(t, Skipped, taskOf(t, all, "B").Status)

	// A segment's own schedule: every 30 minutes, while it is active.
	require.NoError(t, cat.SetSchedule("A", "*/30 * * * *"))
	require.NoError(t, e.clock.BlockUntilContext(ctx, 1))
	e.clock.Advance(30 * time.Minute)
	own := waitJob(t, cat, func(j *Job) bool { return !j.All && j.Trigger == TriggerSegmentSchedule })
	require.Equal(t, []string{"A"}, own.Requested)
	require.Equal(t, time.Date(2026, 3, 3, 3, 30, 0, 0, time.UTC), own.Started)
	require.Equal(t, own.Started, own.AsOf)

	// Scheduled activation: B becomes active at 05:00 and is refreshed.
	require.NoError(t, cat.SetSchedule("A", ""))
	at := time.Date(2026, 3, 3, 5, 0, 0, 0, time.UTC)
	require.NoError(t, cat.ScheduleActivation("B", at))
	b, err := cat.Get("B")
	require.NoError(t, err)
	require.Equal(t, at, b.ActivateAt)
	require.NoError(t, e.clock.BlockUntilContext(ctx, 1))
	e.clock.Advance(time.Hour)
	require.NoError(t, e.clock.BlockUntilContext(ctx, 1))
	b, err = cat.Get("B")
	require.NoError(t, err)
	require.Equal(t, Inactive, b.State, "not yet")
	e.clock.Advance(time.Hour)
	act := waitJob(t, cat, func(j *Job) bool { return j.Trigger == TriggerScheduledActivation })
	require.Equal(t, []string{"B"}, act.Requested)
	require.Equal(t, Successful, act.Status)
	b, err = cat.Get("B")
	require.NoError(t, err)
	require.Equal(t, Active, b.State)
	require.True(t, b.ActivateAt.IsZero())
	require.EqualValues(t, 2, b.MemberCount)

	// A scheduled activation of a segment that became a draft meanwhile is
	// not applied, and says why.
	require.NoError(t, cat.ScheduleActivation("C", e.clock.Now().Add(time.Hour)))
	_, err = cat.Edit(ctx, "C", def("C", `{"attribute": "Customer.Nope", "operator": "isNull"}`))
	require.NoError(t, err)
	require.NoError(t, e.clock.BlockUntilContext(ctx, 1))
	e.clock.Advance(2 * time.Hour)
	require.Eventually(t, func() bool {
		c, err := cat.Get("C")
		return err == nil && c.ScheduleError != "" && c.ActivateAt.IsZero()
	}, 5*time.Second, 2*time.Millisecond)
	c, err := cat.Get("C")
	require.NoError(t, err)
	require.Equal(t, Draft, c.State)
	require.Contains(t, c.ScheduleError, "draft")

	// A deactivation time in the past is applied at once.
	require.NoError(t, cat.ScheduleDeactivation("B", t0))
	require.Eventually(t, func() bool {
		b, err := cat.Get("B")
		return err == nil && b.State == Inactive
	}, 5*time.Second, 2*time.Millisecond)

	stop()
	require.NoError(t, <-done)
	// Nothing ran twice for one due time.
	jobs, err = cat.Jobs(0)
	require.NoError(t, err)
	var starts []time.Time
	for _, j := range jobs {
		if j.Trigger == TriggerSchedule || j.Trigger == TriggerSegmentSchedule {
			require.False(t, slices.ContainsFunc(starts, func(s time.Time) bool { return s.Equal(j.Started) }), "two scheduled jobs at %v", j.Started)
			starts = append(starts, j.Started)
		}
	}
}

func TestSchedulerStopsWhenCatalogCloses(t *testing.T) {
	e := newEnv(t, Options{})
	sched, err := NewScheduler(e.cat, ScheduleOptions{Cron: "@hourly"})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- sched.Run(context.Background()) }()
	require.NoError(t, e.clock.BlockUntilContext(context.Background(), 1))
	require.NoError(t, e.cat.Close())
	require.ErrorIs(t, <-done, ErrClosed)
}

// testLogger logs to t.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(p))
	return len(p), nil
}

// TestScheduleThatNeverFires refuses cron specifications that would never
// fire, or fire on a zero or negative interval: the scheduler would
// otherwise refresh on every wake-up.
func TestScheduleThatNeverFires(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := e.cat.Create(context.Background(), def("A", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	for _, spec := range []string{"0 0 30 2 *", "0 0 31 4 *", "@every 0s", "@every -1s", "@every -5m"} {
		require.ErrorIs(t, e.cat.SetSchedule("A", spec), ErrSchedule, spec)
		_, err := NewScheduler(e.cat, ScheduleOptions{Cron: spec})
		require.ErrorIs(t, err, ErrSchedule, spec)
	}
	for _, spec := range []string{"0 0 29 2 *", "@every 90s", "@hourly"} {
		require.NoError(t, e.cat.SetSchedule("A", spec), spec)
	}
}

// TestSchedulerTick drives the scheduler's tick on a fake clock: what is
// due at each instant, and when it wakes next.
func TestSchedulerTick(t *testing.T) {
	e := newEnv(t, Options{})
	s, err := NewScheduler(e.cat, ScheduleOptions{Cron: "0 3 * * *"})
	require.NoError(t, err)
	clock := e.clock // t0 is 09:00
	st := s.newState(clock.Now())
	at := func(h, m int) time.Time { return time.Date(2026, 3, 2, h, m, 0, 0, time.UTC) }
	segs := []scheduled{
		{name: "A", id: 1, active: true, schedule: "*/30 * * * *", since: at(8, 0)},
		{name: "B", id: 2, activateAt: at(9, 40)},
		{name: "C", id: 3, active: true, deactivateAt: at(8, 59)},
		{name: "D", id: 4, active: false, schedule: "@every 10m", since: at(9, 0)},
	}
	w := s.tick(st, clock.Now(), segs)
	require.Equal(t, []stateChange{{"C", at(8, 59), false}}, w.changes, "a past deactivation is due at once")
	require.False(t, w.all)
	require.Empty(t, w.segments, "runs missed before Run started are not caught up")
	require.Equal(t, at(9, 30), w.wake)

	clock.Advance(30 * time.Minute)
	segs[2].deactivateAt = time.Time{}
	w = s.tick(st, clock.Now(), segs)
	require.Equal(t, []string{"A"}, w.segments)
	require.Empty(t, w.changes)
	require.Equal(t, at(9, 40), w.wake, "B's activation")

	clock.Advance(10 * time.Minute)
	w = s.tick(st, clock.Now(), segs)
	require.Equal(t, []stateChange{{"B", at(9, 40), true}}, w.changes)
	require.Empty(t, w.segments, "A ran at 09:30")
	require.Equal(t, at(10, 0), w.wake)

	// D is activated at 09:45: its schedule counts from then.
	clock.Advance(5 * time.Minute)
	segs[1].activateAt, segs[3].active = time.Time{}, true
	w = s.tick(st, clock.Now(), segs)
	require.Empty(t, w.segments)
	require.Equal(t, at(9, 55), w.wake)
	clock.Advance(10 * time.Minute)
	w = s.tick(st, clock.Now(), segs)
	require.Equal(t, []string{"D"}, w.segments)

	// The refresh of all segments at 03:00 tomorrow; a removed segment's
	// schedule is forgotten.
	clock.Advance(17*time.Hour + 5*time.Minute) // 03:00
	w = s.tick(st, clock.Now(), segs[1:3])
	require.True(t, w.all)
	require.Empty(t, w.segments)
	require.Equal(t, time.Date(2026, 3, 4, 3, 0, 0, 0, time.UTC), w.wake)
	require.NotContains(t, st.crons, uint64(1))
	w = s.tick(st, clock.Now(), segs[1:3])
	require.False(t, w.all, "once per due time")
}
