package server

import (
	"encoding/json"
	"flag"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// Every answer the tests get is checked against the OpenAPI document: its
// status must be documented for the operation, and its JSON body must
// match the documented schema. When the whole package runs, every
// operation must have been answered with success at least once.

type recorded struct {
	id     string
	status int
}

var (
	recMu    sync.Mutex
	recCalls []recorded
	matcher  = func() *http.ServeMux {
		mux := http.NewServeMux()
		for _, rt := range apiRoutes() {
			mux.Handle(rt.method+" "+rt.path, http.NotFoundHandler())
		}
		return mux
	}()
	routeByPattern = func() map[string]route {
		m := map[string]route{}
		for _, rt := range apiRoutes() {
			m[rt.method+" "+rt.path] = rt
		}
		return m
	}()
	doc = OpenAPI()
)

// recordCall checks one answer against the document and records it.
func recordCall(t testing.TB, method, path string, status int, contentType string, body []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://localhost"+path, nil)
	require.NoError(t, err)
	_, pattern := matcher.Handler(req)
	rt, ok := routeByPattern[pattern]
	if !ok {
		return // a path outside the API (the page) or an unknown one
	}
	op := doc["paths"].(schemaMap)[rt.path].(schemaMap)[strings.ToLower(rt.method)].(schemaMap)
	resp, ok := op["responses"].(schemaMap)[strconv.Itoa(status)].(schemaMap)
	require.True(t, ok, "%s %s answered %d, which the document does not list for %s", method, path, status, rt.id)
	if content, ok := resp["content"].(schemaMap); ok && len(body) > 0 {
		ct, _, _ := strings.Cut(contentType, ";")
		media, ok := content[ct].(schemaMap)
		require.True(t, ok, "%s %s answered %s, documented: %v", method, path, ct, content)
		if strings.HasSuffix(ct, "json") {
			var v any
			require.NoError(t, json.Unmarshal(body, &v))
			if err := conforms(media["schema"].(schemaMap), v, "body"); err != nil {
				t.Fatalf("%s %s (%d): %v\n%s", method, path, status, err, body)
			}
		}
	}
	recMu.Lock()
	recCalls = append(recCalls, recorded{rt.id, status})
	recMu.Unlock()
}

// conforms checks v against the schema: types, required members, the
// members' schemas, array items and enums ($ref resolved).
func conforms(s schemaMap, v any, at string) error {
	if r, ok := s["$ref"].(string); ok {
		name := strings.TrimPrefix(r, "#/components/schemas/")
		target, ok := doc["components"].(schemaMap)["schemas"].(schemaMap)[name].(schemaMap)
		if !ok {
			return fmt.Errorf("%s: dangling $ref %s", at, r)
		}
		return conforms(target, v, at)
	}
	var types []string
	switch t := s["type"].(type) {
	case string:
		types = []string{t}
	case []string:
		types = t
	}
	if len(types) > 0 && !slices.Contains(types, jsonType(v)) && !(jsonType(v) == "integer" && slices.Contains(types, "number")) {
		return fmt.Errorf("%s: a %s, documented as %v", at, jsonType(v), types)
	}
	if e, ok := s["enum"].([]string); ok {
		if str, _ := v.(string); !slices.Contains(e, str) {
			return fmt.Errorf("%s: %v is not one of %v", at, v, e)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		if req, ok := s["required"].([]string); ok {
			for _, r := range req {
				if _, ok := x[r]; !ok {
					return fmt.Errorf("%s: the required member %q is missing", at, r)
				}
			}
		}
		props, _ := s["properties"].(schemaMap)
		for k, pv := range x {
			if ps, ok := props[k].(schemaMap); ok {
				if err := conforms(ps, pv, at+"."+k); err != nil {
					return err
				}
			}
		}
	case []any:
		if items, ok := s["items"].(schemaMap); ok {
			for i, it := range x {
				if err := conforms(items, it, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case float64:
		if x == float64(int64(x)) {
			return "integer"
		}
		return "number"
	case string:
		return "string"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return "unknown"
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if demoRoot != "" {
		os.RemoveAll(demoRoot)
	}
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && !testing.Short() {
		succeeded := map[string]bool{}
		for _, c := range recCalls {
			if c.status < 300 {
				succeeded[c.id] = true
			}
		}
		for _, rt := range apiRoutes() {
			if !succeeded[rt.id] {
				fmt.Fprintf(os.Stderr, "FAIL: no test got a successful answer from %s (%s %s)\n", rt.id, rt.method, rt.path)
				code = 1
			}
		}
	}
	os.Exit(code)
}

func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t, Options{})
	got := e.ok(200, "GET", "/api/openapi.json", nil)
	require.Equal(t, "3.1.0", got["openapi"])
	paths := got["paths"].(map[string]any)
	// Every route is documented, and every documented operation is a
	// route the mux serves.
	n := 0
	for p, item := range paths {
		for method, op := range item.(map[string]any) {
			n++
			id := op.(map[string]any)["operationId"].(string)
			rt, ok := routeByPattern[strings.ToUpper(method)+" "+p]
			require.True(t, ok, "documented %s %s is not served", method, p)
			require.Equal(t, rt.id, id)
		}
	}
	require.Equal(t, len(apiRoutes()), n)
	// Every $ref resolves; every operation id is unique.
	ids := map[string]bool{}
	for _, rt := range apiRoutes() {
		require.False(t, ids[rt.id], rt.id)
		ids[rt.id] = true
	}
	b, _ := json.Marshal(doc)
	for _, m := range strings.Split(string(b), `"$ref":"#/components/schemas/`)[1:] {
		name, _, _ := strings.Cut(m, `"`)
		_, ok := doc["components"].(schemaMap)["schemas"].(schemaMap)[name]
		require.True(t, ok, "dangling $ref %s", name)
	}
	// An unknown API path is a problem document, not the page.
	e.problem(404, "server.no_route", "GET", "/api/nope", nil)
}

// TestDocsListEveryOperation keeps docs/service.md's table complete.
func TestDocsListEveryOperation(t *testing.T) {
	b, err := os.ReadFile("../docs/service.md")
	require.NoError(t, err)
	for _, rt := range apiRoutes() {
		require.Contains(t, string(b), "| `"+rt.method+" "+rt.path+"` |", "docs/service.md does not list %s", rt.id)
	}
}
