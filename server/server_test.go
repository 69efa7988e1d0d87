package server

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/storage"
)

// testNow is the demo's "now" in tests.
var testNow = time.Date(2026, 6, 30, 12, 0, 0, 0, time.UTC)

var (
	demoOnce sync.Once
	demoRoot string
	demoErr  error
)

// testDemo writes the demo (2,000 customers) once per test binary and
// returns a copy of its catalog for the test, and the data directory.
func testDemo(t testing.TB) (dir, catalogPath string) {
	t.Helper()
	demoOnce.Do(func() {
		demoRoot, demoErr = os.MkdirTemp("", "segmentkit-server-test-")
		if demoErr == nil {
			_, demoErr = WriteDemo(context.Background(), demoRoot, 2000, testNow)
		}
	})
	require.NoError(t, demoErr)
	catalogPath = t.TempDir() + "/catalog.db"
	b, err := os.ReadFile(demoRoot + "/catalog.db")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(catalogPath, b, 0o644))
	return demoRoot + "/data", catalogPath
}

// env is a server over a copy of the demo catalog, behind httptest.
type env struct {
	t    testing.TB
	srv  *Server
	cat  *catalog.Catalog
	src  *catalog.DirSource
	http *httptest.Server
	dir  string
	// gate, when it holds a channel, makes the catalog's loads of the
	// data wait until it is closed.
	gate *atomic.Pointer[chan struct{}]
}

// gatedSource is the demo's source, whose Snapshot waits at a gate.
type gatedSource struct {
	*catalog.DirSource
	gate *atomic.Pointer[chan struct{}]
}

func (g gatedSource) Snapshot(ctx context.Context) (*storage.Snapshot, func(), error) {
	if ch := g.gate.Load(); ch != nil {
		select {
		case <-*ch:
		case <-ctx.Done():
			return nil, nil, ctx.Err()
		}
	}
	return g.DirSource.Snapshot(ctx)
}

func newEnv(t testing.TB, opts Options) *env {
	t.Helper()
	dir, path := testDemo(t)
	src := catalog.NewDirSource(dir, storage.Options{})
	gate := new(atomic.Pointer[chan struct{}])
	cat, err := catalog.Open(path, catalog.Options{Source: gatedSource{src, gate}})
	require.NoError(t, err)
	opts.Catalog, opts.Source = cat, src
	if opts.ReloadInterval == 0 {
		opts.ReloadInterval = -1
	}
	srv, err := New(t.Context(), opts)
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	e := &env{t: t, srv: srv, cat: cat, src: src, http: hs, dir: dir, gate: gate}
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
		cat.Close()
		src.Close()
	})
	return e
}

// call makes a request and returns the status and body. hdr holds extra
// headers as name, value pairs.
func (e *env) call(method, path string, body any, hdr ...string) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	require.NoError(e.t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := e.http.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	recordCall(e.t, method, path, resp.StatusCode, resp.Header.Get("Content-Type"), out)
	return resp.StatusCode, out, resp.Header
}

// ok makes a request that must answer want, and decodes its JSON body.
func (e *env) ok(want int, method, path string, body any, hdr ...string) map[string]any {
	e.t.Helper()
	status, out, _ := e.call(method, path, body, hdr...)
	require.Equal(e.t, want, status, "%s %s: %s", method, path, out)
	if len(out) == 0 {
		return nil
	}
	var m map[string]any
	require.NoError(e.t, json.Unmarshal(out, &m), "%s", out)
	return m
}

// problem makes a request that must fail with the status and problem code.
func (e *env) problem(status int, code, method, path string, body any, hdr ...string) map[string]any {
	e.t.Helper()
	got, out, h := e.call(method, path, body, hdr...)
	require.Equal(e.t, status, got, "%s %s: %s", method, path, out)
	require.Equal(e.t, "application/problem+json", h.Get("Content-Type"))
	var p map[string]any
	require.NoError(e.t, json.Unmarshal(out, &p))
	require.Equal(e.t, code, p["code"], "%s", out)
	require.Equal(e.t, "urn:segmentkit:problem:"+code, p["type"])
	require.EqualValues(e.t, status, p["status"])
	require.NotEmpty(e.t, p["title"])
	return p
}

func strconvFormat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }
