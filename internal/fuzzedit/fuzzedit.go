// Package fuzzedit applies a fuzzer's list of byte edits to a file.
//
// A fuzz target that damages files of hundreds of kilobytes does better
// to mutate a few bytes of edits than the whole file: Go's fuzzer
// minimizes each new interesting input, and on a whole file that takes
// minutes. A target takes (base, edits, cut) and calls Apply on the file
// base picks. EachFile runs the whole files kept from earlier failures.
package fuzzedit

import (
	"os"
	"path/filepath"
	"testing"
)

// Apply returns a copy of file with edits applied and then, when cut is
// not 0, truncated to cut modulo its length. Each 4 bytes of edits XOR
// one byte: 3 bytes of big-endian offset, modulo the file's length, then
// the value. A trailing part shorter than 4 bytes is ignored. An empty
// file is returned as it is.
func Apply(file, edits []byte, cut uint32) []byte {
	b := append([]byte(nil), file...)
	if len(b) == 0 {
		return b
	}
	for i := 0; i+4 <= len(edits); i += 4 {
		off := int(edits[i])<<16 | int(edits[i+1])<<8 | int(edits[i+2])
		b[off%len(b)] ^= edits[i+3]
	}
	if cut != 0 {
		b = b[:int(cut)%len(b)]
	}
	return b
}

// EachFile runs check, as a subtest named after the file, on the bytes of
// every file that matches pattern (filepath.Glob): the whole files a fuzz
// target once failed on, kept so that they are checked even when the
// target's bases change. No file matching is a failure.
func EachFile(t *testing.T, pattern string, check func(t *testing.T, data []byte)) {
	t.Helper()
	paths, err := filepath.Glob(pattern)
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatalf("no file matches %s", pattern)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			data, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			check(t, data)
		})
	}
}
