package catalog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/export"
)

// memTarget is an in-memory destination: "mem:NAME" targets of one
// memTargets. It keeps the committed exports' rows, as text by column.
// With ack set its writer acknowledges batches one by one (as a webhook
// does); failAt makes the n-th Write of the process fail.
type memTargets struct {
	mu      sync.Mutex
	exports map[string][][]map[string]string // target name -> exports -> rows
	keys    map[string][]string              // batch keys seen, by target
	ack     bool
	failAt  int
	writes  int
}

func newMemTargets(ack bool) *memTargets {
	return &memTargets{exports: map[string][][]map[string]string{}, keys: map[string][]string{}, ack: ack}
}

func (m *memTargets) open(target string) (export.Destination, error) {
	name, ok := strings.CutPrefix(target, "mem:")
	if !ok || name == "" {
		return nil, fmt.Errorf("%w: not a mem target %q", export.ErrDestination, target)
	}
	return &memDest{m: m, name: name}, nil
}

type memDest struct {
	m    *memTargets
	name string
}

func (d *memDest) String() string { return "mem:" + d.name }
func (d *memDest) Open(_ context.Context, h *export.Header) (export.Writer, error) {
	w := &memWriter{d: d, h: h}
	if d.m.ack {
		return &ackWriter{w}, nil
	}
	return w, nil
}

type memWriter struct {
	d     *memDest
	h     *export.Header
	rows  []map[string]string
	stats export.Stats
}

type ackWriter struct{ *memWriter }

func (*ackWriter) AcknowledgesBatches() {}

func (w *memWriter) Write(_ context.Context, b *export.Batch) error {
	m := w.d.m
	m.mu.Lock()
	defer m.mu.Unlock()
	m.writes++
	if m.failAt == m.writes {
		return fmt.Errorf("%w: injected failure at write %d", export.ErrDelivery, m.writes)
	}
	var rows []map[string]string
	for i := range int(b.Record.NumRows()) {
		row := map[string]string{}
		for j, f := range b.Record.Schema().Fields() {
			if s, ok := w.h.Text(b.Record, j, i); ok {
				row[f.Name] = s
			}
		}
		rows = append(rows, row)
	}
	m.keys[w.d.name] = append(m.keys[w.d.name], b.Key)
	w.stats.Batches++
	w.stats.Tries++
	w.stats.Rows += int64(len(rows))
	if m.ack {
		// Acknowledged: delivered for good, as its own export.
		m.exports[w.d.name] = append(m.exports[w.d.name], rows)
		return nil
	}
	w.rows = append(w.rows, rows...)
	return nil
}

func (w *memWriter) Commit(context.Context) error {
	if w.d.m.ack {
		return nil
	}
	w.d.m.mu.Lock()
	defer w.d.m.mu.Unlock()
	w.d.m.exports[w.d.name] = append(w.d.m.exports[w.d.name], w.rows)
	return nil
}
func (w *memWriter) Abort() error        { return nil }
func (w *memWriter) Stats() export.Stats { return w.stats }

// applied returns the customer keys a receiver holds after applying the
// target's exports in order, checking that no delta repeats a change.
func (m *memTargets) applied(t *testing.T, name string) []string {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	set := map[string]bool{}
	for _, rows := range m.exports[name] {
		for _, r := range rows {
			k := r["CustomerId"]
			switch r["change"] {
			case "", "entered":
				if r["change"] == "entered" {
					require.False(t, set[k], "%s entered twice", k)
				}
				set[k] = true
			case "left":
				require.True(t, set[k], "%s left without having entered", k)
				delete(set, k)
			case "changed":
				require.True(t, set[k], "%s changed without having entered", k)
			}
		}
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestDestinationsAttachAndValidate(t *testing.T) {
	mt := newMemTargets(false)
	e := newEnv(t, Options{OpenDestination: mt.open})
	ctx := context.Background()
	_, err := e.cat.Create(ctx, def("Adults", ageOver(24)), CreateOptions{})
	require.NoError(t, err)

	d, err := e.cat.AddDestination(ctx, "Adults", DestinationOptions{To: "mem:a"})
	require.NoError(t, err)
	require.Equal(t, "mem", d.Name)
	require.Equal(t, export.Full, d.Mode)
	d, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{To: "mem:b", Mode: export.Delta, Fields: export.Fields{Names: []string{"Email"}, Hash: []string{"Email"}}})
	require.NoError(t, err)
	require.Equal(t, "mem-2", d.Name)

	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "mem", To: "mem:c"})
	require.ErrorIs(t, err, ErrExists)
	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{To: "nope"})
	require.ErrorIs(t, err, export.ErrDestination)
	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{To: "mem:c", Fields: export.Fields{Names: []string{"Emial"}}})
	require.ErrorIs(t, err, ErrUnknownField)
	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{To: "mem:c", Changes: true})
	require.ErrorIs(t, err, export.ErrMode)
	_, err = e.cat.AddDestination(ctx, "Adlts", DestinationOptions{To: "mem:c"})
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "did you mean Adults?")
	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "bad name!", To: "mem:c"})
	require.ErrorIs(t, err, ErrInvalidName)

	ds, err := e.cat.Destinations("Adults")
	require.NoError(t, err)
	require.Len(t, ds, 2)
	require.Equal(t, []string{"Email"}, ds[1].Hash)

	_, err = e.cat.Export(ctx, "Adults", "mem-3")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "did you mean mem")

	require.NoError(t, e.cat.RemoveDestination("Adults", "mem"))
	require.ErrorIs(t, e.cat.RemoveDestination("Adults", "mem"), ErrNotFound)
	ds, err = e.cat.Destinations("Adults")
	require.NoError(t, err)
	require.Len(t, ds, 1)

	// Deleting the segment removes its destinations and what they were
	// sent.
	_, err = e.cat.Activate(ctx, "Adults")
	require.NoError(t, err)
	require.NoError(t, e.cat.Delete("Adults"))
	require.NoError(t, e.cat.view(func(tx *bolt.Tx) error {
		require.Zero(t, tx.Bucket(bucketSent).Stats().BucketN-1, "no sent buckets left")
		return nil
	}))
}

// TestExportAfterRefreshDeltas refreshes over changing data; the exports
// that follow each refresh, applied in order, reproduce the members,
// across a reopening of the catalog, for destinations that take exports
// whole and for ones that acknowledge each batch.
func TestExportAfterRefreshDeltas(t *testing.T) {
	for _, ack := range []bool{false, true} {
		t.Run(fmt.Sprintf("ack=%v", ack), func(t *testing.T) {
			mt := newMemTargets(ack)
			e := newEnv(t, Options{OpenDestination: mt.open})
			ctx := context.Background()
			_, err := e.cat.Create(ctx, def("Adults", ageOver(30)), CreateOptions{})
			require.NoError(t, err)
			_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "d", To: "mem:d", Mode: export.Delta, BatchSize: 3, Changes: true, Fields: export.Fields{Names: []string{"Country", "Measures.Spend"}}})
			require.NoError(t, err)
			_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "f", To: "mem:f", BatchSize: 4})
			require.NoError(t, err)
			r := rand.New(rand.NewPCG(1, 2))
			for round := range 8 {
				// Other customers each round: some leave, some come,
				// ages change.
				var cs []cust
				for i := range 40 {
					if r.IntN(4) == 0 {
						continue
					}
					cs = append(cs, cust{id: fmt.Sprintf("C%03d", i), age: 20 + r.IntN(30), country: []string{"US", "DE"}[r.IntN(2)]})
				}
				writeData(t, e.dir, cs, someOrders(r.IntN(20)))
				if round == 4 {
					require.NoError(t, e.cat.Close())
					e.open(t, Options{OpenDestination: mt.open})
				}
				var job *Job
				if round == 0 {
					job, err = e.cat.Activate(ctx, "Adults")
				} else {
					job, err = e.cat.Refresh(ctx, "Adults")
				}
				require.NoError(t, err)
				require.Equal(t, Successful, job.Status)
				require.Len(t, job.Exports, 2)
				for _, id := range job.Exports {
					ej, err := e.cat.ExportJob(id)
					require.NoError(t, err)
					require.Equal(t, Successful, ej.Status, "%v", ej.Errors)
					require.Equal(t, TriggerRefresh, ej.Trigger)
					require.Equal(t, job.ID, ej.RefreshJob)
				}
				want := memberKeys(t, e, "Adults")
				require.Equal(t, want, nonNil(mt.applied(t, "d")), "round %d delta", round)
				// The full destination's last export is every member.
				mt.mu.Lock()
				var last []string
				if ack {
					// Acknowledged batches: the last export's batches.
					for _, rows := range mt.exports["f"][len(mt.exports["f"])-batchesOf(len(want), 4):] {
						for _, row := range rows {
							last = append(last, row["CustomerId"])
						}
					}
				} else {
					for _, row := range mt.exports["f"][len(mt.exports["f"])-1] {
						last = append(last, row["CustomerId"])
					}
				}
				mt.mu.Unlock()
				slices.Sort(last)
				require.Equal(t, want, nonNil(last), "round %d full", round)
			}
			ds, err := e.cat.Destinations("Adults")
			require.NoError(t, err)
			for _, d := range ds {
				require.Equal(t, Successful, d.LastStatus)
				require.EqualValues(t, len(memberKeys(t, e, "Adults")), d.Sent)
			}
			jobs, err := e.cat.Exports("Adults", 0)
			require.NoError(t, err)
			require.Len(t, jobs, 16)
			require.Greater(t, jobs[0].ID, jobs[1].ID, "newest first")
		})
	}
}

func batchesOf(n, size int) int { return (n + size - 1) / size }

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TestFailedExportRetriedByNext: an export that fails part way is
// completed by the next one, nothing lost and nothing repeated.
func TestFailedExportRetriedByNext(t *testing.T) {
	for _, ack := range []bool{false, true} {
		t.Run(fmt.Sprintf("ack=%v", ack), func(t *testing.T) {
			mt := newMemTargets(ack)
			e := newEnv(t, Options{OpenDestination: mt.open})
			ctx := context.Background()
			_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{Active: true})
			require.NoError(t, err)
			mt.failAt = 2
			ej, err := e.cat.ExportTo(ctx, "Adults", DestinationOptions{To: "mem:x", Mode: export.Delta, BatchSize: 2})
			require.NoError(t, err)
			require.Equal(t, Failed, ej.Status)
			require.Contains(t, ej.Errors[0], "injected failure")
			ds, err := e.cat.Destinations("Adults")
			require.NoError(t, err)
			require.Len(t, ds, 1)
			require.True(t, ds[0].OnDemand)
			require.Equal(t, Failed, ds[0].LastStatus)
			if ack {
				require.EqualValues(t, 2, ds[0].Sent, "the acknowledged batch is recorded")
			} else {
				require.Zero(t, ds[0].Sent)
			}
			ej, err = e.cat.ExportTo(ctx, "Adults", DestinationOptions{To: "mem:x", Mode: export.Delta, BatchSize: 2})
			require.NoError(t, err)
			require.Equal(t, Successful, ej.Status, "%v", ej.Errors)
			require.Equal(t, memberKeys(t, e, "Adults"), mt.applied(t, "x"))
			if ack {
				require.True(t, ej.Resent, "the batch in flight when the export failed goes again first")
			}
		})
	}
}

func TestExportNeedsSourceAndNames(t *testing.T) {
	mt := newMemTargets(false)
	e := newEnv(t, Options{OpenDestination: mt.open})
	ctx := context.Background()
	_, err := e.cat.Export(ctx, "Nope", "x")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{})
	require.NoError(t, err)
	_, err = e.cat.Export(ctx, "Adults", "x")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "has no destinations")
	_, err = e.cat.ExportJob(99)
	require.ErrorIs(t, err, ErrNotFound)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.cat.ExportTo(cctx, "Adults", DestinationOptions{To: "mem:y"})
	require.True(t, errors.Is(err, ErrCancelled) || errors.Is(err, context.Canceled), "%v", err)
}

// TestFullExportResumes: a full export to a destination that acknowledges
// batches, cut short, is completed by the next full export, which sends
// only the members not yet acknowledged; the one after sends every member
// again.
func TestFullExportResumes(t *testing.T) {
	mt := newMemTargets(true)
	e := newEnv(t, Options{OpenDestination: mt.open})
	ctx := context.Background()
	_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "x", To: "mem:x", BatchSize: 3, OnDemand: true})
	require.NoError(t, err)
	members := memberKeys(t, e, "Adults") // 8 of them
	mt.failAt = 2
	ej, err := e.cat.Export(ctx, "Adults", "x")
	require.NoError(t, err)
	require.Equal(t, Failed, ej.Status)
	ej, err = e.cat.Export(ctx, "Adults", "x")
	require.NoError(t, err)
	require.Equal(t, Successful, ej.Status, "%v", ej.Errors)
	require.True(t, ej.Resent, "the batch in flight goes again")
	var got []string
	for _, rows := range mt.exports["x"] {
		for _, r := range rows {
			got = append(got, r["CustomerId"])
		}
	}
	slices.Sort(got)
	require.Equal(t, members, got, "every member exactly once over the two exports")
	require.EqualValues(t, len(members)-3, ej.Stats.Rows, "the second sent what the first did not")

	n := len(mt.exports["x"])
	ej, err = e.cat.Export(ctx, "Adults", "x")
	require.NoError(t, err)
	require.Equal(t, Successful, ej.Status)
	require.EqualValues(t, len(members), ej.Stats.Rows, "a new full export sends every member")
	require.Equal(t, batchesOf(len(members), 3), len(mt.exports["x"])-n)
}

// TestExhaustedWebhookFailsTheJob: a webhook that keeps answering 503
// fails the export job after the bounded tries, with the server's status
// and body in the job's error; the destination records the failure and
// nothing as sent.
func TestExhaustedWebhookFailsTheJob(t *testing.T) {
	var tries atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tries.Add(1)
		http.Error(w, "audience service down for maintenance", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	open := func(target string) (export.Destination, error) {
		url, ok := strings.CutPrefix(target, "webhook:")
		if !ok {
			return export.ParseDestination(target)
		}
		return export.NewWebhook(url, export.WebhookOptions{MaxTries: 3, Sleep: func(ctx context.Context, _ time.Duration) error { return ctx.Err() }})
	}
	e := newEnv(t, Options{OpenDestination: open})
	ctx := context.Background()
	_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{})
	require.NoError(t, err)
	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "hook", To: "webhook:" + srv.URL})
	require.NoError(t, err)
	job, err := e.cat.Activate(ctx, "Adults")
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status, "a failed export does not fail the refresh")
	require.Len(t, job.Exports, 1)
	ej, err := e.cat.ExportJob(job.Exports[0])
	require.NoError(t, err)
	require.Equal(t, Failed, ej.Status)
	require.Contains(t, ej.Errors[0], "503 Service Unavailable")
	require.Contains(t, ej.Errors[0], "audience service down")
	require.EqualValues(t, 3, tries.Load())
	require.EqualValues(t, 3, ej.Stats.Tries)
	require.Zero(t, ej.Stats.Batches)
	ds, err := e.cat.Destinations("Adults")
	require.NoError(t, err)
	require.Equal(t, Failed, ds[0].LastStatus)
	require.Zero(t, ds[0].Sent)
	require.True(t, ds[0].Pending, "the batch waits to go again")
}

// blockingDest's writers wait in Write until release is closed or ctx
// ends; started gets a value at each Write.
type blockingDest struct {
	started chan struct{}
	release chan struct{}
}

func (d *blockingDest) String() string { return "block:" }
func (d *blockingDest) Open(context.Context, *export.Header) (export.Writer, error) {
	return &blockingWriter{d: d}, nil
}

type blockingWriter struct{ d *blockingDest }

func (w *blockingWriter) Write(ctx context.Context, _ *export.Batch) error {
	w.d.started <- struct{}{}
	select {
	case <-w.d.release:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (w *blockingWriter) Commit(context.Context) error { return nil }
func (w *blockingWriter) Abort() error                 { return nil }
func (w *blockingWriter) Stats() export.Stats          { return export.Stats{} }

// TestExportStatuses: exports run one at a time (a second one waits as
// queued), show running while they run, and end cancelled when their
// context ends or the catalog closes.
func TestExportStatuses(t *testing.T) {
	bd := &blockingDest{started: make(chan struct{}, 8), release: make(chan struct{})}
	e := newEnv(t, Options{OpenDestination: func(string) (export.Destination, error) { return bd, nil }})
	ctx := context.Background()
	_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{Active: true})
	require.NoError(t, err)
	for _, n := range []string{"a", "b"} {
		_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: n, To: "block:" + n, OnDemand: true})
		require.NoError(t, err)
	}
	cctx, cancel := context.WithCancel(ctx)
	type result struct {
		j   *ExportJob
		err error
	}
	first := make(chan result, 1)
	go func() { j, err := e.cat.Export(cctx, "Adults", "a"); first <- result{j, err} }()
	<-bd.started
	second := make(chan result, 1)
	go func() { j, err := e.cat.Export(ctx, "Adults", "b"); second <- result{j, err} }()
	require.Eventually(t, func() bool {
		jobs, err := e.cat.Exports("Adults", 0)
		return err == nil && len(jobs) == 2 && jobs[0].Status == Queued && jobs[1].Status == Refreshing
	}, 5*time.Second, time.Millisecond, "the second export waits, queued, while the first runs")

	cancel()
	r := <-first
	require.ErrorIs(t, r.err, ErrCancelled)
	require.ErrorIs(t, r.err, context.Canceled)
	require.Equal(t, Cancelled, r.j.Status)
	<-bd.started // the second runs now
	close(bd.release)
	r = <-second
	require.NoError(t, r.err)
	require.Equal(t, Successful, r.j.Status)

	// Close cancels a running export.
	bd.release = make(chan struct{})
	third := make(chan result, 1)
	go func() { j, err := e.cat.Export(ctx, "Adults", "a"); third <- result{j, err} }()
	<-bd.started
	require.NoError(t, e.cat.Close())
	r = <-third
	require.ErrorIs(t, r.err, ErrCancelled)
	require.ErrorIs(t, r.err, ErrClosed)
	require.Equal(t, Cancelled, r.j.Status)
}
