package catalog

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"
)

// randomShares returns n shares of SplitBuckets, each at least 1.
func randomShares(r *rand.Rand, n int) []int {
	cuts := map[int]bool{}
	for len(cuts) < n-1 {
		cuts[1+r.IntN(SplitBuckets-1)] = true
	}
	at := []int{0, SplitBuckets}
	for c := range cuts {
		at = append(at, c)
	}
	slices.Sort(at)
	out := make([]int, n)
	for i := range out {
		out[i] = at[i+1] - at[i]
	}
	return out
}

// TestLayoutMovesTheMinimum changes random splits at random, groups
// kept, removed and added, and checks after each change that every
// bucket has one group, each group has its share, each kept group keeps
// min(old, new) of its buckets, and so that the buckets that change
// owner are exactly the sum of what the groups lost: no assignment
// moves fewer.
func TestLayoutMovesTheMinimum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for round := range 300 {
		n := 2 + r.IntN(4)
		names := make([]string, n)
		for i := range names {
			names[i] = fmt.Sprintf("G%d", i)
		}
		shares := randomShares(r, n)
		sr := &splitRecord{Salt: "s"}
		for i, b := range layout(names, shares, nil, "s") {
			sr.Groups = append(sr.Groups, splitGroupR{Name: names[i], Share: shares[i], Buckets: b})
		}
		require.NoError(t, sr.check())
		next := len(names)
		for step := range 8 {
			old := sr.public("").owners()
			oldShare := map[string]int{}
			for _, g := range sr.Groups {
				oldShare[g.Name] = g.Share
			}
			// Drop a group now and then, add one now and then.
			names = append([]string(nil), names...)
			if len(names) > 2 && r.IntN(3) == 0 {
				i := r.IntN(len(names))
				names = append(names[:i], names[i+1:]...)
			}
			if r.IntN(3) == 0 {
				names = append(names, fmt.Sprintf("G%d", next))
				next++
			}
			shares = randomShares(r, len(names))
			nr := &splitRecord{Salt: "s"}
			for i, b := range layout(names, shares, sr, "s") {
				nr.Groups = append(nr.Groups, splitGroupR{Name: names[i], Share: shares[i], Buckets: b})
			}
			require.NoError(t, nr.check(), "round %d step %d", round, step)
			now := nr.public("").owners()
			lost := 0
			for name, s := range oldShare {
				i := -1
				for j, n := range names {
					if n == name {
						i = j
					}
				}
				if i < 0 {
					lost += s
				} else if s > shares[i] {
					lost += s - shares[i]
				}
			}
			moved := 0
			for b := range SplitBuckets {
				from, to := sr.Groups[old[b]].Name, nr.Groups[now[b]].Name
				if from == to {
					continue
				}
				moved++
				// Plain ifs: this runs for every bucket that moves.
				if i := indexOf(names, from); i >= 0 && shares[i] >= oldShare[from] {
					t.Fatalf("round %d step %d: bucket %d left %s, which did not shrink", round, step, b, from)
				}
				if s, ok := oldShare[to]; ok && shares[indexOf(names, to)] <= s {
					t.Fatalf("round %d step %d: bucket %d went to %s, which did not grow", round, step, b, to)
				}
			}
			require.Equal(t, lost, moved, "round %d step %d", round, step)
			sr = nr
		}
	}
}

func indexOf(names []string, name string) int {
	for i, n := range names {
		if n == name {
			return i
		}
	}
	return -1
}
