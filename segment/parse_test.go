package segment_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/segment"
)

// TestParseFormatExample parses FORMAT.md's example into the expected tree.
func TestParseFormatExample(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "highvalue.json"))
	require.NoError(t, err)
	got, err := segment.Parse(data)
	require.NoError(t, err)
	want := &segment.Definition{
		Name:        "HighValueEscalated",
		DisplayName: "High value customers with an escalated case",
		Description: "Ordered at least 500 in the last 90 days and had a case escalated.",
		Membership:  segment.Dynamic,
		Groups: []segment.Group{
			{Condition: &segment.And{Conditions: []segment.Condition{
				&segment.Related{
					Entity:    "Order",
					Where:     &segment.Predicate{Attribute: "Order.OrderDate", Op: segment.InLastDays, Value: segment.Int(90)},
					Aggregate: &segment.Aggregate{Func: segment.Sum, Attribute: "Order.Amount"},
					Op:        segment.GreaterThanOrEqual,
					Value:     segment.Int(500),
				},
				&segment.Related{
					Entity: "SupportCase",
					Where:  &segment.Predicate{Attribute: "SupportCase.Escalated", Op: segment.IsTrue},
				},
			}}},
			{SetOp: segment.Except, Condition: &segment.Predicate{
				Attribute: "Customer.Country", Op: segment.In, Value: segment.Strs("XX", "YY")}},
		},
	}
	require.Equal(t, want, got)
}

// TestRoundTripFiles checks JSON -> Definition -> JSON on every testdata
// definition: the second parse equals the first, and marshalling again
// gives the same bytes.
func TestRoundTripFiles(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	for _, file := range files {
		base := filepath.Base(file)
		if base == "schema.json" || strings.HasPrefix(base, "measure_") {
			continue
		}
		t.Run(base, func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			d1, err := segment.Parse(data)
			require.NoError(t, err)
			b1, err := json.Marshal(d1)
			require.NoError(t, err)
			d2, err := segment.Parse(b1)
			require.NoError(t, err)
			require.Equal(t, d1, d2)
			b2, err := json.Marshal(d2)
			require.NoError(t, err)
			require.Equal(t, string(b1), string(b2))
			var d3 segment.Definition
			require.NoError(t, json.Unmarshal(b2, &d3))
			require.Equal(t, d1, &d3)
		})
	}
}

func TestParseProblems(t *testing.T) {
	// group wraps a condition in a one-group definition.
	group := func(cond string) string {
		return `{"name": "S", "groups": [{"condition": ` + cond + `}]}`
	}
	tests := []struct {
		name string
		in   string
		want want
	}{
		{"invalid JSON gives the line", "{\n  \"name\": \"S\",\n  \"groups\": [\n    {\"condition\": {\"attribute\" 1}}\n  ]\n}",
			want{segment.ErrSyntax, "", "line 4, column 32", ""}},
		{"truncated JSON", "{\n\"name\": \"S\",\n\"groups\": [",
			want{segment.ErrSyntax, "", "line 3", ""}},
		{"empty input", "  ", want{segment.ErrSyntax, "", "the input is empty", ""}},
		{"data after the definition", `{"name": "S", "groups": [{"condition": {"segment": "A"}}]} {}`,
			want{segment.ErrSyntax, "", "after top-level value", ""}},
		{"not an object", `["S"]`, want{segment.ErrSyntax, "", "a definition must be a JSON object, not an array", ""}},
		{"unknown key in a predicate", group(`{"attribute": "Customer.Age", "operater": "equals", "value": 1}`),
			want{segment.ErrSyntax, "groups[0].condition.operater", `unknown key "operater" in a predicate`, "operator"}},
		{"unknown top-level key", `{"name": "S", "group": [], "groups": [{"condition": {"segment": "A"}}]}`,
			want{segment.ErrSyntax, "group", `unknown key "group" in a definition`, "groups"}},
		{"unknown key without suggestion lists the keys", group(`{"segment": "A", "zzz": 1}`),
			want{segment.ErrSyntax, "groups[0].condition.zzz", `unknown key "zzz" in a segment reference; use one of segment`, ""}},
		{"key of another form", group(`{"attribute": "Customer.Age", "operator": "isNull", "where": {}}`),
			want{segment.ErrSyntax, "groups[0].condition.where", `key "where" does not belong in a predicate`, ""}},
		{"duplicate key", group(`{"attribute": "Customer.Age", "operator": "isNull", "operator": "isNotNull"}`),
			want{segment.ErrSyntax, "groups[0].condition.operator", `key "operator" appears twice`, ""}},
		{"unknown operator", group(`{"attribute": "Customer.Age", "operator": "greaterThen", "value": 1}`),
			want{segment.ErrUnknownOperator, "groups[0].condition.operator", `unknown operator "greaterThen"`, "greaterThan"}},
		{"unknown operator far from any", group(`{"attribute": "Customer.Age", "operator": "bigger", "value": 1}`),
			want{segment.ErrUnknownOperator, "groups[0].condition.operator", `unknown operator "bigger"; use one of equals, notEquals`, ""}},
		{"missing operator", group(`{"attribute": "Customer.Age", "value": 1}`),
			want{segment.ErrSyntax, "groups[0].condition.operator", "a predicate needs an operator", ""}},
		{"unknown function", group(`{"related": "Order", "aggregate": {"function": "summ"}, "operator": "equals", "value": 1}`),
			want{segment.ErrAggregate, "groups[0].condition.aggregate.function", `unknown function "summ"`, "sum"}},
		{"missing function", group(`{"related": "Order", "aggregate": {"attribute": "Order.Amount"}, "operator": "equals", "value": 1}`),
			want{segment.ErrSyntax, "groups[0].condition.aggregate.function", "an aggregate needs a function", ""}},
		{"unknown match", group(`{"related": "Order", "match": "al"}`),
			want{segment.ErrAggregate, "groups[0].condition.match", `unknown match "al"`, "all"}},
		{"match and aggregate", group(`{"related": "Order", "match": "any", "aggregate": {"function": "count"}, "operator": "equals", "value": 1}`),
			want{segment.ErrAggregate, "groups[0].condition.match", "match or aggregate, not both", ""}},
		{"unknown setOperator", `{"name": "S", "groups": [{"condition": {"segment": "A"}}, {"setOperator": "excep", "condition": {"segment": "B"}}]}`,
			want{segment.ErrGroups, "groups[1].setOperator", `unknown setOperator "excep"`, "except"}},
		{"unknown type", `{"name": "S", "type": "statc", "groups": [{"condition": {"segment": "A"}}]}`,
			want{segment.ErrSyntax, "type", `unknown type "statc"`, "static"}},
		{"two forms", group(`{"and": [{"segment": "A"}], "attribute": "Customer.Age"}`),
			want{segment.ErrSyntax, "groups[0].condition", "this one has and and attribute", ""}},
		{"no form", group(`{"operator": "equals", "value": 1}`),
			want{segment.ErrSyntax, "groups[0].condition", "a condition needs one of the keys and, or, not, attribute, related, segment", ""}},
		{"misspelt form key", group(`{"atribute": "Customer.Age", "operator": "isNull"}`),
			want{segment.ErrSyntax, "groups[0].condition.atribute", `unknown key "atribute" in a condition`, "attribute"}},
		{"empty and", group(`{"and": []}`),
			want{segment.ErrEmpty, "groups[0].condition.and", "and needs at least one condition", ""}},
		{"empty or deep inside", `{"name": "S", "groups": [{"condition": {"segment": "A"}}, {"setOperator": "union", "condition": {"and": [{"not": {"or": []}}]}}]}`,
			want{segment.ErrEmpty, "groups[1].condition.and[0].not.or", "or needs at least one condition", ""}},
		{"nested path", `{"name": "S", "groups": [{"condition": {"segment": "A"}}, {"setOperator": "union", "condition": {"and": [{"attribute": "Customer.Age", "operator": "equal", "value": 1}]}}]}`,
			want{segment.ErrUnknownOperator, "groups[1].condition.and[0].operator", `unknown operator "equal"`, "equals"}},
		{"missing groups", `{"name": "S"}`, want{segment.ErrGroups, "groups", "at least one group", ""}},
		{"empty groups", `{"name": "S", "groups": []}`, want{segment.ErrGroups, "groups", "at least one group", ""}},
		{"setOperator on the first group", `{"name": "S", "groups": [{"setOperator": "union", "condition": {"segment": "A"}}]}`,
			want{segment.ErrGroups, "groups[0].setOperator", "the first group has no setOperator", ""}},
		{"missing setOperator", `{"name": "S", "groups": [{"condition": {"segment": "A"}}, {"condition": {"segment": "B"}}]}`,
			want{segment.ErrGroups, "groups[1].setOperator", "group 2 needs a setOperator", ""}},
		{"missing condition", `{"name": "S", "groups": [{}]}`,
			want{segment.ErrSyntax, "groups[0].condition", "a group needs a condition", ""}},
		{"wrong JSON type", group(`{"attribute": 5, "operator": "isNull"}`),
			want{segment.ErrSyntax, "groups[0].condition.attribute", "attribute must be a string, not number 5", ""}},
		{"condition not an object", group(`"Customer.Age > 5"`),
			want{segment.ErrSyntax, "groups[0].condition", `a condition must be a JSON object, not string "Customer.Age > 5"`, ""}},
		{"ignoreCase not a boolean", group(`{"attribute": "Customer.Email", "operator": "contains", "value": "x", "ignoreCase": "yes"}`),
			want{segment.ErrSyntax, "groups[0].condition.ignoreCase", "ignoreCase must be true or false", ""}},
		{"path not an array", group(`{"related": "Order", "path": "OrderCustomer"}`),
			want{segment.ErrSyntax, "groups[0].condition.path", "path must be an array of relationship names", ""}},
		{"path element not a string", group(`{"related": "Order", "path": ["OrderCustomer", 1]}`),
			want{segment.ErrSyntax, "groups[0].condition.path[1]", "a relationship name must be a string", ""}},
		{"where not an object", group(`{"related": "Order", "where": []}`),
			want{segment.ErrSyntax, "groups[0].condition.where", "a condition must be a JSON object, not an array", ""}},
		{"too deep", group(strings.Repeat(`{"not": `, 600) + `{"segment": "A"}` + strings.Repeat("}", 600)),
			want{segment.ErrLimit, "", "nested more than 500 levels deep", ""}},
		{"too many values", group(`{"attribute": "Customer.Age", "operator": "in", "value": [` +
			strings.Repeat("1,", segment.MaxDefinitionValues) + `1]}`),
			want{segment.ErrLimit, "", "more than 100,000 JSON values", ""}},
		{"number too long", group(`{"attribute": "Customer.Age", "operator": "equals", "value": ` +
			strings.Repeat("9", segment.MaxNumberLength+1) + `}`),
			want{segment.ErrLimit, "", "line 1, column", ""}},
		{"invalid UTF-8", group(`{"attribute": "Customer.Country", "operator": "equals", "value": "D` + "\xff" + `E"}`),
			want{segment.ErrSyntax, "", "byte 0xff is not UTF-8", ""}},
		{"second byte order mark", "\xEF\xBB\xBF\xEF\xBB\xBF" + group(`{"segment": "A"}`),
			want{segment.ErrSyntax, "", "a byte order mark (U+FEFF)", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := segment.Parse([]byte(tt.in))
			require.Nil(t, d)
			requireProblem(t, err, tt.want)
		})
	}
}

// TestParseReportsEveryProblem checks that one Parse reports the problems
// of every group and node, not only the first.
func TestParseReportsEveryProblem(t *testing.T) {
	in := `{
	  "name": "S", "typee": "static",
	  "groups": [
	    {"setOperator": "union", "condition": {"and": [
	      {"attribute": "Customer.Age", "operater": "equals", "value": 1},
	      {"attribute": "Customer.Age", "operator": "greaterThen", "value": 1}
	    ]}},
	    {"condition": {"or": []}}
	  ]
	}`
	_, err := segment.Parse([]byte(in))
	l := problems(t, err)
	require.Len(t, l, 7, "%v", err)
	requireProblem(t, err, want{segment.ErrSyntax, "typee", `unknown key "typee"`, "type"})
	requireProblem(t, err, want{segment.ErrGroups, "groups[0].setOperator", "first group", ""})
	requireProblem(t, err, want{segment.ErrSyntax, "groups[0].condition.and[0].operater", "unknown key", "operator"})
	requireProblem(t, err, want{segment.ErrSyntax, "groups[0].condition.and[0].operator", "needs an operator", ""})
	requireProblem(t, err, want{segment.ErrUnknownOperator, "groups[0].condition.and[1].operator", "unknown operator", "greaterThan"})
	requireProblem(t, err, want{segment.ErrGroups, "groups[1].setOperator", "needs a setOperator", ""})
	requireProblem(t, err, want{segment.ErrEmpty, "groups[1].condition.or", "or needs at least one condition", ""})
	require.Contains(t, err.Error(), `groups[0].condition.and[0].operater: unknown key "operater" in a predicate (did you mean operator?)`)
}

// TestParseKeepsNumbers checks that numbers keep their JSON text.
func TestParseKeepsNumbers(t *testing.T) {
	c, err := segment.ParseCondition([]byte(`{"attribute": "Customer.Age", "operator": "in", "value": [12345678901234567890123, 1.50, -0, 1e3]}`))
	require.NoError(t, err)
	p, ok := c.(*segment.Predicate)
	require.True(t, ok)
	var nums []string
	for _, v := range p.Value.List {
		require.Equal(t, segment.NumberValue, v.Kind)
		nums = append(nums, string(v.Num))
	}
	require.Equal(t, []string{"12345678901234567890123", "1.50", "-0", "1e3"}, nums)
	b, err := segment.MarshalCondition(c)
	require.NoError(t, err)
	require.Equal(t, `{"attribute":"Customer.Age","operator":"in","value":[12345678901234567890123,1.50,-0,1e3]}`, string(b))
}

func TestParseCondition(t *testing.T) {
	c, err := segment.ParseCondition([]byte(`{"not": {"segment": "A"}}`))
	require.NoError(t, err)
	require.Equal(t, &segment.Not{Condition: &segment.SegmentRef{Name: "A"}}, c)

	_, err = segment.ParseCondition([]byte(`{"and": [{"attribute": "Customer.Age", "operator": "nope"}]}`))
	requireProblem(t, err, want{segment.ErrUnknownOperator, "and[0].operator", `unknown operator "nope"`, ""})

	_, err = segment.ParseCondition([]byte(`[]`))
	requireProblem(t, err, want{segment.ErrSyntax, "", "a condition must be a JSON object", ""})
}

func TestMarshalOmitsEmptyFields(t *testing.T) {
	d := &segment.Definition{Name: "S", Groups: []segment.Group{
		{Condition: &segment.Related{Entity: "Order", Match: segment.MatchAny}},
		{SetOp: segment.Union, Condition: &segment.Predicate{Attribute: "Customer.Age", Op: segment.IsNull}},
	}}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	require.Equal(t, `{"name":"S","groups":[{"condition":{"related":"Order"}},{"setOperator":"union","condition":{"attribute":"Customer.Age","operator":"isNull"}}]}`, string(b))

	d = &segment.Definition{Name: "S", DisplayName: "<S & T>", Description: "d", Membership: segment.Static,
		Groups: []segment.Group{{Condition: &segment.Related{Entity: "Order", Path: []string{"OrderCustomer"}, Match: segment.MatchNone}}}}
	b, err = json.Marshal(d)
	require.NoError(t, err)
	direct, err := d.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, string(b), string(direct), "json.Marshal and MarshalJSON differ")
	require.Equal(t, `{"name":"S","displayName":"\u003cS \u0026 T\u003e","description":"d","type":"static","groups":[{"condition":{"related":"Order","path":["OrderCustomer"],"match":"none"}}]}`, string(b))
}

// TestMarshalDrafts checks that definitions that fail validation still
// marshal, and that Parse reports what is missing.
func TestMarshalDrafts(t *testing.T) {
	d := &segment.Definition{Groups: []segment.Group{{Condition: nil}, {Condition: &segment.Predicate{}}}}
	b, err := json.Marshal(d)
	require.NoError(t, err)
	require.Equal(t, `{"name":"","groups":[{"condition":null},{"condition":{"attribute":""}}]}`, string(b))
	_, err = segment.Parse(b)
	requireProblem(t, err, want{segment.ErrSyntax, "groups[0].condition", "a condition must be a JSON object, not null", ""})
	requireProblem(t, err, want{segment.ErrGroups, "groups[1].setOperator", "needs a setOperator", ""})
}

func TestMarshalNilNodes(t *testing.T) {
	for _, c := range []segment.Condition{nil, (*segment.And)(nil), (*segment.Or)(nil), (*segment.Not)(nil),
		(*segment.Predicate)(nil), (*segment.Related)(nil), (*segment.SegmentRef)(nil)} {
		b, err := segment.MarshalCondition(c)
		require.NoError(t, err)
		require.Equal(t, "null", string(b))
	}
	b, err := segment.MarshalCondition(&segment.Or{Conditions: []segment.Condition{&segment.Not{}}})
	require.NoError(t, err)
	require.Equal(t, `{"or":[{"not":null}]}`, string(b))
}

func TestMarshalErrors(t *testing.T) {
	tests := []struct {
		name string
		v    segment.Value
	}{
		{"not a number", segment.Value{Kind: segment.NumberValue, Num: "12abc"}},
		{"NaN", segment.Float(nan())},
		{"absent in a list", segment.List(segment.Int(1), segment.Value{})},
		{"object built in Go", segment.Value{Kind: segment.OtherValue}},
		{"unknown kind", segment.Value{Kind: 42}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := segment.MarshalCondition(&segment.Predicate{Attribute: "Customer.Age", Op: segment.Equals, Value: tt.v})
			require.Error(t, err)
		})
	}
	_, err := segment.Value{}.MarshalJSON()
	require.Error(t, err)
}

func nan() float64 {
	var zero float64
	return zero / zero
}

func TestValueJSON(t *testing.T) {
	tests := []struct {
		in   string
		want segment.Value
	}{
		{`null`, segment.Value{Kind: segment.NullValue}},
		{`true`, segment.Bool(true)},
		{`-1.5e3`, segment.Value{Kind: segment.NumberValue, Num: "-1.5e3"}},
		{`"a\u00e9"`, segment.Str("aé")},
		{`["a", [1]]`, segment.List(segment.Str("a"), segment.List(segment.Int(1)))},
		{`[]`, segment.List([]segment.Value{}...)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var v segment.Value
			require.NoError(t, json.Unmarshal([]byte(tt.in), &v))
			require.Equal(t, tt.want, v)
			b, err := json.Marshal(v)
			require.NoError(t, err)
			var again segment.Value
			require.NoError(t, json.Unmarshal(b, &again))
			require.Equal(t, v, again)
		})
	}
	var v segment.Value
	require.NoError(t, json.Unmarshal([]byte(` {"b": [1, {"c": null}], "a": "x"} `), &v))
	require.Equal(t, segment.OtherValue, v.Kind)
	require.Equal(t, `{"b":[1,{"c":null}],"a":"x"}`, v.String())
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.Equal(t, `{"b":[1,{"c":null}],"a":"x"}`, string(b))
}

func TestUnmarshalJSONFailureKeepsDefinition(t *testing.T) {
	d := segment.Definition{Name: "Keep"}
	err := json.Unmarshal([]byte(`{"name": "S"}`), &d)
	require.ErrorIs(t, err, segment.ErrGroups)
	require.Equal(t, "Keep", d.Name)
}

// TestParseLimits: a definition beyond MaxDefinitionBytes is refused from
// its size alone, quickly and without echoing it; one at the limits parses.
func TestParseLimits(t *testing.T) {
	big := make([]byte, segment.MaxDefinitionBytes+1)
	for i := range big {
		big[i] = ' '
	}
	_, err := segment.Parse(big)
	require.ErrorIs(t, err, segment.ErrLimit)
	require.Contains(t, err.Error(), "the definition is 1,048,577 bytes; at most 1,048,576 (1 MiB) are allowed")

	// A leading byte order mark is skipped.
	d, err := segment.Parse([]byte("\xEF\xBB\xBF" + `{"groups": [{"condition": {"segment": "A"}}]}`))
	require.NoError(t, err)
	require.Len(t, d.Groups, 1)

	// A number of MaxNumberLength characters is read.
	_, err = segment.Parse([]byte(`{"groups": [{"condition": {"attribute": "Customer.Age", "operator": "equals", "value": ` +
		strings.Repeat("9", segment.MaxNumberLength) + `}}]}`))
	require.NoError(t, err)
}
