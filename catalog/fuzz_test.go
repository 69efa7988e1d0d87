package catalog

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fuzzData is the data directory the fuzz target refreshes on, written
// once per process.
var fuzzData = sync.OnceValue(func() string {
	dir, err := os.MkdirTemp("", "catalog-fuzz-data")
	if err != nil {
		panic(err)
	}
	writeData(nopTB{}, dir, people(14), someOrders(14))
	return dir
})

// nopTB lets writeData run outside a test; it fails loudly instead.
type nopTB struct{ testing.TB }

func (nopTB) Helper()                   {}
func (nopTB) Errorf(f string, a ...any) { panic("writeData: " + f) }
func (nopTB) FailNow()                  { panic("writeData failed") }

// damaged reports whether err is an error a damaged file may give.
func damaged(err error) bool {
	return errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotCatalog) || errors.Is(err, ErrNewerFormat)
}

// exercise opens the catalog file at path and runs every reading call
// and a refresh on it, as the CLI's verbs do. It fails t when a call
// returns an error that is not one a damaged file may give; a panic or
// fault fails the test by itself.
func exercise(t testing.TB, path, data string) {
	ctx := context.Background()
	src := NewDirSource(data, defaultStorage())
	defer src.Close()
	c, err := Open(path, Options{Source: src, LockTimeout: time.Second})
	if err != nil {
		require.True(t, damaged(err), "Open: %v", err)
		return
	}
	defer c.Close()
	check := func(what string, err error) {
		if err != nil && !damaged(err) {
			t.Fatalf("%s: %v", what, err)
		}
	}
	segs, err := c.List(ListOptions{})
	check("List", err)
	for _, s := range segs {
		_, err := c.Get(s.Name)
		check("Get "+s.Name, err)
		_, err = c.History(s.Name, time.Time{}, time.Time{})
		check("History "+s.Name, err)
		_, err = c.Destinations(s.Name)
		check("Destinations "+s.Name, err)
		if s.State == Active {
			_, err = c.Preview(ctx, s.Name, 5)
			check("Preview "+s.Name, err)
		}
	}
	_, err = c.Get("Olderr") // a near miss: the suggestion reads every name
	if !errors.Is(err, ErrNotFound) {
		check("Get of a missing name", err)
	}
	_, err = c.Jobs(0)
	check("Jobs", err)
	_, err = c.Tokens()
	check("Tokens", err)
	_, err = c.RefreshAll(ctx)
	check("RefreshAll", err)
	verr := c.Verify()
	check("Verify", verr)
}

// FuzzCatalogFile changes bytes of catalog files: Open, every reading
// call, a refresh and Verify return results or ErrCorrupt (ErrNotCatalog,
// ErrNewerFormat), never a panic or a fault. docs/testing.md says how to
// run it.
func FuzzCatalogFile(f *testing.F) {
	old, err := os.ReadFile(filepath.Join("testdata", "v1-main-7dd3ad8.db"))
	require.NoError(f, err)
	e := newEnv(f, Options{})
	buildFixture(f, e)
	require.NoError(f, e.cat.Close())
	cur, err := os.ReadFile(e.path)
	require.NoError(f, err)
	f.Add(old)
	f.Add(cur)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		b := append([]byte(nil), cur...)
		i := rng.IntN(len(b) * 8)
		b[i/8] ^= 1 << (i % 8)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "catalog.db")
		require.NoError(t, os.WriteFile(path, b, 0o600))
		exercise(t, path, fuzzData())
	})
}
