//go:build unix && !linux

package export_test

import "syscall"

// serverProcAttr runs a program of the tests' PostgreSQL server, as uid
// and gid when asUser.
func serverProcAttr(uid, gid uint32, asUser bool) *syscall.SysProcAttr {
	if !asUser {
		return nil
	}
	return &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uid, Gid: gid}}
}
