package export_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/require"
)

// The PostgreSQL tests need a server. They use the one
// SEGMENTKIT_TEST_POSTGRES names (.ci/run starts one with
// .ci/postgres.sh); without it they start a private one, once per test
// binary, if PostgreSQL is installed (initdb in a temporary folder, a free
// port on 127.0.0.1, stopped when the tests end); and they fail, never
// skip, when neither is there.

// postgresEnv names the server the tests use.
const postgresEnv = "SEGMENTKIT_TEST_POSTGRES"

var pgServer struct {
	once sync.Once
	url  string
	err  error
	stop func()
}

var pgSchemas atomic.Int64

func TestMain(m *testing.M) {
	code := m.Run()
	if pgServer.stop != nil {
		pgServer.stop()
	}
	os.Exit(code)
}

// testPostgres returns the connection string of the tests' server and a
// schema of its own for the test, dropped when the test ends.
func testPostgres(t *testing.T) (connString, schema string) {
	t.Helper()
	pgServer.once.Do(func() {
		if url := os.Getenv(postgresEnv); url != "" {
			pgServer.url = url
			return
		}
		pgServer.url, pgServer.stop, pgServer.err = startPostgres()
	})
	require.NoError(t, pgServer.err)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgServer.url)
	require.NoError(t, err, "connect to the test server %s (%s)", pgServer.url, postgresEnv)
	defer conn.Close(ctx)
	schema = fmt.Sprintf("sk_test_%d_%d", os.Getpid(), pgSchemas.Add(1))
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+schema)
	require.NoError(t, err)
	t.Cleanup(func() {
		conn, err := pgx.Connect(ctx, pgServer.url)
		require.NoError(t, err)
		defer conn.Close(ctx)
		_, err = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		require.NoError(t, err)
	})
	return pgServer.url, schema
}

// startPostgres starts a private server and returns its connection string
// and the function that stops it and removes its folder.
func startPostgres() (url string, stop func(), err error) {
	bin, err := postgresBin()
	if err != nil {
		return "", nil, err
	}
	dir, err := os.MkdirTemp("", "segmentkit-pg-")
	if err != nil {
		return "", nil, err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	// PostgreSQL refuses to run as root: run it as the postgres user.
	var attr *syscall.SysProcAttr
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return "", nil, fmt.Errorf("the tests run as root and PostgreSQL refuses to: there is no postgres user to run it as (%v); set %s or run .ci/postgres.sh start", err, postgresEnv)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			return "", nil, err
		}
		attr = serverProcAttr(uint32(uid), uint32(gid), true)
	} else {
		attr = serverProcAttr(0, 0, false)
	}
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", filepath.Join(dir, "data"), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions")
	initdb.Dir, initdb.SysProcAttr = dir, attr
	if out, err := initdb.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("initdb in %s: %v\n%s", dir, err, out)
	}
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	logf, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return "", nil, err
	}
	defer logf.Close()
	srv := exec.Command(filepath.Join(bin, "postgres"), "-D", filepath.Join(dir, "data"),
		"-c", "listen_addresses=127.0.0.1", "-c", "port="+strconv.Itoa(port), "-c", "unix_socket_directories="+dir,
		"-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")
	srv.Dir, srv.SysProcAttr, srv.Stdout, srv.Stderr = dir, attr, logf, logf
	if err := srv.Start(); err != nil {
		return "", nil, fmt.Errorf("start %s: %v", srv.Path, err)
	}
	exited := make(chan struct{})
	go func() { _ = srv.Wait(); close(exited) }()
	stop = func() {
		_ = srv.Process.Signal(os.Interrupt) // fast shutdown
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			_ = srv.Process.Kill()
			<-exited
		}
		os.RemoveAll(dir)
	}
	url = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	deadline := time.Now().Add(60 * time.Second)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		conn, cerr := pgx.Connect(ctx, url)
		cancel()
		if cerr == nil {
			conn.Close(context.Background())
			return url, stop, nil
		}
		select {
		case <-exited:
			log, _ := os.ReadFile(filepath.Join(dir, "server.log"))
			os.RemoveAll(dir)
			return "", nil, fmt.Errorf("the private PostgreSQL server exited:\n%s", log)
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			stop()
			return "", nil, fmt.Errorf("the private PostgreSQL server does not answer on %s: %v", url, cerr)
		}
	}
}

// postgresBin returns the folder of the newest installed PostgreSQL's
// programs.
func postgresBin() (string, error) {
	bin, err := installedPostgres()
	if err == nil || os.Geteuid() != 0 {
		return bin, err
	}
	// As root on a Debian machine without PostgreSQL (a fresh one), the
	// tests install Debian's package, as .ci/postgres.sh does, so that
	// "go test ./..." needs nothing set up by hand.
	if _, lerr := exec.LookPath("apt-get"); lerr != nil {
		return "", err
	}
	fmt.Fprintln(os.Stderr, "export tests: installing PostgreSQL (apt-get install postgresql) for the PostgreSQL destination's tests")
	for _, args := range [][]string{{"update", "-q"}, {"install", "-y", "-q", "postgresql"}} {
		cmd := exec.Command("apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, ierr := cmd.CombinedOutput(); ierr != nil {
			return "", fmt.Errorf("%v\n(apt-get %s failed: %v\n%s)", err, strings.Join(args, " "), ierr, out)
		}
	}
	return installedPostgres()
}

// installedPostgres returns the folder of PostgreSQL's programs.
func installedPostgres() (string, error) {
	found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	slices.SortFunc(found, func(a, b string) int {
		va, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(a))), 64)
		vb, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(b))), 64)
		return cmp.Compare(va, vb)
	})
	if len(found) > 0 {
		return filepath.Dir(found[len(found)-1]), nil
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p), nil
	}
	return "", errors.New(strings.Join([]string{
		"the export tests need PostgreSQL, and there is none:",
		"either start a server with .ci/postgres.sh start and export " + postgresEnv + " as it prints",
		"  (eval \"$(.ci/postgres.sh start)\"; it installs PostgreSQL as root),",
		"or install PostgreSQL (apt-get install postgresql) so that the tests start their own",
	}, "\n"))
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
