package catalog

import (
	"context"
	"encoding/json"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestOpenTruncatedFile opens a catalog file cut short (a partial copy, a
// full disk): Open reports it as corrupt instead of faulting on pages the
// file no longer holds.
func TestOpenTruncatedFile(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	for i := range 5 {
		_, err := e.cat.Create(ctx, def(string(rune('A'+i)), ageOver(20+i)), CreateOptions{Active: true})
		require.NoError(t, err)
	}
	require.NoError(t, e.cat.Close())
	whole, err := os.ReadFile(e.path)
	require.NoError(t, err)
	page := os.Getpagesize()
	require.Greater(t, len(whole), 4*page)
	for _, size := range []int{2 * page, 3 * page, 5 * page} {
		require.NoError(t, os.WriteFile(e.path, whole[:size], 0o600))
		_, err := Open(e.path, Options{})
		require.ErrorIs(t, err, ErrCorrupt, "size %d", size)
	}
}

// TestOpenZeroedPages opens a catalog file whose pages after the meta pages
// were overwritten with zeros: Open reports it as corrupt instead of
// panicking.
func TestOpenZeroedPages(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("A", ageOver(20)), CreateOptions{Active: true})
	require.NoError(t, err)
	require.NoError(t, e.cat.Close())
	whole, err := os.ReadFile(e.path)
	require.NoError(t, err)
	page := os.Getpagesize()
	clear(whole[2*page:])
	require.NoError(t, os.WriteFile(e.path, whole, 0o600))
	_, err = Open(e.path, Options{LockTimeout: 100 * time.Millisecond})
	require.ErrorIs(t, err, ErrCorrupt)
}

// TestOpenSmallFile opens files too short to be a catalog.
func TestOpenSmallFile(t *testing.T) {
	for _, n := range []int{10, 4096, 5000} {
		path := t.TempDir() + "/x.db"
		require.NoError(t, os.WriteFile(path, make([]byte, n), 0o600))
		_, err := Open(path, Options{})
		require.ErrorIs(t, err, ErrNotCatalog, "size %d", n)
	}
}

// TestPreviewNoMembersJSON: a preview of a segment without members has an
// empty list of rows, not null, in JSON.
func TestPreviewNoMembersJSON(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("None", ageOver(200)), CreateOptions{Active: true})
	require.NoError(t, err)
	p, err := e.cat.Preview(ctx, "None", 5)
	require.NoError(t, err)
	b, err := json.Marshal(p)
	require.NoError(t, err)
	require.Contains(t, string(b), `"rows":[]`)
}
