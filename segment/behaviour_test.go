package segment_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/segment"
)

// TestBehaviourRoundTrip: the behavioural conditions parse into their
// nodes, write back as the same JSON, and print readably.
func TestBehaviourRoundTrip(t *testing.T) {
	src := `{"name":"B","timeZone":"Europe/Paris","groups":[{"condition":{"and":[` +
		`{"attribute":"Customer.Email","operator":"matches","value":"^a.*@x\\.com$","ignoreCase":true},` +
		`{"attribute":"Customer.SignupDate","operator":"anniversaryInNextDays","value":7},` +
		`{"related":"Order","aggregate":{"function":"countDistinct","attribute":"Order.OrderDate","period":"month"},"operator":"greaterThanOrEqual","value":3},` +
		`{"related":"Order","where":{"attribute":"Order.Amount","operator":"greaterThan","value":1},"sequence":{"attribute":"Order.OrderDate","first":{"attribute":"Order.Channel","operator":"equals","value":"web"},"then":{"attribute":"Order.Channel","operator":"equals","value":"store"},"withinDays":14}},` +
		`{"related":"Order","stopped":{"attribute":"Order.OrderDate","lastDays":30,"priorDays":90}},` +
		`{"related":"Order","started":{"attribute":"Order.OrderDate","lastDays":7,"priorDays":60}}]}}]}`
	def, err := segment.Parse([]byte(src))
	require.NoError(t, err)
	require.Equal(t, "Europe/Paris", def.TimeZone)
	and := def.Groups[0].Condition.(*segment.And).Conditions
	require.Equal(t, segment.Matches, and[0].(*segment.Predicate).Op)
	require.True(t, and[1].(*segment.Predicate).Op.Relative())
	require.Equal(t, segment.Month, and[2].(*segment.Related).Aggregate.Period)
	seq := and[3].(*segment.Related).Sequence
	require.Equal(t, "Order.OrderDate", seq.Attribute)
	require.Equal(t, segment.Int(14), seq.WithinDays)
	require.Equal(t, segment.Stopped, and[4].(*segment.Related).Change.Trend)
	require.Equal(t, segment.Started, and[5].(*segment.Related).Change.Trend)
	out, err := json.Marshal(def)
	require.NoError(t, err)
	var back, orig map[string]any
	require.NoError(t, json.Unmarshal(out, &back))
	require.NoError(t, json.Unmarshal([]byte(src), &orig))
	require.Equal(t, orig, back)
	require.Contains(t, def.String(), "sequence of Order where")
	require.Contains(t, def.String(), "countDistinct(Order.OrderDate by month)")
	require.Contains(t, def.String(), "stopped Order by Order.OrderDate: some in the 90 days before the last 30, none in the last 30")
	require.Contains(t, def.String(), "started Order by Order.OrderDate: none in the 60 days before the last 7, some in the last 7")

	// Walk and Inspect reach a sequence's first and then.
	var preds int
	segment.Inspect(def.Groups[0].Condition, func(c segment.Condition) bool {
		if _, ok := c.(*segment.Predicate); ok {
			preds++
		}
		return true
	})
	require.Equal(t, 5, preds)
}

// TestBehaviourShape: the parser reports the shapes it cannot take.
func TestBehaviourShape(t *testing.T) {
	for name, tc := range map[string]struct{ cond, path string }{
		"sequence and aggregate": {`{"related":"Order","aggregate":{"function":"count"},"operator":"equals","value":1,"sequence":{"attribute":"Order.OrderDate","first":{"attribute":"Order.Channel","operator":"isNull"},"then":{"attribute":"Order.Channel","operator":"isNull"},"withinDays":1}}`, ""},
		"sequence without then":  {`{"related":"Order","sequence":{"attribute":"Order.OrderDate","first":{"attribute":"Order.Channel","operator":"isNull"},"withinDays":1}}`, "groups[0].condition.sequence.then"},
		"stopped without days":   {`{"related":"Order","stopped":{"attribute":"Order.OrderDate","lastDays":1}}`, "groups[0].condition.stopped.priorDays"},
		"unknown period":         {`{"related":"Order","aggregate":{"function":"countDistinct","attribute":"Order.OrderDate","period":"mnth"},"operator":"equals","value":1}`, "groups[0].condition.aggregate.period"},
		"timeZone not a string":  {``, "timeZone"},
	} {
		t.Run(name, func(t *testing.T) {
			src := `{"name":"B","groups":[{"condition":` + tc.cond + `}]}`
			if tc.cond == "" {
				src = `{"name":"B","timeZone":1,"groups":[{"condition":{"segment":"A"}}]}`
			}
			_, err := segment.Parse([]byte(src))
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.path)
		})
	}
}
