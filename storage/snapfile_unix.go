//go:build unix

package storage

import (
	"fmt"
	"math"
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps the file path into memory, read-only and shared: every
// process that maps the file reads the same pages of the system's cache.
func mapFile(path string) (data []byte, unmap func() error, info os.FileInfo, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, nil, err
	}
	// The mapping outlives the descriptor.
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, nil, nil, err
	}
	size := st.Size()
	switch {
	case !st.Mode().IsRegular():
		return nil, nil, nil, fmt.Errorf("%w: %s: not a regular file", ErrSnapshotFile, path)
	case size == 0:
		// mmap refuses an empty mapping; an empty file is a truncated one.
		return []byte{}, func() error { return nil }, st, nil
	case size > math.MaxInt:
		return nil, nil, nil, fmt.Errorf("%w: %s: %d bytes is too large to map", ErrSnapshotFile, path, size)
	}
	data, err = unix.Mmap(int(f.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("map %s: %w", path, err)
	}
	return data, func() error { return unix.Munmap(data) }, st, nil
}
