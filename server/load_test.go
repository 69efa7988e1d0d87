package server

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// The load tests run many clients against one server at once, each
// choosing its next request at random from a weighted mix: lists,
// previews, evaluations and quick estimates, CSV downloads, refresh jobs
// (polled until they end), edits of one segment, and scratch segments
// created, read and deleted. Every answer is checked: its status and body
// must be documented (the OpenAPI document), and what it says must agree
// with what the data and the catalog hold, computed beforehand without
// the server.
//
// The only error answers the mix may get are these, each expected where
// it comes:
//   - 404 catalog.not_found for a client's own scratch segment read after
//     it deleted it, and for another client's scratch segment ("peek"),
//     which its owner may have deleted in between;
//   - 422 catalog.invalid for the invalid definition evaluate sends on
//     purpose, one time in ten.
//
// A refresh job must end successfully, or failed with one failed task:
// the edited segment's, whose definition an edit changed while the job
// evaluated it (the catalog then keeps its members as they were).
//
// Any other status, a transport error, a body that does not match, a
// refresh job that ends otherwise, or a warning or error the server logs
// fails the test.

var loadFlag = flag.Duration("server.load", 0, "how long TestLoad and TestLoadReload run their clients (0: $SEGMENTKIT_SERVER_LOAD, or 3s)")

// loadDuration is how long the load tests run: -server.load, else
// $SEGMENTKIT_SERVER_LOAD, else 3 s, so that the package's tests stay
// fast unless a full run is asked for.
func loadDuration(t testing.TB) time.Duration {
	t.Helper()
	if *loadFlag > 0 {
		return *loadFlag
	}
	if v := os.Getenv("SEGMENTKIT_SERVER_LOAD"); v != "" {
		d, err := time.ParseDuration(v)
		require.NoError(t, err, "SEGMENTKIT_SERVER_LOAD")
		require.Positive(t, d, "SEGMENTKIT_SERVER_LOAD")
		return d
	}
	return 3 * time.Second
}

// loadClients is how many clients TestLoad runs at once.
const loadClients = 200

// --- the client ---

// loadClient sends requests to a server from many goroutines. It never
// fails a test itself (testing's FailNow belongs to the test's
// goroutine): its callers record failures.
type loadClient struct {
	base string
	hc   *http.Client
}

func newLoadClient(base string) *loadClient {
	tr := &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
	return &loadClient{base: base, hc: &http.Client{Transport: tr, Timeout: 2 * time.Minute}}
}

// close closes the client's idle connections.
func (c *loadClient) close() { c.hc.CloseIdleConnections() }

// answer is one response, read whole.
type answer struct {
	method, path string
	status       int
	contentType  string
	body         []byte
	took         time.Duration
}

// do sends a request (body: nil, a string of JSON, or a value to marshal)
// and reads its answer whole; took spans both. When the answer is cut
// short, its status is set and the error says so.
func (c *loadClient) do(method, path string, body any) (answer, error) {
	a := answer{method: method, path: path}
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return a, err
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return a, err
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.hc.Do(req)
	if err != nil {
		return a, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	a.status, a.contentType = resp.StatusCode, resp.Header.Get("Content-Type")
	a.body, err = io.ReadAll(resp.Body)
	a.took = time.Since(start)
	if err != nil {
		return a, fmt.Errorf("%s %s: read the answer (%d): %w", method, path, a.status, err)
	}
	return a, nil
}

func (a answer) String() string {
	b := a.body
	if len(b) > 300 {
		b = append(b[:300:300], "..."...)
	}
	return fmt.Sprintf("%s %s: %d %s", a.method, a.path, a.status, b)
}

// expect checks that a has the status, is documented, and decodes its
// JSON body into v (when v is not nil).
func (a answer) expect(status int, v any) error {
	if a.status != status {
		return fmt.Errorf("%v (want %d)", a, status)
	}
	if err := documented(a); err != nil {
		return err
	}
	if v != nil {
		if err := json.Unmarshal(a.body, v); err != nil {
			return fmt.Errorf("%v: %w", a, err)
		}
	}
	return nil
}

// isProblem checks that a is a documented problem with the status and
// code.
func (a answer) isProblem(status int, code string) error {
	var p struct {
		Code   string `json:"code"`
		Status int    `json:"status"`
	}
	if err := a.expect(status, &p); err != nil {
		return err
	}
	if a.contentType != "application/problem+json" || p.Code != code || p.Status != status {
		return fmt.Errorf("%v: want a problem %d %s (%s)", a, status, code, a.contentType)
	}
	return nil
}

// documented checks an answer against the OpenAPI document as
// recordCall does, returning what does not match.
func documented(a answer) error {
	req, err := http.NewRequest(a.method, "http://localhost"+a.path, nil)
	if err != nil {
		return err
	}
	_, pattern := matcher.Handler(req)
	rt, ok := routeByPattern[pattern]
	if !ok {
		return nil
	}
	op := doc["paths"].(schemaMap)[rt.path].(schemaMap)[strings.ToLower(rt.method)].(schemaMap)
	resp, ok := op["responses"].(schemaMap)[strconv.Itoa(a.status)].(schemaMap)
	if !ok {
		return fmt.Errorf("%v: the document does not list %d for %s", a, a.status, rt.id)
	}
	content, ok := resp["content"].(schemaMap)
	if !ok || len(a.body) == 0 {
		return nil
	}
	ct, _, _ := strings.Cut(a.contentType, ";")
	media, ok := content[ct].(schemaMap)
	if !ok {
		return fmt.Errorf("%v: content type %s is not documented for %s", a, ct, rt.id)
	}
	if !strings.HasSuffix(ct, "json") {
		return nil
	}
	var v any
	if err := json.Unmarshal(a.body, &v); err != nil {
		return fmt.Errorf("%v: %w", a, err)
	}
	if err := conforms(media["schema"].(schemaMap), v, "body"); err != nil {
		return fmt.Errorf("%v: %w", a, err)
	}
	return nil
}

// failures collects what went wrong in the clients' goroutines, for the
// test's goroutine to report.
type failures struct {
	mu    sync.Mutex
	n     int
	first []string
}

func (f *failures) add(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	if len(f.first) < 20 {
		f.first = append(f.first, fmt.Sprintf(format, args...))
	}
}

func (f *failures) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

// check fails t with the first failures, if any.
func (f *failures) check(t testing.TB) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.n > 0 {
		t.Errorf("%d failures; the first:\n%s", f.n, strings.Join(f.first, "\n"))
	}
}

// --- what the answers must say ---

// loadWant is what the answers must agree with.
type loadWant struct {
	// customers are the totals a snapshot may have (one, or one per data
	// version when the data changes).
	customers []int
	// evalDefs are the definitions evaluated, evalMembers each one's
	// members by the snapshot's customers.
	evalDefs    []string
	evalMembers map[int][]uint64
	// estimates are quick estimate queries (field, op, value), estMembers
	// each one's members by the snapshot's customers.
	estimates  []url.Values
	estMembers map[int][]uint64
	// members are the member counts each segment may show; nil: any up to
	// the largest total.
	members map[string][]uint64
	// fixed are the segments that are never deleted; downloads those
	// previewed and downloaded.
	fixed, downloads []string
	// edited is the segment edits alternate between editDefs ("" for no
	// edits); its name is in each.
	edited   string
	editDefs []string
}

func (w *loadWant) maxCustomers() int { return slices.Max(w.customers) }

// allowed reports whether a segment may show n members.
func (w *loadWant) allowed(name string, n uint64) bool {
	if w.members == nil {
		return n <= uint64(w.maxCustomers())
	}
	ms, ok := w.members[name]
	return !ok || slices.Contains(ms, n)
}

// The definitions evaluated and the quick estimates asked for.
var (
	loadEvalDefs = []string{
		string(demo.ExampleSegment()),
		`{"name": "Adults", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThanOrEqual", "value": 40}}]}`,
		`{"name": "WebBuyers", "groups": [{"condition": {"related": "Order", "where": {"attribute": "Order.Channel", "operator": "equals", "value": "web"},
		  "aggregate": {"function": "count"}, "operator": "greaterThanOrEqual", "value": 3}}]}`,
		`{"name": "VipAgain", "groups": [{"condition": {"segment": "VipCustomers"}}, {"setOperator": "union", "condition": {"attribute": "Customer.Age", "operator": "lessThan", "value": 20}}]}`,
	}
	loadInvalidDef = `{"name": "Bad", "groups": [{"condition": {"attribute": "Customer.Agee", "operator": "greaterThan", "value": 1}}]}`
	loadEstimates  = []url.Values{
		{"field": {"Customer.Age"}, "op": {"between"}, "value": {"30,40"}},
		{"field": {"Customer.Country"}, "op": {"is"}, "value": {"DE"}},
		{"field": {"Customer.IsVip"}, "op": {"is"}, "value": {"true"}},
	}
)

// editDef is the edited segment's definition: the ones edits alternate
// between differ in who they select.
func editDef(name string, which int, description string) string {
	ages := []int{40, 25}
	op := []string{"greaterThanOrEqual", "lessThan"}
	return fmt.Sprintf(`{"name": %q, "description": %q, "groups": [{"condition": {"attribute": "Customer.Age", "operator": %q, "value": %d}}]}`,
		name, description, op[which], ages[which])
}

// snapshotWant computes, without the server, what evaluations of defs
// (segs: the members of the segments they name) and the quick estimates
// over snap must answer, at asOf.
func snapshotWant(t testing.TB, snap *storage.Snapshot, asOf time.Time, defs []string, segs map[string]*roaring.Bitmap) (evals, ests []uint64) {
	t.Helper()
	for _, raw := range defs {
		def, err := segment.Parse([]byte(raw))
		require.NoError(t, err)
		plan, err := engine.Compile(def, snap, engine.Options{Segments: segs})
		require.NoError(t, err)
		n, err := plan.EvalCardinality(t.Context(), asOf)
		require.NoError(t, err)
		evals = append(evals, n)
	}
	view := quick.New(snap, quick.Options{}).At(asOf)
	for _, q := range loadEstimates {
		f, err := view.Field(t.Context(), q.Get("field"))
		require.NoError(t, err)
		op, err := quick.ParseOp(q.Get("op"))
		require.NoError(t, err)
		v, err := quick.ParseValue(f, op, q.Get("value"))
		require.NoError(t, err)
		size, err := view.Estimate(t.Context(), f.Name, op, v)
		require.NoError(t, err)
		require.Equal(t, snap.NumCustomers(), size.Customers)
		ests = append(ests, uint64(size.MemberCount))
	}
	return evals, ests
}

// --- the mix ---

// The operations of the mix.
const (
	opList = iota
	opData
	opPreview
	opEvaluate
	opEstimate
	opDownload
	opRefresh
	opJob
	opEdit
	opScratch
	opPeek
	numOps
)

var opNames = [numOps]string{"list", "data", "preview", "evaluate", "estimate", "download", "refresh", "job", "edit", "scratch", "peek"}

// loadMix is the clients' shared state.
type loadMix struct {
	c    *loadClient
	want *loadWant
	asOf string // RFC 3339: the as-of of evaluations, estimates and refreshes
	// weights are the operations' shares of the steps (opJob: none; it
	// follows a refresh).
	weights [numOps]int
	fails   *failures
	// refreshes bounds the refresh jobs in flight: the catalog runs one
	// at a time, and a deep queue would only measure the queue.
	refreshes chan struct{}
	// board holds recent scratch segments' names, for peeks.
	boardMu sync.Mutex
	board   []string
	// seen counts the answers that named each customer total.
	seen     map[int]*atomic.Int64
	count    [numOps]atomic.Int64
	notFound atomic.Int64 // expected 404s
	invalid  atomic.Int64 // expected 422s
	jobs     atomic.Int64 // refresh jobs that ended successfully
	raced    atomic.Int64 // refresh jobs that failed for an edit during them
}

func newLoadMix(c *loadClient, want *loadWant, asOf time.Time, weights [numOps]int, fails *failures) *loadMix {
	m := &loadMix{c: c, want: want, asOf: asOf.Format(time.RFC3339), weights: weights, fails: fails,
		refreshes: make(chan struct{}, 2), seen: map[int]*atomic.Int64{}}
	for _, n := range want.customers {
		m.seen[n] = new(atomic.Int64)
	}
	return m
}

// loadWorker is one client's own state.
type loadWorker struct {
	id      int
	rng     *rand.Rand
	lat     [numOps][]time.Duration
	scratch int
}

func newLoadWorker(id int) *loadWorker {
	return &loadWorker{id: id, rng: rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))}
}

// pick chooses the next operation.
func (m *loadMix) pick(w *loadWorker) int {
	total := 0
	for _, wt := range m.weights {
		total += wt
	}
	n := w.rng.IntN(total)
	for op, wt := range m.weights {
		if n < wt {
			return op
		}
		n -= wt
	}
	return opList
}

// call sends a request for op, recording its latency; a transport error
// is a failure, reported as false.
func (m *loadMix) call(w *loadWorker, op int, method, path string, body any) (answer, bool) {
	a, err := m.c.do(method, path, body)
	if err != nil {
		m.fails.add("%s: %v", opNames[op], err)
		return a, false
	}
	w.lat[op] = append(w.lat[op], a.took)
	m.count[op].Add(1)
	return a, true
}

// check records err, if any, as a failure of op.
func (m *loadMix) check(op int, err error) bool {
	if err != nil {
		m.fails.add("%s: %v", opNames[op], err)
		return false
	}
	return true
}

// customers checks a snapshot's total and counts it as seen.
func (m *loadMix) customers(op int, a answer, n int) bool {
	c, ok := m.seen[n]
	if !ok {
		m.fails.add("%s: %v: %d customers, want one of %v", opNames[op], a, n, m.want.customers)
		return false
	}
	c.Add(1)
	return true
}

// run runs clients workers for d and returns them, with their latencies.
func (m *loadMix) run(clients int, d time.Duration) []*loadWorker {
	stop := time.Now().Add(d)
	workers := make([]*loadWorker, clients)
	var wg sync.WaitGroup
	for i := range workers {
		w := newLoadWorker(i)
		workers[i] = w
		wg.Go(func() {
			for time.Now().Before(stop) {
				m.step(w, m.pick(w))
			}
		})
	}
	wg.Wait()
	return workers
}

// step runs one operation.
func (m *loadMix) step(w *loadWorker, op int) {
	switch op {
	case opList:
		m.list(w)
	case opData:
		m.data(w)
	case opPreview:
		m.preview(w)
	case opEvaluate:
		m.evaluate(w)
	case opEstimate:
		m.estimate(w)
	case opDownload:
		m.download(w)
	case opRefresh, opJob:
		m.refresh(w)
	case opEdit:
		m.edit(w)
	case opScratch:
		m.scratchSegment(w)
	case opPeek:
		m.peek(w)
	}
}

type listedSegment struct {
	Name    string `json:"name"`
	State   string `json:"state"`
	Members uint64 `json:"members"`
}

func (m *loadMix) list(w *loadWorker) {
	path := "/api/segments?limit=1000"
	if w.rng.IntN(2) == 0 {
		path += "&sort=members&desc=true"
	}
	a, ok := m.call(w, opList, "GET", path, nil)
	if !ok {
		return
	}
	var out struct {
		Segments []listedSegment `json:"segments"`
		Total    int             `json:"total"`
	}
	if !m.check(opList, a.expect(200, &out)) {
		return
	}
	if out.Total != len(out.Segments) {
		m.fails.add("list: %d segments of %d", len(out.Segments), out.Total)
	}
	names := map[string]bool{}
	for _, s := range out.Segments {
		names[s.Name] = true
		if !m.want.allowed(s.Name, s.Members) {
			m.fails.add("list: %s has %d members, want one of %v", s.Name, s.Members, m.want.members[s.Name])
		}
	}
	for _, f := range m.want.fixed {
		if !names[f] {
			m.fails.add("list: %s is missing", f)
		}
	}
	if strings.Contains(path, "desc") {
		for i := 1; i < len(out.Segments); i++ {
			if out.Segments[i-1].Members < out.Segments[i].Members {
				m.fails.add("list: not sorted by members: %v", out.Segments)
				break
			}
		}
	}
}

func (m *loadMix) data(w *loadWorker) {
	a, ok := m.call(w, opData, "GET", "/api/data", nil)
	if !ok {
		return
	}
	var out struct {
		Customers int `json:"customers"`
	}
	if m.check(opData, a.expect(200, &out)) {
		m.customers(opData, a, out.Customers)
	}
}

// segmentToRead picks a segment to preview or download.
func (m *loadMix) segmentToRead(w *loadWorker) string {
	names := m.want.downloads
	if m.want.edited != "" && w.rng.IntN(len(names)+1) == 0 {
		return m.want.edited
	}
	return names[w.rng.IntN(len(names))]
}

func (m *loadMix) preview(w *loadWorker) {
	name := m.segmentToRead(w)
	a, ok := m.call(w, opPreview, "GET", "/api/segments/"+name+"/preview?rows=20", nil)
	if !ok {
		return
	}
	var out struct {
		Total uint64  `json:"total"`
		Rows  [][]any `json:"rows"`
	}
	if !m.check(opPreview, a.expect(200, &out)) {
		return
	}
	if !m.want.allowed(name, out.Total) || len(out.Rows) != int(min(out.Total, 20)) {
		m.fails.add("preview: %s: %d rows of %d members, want one of %v", name, len(out.Rows), out.Total, m.want.members[name])
	}
}

func (m *loadMix) evaluate(w *loadWorker) {
	if w.rng.IntN(10) == 0 {
		a, ok := m.call(w, opEvaluate, "POST", "/api/evaluate", `{"definition": `+loadInvalidDef+`, "first": 0}`)
		if ok && m.check(opEvaluate, a.isProblem(422, "catalog.invalid")) {
			m.invalid.Add(1)
		}
		return
	}
	i := w.rng.IntN(len(m.want.evalDefs))
	body := `{"definition": ` + m.want.evalDefs[i] + `, "first": 0, "asOf": "` + m.asOf + `"}`
	a, ok := m.call(w, opEvaluate, "POST", "/api/evaluate", body)
	if !ok {
		return
	}
	var out struct {
		Members   uint64   `json:"members"`
		Customers int      `json:"customers"`
		First     []string `json:"first"`
	}
	if !m.check(opEvaluate, a.expect(200, &out)) || !m.customers(opEvaluate, a, out.Customers) {
		return
	}
	if want := m.want.evalMembers[out.Customers][i]; out.Members != want || len(out.First) != 0 {
		m.fails.add("evaluate: definition %d over %d customers: %d members (first %v), want %d", i, out.Customers, out.Members, out.First, want)
	}
}

func (m *loadMix) estimate(w *loadWorker) {
	i := w.rng.IntN(len(m.want.estimates))
	a, ok := m.call(w, opEstimate, "GET", "/api/quick/estimate?"+m.want.estimates[i].Encode()+"&asOf="+url.QueryEscape(m.asOf), nil)
	if !ok {
		return
	}
	var out struct {
		Members   uint64 `json:"members"`
		Customers int    `json:"customers"`
	}
	if !m.check(opEstimate, a.expect(200, &out)) || !m.customers(opEstimate, a, out.Customers) {
		return
	}
	if want := m.want.estMembers[out.Customers][i]; out.Members != want {
		m.fails.add("estimate %v over %d customers: %d members, want %d", m.want.estimates[i], out.Customers, out.Members, want)
	}
}

func (m *loadMix) download(w *loadWorker) {
	name := m.segmentToRead(w)
	a, ok := m.call(w, opDownload, "GET", "/api/segments/"+name+"/download", nil)
	if !ok {
		return
	}
	if a.status != 200 || a.contentType != "text/csv; charset=utf-8" {
		m.fails.add("download: %v (%s)", a, a.contentType)
		return
	}
	rows, err := csv.NewReader(bytes.NewReader(a.body)).ReadAll()
	if err != nil || len(rows) == 0 || rows[0][0] != "CustomerId" {
		m.fails.add("download: %s: not a CSV with a header: %v", name, err)
		return
	}
	n := uint64(len(rows) - 1)
	if !m.want.allowed(name, n) {
		m.fails.add("download: %s: %d rows, want one of %v", name, n, m.want.members[name])
	}
	keys := make(map[string]bool, len(rows))
	for _, r := range rows[1:] {
		if keys[r[0]] {
			m.fails.add("download: %s: customer %s twice", name, r[0])
			return
		}
		keys[r[0]] = true
	}
}

var jobRunning = []string{"not started", "queued", "refreshing"}

func (m *loadMix) refresh(w *loadWorker) {
	select {
	case m.refreshes <- struct{}{}:
		defer func() { <-m.refreshes }()
	default:
		m.list(w) // enough jobs run: do something else
		return
	}
	body := map[string]any{"all": true, "asOf": m.asOf}
	if w.rng.IntN(2) == 0 {
		names := []string{m.want.downloads[w.rng.IntN(len(m.want.downloads))]}
		if m.want.edited != "" {
			names = append(names, m.want.edited)
		}
		body = map[string]any{"segments": names, "asOf": m.asOf}
	}
	a, ok := m.call(w, opRefresh, "POST", "/api/refresh", body)
	if !ok {
		return
	}
	var job struct {
		ID     uint64   `json:"id"`
		Status string   `json:"status"`
		Errors []string `json:"errors"`
		Tasks  []struct {
			Segment string   `json:"segment"`
			Status  string   `json:"status"`
			Errors  []string `json:"errors"`
		} `json:"tasks"`
	}
	if !m.check(opRefresh, a.expect(202, &job)) {
		return
	}
	for deadline := time.Now().Add(2 * time.Minute); slices.Contains(jobRunning, job.Status); {
		if time.Now().After(deadline) {
			m.fails.add("refresh: job %d did not end", job.ID)
			return
		}
		time.Sleep(25 * time.Millisecond)
		a, ok := m.call(w, opJob, "GET", fmt.Sprintf("/api/jobs/%d", job.ID), nil)
		if !ok || !m.check(opJob, a.expect(200, &job)) {
			return
		}
	}
	if job.Status == "successful" {
		m.jobs.Add(1)
		return
	}
	// The one way a job may fail: an edit of the edited segment while the
	// job evaluated it.
	for _, task := range job.Tasks {
		if task.Status == "failed" && (task.Segment != m.want.edited || len(task.Errors) != 1 || !strings.Contains(task.Errors[0], "edited during the refresh")) {
			m.fails.add("refresh: job %d ended %s: %v; %s %s: %v", job.ID, job.Status, job.Errors, task.Segment, task.Status, task.Errors)
			return
		}
	}
	if job.Status != "failed" || len(job.Errors) != 0 {
		m.fails.add("refresh: job %d ended %s: %v", job.ID, job.Status, job.Errors)
		return
	}
	m.raced.Add(1)
}

func (m *loadMix) edit(w *loadWorker) {
	if m.want.edited == "" {
		m.list(w)
		return
	}
	which := w.rng.IntN(len(m.want.editDefs))
	desc := fmt.Sprintf("edit %d by %d", w.scratch, w.id)
	w.scratch++
	a, ok := m.call(w, opEdit, "PUT", "/api/segments/"+m.want.edited, `{"definition": `+editDef(m.want.edited, which, desc)+`}`)
	if !ok {
		return
	}
	var seg struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		State       string `json:"state"`
	}
	// The answer is the segment as read after the edit committed: an
	// edit by another client committed in between shows instead.
	if m.check(opEdit, a.expect(200, &seg)) && (seg.Name != m.want.edited || !strings.HasPrefix(seg.Description, "edit ") || seg.State != "active") {
		m.fails.add("edit: answered %+v to %q", seg, desc)
	}
}

// scratchSegment creates a segment of the worker's own, reads it,
// deletes it and reads it again (404).
func (m *loadMix) scratchSegment(w *loadWorker) {
	name := fmt.Sprintf("Scratch%dx%d", w.id, w.scratch)
	w.scratch++
	def := fmt.Sprintf(`{"name": %q, "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": %d}}]}`, name, 18+w.rng.IntN(50))
	a, ok := m.call(w, opScratch, "POST", "/api/segments", `{"definition": `+def+`}`)
	if !ok {
		return
	}
	var seg listedSegment
	if !m.check(opScratch, a.expect(201, &seg)) {
		return
	}
	if seg.Name != name || seg.State != "inactive" {
		m.fails.add("scratch: created %+v", seg)
	}
	m.boardMu.Lock()
	m.board = append(m.board, name)
	if len(m.board) > 64 {
		m.board = slices.Delete(m.board, 0, len(m.board)-64)
	}
	m.boardMu.Unlock()
	if a, ok = m.call(w, opScratch, "GET", "/api/segments/"+name, nil); !ok || !m.check(opScratch, a.expect(200, &seg)) {
		return
	}
	var pv struct {
		Total uint64 `json:"total"`
	}
	if a, ok = m.call(w, opScratch, "GET", "/api/segments/"+name+"/preview?rows=5", nil); !ok || !m.check(opScratch, a.expect(200, &pv)) {
		return
	}
	if pv.Total != 0 {
		m.fails.add("scratch: %s, never refreshed, has %d members", name, pv.Total)
	}
	if a, ok = m.call(w, opScratch, "DELETE", "/api/segments/"+name, nil); !ok || !m.check(opScratch, a.expect(204, nil)) {
		return
	}
	if a, ok = m.call(w, opScratch, "GET", "/api/segments/"+name, nil); ok && m.check(opScratch, a.isProblem(404, "catalog.not_found")) {
		m.notFound.Add(1)
	}
}

// peek reads a scratch segment of any client: it may be gone.
func (m *loadMix) peek(w *loadWorker) {
	m.boardMu.Lock()
	name := ""
	if len(m.board) > 0 {
		name = m.board[w.rng.IntN(len(m.board))]
	}
	m.boardMu.Unlock()
	if name == "" {
		m.list(w)
		return
	}
	a, ok := m.call(w, opPeek, "GET", "/api/segments/"+name, nil)
	if !ok {
		return
	}
	if a.status == 404 {
		if m.check(opPeek, a.isProblem(404, "catalog.not_found")) {
			m.notFound.Add(1)
		}
		return
	}
	var seg listedSegment
	if m.check(opPeek, a.expect(200, &seg)) && seg.Name != name {
		m.fails.add("peek: asked for %s, got %s", name, seg.Name)
	}
}

// latencies merges the workers' latencies of op, sorted.
func latencies(workers []*loadWorker, op int) []time.Duration {
	var all []time.Duration
	for _, w := range workers {
		all = append(all, w.lat[op]...)
	}
	slices.Sort(all)
	return all
}

// quantile returns the q quantile of sorted durations (0 for none).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

// report logs each operation's count and latency quantiles, and returns
// the p99 of each.
func report(t testing.TB, workers []*loadWorker, d time.Duration) [numOps]time.Duration {
	var p99 [numOps]time.Duration
	total := 0
	for op := range numOps {
		l := latencies(workers, op)
		total += len(l)
		p99[op] = quantile(l, 0.99)
		if len(l) > 0 {
			t.Logf("%-8s %7d requests  p50 %8v  p99 %8v  max %8v", opNames[op], len(l),
				quantile(l, 0.5).Round(10*time.Microsecond), p99[op].Round(10*time.Microsecond), l[len(l)-1].Round(10*time.Microsecond))
		}
	}
	t.Logf("%d requests by %d clients in %v: %.0f/s", total, len(workers), d, float64(total)/d.Seconds())
	return p99
}

// heapAfterGC returns the live heap after a collection.
func heapAfterGC() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

// checkGoroutines waits for the goroutine count to come back to at most
// before+slack, and fails t with the goroutines left if it does not.
func checkGoroutines(t testing.TB, before, slack int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before+slack {
		if time.Now().After(deadline) {
			var b strings.Builder
			pprof.Lookup("goroutine").WriteTo(&b, 1)
			t.Errorf("%d goroutines are left, %d before:\n%s", runtime.NumGoroutine(), before, b.String())
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// demoWant computes what the answers over the test demo must say: the
// demo's segments keep their member counts (refreshes evaluate them at
// the demo's as-of, over the same data), the edited one has one of its
// two definitions' counts.
func demoWant(t testing.TB, e *env, edited string) *loadWant {
	t.Helper()
	snap, release, err := e.src.Snapshot(t.Context())
	require.NoError(t, err)
	defer release()
	segs, err := e.cat.List(catalog.ListOptions{})
	require.NoError(t, err)
	want := &loadWant{customers: []int{snap.NumCustomers()}, evalDefs: loadEvalDefs, estimates: loadEstimates,
		evalMembers: map[int][]uint64{}, estMembers: map[int][]uint64{}, members: map[string][]uint64{}, edited: edited}
	refs := map[string]*roaring.Bitmap{}
	for _, s := range segs {
		want.fixed = append(want.fixed, s.Name)
		want.members[s.Name] = []uint64{s.MemberCount}
		if s.State == catalog.Active && s.Name != edited {
			want.downloads = append(want.downloads, s.Name)
		}
		bm, err := e.cat.MembersIn(t.Context(), s.Name, snap)
		require.NoError(t, err)
		require.EqualValues(t, s.MemberCount, bm.GetCardinality())
		refs[s.Name] = bm
	}
	want.evalMembers[snap.NumCustomers()], want.estMembers[snap.NumCustomers()] = snapshotWant(t, snap, testNow, want.evalDefs, refs)
	if edited != "" {
		want.members[edited] = nil
		for which := range 2 {
			def := editDef(edited, which, "")
			want.editDefs = append(want.editDefs, def)
			parsed, err := segment.Parse([]byte(def))
			require.NoError(t, err)
			plan, err := engine.Compile(parsed, snap, engine.Options{})
			require.NoError(t, err)
			n, err := plan.EvalCardinality(t.Context(), testNow)
			require.NoError(t, err)
			want.members[edited] = append(want.members[edited], n)
		}
		require.NotEqual(t, want.members[edited][0], want.members[edited][1])
	}
	return want
}

// loadWeights is TestLoad's mix.
var loadWeights = [numOps]int{opList: 20, opData: 5, opPreview: 14, opEvaluate: 15, opEstimate: 15, opDownload: 8,
	opRefresh: 3, opEdit: 6, opScratch: 7, opPeek: 7}

// startLoad creates the edited segment over the test demo and returns
// the mix, every operation run once.
func startLoad(t testing.TB, e *env, c *loadClient, fails *failures) *loadMix {
	t.Helper()
	const edited = "LoadEdited"
	_, err := e.cat.Create(t.Context(), []byte(editDef(edited, 0, "")), catalog.CreateOptions{Active: true, AsOf: testNow})
	require.NoError(t, err)
	want := demoWant(t, e, edited)
	m := newLoadMix(c, want, testNow, loadWeights, fails)
	w := newLoadWorker(-1)
	for op := range numOps {
		m.step(w, op)
	}
	m.fails.check(t)
	require.Zero(t, m.fails.count(), "the first request of each kind")
	return m
}

// TestLoad runs loadClients clients for loadDuration against one
// server, checking every answer, and reports each operation's latency.
// The heap after the run is bounded by that before it, and every
// goroutine the run started ends once the server closes.
func TestLoad(t *testing.T) {
	d := loadDuration(t)
	before := runtime.NumGoroutine()
	var c *loadClient
	// Registered first, so it runs after the env's cleanups closed the
	// server.
	t.Cleanup(func() {
		if c != nil {
			c.close()
		}
		checkGoroutines(t, before, 3)
	})
	fails := &failures{}
	e := newEnv(t, Options{ReloadInterval: 50 * time.Millisecond, Logger: slog.New(&logWatch{fails: fails})})
	c = newLoadClient(e.http.URL)
	m := startLoad(t, e, c, fails)
	heap0 := heapAfterGC()
	start := time.Now()
	workers := m.run(loadClients, d)
	took := time.Since(start)
	m.fails.check(t)
	p99 := report(t, workers, took)
	t.Logf("p99 list %v, p99 estimate %v, p99 evaluate %v; %d refresh jobs successful, %d failed for an edit; %d expected 404s, %d expected 422s",
		p99[opList], p99[opEstimate], p99[opEvaluate], m.jobs.Load(), m.raced.Load(), m.notFound.Load(), m.invalid.Load())
	for op := range numOps {
		require.NotZero(t, m.count[op].Load(), "no %s requests", opNames[op])
	}
	require.NotZero(t, m.jobs.Load()+m.raced.Load(), "no refresh job ended")

	c.close()
	heap1 := heapAfterGC()
	t.Logf("heap: %.1f MiB before the run, %.1f MiB after", float64(heap0)/(1<<20), float64(heap1)/(1<<20))
	require.Less(t, heap1, 2*heap0+32<<20, "the heap grew from %d to %d bytes", heap0, heap1)
}

// BenchmarkServerMixed runs TestLoad's mix with 100 goroutines per
// GOMAXPROCS, one step of the mix per iteration, and reports the median
// and p99 latencies of lists, estimates and evaluations.
func BenchmarkServerMixed(b *testing.B) {
	fails := &failures{}
	e := newEnv(b, Options{Logger: slog.New(&logWatch{fails: fails})})
	c := newLoadClient(e.http.URL)
	defer c.close()
	m := startLoad(b, e, c, fails)
	var mu sync.Mutex
	var workers []*loadWorker
	var next atomic.Int64
	b.SetParallelism(100)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		w := newLoadWorker(int(next.Add(1)))
		for pb.Next() {
			m.step(w, m.pick(w))
		}
		mu.Lock()
		workers = append(workers, w)
		mu.Unlock()
	})
	b.StopTimer()
	m.fails.check(b)
	for _, op := range []int{opList, opEstimate, opEvaluate} {
		l := latencies(workers, op)
		for _, q := range []float64{0.5, 0.99} {
			b.ReportMetric(float64(quantile(l, q))/float64(time.Millisecond), fmt.Sprintf("p%.0f-%s-ms", q*100, opNames[op]))
		}
	}
}
