package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// The behavioural conditions on hand-made data whose members follow from
// FORMAT.md's words: 29 February in years without it, the edges of
// windows, rows at the same time in a sequence, days in a time zone.
// (The conformance test compares them with the reference evaluator on
// random data.)
const behaviourCustomers = `Id,I,N,S,D,T,B
c1,1,1,ann@shop.example,2000-02-29,2027-02-27T03:00:00Z,true
c2,1,1,BOB@Shop.example,1990-03-01,2027-02-27T12:00:00Z,true
c3,1,1,carl@other.org,1985-02-27,2027-02-26T23:00:00Z,true
c4,1,1,,,,true
c5,1,1,x,1999-12-31,,true
c6,1,1,y,2001-01-01,,true
`

// Orders: c1 buys A then B nine days later; c2 buys B and A on one day
// and again on 25 February; c3 B then A, then on 25 February; c4 on 20
// February only; c5 on 28 January only, c6 on 27 January only.
const behaviourOrders = `OrderId,CustomerId,Amount,Qty,Day,Channel
1,c1,1,1,2027-01-01,A
2,c1,1,1,2027-01-10,B
3,c2,1,1,2027-01-05,B
4,c2,1,1,2027-01-05,A
5,c2,1,1,2027-02-25,A
6,c3,1,1,2027-01-01,B
7,c3,1,1,2027-01-03,A
8,c3,1,1,2027-02-25,A
9,c4,1,1,2027-02-20,A
10,c5,1,1,2027-01-28,A
11,c6,1,1,2027-01-27,A
`

func TestBehaviouralConditions(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"schema.json": testSchema, "Customer.csv": behaviourCustomers,
		"Order.csv": behaviourOrders, "Line.csv": "LineId,OrderId,Sku\n"} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	snap, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	defer snap.Release()

	feb27 := time.Date(2027, 2, 27, 12, 0, 0, 0, time.UTC) // 2027 has no 29 February
	early := time.Date(2027, 2, 27, 2, 0, 0, 0, time.UTC)  // still 26 February in New York
	mar1 := time.Date(2028, 3, 1, 12, 0, 0, 0, time.UTC)   // 2028 has one
	seq := func(within string) string {
		return `{"related": "Order", "sequence": {"attribute": "Order.Day",
			"first": {"attribute": "Order.Channel", "operator": "equals", "value": "A"},
			"then": {"attribute": "Order.Channel", "operator": "equals", "value": "B"}, "withinDays": ` + within + `}}`
	}
	cases := []struct {
		name, tz, cond string
		at             time.Time
		want           string
	}{
		{"29 February's anniversary is 28 February without a leap day", "", `{"attribute": "Customer.D", "operator": "anniversaryInNextDays", "value": 1}`, feb27, "c1 c3"},
		{"the window includes its far end", "", `{"attribute": "Customer.D", "operator": "anniversaryInNextDays", "value": 2}`, feb27, "c1 c2 c3"},
		{"29 February in a leap year", "", `{"attribute": "Customer.D", "operator": "anniversaryInLastDays", "value": 1}`, mar1, "c1 c2"},
		{"a window across the new year", "", `{"attribute": "Customer.D", "operator": "anniversaryInNextDays", "value": 2}`, time.Date(2030, 12, 30, 0, 0, 0, 0, time.UTC), "c5 c6"},
		{"a year or more holds every date", "", `{"attribute": "Customer.D", "operator": "anniversaryInLastDays", "value": 366}`, feb27, "c1 c2 c3 c5 c6"},
		{"a datetime's date in UTC", "", `{"attribute": "Customer.T", "operator": "anniversaryInNextDays", "value": 1}`, feb27, "c1 c2"},
		{"a datetime's date in the time zone", "America/New_York", `{"attribute": "Customer.T", "operator": "anniversaryInNextDays", "value": 1}`, feb27, "c2"},
		{"relative days of a date in UTC", "", `{"related": "Order", "where": {"attribute": "Order.Day", "operator": "inLastDays", "value": 1}}`, early, ""},
		{"relative days of a date in the time zone", "America/New_York", `{"related": "Order", "where": {"attribute": "Order.Day", "operator": "inLastDays", "value": 1}}`, early, "c2 c3"},
		{"a sequence within its days", "", seq("14"), feb27, "c1"},
		{"a sequence too far apart", "", seq("8"), feb27, ""},
		{"rows on one day are not in order", "", seq("100"), feb27, "c1"},
		{"stopped: in the prior window, none in the last days", "", `{"related": "Order", "stopped": {"attribute": "Order.Day", "lastDays": 30, "priorDays": 60}}`, feb27, "c1 c6"},
		{"started: none in the prior window", "", `{"related": "Order", "started": {"attribute": "Order.Day", "lastDays": 30, "priorDays": 60}}`, feb27, "c4 c5"},
		{"stopped with a where", "", `{"related": "Order", "where": {"attribute": "Order.Channel", "operator": "equals", "value": "B"}, "stopped": {"attribute": "Order.Day", "lastDays": 30, "priorDays": 60}}`, feb27, "c1 c2 c3"},
		{"distinct months", "", `{"related": "Order", "aggregate": {"function": "countDistinct", "attribute": "Order.Day", "period": "month"}, "operator": "greaterThanOrEqual", "value": 2}`, feb27, "c2 c3"},
		{"distinct ISO weeks", "", `{"related": "Order", "aggregate": {"function": "countDistinct", "attribute": "Order.Day", "period": "week"}, "operator": "greaterThanOrEqual", "value": 2}`, feb27, "c1 c2 c3"},
		{"distinct days", "", `{"related": "Order", "aggregate": {"function": "countDistinct", "attribute": "Order.Day", "period": "day"}, "operator": "equals", "value": 2}`, feb27, "c1 c2"},
		{"matches", "", `{"attribute": "Customer.S", "operator": "matches", "value": "^[a-z]+@shop\\."}`, feb27, "c1"},
		{"matches with ignoreCase", "", `{"attribute": "Customer.S", "operator": "matches", "value": "^[a-z]+@shop\\.", "ignoreCase": true}`, feb27, "c1 c2"},
		{"matches anywhere", "", `{"attribute": "Customer.S", "operator": "matches", "value": "r"}`, feb27, "c3"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tz := ""
			if tc.tz != "" {
				tz = `"timeZone": "` + tc.tz + `", `
			}
			def, err := segment.Parse([]byte(`{"name": "T", ` + tz + `"groups": [{"condition": ` + tc.cond + `}]}`))
			require.NoError(t, err)
			plan, err := engine.Compile(def, snap, engine.Options{})
			require.NoError(t, err)
			bm, err := plan.Eval(context.Background(), tc.at)
			require.NoError(t, err)
			got := []string{}
			for _, id := range bm.ToArray() {
				got = append(got, snap.CustomerKey(id))
			}
			require.Equal(t, ks(tc.want), got)
		})
	}
}

// TestBehaviouralErrors: each wrong input to a behavioural condition is
// named with its path.
func TestBehaviouralErrors(t *testing.T) {
	snap := load(t)
	cases := map[string]struct{ def, path, msg string }{
		"bad pattern":       {`{"name": "T", "groups": [{"condition": {"attribute": "Customer.S", "operator": "matches", "value": "("}}]}`, "groups[0].condition.value", "RE2"},
		"long pattern":      {`{"name": "T", "groups": [{"condition": {"attribute": "Customer.S", "operator": "matches", "value": "` + string(make([]byte, 0)) + longPattern + `"}}]}`, "groups[0].condition.value", "at most 1,000"},
		"matches a number":  {`{"name": "T", "groups": [{"condition": {"attribute": "Customer.I", "operator": "matches", "value": "1"}}]}`, "groups[0].condition.operator", "does not apply"},
		"unknown zone":      {`{"name": "T", "timeZone": "Mars/Olympus", "groups": [{"condition": {"attribute": "Customer.B", "operator": "isTrue"}}]}`, "timeZone", "IANA"},
		"local zone":        {`{"name": "T", "timeZone": "Local", "groups": [{"condition": {"attribute": "Customer.B", "operator": "isTrue"}}]}`, "timeZone", "machine"},
		"period of amounts": {`{"name": "T", "groups": [{"condition": {"related": "Order", "aggregate": {"function": "countDistinct", "attribute": "Order.Amount", "period": "month"}, "operator": "greaterThan", "value": 1}}]}`, "groups[0].condition.aggregate.period", "date or datetime"},
		"period of a sum":   {`{"name": "T", "groups": [{"condition": {"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Day", "period": "month"}, "operator": "greaterThan", "value": 1}}]}`, "groups[0].condition.aggregate.period", "countDistinct only"},
		"sequence by a string": {`{"name": "T", "groups": [{"condition": {"related": "Order", "sequence": {"attribute": "Order.Channel", "first": {"attribute": "Order.Qty", "operator": "equals", "value": 1}, "then": {"attribute": "Order.Qty", "operator": "equals", "value": 2}, "withinDays": 3}}}]}`,
			"groups[0].condition.sequence.attribute", "date or datetime"},
		"sequence of another entity": {`{"name": "T", "groups": [{"condition": {"related": "Order", "sequence": {"attribute": "Order.Day", "first": {"attribute": "Customer.I", "operator": "equals", "value": 1}, "then": {"attribute": "Order.Qty", "operator": "equals", "value": 2}, "withinDays": 3}}}]}`,
			"groups[0].condition.sequence.first.attribute", "Order"},
		"zero days":               {`{"name": "T", "groups": [{"condition": {"related": "Order", "stopped": {"attribute": "Order.Day", "lastDays": 0, "priorDays": 30}}}]}`, "groups[0].condition.stopped.lastDays", "positive whole number"},
		"stopped and match":       {`{"name": "T", "groups": [{"condition": {"related": "Order", "match": "all", "stopped": {"attribute": "Order.Day", "lastDays": 3, "priorDays": 30}}}]}`, "groups[0].condition", "one of match"},
		"stopped and started":     {`{"name": "T", "groups": [{"condition": {"related": "Order", "started": {"attribute": "Order.Day", "lastDays": 3, "priorDays": 30}, "stopped": {"attribute": "Order.Day", "lastDays": 3, "priorDays": 30}}}]}`, "groups[0].condition.started", "not both"},
		"misspelt key":            {`{"name": "T", "groups": [{"condition": {"related": "Order", "sequence": {"attribute": "Order.Day", "first": {"attribute": "Order.Qty", "operator": "equals", "value": 1}, "thn": {"attribute": "Order.Qty", "operator": "equals", "value": 2}, "withinDays": 3}}}]}`, "groups[0].condition.sequence.thn", "unknown key"},
		"anniversary of a string": {`{"name": "T", "groups": [{"condition": {"attribute": "Customer.S", "operator": "anniversaryInNextDays", "value": 3}}]}`, "groups[0].condition.operator", "does not apply"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			def, err := segment.Parse([]byte(tc.def))
			if err == nil {
				_, err = engine.Compile(def, snap, engine.Options{})
			}
			require.Error(t, err)
			require.Contains(t, err.Error(), tc.path+": ")
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

var longPattern = func() string {
	b := make([]byte, segment.MaxPatternLength+1)
	for i := range b {
		b[i] = 'a'
	}
	return string(b)
}()
