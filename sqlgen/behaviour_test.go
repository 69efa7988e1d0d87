package sqlgen_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/sqlgen"
)

// TestBehaviourNotExpressible: every dialect names each behavioural
// condition of FORMAT.md section 6 as not expressible, at its path,
// rather than compiling a query with other members; a definition's time
// zone compiles (its relative days are the as-of day in that zone; the
// SQLite differential test compares the members).
func TestBehaviourNotExpressible(t *testing.T) {
	cases := map[string]struct{ cond, path string }{
		"matches":     {`{"attribute": "Customer.Email", "operator": "matches", "value": "@shop\\."}`, "groups[0].condition"},
		"anniversary": {`{"attribute": "Customer.SignupDate", "operator": "anniversaryInNextDays", "value": 7}`, "groups[0].condition"},
		"period": {`{"related": "Order", "aggregate": {"function": "countDistinct", "attribute": "Order.OrderDate", "period": "month"}, "operator": "greaterThanOrEqual", "value": 3}`,
			"groups[0].condition.period"},
		"sequence": {`{"related": "Order", "sequence": {"attribute": "Order.OrderDate", "first": {"attribute": "Order.Channel", "operator": "equals", "value": "web"},
			"then": {"attribute": "Order.Channel", "operator": "equals", "value": "store"}, "withinDays": 14}}`, "groups[0].condition.sequence"},
		"stopped": {`{"related": "Order", "stopped": {"attribute": "Order.OrderDate", "lastDays": 30, "priorDays": 90}}`, "groups[0].condition.stopped"},
		"started": {`{"related": "Order", "started": {"attribute": "Order.OrderDate", "lastDays": 30, "priorDays": 90}}`, "groups[0].condition.started"},
	}
	for _, name := range sqlgen.Dialects() {
		d, err := sqlgen.LookupDialect(name)
		require.NoError(t, err)
		for what, tc := range cases {
			_, err := sqlgen.Compile(parse(t, tc.cond), demo.Schema(), sqlgen.Options{Dialect: d, AsOf: goldenAsOf})
			require.ErrorIs(t, err, sqlgen.ErrUnsupported, "%s: %s", name, what)
			var l diag.List
			require.ErrorAs(t, err, &l)
			require.Equal(t, tc.path, l[0].Path, "%s: %s", name, what)
		}
		def := parse(t, `{"attribute": "Customer.SignupDate", "operator": "inLastDays", "value": 7}`)
		def.TimeZone = "Asia/Tokyo"
		_, err = sqlgen.Compile(def, demo.Schema(), sqlgen.Options{Dialect: d, AsOf: goldenAsOf})
		require.NoError(t, err, name)
	}
}
