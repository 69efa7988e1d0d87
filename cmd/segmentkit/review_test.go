package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// oneLineError checks that r failed with exit code with a single line on
// stderr that holds every one of want, and no Go panic.
func oneLineError(t *testing.T, r result, code int, want ...string) {
	t.Helper()
	require.Equal(t, code, r.code, r.stderr)
	require.NotContains(t, r.stderr, "goroutine")
	require.NotContains(t, r.stderr, "internal error")
	first, _, _ := strings.Cut(r.stderr, "\n")
	for _, w := range want {
		require.Contains(t, first, w)
	}
}

// TestSegmentsDownloadOutDirectory names --out when it is a directory,
// and leaves no temporary file next to it.
func TestSegmentsDownloadOutDirectory(t *testing.T) {
	data := segData(t, 5)
	db := filepath.Join(t.TempDir(), "cat.db")
	def := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 21}`)
	r := runSeg(t, "create", "--file", def, "--active", "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)

	parent := t.TempDir()
	out := filepath.Join(parent, "members")
	require.NoError(t, os.Mkdir(out, 0o755))
	r = runSeg(t, "download", "Older", "--out", out, "--catalog", db, "--data", data)
	oneLineError(t, r, exitFailed, "--out "+out, "is a directory")
	entries, err := os.ReadDir(parent)
	require.NoError(t, err)
	require.Len(t, entries, 1, "only the directory is left")
}

// TestSegmentsTruncatedCatalog reports a catalog file cut short as corrupt
// on one line, instead of crashing.
func TestSegmentsTruncatedCatalog(t *testing.T) {
	data := segData(t, 5)
	db := filepath.Join(t.TempDir(), "cat.db")
	for _, name := range []string{"A", "B", "C"} {
		def := segDef(t, name, `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 21}`)
		r := runSeg(t, "create", "--file", def, "--active", "--catalog", db, "--data", data)
		require.Equal(t, exitOK, r.code, r.stderr)
	}
	whole, err := os.ReadFile(db)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(db, whole[:3*os.Getpagesize()], 0o600))
	r := runSeg(t, "list", "--catalog", db)
	oneLineError(t, r, exitFailed, db, "corrupt", "truncated")

	junk := filepath.Join(t.TempDir(), "junk.db")
	require.NoError(t, os.WriteFile(junk, []byte(strings.Repeat("x", 5000)), 0o600))
	r = runSeg(t, "list", "--catalog", junk)
	oneLineError(t, r, exitFailed, junk, "not a segmentkit catalog")
}

// TestSegmentsScheduleNeverFires refuses a cron specification that would
// never fire, or a non-positive @every interval, as a usage error.
func TestSegmentsScheduleNeverFires(t *testing.T) {
	data := segData(t, 5)
	db := filepath.Join(t.TempDir(), "cat.db")
	def := segDef(t, "Older", `{"attribute": "Customer.Age", "operator": "greaterThan", "value": 21}`)
	r := runSeg(t, "create", "--file", def, "--catalog", db, "--data", data)
	require.Equal(t, exitOK, r.code, r.stderr)
	for _, spec := range []string{"0 0 30 2 *", "@every -1s", "@every 0s"} {
		r = runSeg(t, "schedule", "Older", "--cron", spec, "--catalog", db)
		oneLineError(t, r, exitUsage, "--cron", spec)
	}
}
