//go:build !unix

package storage

import (
	"fmt"
	"io"
	"os"
	"unsafe"
)

// mapFile reads the file path into memory, where the system offers no
// mapping of files that the storage package uses.
func mapFile(path string) (data []byte, unmap func() error, info os.FileInfo, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, nil, nil, fmt.Errorf("%w: %s: not a regular file", ErrSnapshotFile, path)
	}
	data, err = readAll(f, st.Size())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	return data, func() error { return nil }, st, nil
}

// readAll reads size bytes of r into a buffer aligned for any Arrow type.
func readAll(r io.Reader, size int64) ([]byte, error) {
	words := make([]uint64, (size+7)/8)
	b := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(words))), len(words)*8)[:size]
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, err
	}
	return b, nil
}
