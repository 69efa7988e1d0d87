package server

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/storage"
)

// The kill test builds the segmentkit command and runs `segmentkit
// serve` over a copy of the demo catalog while clients change segments
// through the API (create, edit, delete) and read and refresh, then kills
// the process with SIGKILL at a random moment. It opens the catalog file
// itself, verifies it, and checks every change: one the API acknowledged
// (a 2xx answer received before the kill) is there, one sent without an
// answer is there whole or not at all, and every refresh job the API
// acknowledged is recorded and has ended. Then it serves the catalog
// again, killRounds times.

const (
	killRounds  = 24
	killWriters = 12
	killReaders = 6
)

var servingAt = regexp.MustCompile(`serving http://([^/]+)/`)

// buildSegmentkit builds the segmentkit command into a temporary
// directory. go test puts the go command that runs it first in PATH.
func buildSegmentkit(t *testing.T) string {
	t.Helper()
	gocmd, err := exec.LookPath("go")
	require.NoError(t, err, "the kill test builds segmentkit with the go command")
	bin := filepath.Join(t.TempDir(), "segmentkit")
	out, err := exec.Command(gocmd, "build", "-o", bin, "github.com/segmentkit/segmentkit/cmd/segmentkit").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// serveProcess is a running `segmentkit serve`.
type serveProcess struct {
	cmd  *exec.Cmd
	base string
	// lines ends when the process's stderr does; tail keeps its last
	// lines.
	lines  chan struct{}
	tailMu sync.Mutex
	tail   []string
}

func (p *serveProcess) logs() string {
	p.tailMu.Lock()
	defer p.tailMu.Unlock()
	return strings.Join(p.tail, "\n")
}

// startServe runs `segmentkit serve` on a free loopback port and waits
// for its "serving http://ADDR/" line.
func startServe(t *testing.T, bin, catalogPath, dataDir string) *serveProcess {
	t.Helper()
	p := &serveProcess{cmd: exec.Command(bin, "serve", "--catalog", catalogPath, "--data", dataDir, "--addr", "127.0.0.1:0"), lines: make(chan struct{})}
	stderr, err := p.cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, p.cmd.Start())
	t.Cleanup(func() { // a test that stopped early leaves no process behind
		if p.cmd.ProcessState == nil {
			p.cmd.Process.Kill()
			<-p.lines
			p.cmd.Wait()
		}
	})
	addr := make(chan string, 1)
	go func() {
		defer close(p.lines)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			p.tailMu.Lock()
			p.tail = append(p.tail, line)
			if len(p.tail) > 40 {
				p.tail = slices.Delete(p.tail, 0, 1)
			}
			p.tailMu.Unlock()
			if m := servingAt.FindStringSubmatch(line); m != nil {
				select {
				case addr <- m[1]:
				default:
				}
			}
		}
	}()
	select {
	case a := <-addr:
		p.base = "http://" + a
		return p
	case <-p.lines:
		p.cmd.Wait()
		t.Fatalf("serve exited before serving: %s", p.logs())
	case <-time.After(60 * time.Second):
		p.kill()
		t.Fatalf("serve did not start: %s", p.logs())
	}
	return nil
}

// kill sends SIGKILL and waits for the process to end.
func (p *serveProcess) kill() error {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-p.lines // stderr ends with the process
	err := p.cmd.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		return fmt.Errorf("serve ended with %v, not killed: %s", err, p.logs())
	}
	return nil
}

// killSeg is a segment as a writer knows it: what its acknowledged
// changes made it.
type killSeg struct {
	desc   string
	active bool
}

// killChange is a change a writer sent.
type killChange struct {
	op     string // create, edit or delete
	name   string
	desc   string
	active bool
}

// after returns the segment as the change leaves it (nil: deleted).
func (c *killChange) after(before *killSeg) *killSeg {
	switch c.op {
	case "create":
		return &killSeg{desc: c.desc, active: c.active}
	case "edit":
		return &killSeg{desc: c.desc, active: before.active}
	}
	return nil
}

// killWriter changes segments of its own, one change at a time, and
// keeps what its acknowledged changes made them.
type killWriter struct {
	id      int
	rng     *rand.Rand
	segs    map[string]*killSeg
	pending *killChange // sent, not answered
	n       int
	acked   int
}

func killDef(name, desc string, age int) string {
	return fmt.Sprintf(`{"name": %q, "description": %q, "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": %d}}]}`, name, desc, age)
}

// next chooses the writer's next change.
func (w *killWriter) next() *killChange {
	w.n++
	desc := fmt.Sprintf("w%d-%d", w.id, w.n)
	var names []string
	for name := range w.segs {
		names = append(names, name)
	}
	slices.Sort(names)
	switch {
	case len(names) < 2 || w.rng.IntN(4) == 0:
		return &killChange{op: "create", name: fmt.Sprintf("K%dx%d", w.id, w.n), desc: desc, active: w.rng.IntN(3) == 0}
	case w.rng.IntN(3) == 0:
		return &killChange{op: "delete", name: names[w.rng.IntN(len(names))]}
	}
	return &killChange{op: "edit", name: names[w.rng.IntN(len(names))], desc: desc}
}

// run sends changes until the server is gone (or stop is closed).
func (w *killWriter) run(c *loadClient, stop <-chan struct{}, fails *failures) {
	for {
		select {
		case <-stop:
			return
		default:
		}
		ch := w.next()
		w.pending = ch
		var a answer
		var err error
		want := 200
		switch ch.op {
		case "create":
			want = 201
			a, err = c.do("POST", "/api/segments", fmt.Sprintf(`{"definition": %s, "active": %t}`, killDef(ch.name, ch.desc, 20+w.rng.IntN(40)), ch.active))
		case "edit":
			a, err = c.do("PUT", "/api/segments/"+ch.name, `{"definition": `+killDef(ch.name, ch.desc, 20+w.rng.IntN(40))+`}`)
		case "delete":
			want = 204
			a, err = c.do("DELETE", "/api/segments/"+ch.name, nil)
		}
		if a.status == 0 {
			return // no answer: the server is gone, the change is pending
		}
		if a.status != want {
			fails.add("writer %d: %v (want %d)", w.id, a, want)
			return
		}
		// Acknowledged, even if the body was cut short.
		if s := ch.after(w.segs[ch.name]); s != nil {
			w.segs[ch.name] = s
		} else {
			delete(w.segs, ch.name)
		}
		w.pending = nil
		w.acked++
		if err != nil {
			return
		}
	}
}

// matches reports whether the catalog's answer for a segment is want
// (nil: no such segment).
func matches(got *catalog.Segment, err error, want *killSeg) bool {
	if want == nil {
		return errors.Is(err, catalog.ErrNotFound)
	}
	return err == nil && got.Description == want.desc && (got.State == catalog.Active) == want.active
}

// check compares the writer's segments with the catalog and takes the
// pending change as done or not as the catalog says (applied), or returns
// what does not match.
func (w *killWriter) check(cat *catalog.Catalog) (applied bool, err error) {
	names := map[string]bool{}
	for name := range w.segs {
		names[name] = true
	}
	if w.pending != nil {
		names[w.pending.name] = true
	}
	for name := range names {
		got, err := cat.Get(name)
		before := w.segs[name]
		if matches(got, err, before) {
			continue
		}
		if p := w.pending; p != nil && p.name == name {
			if after := p.after(before); matches(got, err, after) {
				if after == nil {
					delete(w.segs, name)
				} else {
					w.segs[name] = after
				}
				applied = true
				continue
			}
		}
		return false, fmt.Errorf("writer %d: segment %s is %+v (%v); acknowledged: %+v, pending: %+v", w.id, name, got, err, before, w.pending)
	}
	w.pending = nil
	return applied, nil
}

// killReader reads and refreshes, keeping the refresh jobs the API
// acknowledged.
func killReader(c *loadClient, id int, stop <-chan struct{}, fails *failures, jobs chan<- uint64) {
	rng := rand.New(rand.NewPCG(uint64(id), uint64(time.Now().UnixNano())))
	for {
		select {
		case <-stop:
			return
		default:
		}
		var a answer
		var err error
		want := 200
		var job struct {
			ID uint64 `json:"id"`
		}
		switch rng.IntN(8) {
		case 0:
			a, err = c.do("GET", "/api/segments?sort=members&desc=true", nil)
		case 1:
			a, err = c.do("POST", "/api/evaluate", `{"definition": `+loadEvalDefs[rng.IntN(len(loadEvalDefs))]+`, "first": 5}`)
		case 2:
			a, err = c.do("GET", "/api/segments/HighValueEscalated/download", nil)
		case 3, 4, 5:
			a, err = c.do("GET", "/api/segments/VipCustomers/preview?rows=10", nil)
		case 6:
			a, err = c.do("GET", "/api/jobs?limit=5", nil)
		case 7:
			want = 202
			a, err = c.do("POST", "/api/refresh", `{"segments": ["HighValueEscalated", "VipCustomers"]}`)
			if err == nil && a.status == want && a.expect(want, &job) == nil {
				jobs <- job.ID
			}
		}
		if err != nil || a.status == 0 {
			return
		}
		if a.status != want {
			fails.add("reader %d: %v (want %d)", id, a, want)
			return
		}
	}
}

func TestKillServe(t *testing.T) {
	if testing.Short() {
		t.Skip("builds segmentkit and kills it")
	}
	start := time.Now()
	bin := buildSegmentkit(t)
	built := time.Since(start)
	dataDir, catalogPath := testDemo(t)
	src := catalog.NewDirSource(dataDir, storage.Options{})
	defer src.Close()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 11))
	writers := make([]*killWriter, killWriters)
	for i := range writers {
		writers[i] = &killWriter{id: i, rng: rand.New(rand.NewPCG(uint64(i), rng.Uint64())), segs: map[string]*killSeg{}}
	}
	acked := 0 // refresh jobs acknowledged
	pendingSeen, pendingDone := 0, 0
	for round := range killRounds {
		p := startServe(t, bin, catalogPath, dataDir)
		c := newLoadClient(p.base)
		c.hc.Timeout = 30 * time.Second
		var fails failures
		stop := make(chan struct{})
		jobs := make(chan uint64, 1024)
		var wg sync.WaitGroup
		for _, w := range writers {
			wg.Go(func() { w.run(c, stop, &fails) })
		}
		for i := range killReaders {
			wg.Go(func() { killReader(c, round*100+i, stop, &fails, jobs) })
		}
		time.Sleep(time.Duration(30+rng.IntN(470)) * time.Millisecond)
		require.NoError(t, p.kill(), "round %d", round)
		close(stop)
		wg.Wait()
		c.close()
		close(jobs)
		var ackedNow []uint64
		for id := range jobs {
			ackedNow = append(ackedNow, id)
		}
		acked += len(ackedNow)
		fails.check(t)
		require.Zero(t, fails.count(), "round %d: %s", round, p.logs())

		// The catalog opens, verifies and holds what was acknowledged.
		cat, err := catalog.Open(catalogPath, catalog.Options{Source: src})
		require.NoError(t, err, "round %d", round)
		require.NoError(t, cat.Verify(), "round %d", round)
		for _, w := range writers {
			if w.pending != nil {
				pendingSeen++
			}
			applied, err := w.check(cat)
			require.NoError(t, err, "round %d", round)
			if applied {
				pendingDone++
			}
		}
		// The catalog keeps the latest 1,000 jobs: check this round's.
		for _, id := range ackedNow {
			j, err := cat.Job(id)
			require.NoError(t, err, "round %d: acknowledged job %d is lost", round, id)
			require.True(t, j.Status.Done(), "round %d: job %d is left %s", round, id, j.Status)
		}
		all, err := cat.Jobs(0)
		require.NoError(t, err)

		for _, j := range all {
			require.True(t, j.Status.Done(), "round %d: job %d is left %s", round, j.ID, j.Status)
		}
		for _, name := range []string{"HighValueEscalated", "VipCustomers", "GermanSpenders"} {
			_, err := cat.Get(name)
			require.NoError(t, err, "round %d", round)
		}
		require.NoError(t, cat.Close())
	}
	changes, live := 0, 0
	for _, w := range writers {
		changes += w.acked
		live += len(w.segs)
	}
	t.Logf("%d kills in %v (building segmentkit: %v): %d changes acknowledged, %d sent without an answer (%d of them done), %d refresh jobs acknowledged; %d segments left",
		killRounds, time.Since(start).Round(time.Millisecond), built.Round(time.Millisecond), changes, pendingSeen, pendingDone, acked, live)
	require.Greater(t, changes, killRounds*killWriters, "the writers changed segments")
	require.NotZero(t, acked, "the readers refreshed")
}
