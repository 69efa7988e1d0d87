package server

import (
	"bytes"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
)

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

func TestTokensAndRoles(t *testing.T) {
	var logs bytes.Buffer
	e := newEnv(t, Options{RequireTokens: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	viewer, _, err := e.cat.CreateToken("dashboards", catalog.Viewer)
	require.NoError(t, err)
	editor, _, err := e.cat.CreateToken("marketing", catalog.Editor)
	require.NoError(t, err)
	admin, _, err := e.cat.CreateToken("ops", catalog.Admin)
	require.NoError(t, err)

	// No token, a wrong one, a malformed header.
	e.problem(401, "server.unauthenticated", "GET", "/api/segments", nil)
	p := e.problem(401, "catalog.unauthorized", "GET", "/api/segments", nil, bearer(viewer+"x")...)
	require.NotContains(t, p["detail"], viewer)
	e.problem(401, "server.unauthenticated", "GET", "/api/segments", nil, "Authorization", "Basic abc")
	e.problem(401, "server.unauthenticated", "GET", "/api/session", nil)

	// Viewers read; editors change segments; admins manage tokens and
	// destinations.
	e.ok(200, "GET", "/api/segments", nil, bearer(viewer)...)
	def := map[string]any{"definition": map[string]any{"name": "ByEditor", "groups": []any{map[string]any{"condition": map[string]any{"attribute": "Customer.IsVip", "operator": "isFalse"}}}}}
	p = e.problem(403, "server.forbidden", "POST", "/api/segments", def, bearer(viewer)...)
	require.Contains(t, p["detail"], "editor")
	e.problem(403, "server.forbidden", "POST", "/api/refresh", map[string]any{"all": true}, bearer(viewer)...)
	e.ok(201, "POST", "/api/segments", def, bearer(editor)...)
	dest := map[string]any{"name": "f", "to": "csv:" + t.TempDir() + "/x.csv"}
	e.problem(403, "server.forbidden", "POST", "/api/segments/ByEditor/destinations", dest, bearer(editor)...)
	e.problem(403, "server.forbidden", "GET", "/api/tokens", nil, bearer(editor)...)
	e.ok(201, "POST", "/api/segments/ByEditor/destinations", dest, bearer(admin)...)

	// Tokens through the API: the secret is shown once.
	made := e.ok(201, "POST", "/api/tokens", map[string]any{"name": "robot", "role": "viewer"}, bearer(admin)...)
	secret := made["token"].(string)
	require.True(t, strings.HasPrefix(secret, "sk_"))
	list := e.ok(200, "GET", "/api/tokens", nil, bearer(admin)...)
	require.Len(t, list["tokens"], 4)
	_, body, _ := e.call("GET", "/api/tokens", nil, bearer(admin)...)
	require.NotContains(t, string(body), secret)
	e.problem(422, "catalog.role", "POST", "/api/tokens", map[string]any{"name": "x", "role": "owner"}, bearer(admin)...)
	e.ok(200, "GET", "/api/segments", nil, bearer(secret)...)
	e.ok(204, "DELETE", "/api/tokens/"+jsonNum(made["id"]), nil, bearer(admin)...)
	e.problem(401, "catalog.unauthorized", "GET", "/api/segments", nil, bearer(secret)...)
	e.problem(404, "catalog.not_found", "DELETE", "/api/tokens/"+jsonNum(made["id"]), nil, bearer(admin)...)

	// No secret reaches the log or the catalog file.
	require.NoError(t, e.cat.Close())
	raw, err := os.ReadFile(e.cat.Path())
	require.NoError(t, err)
	for _, s := range []string{viewer, editor, admin, secret} {
		require.NotContains(t, logs.String(), s)
		require.NotContains(t, logs.String(), s[3:])
		require.False(t, bytes.Contains(raw, []byte(s[3:])))
	}
	require.Contains(t, logs.String(), "by=marketing", "the log names who made each request")
}

func TestSessionAndCSRF(t *testing.T) {
	e := newEnv(t, Options{RequireTokens: true})
	editor, _, err := e.cat.CreateToken("page user", catalog.Editor)
	require.NoError(t, err)
	e.problem(401, "server.unauthenticated", "POST", "/api/session", map[string]any{})
	e.problem(401, "catalog.unauthorized", "POST", "/api/session", map[string]any{"token": "sk_nope"})
	status, body, h := e.call("POST", "/api/session", map[string]any{"token": editor})
	require.Equal(t, 200, status, "%s", body)
	cookie := h.Get("Set-Cookie")
	require.Contains(t, cookie, SessionCookie+"=")
	require.Contains(t, cookie, "HttpOnly")
	require.Contains(t, cookie, "SameSite=Strict")
	require.NotContains(t, string(body), editor)
	value := strings.TrimPrefix(strings.Split(cookie, ";")[0], SessionCookie+"=")
	withCookie := []string{"Cookie", SessionCookie + "=" + value}

	ses := e.ok(200, "GET", "/api/session", nil, withCookie...)
	require.Equal(t, "editor", ses["role"])
	csrf := ses["csrfToken"].(string)
	require.NotEmpty(t, csrf)

	// Reads need no CSRF token; every change does.
	e.ok(200, "GET", "/api/segments", nil, withCookie...)
	def := map[string]any{"definition": map[string]any{"name": "FromPage", "groups": []any{map[string]any{"condition": map[string]any{"attribute": "Customer.IsVip", "operator": "isTrue"}}}}}
	e.problem(403, "server.csrf", "POST", "/api/segments", def, withCookie...)
	e.problem(403, "server.csrf", "POST", "/api/segments", def, append(withCookie, CSRFHeader, "wrong")...)
	e.problem(403, "server.csrf", "DELETE", "/api/segments/VipCustomers", nil, withCookie...)
	e.problem(403, "server.csrf", "POST", "/api/refresh", map[string]any{"all": true}, withCookie...)
	e.ok(201, "POST", "/api/segments", def, append(withCookie, CSRFHeader, csrf)...)

	// A browser's cross-site change is refused whatever it carries.
	e.problem(403, "server.csrf", "POST", "/api/segments/FromPage/deactivate", map[string]any{},
		append(withCookie, CSRFHeader, csrf, "Sec-Fetch-Site", "cross-site")...)

	// Signing out ends the session.
	e.ok(204, "DELETE", "/api/session", nil, append(withCookie, CSRFHeader, csrf)...)
	e.problem(401, "server.unauthenticated", "GET", "/api/segments", nil, withCookie...)
}

func TestLoopback(t *testing.T) {
	e := newEnv(t, Options{})
	// Without tokens required, calls act as the local admin, and the page
	// gets a session with a CSRF token.
	anon := e.ok(200, "GET", "/api/session", nil)
	require.Equal(t, "admin", anon["role"])
	require.Equal(t, false, anon["session"])
	e.ok(200, "GET", "/api/tokens", nil)
	status, body, h := e.call("POST", "/api/session", map[string]any{})
	require.Equal(t, 200, status, "%s", body)
	value := strings.TrimPrefix(strings.Split(h.Get("Set-Cookie"), ";")[0], SessionCookie+"=")
	withCookie := []string{"Cookie", SessionCookie + "=" + value}
	ses := e.ok(200, "GET", "/api/session", nil, withCookie...)
	require.Equal(t, true, ses["session"])
	e.problem(403, "server.csrf", "POST", "/api/refresh", map[string]any{"all": true}, withCookie...)

	// A name that is not loopback's is refused (DNS rebinding).
	req, err := http.NewRequest("GET", e.http.URL+"/api/segments", nil)
	require.NoError(t, err)
	req.Host = "evil.example:8080"
	resp, err := e.http.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 403, resp.StatusCode)
	for _, host := range []string{"localhost:8080", "127.0.0.1", "[::1]:80", "LOCALHOST"} {
		require.True(t, loopbackHost(host), host)
	}
	for _, host := range []string{"evil.example", "10.0.0.1:80", "localhost.evil.example", ""} {
		require.False(t, loopbackHost(host), host)
	}
	require.True(t, IsLoopback("127.0.0.1:8080"))
	require.True(t, IsLoopback("[::1]:0"))
	require.True(t, IsLoopback("localhost:1"))
	require.False(t, IsLoopback("0.0.0.0:8080"))
	require.False(t, IsLoopback(":8080"))
	require.False(t, IsLoopback("192.168.1.2:8080"))

	// The page is served, with its security headers.
	status, page, ph := e.call("GET", "/", nil)
	require.Equal(t, 200, status)
	require.Contains(t, string(page), "<html")
	require.Equal(t, "DENY", ph.Get("X-Frame-Options"))
	require.Contains(t, ph.Get("Content-Security-Policy"), "default-src 'self'")
}

func jsonNum(v any) string { return strconvFormat(v.(float64)) }

func TestSessionsBounded(t *testing.T) {
	clock := clockworkFake()
	ss := newSessions(clock, time.Hour)
	first, _ := ss.create(&principal{role: catalog.Viewer, name: "a"})
	clock.Advance(time.Second)
	for range maxSessions {
		ss.create(&principal{role: catalog.Viewer, name: "b"})
	}
	require.LessOrEqual(t, len(ss.m), maxSessions)
	require.Nil(t, ss.get(first), "the oldest session made room")
	v, _ := ss.create(&principal{role: catalog.Viewer, name: "c"})
	require.NotNil(t, ss.get(v))
	clock.Advance(2 * time.Hour)
	require.Nil(t, ss.get(v), "sessions expire")
}

func clockworkFake() *clockwork.FakeClock { return clockwork.NewFakeClock() }

// TestEveryChangeChecked: every operation that changes something refuses
// a session without its CSRF token, and every operation refuses a role
// below its own.
func TestEveryChangeChecked(t *testing.T) {
	e := newEnv(t, Options{RequireTokens: true})
	viewer, _, err := e.cat.CreateToken("v", catalog.Viewer)
	require.NoError(t, err)
	admin, _, err := e.cat.CreateToken("a", catalog.Admin)
	require.NoError(t, err)
	status, body, h := e.call("POST", "/api/session", map[string]any{"token": admin})
	require.Equal(t, 200, status, "%s", body)
	cookie := []string{"Cookie", strings.Split(h.Get("Set-Cookie"), ";")[0]}
	fill := strings.NewReplacer("{name}", "HighValueEscalated", "{destination}", "d", "{id}", "1", "{key}", "C1")
	for _, rt := range apiRoutes() {
		path := fill.Replace(rt.path)
		if !safeMethod(rt.method) && rt.id != "createSession" {
			e.problem(403, "server.csrf", rt.method, path, map[string]any{}, cookie...)
		}
		if rt.role > catalog.Viewer {
			e.problem(403, "server.forbidden", rt.method, path, map[string]any{}, bearer(viewer)...)
		}
		if rt.role != 0 {
			e.problem(401, "server.unauthenticated", rt.method, path, map[string]any{})
		}
	}
}
