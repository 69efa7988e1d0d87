package refeval

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The customers of testdata/small, in file order.
var smallKeys = []string{"A", "B", "C", "D", "E", "F"}

// TestSmall checks hand-computed members over testdata/small. Each expected
// list follows from FORMAT.md's wording; the comments give the reason.
func TestSmall(t *testing.T) {
	d, err := Load("testdata/small")
	require.NoError(t, err)
	asOf := time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		cond string
		asOf time.Time // zero means asOf
		want string
	}{
		// A predicate on null is false; not is the plain complement.
		{"greater", `{"attribute":"Customer.Age","operator":"greaterThan","value":30}`, time.Time{}, "A D"},
		{"not greater", `{"not":{"attribute":"Customer.Age","operator":"greaterThan","value":30}}`, time.Time{}, "B C E F"},
		{"notEquals false on null", `{"attribute":"Customer.Age","operator":"notEquals","value":30}`, time.Time{}, "A D E"},
		{"not equals includes null", `{"not":{"attribute":"Customer.Age","operator":"equals","value":30}}`, time.Time{}, "A B D E F"},
		{"isNull", `{"attribute":"Customer.Age","operator":"isNull"}`, time.Time{}, "B F"},
		{"notIn false on null", `{"attribute":"Customer.Score","operator":"notIn","value":[0]}`, time.Time{}, "A B D"},

		// Integers compare exactly with any JSON number.
		{"fraction above", `{"attribute":"Customer.Age","operator":"greaterThan","value":30.5}`, time.Time{}, "A D"},
		{"fraction below", `{"attribute":"Customer.Age","operator":"lessThan","value":30.5}`, time.Time{}, "C E"},
		{"between low==high", `{"attribute":"Customer.Age","operator":"between","value":[30,30.0]}`, time.Time{}, "C"},
		{"2^53 exact", `{"attribute":"Customer.Score","operator":"equals","value":9007199254740992}`, time.Time{}, "B"},
		{"2^53+1 greater", `{"attribute":"Customer.Score","operator":"greaterThan","value":9007199254740992}`, time.Time{}, "A"},
		{"number as float", `{"related":"Order","aggregate":{"function":"sum","attribute":"Order.Amount"},"operator":"equals","value":-2.5}`, time.Time{}, "C"},
		{"beyond int64", `{"attribute":"Customer.Score","operator":"lessThan","value":9223372036854775808}`, time.Time{}, "A B D E"},

		// Simple case folding: ß is not ss; the Kelvin sign folds with k.
		{"ignoreCase equals", `{"attribute":"Customer.Name","operator":"equals","value":"ÄRGER","ignoreCase":true}`, time.Time{}, "A B"},
		{"equals is exact", `{"attribute":"Customer.Name","operator":"equals","value":"ärger"}`, time.Time{}, "B"},
		{"no full folding", `{"attribute":"Customer.Name","operator":"equals","value":"STRASSE","ignoreCase":true}`, time.Time{}, "D"},
		{"kelvin sign", `{"attribute":"Customer.Name","operator":"in","value":["KELVIN"],"ignoreCase":true}`, time.Time{}, "E F"},
		{"startsWith ignoreCase", `{"attribute":"Customer.Name","operator":"startsWith","value":"k","ignoreCase":true}`, time.Time{}, "E F"},
		{"startsWith exact", `{"attribute":"Customer.Name","operator":"startsWith","value":"k"}`, time.Time{}, "F"},
		{"notContains ignoreCase", `{"attribute":"Customer.Name","operator":"notContains","value":"SS","ignoreCase":true}`, time.Time{}, "A B C E F"},

		// Relative dates: D is the UTC day of T.
		{"date inLastDays", `{"attribute":"Customer.Since","operator":"inLastDays","value":7}`, time.Time{}, "A C"},
		{"date inNextDays", `{"attribute":"Customer.Since","operator":"inNextDays","value":7}`, time.Time{}, "C D E"},
		{"datetime inLastDays", `{"attribute":"Customer.Seen","operator":"inLastDays","value":7}`, time.Time{}, "A C E F"},
		{"datetime inNextDays", `{"attribute":"Customer.Seen","operator":"inNextDays","value":1}`, time.Time{}, "C D"},
		{"as-of day in UTC", `{"attribute":"Customer.Since","operator":"inLastDays","value":1}`,
			time.Date(2026, 6, 15, 22, 0, 0, 0, time.FixedZone("", -5*3600)), "C D"},
		{"datetime vs date value", `{"attribute":"Customer.Seen","operator":"equals","value":"2026-06-15"}`, time.Time{}, "F"},
		{"datetime offsets", `{"attribute":"Customer.Seen","operator":"equals","value":"2026-06-08T08:00:00-04:00"}`, time.Time{}, "A E"},

		// Related rows: all needs a row; none holds without rows.
		{"match all", `{"related":"Order","where":{"attribute":"Order.Amount","operator":"greaterThan","value":0},"match":"all"}`, time.Time{}, "A"},
		{"match none", `{"related":"Order","where":{"attribute":"Order.Amount","operator":"greaterThan","value":0},"match":"none"}`, time.Time{}, "C D E F"},
		{"match any default", `{"related":"Order"}`, time.Time{}, "A B C"},
		{"not inside where", `{"related":"Order","where":{"not":{"attribute":"Order.Amount","operator":"greaterThan","value":0}}}`, time.Time{}, "B C"},

		// Aggregates over no rows: count and sum 0, avg/min/max null.
		{"count 0", `{"related":"Order","aggregate":{"function":"count"},"operator":"equals","value":0}`, time.Time{}, "D E F"},
		{"sum 0", `{"related":"Order","aggregate":{"function":"sum","attribute":"Order.Amount"},"operator":"equals","value":0}`, time.Time{}, "D E F"},
		{"sum negative", `{"related":"Order","aggregate":{"function":"sum","attribute":"Order.Amount"},"operator":"lessThan","value":0}`, time.Time{}, "C"},
		{"avg null", `{"related":"Order","aggregate":{"function":"avg","attribute":"Order.Amount"},"operator":"isNull"}`, time.Time{}, "D E F"},
		{"avg ignores nulls", `{"related":"Order","aggregate":{"function":"avg","attribute":"Order.Amount"},"operator":"equals","value":5}`, time.Time{}, "B"},
		{"avg compare", `{"related":"Order","aggregate":{"function":"avg","attribute":"Order.Amount"},"operator":"greaterThan","value":-1000}`, time.Time{}, "A B C"},
		{"min date", `{"related":"Order","aggregate":{"function":"min","attribute":"Order.Day"},"operator":"lessThanOrEqual","value":"2026-06-10"}`, time.Time{}, "A B"},
		{"not min date", `{"not":{"related":"Order","aggregate":{"function":"min","attribute":"Order.Day"},"operator":"lessThanOrEqual","value":"2026-06-10"}}`, time.Time{}, "C D E F"},
		{"countDistinct bytes", `{"related":"Order","aggregate":{"function":"countDistinct","attribute":"Order.Channel"},"operator":"equals","value":2}`, time.Time{}, "A B"},

		// Multi-hop: a null or dangling key anywhere links nowhere.
		{"multi-hop shorthand", `{"attribute":"OrderLine.Qty","operator":"greaterThan","value":0}`, time.Time{}, "A B"},
		{"multi-hop none", `{"related":"OrderLine","match":"none"}`, time.Time{}, "C D E F"},

		// Measures: first/last order by (orderBy, key); ties by key bytes.
		{"first tie by key", `{"attribute":"Measures.FirstChannel","operator":"equals","value":"web"}`, time.Time{}, "A B"},
		{"last tie by key", `{"attribute":"Measures.LastChannel","operator":"equals","value":"store"}`, time.Time{}, "B"},
		{"last A", `{"attribute":"Measures.LastChannel","operator":"equals","value":"Web"}`, time.Time{}, "A"},
		{"first null orderBy", `{"attribute":"Measures.FirstChannel","operator":"isNull"}`, time.Time{}, "C D E F"},
		{"measure sum empty", `{"attribute":"Measures.Spend","operator":"equals","value":0}`, time.Time{}, "D E F"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := asOf
			if !tt.asOf.IsZero() {
				at = tt.asOf
			}
			def := `{"name":"T","groups":[{"condition":` + tt.cond + `}]}`
			ids, err := d.Eval([]byte(def), at, nil)
			require.NoError(t, err)
			require.Equal(t, tt.want, keys(ids))
		})
	}
}

func TestGroupsAndSegments(t *testing.T) {
	d, err := Load("testdata/small")
	require.NoError(t, err)
	// ((Age>30 union Age isNull) except Name=ärger/i) intersect Score isNotNull
	def := `{"name":"G","groups":[
		{"condition":{"attribute":"Customer.Age","operator":"greaterThan","value":30}},
		{"setOperator":"union","condition":{"attribute":"Customer.Age","operator":"isNull"}},
		{"setOperator":"except","condition":{"attribute":"Customer.Name","operator":"equals","value":"ärger","ignoreCase":true}},
		{"setOperator":"intersect","condition":{"attribute":"Customer.Score","operator":"isNotNull"}}]}`
	ids, err := d.Eval([]byte(def), time.Time{}, nil)
	require.NoError(t, err)
	require.Equal(t, "D", keys(ids))

	ref := `{"name":"R","groups":[{"condition":{"or":[{"segment":"Other"},{"attribute":"Customer.Age","operator":"equals","value":25}]}}]}`
	ids, err = d.Eval([]byte(ref), time.Time{}, map[string][]uint32{"Other": {0, 5}})
	require.NoError(t, err)
	require.Equal(t, "A E F", keys(ids))
	_, err = d.Eval([]byte(ref), time.Time{}, nil)
	require.Error(t, err)
}

func TestMalformedDoesNotPanic(t *testing.T) {
	d, err := Load("testdata/small")
	require.NoError(t, err)
	for _, def := range []string{
		`{}`, `[]`, `{"groups":[1]}`, `{"groups":[{"condition":{"and":[1]}}]}`,
		`{"groups":[{"condition":{"attribute":"Customer.Age","operator":"equals","value":"x"}}]}`,
		`{"groups":[{"condition":{"related":"Order","aggregate":{"function":"sum","attribute":"Order.Channel"},"operator":"equals","value":1}}]}`,
		`{"groups":[{"condition":{"attribute":"Nope.X","operator":"isNull"}}]}`,
	} {
		_, err := d.Eval([]byte(def), time.Time{}, nil)
		require.Error(t, err, def)
	}
}

func keys(ids []uint32) string {
	var out []string
	for _, id := range ids {
		out = append(out, smallKeys[id])
	}
	return strings.Join(out, " ")
}
