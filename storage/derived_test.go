package storage

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestDerived checks, for a column and for a snapshot, that a derived
// value is built once per key, by one of many concurrent callers, kept for
// every later call, that a failed build is not kept, and that two keys of
// the same name are two keys.
func TestDerived(t *testing.T) {
	type derive func(key *DerivedKey, build func() (any, error)) (any, error)
	tests := []struct {
		name   string
		derive func() derive
	}{
		{"column", func() derive { return new(Column).Derived }},
		{"snapshot", func() derive { return new(Snapshot).Derived }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			derived := tt.derive()
			a, b, c := NewDerivedKey("a"), NewDerivedKey("b"), NewDerivedKey("c")
			var builds atomic.Int32
			build := func() (any, error) { builds.Add(1); return new(int), nil }
			var wg sync.WaitGroup
			got := make([]any, 8)
			for i := range got {
				wg.Go(func() {
					v, err := derived(a, build)
					require.NoError(t, err)
					got[i] = v
				})
			}
			wg.Wait()
			require.EqualValues(t, 1, builds.Load())
			for _, v := range got {
				require.Same(t, got[0].(*int), v.(*int))
			}
			other, err := derived(b, build)
			require.NoError(t, err)
			require.NotSame(t, got[0].(*int), other.(*int))

			boom := errors.New("boom")
			_, err = derived(c, func() (any, error) { return nil, boom })
			require.ErrorIs(t, err, boom)
			v, err := derived(c, build)
			require.NoError(t, err)
			require.NotNil(t, v)
			require.EqualValues(t, 3, builds.Load())

			again, err := derived(NewDerivedKey("a"), build)
			require.NoError(t, err)
			require.NotSame(t, got[0].(*int), again.(*int))
		})
	}
}
