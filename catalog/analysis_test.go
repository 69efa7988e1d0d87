package catalog

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/analysis"
)

// TestDifferentiators compares a refreshed segment (ages over 24: C006..
// C010 of C001..C010, aged 20..29) with all customers and with another
// segment, measures included, and checks the refused requests.
func TestDifferentiators(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	for _, name := range []string{"Older", "Young", "Draft"} {
		cond := map[string]string{"Older": ageOver(24), "Young": `{"attribute": "Customer.Age", "operator": "lessThan", "value": 27}`, "Draft": ageOver(20)}[name]
		_, err := e.cat.Create(ctx, def(name, cond), CreateOptions{})
		require.NoError(t, err)
		if name != "Draft" {
			_, err = e.cat.Activate(ctx, name)
			require.NoError(t, err)
		}
	}
	res, err := e.cat.Differentiators(ctx, "Older", DifferentiatorsOptions{})
	require.NoError(t, err)
	require.Equal(t, "Older", res.Segment)
	require.Equal(t, "", res.Against)
	require.Equal(t, uint64(5), res.SegmentSize)
	require.Equal(t, uint64(10), res.BaseSize)
	require.NotNil(t, res.AsOf, "measures are computed at the members' instant")
	byName := map[string]analysis.Differentiator{}
	for _, a := range res.Attributes {
		byName[a.Attribute] = a
	}
	require.Contains(t, byName, "Measures.Spend")
	require.NotContains(t, byName, "Customer.CustomerId")
	age := byName["Customer.Age"]
	require.Equal(t, "Customer.Age", res.Attributes[0].Attribute, "age sets them apart most")
	require.Equal(t, analysis.KolmogorovSmirnov, age.Statistic)
	require.InDelta(t, 0.5, age.Score, 1e-12) // none of them at or below 24, half of all
	require.Equal(t, "24", age.KSAt)
	require.InDelta(t, 27.0, *age.Segment.Mean, 1e-12)
	require.InDelta(t, 24.5, *age.Base.Mean, 1e-12)
	country := byName["Customer.Country"]
	require.Equal(t, analysis.TotalVariation, country.Statistic)
	require.InDelta(t, 0.1, country.Score, 1e-12)

	vs, err := e.cat.Differentiators(ctx, "Older", DifferentiatorsOptions{Against: "Young", Attributes: []string{"Customer.Age"}, Top: 1})
	require.NoError(t, err)
	require.Equal(t, "Young", vs.Against)
	require.Equal(t, uint64(7), vs.BaseSize)
	require.Len(t, vs.Attributes, 1)

	for _, c := range []struct {
		name string
		opts DifferentiatorsOptions
		err  error
		msg  string
	}{
		{"Oldr", DifferentiatorsOptions{}, ErrNotFound, "Older"},
		{"Older", DifferentiatorsOptions{Against: "Yung"}, ErrNotFound, "Young"},
		{"Draft", DifferentiatorsOptions{}, ErrNoMembers, "never been refreshed"},
		{"Older", DifferentiatorsOptions{Against: "Draft"}, ErrNoMembers, "never been refreshed"},
		{"Older", DifferentiatorsOptions{Attributes: []string{"Customer.Agee"}}, analysis.ErrUnknownField, "did you mean Customer.Age?"},
		{"Older", DifferentiatorsOptions{Top: 1000}, analysis.ErrOptions, "not 1000"},
	} {
		_, err := e.cat.Differentiators(ctx, c.name, c.opts)
		require.ErrorIs(t, err, c.err)
		require.Contains(t, err.Error(), c.msg)
	}
}
