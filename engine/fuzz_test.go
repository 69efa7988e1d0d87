package engine_test

import (
	"context"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// FuzzCompileEval checks that no definition that parses makes Compile or
// Eval panic, whatever the restriction and cache options, and that the
// options never change the members.
func FuzzCompileEval(f *testing.F) {
	for _, c := range []string{
		pred("S", "contains", `""`),
		`{"attribute": "Customer.S", "operator": "contains", "value": "", "ignoreCase": true}`,
		`{"attribute": "Customer.S", "operator": "endsWith", "value": "PLE", "ignoreCase": true}`,
		`{"and": [` + pred("I", "lessThan", "3") + `, ` + rel(`{"attribute": "Order.Day", "operator": "inLastDays", "value": 90}`, `, "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 10`) + `]}`,
		`{"and": [` + pred("B", "isTrue", "") + `, {"not": ` + rel(`{"attribute": "Order.Channel", "operator": "in", "value": ["web", "app"]}`, `, "match": "all"`) + `}]}`,
		rel("", `, "aggregate": {"function": "max", "attribute": "Order.Day"}, "operator": "lessThan", "value": "2026-03-01"`),
	} {
		f.Add([]byte(`{"name": "F", "groups": [{"condition": ` + c + `}, {"setOperator": "except", "condition": ` + pred("I", "equals", "2") + `}]}`))
	}
	snap, err := storage.Load(context.Background(), writeDir(f), storage.Options{})
	require.NoError(f, err)
	f.Cleanup(snap.Release)
	f.Fuzz(func(t *testing.T, data []byte) {
		def, err := segment.Parse(data)
		if err != nil {
			return
		}
		cache := engine.NewCache(snap, 0)
		var want *roaring.Bitmap
		for _, opts := range []engine.Options{{CandidateShare: -1}, {}, {CandidateShare: 1}, {Cache: cache, CandidateShare: 1}, {Cache: cache}} {
			plan, err := engine.Compile(def, snap, opts)
			if err != nil {
				return // a definition that does not fit the schema
			}
			got, err := plan.Eval(context.Background(), asOf)
			if err != nil {
				return
			}
			if want == nil {
				want = got
				continue
			}
			require.True(t, want.Equals(got), "%s with %+v: %v, want %v", data, opts, got.ToArray(), want.ToArray())
		}
	})
}
