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

	"github.com/segmentkit/segmentkit/internal/fuzzedit"
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
//
// The fuzzer mutates a list of edits, not the file: base picks the file
// (the current format's fixture or a version 1 file), and
// fuzzedit.Apply applies edits and cut to it. Inputs stay a few bytes long, so the fuzzer's minimizing stays
// quick; a whole file of half a megabyte as the input took it minutes per
// interesting input.
func FuzzCatalogFile(f *testing.F) {
	bases := fuzzBases(f)
	f.Add(uint8(0), []byte{}, uint32(0))
	f.Add(uint8(1), []byte{}, uint32(0))
	rng := rand.New(rand.NewPCG(1, 2))
	for range 8 {
		edit := make([]byte, 4)
		for i := range edit {
			edit[i] = byte(rng.Uint32())
		}
		f.Add(uint8(0), edit, uint32(0))
	}
	f.Add(uint8(0), []byte{}, uint32(4096*3+17))
	f.Fuzz(func(t *testing.T, base uint8, edits []byte, cut uint32) {
		b := fuzzedit.Apply(bases[int(base)%len(bases)], edits, cut)
		path := filepath.Join(t.TempDir(), "catalog.db")
		require.NoError(t, os.WriteFile(path, b, 0o600))
		exercise(t, path, fuzzData())
	})
}

// fuzzBases are the files FuzzCatalogFile edits: a catalog of the
// current format built by buildFixture, and a version 1 file.
func fuzzBases(tb testing.TB) [][]byte {
	e := newEnv(tb, Options{})
	buildFixture(tb, e)
	require.NoError(tb, e.cat.Close())
	cur, err := os.ReadFile(e.path)
	require.NoError(tb, err)
	old, err := os.ReadFile(filepath.Join("testdata", "v1-main-7dd3ad8.db"))
	require.NoError(tb, err)
	return [][]byte{cur, old}
}

// TestFuzzCatalogRepro runs the catalog files the fuzzer once failed on,
// whole, kept under testdata/damaged/.
func TestFuzzCatalogRepro(t *testing.T) {
	fuzzedit.EachFile(t, filepath.Join("testdata", "damaged", "*.db"), func(t *testing.T, b []byte) {
		path := filepath.Join(t.TempDir(), "catalog.db")
		require.NoError(t, os.WriteFile(path, b, 0o600))
		exercise(t, path, fuzzData())
	})
}
