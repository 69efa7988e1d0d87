package server

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
)

// TestBrowserSplit splits a segment on its details page as a person
// would: a split with a holdout, its groups' members as the catalog counts
// them, a change of percentages that moves only the buckets it must, a
// split refused with its problems, and an export of one group.
func TestBrowserSplit(t *testing.T) {
	e := newBrowserEnv(t)
	cat := e.cat
	p := newPage(t, e.url)
	p.run(chromedp.Navigate(e.url + "/"))
	p.waitFor("the list", `document.body.dataset.ready === 'true' && document.querySelectorAll('#segments-body tr[data-name]').length > 0`)
	p.click(`#segments-body tr[data-name="VipCustomers"] td.name a`)
	p.waitFor("the details", `document.body.dataset.view === 'details' && document.getElementById('split-info').textContent === 'This segment is not split.'`)

	p.click("#split-edit summary")
	p.typeIn("#split-groups", "Test=45, Control=45")
	p.typeIn("#split-holdout", "Holdout=10")
	p.typeIn("#split-salt", "spring")
	p.click(`#split-form button[type="submit"]`)
	p.waitFor("the groups", `document.querySelectorAll('#split-table tbody tr[data-group]').length === 3`)
	counts, err := cat.GroupCounts(t.Context(), "VipCustomers")
	require.NoError(t, err)
	require.Equal(t, "spring", counts.Salt)
	for _, g := range counts.Groups {
		row := fmt.Sprintf(`#split-table tbody tr[data-group=%q]`, g.Name)
		require.Equal(t, thousands(g.Members), p.text(row+" td:nth-child(3)"), "members of %s", g.Name)
	}
	require.Equal(t, "0–4499", p.text(`#split-table tbody tr[data-group="Test"] td:nth-child(5)`))
	require.Contains(t, p.text(`#split-table tbody tr[data-group="Holdout"]`), "never exported")
	p.view("21-split", "#split-title")

	// 45/45 -> 55/35: Test takes Control's highest buckets, nothing else moves.
	p.typeIn("#split-groups", "Test=55, Control=35")
	p.click(`#split-form button[type="submit"]`)
	p.waitFor("the new percentages", `document.querySelector('#split-table tbody tr[data-group="Test"] td:nth-child(5)').textContent === '0–4499, 8000–8999'`)
	require.Equal(t, "4500–7999", p.text(`#split-table tbody tr[data-group="Control"] td:nth-child(5)`))
	require.Equal(t, "9000–9999", p.text(`#split-table tbody tr[data-group="Holdout"] td:nth-child(5)`))

	// Problems, each at its place; nothing changes.
	p.typeIn("#split-groups", "Test=50, Test=30")
	p.click(`#split-form button[type="submit"]`)
	p.waitFor("the problems", `!document.getElementById('error-box').hidden && document.getElementById('error-box').textContent.includes('group names must be unique')`)
	require.Contains(t, p.text("#error-box"), "groups[1].name")
	sp, err := cat.Split("VipCustomers")
	require.NoError(t, err)
	require.Equal(t, 55.0, sp.Group("Test").Percent)
	p.shot("22-split-problems")

	// The builder references a group: a misspelt one is a problem at its
	// row with the nearest name, and the estimate is the group's size.
	p.click(`a[href="#/"]`)
	p.waitFor("the list", `document.body.dataset.view === 'list'`)
	p.click("#new-segment")
	p.waitFor("the builder", `document.body.dataset.view === 'builder' && document.querySelector('#groups .cond.pred input.attr')`)
	p.typeIn("#b-name", "TestVips")
	cond := `#groups > .group > .block.top > .items > .cond`
	p.choose(cond+` select.entity`, "#segment")
	p.waitFor("the segment condition", fmt.Sprintf(`document.querySelector(%q)`, cond+`.segment input.segment-group`))
	p.typeIn(cond+`.segment input.segment-name`, "VipCustomers")
	p.typeIn(cond+`.segment input.segment-group`, "Tst")
	p.waitFor("the group's problem", fmt.Sprintf(`document.getElementById('view-builder').dataset.pending === 'false' && document.querySelector(%q).textContent.includes('has no group Tst') && document.querySelector(%q).textContent === 'Use Test'`,
		cond+` .row-problems`, cond+` .row-problems button.suggestion`))
	p.shot("24-builder-group-problem")
	p.click(cond + ` .row-problems button.suggestion`)
	groupTest, err := cat.GroupMembers(t.Context(), "VipCustomers", "Test")
	require.NoError(t, err)
	p.waitFor("the group's estimate", fmt.Sprintf(`document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('view-builder').dataset.valid === 'true' && document.getElementById('estimate').dataset.members === '%d'`, groupTest.GetCardinality()))
	p.click(`a[href="#/"]`)
	p.waitFor("the list", `document.body.dataset.view === 'list'`)
	p.click(`#segments-body tr[data-name="VipCustomers"] td.name a`)
	p.waitFor("the details again", `document.body.dataset.view === 'details' && document.querySelectorAll('#split-table tbody tr[data-group]').length === 3`)

	// A destination of one group is sent that group alone.
	out := filepath.Join(t.TempDir(), "test.csv")
	p.click("#dest-add summary")
	p.typeIn("#dest-name", "testfile")
	p.typeIn("#dest-to", "csv:"+out)
	p.typeIn("#dest-group", "Test")
	p.click(`#dest-form button[type="submit"]`)
	p.waitFor("the destination", `document.querySelector('#dest-table tbody tr[data-name="testfile"]')`)
	require.Contains(t, p.text(`#dest-table tbody tr[data-name="testfile"]`), "(group Test)")
	p.click(`#dest-table tbody tr[data-name="testfile"] button`)
	p.waitFor("the export", `/^Export to testfile: job \d+ successful/.test(document.getElementById('status-msg').textContent)`)
	test, err := cat.GroupMembers(t.Context(), "VipCustomers", "Test")
	require.NoError(t, err)
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, int(test.GetCardinality())+1)

	// The split cannot go while the destination sends a group.
	p.click("#split-edit summary")
	p.click("#split-remove")
	p.waitFor("the confirmation", `document.getElementById('confirm-dialog').open`)
	p.click("#confirm-ok")
	p.waitFor("the refusal", `!document.getElementById('error-box').hidden && document.getElementById('error-box').textContent.includes('testfile')`)
	p.mu.Lock()
	defer p.mu.Unlock()
	require.Empty(t, p.external, "requests outside the server")
}

// TestBrowserPriorityLists creates a priority list on the list view,
// shows each entry's customers as the catalog assigns them, refuses a
// list with a misspelt segment, downloads the list's CSV and deletes it.
func TestBrowserPriorityLists(t *testing.T) {
	e := newBrowserEnv(t)
	cat := e.cat
	p := newPage(t, e.url)
	p.run(chromedp.Navigate(e.url + "/"))
	p.waitFor("the list", `document.body.dataset.ready === 'true' && document.querySelector('#priority-table tbody').textContent.includes('No priority list yet.')`)

	p.click("#priority-add summary")
	p.typeIn("#priority-name", "Offers")
	p.typeIn("#priority-entries", "VipCustmers, RecentBuyers")
	p.click(`#priority-form button[type="submit"]`)
	p.waitFor("the problem", `!document.getElementById('error-box').hidden && document.getElementById('error-box').textContent.includes('did you mean VipCustomers?')`)
	p.typeIn("#priority-entries", "VipCustomers, RecentBuyers")
	p.click(`#priority-form button[type="submit"]`)
	p.waitFor("the new list", `document.querySelector('#priority-table tbody tr[data-list="Offers"]')`)
	counts, err := cat.PriorityCounts(t.Context(), "Offers")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("VipCustomers (%s) › RecentBuyers (%s)", thousands(counts.Entries[0].Members), thousands(counts.Entries[1].Members)),
		p.text(`#priority-table tbody tr[data-list="Offers"] td:nth-child(2)`))
	require.Equal(t, thousands(counts.Customers), p.text(`#priority-table tbody tr[data-list="Offers"] td:nth-child(3)`))
	require.Equal(t, "/api/priority-lists/Offers/export", attr(p, `#priority-table tbody tr[data-list="Offers"] a`, "href"))
	p.view("23-priority-lists", "#priority-title")

	p.click(`#priority-table tbody tr[data-list="Offers"] button.danger`)
	p.waitFor("the confirmation", `document.getElementById('confirm-dialog').open`)
	p.click("#confirm-ok")
	p.waitFor("the deletion", `!document.querySelector('#priority-table tbody tr[data-list="Offers"]')`)
	_, err = cat.GetPriorityList("Offers")
	require.ErrorIs(t, err, catalog.ErrNotFound)
}
