package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
)

// hookStep is how the scripted server answers one request.
type hookStep struct {
	status     int // 0: 200 OK
	retryAfter string
	body       string
	location   string
	stall      bool // hold the request until the client gives up
	lost       bool // take the batch, then stall: the acknowledgement is lost
}

// hookServer is a webhook receiver that answers requests as its script
// says (then 200 OK), and keeps each batch it took, by Idempotency-Key,
// as a receiver that deduplicates would.
type hookServer struct {
	srv *httptest.Server

	mu        sync.Mutex
	script    []hookStep
	failEvery int // without a script: answer 500 to every failEvery-th request
	requests  int
	bytes     int64
	headers   []http.Header
	bodies    map[string][]byte // the first body seen under each key
	mismatch  []string          // keys seen with different bodies
	order     []string          // keys taken, first time each, in order
	taken     map[string]int    // times each key was taken
}

func newHookServer(t *testing.T, script ...hookStep) *hookServer {
	t.Helper()
	s := &hookServer{script: script, bodies: map[string][]byte{}, taken: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *hookServer) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	key := r.Header.Get("Idempotency-Key")
	s.mu.Lock()
	s.requests++
	s.bytes += int64(len(body))
	s.headers = append(s.headers, r.Header.Clone())
	if prev, ok := s.bodies[key]; ok && !bytes.Equal(prev, body) {
		s.mismatch = append(s.mismatch, key)
	} else if !ok {
		s.bodies[key] = body
	}
	var step hookStep
	switch {
	case len(s.script) > 0:
		step, s.script = s.script[0], s.script[1:]
	case s.failEvery > 0 && s.requests%s.failEvery == 0:
		step = hookStep{status: 500}
	}
	if step.lost || (!step.stall && step.status/100 <= 2 && step.location == "") {
		if s.taken[key] == 0 {
			s.order = append(s.order, key)
		}
		s.taken[key]++
	}
	s.mu.Unlock()
	if step.stall || step.lost {
		<-r.Context().Done()
		return
	}
	if step.retryAfter != "" {
		w.Header().Set("Retry-After", step.retryAfter)
	}
	if step.location != "" {
		w.Header().Set("Location", step.location)
	}
	w.WriteHeader(max(step.status, 200))
	io.WriteString(w, step.body)
}

// count returns the requests received and the bytes of their bodies.
func (s *hookServer) count() (int, int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests, s.bytes
}

func (s *hookServer) requestsN() int { n, _ := s.count(); return n }
func (s *hookServer) bytesN() int64  { _, b := s.count(); return b }

// hookView is a copy of what the server recorded.
type hookView struct {
	taken    map[string]int
	mismatch []string
	bodies   int
	headers  []http.Header
}

func (s *hookServer) view() hookView {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := hookView{taken: map[string]int{}, mismatch: slices.Clone(s.mismatch), bodies: len(s.bodies), headers: slices.Clone(s.headers)}
	maps.Copy(v.taken, s.taken)
	return v
}

// hookBody is a batch as the webhook sends it.
type hookBody struct {
	Segment string           `json:"segment"`
	Export  string           `json:"export"`
	Mode    string           `json:"mode"`
	Batch   uint64           `json:"batch"`
	Rows    []map[string]any `json:"rows"`
}

// received returns the batches the server took, once each, in order.
func (s *hookServer) received(t *testing.T) []hookBody {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	require.Empty(t, s.mismatch, "a key was sent with different bodies")
	var out []hookBody
	for _, k := range s.order {
		dec := json.NewDecoder(bytes.NewReader(s.bodies[k]))
		dec.UseNumber()
		var b hookBody
		require.NoError(t, dec.Decode(&b), "body of %s", k)
		require.Equal(t, k, export.BatchKey(b.Export, b.Batch), "the key names the export and batch")
		out = append(out, b)
	}
	return out
}

// jsonText returns a decoded JSON value as the plan's text, false for null.
func jsonText(v any) (string, bool) {
	switch v := v.(type) {
	case nil:
		return "", false
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return fmt.Sprint(v), true
}

// checkMembers requires the batches to carry every member exactly once,
// each row with the plan's values.
func checkMembers(t *testing.T, p *export.Plan, members *roaring.Bitmap, batches []hookBody) {
	t.Helper()
	snap := p.Snapshot()
	seen := map[string]int{}
	for i, b := range batches {
		require.Equal(t, uint64(i+1), b.Batch, "batches in order")
		require.Equal(t, "full", b.Mode)
		for _, row := range b.Rows {
			key := row["CustomerId"].(string)
			seen[key]++
			id, ok := snap.CustomerID(key)
			require.True(t, ok)
			for j, c := range p.Columns() {
				want, wok := p.Text(j, id)
				got, gok := jsonText(row[c.Name])
				require.Equal(t, wok, gok, "%s of %s", c.Name, key)
				require.Equal(t, want, got, "%s of %s", c.Name, key)
			}
		}
	}
	want := map[string]int{}
	for k := range keysOf(snap, members) {
		want[k] = 1
	}
	require.Equal(t, want, seen, "every member exactly once")
}

// waitLog records the waits a webhook asks for, without waiting.
type waitLog struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (l *waitLog) sleep(ctx context.Context, d time.Duration) error {
	l.mu.Lock()
	l.waits = append(l.waits, d)
	l.mu.Unlock()
	return ctx.Err()
}

func webhookPlan(t *testing.T, n int, seed uint64) (*export.Plan, *roaring.Bitmap) {
	t.Helper()
	snap := testSnapshot(t, n, seed)
	members := someMembers(snap, seed+1)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{
		Names: []string{"Email", "Age", "Score", "Birthday", "VIP", "Measures.Spend"}, Hash: []string{"Email"}}, time.Now(), members)
	require.NoError(t, err)
	return p, members
}

// runHook exports set through the webhook with a checked allocator.
func runHook(t *testing.T, ctx context.Context, dest export.Destination, p *export.Plan, set export.Set, opts export.RunOptions) (export.Stats, error) {
	t.Helper()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	opts.Allocator = mem
	return export.Run(ctx, dest, p, set, opts)
}

func TestWebhookDeliversEachMemberOnce(t *testing.T) {
	srv := newHookServer(t,
		// Batch 1: fails, stalls, is throttled, then taken.
		hookStep{status: 500, body: "boom"},
		hookStep{stall: true},
		hookStep{status: 429, retryAfter: "7"},
		hookStep{},
		// Batch 2 is taken at once.
		hookStep{},
		// Batch 3: unavailable, then taken but the answer is lost, then a
		// bad gateway, then taken again (the receiver dedupes by key).
		hookStep{status: 503, retryAfter: "1"},
		hookStep{lost: true},
		hookStep{status: 502},
	)
	p, members := webhookPlan(t, 400, 1)
	log := &waitLog{}
	dest, err := export.NewWebhook(srv.srv.URL+"/hook", export.WebhookOptions{
		Timeout: 200 * time.Millisecond, MaxBackoff: 2 * time.Second, Sleep: log.sleep,
		Headers: http.Header{"Authorization": {"Bearer t0ken"}, "x-custom": {"yes"}}})
	require.NoError(t, err)
	var acked []string
	st, err := runHook(t, context.Background(), dest, p, export.FullSet(members), export.RunOptions{
		Segment: "vip", ID: "job7", BatchSize: 25,
		Acknowledged: func(b *export.Batch) error { acked = append(acked, b.Key); return nil }})
	require.NoError(t, err)

	batches := srv.received(t)
	require.Greater(t, len(batches), 3)
	checkMembers(t, p, members, batches)
	for _, b := range batches {
		require.Equal(t, "vip", b.Segment)
		require.Equal(t, "job7", b.Export)
	}
	n := int64(len(batches))
	require.Equal(t, export.Stats{Rows: int64(members.GetCardinality()), Batches: n, Tries: n + 6, Bytes: srv.bytesN()}, st)
	require.EqualValues(t, srv.requestsN(), st.Tries)
	require.Len(t, acked, len(batches), "Run reports each acknowledged batch")
	view := srv.view()
	require.Equal(t, 2, view.taken["job7-3"], "the batch whose answer was lost was sent again under its key")
	for k, c := range view.taken {
		if k != "job7-3" {
			require.Equal(t, 1, c, "%s taken once", k)
		}
	}

	require.Len(t, log.waits, 6)
	require.Equal(t, 7*time.Second, log.waits[2], "Retry-After of the 429")
	require.Equal(t, time.Second, log.waits[3], "Retry-After of the 503")
	for _, i := range []int{0, 1, 4, 5} {
		require.Positive(t, log.waits[i])
		require.LessOrEqual(t, log.waits[i], 2*time.Second, "backoff bounded by MaxBackoff")
	}

	for _, h := range view.headers {
		require.Equal(t, "application/json", h.Get("Content-Type"))
		require.Equal(t, "segmentkit", h.Get("User-Agent"))
		require.Equal(t, "Bearer t0ken", h.Get("Authorization"))
		require.Equal(t, "yes", h.Get("X-Custom"))
		require.True(t, strings.HasPrefix(h.Get("Idempotency-Key"), "job7-"))
	}
}

func TestWebhookTriesRunOut(t *testing.T) {
	long := "upstream overloaded,\n\tretry   later. " + strings.Repeat("é", 150) + " TAIL"
	var script []hookStep
	for range 10 {
		script = append(script, hookStep{status: 503, body: long})
	}
	srv := newHookServer(t, script...)
	p, members := webhookPlan(t, 50, 2)
	log := &waitLog{}
	dest, err := export.NewWebhook(srv.srv.URL+"/in?token=hush", export.WebhookOptions{
		MaxTries: 3, InitialBackoff: 100 * time.Millisecond, Sleep: log.sleep,
		Headers: http.Header{"Authorization": {"Bearer sekrit"}}})
	require.NoError(t, err)
	st, err := runHook(t, context.Background(), dest, p, export.FullSet(members), export.RunOptions{ID: "job", BatchSize: 10})
	require.ErrorIs(t, err, export.ErrDelivery)
	msg := err.Error()
	for _, want := range []string{srv.srv.URL + "/in?token=xxxxx", "batch 1", "job-1", "after 3 tries", "503 Service Unavailable", `"upstream overloaded, retry later. éé`, `é"...`} {
		require.Contains(t, msg, want)
	}
	for _, not := range []string{"TAIL", "hush", "sekrit", "\n"} {
		require.NotContains(t, msg, not)
	}
	require.Equal(t, 3, srv.requestsN(), "tries are bounded")
	require.Equal(t, export.Stats{Tries: 3, Bytes: srv.bytesN()}, st)
	view := srv.view()
	require.Empty(t, view.mismatch, "the same body under the same key")
	require.Equal(t, 1, view.bodies)
	require.Len(t, log.waits, 2)
	for _, w := range log.waits {
		require.GreaterOrEqual(t, w, 50*time.Millisecond)
		require.LessOrEqual(t, w, export.DefaultWebhookMaxBackoff)
	}
}

func TestWebhookStatuses(t *testing.T) {
	for _, tc := range []struct {
		status  int
		retried bool
	}{
		{400, false}, {401, false}, {403, false}, {404, false}, {409, false}, {422, false}, {301, false},
		{408, true}, {429, true}, {500, true}, {502, true}, {503, true}, {504, true},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			srv := newHookServer(t, hookStep{status: tc.status, body: "nope: field X", location: map[bool]string{true: "/moved"}[tc.status == 301]})
			p, members := webhookPlan(t, 20, 3)
			dest, err := export.NewWebhook(srv.srv.URL, export.WebhookOptions{Sleep: (&waitLog{}).sleep})
			require.NoError(t, err)
			st, err := runHook(t, context.Background(), dest, p, export.FullSet(members), export.RunOptions{})
			if tc.retried {
				require.NoError(t, err)
				require.Equal(t, 2, srv.requestsN())
				require.EqualValues(t, 2, st.Tries)
				checkMembers(t, p, members, srv.received(t))
				return
			}
			require.ErrorIs(t, err, export.ErrDelivery)
			require.ErrorContains(t, err, strconv.Itoa(tc.status)+" "+http.StatusText(tc.status))
			require.ErrorContains(t, err, `"nope: field X"`)
			require.ErrorContains(t, err, "not retried")
			require.Equal(t, 1, srv.requestsN(), "a %d is not retried nor followed", tc.status)
		})
	}
}

func TestWebhookFollowsPostRedirect(t *testing.T) {
	srv := newHookServer(t, hookStep{status: 307, location: "/elsewhere"})
	p, members := webhookPlan(t, 20, 4)
	dest, err := export.NewWebhook(srv.srv.URL, export.WebhookOptions{})
	require.NoError(t, err)
	_, err = runHook(t, context.Background(), dest, p, export.FullSet(members), export.RunOptions{})
	require.NoError(t, err)
	require.Equal(t, 2, srv.requestsN())
	checkMembers(t, p, members, srv.received(t))
}

func TestWebhookRetryAfter(t *testing.T) {
	date := time.Now().Add(20 * time.Second).UTC().Format(http.TimeFormat)
	srv := newHookServer(t,
		hookStep{status: 429, retryAfter: "3"},
		hookStep{status: 503, retryAfter: date},
		hookStep{status: 429, retryAfter: "100000"},
		hookStep{status: 429, retryAfter: "soon"},
		hookStep{status: 500, retryAfter: "9"}, // only 429 and 503 say when
		hookStep{status: 503, retryAfter: "0"},
	)
	p, members := webhookPlan(t, 20, 5)
	log := &waitLog{}
	dest, err := export.NewWebhook(srv.srv.URL, export.WebhookOptions{MaxTries: 10, InitialBackoff: 100 * time.Millisecond, MaxBackoff: time.Second, Sleep: log.sleep})
	require.NoError(t, err)
	_, err = runHook(t, context.Background(), dest, p, export.FullSet(members), export.RunOptions{})
	require.NoError(t, err)
	require.Len(t, log.waits, 6)
	require.Equal(t, 3*time.Second, log.waits[0])
	require.Greater(t, log.waits[1], 17*time.Second, "an HTTP date")
	require.LessOrEqual(t, log.waits[1], 20*time.Second)
	require.Equal(t, export.MaxRetryAfter, log.waits[2], "a longer Retry-After is cut")
	require.LessOrEqual(t, log.waits[3], time.Second, "an unreadable Retry-After: backoff")
	require.LessOrEqual(t, log.waits[4], time.Second, "a 500's Retry-After is not honoured")
	require.Zero(t, log.waits[5])
	checkMembers(t, p, members, srv.received(t))
}

func TestWebhookCancel(t *testing.T) {
	p, members := webhookPlan(t, 20, 6)
	t.Run("request", func(t *testing.T) {
		var script []hookStep
		for range 5 {
			script = append(script, hookStep{stall: true})
		}
		srv := newHookServer(t, script...)
		dest, err := export.NewWebhook(srv.srv.URL, export.WebhookOptions{Timeout: time.Minute})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		start := time.Now()
		_, err = runHook(t, ctx, dest, p, export.FullSet(members), export.RunOptions{})
		require.ErrorIs(t, err, context.Canceled)
		require.NotErrorIs(t, err, export.ErrDelivery)
		require.Less(t, time.Since(start), 5*time.Second)
		require.Equal(t, 1, srv.requestsN())
	})
	t.Run("wait", func(t *testing.T) {
		srv := newHookServer(t, hookStep{status: 500}, hookStep{status: 500})
		// The real sleep: a minute's backoff, cut short by the cancel.
		dest, err := export.NewWebhook(srv.srv.URL, export.WebhookOptions{InitialBackoff: time.Minute, MaxBackoff: time.Minute})
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(200*time.Millisecond, cancel)
		start := time.Now()
		st, err := runHook(t, ctx, dest, p, export.FullSet(members), export.RunOptions{})
		require.ErrorIs(t, err, context.Canceled)
		require.Less(t, time.Since(start), 5*time.Second)
		require.Equal(t, 1, srv.requestsN())
		require.EqualValues(t, 1, st.Tries)
	})
}

func TestWebhookEmptyExportSendsNothing(t *testing.T) {
	srv := newHookServer(t)
	p, _ := webhookPlan(t, 20, 7)
	for _, url := range []string{srv.srv.URL, "http://127.0.0.1:1/nobody-listens"} {
		dest, err := export.NewWebhook(url, export.WebhookOptions{MaxTries: 1})
		require.NoError(t, err)
		st, err := runHook(t, context.Background(), dest, p, export.FullSet(roaring.New()), export.RunOptions{})
		require.NoError(t, err, "Open does not contact the server")
		require.Zero(t, st)
	}
	require.Zero(t, srv.requestsN())
}

func TestWebhookNetworkErrorHidesSecrets(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nobody listens there now
	p, members := webhookPlan(t, 20, 8)
	log := &waitLog{}
	dest, err := export.NewWebhook(url+"/x?token=hush", export.WebhookOptions{MaxTries: 2, Sleep: log.sleep})
	require.NoError(t, err)
	st, err := runHook(t, context.Background(), dest, p, export.FullSet(members), export.RunOptions{})
	require.ErrorIs(t, err, export.ErrDelivery)
	require.ErrorContains(t, err, "after 2 tries; last error:")
	require.NotContains(t, err.Error(), "hush")
	require.EqualValues(t, 2, st.Tries)
	require.Len(t, log.waits, 1)
}

func TestWebhookStalledServerRetriedThenFails(t *testing.T) {
	srv := newHookServer(t, hookStep{stall: true}, hookStep{stall: true})
	p, members := webhookPlan(t, 20, 9)
	dest, err := export.NewWebhook(srv.srv.URL, export.WebhookOptions{MaxTries: 2, Timeout: 100 * time.Millisecond, Sleep: (&waitLog{}).sleep})
	require.NoError(t, err)
	_, err = runHook(t, context.Background(), dest, p, export.FullSet(members), export.RunOptions{})
	require.ErrorIs(t, err, export.ErrDelivery)
	require.ErrorContains(t, err, "no answer within 100ms")
	require.NotErrorIs(t, err, context.DeadlineExceeded)
	require.Equal(t, 2, srv.requestsN())
}

func TestNewWebhookRejects(t *testing.T) {
	for _, u := range []string{"", "ftp://example.com/x", "http://", "https:///path", "example.com/hook", "http:opaque", "http://exa mple.com", "://x", "http://[::1"} {
		_, err := export.NewWebhook(u, export.WebhookOptions{})
		require.ErrorIs(t, err, export.ErrDestination, "%q", u)
	}
	_, err := export.NewWebhook("https://user:pw@example.com/x?secret=s3", export.WebhookOptions{MaxTries: -1})
	require.ErrorIs(t, err, export.ErrDestination)
	require.NotContains(t, err.Error(), "pw")
	require.NotContains(t, err.Error(), "s3")
	_, err = export.NewWebhook("https://example.com", export.WebhookOptions{Timeout: -time.Second})
	require.ErrorIs(t, err, export.ErrDestination)
	_, err = export.NewWebhook("ftp://user:pw@example.com/?k=s3", export.WebhookOptions{})
	require.ErrorContains(t, err, "want http or https")
	require.NotContains(t, err.Error(), "pw")
	require.NotContains(t, err.Error(), "s3")
}

func TestWebhookString(t *testing.T) {
	dest, err := export.NewWebhook("https://user:s3cret@hooks.example.com:8443/in/v1?token=abc&flag#frag",
		export.WebhookOptions{Headers: http.Header{"Authorization": {"Bearer zzz"}}})
	require.NoError(t, err)
	require.Equal(t, "webhook:https://hooks.example.com:8443/in/v1?token=xxxxx&xxxxx", dest.String())
	dest, err = export.NewWebhook("http://localhost/hook", export.WebhookOptions{})
	require.NoError(t, err)
	require.Equal(t, "webhook:http://localhost/hook", dest.String())
}

// TestWebhookDeltaRoundTrip applies the delta exports of a series of
// refreshes, as a receiver would, through a flaky server: after each the
// receiver's set equals the members.
func TestWebhookDeltaRoundTrip(t *testing.T) {
	ctx := context.Background()
	srv := newHookServer(t)
	srv.failEvery = 3
	dest, err := export.NewWebhook(srv.srv.URL, export.WebhookOptions{Sleep: (&waitLog{}).sleep})
	require.NoError(t, err)
	sent := export.SentMap{}
	applied := map[string]bool{}
	next := 0 // received batches applied so far
	for round := range 5 {
		snap := testSnapshot(t, 80+round*13, uint64(round+20))
		members := someMembers(snap, uint64(round*7))
		p, err := export.NewPlan(ctx, snap, export.Fields{Names: []string{"Age", "Measures.Spend"}}, time.Now(), members)
		require.NoError(t, err)
		set, err := export.Diff(ctx, p, sent, members, true)
		require.NoError(t, err)
		_, err = runHook(t, ctx, dest, p, set, export.RunOptions{ID: fmt.Sprintf("r%d", round), BatchSize: 6,
			Acknowledged: func(b *export.Batch) error {
				for _, r := range b.Rows {
					if r.Change == export.Left {
						delete(sent, r.Key)
					} else {
						sent[r.Key] = r.Hash
					}
				}
				return nil
			}})
		require.NoError(t, err)
		batches := srv.received(t)
		for _, b := range batches[next:] {
			require.Equal(t, "delta", b.Mode)
			var rows []map[string]string
			for _, r := range b.Rows {
				rows = append(rows, map[string]string{"change": r["change"].(string), "CustomerId": r["CustomerId"].(string)})
			}
			applyDelta(t, applied, rows)
		}
		next = len(batches)
		require.Equal(t, keysOf(snap, members), applied, "round %d", round)
	}
	require.Greater(t, srv.requestsN(), next, "some requests failed and were retried")
}

// TestWebhookResendSameBody: a batch recorded before it was written and
// sent again with Resend (after a crash) reaches the server with the same
// key and the same bytes.
func TestWebhookResendSameBody(t *testing.T) {
	srv := newHookServer(t)
	p, members := webhookPlan(t, 60, 10)
	dest, err := export.NewWebhook(srv.srv.URL, export.WebhookOptions{})
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	h := p.Header("seg", export.Full, "job")
	var enc [][]byte
	_, err = export.Run(context.Background(), dest, p, export.FullSet(members), export.RunOptions{
		Segment: "seg", ID: "job", BatchSize: 9, Allocator: mem,
		Before: func(b *export.Batch) error {
			bs, err := export.EncodeBatch(h, b)
			enc = append(enc, bs)
			return err
		}})
	require.NoError(t, err)
	for _, bs := range enc {
		dh, b, err := export.DecodeBatch(bs, mem)
		require.NoError(t, err)
		st, err := export.Resend(context.Background(), dest, dh, b)
		b.Record.Release()
		require.NoError(t, err)
		require.EqualValues(t, 1, st.Batches)
	}
	view := srv.view()
	require.Empty(t, view.mismatch)
	require.Len(t, view.taken, len(enc))
	for k, n := range view.taken {
		require.Equal(t, 2, n, k)
	}
	checkMembers(t, p, members, srv.received(t))
}
