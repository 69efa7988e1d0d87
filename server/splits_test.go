package server

import (
	"encoding/csv"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSplitsAndPriorityLists(t *testing.T) {
	e := newEnv(t, Options{})
	for _, def := range []string{
		`{"name": "Adults", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThanOrEqual", "value": 18}}]}`,
		`{"name": "Vips", "groups": [{"condition": {"attribute": "Customer.IsVip", "operator": "isTrue"}}]}`,
	} {
		e.ok(201, "POST", "/api/segments", map[string]any{"definition": def, "active": true})
	}

	// A split, with every problem at once when it is not valid.
	p := e.problem(422, "catalog.split", "PUT", "/api/segments/Adults/split", map[string]any{"groups": []map[string]any{
		{"name": "Test", "percent": 50}, {"name": "Test", "percent": 40}}})
	require.Len(t, p["problems"], 2, "%v", p)
	e.problem(404, "catalog.not_found", "PUT", "/api/segments/Adlts/split", map[string]any{"groups": []map[string]any{
		{"name": "A", "percent": 50}, {"name": "B", "percent": 50}}})
	sp := e.ok(200, "PUT", "/api/segments/Adults/split", map[string]any{"salt": "s", "groups": []map[string]any{
		{"name": "Test", "percent": 45}, {"name": "Control", "percent": 45}, {"name": "Holdout", "percent": 10, "holdout": true}}})
	require.Equal(t, "s", sp["salt"])
	got := e.ok(200, "GET", "/api/segments/Adults/split", nil)
	require.Equal(t, []any{[]any{0.0, 4500.0}}, got["groups"].([]any)[0].(map[string]any)["buckets"])
	counts := e.ok(200, "GET", "/api/segments/Adults/groups", nil)
	var sum float64
	for _, g := range counts["groups"].([]any) {
		sum += g.(map[string]any)["members"].(float64)
	}
	require.Equal(t, counts["members"], sum)
	e.problem(404, "catalog.not_found", "GET", "/api/segments/Vips/groups", nil)
	// The builder's live size of a definition that references a group.
	ev := e.ok(200, "POST", "/api/evaluate", map[string]any{"definition": `{"name": "T", "groups": [{"condition": {"segment": "Adults", "group": "Test"}}]}`})
	require.Equal(t, counts["groups"].([]any)[0].(map[string]any)["members"], ev["members"])
	v := e.ok(200, "POST", "/api/validate", map[string]any{"definition": `{"name": "T", "groups": [{"condition": {"segment": "Adults", "group": "Tset"}}]}`})
	require.Equal(t, false, v["valid"])
	require.Contains(t, v["problems"].([]any)[0].(map[string]any)["message"], "has no group Tset")

	// A destination of the holdout is refused; one of a group is kept.
	e.problem(409, "catalog.holdout", "POST", "/api/segments/Adults/destinations", map[string]any{"name": "h", "to": "csv:" + t.TempDir() + "/h.csv", "group": "Holdout"})
	d := e.ok(201, "POST", "/api/segments/Adults/destinations", map[string]any{"name": "t", "to": "csv:" + t.TempDir() + "/t.csv", "group": "Test"})
	require.Equal(t, "Test", d["group"])
	e.problem(409, "catalog.referenced", "DELETE", "/api/segments/Adults/split", nil)
	e.ok(204, "DELETE", "/api/segments/Adults/destinations/t", nil)

	// Priority lists.
	p = e.problem(422, "catalog.priority_list", "POST", "/api/priority-lists", map[string]any{"name": "Offers", "entries": []map[string]any{
		{"segment": "Vipz"}, {"segment": "Adults", "group": "Holdout"}}})
	require.Len(t, p["problems"], 2, "%v", p)
	pl := e.ok(201, "POST", "/api/priority-lists", map[string]any{"name": "Offers", "description": "one offer each", "entries": []map[string]any{
		{"segment": "Vips"}, {"segment": "Adults", "group": "Test"}, {"segment": "Adults"}}})
	require.Len(t, pl["entries"], 3)
	e.problem(409, "catalog.exists", "POST", "/api/priority-lists", map[string]any{"name": "Offers", "entries": []map[string]any{{"segment": "Vips"}}})
	lists := e.ok(200, "GET", "/api/priority-lists", nil)
	require.Len(t, lists["lists"], 1)
	e.ok(200, "GET", "/api/priority-lists/Offers", nil)
	e.problem(404, "catalog.not_found", "GET", "/api/priority-lists/Ofers", nil)
	pc := e.ok(200, "GET", "/api/priority-lists/Offers/counts", nil)
	status, body, h := e.call("GET", "/api/priority-lists/Offers/export?fields=Customer.Country", nil)
	require.Equal(t, 200, status, "%s", body)
	require.Equal(t, "text/csv; charset=utf-8", h.Get("Content-Type"))
	rows, err := csv.NewReader(strings.NewReader(string(body))).ReadAll()
	require.NoError(t, err)
	require.Equal(t, []string{"entry", "CustomerId", "Country"}, rows[0])
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		require.False(t, seen[r[1]], "customer %s sent twice", r[1])
		seen[r[1]] = true
	}
	var held float64
	for _, en := range pc["entries"].([]any) {
		h, _ := en.(map[string]any)["held"].(float64) // left out when 0
		held += h
	}
	require.EqualValues(t, pc["customers"].(float64)-held, len(rows)-1)
	e.problem(422, "export.unknown_field", "GET", "/api/priority-lists/Offers/export?fields=Customer.Countri", nil)
	out := t.TempDir() + "/offers.jsonl"
	ex := e.ok(200, "POST", "/api/priority-lists/Offers/exports", map[string]any{"to": "jsonl:" + out, "fields": []string{"Customer.Country"}})
	require.EqualValues(t, len(rows)-1, ex["stats"].(map[string]any)["rows"])
	lines, err := os.ReadFile(out)
	require.NoError(t, err)
	require.Equal(t, len(rows)-1, strings.Count(string(lines), "\n"))
	require.True(t, strings.HasPrefix(string(lines), `{"entry":`), "%s", lines)
	e.problem(422, "export.destination", "POST", "/api/priority-lists/Offers/exports", map[string]any{"to": "roaring:" + out})
	e.problem(400, "server.bad_request", "POST", "/api/priority-lists/Offers/exports", map[string]any{})
	e.problem(409, "catalog.referenced", "DELETE", "/api/segments/Vips", nil)
	e.ok(204, "DELETE", "/api/priority-lists/Offers", nil)
	e.problem(404, "catalog.not_found", "DELETE", "/api/priority-lists/Offers", nil)
	e.ok(204, "DELETE", "/api/segments/Adults/split", nil)
}
