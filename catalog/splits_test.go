package catalog

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/export"
)

// docBucket is the bucket formula as docs/format.md writes it, computed
// here without the catalog's code: the first 8 bytes of
// SHA-256(salt + "\x00" + key), big-endian, modulo 10000.
func docBucket(salt, key string) int {
	sum := sha256.Sum256([]byte(salt + "\x00" + key))
	return int(binary.BigEndian.Uint64(sum[:8]) % 10000)
}

// splitEnv is a catalog over n customers, with the active segment All
// holding every one of them, refreshed.
func splitEnv(t testing.TB, n int) *env {
	t.Helper()
	e := newEnv(t, Options{})
	writeData(t, e.dir, people(n), nil)
	_, err := e.cat.Create(context.Background(), def("All", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 0}`), CreateOptions{Active: true})
	require.NoError(t, err)
	return e
}

// groupsByKey returns, for each customer key, the name of its group in
// the segment's split.
func groupsByKey(t testing.TB, e *env, seg string) map[string]string {
	t.Helper()
	ctx := context.Background()
	sp, err := e.cat.Split(seg)
	require.NoError(t, err)
	d, err := e.cat.loadData(ctx)
	require.NoError(t, err)
	defer d.release()
	out := map[string]string{}
	for _, g := range sp.Groups {
		bm, err := e.cat.GroupMembers(ctx, seg, g.Name)
		require.NoError(t, err)
		it := bm.Iterator()
		for it.HasNext() {
			k := d.snap.CustomerKey(it.Next())
			if _, dup := out[k]; dup {
				t.Fatalf("customer %s is in two groups", k)
			}
			out[k] = g.Name
		}
	}
	return out
}

func groups(spec ...any) []SplitGroup {
	var out []SplitGroup
	for i := 0; i < len(spec); i += 2 {
		out = append(out, SplitGroup{Name: spec[i].(string), Percent: spec[i+1].(float64)})
	}
	return out
}

// TestSplitHashAsDocumented: docs/format.md gives the formula and worked
// examples; the test's own computation (docBucket) and the catalog's
// SplitBucket agree with both.
func TestSplitHashAsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "format.md"))
	require.NoError(t, err)
	require.Contains(t, string(doc), "bucket = uint64_big_endian(SHA-256(salt || 0x00 || key)[0:8]) mod 10000")
	for _, ex := range []struct {
		key, prefix string
		bucket      int
	}{{"C0001", "9ab7b14188d95e4e", 9614}, {"C0002", "c563e5c020c2a84c", 7852}, {"42", "a858f83c93343dbd", 1613}} {
		row := fmt.Sprintf("| `%s` | `%s` | %d |", ex.key, ex.prefix, ex.bucket)
		if ex.key == "42" {
			row = fmt.Sprintf("| `%s` (an integer key) | `%s` | %d |", ex.key, ex.prefix, ex.bucket)
		}
		require.Contains(t, string(doc), "| `spring-2026` "+row)
		sum := sha256.Sum256([]byte("spring-2026\x00" + ex.key))
		require.Equal(t, ex.prefix, fmt.Sprintf("%x", sum[:8]))
		require.Equal(t, ex.bucket, docBucket("spring-2026", ex.key))
		require.Equal(t, ex.bucket, SplitBucket("spring-2026", ex.key))
	}
}

func TestSplitReproducedFromDocumentedFormula(t *testing.T) {
	e := splitEnv(t, 3000)
	ctx := context.Background()
	gs := groups("Test", 45.0, "Control", 45.0, "Holdout", 10.0)
	gs[2].Holdout = true
	_, err := e.cat.SetSplit(ctx, "All", SplitOptions{Salt: "spring-2026", Groups: gs})
	require.NoError(t, err)
	got := groupsByKey(t, e, "All")
	require.Len(t, got, 3000)
	// The documentation: groups given in order own contiguous ranges of
	// buckets, Test 0-4499, Control 4500-8999, Holdout 9000-9999.
	for _, c := range people(3000) {
		b := docBucket("spring-2026", c.id)
		want := "Test"
		switch {
		case b >= 9000:
			want = "Holdout"
		case b >= 4500:
			want = "Control"
		}
		require.Equal(t, want, got[c.id], "customer %s, bucket %d", c.id, b)
	}
	// The default salt is the segment's name.
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Salt: "", Groups: groups("A", 50.0, "B", 50.0)})
	require.NoError(t, err)
	sp, err := e.cat.Split("All")
	require.NoError(t, err)
	require.Equal(t, "spring-2026", sp.Salt, "an empty salt keeps the split's")
	require.NoError(t, e.cat.RemoveSplit("All"))
	sp, err = e.cat.SetSplit(ctx, "All", SplitOptions{Groups: groups("A", 50.0, "B", 50.0)})
	require.NoError(t, err)
	require.Equal(t, "All", sp.Salt)
	for k, g := range groupsByKey(t, e, "All") {
		require.Equal(t, map[bool]string{true: "A", false: "B"}[docBucket("All", k) < 5000], g, k)
	}
}

func TestSplitGroupSizesWithinOnePercentAt100k(t *testing.T) {
	if testing.Short() {
		t.Skip("100,000 customers")
	}
	const n = 100000
	e := splitEnv(t, n)
	ctx := context.Background()
	gs := groups("Test", 45.0, "Control", 45.0, "Small", 2.5, "Holdout", 7.5)
	gs[3].Holdout = true
	_, err := e.cat.SetSplit(ctx, "All", SplitOptions{Salt: "s1", Groups: gs})
	require.NoError(t, err)
	counts, err := e.cat.GroupCounts(ctx, "All")
	require.NoError(t, err)
	require.EqualValues(t, n, counts.Members)
	var total uint64
	for _, g := range counts.Groups {
		share := 100 * float64(g.Members) / n
		require.InDelta(t, g.Percent, share, 1, "group %s has %.2f%% of the members, not %.2f%%", g.Name, share, g.Percent)
		total += g.Members
	}
	require.EqualValues(t, n, total, "every member is in one group")
}

func TestSplitStableAcrossRefreshesAndReloads(t *testing.T) {
	e := splitEnv(t, 2000)
	ctx := context.Background()
	_, err := e.cat.SetSplit(ctx, "All", SplitOptions{Salt: "x", Groups: groups("Test", 30.0, "Control", 70.0)})
	require.NoError(t, err)
	before := groupsByKey(t, e, "All")

	_, err = e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, before, groupsByKey(t, e, "All"), "a refresh moves no one")

	// Reload other data: customers in another order, some gone, some new,
	// so every customer id changes.
	cs := people(2500)[300:]
	slices.Reverse(cs)
	writeData(t, e.dir, cs, nil)
	e.clock.Advance(3e9)
	_, err = e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	after := groupsByKey(t, e, "All")
	require.Len(t, after, 2200)
	for k, g := range after {
		if old, ok := before[k]; ok {
			require.Equal(t, old, g, "customer %s changed group across a reload", k)
		}
	}
	// And across closing and opening the catalog.
	require.NoError(t, e.cat.Close())
	e.open(t, Options{})
	require.Equal(t, after, groupsByKey(t, e, "All"))
}

func TestSplitPercentChangeMovesOnlyWhatItMust(t *testing.T) {
	e := splitEnv(t, 5000)
	ctx := context.Background()
	_, err := e.cat.SetSplit(ctx, "All", SplitOptions{Salt: "m", Groups: groups("A", 50.0, "B", 50.0)})
	require.NoError(t, err)
	before := groupsByKey(t, e, "All")
	sp, err := e.cat.SetSplit(ctx, "All", SplitOptions{Groups: groups("A", 40.0, "B", 60.0)})
	require.NoError(t, err)
	require.Equal(t, []BucketRange{{0, 4000}}, sp.Group("A").Buckets)
	require.Equal(t, []BucketRange{{4000, 10000}}, sp.Group("B").Buckets)
	after := groupsByKey(t, e, "All")
	moved := 0
	for k, g := range after {
		if before[k] == g {
			continue
		}
		require.Equal(t, "A", before[k], "customer %s moved from B to A", k)
		require.Equal(t, "B", g)
		require.True(t, docBucket("m", k) >= 4000 && docBucket("m", k) < 5000, "customer %s is not in A's lost tenth", k)
		moved++
	}
	// A's lost tenth: about 10% of the customers, and exactly those of
	// buckets 4000 to 4999.
	want := 0
	for k := range after {
		if b := docBucket("m", k); b >= 4000 && b < 5000 {
			want++
		}
	}
	require.Equal(t, want, moved)
	require.InDelta(t, 500, moved, 100)

	// Not only adjacent changes: with A 30, B 40, C 30 -> A 40, B 40,
	// C 20, B keeps every customer and only C's lost tenth moves, to A.
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Salt: "n", Groups: groups("A", 30.0, "B", 40.0, "C", 30.0)})
	require.NoError(t, err)
	before = groupsByKey(t, e, "All")
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Groups: groups("A", 40.0, "B", 40.0, "C", 20.0)})
	require.NoError(t, err)
	moved = 0
	for k, g := range groupsByKey(t, e, "All") {
		if before[k] != g {
			require.Equal(t, "C", before[k], "customer %s left %s", k, before[k])
			require.Equal(t, "A", g)
			moved++
		}
	}
	require.InDelta(t, 500, moved, 100)

	// A new group takes what the others give up; a removed group's
	// customers go to the groups that grow.
	before = groupsByKey(t, e, "All")
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Groups: groups("A", 40.0, "B", 40.0, "D", 20.0)})
	require.NoError(t, err)
	for k, g := range groupsByKey(t, e, "All") {
		if before[k] != "C" {
			require.Equal(t, before[k], g, k)
		} else {
			require.Equal(t, "D", g, k)
		}
	}
}

func TestSplitProblems(t *testing.T) {
	e := splitEnv(t, 10)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		groups []SplitGroup
		want   []string
	}{
		{"sum", groups("A", 50.0, "B", 40.0), []string{"groups: the percentages add up to 90, not 100"}},
		{"duplicate", groups("A", 50.0, "A", 50.0), []string{"groups[1].name: group A is also groups[0]; group names must be unique"}},
		{"one group", groups("A", 100.0), []string{"groups: a split needs at least two groups, not 1"}},
		{"fine percent", groups("A", 50.005, "B", 49.995), []string{"groups[0].percent: percent 50.005 is not a multiple of 0.01",
			"groups[1].percent: percent 49.995 is not a multiple of 0.01"}},
		{"zero", groups("A", 0.0, "B", 100.0), []string{"groups[0].percent: percent 0 is not more than 0 and at most 100"}},
		{"below a bucket", groups("A", 50.0, "B", 50.0, "C", 1e-9), []string{"groups[2].percent: percent 1e-09 is less than 0.01, the smallest share of a group"}},
		{"bad name", groups("A B", 50.0, "B", 50.0), []string{"groups[0].name: group name: "}},
		{"two holdouts", []SplitGroup{{Name: "A", Percent: 50, Holdout: true}, {Name: "B", Percent: 50, Holdout: true}},
			[]string{"groups[1].holdout: a split has at most one holdout group"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.cat.SetSplit(ctx, "All", SplitOptions{Groups: tc.groups})
			require.ErrorIs(t, err, ErrSplit)
			var l diag.List
			require.ErrorAs(t, err, &l)
			require.Len(t, l, len(tc.want), "%v", err)
			for i, w := range tc.want {
				require.True(t, strings.HasPrefix(l[i].Error(), w), "%q does not start with %q", l[i].Error(), w)
			}
			_, err = e.cat.Split("All")
			require.ErrorIs(t, err, ErrNotFound, "nothing is stored")
		})
	}
	_, err := e.cat.SetSplit(ctx, "Nope", SplitOptions{Groups: groups("A", 50.0, "B", 50.0)})
	require.ErrorIs(t, err, ErrNotFound)
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Groups: groups("Test", 50.0, "Control", 50.0)})
	require.NoError(t, err)
	_, err = e.cat.GroupMembers(ctx, "All", "Testt")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, `group Testt of segment "All" not found (did you mean Test?)`)
}

func TestSplitExportsGroupsAndNeverTheHoldout(t *testing.T) {
	e := splitEnv(t, 400)
	ctx := context.Background()
	gs := groups("Test", 40.0, "Control", 40.0, "Holdout", 20.0)
	gs[2].Holdout = true
	_, err := e.cat.SetSplit(ctx, "All", SplitOptions{Salt: "e", Groups: gs})
	require.NoError(t, err)
	byKey := groupsByKey(t, e, "All")
	dir := t.TempDir()
	readKeys := func(name string) []string {
		f, err := os.Open(filepath.Join(dir, name))
		require.NoError(t, err)
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err)
		var out []string
		for _, r := range rows[1:] {
			out = append(out, r[0])
		}
		return out
	}
	keysOf := func(want func(g string) bool) []string {
		var out []string
		for _, c := range people(400) {
			if want(byKey[c.id]) {
				out = append(out, c.id)
			}
		}
		slices.Sort(out)
		return out
	}

	_, err = e.cat.AddDestination(ctx, "All", DestinationOptions{Name: "test", To: "csv:" + filepath.Join(dir, "test.csv"), Group: "Test"})
	require.NoError(t, err)
	_, err = e.cat.AddDestination(ctx, "All", DestinationOptions{Name: "all", To: "csv:" + filepath.Join(dir, "all.csv")})
	require.NoError(t, err)
	_, err = e.cat.AddDestination(ctx, "All", DestinationOptions{Name: "held", To: "csv:" + filepath.Join(dir, "held.csv"), Group: "Holdout"})
	require.ErrorIs(t, err, ErrHoldout)
	_, err = e.cat.AddDestination(ctx, "All", DestinationOptions{Name: "typo", To: "csv:" + filepath.Join(dir, "x.csv"), Group: "Testt"})
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "did you mean Test?")

	_, err = e.cat.RefreshAll(ctx) // exports to both destinations
	require.NoError(t, err)
	test := readKeys("test.csv")
	slices.Sort(test)
	require.Equal(t, keysOf(func(g string) bool { return g == "Test" }), test)
	all := readKeys("all.csv")
	slices.Sort(all)
	require.Equal(t, keysOf(func(g string) bool { return g != "Holdout" }), all, "the whole segment but its holdout")

	j, err := e.cat.ExportTo(ctx, "All", DestinationOptions{To: "csv:" + filepath.Join(dir, "ctl.csv"), Group: "Control"})
	require.NoError(t, err)
	require.Equal(t, Successful, j.Status, "%v", j.Errors)
	require.Equal(t, "Control", j.Group)
	ctl := readKeys("ctl.csv")
	slices.Sort(ctl)
	require.Equal(t, keysOf(func(g string) bool { return g == "Control" }), ctl)

	// An exported group cannot go, nor become the holdout.
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Groups: groups("Control", 50.0, "Other", 50.0)})
	require.ErrorIs(t, err, ErrReferenced)
	bad := groups("Test", 40.0, "Control", 60.0)
	bad[0].Holdout = true
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Groups: bad})
	require.ErrorIs(t, err, ErrHoldout)
	require.ErrorIs(t, e.cat.RemoveSplit("All"), ErrReferenced)
	ds, err := e.cat.Destinations("All")
	require.NoError(t, err)
	require.Equal(t, "Test", ds[slices.IndexFunc(ds, func(d *Destination) bool { return d.Name == "test" })].Group)

	// Deleting the segment deletes its split.
	require.NoError(t, e.cat.Delete("All"))
	_, err = e.cat.Create(ctx, def("All", ageOver(0)), CreateOptions{})
	require.NoError(t, err)
	_, err = e.cat.Split("All")
	require.ErrorIs(t, err, ErrNotFound)
}

func TestSplitFollowsRename(t *testing.T) {
	e := splitEnv(t, 50)
	ctx := context.Background()
	_, err := e.cat.SetSplit(ctx, "All", SplitOptions{Groups: groups("A", 50.0, "B", 50.0)})
	require.NoError(t, err)
	before := groupsByKey(t, e, "All")
	require.NoError(t, e.cat.Rename("All", "Everyone"))
	sp, err := e.cat.Split("Everyone")
	require.NoError(t, err)
	require.Equal(t, "All", sp.Salt, "the salt stays as it was")
	require.Equal(t, before, groupsByKey(t, e, "Everyone"))
}

// overlapEnv has segments Older (age over 25), Vips and Everyone, all
// refreshed, over 30 customers (ages 20 to 49; every third a VIP).
func overlapEnv(t testing.TB) *env {
	t.Helper()
	e := newEnv(t, Options{})
	writeData(t, e.dir, people(30), someOrders(30))
	ctx := context.Background()
	for _, d := range [][]byte{
		def("Older", ageOver(25)),
		def("Vips", `{"attribute": "Customer.IsVip", "operator": "isTrue"}`),
		def("Everyone", ageOver(0)),
	} {
		_, err := e.cat.Create(ctx, d, CreateOptions{Active: true})
		require.NoError(t, err)
	}
	return e
}

func TestPriorityListAssignsEachCustomerToTheFirstEntry(t *testing.T) {
	e := overlapEnv(t)
	ctx := context.Background()
	pl, err := e.cat.CreatePriorityList(ctx, PriorityList{Name: "Campaigns", Entries: []PriorityEntry{
		{Segment: "Vips"}, {Segment: "Older"}, {Segment: "Everyone"}}})
	require.NoError(t, err)
	require.Len(t, pl.Entries, 3)
	bms, err := e.cat.PriorityMembers(ctx, "Campaigns")
	require.NoError(t, err)
	require.Len(t, bms, 3)
	d, err := e.cat.loadData(ctx)
	require.NoError(t, err)
	defer d.release()
	entryOf := map[string]int{}
	for i, bm := range bms {
		it := bm.Iterator()
		for it.HasNext() {
			k := d.snap.CustomerKey(it.Next())
			if _, dup := entryOf[k]; dup {
				t.Fatalf("customer %s is in two entries", k)
			}
			entryOf[k] = i
		}
	}
	for i, c := range people(30) {
		want := 2
		switch {
		case c.vip:
			want = 0
		case c.age > 25:
			want = 1
		}
		require.Equal(t, want, entryOf[c.id], "customer %d", i)
	}
	counts, err := e.cat.PriorityCounts(ctx, "Campaigns")
	require.NoError(t, err)
	require.EqualValues(t, 30, counts.Customers)
	require.EqualValues(t, 10, counts.Entries[0].Members)

	var buf bytes.Buffer
	require.NoError(t, e.cat.ExportPriorityList(ctx, "Campaigns", &buf, []string{"Age"}))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"entry", "CustomerId", "Age"}, rows[0])
	require.Len(t, rows, 31, "each customer once")
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		require.False(t, seen[r[1]], "customer %s sent twice", r[1])
		seen[r[1]] = true
		require.Equal(t, pl.Entries[entryOf[r[1]]].String(), r[0])
	}

	// Lists survive reopening; a listed segment cannot be deleted, and a
	// renamed one stays listed.
	require.NoError(t, e.cat.Close())
	e.open(t, Options{})
	require.ErrorIs(t, e.cat.Delete("Older"), ErrReferenced)
	require.NoError(t, e.cat.Rename("Older", "Elders"))
	got, err := e.cat.GetPriorityList("Campaigns")
	require.NoError(t, err)
	require.Equal(t, "Elders", got.Entries[1].Segment)
	lists, err := e.cat.PriorityLists()
	require.NoError(t, err)
	require.Len(t, lists, 1)
	require.NoError(t, e.cat.DeletePriorityList("Campaigns"))
	require.ErrorIs(t, e.cat.DeletePriorityList("Campaigns"), ErrNotFound)
	require.NoError(t, e.cat.Delete("Elders"))
}

func TestPriorityListOfGroupsAndHoldout(t *testing.T) {
	e := overlapEnv(t)
	ctx := context.Background()
	gs := groups("Test", 50.0, "Holdout", 50.0)
	gs[1].Holdout = true
	_, err := e.cat.SetSplit(ctx, "Everyone", SplitOptions{Salt: "p", Groups: gs})
	require.NoError(t, err)
	// Everyone comes first: its holdout customers are assigned to it, so
	// Vips does not get them, and the export sends none of them.
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "L", Entries: []PriorityEntry{{Segment: "Everyone"}, {Segment: "Vips"}}})
	require.NoError(t, err)
	counts, err := e.cat.PriorityCounts(ctx, "L")
	require.NoError(t, err)
	require.EqualValues(t, 30, counts.Entries[0].Members)
	require.EqualValues(t, 0, counts.Entries[1].Members)
	held := 0
	for _, c := range people(30) {
		if docBucket("p", c.id) >= 5000 {
			held++
		}
	}
	require.EqualValues(t, held, counts.Entries[0].Held)
	var buf bytes.Buffer
	require.NoError(t, e.cat.ExportPriorityList(ctx, "L", &buf, []string{}))
	rows, err := csv.NewReader(&buf).ReadAll()
	require.NoError(t, err)
	require.Len(t, rows, 1+30-held)
	for _, r := range rows[1:] {
		require.Less(t, docBucket("p", r[1]), 5000, "held-out customer %s exported", r[1])
	}

	// A group entry.
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "G", Entries: []PriorityEntry{{Segment: "Everyone", Group: "Test"}, {Segment: "Vips"}}})
	require.NoError(t, err)
	counts, err = e.cat.PriorityCounts(ctx, "G")
	require.NoError(t, err)
	require.EqualValues(t, 30-held, counts.Entries[0].Members)
	_, err = e.cat.SetSplit(ctx, "Everyone", SplitOptions{Groups: groups("Other", 50.0, "Holdout", 50.0)})
	require.ErrorIs(t, err, ErrReferenced, "a listed group cannot go")
	// Nor become the holdout: the list would then export held-out
	// customers.
	swapped := groups("Test", 50.0, "Holdout", 50.0)
	swapped[0].Holdout = true
	_, err = e.cat.SetSplit(ctx, "Everyone", SplitOptions{Groups: swapped})
	require.ErrorIs(t, err, ErrHoldout, "a listed group cannot become the holdout")
	require.ErrorContains(t, err, `priority list "G"`)
	sp, err := e.cat.Split("Everyone")
	require.NoError(t, err)
	require.False(t, sp.Groups[0].Holdout, "nothing is stored")
}

// TestPriorityListEntriesOfOneSplit lists two groups of one split segment
// and then the whole segment, whose groups assign hashes once for all
// three: each entry gets its group's customers not taken before, the
// whole segment what is left, and only the holdout's customers among
// those are held back, as documented bucket by bucket (docBucket).
func TestPriorityListEntriesOfOneSplit(t *testing.T) {
	e := overlapEnv(t)
	ctx := context.Background()
	gs := groups("A", 30.0, "B", 30.0, "Holdout", 40.0)
	gs[2].Holdout = true
	_, err := e.cat.SetSplit(ctx, "Everyone", SplitOptions{Salt: "q", Groups: gs})
	require.NoError(t, err)
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "L", Entries: []PriorityEntry{
		{Segment: "Everyone", Group: "B"}, {Segment: "Vips"}, {Segment: "Everyone", Group: "A"}, {Segment: "Everyone"}}})
	require.NoError(t, err)
	vips, err := e.cat.Members(ctx, "Vips")
	require.NoError(t, err)
	got, err := e.cat.PriorityMembers(ctx, "L")
	require.NoError(t, err)
	counts, err := e.cat.PriorityCounts(ctx, "L")
	require.NoError(t, err)
	d, err := e.cat.loadData(ctx)
	require.NoError(t, err)
	defer d.release()
	want := make([][]uint32, 4)
	var held uint64
	for _, c := range people(30) {
		id, ok := d.snap.CustomerID(c.id)
		require.True(t, ok)
		switch b := docBucket("q", c.id); {
		case b >= 3000 && b < 6000:
			want[0] = append(want[0], id)
		case vips.Contains(id):
			want[1] = append(want[1], id)
		case b < 3000:
			want[2] = append(want[2], id)
		default:
			want[3] = append(want[3], id)
			held++
		}
	}
	for i := range want {
		slices.Sort(want[i])
		require.Equal(t, want[i], append([]uint32{}, got[i].ToArray()...), "entry %d", i)
	}
	require.Equal(t, held, counts.Entries[3].Held, "the holdout's customers left to the whole segment")
	require.Zero(t, counts.Entries[0].Held+counts.Entries[2].Held)
}

func TestPriorityListProblems(t *testing.T) {
	e := overlapEnv(t)
	ctx := context.Background()
	_, err := e.cat.SetSplit(ctx, "Vips", SplitOptions{Groups: []SplitGroup{{Name: "Test", Percent: 90}, {Name: "Held", Percent: 10, Holdout: true}}})
	require.NoError(t, err)
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "Bad", Entries: []PriorityEntry{
		{Segment: "Olderr"}, {Segment: "Vips"}, {Segment: "Vips"}, {Segment: "Vips", Group: "Testt"},
		{Segment: "Older", Group: "A"}, {Segment: "Vips", Group: "Held"}}})
	var l diag.List
	require.ErrorAs(t, err, &l)
	var msgs []string
	for _, p := range l {
		msgs = append(msgs, p.Error())
	}
	require.Equal(t, []string{
		`entries[0].segment: no segment is named Olderr (did you mean Older?)`,
		`entries[2]: Vips is also entries[1]; each entry may be given once`,
		`entries[3].group: segment Vips has no group Testt; its groups are Test, Held (did you mean Test?)`,
		`entries[4].group: segment Older is not split, so it has no group A`,
		`entries[5].group: group Held of segment Vips is its holdout, which nothing receives`,
	}, msgs)
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorIs(t, err, ErrPriorityList)
	require.ErrorIs(t, err, ErrHoldout)
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "Empty"})
	require.ErrorIs(t, err, ErrPriorityList)
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "bad name", Entries: []PriorityEntry{{Segment: "Vips"}}})
	require.ErrorIs(t, err, ErrPriorityList)
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "L", Entries: []PriorityEntry{{Segment: "Vips"}}})
	require.NoError(t, err)
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "L", Entries: []PriorityEntry{{Segment: "Older"}}})
	require.ErrorIs(t, err, ErrExists)
	_, err = e.cat.GetPriorityList("K")
	require.ErrorIs(t, err, ErrNotFound)
	require.ErrorContains(t, err, "did you mean L?")
	lists, err := e.cat.PriorityLists()
	require.NoError(t, err)
	require.Len(t, lists, 1, "nothing of Bad is stored")

	// A never-refreshed entry has unknown members: an error, not none.
	_, err = e.cat.Create(ctx, def("New", ageOver(40)), CreateOptions{})
	require.NoError(t, err)
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "N", Entries: []PriorityEntry{{Segment: "New"}, {Segment: "Vips"}}})
	require.NoError(t, err)
	_, err = e.cat.PriorityCounts(ctx, "N")
	require.ErrorIs(t, err, ErrNoMembers)
	require.Error(t, e.cat.ExportPriorityList(ctx, "N", &bytes.Buffer{}, nil))
}

func TestDefinitionsReferenceSplitGroups(t *testing.T) {
	e := splitEnv(t, 600)
	ctx := context.Background()
	gs := groups("Test", 30.0, "Control", 60.0, "Holdout", 10.0)
	gs[2].Holdout = true
	_, err := e.cat.SetSplit(ctx, "All", SplitOptions{Salt: "g", Groups: gs})
	require.NoError(t, err)
	testVips := []byte(`{"name": "TestVips", "groups": [{"condition": {"and": [{"segment": "All", "group": "Test"},
		{"attribute": "Customer.IsVip", "operator": "isTrue"}]}}]}`)
	_, err = e.cat.Create(ctx, testVips, CreateOptions{Active: true})
	require.NoError(t, err)
	want := func(lo, hi int) []string {
		var out []string
		for i, c := range people(600) {
			if b := docBucket("g", c.id); c.vip && b >= lo && b < hi {
				out = append(out, people(600)[i].id)
			}
		}
		return out
	}
	require.Equal(t, want(0, 3000), memberKeys(t, e, "TestVips"))
	// Two groups of one split in one definition (the split hashed once
	// for both): every customer but the holdout's.
	both := []byte(`{"name": "Both", "groups": [{"condition": {"or": [{"segment": "All", "group": "Control"}, {"segment": "All", "group": "Test"}]}}]}`)
	_, err = e.cat.Create(ctx, both, CreateOptions{Active: true})
	require.NoError(t, err)
	var notHeld []string
	for _, c := range people(600) {
		if docBucket("g", c.id) < 9000 {
			notHeld = append(notHeld, c.id)
		}
	}
	require.Equal(t, notHeld, memberKeys(t, e, "Both"))

	// Unknown groups, a group of a segment not split, the holdout: drafts
	// with their problems.
	_, err = e.cat.Create(ctx, def("A", `{"segment": "All", "group": "Tst"}`), CreateOptions{})
	require.NoError(t, err)
	s, err := e.cat.Get("A")
	require.NoError(t, err)
	require.Equal(t, Draft, s.State)
	require.Equal(t, "groups[0].condition.group: segment All has no group Tst; its groups are Test, Control, Holdout (did you mean Test?)", s.Problems.Error())
	_, err = e.cat.Create(ctx, def("B", `{"segment": "All", "group": "Holdout"}`), CreateOptions{})
	require.NoError(t, err)
	s, err = e.cat.Get("B")
	require.NoError(t, err)
	require.ErrorIs(t, s.Problems, ErrHoldout)
	_, err = e.cat.Create(ctx, def("C", `{"segment": "TestVips", "group": "Test"}`), CreateOptions{})
	require.NoError(t, err)
	s, err = e.cat.Get("C")
	require.NoError(t, err)
	require.ErrorContains(t, s.Problems, "segment TestVips is not split")

	// The referenced group cannot go; a change of percentages is seen by
	// the next refresh.
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Groups: groups("Control", 90.0, "Other", 10.0)})
	require.ErrorIs(t, err, ErrReferenced)
	require.ErrorIs(t, e.cat.RemoveSplit("All"), ErrReferenced)
	gs = groups("Test", 50.0, "Control", 40.0, "Holdout", 10.0)
	gs[2].Holdout = true
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Groups: gs})
	require.NoError(t, err)
	_, err = e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	// Test kept its buckets and took Control's highest 2000 (Control
	// kept its lowest 4000).
	require.Equal(t, sortedKeys(append(want(0, 3000), want(7000, 9000)...), want(0, 10000)), sortedKeys(memberKeys(t, e, "TestVips"), want(0, 10000)))
	// An edit's dry run resolves the group too.
	pv, err := e.cat.PreviewEdit(ctx, "TestVips", []byte(`{"name": "TestVips", "groups": [{"condition": {"and": [{"segment": "All", "group": "Control"},
		{"attribute": "Customer.IsVip", "operator": "isTrue"}]}}]}`), EditPreviewOptions{})
	require.NoError(t, err)
	require.EqualValues(t, len(want(3000, 7000)), pv.Members)
	require.NoError(t, e.cat.Rename("All", "Everyone"))
	got, err := e.cat.Get("TestVips")
	require.NoError(t, err)
	require.Contains(t, string(got.Definition), `{"segment": "Everyone", "group": "Test"}`)
}

// sortedKeys returns got in the order of want's keys, for comparing sets
// built in different orders.
func sortedKeys(got, want []string) []string {
	in := map[string]bool{}
	for _, k := range got {
		in[k] = true
	}
	var out []string
	for _, k := range want {
		if in[k] {
			out = append(out, k)
			delete(in, k)
		}
	}
	for k := range in {
		out = append(out, "extra:"+k)
	}
	return out
}

func TestSplitsAndListsVerifiedAndSalvaged(t *testing.T) {
	e := overlapEnv(t)
	ctx := context.Background()
	_, err := e.cat.SetSplit(ctx, "Everyone", SplitOptions{Salt: "v", Groups: groups("A", 50.0, "B", 50.0)})
	require.NoError(t, err)
	_, err = e.cat.CreatePriorityList(ctx, PriorityList{Name: "L", Entries: []PriorityEntry{{Segment: "Vips"}, {Segment: "Everyone", Group: "A"}}})
	require.NoError(t, err)
	require.NoError(t, e.cat.Verify())
	require.NoError(t, e.cat.Close())

	to := filepath.Join(t.TempDir(), "new.db")
	rep, err := Salvage(e.path, to)
	require.NoError(t, err)
	require.Empty(t, rep.Lost)
	require.Equal(t, 1, rep.Copied["splits"])
	require.Equal(t, 1, rep.Copied["priority lists"])
	c, err := Open(to, Options{Source: e.src, Clock: e.clock})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Verify())
	sp, err := c.Split("Everyone")
	require.NoError(t, err)
	require.Equal(t, "v", sp.Salt)
	pl, err := c.GetPriorityList("L")
	require.NoError(t, err)
	require.Equal(t, []PriorityEntry{{Segment: "Vips"}, {Segment: "Everyone", Group: "A"}}, pl.Entries)

	// A damaged split is reported by Verify, and by reads, as damage.
	require.NoError(t, c.Close())
	db, err := bolt.Open(to, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSplits)
		k, v := b.Cursor().First()
		v = append([]byte(nil), v...)
		v[len(v)-3] ^= 0x01
		return b.Put(k, v)
	}))
	require.NoError(t, db.Close())
	c, err = Open(to, Options{Source: e.src, Clock: e.clock})
	require.NoError(t, err)
	require.ErrorIs(t, c.Verify(), ErrCorrupt)
	_, err = c.Split("Everyone")
	require.ErrorIs(t, err, ErrCorrupt)
}

func TestPriorityListExportsToTargets(t *testing.T) {
	e := overlapEnv(t)
	ctx := context.Background()
	_, err := e.cat.CreatePriorityList(ctx, PriorityList{Name: "L", Entries: []PriorityEntry{{Segment: "Vips"}, {Segment: "Older"}}})
	require.NoError(t, err)
	counts, err := e.cat.PriorityCounts(ctx, "L")
	require.NoError(t, err)
	dir := t.TempDir()

	// JSON Lines: one object a customer, its entry first.
	st, err := e.cat.ExportPriorityListTo(ctx, "L", "jsonl:"+filepath.Join(dir, "l.jsonl"), []string{"Age"})
	require.NoError(t, err)
	require.EqualValues(t, counts.Customers, st.Rows)
	b, err := os.ReadFile(filepath.Join(dir, "l.jsonl"))
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, int(counts.Customers))
	seen := map[string]bool{}
	for _, line := range lines {
		var row struct {
			Entry      string `json:"entry"`
			CustomerID string `json:"CustomerId"`
			Age        int    `json:"Age"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &row), line)
		require.True(t, strings.HasPrefix(line, `{"entry":`), line)
		require.False(t, seen[row.CustomerID], "customer %s sent twice", row.CustomerID)
		seen[row.CustomerID] = true
		require.Contains(t, []string{"Vips", "Older"}, row.Entry)
	}

	// Arrow IPC: the entry column first, typed utf8.
	_, err = e.cat.ExportPriorityListTo(ctx, "L", "arrow:"+filepath.Join(dir, "l.arrow"), nil)
	require.NoError(t, err)
	f, err := os.Open(filepath.Join(dir, "l.arrow"))
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f)
	require.NoError(t, err)
	defer r.Close()
	require.Equal(t, "entry", r.Schema().Field(0).Name)
	require.Equal(t, "CustomerId", r.Schema().Field(1).Name)
	var rows int64
	for i := range r.NumRecords() {
		rec, err := r.RecordBatch(i)
		require.NoError(t, err)
		rows += rec.NumRows()
	}
	require.EqualValues(t, counts.Customers, rows)

	for _, to := range []string{"roaring:" + filepath.Join(dir, "l.roaring"), "postgres:host=x#t", "postgresql://u@x/db#t", "ROARING:" + filepath.Join(dir, "l.roaring")} {
		_, err = e.cat.ExportPriorityListTo(ctx, "L", to, nil)
		require.ErrorIs(t, err, export.ErrDestination, to)
	}
	_, err = e.cat.ExportPriorityListTo(ctx, "L", "nowhere:x", nil)
	require.ErrorIs(t, err, export.ErrDestination)
	_, err = e.cat.ExportPriorityListTo(ctx, "M", "csv:"+filepath.Join(dir, "m.csv"), nil)
	require.ErrorIs(t, err, ErrNotFound)
}

// TestSplitChangeInDeltaExports: after a change of percentages, a delta
// destination of the group that shrank sends exactly the customers that
// moved as left, and one of the group that grew sends them as entered.
func TestSplitChangeInDeltaExports(t *testing.T) {
	e := splitEnv(t, 1000)
	ctx := context.Background()
	_, err := e.cat.SetSplit(ctx, "All", SplitOptions{Salt: "d", Groups: groups("A", 50.0, "B", 50.0)})
	require.NoError(t, err)
	dir := t.TempDir()
	for _, g := range []string{"A", "B"} {
		_, err = e.cat.AddDestination(ctx, "All", DestinationOptions{Name: g, To: "csv:" + filepath.Join(dir, g+".csv"), Mode: export.Delta, Group: g, OnDemand: true})
		require.NoError(t, err)
		j, err := e.cat.Export(ctx, "All", g)
		require.NoError(t, err)
		require.Equal(t, Successful, j.Status, "%v", j.Errors)
	}
	_, err = e.cat.SetSplit(ctx, "All", SplitOptions{Groups: groups("A", 40.0, "B", 60.0)})
	require.NoError(t, err)
	var moved []string
	for _, c := range people(1000) {
		if b := docBucket("d", c.id); b >= 4000 && b < 5000 {
			moved = append(moved, c.id)
		}
	}
	slices.Sort(moved)
	rowsOf := func(g, change string) []string {
		j, err := e.cat.Export(ctx, "All", g)
		require.NoError(t, err)
		require.Equal(t, Successful, j.Status, "%v", j.Errors)
		f, err := os.Open(filepath.Join(dir, g+".csv"))
		require.NoError(t, err)
		defer f.Close()
		rows, err := csv.NewReader(f).ReadAll()
		require.NoError(t, err)
		var out []string
		for _, r := range rows[1:] {
			require.Equal(t, change, r[0], "group %s: %v", g, r)
			out = append(out, r[1])
		}
		slices.Sort(out)
		return out
	}
	require.Equal(t, moved, rowsOf("A", "left"))
	require.Equal(t, moved, rowsOf("B", "entered"))
}

func TestPriorityListExportsToAWebhook(t *testing.T) {
	e := overlapEnv(t)
	ctx := context.Background()
	_, err := e.cat.CreatePriorityList(ctx, PriorityList{Name: "L", Entries: []PriorityEntry{{Segment: "Vips"}, {Segment: "Everyone"}}})
	require.NoError(t, err)
	var mu sync.Mutex
	var rows []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body struct {
			Segment string           `json:"segment"`
			Rows    []map[string]any `json:"rows"`
		}
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Segment != "L" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		mu.Lock()
		rows = append(rows, body.Rows...)
		mu.Unlock()
	}))
	defer srv.Close()
	st, err := e.cat.ExportPriorityListTo(ctx, "L", "webhook:"+srv.URL, []string{"Age"})
	require.NoError(t, err)
	require.EqualValues(t, 30, st.Rows)
	require.Len(t, rows, 30, "each customer once")
	seen := map[string]bool{}
	for _, r := range rows {
		key := r["CustomerId"].(string)
		require.False(t, seen[key])
		seen[key] = true
		vip := slices.ContainsFunc(people(30), func(c cust) bool { return c.id == key && c.vip })
		require.Equal(t, map[bool]string{true: "Vips", false: "Everyone"}[vip], r["entry"], key)
	}
}

// TestBucketerIsSplitBucket: the reused-buffer hashing of splitMembers
// gives SplitBucket's bucket, key after key, keys of every length.
func TestBucketerIsSplitBucket(t *testing.T) {
	b := newBucketer("spring-2026")
	for i := range 2000 {
		key := strings.Repeat("k", i%97) + fmt.Sprint(i)
		require.Equal(t, SplitBucket("spring-2026", key), b.bucket(key), key)
	}
}
