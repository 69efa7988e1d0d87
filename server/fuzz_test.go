package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
)

// FuzzAPI sends every operation of the API a fuzzed path parameter,
// query and body, as an admin: no request makes the server panic or
// answer 500, and every failure is an RFC 9457 problem document whose
// status is the response's. Exports are left out: they deliver to the
// destination's address, which the fuzzer would choose.
//
//	go test ./server/ -run '^$' -fuzz FuzzAPI -fuzztime 10m
func FuzzAPI(f *testing.F) {
	e := newEnv(f, Options{RequireTokens: true})
	admin, _, err := e.cat.CreateToken("fuzz", catalog.Admin)
	require.NoError(f, err)
	var routes []route
	for _, rt := range apiRoutes() {
		if rt.id != "exportSegment" {
			routes = append(routes, rt)
		}
	}
	for i, rt := range routes {
		body := []byte(`{}`)
		switch rt.body {
		case "CreateSegment", "EditSegment":
			body = []byte(`{"name": "Fuzzed", "definition": {"name": "Fuzzed", "groups": [{"condition": {"attribute": "Customer.Country", "operator": "equals", "value": "DE"}}]}}`)
		case "Definition":
			body = []byte(`{"name": "X", "groups": [{"condition": {"attribute": "Customer.Country", "operator": "in", "value": ["DE", "FR"]}}]}`)
		case "Rename":
			body = []byte(`{"name": "Renamed"}`)
		}
		f.Add(uint8(i), "HighValueEscalated", "limit=5&asOf=2026-06-01T00:00:00Z", body)
		f.Add(uint8(i), "C1", "field=Customer.Country&op=is&value=DE", []byte(`{"segments": ["HighValueEscalated"]}`))
	}
	f.Fuzz(func(t *testing.T, which uint8, param, query string, body []byte) {
		rt := routes[int(which)%len(routes)]
		path := rt.path
		for _, p := range []string{"{name}", "{destination}", "{id}", "{key}"} {
			path = strings.ReplaceAll(path, p, url.PathEscape(param))
		}
		target := path
		if q, err := url.ParseQuery(query); err == nil {
			target += "?" + q.Encode()
		}
		req := httptest.NewRequest(rt.method, "http://127.0.0.1"+target, bytes.NewReader(body))
		req.RemoteAddr = "127.0.0.1:1"
		req.Header.Set("Authorization", "Bearer "+admin)
		req.Header.Set("Content-Type", "application/json")
		rec := httptest.NewRecorder()
		e.srv.Handler().ServeHTTP(rec, req)
		res := rec.Result()
		require.NotEqual(t, http.StatusInternalServerError, res.StatusCode, "%s %s %q: %s", rt.method, target, body, rec.Body.Bytes())
		if res.StatusCode < 400 {
			return
		}
		require.Equal(t, "application/problem+json", res.Header.Get("Content-Type"), "%s %s: %s", rt.method, target, rec.Body.Bytes())
		var p struct {
			Type   string `json:"type"`
			Title  string `json:"title"`
			Status int    `json:"status"`
			Code   string `json:"code"`
		}
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &p), "%s", rec.Body.Bytes())
		require.Equal(t, res.StatusCode, p.Status)
		require.NotEmpty(t, p.Title)
		require.Equal(t, "urn:segmentkit:problem:"+p.Code, p.Type)
	})
}
