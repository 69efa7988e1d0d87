// Package fuzzedit applies a fuzzer's list of byte edits to a file.
//
// A fuzz target that damages files of hundreds of kilobytes does better
// to mutate a few bytes of edits than the whole file: Go's fuzzer
// minimizes each new interesting input, and on a whole file that takes
// minutes. A target takes (base, edits, cut) and calls Apply on the file
// base picks.
package fuzzedit

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
