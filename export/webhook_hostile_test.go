package export_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
)

// TestWebhookHostileAnswers: what a server answers never breaks the
// export nor its error message: a 200 with a huge body is an
// acknowledgement, read no further than needed; a 4xx with a long HTML
// page that echoes the request's URL (its token) gives a one-line,
// bounded error without the token; a connection closed before the
// answer is retried; a fragment of the URL is never sent.
func TestWebhookHostileAnswers(t *testing.T) {
	p, members := webhookPlan(t, 90, 21)
	run := func(t *testing.T, h http.HandlerFunc, url string) (export.Stats, error) {
		t.Helper()
		srv := httptest.NewServer(h)
		t.Cleanup(srv.Close)
		dest, err := export.NewWebhook(srv.URL+url, export.WebhookOptions{MaxTries: 3, Sleep: (&waitLog{}).sleep, Timeout: 5 * time.Second})
		require.NoError(t, err)
		return runHook(t, context.Background(), dest, p, export.FullSet(members), export.RunOptions{BatchSize: 10})
	}

	t.Run("huge 200", func(t *testing.T) {
		start := time.Now()
		st, err := run(t, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			w.WriteHeader(200)
			chunk := []byte(strings.Repeat("x", 64<<10))
			for range 1 << 10 { // up to 64 MiB, unless the client stops reading
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "/in")
		require.NoError(t, err)
		require.EqualValues(t, members.GetCardinality(), st.Rows)
		require.Less(t, time.Since(start), 5*time.Second)
	})

	t.Run("HTML 400 echoing the URL", func(t *testing.T) {
		_, err := run(t, func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(400)
			fmt.Fprintf(w, "<!DOCTYPE html>\n<html>\n  <head><title>Bad\tRequest</title></head>\n<body>\r\n<p>Cannot POST %s</p>\n%s</body></html>",
				r.URL.RequestURI(), strings.Repeat("<div>\n filler \n</div>\n", 5000))
		}, "/in?token=S3CRETTOKEN")
		require.ErrorIs(t, err, export.ErrDelivery)
		msg := err.Error()
		require.Contains(t, msg, "400 Bad Request")
		require.Contains(t, msg, `"<!DOCTYPE html> <html> <head><title>Bad Request</title></head> <body> <p>Cannot POST /in?token=xxxxx</p>`)
		require.NotContains(t, msg, "S3CRET")
		require.NotContains(t, msg, "\n")
		require.Less(t, len(msg), 600, msg)
	})

	t.Run("closed before the answer", func(t *testing.T) {
		var n atomic.Int32
		st, err := run(t, func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if n.Add(1) == 1 {
				conn, _, err := w.(http.Hijacker).Hijack()
				require.NoError(t, err)
				conn.Close()
				return
			}
			w.WriteHeader(204)
		}, "/in")
		require.NoError(t, err)
		batches := (members.GetCardinality() + 9) / 10
		require.EqualValues(t, batches, st.Batches)
		require.EqualValues(t, batches+1, st.Tries, "the batch whose connection closed is sent again")
	})

	t.Run("fragment", func(t *testing.T) {
		var got []string
		var mu sync.Mutex
		_, err := run(t, func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			got = append(got, r.RequestURI)
			mu.Unlock()
			w.WriteHeader(200)
		}, "/in?a=1#S3CRET")
		require.NoError(t, err)
		for _, u := range got {
			require.Equal(t, "/in?a=1", u)
		}
	})
}

// TestWebhookHugeStatusLine: a server's reason phrase, however long, is
// cut in the error.
func TestWebhookHugeStatusLine(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				req, err := http.ReadRequest(bufio.NewReader(conn))
				if err != nil {
					return
				}
				io.Copy(io.Discard, req.Body)
				fmt.Fprintf(conn, "HTTP/1.1 418 %s\r\nContent-Length: 4\r\nConnection: close\r\n\r\nnope", strings.Repeat("teapot ", 20000))
			}()
		}
	}()
	p, members := webhookPlan(t, 10, 22)
	dest, err := export.NewWebhook("http://"+ln.Addr().String()+"/in", export.WebhookOptions{MaxTries: 1})
	require.NoError(t, err)
	_, err = runHook(t, context.Background(), dest, p, export.FullSet(members), export.RunOptions{})
	require.ErrorIs(t, err, export.ErrDelivery)
	require.ErrorContains(t, err, "418 teapot teapot")
	require.ErrorContains(t, err, `body "nope"`)
	require.Less(t, len(err.Error()), 600)
}
