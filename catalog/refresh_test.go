package catalog

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

// gateSource serves the inner source, except that while blocking is set
// Snapshot announces itself on entered and waits until its context ends.
type gateSource struct {
	inner    Source
	blocking atomic.Bool
	entered  chan struct{}
}

func (g *gateSource) Schema(ctx context.Context) (*schema.Schema, error) { return g.inner.Schema(ctx) }
func (g *gateSource) String() string                                     { return "gated " + g.inner.String() }
func (g *gateSource) Snapshot(ctx context.Context) (*storage.Snapshot, func(), error) {
	if g.blocking.Load() {
		g.entered <- struct{}{}
		<-ctx.Done()
		return nil, nil, ctx.Err()
	}
	return g.inner.Snapshot(ctx)
}

// runningJob waits until a job runs and returns its id.
func runningJob(t *testing.T, cat *Catalog) uint64 {
	t.Helper()
	var id uint64
	require.Eventually(t, func() bool {
		jobs, err := cat.Jobs(1)
		if err != nil || len(jobs) == 0 || jobs[0].Status.Done() {
			return false
		}
		id = jobs[0].ID
		return true
	}, 5*time.Second, time.Millisecond)
	return id
}

func TestCancelRefresh(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	writeData(t, dir, people(10), nil)
	inner := NewDirSource(dir, storage.Options{})
	defer inner.Close()
	gate := &gateSource{inner: inner, entered: make(chan struct{})}
	e := newEnv(t, Options{Source: gate, Workers: 1})
	_, err := e.cat.Create(ctx, def("A", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	require.Equal(t, keysFrom(7, 10), memberKeys2(t, e.cat, inner, "A"))

	t.Run("CancelJob while loading data", func(t *testing.T) {
		writeData(t, dir, people(10), nil)
		gate.blocking.Store(true)
		type result struct {
			job *Job
			err error
		}
		done := make(chan result)
		go func() {
			j, err := e.cat.Refresh(ctx, "A")
			done <- result{j, err}
		}()
		<-gate.entered
		id := runningJob(t, e.cat)
		live, err := e.cat.Job(id)
		require.NoError(t, err)
		require.Equal(t, Refreshing, live.Status)
		require.Equal(t, NotStarted, live.Tasks[0].Status)
		s, err := e.cat.Get("A")
		require.NoError(t, err)
		require.Equal(t, NotStarted, s.Status, "the live status shows while the job runs")
		require.NoError(t, e.cat.CancelJob(id))
		res := <-done
		gate.blocking.Store(false)
		require.ErrorIs(t, res.err, ErrCancelled)
		require.Equal(t, Cancelled, res.job.Status)
		require.Equal(t, Cancelled, res.job.Tasks[0].Status)
		stored, err := e.cat.Job(id)
		require.NoError(t, err)
		require.Equal(t, Cancelled, stored.Status)
		s, err = e.cat.Get("A")
		require.NoError(t, err)
		require.Equal(t, Cancelled, s.Status)
		require.EqualValues(t, 4, s.MemberCount)
		require.Equal(t, keysFrom(7, 10), memberKeys2(t, e.cat, inner, "A"))
	})

	t.Run("context cancelled during evaluation", func(t *testing.T) {
		_, err := e.cat.Create(ctx, def("B", ageOver(26)), CreateOptions{Active: true})
		require.NoError(t, err)
		require.Equal(t, keysFrom(8, 10), memberKeys2(t, e.cat, inner, "B"))
		// New data changes both segments' members.
		var older []cust
		for _, c := range people(10) {
			c.age += 5
			older = append(older, c)
		}
		writeData(t, dir, older, nil)
		rctx, cancel := context.WithCancel(ctx)
		reached := make(chan struct{})
		testHookBeforeEval = func(ctx context.Context, seg string) {
			if seg == "A" {
				close(reached)
				<-ctx.Done()
			}
		}
		defer func() { testHookBeforeEval = nil }()
		go func() { <-reached; cancel() }()
		job, err := e.cat.Refresh(rctx, "B", "A") // B runs first: one worker
		require.ErrorIs(t, err, ErrCancelled)
		require.ErrorIs(t, err, context.Canceled)
		require.Equal(t, Cancelled, job.Status)
		require.Equal(t, Successful, taskOf(t, job, "B").Status)
		require.Equal(t, Cancelled, taskOf(t, job, "A").Status)
		// B has its new members, A its previous ones.
		require.Equal(t, keysFrom(3, 10), memberKeys2(t, e.cat, inner, "B"))
		require.Equal(t, keysFrom(7, 10), memberKeys2(t, e.cat, inner, "A"))
		a, err := e.cat.Get("A")
		require.NoError(t, err)
		require.Equal(t, Cancelled, a.Status)
		hist, err := e.cat.History("A", time.Time{}, time.Time{})
		require.NoError(t, err)
		require.Len(t, hist, 1, "a cancelled refresh records no history")
	})

	t.Run("cancelled while waiting for another job", func(t *testing.T) {
		gate.blocking.Store(true)
		first := make(chan error)
		go func() { _, err := e.cat.Refresh(ctx, "A"); first <- err }()
		<-gate.entered
		firstID := runningJob(t, e.cat)
		wctx, cancel := context.WithCancel(ctx)
		second := make(chan *Job)
		go func() { j, _ := e.cat.Refresh(wctx, "A"); second <- j }()
		require.Eventually(t, func() bool {
			jobs, _ := e.cat.Jobs(1)
			return len(jobs) == 1 && jobs[0].ID > firstID
		}, 5*time.Second, time.Millisecond)
		jobs, err := e.cat.Jobs(2)
		require.NoError(t, err)
		require.Equal(t, NotStarted, jobs[0].Status, "a job waits for the running one")
		cancel()
		j := <-second
		require.Equal(t, Cancelled, j.Status)
		require.NoError(t, e.cat.CancelJob(firstID))
		require.ErrorIs(t, <-first, ErrCancelled)
		gate.blocking.Store(false)
	})

	t.Run("Close cancels a running job", func(t *testing.T) {
		gate.blocking.Store(true)
		defer gate.blocking.Store(false)
		done := make(chan error)
		go func() { _, err := e.cat.Refresh(ctx, "A"); done <- err }()
		<-gate.entered
		require.NoError(t, e.cat.Close())
		err := <-done
		require.ErrorIs(t, err, ErrCancelled)
		require.ErrorIs(t, err, ErrClosed)
		e.open(t, Options{Source: gate, Workers: 1})
		jobs, err := e.cat.Jobs(1)
		require.NoError(t, err)
		require.Equal(t, Cancelled, jobs[0].Status)
		require.NoError(t, e.cat.Verify())
	})
}

// memberKeys2 returns a segment's member keys read through src.
func memberKeys2(t testing.TB, cat *Catalog, src Source, name string) []string {
	t.Helper()
	snap, release, err := src.Snapshot(context.Background())
	require.NoError(t, err)
	defer release()
	bm, err := cat.MembersIn(context.Background(), name, snap)
	require.NoError(t, err)
	var out []string
	it := bm.Iterator()
	for it.HasNext() {
		out = append(out, snap.CustomerKey(it.Next()))
	}
	return out
}

// TestConcurrentUse runs refreshes, edits, renames, state changes, lists,
// previews, downloads and reads from many goroutines at once; run it with
// -race.
func TestConcurrentUse(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{Workers: 3})
	writeData(t, e.dir, people(60), someOrders(30))
	const segs = 12
	for i := range segs {
		cond := ageOver(20 + 3*i)
		if i%4 == 3 {
			cond = fmt.Sprintf(`{"and": [{"segment": "S%02d"}, {"attribute": "Order.Channel", "operator": "equals", "value": "web"}]}`, i-1)
		}
		_, err := e.cat.Create(ctx, def(fmt.Sprintf("S%02d", i), cond), CreateOptions{Active: i%5 != 4})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	var ops atomic.Int64
	deadline := time.Now().Add(1500 * time.Millisecond)
	worker := func(seed uint64, fn func(r *rand.Rand) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, seed))
			for time.Now().Before(deadline) {
				if err := fn(r); err != nil {
					t.Error(err)
					return
				}
				ops.Add(1)
			}
		}()
	}
	name := func(r *rand.Rand) string { return fmt.Sprintf("S%02d", r.IntN(segs)) }
	for w := range 3 {
		worker(uint64(w), func(r *rand.Rand) error {
			var err error
			if r.IntN(3) == 0 {
				_, err = e.cat.RefreshAll(ctx)
			} else {
				_, err = e.cat.Refresh(ctx, name(r), name(r))
			}
			return err
		})
	}
	for w := range 2 {
		worker(10+uint64(w), func(r *rand.Rand) error {
			n := name(r)
			s, err := e.cat.Get(n)
			if err != nil {
				return err
			}
			// Change the description, or what the segment selects.
			data := strings.Replace(string(s.Definition), `"groups"`, fmt.Sprintf(`"description": "edit %d", "groups"`, r.IntN(1000)), 1)
			if r.IntN(2) == 0 && !strings.Contains(data, "segment") {
				data = string(def(n, ageOver(20+r.IntN(40))))
			}
			_, err = e.cat.Edit(ctx, n, []byte(data))
			return err
		})
	}
	worker(20, func(r *rand.Rand) error {
		n := name(r)
		if r.IntN(2) == 0 {
			return e.cat.Deactivate(n)
		}
		_, err := e.cat.Activate(ctx, n)
		if err != nil && strings.Contains(err.Error(), "draft") {
			return nil
		}
		return err
	})
	for w := range 3 {
		worker(30+uint64(w), func(r *rand.Rand) error {
			switch r.IntN(7) {
			case 0:
				_, err := e.cat.List(ListOptions{Sort: SortColumns()[r.IntN(9)], Desc: r.IntN(2) == 0, Search: "s0"})
				return err
			case 1:
				_, err := e.cat.Preview(ctx, name(r), 5)
				return err
			case 2:
				return e.cat.Download(ctx, name(r), io.Discard, nil)
			case 3:
				_, err := e.cat.Jobs(5)
				return err
			case 4:
				_, err := e.cat.History(name(r), time.Time{}, time.Time{})
				return err
			case 5:
				_, err := e.cat.Members(ctx, name(r))
				return err
			default:
				return e.cat.Verify()
			}
		})
	}
	wg.Wait()
	t.Logf("%d operations", ops.Load())
	require.NoError(t, e.cat.Verify())
	// Every history adds up: entered - left is the change in members.
	for i := range segs {
		hist, err := e.cat.History(fmt.Sprintf("S%02d", i), time.Time{}, time.Time{})
		require.NoError(t, err)
		prev := int64(0)
		for _, h := range hist {
			require.Equal(t, int64(h.MemberCount)-prev, int64(h.Entered)-int64(h.Left))
			prev = int64(h.MemberCount)
		}
	}
	jobs, err := e.cat.Jobs(0)
	require.NoError(t, err)
	for _, j := range jobs {
		require.True(t, j.Status.Done(), "job %d: %s", j.ID, j.Status)
	}
}

func TestLockedFile(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := Open(e.path, Options{LockTimeout: 50 * time.Millisecond})
	require.ErrorIs(t, err, ErrLocked)
}

// TestParallelAndOrdered checks that independent segments are evaluated
// in parallel, at most Options.Workers at a time, and that a segment is
// evaluated only after the segments it references.
func TestParallelAndOrdered(t *testing.T) {
	for _, workers := range []int{1, 3} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) {
			ctx := context.Background()
			e := newEnv(t, Options{Workers: workers})
			for i := range 6 {
				_, err := e.cat.Create(ctx, def(fmt.Sprintf("I%d", i), ageOver(20+i)), CreateOptions{Active: true})
				require.NoError(t, err)
			}
			_, err := e.cat.Create(ctx, def("Chain2", `{"segment": "I0"}`), CreateOptions{Active: true})
			require.NoError(t, err)
			_, err = e.cat.Create(ctx, def("Chain3", `{"and": [{"segment": "Chain2"}, {"segment": "I5"}]}`), CreateOptions{Active: true})
			require.NoError(t, err)

			var mu sync.Mutex
			running, most := 0, 0
			done := map[string]bool{}
			var order, wrong []string
			testHookBeforeEval = func(ctx context.Context, seg string) {
				mu.Lock()
				running++
				most = max(most, running)
				switch {
				case seg == "Chain2" && !done["I0"]:
					wrong = append(wrong, "Chain2 before I0")
				case seg == "Chain3" && !(done["Chain2"] && done["I5"]):
					wrong = append(wrong, "Chain3 before what it references")
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
				mu.Lock()
				running--
				done[seg] = true
				order = append(order, seg)
				mu.Unlock()
			}
			defer func() { testHookBeforeEval = nil }()
			job, err := e.cat.RefreshAll(ctx)
			require.NoError(t, err)
			require.Equal(t, Successful, job.Status)
			require.Empty(t, wrong)
			require.Len(t, order, 8)
			require.Equal(t, "Chain3", order[7])
			require.Equal(t, workers, most, "evaluations at once")
		})
	}
}

func TestVerifyFindsInconsistencies(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("A", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	require.NoError(t, e.cat.Verify())
	require.NoError(t, e.cat.Close())
	db, err := bolt.Open(e.path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketNames).Put([]byte("Ghost"), u64(99)); err != nil {
			return err
		}
		return tx.Bucket(bucketKeysets).ForEach(func(k, _ []byte) error {
			return tx.Bucket(bucketKeysets).Put(k, []byte{5, 1})
		})
	}))
	require.NoError(t, db.Close())
	e.open(t, Options{})
	err = e.cat.Verify()
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, `name "Ghost" points to no segment`)
	require.ErrorContains(t, err, "customer key list")
}
