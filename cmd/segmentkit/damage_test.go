package main

import (
	"bytes"
	"context"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/catalog"
)

// damageCatalog makes a catalog file through the CLI with something of
// everything it keeps: active, static, referencing and draft segments,
// three refresh jobs with the data changed in between (history, changes),
// a destination with what it was sent, and an export job. It returns the
// file and the data directory.
func damageCatalog(t *testing.T) (db, data string) {
	t.Helper()
	data = segData(t, 10)
	db = filepath.Join(t.TempDir(), "cat.db")
	base := []string{"--catalog", db, "--data", data}
	ok := func(args ...string) {
		t.Helper()
		r := runSeg(t, append(args, base...)...)
		require.Equal(t, exitOK, r.code, "%v: %s", args, r.stderr)
	}
	ok("create", "--active", "--segment", segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 24}`))
	frozen := filepath.Join(t.TempDir(), "Frozen.json")
	require.NoError(t, os.WriteFile(frozen, []byte(`{"name": "Frozen", "type": "static", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": 26}}]}`), 0o644))
	ok("create", "--active", "--segment", frozen)
	ok("create", "--active", "--segment", segDef(t, "OlderGermans", `{"and": [{"segment": "Older"}, {"attribute": "Customer.Country", "operator": "equals", "value": "DE"}]}`))
	ok("create", "--segment", segDef(t, "Broken", `{"attribute": "Customer.Nope", "operator": "equals", "value": 1}`))
	ok("destinations", "add", "Older", "--to", "csv:"+filepath.Join(t.TempDir(), "older.csv"), "--delta")
	for i := range 3 {
		if i == 1 {
			writeSegData(t, data, 14)
		}
		ok("refresh", "--all")
	}
	ok("export", "Older", "--to", "csv:"+filepath.Join(t.TempDir(), "once.csv"))
	return db, data
}

// damageRecord flips a bit near the end of the stored record of the
// segment name, inside its checksummed JSON.
func damageRecord(t *testing.T, db, name string) {
	t.Helper()
	b, err := bolt.Open(db, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, b.Update(func(tx *bolt.Tx) error {
		id := tx.Bucket([]byte("names")).Get([]byte(name))
		require.NotNil(t, id)
		segs := tx.Bucket([]byte("segments"))
		v := bytes.Clone(segs.Get(id))
		v[len(v)-20] ^= 0x01
		return segs.Put(bytes.Clone(id), v)
	}))
	require.NoError(t, b.Close())
}

// TestVerifyAndSalvageCLI: verify says a sound file is sound (exit 0) and
// names every damaged record of a damaged one (exit 1); salvage copies
// what is readable to a new file, says what it copied and what it
// dropped, and the new file verifies.
func TestVerifyAndSalvageCLI(t *testing.T) {
	db, data := damageCatalog(t)
	r := runSeg(t, "verify", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Equal(t, db+": no damage found\n", r.stdout)
	r = runSeg(t, "verify", "--catalog", db, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	require.JSONEq(t, `{"catalog": "`+db+`", "damaged": false, "problems": []}`, r.stdout)

	// verify and salvage work on the file: no --server.
	r = runSeg(t, "verify", "--catalog", db, "--server", "http://localhost:1")
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "unknown flag --server")
	t.Setenv(envServer, "http://localhost:1")
	r = runSeg(t, "verify", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	t.Setenv(envServer, "")

	damageRecord(t, db, "Frozen")
	r = runSeg(t, "verify", "--catalog", db)
	require.Equal(t, exitFailed, r.code)
	require.Empty(t, r.stdout)
	require.Regexp(t, `^segmentkit segments verify: segments\[\d+\]: the record does not decode: the record's checksum does not match: it is damaged\n`+
		`segmentkit segments verify: .*cat.db: catalog file is corrupt: 1 problem; 'segmentkit segments salvage --catalog .*cat.db --to NEW' copies what is readable to a new file\n$`, r.stderr)
	r = runSeg(t, "verify", "--catalog", db, "--json")
	require.Equal(t, exitFailed, r.code)
	var v verifyJSON
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &v))
	require.True(t, v.Damaged)
	require.Len(t, v.Problems, 1)
	require.Contains(t, v.Problems[0], "checksum does not match")
	// Reading the damaged record is ErrCorrupt, exit 1, naming it.
	r = runSeg(t, "show", "Frozen", "--catalog", db)
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "catalog file is corrupt")

	r = runSeg(t, "salvage", "--catalog", db)
	require.Equal(t, exitUsage, r.code)
	require.Contains(t, r.stderr, "missing --to NEW")
	to := filepath.Join(t.TempDir(), "new.db")
	r = runSeg(t, "salvage", "--catalog", db, "--to", to)
	require.Equal(t, exitOK, r.code, r.stderr)
	require.Contains(t, r.stdout, "salvaged "+db+" to "+to+"\n")
	require.Regexp(t, `\nsegments +3\n`, r.stdout)
	require.Regexp(t, `\nhistory +\d+\n`, r.stdout)
	require.Regexp(t, `\ndropped 4:\n  segment (\d+): the record's checksum does not match: it is damaged\n`+
		`  members of segment \d+: the segment is lost\n  history of segment \d+: the segment is lost\n  changes of segment \d+: the segment is lost\n$`, r.stdout)

	// The destination must be new.
	r = runSeg(t, "salvage", "--catalog", db, "--to", to, "--json")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "file already exists")

	r = runSeg(t, "verify", "--catalog", to)
	require.Equal(t, exitOK, r.code, r.stderr)
	r = runSeg(t, "list", "--catalog", to, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var segs []catalog.Segment
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &segs))
	var names []string
	for _, s := range segs {
		names = append(names, s.Name)
	}
	require.Equal(t, []string{"Broken", "Older", "OlderGermans"}, names)
	r = runSeg(t, "refresh", "--all", "--catalog", to, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)

	// --json says the same.
	to2 := filepath.Join(t.TempDir(), "new2.db")
	r = runSeg(t, "salvage", "--catalog", db, "--to", to2, "--json")
	require.Equal(t, exitOK, r.code, r.stderr)
	var rep catalog.SalvageReport
	require.NoError(t, json.Unmarshal([]byte(r.stdout), &rep))
	require.Equal(t, 3, rep.Copied["segments"])
	require.Len(t, rep.Lost, 4)
}

// TestReadOnlyVerbs: the verbs that only read open the file read-only: a
// file written by an older segmentkit (format version 1) is read without
// a byte of it changing, while another reader has it open, and a verb
// that writes changes it.
func TestReadOnlyVerbs(t *testing.T) {
	legacy, err := os.ReadFile(filepath.Join("..", "..", "catalog", "testdata", "v1-main-7dd3ad8.db"))
	require.NoError(t, err)
	db := filepath.Join(t.TempDir(), "cat.db")
	require.NoError(t, os.WriteFile(db, legacy, 0o600))
	other, err := catalog.Open(db, catalog.Options{ReadOnly: true})
	require.NoError(t, err)
	for _, args := range [][]string{
		{"list"}, {"show", "Older"}, {"history", "Older"}, {"changes", "Older"}, {"jobs"}, {"jobs", "1"},
		{"member", "C07"}, {"exports"}, {"destinations", "list", "Older"}, {"verify"},
	} {
		r := runSeg(t, append(args, "--catalog", db)...)
		require.Equal(t, exitOK, r.code, "%v: %s", args, r.stderr)
	}
	require.NoError(t, other.Close())
	now, err := os.ReadFile(db)
	require.NoError(t, err)
	require.True(t, bytes.Equal(legacy, now), "a verb that only reads changed the file")

	r := runSeg(t, "rename", "Broken", "Mended", "--catalog", db)
	require.Equal(t, exitOK, r.code, r.stderr)
	now, err = os.ReadFile(db)
	require.NoError(t, err)
	require.False(t, bytes.Equal(legacy, now))
}

// TestZeroByteCatalog: an empty catalog file is refused by every verb,
// including create, and left as it is; so is a FIFO, without blocking.
func TestZeroByteCatalog(t *testing.T) {
	data := segData(t, 4)
	db := filepath.Join(t.TempDir(), "cat.db")
	require.NoError(t, os.WriteFile(db, nil, 0o600))
	for _, args := range [][]string{
		{"list"}, {"verify"},
		{"create", "--segment", segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 24}`), "--data", data},
	} {
		r := runSeg(t, append(args, "--catalog", db)...)
		require.Equal(t, exitFailed, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stderr, "open catalog "+db+": not a segmentkit catalog file: the file is empty (0 bytes); remove it to start a new catalog")
		st, err := os.Stat(db)
		require.NoError(t, err)
		require.Zero(t, st.Size())
	}
	to := filepath.Join(t.TempDir(), "new.db")
	r := runSeg(t, "salvage", "--catalog", db, "--to", to)
	require.Equal(t, exitFailed, r.code, r.stderr)
	require.Contains(t, r.stderr, "not a segmentkit catalog file")
	require.NoFileExists(t, to)

	// Nor is what is not a regular file: a FIFO would block the open.
	fifo := filepath.Join(t.TempDir(), "fifo.db")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	for _, args := range [][]string{{"list"}, {"verify"}, {"salvage", "--to", to}} {
		r := runSeg(t, append(args, "--catalog", fifo)...)
		require.Equal(t, exitFailed, r.code, "%v: %s", args, r.stderr)
		require.Contains(t, r.stderr, fifo+": is a named pipe (FIFO), not a regular file")
	}
}

// damageCopies is how many damaged copies TestDamagedCatalogVerbs makes:
// SEGMENTKIT_DAMAGE_COPIES, or 200; 20 with -short. .ci/run's plain test
// step sets 1,000 (about 10 s).
func damageCopies(t *testing.T) int {
	n := 200
	if v := os.Getenv("SEGMENTKIT_DAMAGE_COPIES"); v != "" {
		var err error
		n, err = strconv.Atoi(v)
		require.NoError(t, err, "SEGMENTKIT_DAMAGE_COPIES")
	}
	if testing.Short() {
		n = min(n, 20)
	}
	return n
}

// TestDamagedCatalogVerbs flips random bits (one to four, seeded) in
// copies of a catalog file with segments, jobs and history, and runs
// list, show, history, preview, refresh and verify on each through the
// CLI: no panic, no stack trace, no exit code but 0 or 1, no output over
// 64 KiB. When verify finds nothing, the verbs before it that only read
// succeed.
func TestDamagedCatalogVerbs(t *testing.T) {
	whole, data := damageFixture(t)
	rng := rand.New(rand.NewPCG(14, 1000))
	dir := t.TempDir()
	const maxOut = 64 << 10
	codes := map[string][2]int{} // verb: copies with exit 0, exit 1
	for i := range damageCopies(t) {
		b := bytes.Clone(whole)
		for range 1 + rng.IntN(4) {
			bit := rng.IntN(len(b) * 8)
			b[bit/8] ^= 1 << (bit % 8)
		}
		path := filepath.Join(dir, "copy.db")
		require.NoError(t, os.WriteFile(path, b, 0o600))
		exit := map[string]int{}
		for j, args := range [][]string{
			{"verify"}, {"list"}, {"show", "Older"}, {"history", "Older"}, {"preview", "Older", "--data", data},
			{"refresh", "--all", "--data", data}, {"verify"},
		} {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), append([]string{"segments"}, append(args, "--catalog", path)...), &stdout, &stderr)
			out := stdout.String() + stderr.String()
			at := strings.Join(args, " ")
			if k := slices.Index(args, "--data"); k >= 0 {
				at = strings.Join(args[:k], " ")
			}
			if j > 0 && at == "verify" {
				at = "verify after refresh"
			}
			require.Contains(t, []int{exitOK, exitFailed}, code, "copy %d, %s: exit %d: %s", i, at, code, excerptOf(out))
			require.LessOrEqual(t, stdout.Len(), maxOut, "copy %d, %s: stdout of %d bytes", i, at, stdout.Len())
			require.LessOrEqual(t, stderr.Len(), maxOut, "copy %d, %s: stderr of %d bytes", i, at, stderr.Len())
			for _, bad := range []string{"panic", "goroutine ", "runtime error", "SIGSEGV", "internal error"} {
				require.NotContains(t, out, bad, "copy %d, %s", i, at)
			}
			exit[at] = code
			c := codes[at]
			c[code]++
			codes[at] = c
		}
		if exit["verify"] == exitOK {
			for _, at := range []string{"list", "show Older", "history Older", "preview Older"} {
				require.Equal(t, exitOK, exit[at], "copy %d: verify found nothing, %s failed", i, at)
			}
		}
	}
	t.Logf("exit codes (0, 1) by verb: %v", codes)
}

// damageFixtureFile is the catalog file damageCatalog made, kept so that
// the damaged copies are the same bytes at every run (the file holds the
// times of its refreshes). SEGMENTKIT_UPDATE_FIXTURE=1 writes it again.
var damageFixtureFile = filepath.Join("testdata", "damage-v2.db")

// damageFixture returns the bytes of damageFixtureFile and a data
// directory holding the data its last refresh read.
func damageFixture(t *testing.T) ([]byte, string) {
	t.Helper()
	if os.Getenv("SEGMENTKIT_UPDATE_FIXTURE") != "" {
		db, _ := damageCatalog(t)
		b, err := os.ReadFile(db)
		require.NoError(t, err)
		require.NoError(t, os.MkdirAll(filepath.Dir(damageFixtureFile), 0o755))
		require.NoError(t, os.WriteFile(damageFixtureFile, b, 0o644))
	}
	b, err := os.ReadFile(damageFixtureFile)
	require.NoError(t, err, "SEGMENTKIT_UPDATE_FIXTURE=1 writes it")
	return b, segData(t, 14)
}

// excerptOf keeps a failure message short.
func excerptOf(s string) string {
	if len(s) > 2000 {
		return s[:2000] + "..."
	}
	return s
}
