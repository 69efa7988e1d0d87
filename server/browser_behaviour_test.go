package server

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
)

// TestBrowserBehaviour: a definition with behavioural conditions opens in
// the builder (its time zone in the header, an anniversary as a
// predicate, a sequence and a calendar period as raw JSON), comes back
// from it unchanged, and keeps its time zone when an edit is saved; a new
// predicate can take an anniversary operator.
func TestBrowserBehaviour(t *testing.T) {
	ctx := t.Context()
	e := newBrowserEnv(t)
	const def = `{"name": "Habits", "type": "dynamic", "timeZone": "America/New_York", "groups": [{"condition": {"or": [
		{"attribute": "Customer.SignupDate", "operator": "anniversaryInNextDays", "value": 7},
		{"related": "Order", "sequence": {"attribute": "Order.OrderDate",
			"first": {"attribute": "Order.Channel", "operator": "equals", "value": "web"},
			"then": {"attribute": "Order.Channel", "operator": "equals", "value": "store"}, "withinDays": 14}},
		{"related": "Order", "aggregate": {"function": "countDistinct", "attribute": "Order.OrderDate", "period": "month"},
			"operator": "greaterThanOrEqual", "value": 3}]}}]}`
	_, err := e.cat.Create(ctx, []byte(def), catalog.CreateOptions{})
	require.NoError(t, err)
	p := newPage(t, e.url)
	p.run(chromedp.Navigate(e.url + "/#/edit/Habits"))
	p.waitFor("the builder", `document.body.dataset.view === 'builder' && document.getElementById('b-name').value === 'Habits' && document.getElementById('view-builder').dataset.pending === 'false'`)
	require.Equal(t, "America/New_York", evalAs[string](p, `document.getElementById('b-timezone').value`))
	require.Equal(t, "anniversaryInNextDays", evalAs[string](p, `document.querySelector('#groups .cond.pred select.operator').value`))
	require.Equal(t, "anniversary in the next N days", evalAs[string](p, `(s => s.options[s.selectedIndex].textContent)(document.querySelector('#groups .cond.pred select.operator'))`))
	require.Equal(t, 2, evalAs[int](p, `document.querySelectorAll('#groups .cond.raw').length`))
	require.Equal(t, "true", attr(p, "#view-builder", "data-valid"))
	p.shot("behaviour-builder")

	// The builder's JSON is the stored definition.
	p.click("#tab-json")
	var stored, shown any
	require.NoError(t, json.Unmarshal([]byte(def), &stored))
	require.NoError(t, json.Unmarshal([]byte(evalAs[string](p, `document.getElementById('json-text').value`)), &shown))
	require.Equal(t, stored, shown)
	p.click("#tab-builder")

	// A changed time zone and a description, saved.
	p.waitFor("the builder again", `!document.getElementById('builder-pane').hidden`)
	p.typeIn("#b-timezone", "Asia/Tokyo")
	p.typeIn("#b-description", "Habits over time.")
	p.waitFor("the check", `document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('view-builder').dataset.valid === 'true'`)
	p.click("#b-save")
	p.waitFor("the details", `document.body.dataset.view === 'details' && document.getElementById('details-props').textContent.includes('Habits over time.')`)
	s, err := e.cat.Get("Habits")
	require.NoError(t, err)
	var saved map[string]any
	require.NoError(t, json.Unmarshal(s.Definition, &saved))
	require.Equal(t, "Asia/Tokyo", saved["timeZone"])

	// A time zone that does not exist is shown at its field.
	p.click("#details-edit")
	p.waitFor("the builder", `document.body.dataset.view === 'builder' && document.getElementById('view-builder').dataset.pending === 'false'`)
	p.typeIn("#b-timezone", "Mars/Olympus")
	p.waitFor("the time zone's problem", fmt.Sprintf(`document.getElementById('view-builder').dataset.pending === 'false' && document.getElementById('view-builder').dataset.valid === 'false' && document.querySelector(%q).textContent.includes('IANA')`, `.row-problems[data-path="timeZone"]`))
	p.shot("behaviour-timezone-problem")
}
