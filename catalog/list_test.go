package catalog

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestListSortAndSearch builds a catalog of 60 segments that differ in
// every column, with ties, and checks every sort order, both directions,
// and the search box.
func TestListSortAndSearch(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	writeData(t, e.dir, people(40), nil)
	rng := rand.New(rand.NewPCG(1, 2))
	const n = 60
	order := rng.Perm(n) // creation order differs from name order
	words := []string{"Alpha", "beta", "Gamma", "delta", "alpha"}
	mk := func(i int, refs bool) []byte {
		name := fmt.Sprintf("Seg%02d", i)
		display := fmt.Sprintf("%s %d", words[i%len(words)], i%7)
		desc := fmt.Sprintf("segment number %d", i)
		if i%10 == 3 {
			desc = "Loyal customers from the NEEDLE campaign"
		}
		kind := "dynamic"
		if i%4 == 1 {
			kind = "static"
		}
		cond := ageOver(20 + (i*7)%30)
		if i%9 == 5 {
			cond = `{"attribute": "Customer.Nope", "operator": "isNull"}` // a draft
		}
		if refs && i%11 == 7 {
			cond = `{"segment": "Seg05"}` // Seg05 is a draft: refreshing fails
		}
		return []byte(fmt.Sprintf(`{"name": %q, "displayName": %q, "description": %q, "type": %q, "groups": [{"condition": %s}]}`,
			name, display, desc, kind, cond))
	}
	for k, i := range order {
		name := fmt.Sprintf("Seg%02d", i)
		_, err := e.cat.Create(ctx, mk(i, false), CreateOptions{Active: i%3 != 0})
		if err != nil {
			require.ErrorIs(t, err, ErrDraft, name)
		}
		if k%2 == 1 { // pairs created at the same time tie
			e.clock.Advance(time.Duration(1+k%3) * time.Minute)
		}
	}
	// Some edits (modified), refreshes at different times (last
	// refreshed, members, status).
	for i := 0; i < n; i += 6 {
		name := fmt.Sprintf("Seg%02d", i)
		s, err := e.cat.Get(name)
		require.NoError(t, err)
		_, err = e.cat.Edit(ctx, name, s.Definition)
		require.NoError(t, err)
		e.clock.Advance(time.Minute)
	}
	for _, i := range []int{7, 29, 40} {
		_, err := e.cat.Edit(ctx, fmt.Sprintf("Seg%02d", i), mk(i, true))
		require.NoError(t, err)
	}
	_, err := e.cat.RefreshAll(ctx)
	require.NoError(t, err)
	e.clock.Advance(time.Hour)
	_, err = e.cat.Refresh(ctx, "Seg01", "Seg02", "Seg04")
	require.NoError(t, err)

	all, err := e.cat.List(ListOptions{})
	require.NoError(t, err)
	require.Len(t, all, n)

	// Every column has several distinct values and ties, so a wrong order
	// or a missing tie-break shows.
	columns := map[SortBy]func(a, b *Segment) int{
		SortName: func(a, b *Segment) int { return strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)) },
		SortDisplayName: func(a, b *Segment) int {
			return strings.Compare(strings.ToLower(a.DisplayName), strings.ToLower(b.DisplayName))
		},
		SortType:          func(a, b *Segment) int { return strings.Compare(a.Membership.String(), b.Membership.String()) },
		SortState:         func(a, b *Segment) int { return strings.Compare(a.State.String(), b.State.String()) },
		SortStatus:        func(a, b *Segment) int { return strings.Compare(a.Status.String(), b.Status.String()) },
		SortMemberCount:   func(a, b *Segment) int { return int(a.MemberCount) - int(b.MemberCount) },
		SortLastRefreshed: func(a, b *Segment) int { return a.LastRefreshed.Compare(b.LastRefreshed) },
		SortCreated:       func(a, b *Segment) int { return a.Created.Compare(b.Created) },
		SortModified:      func(a, b *Segment) int { return a.Modified.Compare(b.Modified) },
	}
	require.Len(t, columns, len(SortColumns()))
	for col, cmp := range columns {
		distinct := 0
		for i := 1; i < len(all); i++ {
			if cmp(all[i-1], all[i]) != 0 {
				distinct++
			}
		}
		require.Greater(t, distinct, 1, "column %s needs variety", col)
	}
	statuses := map[Status]bool{}
	for _, s := range all {
		statuses[s.Status] = true
	}
	require.True(t, statuses[Successful] && statuses[Skipped] && statuses[Failed], "statuses: %v", statuses)

	for _, col := range SortColumns() {
		for _, desc := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/desc=%t", col, desc), func(t *testing.T) {
				got, err := e.cat.List(ListOptions{Sort: col, Desc: desc})
				require.NoError(t, err)
				require.Len(t, got, n)
				cmp := columns[col]
				ties := 0
				for i := 1; i < len(got); i++ {
					a, b := got[i-1], got[i]
					d := cmp(a, b)
					if desc {
						d = -d
					}
					require.LessOrEqual(t, d, 0, "%s before %s", a.Name, b.Name)
					if d == 0 {
						ties++
						require.Less(t, a.Name, b.Name, "ties are ordered by name")
					}
				}
				if col != SortName {
					require.Positive(t, ties, "the test wants ties in %s", col)
				}
			})
		}
	}

	// Search: case-insensitive on name, display name and description.
	for _, q := range []string{"needle", "ALPHA", "seg1", "gamma 3", "nothing matches this", ""} {
		got, err := e.cat.List(ListOptions{Search: q, Sort: SortCreated})
		require.NoError(t, err)
		var want []string
		for _, s := range all {
			lq := strings.ToLower(q)
			if strings.Contains(strings.ToLower(s.Name), lq) || strings.Contains(strings.ToLower(s.DisplayName), lq) ||
				strings.Contains(strings.ToLower(s.Description), lq) {
				want = append(want, s.Name)
			}
		}
		var names []string
		for _, s := range got {
			names = append(names, s.Name)
		}
		slices.Sort(names)
		require.Equal(t, want, names, "search %q", q)
		if q == "needle" {
			require.Len(t, names, 6)
		}
	}
}
