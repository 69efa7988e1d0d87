package export_test

import "syscall"

// serverProcAttr runs a program of the tests' PostgreSQL server, as uid
// and gid when asUser; the server dies with the test binary.
func serverProcAttr(uid, gid uint32, asUser bool) *syscall.SysProcAttr {
	a := &syscall.SysProcAttr{Pdeathsig: syscall.SIGQUIT}
	if asUser {
		a.Credential = &syscall.Credential{Uid: uid, Gid: gid}
	}
	return a
}
