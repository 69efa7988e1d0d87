package conformance

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/randgen"
	"github.com/segmentkit/segmentkit/internal/refeval"
	"github.com/segmentkit/segmentkit/segment"
)

// TestInspectExplain checks Plan.Inspect and Plan.Explain against the
// reference evaluator on random data and definitions. Inspect: every
// group's size, every top-level condition's size alone and every running
// size equal the reference's counts of those conditions as definitions of
// their own, folded by the set operators. Explain, for every customer:
// membership equals the reference's, every node's truth equals the
// reference's result of that condition alone, an and holds when all its
// children do, an or when one does, a not when its child does not, and a
// related condition's listed rows agree with its match (any: rows matched,
// none: none, all: rows and none failing).
func TestInspectExplain(t *testing.T) {
	n := 30
	if testing.Short() {
		n = 5
	}
	for i := range n {
		seed := uint64(i) + 1
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			checkAnalyses(t, seed, 8)
		})
	}
}

func checkAnalyses(t *testing.T, seed uint64, count int) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seedStream+7))
	dir := t.TempDir()
	info, err := randgen.Dir(r, dir)
	require.NoError(t, err)
	ref, err := refeval.Load(dir)
	require.NoError(t, err)
	snap, err := loadSnapshot(ctx, dir)
	require.NoError(t, err)
	defer snap.Release()
	segments := map[string][]uint32{}
	opts := engine.Options{Segments: map[string]*roaring.Bitmap{}, Cache: engine.NewCache(snap, 0)}
	nCust := uint32(len(ref.CustomerKeys()))
	for _, name := range []string{"Earlier", "Frozen"} {
		ids := []uint32{}
		for id := range nCust {
			if r.IntN(3) == 0 {
				ids = append(ids, id)
			}
		}
		segments[name] = ids
		opts.Segments[name] = roaring.BitmapOf(ids...)
		info.Segments = append(info.Segments, name)
	}
	for k := range count {
		defJSON := randgen.Definition(r, info)
		asOf := randgen.AsOf(r, info)
		def, err := segment.Parse(defJSON)
		require.NoError(t, err)
		// The reference's members of one condition alone.
		alone := func(c segment.Condition) []uint32 {
			b, err := json.Marshal(segment.Definition{Name: "Part", Groups: []segment.Group{{Condition: c}}})
			require.NoError(t, err)
			ids, err := ref.Eval(b, asOf, segments)
			require.NoError(t, err, "reference: %s", b)
			return ids
		}
		where := fmt.Sprintf("seed %d definition %d: %s as of %s", seed, k, defJSON, asOf)
		want, err := ref.Eval(defJSON, asOf, segments)
		require.NoError(t, err)
		plan, err := engine.Compile(def, snap, opts)
		require.NoError(t, err, where)

		ins, err := plan.Inspect(ctx, asOf)
		require.NoError(t, err, where)
		require.Equal(t, uint64(len(want)), ins.Members, where)
		require.Len(t, ins.Groups, len(def.Groups), where)
		running := roaring.New()
		for i, g := range def.Groups {
			gi := ins.Groups[i]
			ids := roaring.BitmapOf(alone(g.Condition)...)
			require.Equal(t, ids.GetCardinality(), gi.Size, "%s: group %d", where, i)
			switch {
			case i == 0:
				running = ids
			case g.SetOp == segment.Union:
				running.Or(ids)
			case g.SetOp == segment.Intersect:
				running.And(ids)
			default:
				running.AndNot(ids)
			}
			require.Equal(t, running.GetCardinality(), gi.Running, "%s: group %d running", where, i)
			var tops []segment.Condition
			switch c := g.Condition.(type) {
			case *segment.And:
				tops = c.Conditions
			case *segment.Or:
				tops = c.Conditions
			default:
				tops = []segment.Condition{c}
			}
			require.Len(t, gi.Conditions, len(tops), where)
			for j, c := range tops {
				require.Equal(t, uint64(len(alone(c))), gi.Conditions[j].Size, "%s: %s", where, gi.Conditions[j].Path)
			}
		}

		// Explain every customer: the nodes' reference results first.
		// And each aggregate's value from the same aggregate as a
		// measure (engine.EvalMeasure, another path through the engine).
		truth := map[string][]uint32{}
		aggs := map[string]*engine.Values{}
		var walk func(e *engine.NodeExplanation, c segment.Condition, id uint32)
		walk = func(e *engine.NodeExplanation, c segment.Condition, id uint32) {
			if _, ok := truth[e.Path]; !ok {
				truth[e.Path] = alone(c)
			}
			switch n := c.(type) {
			case *segment.And:
				for i, x := range n.Conditions {
					walk(e.Children[i], x, id)
				}
			case *segment.Or:
				for i, x := range n.Conditions {
					walk(e.Children[i], x, id)
				}
			case *segment.Not:
				walk(e.Children[0], n.Condition, id)
			case *segment.Related:
				if n.Aggregate == nil {
					break
				}
				vs, ok := aggs[e.Path]
				if !ok {
					m := &segment.Measure{Name: "Agg", Entity: n.Entity, Path: n.Path, Where: n.Where, Aggregate: *n.Aggregate}
					vs, err = engine.EvalMeasure(ctx, snap, m, asOf)
					require.NoError(t, err, "%s: %s", where, m)
					aggs[e.Path] = vs
				}
				require.Equal(t, vs.Format(id), e.Rows.Aggregate, "%s: %s", where, e.Path)
				require.Equal(t, !vs.Valid(id), e.Rows.AggregateNull, "%s: %s", where, e.Path)
			}
		}
		for id := range nCust {
			ex, err := plan.Explain(ctx, asOf, id)
			require.NoError(t, err, where)
			require.Equal(t, snap.CustomerKey(id), ex.Customer)
			_, in := slices.BinarySearch(want, id)
			require.Equal(t, in, ex.Member, "%s: customer %s", where, ex.Customer)
			for i, g := range ex.Groups {
				walk(g.Condition, def.Groups[i].Condition, id)
				checkNode(t, g.Condition, truth, id, where+" customer "+ex.Customer)
			}
		}
	}
}

// checkNode checks one explained node and its children for customer id.
func checkNode(t *testing.T, e *engine.NodeExplanation, truth map[string][]uint32, id uint32, where string) {
	_, in := slices.BinarySearch(truth[e.Path], id)
	require.Equal(t, in, e.Holds, "%s: %s %s", where, e.Path, e.Condition)
	for _, k := range e.Children {
		checkNode(t, k, truth, id, where)
	}
	switch e.Kind {
	case "and":
		require.Equal(t, e.Holds, !slices.ContainsFunc(e.Children, func(k *engine.NodeExplanation) bool { return !k.Holds }), "%s: %s", where, e.Path)
	case "or":
		require.Equal(t, e.Holds, slices.ContainsFunc(e.Children, func(k *engine.NodeExplanation) bool { return k.Holds }), "%s: %s", where, e.Path)
	case "not":
		require.Equal(t, e.Holds, !e.Children[0].Holds, "%s: %s", where, e.Path)
	}
	if rows := e.Rows; rows != nil {
		require.LessOrEqual(t, rows.Matched, rows.Total)
		listed := rows.Matched
		if rows.Listed == "failing" {
			listed = rows.Total - rows.Matched
		}
		require.Len(t, rows.Rows, min(listed, engine.MaxExplainRows), "%s: %s", where, e.Path)
		switch rows.Match {
		case "all":
			require.Equal(t, "failing", rows.Listed)
			require.Equal(t, e.Holds, rows.Total > 0 && rows.Matched == rows.Total, "%s: %s", where, e.Path)
		case "none":
			require.Equal(t, e.Holds, rows.Matched == 0, "%s: %s", where, e.Path)
		case "any":
			require.Equal(t, e.Holds, rows.Matched > 0, "%s: %s", where, e.Path)
		case "sequence":
			// Two rows in order, both of the where.
			require.True(t, !e.Holds || rows.Matched >= 2, "%s: %s", where, e.Path)
		case "stopped", "started":
			require.True(t, !e.Holds || rows.Matched >= 1, "%s: %s", where, e.Path)
		default:
			require.Equal(t, "", rows.Match, "%s: %s", where, e.Path)
		}
	}
}

// TestOverlap checks analysis.Overlap against the reference evaluator: on
// random data, two to five random definitions' reference members are the
// sets, and every region's count, and its count by each value of a random
// string attribute of the customers (each value's customers the
// reference's members of "equals" that value, and those without one of
// "isNull"), equals a plain count over the customers.
func TestOverlap(t *testing.T) {
	n := 30
	if testing.Short() {
		n = 5
	}
	for i := range n {
		seed := uint64(i) + 1
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			checkOverlap(t, seed)
		})
	}
}

func checkOverlap(t *testing.T, seed uint64) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, seedStream+8))
	dir := t.TempDir()
	info, err := randgen.Dir(r, dir)
	require.NoError(t, err)
	ref, err := refeval.Load(dir)
	require.NoError(t, err)
	snap, err := loadSnapshot(ctx, dir)
	require.NoError(t, err)
	defer snap.Release()
	nCust := len(ref.CustomerKeys())
	asOf := randgen.AsOf(r, info)
	refOf := func(cond string) map[uint32]bool {
		ids, err := ref.Eval([]byte(`{"name": "V", "groups": [{"condition": `+cond+`}]}`), asOf, nil)
		require.NoError(t, err, cond)
		set := map[uint32]bool{}
		for _, id := range ids {
			set[id] = true
		}
		return set
	}
	for round := range 4 {
		k := 2 + r.IntN(4)
		sets := make([]analysis.Set, k)
		in := make([]map[uint32]bool, k)
		for i := range sets {
			ids, err := ref.Eval(randgen.Definition(r, info), asOf, nil)
			require.NoError(t, err)
			sets[i] = analysis.Set{Name: fmt.Sprintf("S%d", i), Members: roaring.BitmapOf(ids...)}
			in[i] = map[uint32]bool{}
			for _, id := range ids {
				in[i][id] = true
			}
		}
		var opts analysis.OverlapOptions
		var byValue map[string]map[uint32]bool
		var null map[uint32]bool
		var strs []*randgen.Attr
		for _, a := range info.Entities[0].Attrs {
			if a.Type == "string" {
				strs = append(strs, a)
			}
		}
		if len(strs) > 0 && round%2 == 1 {
			a := strs[r.IntN(len(strs))]
			opts.By = info.Customer + "." + a.Name
			byValue = map[string]map[uint32]bool{}
			for _, v := range a.Values {
				q, _ := json.Marshal(v)
				byValue[v] = refOf(fmt.Sprintf(`{"attribute": %q, "operator": "equals", "value": %s}`, opts.By, q))
			}
			null = refOf(fmt.Sprintf(`{"attribute": %q, "operator": "isNull"}`, opts.By))
		}
		ov, err := analysis.Overlap(ctx, snap, sets, opts)
		require.NoError(t, err)
		require.Len(t, ov.Regions, 1<<k)
		where := fmt.Sprintf("seed %d round %d", seed, round)
		for m, reg := range ov.Regions {
			var want, wantNull uint64
			wantBy := make([]uint64, len(ov.Values))
			for id := range uint32(nCust) {
				mask := 0
				for i := range k {
					if in[i][id] {
						mask |= 1 << i
					}
				}
				if mask != m {
					continue
				}
				want++
				if byValue != nil {
					if null[id] {
						wantNull++
					}
					for j, v := range ov.Values {
						if byValue[v][id] {
							wantBy[j]++
						}
					}
				}
			}
			require.Equal(t, uint(m), reg.Mask)
			require.Equal(t, want, reg.Count, "%s: region %v", where, reg.In)
			if byValue != nil {
				require.Equal(t, wantBy, reg.ByValue, "%s: region %v by %s %v", where, reg.In, opts.By, ov.Values)
				require.Equal(t, wantNull, reg.Null, "%s: region %v", where, reg.In)
				require.Zero(t, reg.Other)
			}
		}
		if byValue != nil {
			present := 0
			for _, s := range byValue {
				if len(s) > 0 {
					present++
				}
			}
			require.Len(t, ov.Values, present, "%s: every value some customer has", where)
		}
	}
}
