package quick_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/schema"
)

// TestSchemaFieldsMatchFields: the fields read from the schema alone are
// the ones the loaded data gives, with the same kinds wherever the type
// decides them; the two walks of the schema must not drift apart.
func TestSchemaFieldsMatchFields(t *testing.T) {
	ctx := context.Background()
	for _, snap := range []func(t *testing.T) quick.View{
		func(t *testing.T) quick.View {
			return view(t, unitData{customer: []col{{name: "N", typ: schema.Integer, vals: ints(int64(1), int64(2))}},
				churn: [][2]any{{int64(0), 0.5}}})
		},
		func(t *testing.T) quick.View {
			return quick.New(snapshotOf(t, severalPaths, map[string][]col{
				"Customer": {{name: "Id", typ: schema.Integer, vals: ints(int64(1))}},
				"Account": {{name: "AccountId", typ: schema.Integer, vals: ints(int64(10))},
					{name: "Owner", typ: schema.Integer, vals: ints(int64(1))}},
				"Propensity": {{name: "Id", typ: schema.Integer, vals: ints(int64(100))},
					{name: "Account", typ: schema.Integer, vals: ints(int64(10))},
					{name: "Customer", typ: schema.Integer, vals: ints(int64(1))},
					{name: "Likely", typ: schema.Boolean, vals: ints(true)}},
			}), quick.Options{}).At(asOf)
		},
	} {
		v := snap(t)
		var loaded []quick.Field
		for _, src := range quick.Origins() {
			fs, err := v.Fields(ctx, src)
			require.NoError(t, err)
			loaded = append(loaded, fs...)
		}
		fromSchema := quick.SchemaFields(v.Stats().Snapshot().Schema())
		require.Len(t, fromSchema, len(loaded))
		for i, f := range fromSchema {
			want := loaded[i]
			if !f.ScaleKnown() {
				f.Scale = want.Scale
			}
			require.Equal(t, want, f)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	v := view(t, unitData{customer: []col{{name: "N", typ: schema.Integer, vals: ints(int64(1), int64(2))}}})
	sch := v.Stats().Snapshot().Schema()
	for _, c := range []struct {
		field, value string
		op           quick.Op
		err          error
	}{
		{"Customer.S", "US", quick.Is, nil},
		{"Customer.N", "3", quick.GreaterThan, nil},
		{"Customer.N", "3", quick.Is, nil}, // an integer's kind waits for the data
		{"Customer.X", "3", quick.Is, quick.ErrOperator},
		{"Customer.NN", "3", quick.GreaterThan, quick.ErrUnknownField},
		{"Customer.S", "US", quick.LessThan, quick.ErrOperator},
		{"Customer.N", "old", quick.GreaterThan, quick.ErrValue},
		{"Customer.N", "3", quick.Between, quick.ErrValue},
		{"Measures.Units", "x", quick.GreaterThan, quick.ErrValue},
		{"Churn.Score", "0.5", quick.GreaterThan, nil},
	} {
		_, err := quick.CheckQuery(sch, c.field, c.op, c.value)
		if c.err == nil {
			require.NoError(t, err, c.field)
		} else {
			require.ErrorIs(t, err, c.err, c.field)
		}
	}
	_, err := quick.SchemaField(sch, "Score")
	require.ErrorIs(t, err, quick.ErrUnknownField)
	require.Contains(t, err.Error(), "did you mean Churn.Score?")
}
