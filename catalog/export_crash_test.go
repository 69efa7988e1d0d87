package catalog

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/storage"
)

// The export crash test runs this test binary again as a child process
// that exports a segment to a webhook served by the parent. The parent
// kills the child with SIGKILL at random moments and starts it again until
// an export completes; then the batches the server received, each applied
// once by its idempotency key, must hold the members exactly, and no batch
// whose acknowledgement the child recorded may come again.
const (
	exportChildEnv = "SEGMENTKIT_EXPORT_CRASH_CHILD"
	exportDBEnv    = "SEGMENTKIT_EXPORT_CRASH_DB"
	exportDataEnv  = "SEGMENTKIT_EXPORT_CRASH_DATA"
)

// TestExportCrashChild is the child; it does nothing unless the crash test
// started it.
func TestExportCrashChild(t *testing.T) {
	if os.Getenv(exportChildEnv) != "1" {
		t.Skip("run by TestExportCrashSafety")
	}
	src := NewDirSource(os.Getenv(exportDataEnv), storage.Options{})
	cat, err := Open(os.Getenv(exportDBEnv), Options{Source: src, LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Printf("ERROR open: %v\n", err)
		os.Exit(2)
	}
	fmt.Println("READY")
	ej, err := cat.Export(context.Background(), "Adults", "hook")
	if err != nil {
		fmt.Printf("ERROR export: %v\n", err)
		os.Exit(2)
	}
	fmt.Printf("DONE %d %s %v\n", ej.ID, ej.Status, ej.Errors)
	cat.Close()
	os.Exit(0)
}

// hookServer records every batch it is sent, by idempotency key.
type hookServer struct {
	mu     sync.Mutex
	order  []string             // keys in the order first received
	bodies map[string][]byte    // key -> body
	rows   map[string][]hookRow // key -> rows
	repeat map[string]int       // key -> times received again
	delay  func() time.Duration
}

type hookRow struct {
	Change     string `json:"change"`
	CustomerID string `json:"CustomerId"`
}

func (h *hookServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	key := r.Header.Get("Idempotency-Key")
	var doc struct {
		Rows []hookRow `json:"rows"`
	}
	if key == "" || json.Unmarshal(body, &doc) != nil {
		http.Error(w, "want an Idempotency-Key and a JSON body with rows", http.StatusBadRequest)
		return
	}
	h.mu.Lock()
	if prev, ok := h.bodies[key]; ok {
		h.repeat[key]++
		same := string(prev) == string(body)
		h.mu.Unlock()
		if !same {
			http.Error(w, "a batch came again with other rows under key "+key, http.StatusConflict)
			return
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	h.order = append(h.order, key)
	h.bodies[key] = body
	h.rows[key] = doc.Rows
	h.mu.Unlock()
	time.Sleep(h.delay())
	w.WriteHeader(http.StatusOK)
}

// applied returns the keys a receiver holds after applying every batch
// once, in the order received; a change that does not apply fails t.
func (h *hookServer) applied(t *testing.T) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	set := map[string]bool{}
	for _, k := range h.order {
		for _, r := range h.rows[k] {
			switch r.Change {
			case "entered":
				require.False(t, set[r.CustomerID], "%s entered twice (batch %s)", r.CustomerID, k)
				set[r.CustomerID] = true
			case "left":
				require.True(t, set[r.CustomerID], "%s left without having entered (batch %s)", r.CustomerID, k)
				delete(set, r.CustomerID)
			default:
				t.Fatalf("row %v of batch %s", r, k)
			}
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func TestExportCrashSafety(t *testing.T) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 9))
	hook := &hookServer{bodies: map[string][]byte{}, rows: map[string][]hookRow{}, repeat: map[string]int{},
		delay: func() time.Duration { return time.Duration(rand.IntN(3)) * time.Millisecond }}
	srv := httptest.NewServer(hook)
	defer srv.Close()

	dir := t.TempDir()
	path := filepath.Join(t.TempDir(), "export-crash.db")
	// data writes round r's customers: a different fifth is left out each
	// round, and ages move, so that members enter and leave.
	data := func(r int) {
		var cs []cust
		for i := range 2000 {
			if (i+r)%5 == 0 {
				continue
			}
			cs = append(cs, cust{id: fmt.Sprintf("C%04d", i), age: 20 + (i*7+r*13)%40, country: "US"})
		}
		writeData(t, dir, cs, nil)
	}
	data(0)
	src := NewDirSource(dir, storage.Options{})
	defer src.Close()
	cat, err := Open(path, Options{Source: src})
	require.NoError(t, err)
	_, err = cat.Create(ctx, def("Adults", ageOver(35)), CreateOptions{})
	require.NoError(t, err)
	_, err = cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "hook", To: "webhook:" + srv.URL + "/hook",
		Mode: export.Delta, BatchSize: 40, OnDemand: true})
	require.NoError(t, err)
	require.NoError(t, cat.Close())

	kills, exports := 0, 0
	for round := 0; kills < 24 || round < 3; round++ {
		// Refresh on new data in the parent; the child exports.
		data(round)
		cat, err := Open(path, Options{Source: src})
		require.NoError(t, err)
		if round == 0 {
			_, err = cat.Activate(ctx, "Adults")
		} else {
			_, err = cat.Refresh(ctx, "Adults")
		}
		require.NoError(t, err)
		want := memberKeysOf(t, cat, "Adults")
		require.NoError(t, cat.Close())

		for done := false; !done; {
			cmd := exec.Command(os.Args[0], "-test.run=^TestExportCrashChild$", "-test.count=1")
			cmd.Env = append(os.Environ(), exportChildEnv+"=1", exportDBEnv+"="+path, exportDataEnv+"="+dir)
			stdout, err := cmd.StdoutPipe()
			require.NoError(t, err)
			require.NoError(t, cmd.Start())
			lines := make(chan string, 16)
			go func() {
				defer close(lines)
				sc := bufio.NewScanner(stdout)
				for sc.Scan() {
					lines <- sc.Text()
				}
			}()
			require.Equal(t, "READY", <-lines)
			// Kill at a random moment of most runs; let some run out.
			var timer <-chan time.Time
			if kills < 24 && rng.IntN(6) != 0 {
				timer = time.After(time.Duration(5+rng.IntN(120)) * time.Millisecond)
			}
			select {
			case l, ok := <-lines:
				require.True(t, ok, "the child stopped without a word")
				require.Regexp(t, `^DONE \d+ successful \[\]$`, l)
				require.NoError(t, cmd.Wait())
				done = true
				exports++
			case <-timer:
				require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
				for range lines {
				}
				if err := cmd.Wait(); err == nil {
					done = true // it finished just before the signal
					exports++
				} else {
					kills++
				}
			}
			// After each run the file opens and verifies.
			cat, err := Open(path, Options{Source: src})
			require.NoError(t, err)
			require.NoError(t, cat.Verify())
			require.NoError(t, cat.Close())
		}
		require.Equal(t, want, hook.applied(t), "round %d: the receiver holds the members", round)
	}
	hook.mu.Lock()
	defer hook.mu.Unlock()
	again := 0
	for _, n := range hook.repeat {
		again += n
	}
	// A batch comes again only when the child was killed before it had
	// recorded the acknowledgement: at most once per kill.
	require.LessOrEqual(t, again, kills, "batches sent again: %v", hook.repeat)
	t.Logf("%d kills, %d completed exports, %d batches, %d sent again", kills, exports, len(hook.order), again)
}

// memberKeysOf returns the keys of the segment's members, sorted.
func memberKeysOf(t *testing.T, cat *Catalog, name string) []string {
	t.Helper()
	d, err := cat.loadData(context.Background())
	require.NoError(t, err)
	defer d.release()
	bm, err := cat.Members(context.Background(), name)
	require.NoError(t, err)
	var out []string
	it := bm.Iterator()
	for it.HasNext() {
		out = append(out, d.snap.CustomerKey(it.Next()))
	}
	slices.Sort(out)
	return out
}
