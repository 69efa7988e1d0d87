package conformance

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/randgen"
	"github.com/segmentkit/segmentkit/internal/refeval"
)

// constructs are the behavioural conditions of FORMAT.md, each recognised
// in a definition's JSON by a key or an operator only it has.
var constructs = map[string]string{
	"distinct periods": `"period":`,
	"sequence":         `"sequence":`,
	"stopped":          `"stopped":`,
	"started":          `"started":`,
	"anniversary":      `"anniversaryIn`,
	"matches":          `"operator":"matches"`,
	"time zone":        `"timeZone":`,
}

// TestBehaviouralConstructs compares the engine with the reference
// evaluator on random definitions until each behavioural construct has
// been in enough of them, and in enough whose members are neither none
// nor every customer: the random conformance test covers each construct,
// and this test shows it does.
func TestBehaviouralConstructs(t *testing.T) {
	const want, nontrivial = 40, 8
	ctx := context.Background()
	seen, decided := map[string]int{}, map[string]int{}
	done := func() bool {
		for name := range constructs {
			if seen[name] < want || decided[name] < nontrivial {
				return false
			}
		}
		return true
	}
	for seed := uint64(1); seed <= 40 && !done(); seed++ {
		r := rand.New(rand.NewPCG(seed, seedStream+7))
		dir := t.TempDir()
		info, err := randgen.Dir(r, dir)
		require.NoError(t, err)
		ref, err := refeval.Load(dir)
		require.NoError(t, err)
		snap, err := loadSnapshot(ctx, dir)
		require.NoError(t, err)
		customers := len(ref.CustomerKeys())
		for k := 0; k < 400 && !done(); k++ {
			defJSON := randgen.Definition(r, info)
			var in []string
			for name, mark := range constructs {
				if strings.Contains(string(defJSON), mark) {
					in = append(in, name)
				}
			}
			if len(in) == 0 {
				continue
			}
			asOf := randgen.AsOf(r, info)
			wantIDs, err := ref.Eval(defJSON, asOf, nil)
			require.NoError(t, err, "reference eval, seed %d: %s", seed, defJSON)
			got, err := engineEval(ctx, snap, defJSON, asOf, nil)
			require.NoError(t, err, "seed %d: %s", seed, defJSON)
			if !slices.Equal(got, wantIDs) {
				kept, small := keepCase(t, dir, defJSON, asOf, nil)
				keys := ref.CustomerKeys()
				t.Fatalf("seed %d, as-of %s\ndefinition: %s\nshrunk: %s\ncase kept in: %s\nonly in engine:    %s\nonly in reference: %s",
					seed, asOf, defJSON, small, kept, describe(minus(got, wantIDs), keys), describe(minus(wantIDs, got), keys))
			}
			for _, name := range in {
				seen[name]++
				if len(got) > 0 && len(got) < customers {
					decided[name]++
				}
			}
		}
		snap.Release()
	}
	var report []string
	for name := range constructs {
		report = append(report, fmt.Sprintf("%s %d (%d with some members, not all)", name, seen[name], decided[name]))
	}
	slices.Sort(report)
	t.Logf("definitions compared, by construct: %s", strings.Join(report, "; "))
	require.True(t, done(), "too few definitions with each construct: %s", strings.Join(report, "; "))
}
