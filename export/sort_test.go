package export

import (
	"context"
	"math/rand/v2"
	"slices"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSortKeys compares sortKeys with slices.Sort on lengths around its
// run and merge boundaries, in random, sorted and reversed order, and
// checks that a cancelled context stops it.
func TestSortKeys(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, sortRun - 1, sortRun, sortRun + 1, 3*sortRun + 7, 8 * sortRun} {
		for _, order := range []string{"random", "sorted", "reversed"} {
			keys := make([]string, n)
			for i := range keys {
				keys[i] = strconv.Itoa(rng.IntN(n/2 + 1))
			}
			switch order {
			case "sorted":
				slices.Sort(keys)
			case "reversed":
				slices.Sort(keys)
				slices.Reverse(keys)
			}
			want := slices.Clone(keys)
			slices.Sort(want)
			require.NoError(t, sortKeys(context.Background(), keys))
			require.Equal(t, want, keys, "%d keys, %s", n, order)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, sortKeys(ctx, make([]string, 2*sortRun)), context.Canceled)
}
