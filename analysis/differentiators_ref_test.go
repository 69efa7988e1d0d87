package analysis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/internal/randgen"
	"github.com/segmentkit/segmentkit/internal/refeval"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

// TestDifferentiatorsReference checks Differentiators against plain counts
// of the reference evaluator on random data: the segment and the base are
// random definitions' reference members (or all customers), and every
// customer attribute's value for each customer is what the reference says
// (the value v whose "equals v" holds for them, none when "isNull" does),
// from which the naive comparison computes every count, share, CDF and
// moment. Measures (computed by engine.EvalMeasure, itself checked against
// the reference in conformance) are compared naively from their values.
func TestDifferentiatorsReference(t *testing.T) {
	n := 20
	if testing.Short() {
		n = 4
	}
	for i := range n {
		seed := uint64(i) + 1
		t.Run(fmt.Sprintf("seed=%d", seed), func(t *testing.T) {
			t.Parallel()
			checkDifferentiatorsReference(t, seed)
		})
	}
}

func checkDifferentiatorsReference(t *testing.T, seed uint64) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(seed, 0xd1ff))
	dir := t.TempDir()
	info, err := randgen.Dir(r, dir)
	require.NoError(t, err)
	ref, err := refeval.Load(dir)
	require.NoError(t, err)
	snap, err := storage.Load(ctx, dir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()
	nCust := uint32(len(ref.CustomerKeys()))
	asOf := randgen.AsOf(r, info)
	refOf := func(cond string) []uint32 {
		ids, err := ref.Eval([]byte(`{"name": "V", "groups": [{"condition": `+cond+`}]}`), asOf, nil)
		require.NoError(t, err, cond)
		return ids
	}
	// Every customer attribute's values, by the reference.
	type refValue struct {
		text  string
		x     float64
		exact *big.Rat
	}
	byAttr := map[string][]*refValue{}
	types := map[string]string{}
	for _, a := range info.Entities[0].Attrs {
		name := info.Customer + "." + a.Name
		vals := make([]*refValue, nCust)
		types[name] = a.Type
		for _, v := range a.Values {
			cond := fmt.Sprintf(`{"attribute": %q, "operator": "equals", "value": %s}`, name, jsonValue(t, a.Type, v))
			if a.Type == "boolean" {
				cond = fmt.Sprintf(`{"attribute": %q, "operator": %q}`, name, map[string]string{"true": "isTrue", "false": "isFalse"}[v])
			}
			for _, id := range refOf(cond) {
				x, e := numberOf(t, a.Type, v)
				if vals[id] != nil {
					// Values written apart may be equal (one instant in
					// two zones); the customer has one.
					require.Zero(t, vals[id].exact.Cmp(e), "%s: customer %d has two values", name, id)
					continue
				}
				vals[id] = &refValue{text: v, x: x, exact: e}
			}
		}
		for _, id := range refOf(fmt.Sprintf(`{"attribute": %q, "operator": "isNull"}`, name)) {
			require.Nil(t, vals[id], "%s: customer %d has a value and none", name, id)
		}
		byAttr[name] = vals
	}
	measures := map[string]*engine.Values{}
	for _, m := range engine.Measures(snap).List() {
		mv, err := engine.EvalMeasure(ctx, snap, m, asOf)
		require.NoError(t, err)
		measures[schema.MeasuresEntity+"."+m.Name] = mv
	}
	all := make([]uint32, nCust)
	for i := range all {
		all[i] = uint32(i)
	}
	for round := range 4 {
		segIDs, err := ref.Eval(randgen.Definition(r, info), asOf, nil)
		require.NoError(t, err)
		if len(segIDs) == 0 {
			segIDs = []uint32{uint32(r.IntN(int(nCust)))}
		}
		seg := analysis.Set{Name: "Seg", Members: roaring.BitmapOf(segIDs...)}
		opts := analysis.DifferentiatorsOptions{AsOf: asOf, Top: 1 + r.IntN(4)}
		base := all
		if round%2 == 1 {
			ids, err := ref.Eval(randgen.Definition(r, info), asOf, nil)
			require.NoError(t, err)
			if len(ids) == 0 {
				ids = all
			}
			opts.Against = &analysis.Set{Name: "Base", Members: roaring.BitmapOf(ids...)}
			base = ids
		}
		got, err := analysis.Differentiators(ctx, snap, seg, opts)
		require.NoError(t, err)
		require.Len(t, got.Attributes, len(byAttr)-1+len(measures), "every attribute but the key, and every measure")
		where := fmt.Sprintf("seed %d round %d", seed, round)
		for _, d := range got.Attributes {
			var want naiveDiff
			if mv, ok := measures[d.Attribute]; ok {
				typ := mv.Type()
				require.Equal(t, typ.String(), d.Type)
				if typ == schema.String || typ == schema.Boolean {
					want = naiveCategorical(segIDs, base, func(id uint32) (string, bool) { return mv.Format(id), mv.Valid(id) })
				} else {
					want = naiveNumeric(segIDs, base, func(id uint32) (float64, *big.Rat, string, bool) {
						if !mv.Valid(id) {
							return 0, nil, "", false
						}
						x, e := numberOf(t, typ.String(), mv.Format(id))
						if typ == schema.Number {
							x = mv.Float64(id)
							e = new(big.Rat).SetFloat64(x)
						}
						return x, e, mv.Format(id), true
					})
				}
			} else {
				vals := byAttr[d.Attribute]
				require.NotNil(t, vals, d.Attribute)
				require.Equal(t, types[d.Attribute], d.Type)
				if d.Type == "string" || d.Type == "boolean" {
					want = naiveCategorical(segIDs, base, func(id uint32) (string, bool) {
						if vals[id] == nil {
							return "", false
						}
						return vals[id].text, true
					})
				} else {
					want = naiveNumeric(segIDs, base, func(id uint32) (float64, *big.Rat, string, bool) {
						if vals[id] == nil {
							return 0, nil, "", false
						}
						return vals[id].x, vals[id].exact, vals[id].text, true
					})
					want.SegMedian, want.BaseMedian = normal(t, d.Type, want.SegMedian), normal(t, d.Type, want.BaseMedian)
				}
			}
			checkDifferentiator(t, want, d, opts.Top, where)
		}
	}
}

// jsonValue writes a value of an attribute as a definition's JSON value.
func jsonValue(t *testing.T, typ, v string) string {
	switch typ {
	case "integer", "number":
		return v
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// numberOf reads a numeric value as Differentiators measures it (dates
// and datetimes in days since 1970-01-01), and exactly: integers, days,
// microseconds, and numbers as the float64 they load as.
func numberOf(t *testing.T, typ, v string) (float64, *big.Rat) {
	switch typ {
	case "integer":
		x, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err)
		return float64(x), big.NewRat(x, 1)
	case "number":
		x, err := strconv.ParseFloat(v, 64)
		require.NoError(t, err)
		return x, new(big.Rat).SetFloat64(x)
	case "date":
		d, err := time.Parse(time.DateOnly, v)
		require.NoError(t, err)
		return float64(d.Unix() / 86400), big.NewRat(d.Unix()/86400, 1)
	case "datetime":
		d, err := time.Parse(time.RFC3339Nano, v)
		require.NoError(t, err)
		return float64(d.UnixMicro()) / 86400e6, big.NewRat(d.UnixMicro(), 1)
	}
	return 0, new(big.Rat)
}

// normal writes a value as data files write it after loading (a datetime
// in UTC, a number in its shortest form), as the result's medians are.
func normal(t *testing.T, typ, v string) string {
	switch {
	case v == "":
		return ""
	case typ == "datetime":
		d, err := time.Parse(time.RFC3339Nano, v)
		require.NoError(t, err)
		return d.UTC().Format(time.RFC3339Nano)
	case typ == "number":
		x, err := strconv.ParseFloat(v, 64)
		require.NoError(t, err)
		return exact.FormatNumber(x)
	}
	return v
}
