//go:build unix

package catalog

import (
	"errors"
	"os"
	"syscall"
	"time"
)

// lockShared takes a shared lock on f, as bbolt's readers do, waiting up
// to timeout (zero: for ever) while a writer holds it. It reports false
// when the timeout passed.
func lockShared(f *os.File, timeout time.Duration) (bool, error) {
	start := time.Now()
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_SH|syscall.LOCK_NB)
		switch {
		case err == nil:
			return true, nil
		case !errors.Is(err, syscall.EWOULDBLOCK):
			return false, err
		case timeout > 0 && time.Since(start) > timeout:
			return false, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}
