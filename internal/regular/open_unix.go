//go:build unix

package regular

import "syscall"

// openNonblock opens a file without blocking on it: a FIFO with no writer
// would block the open itself. It does nothing to a regular file's reads.
const openNonblock = syscall.O_NONBLOCK
