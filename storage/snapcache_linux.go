package storage

import (
	"os"
	"syscall"
)

// inodeStamp returns the inode change time and the inode number of a
// file's status.
func inodeStamp(st os.FileInfo) (change int64, inode uint64) {
	if sys, ok := st.Sys().(*syscall.Stat_t); ok {
		return sys.Ctim.Nano(), sys.Ino
	}
	return 0, 0
}
