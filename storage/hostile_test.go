package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/regular"
)

const hostileSchema = `{"customerEntity": "Customer", "entities": [
  {"name": "Customer", "key": "Id", "source": %q, "attributes": [{"name": "Id", "type": "integer"}]}]}`

func writeHostile(t *testing.T, dir, source string) {
	t.Helper()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schema.json"),
		[]byte(fmt.Sprintf(hostileSchema, source)), 0o644))
}

// TestSourcesThatNeverEnd: a data file that is a FIFO or a device is
// refused at once (it would block, or never end), and so is a schema.json
// that is one.
func TestSourcesThatNeverEnd(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "Customer.csv"), 0o644))
	writeHostile(t, dir, "Customer.csv")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := Load(ctx, dir, Options{})
	require.NoError(t, ctx.Err(), "Load blocked on a FIFO")
	require.ErrorIs(t, err, ErrData)
	require.ErrorIs(t, err, regular.ErrNotRegular)
	require.Contains(t, err.Error(), "entity Customer: source Customer.csv is a named pipe (FIFO), not a regular file")

	require.NoError(t, os.Remove(filepath.Join(dir, "Customer.csv")))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "Customer.csv")))
	_, err = Load(ctx, dir, Options{})
	require.ErrorIs(t, err, regular.ErrNotRegular)
	require.Contains(t, err.Error(), "is a device, not a regular file")

	fifo := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(fifo, "schema.json"), 0o644))
	_, err = Load(ctx, fifo, Options{})
	require.NoError(t, ctx.Err(), "Load blocked on a FIFO schema.json")
	require.ErrorIs(t, err, regular.ErrNotRegular)
}

// TestSourceOutsideTheDirectory: a source with ".." that leads out of the
// data directory is refused unless Options.AllowExternalSources; one with
// a leading "/" is inside the directory, as it always was.
func TestSourceOutsideTheDirectory(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "data")
	require.NoError(t, os.Mkdir(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(parent, "Customer.csv"), []byte("Id\n1\n2\n"), 0o644))
	writeHostile(t, dir, "../Customer.csv")
	_, err := Load(context.Background(), dir, Options{})
	require.ErrorIs(t, err, ErrData)
	require.Contains(t, err.Error(), `entities[0].source: entity Customer: source "../Customer.csv" is outside the data directory`)

	s, err := Load(context.Background(), dir, Options{AllowExternalSources: true})
	require.NoError(t, err)
	require.Equal(t, 2, s.NumCustomers())
	s.Release()

	require.NoError(t, os.WriteFile(filepath.Join(dir, "Customer.csv"), []byte("Id\n1\n2\n3\n"), 0o644))
	writeHostile(t, dir, "/Customer.csv")
	s, err = Load(context.Background(), dir, Options{})
	require.NoError(t, err)
	require.Equal(t, 3, s.NumCustomers())
	s.Release()
}
