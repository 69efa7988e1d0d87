//go:build !unix

package export_test

import "syscall"

// serverProcAttr: switching users is for root, which this system has not.
func serverProcAttr(uint32, uint32, bool) *syscall.SysProcAttr { return nil }
