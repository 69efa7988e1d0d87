package catalog

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

func defaultStorage() storage.Options { return storage.Options{} }

// TestLifecycle walks the product page's story: create a valid and an
// invalid segment, the invalid one is a draft that cannot be activated,
// an edit fixes it, activate, refresh, refresh all with an inactive
// segment skipped, rename, schedule a deactivation and advance the clock
// past it, delete.
func TestLifecycle(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	cat := e.cat

	// Create: a valid definition is saved inactive.
	older, err := cat.Create(ctx, def("Older", ageOver(24)), CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, Inactive, older.State)
	require.Empty(t, older.Problems)
	require.Equal(t, NotStarted, older.Status)
	require.Equal(t, t0, older.Created)

	// An invalid one is saved as a draft with its problems.
	bad := def("Vips", `{"attribute": "Customer.IsVipp", "operator": "isTrue"}`)
	vips, err := cat.Create(ctx, bad, CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, Draft, vips.State)
	require.Len(t, vips.Problems, 1)
	require.ErrorIs(t, vips.Problems, segment.ErrUnknownAttribute)
	require.Equal(t, "IsVip", vips.Problems[0].Suggestion)
	require.Equal(t, bad, vips.Definition, "a draft keeps its definition as written")

	// A draft cannot be activated, nor scheduled for activation.
	_, err = cat.Activate(ctx, "Vips")
	require.ErrorIs(t, err, ErrDraft)
	require.ErrorIs(t, err, segment.ErrUnknownAttribute)
	require.ErrorIs(t, cat.ScheduleActivation("Vips", t0.Add(time.Hour)), ErrDraft)
	got, err := cat.Get("Vips")
	require.NoError(t, err)
	require.Equal(t, Draft, got.State)

	// Even malformed JSON is kept as a draft, under the given name.
	junk, err := cat.Create(ctx, []byte(`{"groups": [`), CreateOptions{Name: "Junk"})
	require.NoError(t, err)
	require.Equal(t, Draft, junk.State)
	require.ErrorIs(t, junk.Problems, segment.ErrSyntax)

	// An edit fixes the draft; it becomes a valid inactive segment.
	e.clock.Advance(time.Minute)
	vips, err = cat.Edit(ctx, "Vips", def("Vips", `{"attribute": "Customer.IsVip", "operator": "isTrue"}`))
	require.NoError(t, err)
	require.Equal(t, Inactive, vips.State)
	require.Empty(t, vips.Problems)
	require.Equal(t, t0.Add(time.Minute), vips.Modified)
	require.Equal(t, t0, vips.Created)

	// Activate: the segment becomes active and is refreshed at once.
	job, err := cat.Activate(ctx, "Vips")
	require.NoError(t, err)
	require.NotNil(t, job)
	require.Equal(t, Successful, job.Status)
	require.Equal(t, TriggerActivation, job.Trigger)
	vips, err = cat.Get("Vips")
	require.NoError(t, err)
	require.Equal(t, Active, vips.State)
	require.Equal(t, Successful, vips.Status)
	require.EqualValues(t, 4, vips.MemberCount) // C001, C004, C007, C010
	require.Equal(t, []string{"C001", "C004", "C007", "C010"}, memberKeys(t, e, "Vips"))

	// Refresh the active segment by name.
	job, err = cat.Refresh(ctx, "Vips")
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	require.Equal(t, Successful, taskOf(t, job, "Vips").Status)
	require.EqualValues(t, 4, taskOf(t, job, "Vips").MemberCount)

	// Refresh all: Older is inactive and skipped, Vips is refreshed, the
	// drafts are skipped. The inactive segment shows status skipped.
	job, err = cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	require.True(t, job.All)
	require.Len(t, job.Tasks, 3)
	require.Equal(t, Skipped, taskOf(t, job, "Older").Status)
	require.Equal(t, Skipped, taskOf(t, job, "Junk").Status)
	require.Equal(t, Successful, taskOf(t, job, "Vips").Status)
	require.NotNil(t, job.Data)
	require.Equal(t, 10, job.Data.Customers)
	require.Contains(t, job.Data.Source, e.dir)
	older, err = cat.Get("Older")
	require.NoError(t, err)
	require.Equal(t, Skipped, older.Status)
	require.Zero(t, older.MemberCount, "an inactive segment holds no customers")

	// Rename keeps members, history and state, and rewrites the name in
	// the definition.
	require.NoError(t, cat.Rename("Vips", "VipCustomers"))
	_, err = cat.Get("Vips")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = cat.Get("vipcustomer")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "did you mean VipCustomers?")
	vip, err := cat.Get("VipCustomers")
	require.NoError(t, err)
	require.Equal(t, Active, vip.State)
	require.EqualValues(t, 4, vip.MemberCount)
	parsed, err := segment.Parse(vip.Definition)
	require.NoError(t, err)
	require.Equal(t, "VipCustomers", parsed.Name)
	hist, err := cat.History("VipCustomers", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, hist, 3)

	// Schedule a deactivation and advance the fake clock past it.
	runCtx, stop := context.WithCancel(ctx)
	sched, err := NewScheduler(cat, ScheduleOptions{})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- sched.Run(runCtx) }()
	at := e.clock.Now().Add(2 * time.Hour)
	require.NoError(t, cat.ScheduleDeactivation("VipCustomers", at))
	vip, err = cat.Get("VipCustomers")
	require.NoError(t, err)
	require.Equal(t, at, vip.DeactivateAt)
	require.NoError(t, e.clock.BlockUntilContext(ctx, 1))
	e.clock.Advance(90 * time.Minute)
	require.Never(t, func() bool {
		s, err := cat.Get("VipCustomers")
		return err != nil || s.State != Active
	}, 100*time.Millisecond, 10*time.Millisecond, "deactivated before its time")
	require.NoError(t, e.clock.BlockUntilContext(ctx, 1))
	e.clock.Advance(time.Hour)
	require.Eventually(t, func() bool {
		s, err := cat.Get("VipCustomers")
		return err == nil && s.State == Inactive && s.DeactivateAt.IsZero()
	}, 5*time.Second, 5*time.Millisecond)
	stop()
	require.NoError(t, <-done)

	// Delete.
	require.NoError(t, cat.Delete("VipCustomers"))
	_, err = cat.Get("VipCustomers")
	require.ErrorIs(t, err, ErrNotFound)
	_, err = cat.History("VipCustomers", time.Time{}, time.Time{})
	require.ErrorIs(t, err, ErrNotFound)
	list, err := cat.List(ListOptions{})
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.NoError(t, cat.Verify())
}

func TestCreateErrors(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("A", ageOver(1)), CreateOptions{})
	require.NoError(t, err)

	_, err = e.cat.Create(ctx, def("A", ageOver(2)), CreateOptions{})
	require.ErrorIs(t, err, ErrExists)
	_, err = e.cat.Create(ctx, def("no spaces", ageOver(2)), CreateOptions{})
	require.ErrorIs(t, err, ErrInvalidName)
	_, err = e.cat.Create(ctx, []byte(`not json`), CreateOptions{})
	require.ErrorIs(t, err, ErrInvalidName, "no name to save a draft under")
	_, err = e.cat.Create(ctx, def("B", ageOver(2)), CreateOptions{Name: "C"})
	require.ErrorIs(t, err, ErrInvalidName)
	_, err = e.cat.Edit(ctx, "A", def("B", ageOver(2)))
	require.ErrorIs(t, err, ErrInvalidName, "an edit cannot rename")
	_, err = e.cat.Edit(ctx, "Nope", def("Nope", ageOver(2)))
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, e.cat.Rename("A", "bad name"), ErrInvalidName)
	require.ErrorIs(t, e.cat.Rename("Z", "Y"), ErrNotFound)
	_, err = e.cat.Refresh(ctx, "AA")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "did you mean A?")
	require.ErrorIs(t, e.cat.SetSchedule("A", "every day"), ErrSchedule)
	_, err = e.cat.List(ListOptions{Sort: "membres"})
	require.ErrorIs(t, err, ErrUnknownField)
	require.ErrorContains(t, err, "did you mean members?")

	// Active on create, with an invalid definition: saved as a draft.
	s, err := e.cat.Create(ctx, def("D", `{"attribute": "Customer.Nope", "operator": "isNull"}`), CreateOptions{Active: true})
	require.ErrorIs(t, err, ErrDraft)
	require.NotNil(t, s)
	require.Equal(t, Draft, s.State)

	// Active on create, valid: active and refreshed.
	s, err = e.cat.Create(ctx, def("E", ageOver(27)), CreateOptions{Active: true})
	require.NoError(t, err)
	require.Equal(t, Active, s.State)
	require.Equal(t, Successful, s.Status)
	require.EqualValues(t, 2, s.MemberCount)

	// An edit that breaks an active segment makes it an inactive draft.
	s, err = e.cat.Edit(ctx, "E", def("E", `{"attribute": "Customer.Agee", "operator": "isNull"}`))
	require.NoError(t, err)
	require.Equal(t, Draft, s.State)
	require.EqualValues(t, 2, s.MemberCount, "a draft keeps its last members")

	// Without a source, calls that need data say so.
	noSrc, err := Open(e.path+"2", Options{Clock: e.clock})
	require.NoError(t, err)
	defer noSrc.Close()
	_, err = noSrc.Create(ctx, def("A", ageOver(1)), CreateOptions{})
	require.ErrorIs(t, err, ErrNoSource)
	_, err = noSrc.RefreshAll(ctx)
	require.ErrorIs(t, err, ErrNoSource)
}

func TestStaticVsDynamicAfterDataChange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	writeData(t, e.dir, people(10), someOrders(10)) // ages 20..29
	_, err := e.cat.Create(ctx, def("Dyn", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = e.cat.Create(ctx, staticDef("Stat", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	require.Equal(t, keysFrom(7, 10), memberKeys(t, e, "Dyn"))
	require.Equal(t, keysFrom(7, 10), memberKeys(t, e, "Stat"))
	st, err := e.cat.Get("Stat")
	require.NoError(t, err)
	require.True(t, st.Frozen)

	// New data: customers in another order (so row ids change), two gone
	// (C001, C010), four new (C011..C014), everyone a year older except the
	// new ones, who are 40.
	e.clock.Advance(24 * time.Hour)
	var cs []cust
	for i := 9; i >= 2; i-- { // C009..C002, reversed
		cs = append(cs, cust{id: keysFrom(i, i)[0], age: 20 + (i - 1) + 1, country: "US"})
	}
	for i := 11; i <= 14; i++ {
		cs = append(cs, cust{id: keysFrom(i, i)[0], age: 40, country: "DE"})
	}
	writeData(t, e.dir, cs, nil)
	job, err := e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)

	// Dynamic: ages now 21..29 for C002..C009 → over 25: C006..C009, plus
	// the four new.
	require.ElementsMatch(t, append(keysFrom(6, 9), keysFrom(11, 14)...), memberKeys(t, e, "Dyn"))
	dyn := taskOf(t, job, "Dyn")
	require.EqualValues(t, 8, dyn.MemberCount)
	// Before: C007..C010 (4). Now: C006..C009, C011..C014 (8).
	// Entered: C006, C011..C014 = 5; left: C010 = 1; 4 + 5 - 1 = 8.
	require.EqualValues(t, 5, dyn.Entered)
	require.EqualValues(t, 1, dyn.Left)

	// Static: the frozen members do not change; C010 is no longer in the
	// data, so it is not among the current snapshot's members.
	stat := taskOf(t, job, "Stat")
	require.True(t, stat.Kept)
	require.EqualValues(t, 4, stat.MemberCount)
	require.Zero(t, stat.Entered)
	require.Zero(t, stat.Left)
	require.Equal(t, keysFrom(7, 9), sorted(memberKeys(t, e, "Stat")))
	st, err = e.cat.Get("Stat")
	require.NoError(t, err)
	require.EqualValues(t, 4, st.MemberCount)

	// History: entered - left is the change in members at every step.
	for _, name := range []string{"Dyn", "Stat"} {
		hist, err := e.cat.History(name, time.Time{}, time.Time{})
		require.NoError(t, err)
		require.Len(t, hist, 2)
		prev := uint64(0)
		for _, h := range hist {
			require.Equal(t, int64(h.MemberCount)-int64(prev), int64(h.Entered)-int64(h.Left), "%s at %v", name, h.Time)
			prev = h.MemberCount
		}
	}

	// The customers come back: the static segment's members are whole
	// again, because they are kept by key.
	writeData(t, e.dir, people(10), nil)
	_, err = e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, keysFrom(7, 10), memberKeys(t, e, "Stat"))

	// Editing what a static segment selects unfreezes it; the next
	// refresh freezes the new members.
	_, err = e.cat.Edit(ctx, "Stat", staticDef("Stat", ageOver(27)))
	require.NoError(t, err)
	_, err = e.cat.Refresh(ctx, "Stat")
	require.NoError(t, err)
	require.Equal(t, keysFrom(9, 10), memberKeys(t, e, "Stat"))
	// Editing only its description keeps it frozen.
	_, err = e.cat.Edit(ctx, "Stat", []byte(`{"name": "Stat", "type": "static", "description": "older",
		"groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": 27}}]}`))
	require.NoError(t, err)
	writeData(t, e.dir, people(12), nil)
	job, err = e.cat.Refresh(ctx, "Stat")
	require.NoError(t, err)
	require.True(t, taskOf(t, job, "Stat").Kept)
	require.Equal(t, keysFrom(9, 10), memberKeys(t, e, "Stat"))
	require.NoError(t, e.cat.Verify())
}

func sorted(s []string) []string {
	out := append([]string(nil), s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestReferences(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{Workers: 4})
	cat := e.cat
	ref := func(n string) string { return `{"segment": "` + n + `"}` }
	and := func(a, b string) string { return `{"and": [` + a + `, ` + b + `]}` }

	_, err := cat.Create(ctx, def("Base", ageOver(23)), CreateOptions{Active: true}) // C005..C010
	require.NoError(t, err)
	_, err = cat.Create(ctx, def("Mid", and(ref("Base"), `{"attribute": "Customer.IsVip", "operator": "isTrue"}`)), CreateOptions{Active: true}) // C007, C010
	require.NoError(t, err)
	top, err := cat.Create(ctx, def("Top", and(ref("Mid"), ageOver(28))), CreateOptions{Active: true}) // C010
	require.NoError(t, err)
	require.Equal(t, []string{"Mid"}, top.References)
	require.Equal(t, []string{"C010"}, memberKeys(t, e, "Top"))

	// A reference to an unknown segment, or a cycle, makes a draft.
	s, err := cat.Create(ctx, def("Dangling", ref("Nobody")), CreateOptions{})
	require.NoError(t, err)
	require.ErrorIs(t, s.Problems, segment.ErrUnknownSegment)
	s, err = cat.Edit(ctx, "Base", def("Base", and(ageOver(23), `{"not": `+ref("Top")+`}`)))
	require.NoError(t, err)
	require.Equal(t, Draft, s.State)
	require.ErrorIs(t, s.Problems, ErrCycle)
	require.Contains(t, s.Problems.Error(), "Base -> Top -> Mid -> Base")
	require.Equal(t, "groups[0].condition.and[1].not.segment", s.Problems[0].Path)
	s, err = cat.Edit(ctx, "Base", def("Base", ref("Base")))
	require.NoError(t, err)
	require.ErrorIs(t, s.Problems, ErrCycle)

	// Refreshing Top while Base is a draft: Base is skipped, Mid and Top
	// fail, naming what they reference.
	job, err := cat.Refresh(ctx, "Top")
	require.NoError(t, err)
	require.Equal(t, Failed, job.Status)
	require.Equal(t, Skipped, taskOf(t, job, "Base").Status)
	require.Equal(t, Failed, taskOf(t, job, "Mid").Status)
	require.Contains(t, taskOf(t, job, "Mid").Errors[0], `"Base"`)
	require.Equal(t, Failed, taskOf(t, job, "Top").Status)
	require.Equal(t, []string{"C010"}, memberKeys(t, e, "Top"), "a failed refresh keeps the previous members")

	// Fix Base, activate it: refreshing Top refreshes Base and Mid first,
	// in the same job.
	_, err = cat.Edit(ctx, "Base", def("Base", ageOver(20))) // C002..C010
	require.NoError(t, err)
	_, err = cat.Activate(ctx, "Base")
	require.NoError(t, err)
	job, err = cat.Refresh(ctx, "Top")
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	require.Equal(t, []string{"Top", "Mid", "Base"}, []string{job.Tasks[0].Segment, job.Tasks[1].Segment, job.Tasks[2].Segment})
	require.Equal(t, "requested", job.Tasks[0].Reason)
	require.Equal(t, "referenced by Top", job.Tasks[1].Reason)
	require.Equal(t, []string{"C004", "C007", "C010"}, memberKeys(t, e, "Mid"))

	// A static referenced segment contributes its frozen members.
	_, err = cat.Create(ctx, staticDef("Frozen", ageOver(27)), CreateOptions{Active: true}) // C009, C010
	require.NoError(t, err)
	_, err = cat.Create(ctx, def("UsesFrozen", ref("Frozen")), CreateOptions{Active: true})
	require.NoError(t, err)
	writeData(t, e.dir, people(3), nil)  // C009 and C010 are gone ...
	writeData(t, e.dir, people(12), nil) // ... and back, with new ages
	job, err = cat.Refresh(ctx, "UsesFrozen")
	require.NoError(t, err)
	require.True(t, taskOf(t, job, "Frozen").Kept)
	require.Equal(t, []string{"C009", "C010"}, memberKeys(t, e, "UsesFrozen"))

	// Delete refuses while others reference the segment.
	err = cat.Delete("Mid")
	require.ErrorIs(t, err, ErrReferenced)
	require.ErrorContains(t, err, "Top")

	// Rename rewrites the references, keeping the JSON as written.
	require.NoError(t, cat.Rename("Mid", "VipBase"))
	top, err = cat.Get("Top")
	require.NoError(t, err)
	require.Equal(t, []string{"VipBase"}, top.References)
	require.Equal(t, string(def("Top", and(ref("VipBase"), ageOver(28)))), string(top.Definition))
	require.Equal(t, Active, top.State)
	job, err = cat.Refresh(ctx, "Top")
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	// A draft's reference is rewritten too.
	_, err = cat.Create(ctx, []byte(`{"name": "Broken", "groups": [{"condition": {"segment": "Top"}}], "oops": 1}`), CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, cat.Rename("Top", "Top2"))
	b, err := cat.Get("Broken")
	require.NoError(t, err)
	require.Equal(t, `{"name": "Broken", "groups": [{"condition": {"segment": "Top2"}}], "oops": 1}`, string(b.Definition))
	require.ErrorIs(t, cat.Delete("Top2"), ErrReferenced)
	require.NoError(t, cat.Delete("Broken"))
	require.NoError(t, cat.Delete("Top2"))
	require.NoError(t, cat.Verify())
}

func TestNewerFormatRefused(t *testing.T) {
	e := newEnv(t, Options{})
	require.NoError(t, e.cat.Close())
	setVersion(t, e.path, formatVersion+1)
	_, err := Open(e.path, Options{})
	require.ErrorIs(t, err, ErrNewerFormat)
	require.ErrorContains(t, err, fmt.Sprintf("reads up to version %d", formatVersion))

	// A file that is not a catalog.
	other := t.TempDir() + "/x.db"
	writeFile(t, other, "hello, this is not a database at all, but it is long enough to look at")
	_, err = Open(other, Options{})
	require.Error(t, err)
	require.ErrorIs(t, err, ErrNotCatalog)
}

// TestOpenReadsOnly checks that opening a catalog that needs no repair
// writes nothing to it: reading verbs of the CLI open it every time.
func TestOpenReadsOnly(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("A", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	require.NoError(t, e.cat.Close())
	before, err := os.ReadFile(e.path)
	require.NoError(t, err)
	cat, err := Open(e.path, Options{})
	require.NoError(t, err)
	_, err = cat.List(ListOptions{})
	require.NoError(t, err)
	require.NoError(t, cat.Close())
	after, err := os.ReadFile(e.path)
	require.NoError(t, err)
	require.True(t, bytes.Equal(before, after), "opening and listing changed the file")
}

func TestReopenKeepsEverything(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("A", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = e.cat.Create(ctx, staticDef("S", ageOver(27)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = e.cat.Create(ctx, def("D", `{"attribute": "Customer.X", "operator": "isNull"}`), CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, e.cat.SetSchedule("A", "30 6 * * 1"))
	require.NoError(t, e.cat.ScheduleDeactivation("A", t0.Add(48*time.Hour)))
	_, err = e.cat.RefreshAll(ctx)
	require.NoError(t, err)

	before, err := e.cat.List(ListOptions{})
	require.NoError(t, err)
	jobsBefore, err := e.cat.Jobs(0)
	require.NoError(t, err)
	histBefore, err := e.cat.History("A", time.Time{}, time.Time{})
	require.NoError(t, err)
	membersBefore := memberKeys(t, e, "S")
	require.NoError(t, e.cat.Close())
	_, err = e.cat.Get("A")
	require.ErrorIs(t, err, ErrClosed)
	require.NoError(t, e.cat.Close(), "Close is idempotent")

	e.open(t, Options{})
	after, err := e.cat.List(ListOptions{})
	require.NoError(t, err)
	require.Equal(t, before, after)
	jobsAfter, err := e.cat.Jobs(0)
	require.NoError(t, err)
	require.Equal(t, jobsBefore, jobsAfter)
	histAfter, err := e.cat.History("A", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Equal(t, histBefore, histAfter)
	require.Equal(t, membersBefore, memberKeys(t, e, "S"))
	d, err := e.cat.Get("D")
	require.NoError(t, err)
	require.ErrorIs(t, d.Problems, segment.ErrUnknownAttribute, "problem kinds survive a reopen")
	require.NoError(t, e.cat.Verify())
}

func TestHistoryRange(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("A", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	for range 4 {
		e.clock.Advance(24 * time.Hour)
		_, err := e.cat.Refresh(ctx, "A")
		require.NoError(t, err)
	}
	all, err := e.cat.History("A", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, all, 5)
	for i, h := range all {
		require.Equal(t, t0.Add(time.Duration(i)*24*time.Hour), h.Time)
		require.EqualValues(t, 4, h.MemberCount)
	}
	mid, err := e.cat.History("A", t0.Add(24*time.Hour), t0.Add(72*time.Hour))
	require.NoError(t, err)
	require.Equal(t, all[1:4], mid)
	tail, err := e.cat.History("A", t0.Add(25*time.Hour), time.Time{})
	require.NoError(t, err)
	require.Equal(t, all[2:], tail)
}

func TestJobDetails(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{JobRetention: 3})
	// Two orders point at no customer: a null and a dangling key.
	orders := append(someOrders(3), order{id: "X1", customer: "", amount: 5, date: "2026-01-01", channel: "web"},
		order{id: "X2", customer: "C999", amount: 5, date: "2026-01-01", channel: "web"})
	writeData(t, e.dir, people(10), orders)
	_, err := e.cat.Create(ctx, def("Web", `{"attribute": "Order.Channel", "operator": "equals", "value": "web"}`), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = e.cat.Create(ctx, def("Old", ageOver(28)), CreateOptions{Active: true})
	require.NoError(t, err)
	job, err := e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	require.Equal(t, TriggerManual, job.Trigger)
	require.Len(t, job.Data.BrokenLinks, 1)
	require.Equal(t, 1, job.Data.BrokenLinks[0].Null)
	require.Equal(t, 1, job.Data.BrokenLinks[0].Dangling)
	require.Len(t, job.Warnings, 1)
	require.Contains(t, job.Warnings[0], "OrderCustomer")
	require.NotEmpty(t, taskOf(t, job, "Web").Warnings, "the task using Order warns about its broken links")
	require.Empty(t, taskOf(t, job, "Old").Warnings)
	require.Equal(t, job.AsOf, job.Started)
	require.False(t, job.Ended.Before(job.Started))

	stored, err := e.cat.Job(job.ID)
	require.NoError(t, err)
	require.Equal(t, job, stored)
	_, err = e.cat.Job(9999)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, e.cat.CancelJob(job.ID), ErrNotFound)

	for range 3 {
		_, err := e.cat.RefreshAll(ctx)
		require.NoError(t, err)
	}
	jobs, err := e.cat.Jobs(0)
	require.NoError(t, err)
	require.Len(t, jobs, 3, "job retention")
	require.Greater(t, jobs[0].ID, jobs[1].ID)
	jobs, err = e.cat.Jobs(1)
	require.NoError(t, err)
	require.Len(t, jobs, 1)

	// A definition that no longer fits the data fails its task.
	writeFile(t, e.dir+"/schema.json", testSchemaWithout("Channel"))
	writeData2(t, e.dir)
	job, err = e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Failed, job.Status)
	require.Equal(t, Failed, taskOf(t, job, "Web").Status)
	require.Contains(t, taskOf(t, job, "Web").Errors[0], "Channel")
	require.Equal(t, Successful, taskOf(t, job, "Old").Status)
	web, err := e.cat.Get("Web")
	require.NoError(t, err)
	require.Equal(t, Failed, web.Status)
	require.NotEmpty(t, web.LastError)
	require.EqualValues(t, 3, web.MemberCount, "a failed refresh keeps the previous members")
	// Nor can it be activated again once deactivated.
	require.NoError(t, e.cat.Deactivate("Web"))
	_, err = e.cat.Activate(ctx, "Web")
	require.ErrorIs(t, err, ErrInvalid)
}

func testSchemaWithout(attr string) string {
	out := strings.Replace(testSchema, `,
       {"name": "`+attr+`", "type": "string"}`, "", 1)
	if out == testSchema {
		panic("testSchemaWithout: no attribute " + attr)
	}
	return out
}

// writeData2 rewrites Order.csv without the Channel column.
func writeData2(t testing.TB, dir string) {
	writeFile(t, dir+"/Order.csv", "OrderId,CustomerId,Amount,OrderDate\nO1,C001,5,2026-01-01\n")
}
