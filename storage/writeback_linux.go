package storage

import (
	"os"

	"golang.org/x/sys/unix"
)

// writeBehind starts the writeback of the n bytes of f written at off
// and waits for that of the n bytes before them, which it started the
// call before: the disk writes while Save encodes, and no more than two
// ranges wait for it, so the final sync (which cannot be interrupted)
// is short. Errors are left to the final sync to report.
func writeBehind(f *os.File, off, n int64) {
	fd := int(f.Fd())
	unix.SyncFileRange(fd, off, n, unix.SYNC_FILE_RANGE_WRITE)
	if off >= n {
		unix.SyncFileRange(fd, off-n, n, unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER)
	}
}
