package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDefinitionFilesThatNeverEnd: a definition "file" that is a FIFO, a
// device or a directory is refused at once, without blocking; a file or
// standard input beyond the size limit is refused after that many bytes.
func TestDefinitionFilesThatNeverEnd(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "segment.json")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	big := writeFile(t, "big.json", `{"groups": [`+strings.Repeat(" ", 2<<20)+`]}`)
	for _, tt := range []struct{ file, want string }{
		{fifo, "is a named pipe (FIFO), not a regular file"},
		{"/dev/zero", "is a device, not a regular file"},
		{t.TempDir(), "is a directory, not a file"},
		{big, "definition limit exceeded: the file is larger than 1,048,576 bytes, the most a definition may have"},
	} {
		for _, verb := range []string{"validate", "eval"} {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			r := runCtx(t, ctx, verb, "--data", testData.dir, "--segment", tt.file)
			blocked := ctx.Err()
			cancel()
			require.NoError(t, blocked, "%s %s blocked", verb, tt.file)
			require.Equal(t, exitFailed, r.code, r.stderr)
			require.Contains(t, r.stderr, "--segment "+tt.file+": "+tt.want)
		}
	}

	r := runStdin(t, `{"groups": [`+strings.Repeat(" ", 2<<20)+`]}`, "validate", "--data", testData.dir, "--segment", "-")
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "--segment -: definition limit exceeded: standard input holds more than 1,048,576 bytes")
}

// TestSchemaFileThatIsNotAFile: a schema.json that is a FIFO is refused
// without blocking.
func TestSchemaFileThatIsNotAFile(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "schema.json"), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r := runCtx(t, ctx, "validate", "--data", dir, "--segment", segmentFile())
	require.NoError(t, ctx.Err())
	require.Equal(t, exitFailed, r.code)
	require.Contains(t, r.stderr, "a named pipe (FIFO), not a regular file")
	_ = os.Remove(filepath.Join(dir, "schema.json"))
}
