package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var servingAt = regexp.MustCompile(`serving http://([^/]+)/`)

// startServe runs serve with args until the returned stop is called, and
// returns the base URL.
func startServe(t *testing.T, args ...string) (base string, stop func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...), &stdout, &stderr)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if m := servingAt.FindStringSubmatch(stderr.String()); m != nil {
			base = "http://" + m[1]
			break
		}
		select {
		case code := <-done:
			cancel()
			t.Fatalf("serve exited with %d: %s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("serve did not start: %s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return base, func() (int, string) {
		cancel()
		code := <-done
		return code, stderr.String()
	}
}

func TestServe(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cat.db")
	r := runCLI(t, "segments", "create", "--catalog", file, "--data", testData.dir, "--active", "--segment", segmentFile())
	require.Equal(t, exitOK, r.code, r.stderr)
	base, stop := startServe(t, "--catalog", file, "--data", testData.dir)
	resp, err := http.Get(base + "/api/segments")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode, "%s", body)
	var list struct {
		Segments []struct {
			Name    string `json:"name"`
			Members uint64 `json:"members"`
		} `json:"segments"`
	}
	require.NoError(t, json.Unmarshal(body, &list))
	require.Len(t, list.Segments, 1)
	require.Equal(t, "HighValueEscalated", list.Segments[0].Name)
	code, stderr := stop()
	require.Equal(t, exitInterrupted, code, stderr)
	require.Contains(t, stderr, "stopped")
	// The catalog is closed: the CLI opens it again.
	r = runCLI(t, "segments", "list", "--catalog", file)
	require.Equal(t, exitOK, r.code, r.stderr)
}

func TestServeDemo(t *testing.T) {
	base, stop := startServe(t, "--demo", "--customers", "500")
	resp, err := http.Get(base + "/")
	require.NoError(t, err)
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	require.Contains(t, string(page), "Segments")
	resp, err = http.Get(base + "/api/segments/HighValueEscalated/history")
	require.NoError(t, err)
	var h struct{ History []any }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&h))
	resp.Body.Close()
	require.Len(t, h.History, 12)
	code, _ := stop()
	require.Equal(t, exitInterrupted, code)
}

func TestServeAccess(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cat.db")
	r := runCLI(t, "segments", "create", "--catalog", file, "--data", testData.dir, "--segment", segmentFile())
	require.Equal(t, exitOK, r.code, r.stderr)
	// Not loopback, no token: refused.
	r = runCLI(t, "serve", "--catalog", file, "--data", testData.dir, "--addr", "0.0.0.0:0")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "serve token create")
	r = runCLI(t, "serve", "--catalog", file, "--data", testData.dir, "--addr", "nonsense")
	require.Equal(t, exitUsage, r.code)

	r = runCLI(t, "serve", "token", "create", "--catalog", file, "--role", "edtor")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "did you mean editor?")
	r = runCLI(t, "serve", "token", "create", "--catalog", file, "--role", "viewer", "--name", "dash")
	require.Equal(t, exitOK, r.code, r.stderr)
	secret := strings.TrimSpace(r.stdout)
	require.True(t, strings.HasPrefix(secret, "sk_"))
	r = runCLI(t, "serve", "token", "list", "--catalog", file)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "dash")
	require.NotContains(t, r.stdout, secret)

	// With a token, a non-loopback address serves, and requires it.
	base, stop := startServeAddr(t, "0.0.0.0:0", "--catalog", file, "--data", testData.dir)
	url := strings.Replace(base, "0.0.0.0", "127.0.0.1", 1)
	resp, err := http.Get(url + "/api/segments")
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 401, resp.StatusCode)
	req, _ := http.NewRequest("GET", url+"/api/segments", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, 200, resp.StatusCode)
	_, stderr := stop()
	require.NotContains(t, stderr, secret)

	r = runCLI(t, "serve", "token", "revoke", "--catalog", file, "1")
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runCLI(t, "serve", "token", "revoke", "--catalog", file, "1")
	require.Equal(t, exitFailed, r.code)
	r = runCLI(t, "serve", "token", "revoke", "--catalog", file, "x")
	require.Equal(t, exitUsage, r.code)
}

// startServeAddr is startServe on another address.
func startServeAddr(t *testing.T, addr string, args ...string) (string, func() (int, string)) {
	t.Helper()
	return startServe(t, append(args, "--addr", addr)...)
}
