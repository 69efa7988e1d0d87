package segment_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

func TestParseMeasure(t *testing.T) {
	m, err := segment.ParseMeasure([]byte(readFile(t, "measure_lastchannel.json")))
	require.NoError(t, err)
	require.Equal(t, &segment.Measure{
		Name:        "LastChannel",
		DisplayName: "Channel of the latest order",
		Entity:      "Order",
		Path:        []string{"OrderCustomer"},
		Where:       &segment.Predicate{Attribute: "Order.Amount", Op: segment.GreaterThan, Value: segment.Int(0)},
		Aggregate:   segment.Aggregate{Func: segment.Last, Attribute: "Order.Channel", OrderBy: "Order.OrderDate"},
	}, m)
	b1, err := json.Marshal(m)
	require.NoError(t, err)
	var m2 segment.Measure
	require.NoError(t, json.Unmarshal(b1, &m2))
	require.Equal(t, m, &m2)
	b2, err := m2.MarshalJSON()
	require.NoError(t, err)
	require.Equal(t, string(b1), string(b2))
	require.NoError(t, m.Validate(testSchema(t)))
}

func TestParseMeasureProblems(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want want
	}{
		{"unknown key", `{"name": "M", "related": "Order", "aggregat": {"function": "count"}}`,
			want{segment.ErrSyntax, "aggregat", `unknown key "aggregat" in a measure`, "aggregate"}},
		{"missing aggregate", `{"name": "M", "related": "Order"}`,
			want{segment.ErrSyntax, "aggregate", "a measure needs an aggregate", ""}},
		{"missing related", `{"name": "M", "aggregate": {"function": "count"}}`,
			want{segment.ErrSyntax, "related", "a measure needs related", ""}},
		{"comparison in a measure", `{"name": "M", "related": "Order", "aggregate": {"function": "count"}, "operator": "equals"}`,
			want{segment.ErrSyntax, "operator", `unknown key "operator" in a measure`, ""}},
		{"unknown function", `{"name": "M", "related": "Order", "aggregate": {"function": "lst"}}`,
			want{segment.ErrAggregate, "aggregate.function", `unknown function "lst"`, "last"}},
		{"bad where", `{"name": "M", "related": "Order", "where": {"and": []}, "aggregate": {"function": "count"}}`,
			want{segment.ErrEmpty, "where.and", "and needs at least one condition", ""}},
		{"invalid JSON", `{"name": "M",`, want{segment.ErrSyntax, "", "invalid JSON at line 1", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := segment.ParseMeasure([]byte(tt.in))
			require.Nil(t, m)
			requireProblem(t, err, tt.want)
		})
	}
}

func TestMeasureValidate(t *testing.T) {
	s := testSchema(t)
	measure := func(agg string) string {
		return `{"name": "M", "related": "Order", "aggregate": ` + agg + `}`
	}
	tests := []struct {
		name string
		in   string
		want want
	}{
		{"bad name", `{"name": "my measure", "related": "Order", "aggregate": {"function": "count"}}`,
			want{segment.ErrName, "name", `name "my measure" has ' '`, ""}},
		{"first without orderBy", measure(`{"function": "first", "attribute": "Order.Channel"}`),
			want{segment.ErrAggregate, "aggregate.orderBy", "orderBy of first needs an attribute of Order", ""}},
		{"orderBy of a boolean", measure(`{"function": "last", "attribute": "Order.Channel", "orderBy": "Order.Gift"}`),
			want{segment.ErrAggregate, "aggregate.orderBy", "orderBy needs an attribute of an ordered type (integer, number, string, date or datetime), Order.Gift is boolean", ""}},
		{"orderBy of another entity", measure(`{"function": "last", "attribute": "Order.Channel", "orderBy": "Customer.SignupDate"}`),
			want{segment.ErrAggregate, "aggregate.orderBy", "orderBy of last needs an attribute of Order, not Customer.SignupDate", ""}},
		{"orderBy unknown", measure(`{"function": "last", "attribute": "Order.Channel", "orderBy": "Order.OrderDat"}`),
			want{segment.ErrUnknownAttribute, "aggregate.orderBy", `Order has no attribute "OrderDat"`, "OrderDate"}},
		{"orderBy on max", measure(`{"function": "max", "attribute": "Order.Amount", "orderBy": "Order.OrderDate"}`),
			want{segment.ErrAggregate, "aggregate.orderBy", "orderBy applies to first and last only, not max", ""}},
		{"sum of a string", measure(`{"function": "sum", "attribute": "Order.Channel"}`),
			want{segment.ErrAggregate, "aggregate.attribute", "aggregate sum needs a numeric attribute, Order.Channel is string", ""}},
		{"ambiguous", `{"name": "M", "related": "Shipment", "aggregate": {"function": "count"}}`,
			want{segment.ErrPath, "path", "ambiguous relationship path from Shipment", ""}},
		{"where of another entity", `{"name": "M", "related": "Order", "where": {"attribute": "Customer.Age", "operator": "isNull"}, "aggregate": {"function": "count"}}`,
			want{segment.ErrWhere, "where.attribute", "the where of related Order names Customer.Age", ""}},
		{"related customer", `{"name": "M", "related": "Customer", "aggregate": {"function": "count"}}`,
			want{segment.ErrPath, "related", "other than the customer entity", ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := segment.ParseMeasure([]byte(tt.in))
			require.NoError(t, err)
			requireProblem(t, m.Validate(s), tt.want)
		})
	}
	t.Run("nil", func(t *testing.T) {
		var m *segment.Measure
		require.Error(t, m.Validate(s))
		require.Equal(t, schema.Invalid, m.Type(s))
	})
}

func TestMeasureType(t *testing.T) {
	s := testSchema(t)
	tests := []struct {
		agg  segment.Aggregate
		want schema.Type
	}{
		{segment.Aggregate{Func: segment.Count}, schema.Integer},
		{segment.Aggregate{Func: segment.CountDistinct, Attribute: "Order.Channel"}, schema.Integer},
		{segment.Aggregate{Func: segment.Sum, Attribute: "Order.Items"}, schema.Number},
		{segment.Aggregate{Func: segment.Avg, Attribute: "Order.Items"}, schema.Number},
		{segment.Aggregate{Func: segment.Min, Attribute: "Order.OrderDate"}, schema.Date},
		{segment.Aggregate{Func: segment.Max, Attribute: "Order.PlacedAt"}, schema.Datetime},
		{segment.Aggregate{Func: segment.First, Attribute: "Order.Gift", OrderBy: "Order.OrderDate"}, schema.Boolean},
		{segment.Aggregate{Func: segment.Last, Attribute: "Order.Channel", OrderBy: "Order.OrderDate"}, schema.String},
		{segment.Aggregate{Func: segment.Max, Attribute: "Order.Nothing"}, schema.Invalid},
		{segment.Aggregate{Func: segment.Max, Attribute: "Amount"}, schema.Invalid},
		{segment.Aggregate{}, schema.Invalid},
	}
	for _, tt := range tests {
		t.Run(tt.agg.Func.String()+" "+tt.agg.Attribute, func(t *testing.T) {
			m := &segment.Measure{Name: "M", Entity: "Order", Aggregate: tt.agg}
			require.Equal(t, tt.want, m.Type(s))
		})
	}
}

func TestParseMeasures(t *testing.T) {
	ms, err := segment.ParseMeasures(testSchema(t))
	require.NoError(t, err)
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	require.Equal(t, []string{"Spend90d", "OrderCount", "LastChannel", "FirstOrderDate"}, names)

	ms, err = segment.ParseMeasures(nil)
	require.NoError(t, err)
	require.Empty(t, ms)

	s := schemaWith(t,
		`{"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}}`,
		`{"name": "Spend", "related": "Order", "aggregate": {"function": "count"}}`,
		`{"name": "Latest", "related": "Order", "aggregate": {"function": "last", "attribute": "Order.Channel"}}`,
		`{"name": "Broken", "related": "Order", "aggregate": {"function": "count"}, "extra": 1}`,
	)
	ms, err = segment.ParseMeasures(s)
	require.Nil(t, ms)
	require.Len(t, problems(t, err), 3, "%v", err)
	requireProblem(t, err, want{segment.ErrMeasure, "measures[1].name", `measure "Spend" is already defined at measures[0]`, ""})
	requireProblem(t, err, want{segment.ErrAggregate, "measures[2].aggregate.orderBy", "orderBy of last needs an attribute of Order", ""})
	requireProblem(t, err, want{segment.ErrSyntax, "measures[3].extra", `unknown key "extra" in a measure`, ""})
}

// TestMeasuresOf checks the parsed measures of a schema: in order, found by
// name, none handed out while any has a problem, and the same problems as
// ParseMeasures.
func TestMeasuresOf(t *testing.T) {
	s := testSchema(t)
	ms := segment.MeasuresOf(s)
	require.NoError(t, ms.Err())
	require.Same(t, s, ms.Schema())
	list, err := segment.ParseMeasures(s)
	require.NoError(t, err)
	require.Equal(t, list, ms.List())
	m, ok := ms.Lookup("LastChannel")
	require.True(t, ok)
	require.Equal(t, "LastChannel", m.Name)
	again, _ := ms.Lookup("LastChannel")
	require.Same(t, m, again, "measures are parsed once")
	_, ok = ms.Lookup("Nope")
	require.False(t, ok)
	ms.List()[0] = nil
	require.NotNil(t, ms.List()[0], "List returns the caller's slice")

	broken := schemaWith(t,
		`{"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}}`,
		`{"name": "Broken", "related": "Order", "aggregate": {"function": "summ", "attribute": "Order.Amount"}}`,
	)
	ms = segment.MeasuresOf(broken)
	_, parsed := segment.ParseMeasures(broken)
	require.Equal(t, parsed, ms.Err())
	requireProblem(t, ms.Err(), want{segment.ErrAggregate, "measures[1].aggregate.function", `unknown function "summ"`, "sum"})
	require.Nil(t, ms.List())
	_, ok = ms.Lookup("Spend")
	require.False(t, ok, "no measure is handed out while one has a problem")

	for _, ms := range []*segment.Measures{segment.MeasuresOf(nil), nil} {
		require.NoError(t, ms.Err())
		require.Nil(t, ms.List())
		require.Nil(t, ms.Schema())
	}
}

// TestValidateWithMeasures checks that ValidateWith uses the measures it
// is given when they were parsed from the schema validated against, and
// parses the schema's own otherwise.
func TestValidateWithMeasures(t *testing.T) {
	d := mustParse(t, one(pred("Measures.Spend90d", "greaterThan", "1")))
	s := testSchema(t)
	ms := segment.MeasuresOf(s)
	require.NoError(t, d.ValidateWith(s, segment.ValidateOptions{Measures: ms}))

	// The schema is changed behind the parsed measures' back (which its
	// doc forbids): the given measures are used, not parsed again.
	raw := s.Measures
	s.Measures = nil
	require.NoError(t, d.ValidateWith(s, segment.ValidateOptions{Measures: ms}))
	requireProblem(t, d.Validate(s), want{segment.ErrUnknownAttribute, "groups[0].condition.attribute", `Measures has no measure "Spend90d"`, ""})
	s.Measures = raw

	// Measures of another schema are not used.
	none := schemaWith(t)
	requireProblem(t, d.ValidateWith(none, segment.ValidateOptions{Measures: ms}),
		want{segment.ErrUnknownAttribute, "groups[0].condition.attribute", `Measures has no measure "Spend90d"`, ""})
	broken := schemaWith(t, `{"name": "Spend90d", "related": "Order", "aggregate": {"function": "sun", "attribute": "Order.Amount"}}`)
	requireProblem(t, d.ValidateWith(broken, segment.ValidateOptions{Measures: ms}),
		want{segment.ErrAggregate, "schema.measures[0].aggregate.function", `unknown function "sun"`, "sum"})
	require.Equal(t, d.Validate(broken), d.ValidateWith(broken, segment.ValidateOptions{Measures: segment.MeasuresOf(broken)}))
}
