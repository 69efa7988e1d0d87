package catalog

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/storage"
)

// The crash test runs this test binary again as a child process that
// changes the catalog in a loop and prints each change once its call has
// returned. The parent kills the child with SIGKILL at random moments,
// reopens the catalog and checks that every printed change is there.
const (
	crashChildEnv = "SEGMENTKIT_CATALOG_CRASH_CHILD"
	crashDBEnv    = "SEGMENTKIT_CATALOG_CRASH_DB"
	crashDataEnv  = "SEGMENTKIT_CATALOG_CRASH_DATA"
	crashSeqEnv   = "SEGMENTKIT_CATALOG_CRASH_SEQ"
)

// TestCrashChild is the child's loop; it does nothing unless the crash
// test started it.
func TestCrashChild(t *testing.T) {
	if os.Getenv(crashChildEnv) != "1" {
		t.Skip("run by TestCrashSafety")
	}
	ctx := context.Background()
	src := NewDirSource(os.Getenv(crashDataEnv), storage.Options{})
	cat, err := Open(os.Getenv(crashDBEnv), Options{Source: src, LockTimeout: 10 * time.Second})
	if err != nil {
		fmt.Printf("ERROR open: %v\n", err)
		os.Exit(2)
	}
	seq, _ := strconv.Atoi(os.Getenv(crashSeqEnv))
	// The segment renamed along a chain R<n> -> R<m>.
	renamed := ""
	list, err := cat.List(ListOptions{Search: "R"})
	if err == nil {
		for _, s := range list {
			if strings.HasPrefix(s.Name, "R") {
				renamed = s.Name
			}
		}
	}
	out := bufio.NewWriter(os.Stdout)
	var i int
	// say reports the change of step i, after its call returned.
	say := func(format string, args ...any) {
		fmt.Fprintf(out, "%d "+format+"\n", append([]any{i}, args...)...)
		out.Flush()
	}
	fmt.Fprintln(out, "READY")
	out.Flush()
	fail := func(what string, err error) {
		say("ERROR %s: %v", what, err)
		os.Exit(2)
	}
	for i = seq; ; i++ {
		switch i % 5 {
		case 0:
			name := fmt.Sprintf("N%d", i)
			if _, err := cat.Create(ctx, def(name, ageOver(i%60)), CreateOptions{Active: i%2 == 0}); err != nil {
				fail("create", err)
			}
			say("CREATE %s", name)
		case 1:
			d := fmt.Sprintf(`{"name": "Base", "description": "d%d", "groups": [{"condition": %s}]}`, i, ageOver(20+i%40))
			if _, err := cat.Edit(ctx, "Base", []byte(d)); err != nil {
				fail("edit", err)
			}
			say("EDIT %d", i)
		case 2:
			job, err := cat.RefreshAll(ctx)
			if err != nil {
				fail("refresh", err)
			}
			say("JOB %d %s", job.ID, strings.ReplaceAll(job.Status.String(), " ", "_"))
			for _, task := range job.Tasks {
				if task.Segment == "Base" && task.Status == Successful {
					say("HIST Base %d %d", job.ID, task.MemberCount)
				}
			}
		case 3:
			name := fmt.Sprintf("N%d", i-3)
			if _, err := cat.Get(name); err != nil {
				continue
			}
			if err := cat.Delete(name); err != nil {
				fail("delete", err)
			}
			say("DELETE %s", name)
		case 4:
			if renamed == "" {
				continue
			}
			to := fmt.Sprintf("R%d", i)
			if err := cat.Rename(renamed, to); err != nil {
				fail("rename", err)
			}
			renamed = to
			say("RENAME %s", to)
		}
	}
}

// crashModel is what the child reported as done.
type crashModel struct {
	last     int // the step of the last line of the current child
	created  map[string]bool
	deleted  map[string]bool
	edit     int // the last reported Base edit
	jobs     map[uint64]string
	hist     map[uint64]uint64 // job -> Base members
	renamed  int               // the last reported R number
	reported int               // lines applied
}

func (m *crashModel) apply(t *testing.T, line string) {
	f := strings.Fields(line)
	if len(f) < 2 || f[0] == "READY" {
		return
	}
	m.reported++
	step, err := strconv.Atoi(f[0])
	require.NoError(t, err, line)
	m.last = step
	f = f[1:]
	switch f[0] {
	case "CREATE":
		m.created[f[1]] = true
	case "DELETE":
		m.deleted[f[1]] = true
	case "EDIT":
		m.edit, _ = strconv.Atoi(f[1])
	case "JOB":
		id, _ := strconv.ParseUint(f[1], 10, 64)
		m.jobs[id] = strings.ReplaceAll(f[2], "_", " ")
	case "HIST":
		id, _ := strconv.ParseUint(f[2], 10, 64)
		n, _ := strconv.ParseUint(f[3], 10, 64)
		m.hist[id] = n
	case "RENAME":
		m.renamed, _ = strconv.Atoi(strings.TrimPrefix(f[1], "R"))
	default:
		require.Failf(t, "child failed", "%s", line)
	}
}

func TestCrashSafety(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	ctx := context.Background()
	dir := t.TempDir()
	writeData(t, dir, people(300), someOrders(40))
	path := filepath.Join(t.TempDir(), "crash.db")
	src := NewDirSource(dir, storage.Options{})
	defer src.Close()
	cat, err := Open(path, Options{Source: src})
	require.NoError(t, err)
	_, err = cat.Create(ctx, def("Base", ageOver(30)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = cat.Create(ctx, def("R0", ageOver(40)), CreateOptions{Active: true})
	require.NoError(t, err)
	require.NoError(t, cat.Close())

	m := &crashModel{created: map[string]bool{}, deleted: map[string]bool{}, jobs: map[uint64]string{}, hist: map[uint64]uint64{}}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 7))
	const kills = 25
	start := time.Now()
	interrupted := 0
	for k := range kills {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), crashChildEnv+"=1", crashDBEnv+"="+path, crashDataEnv+"="+dir,
			fmt.Sprintf("%s=%d", crashSeqEnv, (k+1)*100_000))
		stdout, err := cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, cmd.Start())
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// Wait until the child works, then kill it at a random moment.
		var got []string
		select {
		case l, ok := <-lines:
			require.True(t, ok, "the child exited before it was ready")
			require.Equal(t, "READY", l)
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			t.Fatal("the child did not start")
		}
		timer := time.After(time.Duration(rng.IntN(250)) * time.Millisecond)
	collect:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break collect
				}
				got = append(got, l)
			case <-timer:
				break collect
			}
		}
		require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
		for l := range lines { // complete lines printed before the kill
			got = append(got, l)
		}
		err = cmd.Wait()
		require.Error(t, err, "the child was killed")
		m.last = -1
		for _, l := range got {
			m.apply(t, l)
		}

		// Reopen: the catalog opens, verifies, and holds every change
		// reported as done.
		cat, err := Open(path, Options{Source: src})
		require.NoError(t, err, "after kill %d", k)
		require.NoError(t, cat.Verify(), "after kill %d", k)
		for name := range m.created {
			_, err := cat.Get(name)
			// The child deletes N<j> at step j+3: when that is the step
			// after the last one it reported, the delete may have
			// committed without being reported.
			j, _ := strconv.Atoi(strings.TrimPrefix(name, "N"))
			if j+3 == m.last+1 && err != nil {
				require.ErrorIs(t, err, ErrNotFound)
				m.deleted[name] = true
				continue
			}
			if m.deleted[name] {
				require.ErrorIs(t, err, ErrNotFound, name)
			} else {
				require.NoError(t, err, "created %s is lost after kill %d", name, k)
			}
		}
		base, err := cat.Get("Base")
		require.NoError(t, err)
		if m.edit > 0 {
			n, err := strconv.Atoi(strings.TrimPrefix(base.Description, "d"))
			require.NoError(t, err)
			require.GreaterOrEqual(t, n, m.edit, "edit %d is lost after kill %d", m.edit, k)
		}
		hist, err := cat.History("Base", time.Time{}, time.Time{})
		require.NoError(t, err)
		byJob := map[uint64]uint64{}
		for _, h := range hist {
			byJob[h.Job] = h.MemberCount
		}
		for job, n := range m.hist {
			require.Contains(t, byJob, job, "the history of job %d is lost after kill %d", job, k)
			require.Equal(t, n, byJob[job])
		}
		for id, status := range m.jobs {
			j, err := cat.Job(id)
			require.NoError(t, err, "job %d is lost after kill %d", id, k)
			require.Equal(t, status, j.Status.String())
		}
		jobs, err := cat.Jobs(0)
		require.NoError(t, err)
		interrupted = 0
		for _, j := range jobs {
			require.True(t, j.Status.Done(), "job %d is left %s", j.ID, j.Status)
			if len(j.Errors) > 0 && strings.HasPrefix(j.Errors[len(j.Errors)-1], "interrupted") {
				interrupted++
			}
		}
		var rs []string
		all, err := cat.List(ListOptions{})
		require.NoError(t, err)
		for _, s := range all {
			if strings.HasPrefix(s.Name, "R") {
				rs = append(rs, s.Name)
			}
		}
		require.Len(t, rs, 1, "the renamed segment")
		n, err := strconv.Atoi(strings.TrimPrefix(rs[0], "R"))
		require.NoError(t, err)
		require.GreaterOrEqual(t, n, m.renamed, "rename to R%d is lost after kill %d", m.renamed, k)
		require.NoError(t, cat.Close())
	}
	t.Logf("%d kills, %d changes reported, %d jobs reported, %d jobs interrupted, %v",
		kills, m.reported, len(m.jobs), interrupted, time.Since(start))
	require.Greater(t, len(m.jobs), 0, "the child refreshed")
	require.Greater(t, len(m.created), 0, "the child created segments")
}
