//go:build !unix

package catalog

import (
	"os"
	"time"
)

// lockShared does nothing where flock is not there: bbolt's own lock
// guards the file once it is open.
func lockShared(*os.File, time.Duration) (bool, error) { return true, nil }
