package storage

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestColumnDerived checks that a derived value is built once per key, by
// one of many concurrent callers, kept for every later call, and that a
// failed build is not kept.
func TestColumnDerived(t *testing.T) {
	var c Column
	a, b, cc := NewDerivedKey("a"), NewDerivedKey("b"), NewDerivedKey("c")
	var builds atomic.Int32
	build := func() (any, error) { builds.Add(1); return new(int), nil }
	var wg sync.WaitGroup
	got := make([]any, 8)
	for i := range got {
		wg.Go(func() {
			v, err := c.Derived(a, build)
			require.NoError(t, err)
			got[i] = v
		})
	}
	wg.Wait()
	require.EqualValues(t, 1, builds.Load())
	for _, v := range got {
		require.Same(t, got[0].(*int), v.(*int))
	}
	other, err := c.Derived(b, build)
	require.NoError(t, err)
	require.NotSame(t, got[0].(*int), other.(*int))

	boom := errors.New("boom")
	_, err = c.Derived(cc, func() (any, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
	v, err := c.Derived(cc, build)
	require.NoError(t, err)
	require.NotNil(t, v)
	require.EqualValues(t, 3, builds.Load())

	// Two keys of the same name are two keys.
	again, err := c.Derived(NewDerivedKey("a"), build)
	require.NoError(t, err)
	require.NotSame(t, got[0].(*int), again.(*int))
}
