package catalog

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jonboulle/clockwork"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
	"pgregory.net/rapid"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

// swapSource serves the snapshot a test last set.
type swapSource struct {
	mu   sync.Mutex
	snap *storage.Snapshot
}

func (s *swapSource) set(snap *storage.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap = snap
}

func (s *swapSource) Schema(ctx context.Context) (*schema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.Schema(), nil
}

func (s *swapSource) Snapshot(ctx context.Context) (*storage.Snapshot, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap, func() {}, nil
}

func (s *swapSource) String() string { return "test snapshots" }

// countChanges returns the number of change entries in the file and the
// number of stored key lists.
func countChanges(t testing.TB, cat *Catalog) (entries, keysets int) {
	t.Helper()
	require.NoError(t, cat.view(func(tx *bolt.Tx) error {
		root := tx.Bucket(bucketChanges)
		root.ForEachBucket(func(k []byte) error {
			entries += root.Bucket(k).Stats().KeyN
			return nil
		})
		keysets = tx.Bucket(bucketKeysets).Stats().KeyN
		return nil
	}))
	return entries, keysets
}

// usedKeysets returns how many distinct key lists member blobs and change
// entries refer to.
func usedKeysets(t testing.TB, cat *Catalog) int {
	t.Helper()
	used := map[[32]byte]bool{}
	require.NoError(t, cat.view(func(tx *bolt.Tx) error {
		tx.Bucket(bucketMembers).ForEach(func(_, v []byte) error {
			k, ok := blobKeys(v)
			require.True(t, ok)
			used[k] = true
			return nil
		})
		changeKeys(tx, used)
		return nil
	}))
	return len(used)
}

func TestChangesAndSegmentsOf(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("Older", ageOver(25)), CreateOptions{Active: true}) // C007..C010
	require.NoError(t, err)
	_, err = e.cat.Create(ctx, staticDef("Early", ageOver(27)), CreateOptions{Active: true}) // C009, C010, frozen
	require.NoError(t, err)
	first := e.clock.Now()

	// The data is reloaded: C010 is gone, the rest renumbered (reversed),
	// and C006 turns 26.
	e.clock.Advance(time.Hour)
	cs := people(9)
	cs[5].age = 26
	slices.Reverse(cs)
	writeData(t, e.dir, cs, nil)
	job, err := e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	second := e.clock.Now()

	ch, err := e.cat.Changes(ctx, "Older", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, ch, 2)
	require.Equal(t, keysFrom(7, 10), ch[0].Entered)
	require.Empty(t, ch[0].Left)
	require.NotNil(t, ch[0].Left)
	require.Equal(t, first, ch[0].Time)
	require.Equal(t, []string{"C006"}, ch[1].Entered)
	require.Equal(t, []string{"C010"}, ch[1].Left, "a customer gone from the data is named by the key list it was in")
	require.Equal(t, Change{Time: second, Job: job.ID, AsOf: second, EnteredCount: 1, LeftCount: 1, Entered: []string{"C006"}, Left: []string{"C010"}}, ch[1])
	hist, err := e.cat.History("Older", time.Time{}, time.Time{})
	require.NoError(t, err)
	for i, h := range hist {
		require.EqualValues(t, h.Entered, ch[i].EnteredCount)
		require.EqualValues(t, h.Left, ch[i].LeftCount)
	}

	// The static segment kept its members: an empty change.
	ch, err = e.cat.Changes(ctx, "Early", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, ch, 2)
	require.Equal(t, []string{"C009", "C010"}, ch[0].Entered)
	require.Equal(t, Change{Time: second, Job: job.ID, AsOf: second, Kept: true, Entered: []string{}, Left: []string{}}, ch[1])

	// The time bounds.
	ch, err = e.cat.Changes(ctx, "Older", first.Add(time.Minute), time.Time{})
	require.NoError(t, err)
	require.Len(t, ch, 1)
	require.Equal(t, second, ch[0].Time)
	ch, err = e.cat.Changes(ctx, "Older", time.Time{}, first)
	require.NoError(t, err)
	require.Len(t, ch, 1)
	require.Equal(t, first, ch[0].Time)

	// Which segments a customer is in.
	of := func(key string) []Membership {
		t.Helper()
		m, err := e.cat.SegmentsOf(ctx, key)
		require.NoError(t, err)
		return m
	}
	require.Equal(t, []Membership{{Segment: "Older", Status: MemberEntered, Since: second, SinceKnown: true}}, of("C006"))
	require.Equal(t, []Membership{{Segment: "Older", Status: MemberStillIn, Since: first, SinceKnown: true}}, of("C007"))
	require.Equal(t, []Membership{
		{Segment: "Early", Status: MemberStillIn, Since: first, SinceKnown: true},
		{Segment: "Older", Status: MemberStillIn, Since: first, SinceKnown: true},
	}, of("C009"))
	// C010 left the data: it left Older and stays frozen in Early.
	require.Equal(t, []Membership{
		{Segment: "Early", Status: MemberStillIn, Since: first, SinceKnown: true},
		{Segment: "Older", Status: MemberExited, Since: second, SinceKnown: true},
	}, of("C010"))
	require.Empty(t, of("C001"))
	require.Empty(t, of("nobody"), "an unknown key is in no segment, and no error")

	// Rename keeps the changes; errors; delete removes them.
	require.NoError(t, e.cat.Rename("Older", "Elder"))
	ch, err = e.cat.Changes(ctx, "Elder", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, ch, 2)
	require.Equal(t, "Elder", of("C006")[0].Segment)
	_, err = e.cat.Changes(ctx, "Eldr", time.Time{}, time.Time{})
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "did you mean Elder?")
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = e.cat.Changes(cctx, "Elder", time.Time{}, time.Time{})
	require.ErrorIs(t, err, context.Canceled)
	_, err = e.cat.SegmentsOf(cctx, "C006")
	require.ErrorIs(t, err, context.Canceled)
	require.NoError(t, e.cat.Verify())

	require.NoError(t, e.cat.Delete("Elder"))
	entries, keysets := countChanges(t, e.cat)
	require.Equal(t, 2, entries, "Early's remain")
	require.Equal(t, usedKeysets(t, e.cat), keysets)
	// Early's first change names the first key list; the second snapshot's
	// key list is no longer needed.
	require.Equal(t, 1, keysets)
	require.NoError(t, e.cat.Verify())
}

func TestChangesVerifyAndOldFiles(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("Older", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	writeData(t, e.dir, people(8), nil) // C009 and C010 leave; another key list
	_, err = e.cat.Refresh(ctx, "Older")
	require.NoError(t, err)
	_, keysets := countChanges(t, e.cat)
	require.Equal(t, 2, keysets, "the first key list names who left")

	// Verify finds a change entry's missing key list, and one that does
	// not decode.
	var old [32]byte
	require.NoError(t, e.cat.update(func(tx *bolt.Tx) error {
		b := changesOf(tx, 1)
		_, v := b.Cursor().Last()
		_, old, _ = changeHashes(v)
		return tx.Bucket(bucketKeysets).Delete(old[:])
	}))
	err = e.cat.Verify()
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "changes of Older: the customer key list "+shortHash(old)+" is missing")
	_, err = e.cat.Changes(ctx, "Older", time.Time{}, time.Time{})
	require.ErrorIs(t, err, ErrCorrupt)
	require.NoError(t, e.cat.update(func(tx *bolt.Tx) error {
		k, _ := changesOf(tx, 1).Cursor().First()
		return changesOf(tx, 1).Put(k, []byte{changeBlobVersion, 0, 1})
	}))
	err = e.cat.Verify()
	require.ErrorContains(t, err, "changes of Older: a change entry has an unknown encoding")

	// A file written before changes were recorded has no changes bucket:
	// Open creates it, and there are no changes until the next refresh.
	require.NoError(t, e.cat.Close())
	db, err := bolt.Open(e.path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketChanges) }))
	require.NoError(t, db.Close())
	e.open(t, Options{})
	ch, err := e.cat.Changes(ctx, "Older", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Empty(t, ch)
	m, err := e.cat.SegmentsOf(ctx, "C007")
	require.NoError(t, err)
	require.Equal(t, []Membership{{Segment: "Older", Status: MemberStillIn}}, m, "since unknown")
	require.NoError(t, e.cat.Verify())
	e.clock.Advance(time.Minute)
	_, err = e.cat.Refresh(ctx, "Older")
	require.NoError(t, err)
	m, err = e.cat.SegmentsOf(ctx, "C007")
	require.NoError(t, err)
	require.Equal(t, []Membership{{Segment: "Older", Status: MemberStillIn, Before: e.clock.Now()}}, m, "a member since before the oldest change")
}

// inUse returns the bytes the changes and keysets buckets use.
func inUse(t testing.TB, cat *Catalog) int {
	t.Helper()
	n := 0
	require.NoError(t, cat.view(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketChanges, bucketKeysets} {
			st := tx.Bucket(b).Stats()
			n += st.BranchInuse + st.LeafInuse
		}
		return nil
	}))
	return n
}

// refreshHourly refreshes every segment of e once an hour, n times, each
// time over renumbered customers of whom a different set is in, and
// returns the file size and the bytes changes and key lists use after
// each refresh.
func refreshHourly(t *testing.T, e *env, n int) (sizes []int64, used []int) {
	ctx := context.Background()
	for i := range n {
		e.clock.Advance(time.Hour)
		cs := people(2000)
		for j := range cs {
			cs[j].age = 20 + (j*7+i*13)%200
		}
		rot := i * 37 % len(cs)
		cs = append(cs[rot:], cs[:rot]...)
		writeData(t, e.dir, cs[:1500+i%500], nil)
		job, err := e.cat.RefreshAll(ctx)
		require.NoError(t, err)
		require.Equal(t, Successful, job.Status)
		st, err := os.Stat(e.path)
		require.NoError(t, err)
		sizes = append(sizes, st.Size())
		used = append(used, inUse(t, e.cat))
	}
	return sizes, used
}

func TestChangeRetention(t *testing.T) {
	ctx := context.Background()
	setup := func(retention time.Duration) *env {
		e := newEnv(t, Options{ChangeRetention: retention, JobRetention: 5})
		e.cat.db.NoSync = true // only sizes matter here
		_, err := e.cat.Create(ctx, def("Older", ageOver(100)), CreateOptions{Active: true})
		require.NoError(t, err)
		_, err = e.cat.Create(ctx, def("All", `{"attribute": "Customer.Age", "operator": "lessThan", "value": 1000}`), CreateOptions{Active: true})
		require.NoError(t, err)
		return e
	}
	e := setup(10 * time.Hour)
	sizes, used := refreshHourly(t, e, 60)
	entries, keysets := countChanges(t, e.cat)
	require.Equal(t, 2*11, entries, "10 hours of hourly refreshes of 2 segments")
	require.Equal(t, usedKeysets(t, e.cat), keysets, "unused key lists are collected")
	require.Equal(t, 12, keysets, "the key lists of the 11 refreshes kept, and the one before, which names who left at the oldest")
	ch, err := e.cat.Changes(ctx, "Older", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, ch, 11)
	require.Equal(t, e.clock.Now().Add(-10*time.Hour), ch[0].Time, "the oldest entry kept is 10 hours old")
	require.NoError(t, e.cat.Verify())
	// What changes and key lists take stays bounded, and so does the file:
	// bbolt reuses the pages retention frees. Without retention both grow.
	t.Logf("with retention: sizes %v, in use %v", sizes, used)
	require.Less(t, float64(used[59]), 1.25*float64(used[29]))
	require.LessOrEqual(t, sizes[59], sizes[29])
	ctl := setup(0) // 90 days
	ctlSizes, ctlUsed := refreshHourly(t, ctl, 60)
	t.Logf("without: sizes %v, in use %v", ctlSizes, ctlUsed)
	require.Greater(t, float64(ctlUsed[59]), 1.8*float64(ctlUsed[29]))
	require.GreaterOrEqual(t, ctlSizes[59], 2*sizes[59])

	// A refresh after a long pause drops every older entry, of every
	// segment.
	e.clock.Advance(100 * time.Hour)
	_, err = e.cat.Refresh(ctx, "Older")
	require.NoError(t, err)
	entries, keysets = countChanges(t, e.cat)
	require.Equal(t, 1, entries)
	require.Equal(t, usedKeysets(t, e.cat), keysets)
	ch, err = e.cat.Changes(ctx, "All", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Empty(t, ch)
	m, err := e.cat.SegmentsOf(ctx, memberKeys(t, e, "All")[0])
	require.NoError(t, err)
	require.Equal(t, Membership{Segment: "All", Status: MemberStillIn}, m[0], "its entries are gone: since unknown")

	// A negative retention records none, and drops the rest.
	require.NoError(t, e.cat.Close())
	e.open(t, Options{ChangeRetention: -1})
	_, err = e.cat.Refresh(ctx, "All")
	require.NoError(t, err)
	entries, _ = countChanges(t, e.cat)
	require.Zero(t, entries)
	require.NoError(t, e.cat.Verify())
}

// TestPropertyChanges refreshes segments over random changing data
// (customers renumbered, removed and back, attributes changed) and checks
// that Changes are the differences of consecutive member sets, by key and
// in id order, and that SegmentsOf agrees with the members and the
// changes. -rapid.checks (or RAPID_CHECKS) runs more histories; -short
// fewer.
func TestPropertyChanges(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) { checkChanges(t, rt) })
}

// segModel is a segment of the property test and what it should hold.
type segModel struct {
	name   string
	static bool
	in     func(c cust) bool
	// members are the keys of the members, in the id order of the
	// snapshot they were computed in.
	members []string
	changes []Change
	// since is when each member last entered.
	since map[string]time.Time
}

// refreshed applies a successful refresh over cs at now to the model.
func (m *segModel) refreshed(cs []cust, now time.Time, job uint64) {
	ch := Change{Time: now, Job: job, AsOf: now, Entered: []string{}, Left: []string{}}
	if m.static && len(m.changes) > 0 {
		ch.Kept = true
		m.changes = append(m.changes, ch)
		return
	}
	var cur []string
	for _, c := range cs {
		if m.in(c) {
			cur = append(cur, c.id)
		}
	}
	for _, k := range cur {
		if !slices.Contains(m.members, k) {
			ch.Entered = append(ch.Entered, k)
			m.since[k] = now
		}
	}
	for _, k := range m.members {
		if !slices.Contains(cur, k) {
			ch.Left = append(ch.Left, k)
		}
	}
	ch.EnteredCount, ch.LeftCount = len(ch.Entered), len(ch.Left)
	m.members = cur
	m.changes = append(m.changes, ch)
}

// membership is what SegmentsOf should say of the key, or nil.
func (m *segModel) membership(k string) *Membership {
	if len(m.changes) == 0 {
		return nil
	}
	last := m.changes[len(m.changes)-1]
	switch {
	case slices.Contains(m.members, k) && slices.Contains(last.Entered, k):
		return &Membership{Segment: m.name, Status: MemberEntered, Since: last.Time, SinceKnown: true}
	case slices.Contains(m.members, k):
		return &Membership{Segment: m.name, Status: MemberStillIn, Since: m.since[k], SinceKnown: true}
	case slices.Contains(last.Left, k):
		return &Membership{Segment: m.name, Status: MemberExited, Since: last.Time, SinceKnown: true}
	}
	return nil
}

func checkChanges(t *testing.T, rt *rapid.T) {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	tmp, err := os.MkdirTemp("", "changes")
	require.NoError(rt, err)
	defer os.RemoveAll(tmp)
	src := &swapSource{}
	var snaps []*storage.Snapshot
	defer func() {
		for _, s := range snaps {
			s.Release()
		}
	}()
	universe := rapid.IntRange(1, 16).Draw(rt, "universe")
	keyOf := func(i int) string { return fmt.Sprintf("C%03d", i) }
	// load writes and loads one version of the data: a random subset of
	// the universe in random order, with random attributes.
	load := func(step int) []cust {
		var cs []cust
		for i := range universe {
			if rapid.IntRange(0, 4).Draw(rt, "absent") > 0 {
				cs = append(cs, cust{id: keyOf(i), age: rapid.IntRange(20, 40).Draw(rt, "age"),
					country: rapid.SampledFrom([]string{"DE", "US"}).Draw(rt, "country"), vip: rapid.Bool().Draw(rt, "vip")})
			}
		}
		cs = rapid.Permutation(cs).Draw(rt, "order")
		dir := filepath.Join(tmp, strconv.Itoa(step))
		writeData(t, dir, cs, nil)
		snap, err := storage.Load(ctx, dir, storage.Options{Allocator: mem})
		require.NoError(rt, err)
		snaps = append(snaps, snap)
		src.set(snap)
		return cs
	}
	cs := load(0)
	clock := clockwork.NewFakeClockAt(t0)
	cat, err := Open(filepath.Join(tmp, "catalog.db"), Options{Source: src, Clock: clock})
	require.NoError(rt, err)
	defer cat.Close()
	cat.db.NoSync = true // durability is not what this test checks; fsyncs would make it slow

	older := rapid.IntRange(19, 41).Draw(rt, "older")
	frozen := rapid.IntRange(19, 41).Draw(rt, "frozen")
	models := map[string]*segModel{}
	for _, m := range []*segModel{
		{name: "Older", in: func(c cust) bool { return c.age > older }},
		{name: "German", in: func(c cust) bool { return c.country == "DE" }},
		{name: "OlderGermanVip", in: func(c cust) bool { return c.age > older && c.country == "DE" && c.vip }},
		{name: "Frozen", static: true, in: func(c cust) bool { return c.age > frozen }},
	} {
		m.since = map[string]time.Time{}
		models[m.name] = m
	}
	created := map[string]bool{}
	// apply applies a job's successful tasks to the models and checks
	// everything against them.
	apply := func(job *Job) {
		require.Equal(rt, Successful, job.Status, "%+v", job)
		for _, task := range job.Tasks {
			models[task.Segment].refreshed(cs, clock.Now(), job.ID)
		}
		for name, m := range models {
			if !created[name] {
				continue
			}
			got, err := cat.Changes(ctx, name, time.Time{}, time.Time{})
			require.NoError(rt, err)
			require.Equal(rt, m.changes, got, "changes of %s", name)
			bm, err := cat.Members(ctx, name)
			require.NoError(rt, err)
			var keys, want []string
			for it := bm.Iterator(); it.HasNext(); {
				keys = append(keys, src.snap.CustomerKey(it.Next()))
			}
			for _, c := range cs {
				if slices.Contains(m.members, c.id) {
					want = append(want, c.id)
				}
			}
			require.Equal(rt, want, keys, "members of %s", name)
		}
		for i := range universe + 1 {
			k := keyOf(i) // keyOf(universe) is in no data
			var want []Membership
			for _, name := range slices.Sorted(maps.Keys(created)) {
				if m := models[name].membership(k); m != nil {
					want = append(want, *m)
				}
			}
			got, err := cat.SegmentsOf(ctx, k)
			require.NoError(rt, err)
			require.Equal(rt, want, got, "segments of %s", k)
		}
		_, keysets := countChanges(t, cat)
		require.Equal(rt, usedKeysets(t, cat), keysets)
	}

	defs := []string{
		string(def("Older", ageOver(older))),
		string(def("German", `{"attribute": "Customer.Country", "operator": "equals", "value": "DE"}`)),
		string(staticDef("Frozen", ageOver(frozen))),
		string(def("OlderGermanVip", `{"and": [{"segment": "Older"}, {"segment": "German"}, {"attribute": "Customer.IsVip", "operator": "isTrue"}]}`)),
	}
	// OlderGermanVip references two others: it comes after them.
	defs = append(rapid.Permutation(defs[:3]).Draw(rt, "creation order"), defs[3])
	for _, d := range defs {
		seg, err := cat.Create(ctx, []byte(d), CreateOptions{})
		require.NoError(rt, err)
		created[seg.Name] = true
		clock.Advance(time.Minute)
		job, err := cat.Activate(ctx, seg.Name)
		require.NoError(rt, err)
		apply(job)
	}
	for step := range rapid.IntRange(1, 4).Draw(rt, "steps") {
		cs = load(step + 1)
		clock.Advance(time.Hour)
		job, err := cat.RefreshAll(ctx)
		require.NoError(rt, err)
		apply(job)
	}
	require.NoError(rt, cat.Verify())
}
