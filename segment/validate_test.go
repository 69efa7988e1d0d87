package segment_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// one returns a one-group definition named S around a condition.
func one(cond string) string {
	return `{"name": "S", "groups": [{"condition": ` + cond + `}]}`
}

// pred returns a predicate condition.
func pred(attr, op, value string) string {
	if value == "" {
		return `{"attribute": "` + attr + `", "operator": "` + op + `"}`
	}
	return `{"attribute": "` + attr + `", "operator": "` + op + `", "value": ` + value + `}`
}

// existing is a ValidateOptions under which the segments A and Other exist.
var existing = segment.ValidateOptions{Segments: func(name string) bool { return name == "A" || name == "Other" }}

func TestValidateValid(t *testing.T) {
	s := testSchema(t)
	tests := map[string]string{
		"customer predicate":       pred("Customer.Age", "greaterThan", "30"),
		"integer takes any number": pred("Customer.Age", "lessThan", "2.5"),
		"huge integer":             pred("Customer.Age", "equals", "12345678901234567890123"),
		"number":                   pred("Customer.Score", "between", "[-1.5, 1e3]"),
		"string order":             pred("Customer.Country", "greaterThanOrEqual", `"M"`),
		"boolean":                  pred("Customer.IsVip", "equals", "false"),
		"date":                     pred("Customer.SignupDate", "between", `["2024-02-28", "2024-02-29"]`),
		"datetime":                 pred("Customer.LastSeen", "between", `["2024-01-01", "2024-01-01T10:00:00.5+02:00"]`),
		"inLastDays 1.0":           pred("Customer.SignupDate", "inLastDays", "1.0"),
		"inNextDays datetime":      pred("Customer.LastSeen", "inNextDays", "7"),
		"ignoreCase":               `{"attribute": "Customer.Country", "operator": "in", "value": ["xx"], "ignoreCase": true}`,
		"measure number":           pred("Measures.Spend90d", "greaterThanOrEqual", "500"),
		"measure string":           pred("Measures.LastChannel", "startsWith", `"we"`),
		"measure integer":          pred("Measures.OrderCount", "between", "[1, 3]"),
		"measure date":             pred("Measures.FirstOrderDate", "inLastDays", "30"),
		"shorthand related":        pred("Order.Channel", "equals", `"web"`),
		"shorthand two hops":       pred("OrderLine.Quantity", "greaterThan", "2"),
		"related single path":      `{"related": "Order", "where": ` + pred("Order.Amount", "greaterThan", "0") + `}`,
		"related given path":       `{"related": "Visit", "path": ["VisitOrder", "OrderCustomer"], "match": "none"}`,
		"related where tree": `{"related": "Order", "match": "all", "where": {"and": [` +
			pred("Order.Gift", "isFalse", "") + `, {"not": ` + pred("Order.Channel", "in", `["a", "b"]`) + `}]}}`,
		"count":          `{"related": "Order", "aggregate": {"function": "count"}, "operator": "greaterThan", "value": 3}`,
		"countDistinct":  `{"related": "OrderLine", "aggregate": {"function": "countDistinct", "attribute": "OrderLine.ProductId"}, "operator": "equals", "value": 2}`,
		"avg isNull":     `{"related": "Order", "aggregate": {"function": "avg", "attribute": "Order.Items"}, "operator": "isNull"}`,
		"max date":       `{"related": "Order", "aggregate": {"function": "max", "attribute": "Order.OrderDate"}, "operator": "inLastDays", "value": 30}`,
		"min datetime":   `{"related": "Order", "aggregate": {"function": "min", "attribute": "Order.PlacedAt"}, "operator": "lessThan", "value": "2024-01-01"}`,
		"sum of integer": `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Items"}, "operator": "greaterThan", "value": 1.5}`,
		"segment":        `{"segment": "Other"}`,
	}
	for name, cond := range tests {
		t.Run(name, func(t *testing.T) {
			err := mustParse(t, one(cond)).ValidateWith(s, existing)
			require.NoError(t, err)
			require.True(t, err == nil, "Validate must return a literal nil")
		})
	}
	t.Run("testdata", func(t *testing.T) {
		for _, f := range []string{"highvalue.json", "customers.json", "related.json"} {
			d := mustParse(t, readFile(t, f))
			require.NoError(t, d.ValidateWith(s, segment.ValidateOptions{Segments: func(string) bool { return true }}), f)
		}
	})
}

func TestValidateProblems(t *testing.T) {
	s := testSchema(t)
	const c = "groups[0].condition"
	tests := []struct {
		name string
		cond string
		want want
	}{
		// Attribute references.
		{"unknown attribute", pred("Customer.Agee", "greaterThan", "30"),
			want{segment.ErrUnknownAttribute, c + ".attribute", `Customer has no attribute "Agee"`, "Age"}},
		{"unknown entity", pred("Custmer.Age", "greaterThan", "30"),
			want{segment.ErrUnknownEntity, c + ".attribute", `unknown entity "Custmer" in Custmer.Age`, "Customer.Age"}},
		{"unknown entity, attribute elsewhere", pred("Ordr.Nothing", "isNull", ""),
			want{segment.ErrUnknownEntity, c + ".attribute", `unknown entity "Ordr"`, "Order"}},
		{"unqualified", pred("Age", "greaterThan", "30"),
			want{segment.ErrUnknownAttribute, c + ".attribute", `attribute "Age" must be written as Entity.Attribute`, "Customer.Age"}},
		{"unqualified on one other entity", pred("Escalated", "isTrue", ""),
			want{segment.ErrUnknownAttribute, c + ".attribute", `attribute "Escalated" must be written`, "SupportCase.Escalated"}},
		{"unqualified misspelt", pred("Escalatd", "isTrue", ""),
			want{segment.ErrUnknownAttribute, c + ".attribute", `attribute "Escalatd" must be written`, "SupportCase.Escalated"}},
		{"unqualified prefers the customer", pred("CustomerId", "isNull", ""),
			want{segment.ErrUnknownAttribute, c + ".attribute", `must be written`, "Customer.CustomerId"}},
		{"empty attribute", pred("", "isNull", ""),
			want{segment.ErrUnknownAttribute, c + ".attribute", "the attribute is missing", ""}},
		{"unknown measure", pred("Measures.Spend9d", "greaterThan", "1"),
			want{segment.ErrUnknownAttribute, c + ".attribute", `Measures has no measure "Spend9d"`, "Spend90d"}},

		// Operators and types.
		{"contains on integer", pred("Customer.Age", "contains", `"3"`),
			want{segment.ErrOperatorType, c + ".operator", "operator contains does not apply to Customer.Age, which is integer; use one of equals, notEquals, in, notIn, greaterThan", ""}},
		{"in on boolean", pred("Customer.IsVip", "in", "[true]"),
			want{segment.ErrOperatorType, c + ".operator", "operator in does not apply to Customer.IsVip, which is boolean", ""}},
		{"between on string", pred("Customer.Country", "between", `["A", "B"]`),
			want{segment.ErrOperatorType, c + ".operator", "operator between does not apply", ""}},
		{"isTrue on string", pred("Customer.Country", "isTrue", ""),
			want{segment.ErrOperatorType, c + ".operator", "operator isTrue does not apply", ""}},
		{"inLastDays on number", pred("Customer.Score", "inLastDays", "3"),
			want{segment.ErrOperatorType, c + ".operator", "operator inLastDays does not apply", ""}},
		{"greaterThan on boolean", pred("Customer.IsVip", "greaterThan", "false"),
			want{segment.ErrOperatorType, c + ".operator", "operator greaterThan does not apply", ""}},

		// Values.
		{"value for isNull", pred("Customer.Email", "isNull", `"x"`),
			want{segment.ErrValue, c + ".value", "isNull takes no value", ""}},
		{"value for isTrue", pred("Customer.IsVip", "isTrue", "true"),
			want{segment.ErrValue, c + ".value", "isTrue takes no value", ""}},
		{"missing value", pred("Customer.Age", "greaterThan", ""),
			want{segment.ErrValue, c + ".value", "greaterThan needs a value", ""}},
		{"null value", pred("Customer.Age", "equals", "null"),
			want{segment.ErrValue, c + ".value", "the value is null", "isNull"}},
		{"null value for notEquals", pred("Customer.Age", "notEquals", "null"),
			want{segment.ErrValue, c + ".value", "the value is null", "isNotNull"}},
		{"string for integer", pred("Customer.Age", "greaterThan", `"30"`),
			want{segment.ErrValue, c + ".value", `Customer.Age is integer: the value must be a number, not string "30"`, ""}},
		{"number out of range", pred("Customer.Score", "lessThan", "1e400"),
			want{segment.ErrValue, c + ".value", "1e400 is out of range of a 64-bit float", ""}},
		{"number for string", pred("Customer.Country", "equals", "5"),
			want{segment.ErrValue, c + ".value", "Customer.Country is string: the value must be a string, not number 5", ""}},
		{"string for boolean", pred("Customer.IsVip", "equals", `"true"`),
			want{segment.ErrValue, c + ".value", "the value must be true or false", ""}},
		{"not a calendar day", pred("Customer.SignupDate", "equals", `"2023-02-30"`),
			want{segment.ErrValue, c + ".value", `"2023-02-30" is not a day of the calendar`, ""}},
		{"datetime for date", pred("Customer.SignupDate", "greaterThan", `"2023-01-01T00:00:00Z"`),
			want{segment.ErrValue, c + ".value", `Customer.SignupDate is date: the value must be a YYYY-MM-DD date, not the datetime "2023-01-01T00:00:00Z"`, ""}},
		{"bad datetime", pred("Customer.LastSeen", "greaterThan", `"yesterday"`),
			want{segment.ErrValue, c + ".value", `"yesterday" is not an RFC 3339 datetime or a YYYY-MM-DD date`, ""}},
		{"array for a scalar operator", pred("Customer.Age", "equals", "[1]"),
			want{segment.ErrValue, c + ".value", "equals takes a single value here, not an array", ""}},
		{"object value", pred("Customer.Age", "equals", `{"a": 1}`),
			want{segment.ErrValue, c + ".value", "not an object", ""}},
		{"in with a scalar", pred("Customer.Country", "in", `"XX"`),
			want{segment.ErrValue, c + ".value", `in needs an array of values, not string "XX"`, ""}},
		{"in with an empty array", pred("Customer.Country", "notIn", "[]"),
			want{segment.ErrValue, c + ".value", "notIn needs at least one value", ""}},
		{"in with a wrong element", pred("Customer.Country", "in", `["XX", 5]`),
			want{segment.ErrValue, c + ".value[1]", "the value must be a string, not number 5", ""}},
		{"in with null", pred("Customer.Country", "in", `["XX", null]`),
			want{segment.ErrValue, c + ".value[1]", "the value is null", "isNull"}},
		{"between reversed", pred("Customer.Age", "between", "[30, 18]"),
			want{segment.ErrValue, c + ".value", "between low 30 is greater than high 18", ""}},
		{"between reversed floats", pred("Customer.Score", "between", "[1.5, 1.25]"),
			want{segment.ErrValue, c + ".value", "between low 1.5 is greater than high 1.25", ""}},
		{"between reversed dates", pred("Customer.SignupDate", "between", `["2024-02-01", "2024-01-31"]`),
			want{segment.ErrValue, c + ".value", `between low "2024-02-01" is greater than high "2024-01-31"`, ""}},
		{"between reversed instants", pred("Customer.LastSeen", "between", `["2024-01-02", "2024-01-01T23:00:00Z"]`),
			want{segment.ErrValue, c + ".value", "is greater than high", ""}},
		{"between one value", pred("Customer.Age", "between", "[1]"),
			want{segment.ErrValue, c + ".value", "between needs an array of two values [low, high], not an array", ""}},
		{"between wrong element", pred("Customer.Age", "between", `[1, "9"]`),
			want{segment.ErrValue, c + ".value[1]", "must be a number", ""}},
		{"inLastDays 0", pred("Customer.SignupDate", "inLastDays", "0"),
			want{segment.ErrValue, c + ".value", "inLastDays needs a positive whole number of days, not 0", ""}},
		{"inLastDays negative", pred("Customer.SignupDate", "inLastDays", "-3"),
			want{segment.ErrValue, c + ".value", "not -3", ""}},
		{"inNextDays fraction", pred("Customer.LastSeen", "inNextDays", "2.5"),
			want{segment.ErrValue, c + ".value", "inNextDays needs a positive whole number of days, not 2.5", ""}},
		{"in list too long", pred("Customer.Age", "in", "["+strings.Repeat("1,", segment.MaxInValues)+"1]"),
			want{segment.ErrLimit, c + ".value", "in has 10,001 values; at most 10,000 are allowed", ""}},
		{"inLastDays not exactly whole", pred("Customer.SignupDate", "inLastDays", "1.0000000000000001"),
			want{segment.ErrValue, c + ".value", "inLastDays needs a positive whole number of days, not 1.0000000000000001", ""}},
		{"inLastDays string", pred("Customer.SignupDate", "inLastDays", `"90"`),
			want{segment.ErrValue, c + ".value", `not string "90"`, ""}},

		// ignoreCase.
		{"ignoreCase on integer", `{"attribute": "Customer.Age", "operator": "equals", "value": 1, "ignoreCase": true}`,
			want{segment.ErrOperatorType, c + ".ignoreCase", "ignoreCase applies to string attributes only; Customer.Age is integer", ""}},
		{"ignoreCase with greaterThan", `{"attribute": "Customer.Country", "operator": "greaterThan", "value": "M", "ignoreCase": true}`,
			want{segment.ErrOperatorType, c + ".ignoreCase", "ignoreCase does not apply to operator greaterThan", ""}},

		// Related entities and paths.
		{"related customer", `{"related": "Customer"}`,
			want{segment.ErrPath, c + ".related", "related must be an entity other than the customer entity Customer", ""}},
		{"related Measures", `{"related": "Measures"}`,
			want{segment.ErrPath, c + ".related", "Measures is customer-level", ""}},
		{"related unknown", `{"related": "Ordr"}`,
			want{segment.ErrUnknownEntity, c + ".related", `unknown entity "Ordr"`, "Order"}},
		{"related empty", `{"related": ""}`,
			want{segment.ErrUnknownEntity, c + ".related", "the related entity is missing", ""}},
		{"related without path", `{"related": "Product"}`,
			want{segment.ErrPath, c + ".related", "Product has no relationship path to Customer", ""}},
		{"ambiguous", `{"related": "Shipment"}`,
			want{segment.ErrPath, c + ".path", "ambiguous relationship path from Shipment: specify path, one of [ShipmentBillTo], [ShipmentShipTo]", ""}},
		{"ambiguous multi-hop", `{"related": "Visit", "match": "all"}`,
			want{segment.ErrPath, c + ".path", "ambiguous relationship path from Visit: specify path, one of [VisitCustomer], [VisitOrder -> OrderCustomer]", ""}},
		{"unknown relationship", `{"related": "Visit", "path": ["VisitOrdr", "OrderCustomer"]}`,
			want{segment.ErrPath, c + ".path[0]", `unknown relationship "VisitOrdr"`, "VisitOrder"}},
		{"path of another entity", `{"related": "Order", "path": ["ShipmentBillTo"]}`,
			want{segment.ErrPath, c + ".path", "path [ShipmentBillTo] does not lead from Order to Customer; use one of [OrderCustomer]", ""}},
		{"incomplete path", `{"related": "Visit", "path": ["VisitOrder"]}`,
			want{segment.ErrPath, c + ".path", "path [VisitOrder] does not lead from Visit to Customer; use one of [VisitCustomer], [VisitOrder -> OrderCustomer]", ""}},
		{"ambiguous shorthand", pred("Shipment.Weight", "greaterThan", "1"),
			want{segment.ErrPath, c + ".attribute", "ambiguous relationship path from Shipment: write a related condition and specify path, one of [ShipmentBillTo], [ShipmentShipTo]", ""}},
		{"shorthand without path", pred("Product.Name", "equals", `"x"`),
			want{segment.ErrPath, c + ".attribute", "Product has no relationship path to Customer", ""}},

		// Where.
		{"where names another entity", `{"related": "Order", "where": ` + pred("SupportCase.Escalated", "isTrue", "") + `}`,
			want{segment.ErrWhere, c + ".where.attribute", "the where of related Order names SupportCase.Escalated; use only attributes of Order", ""}},
		{"where names the customer", `{"related": "Order", "where": {"not": ` + pred("Customer.Age", "isNull", "") + `}}`,
			want{segment.ErrWhere, c + ".where.not.attribute", "the where of related Order names Customer.Age", ""}},
		{"where names a measure", `{"related": "Order", "where": ` + pred("Measures.Spend90d", "isNull", "") + `}`,
			want{segment.ErrWhere, c + ".where.attribute", "names Measures.Spend90d", ""}},
		{"related in where", `{"related": "Order", "where": {"and": [{"related": "SupportCase"}]}}`,
			want{segment.ErrWhere, c + ".where.and[0]", "the where of related Order cannot hold a related condition", ""}},
		{"segment in where", `{"related": "Order", "where": {"or": [{"segment": "A"}]}}`,
			want{segment.ErrWhere, c + ".where.or[0]", "cannot reference a segment", ""}},
		{"where value", `{"related": "Order", "where": ` + pred("Order.OrderDate", "inLastDays", "0") + `}`,
			want{segment.ErrValue, c + ".where.value", "inLastDays needs a positive whole number", ""}},
		{"where operator", `{"related": "Order", "where": ` + pred("Order.Gift", "contains", `"x"`) + `}`,
			want{segment.ErrOperatorType, c + ".where.operator", "operator contains does not apply to Order.Gift, which is boolean", ""}},
		{"where unknown attribute", `{"related": "Order", "where": ` + pred("Order.Amout", "greaterThan", "1") + `}`,
			want{segment.ErrUnknownAttribute, c + ".where.attribute", `Order has no attribute "Amout"`, "Amount"}},
		{"where unqualified", `{"related": "Order", "where": ` + pred("CustomerId", "isNull", "") + `}`,
			want{segment.ErrUnknownAttribute, c + ".where.attribute", "must be written as Entity.Attribute", "Order.CustomerId"}},

		// Related form.
		{"aggregate without operator", `{"related": "Order", "aggregate": {"function": "count"}}`,
			want{segment.ErrAggregate, c + ".operator", "count() needs an operator and a value to compare it with", ""}},
		{"match with operator", `{"related": "Order", "match": "all", "operator": "greaterThan", "value": 1}`,
			want{segment.ErrAggregate, c + ".operator", "a related condition with match takes no operator", ""}},
		{"match with value", `{"related": "Order", "value": 1}`,
			want{segment.ErrAggregate, c + ".value", "a related condition with match takes no value", ""}},

		// Aggregates.
		{"count with attribute", `{"related": "Order", "aggregate": {"function": "count", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 1}`,
			want{segment.ErrAggregate, c + ".aggregate.attribute", "count takes no attribute; use countDistinct", ""}},
		{"countDistinct without attribute", `{"related": "Order", "aggregate": {"function": "countDistinct"}, "operator": "greaterThan", "value": 1}`,
			want{segment.ErrAggregate, c + ".aggregate.attribute", "aggregate countDistinct needs an attribute of Order", ""}},
		{"sum of a string", `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Channel"}, "operator": "greaterThan", "value": 1}`,
			want{segment.ErrAggregate, c + ".aggregate.attribute", "aggregate sum needs a numeric attribute, Order.Channel is string", ""}},
		{"avg of a date", `{"related": "Order", "aggregate": {"function": "avg", "attribute": "Order.OrderDate"}, "operator": "greaterThan", "value": 1}`,
			want{segment.ErrAggregate, c + ".aggregate.attribute", "aggregate avg needs a numeric attribute, Order.OrderDate is date", ""}},
		{"max of a boolean", `{"related": "Order", "aggregate": {"function": "max", "attribute": "Order.Gift"}, "operator": "isNull"}`,
			want{segment.ErrAggregate, c + ".aggregate.attribute", "aggregate max needs a numeric, date or datetime attribute, Order.Gift is boolean", ""}},
		{"aggregate of another entity", `{"related": "Order", "aggregate": {"function": "sum", "attribute": "OrderLine.Price"}, "operator": "greaterThan", "value": 1}`,
			want{segment.ErrAggregate, c + ".aggregate.attribute", "aggregate sum needs an attribute of Order, not OrderLine.Price", ""}},
		{"aggregate of another entity with the name", `{"related": "Visit", "path": ["VisitCustomer"], "aggregate": {"function": "countDistinct", "attribute": "Order.OrderId"}, "operator": "greaterThan", "value": 1}`,
			want{segment.ErrAggregate, c + ".aggregate.attribute", "needs an attribute of Visit, not Order.OrderId", "Visit.OrderId"}},
		{"aggregate attribute unqualified", `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Amount"}, "operator": "greaterThan", "value": 1}`,
			want{segment.ErrUnknownAttribute, c + ".aggregate.attribute", `attribute "Amount" must be written as Entity.Attribute`, "Order.Amount"}},
		{"first in a segment", `{"related": "Order", "aggregate": {"function": "first", "attribute": "Order.Channel", "orderBy": "Order.OrderDate"}, "operator": "equals", "value": "web"}`,
			want{segment.ErrAggregate, c + ".aggregate.function", "first is allowed in measures only", ""}},
		{"last in a segment", `{"related": "Order", "aggregate": {"function": "last", "attribute": "Order.Channel", "orderBy": "Order.OrderDate"}, "operator": "equals", "value": "web"}`,
			want{segment.ErrAggregate, c + ".aggregate.function", "last is allowed in measures only", ""}},
		{"orderBy on sum", `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount", "orderBy": "Order.OrderDate"}, "operator": "greaterThan", "value": 1}`,
			want{segment.ErrAggregate, c + ".aggregate.orderBy", "orderBy applies to first and last only, not sum", ""}},
		{"count compared with a string", `{"related": "Order", "aggregate": {"function": "count"}, "operator": "greaterThan", "value": "3"}`,
			want{segment.ErrValue, c + ".value", `count() is integer: the value must be a number, not string "3"`, ""}},
		{"count with contains", `{"related": "Order", "aggregate": {"function": "count"}, "operator": "contains", "value": "3"}`,
			want{segment.ErrOperatorType, c + ".operator", "operator contains does not apply to count(), which is integer", ""}},
		{"sum with inLastDays", `{"related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "inLastDays", "value": 3}`,
			want{segment.ErrOperatorType, c + ".operator", "operator inLastDays does not apply to sum(Order.Amount), which is number", ""}},
		{"max date with a number", `{"related": "Order", "aggregate": {"function": "max", "attribute": "Order.OrderDate"}, "operator": "greaterThan", "value": 5}`,
			want{segment.ErrValue, c + ".value", "max(Order.OrderDate) is date: the value must be a YYYY-MM-DD date string, not number 5", ""}},

		// Segment references.
		{"unknown segment", `{"segment": "Othr"}`,
			want{segment.ErrUnknownSegment, c + ".segment", `unknown segment "Othr"`, ""}},
		{"self reference", `{"segment": "S"}`,
			want{segment.ErrSegmentCycle, c + ".segment", "segment S references itself", ""}},
		{"invalid segment name", `{"segment": "High value"}`,
			want{segment.ErrName, c + ".segment", `segment reference: name "High value" has ' ' at position 5`, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mustParse(t, one(tt.cond)).ValidateWith(s, existing)
			requireProblem(t, err, tt.want)
		})
	}
}

// TestValidateMessage checks a whole problem line, as users see it.
func TestValidateMessage(t *testing.T) {
	err := mustParse(t, one(pred("Customer.Agee", "greaterThan", "30"))).Validate(testSchema(t))
	require.EqualError(t, err, `groups[0].condition.attribute: Customer has no attribute "Agee" (did you mean Age?)`)
}

func TestValidateUnknownSegmentWithoutOptions(t *testing.T) {
	err := mustParse(t, one(`{"segment": "Other"}`)).Validate(testSchema(t))
	requireProblem(t, err, want{segment.ErrUnknownSegment, "groups[0].condition.segment", `unknown segment "Other"`, ""})
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
		msg  string
	}{
		{"HighValue", true, ""},
		{"high-value_2", true, ""},
		{"Größe", true, ""},
		{strings.Repeat("a", 128), true, ""},
		{"", false, "name is empty"},
		{"High Value", false, `name "High Value" has ' ' at position 5; use only letters, digits, '_' and '-'`},
		{"a.b", false, "'.' at position 2"},
		{strings.Repeat("a", 129), false, "name is 129 characters long; at most 128 are allowed"},
		{"a\xffb", false, "not valid UTF-8"},
	}
	s := testSchema(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := segment.ValidateName(tt.name)
			d := &segment.Definition{Name: tt.name, Groups: []segment.Group{{Condition: &segment.SegmentRef{Name: "A"}}}}
			verr := d.ValidateWith(s, existing)
			if tt.ok {
				require.NoError(t, err)
				require.NoError(t, verr)
				return
			}
			require.ErrorIs(t, err, segment.ErrName)
			require.ErrorContains(t, err, tt.msg)
			requireProblem(t, verr, want{segment.ErrName, "name", tt.msg, ""})
		})
	}
}

// TestValidateGoBuilt checks the structure rules that Parse enforces for
// JSON, on definitions built in Go.
func TestValidateGoBuilt(t *testing.T) {
	s := testSchema(t)
	ref := &segment.SegmentRef{Name: "A"}
	tests := []struct {
		name string
		d    *segment.Definition
		want want
	}{
		{"no groups", &segment.Definition{Name: "S"},
			want{segment.ErrGroups, "groups", "at least one group", ""}},
		{"setOperator on the first group", &segment.Definition{Name: "S", Groups: []segment.Group{{SetOp: segment.Union, Condition: ref}}},
			want{segment.ErrGroups, "groups[0].setOperator", "the first group has no setOperator", ""}},
		{"missing setOperator", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: ref}, {Condition: ref}}},
			want{segment.ErrGroups, "groups[1].setOperator", "group 2 needs a setOperator", ""}},
		{"unknown setOperator", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: ref}, {SetOp: 9, Condition: ref}}},
			want{segment.ErrGroups, "groups[1].setOperator", "unknown setOperator SetOp(9)", ""}},
		{"unknown kind", &segment.Definition{Name: "S", Membership: 7, Groups: []segment.Group{{Condition: ref}}},
			want{segment.ErrSyntax, "type", "unknown type Membership(7)", ""}},
		{"nil condition", &segment.Definition{Name: "S", Groups: []segment.Group{{}}},
			want{segment.ErrSyntax, "groups[0].condition", "the condition is missing", ""}},
		{"typed nil condition", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: (*segment.Predicate)(nil)}}},
			want{segment.ErrSyntax, "groups[0].condition", "the condition is missing", ""}},
		{"empty and", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.And{}}}},
			want{segment.ErrEmpty, "groups[0].condition.and", "and needs at least one condition", ""}},
		{"empty or", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.Not{Condition: &segment.Or{}}}}},
			want{segment.ErrEmpty, "groups[0].condition.not.or", "or needs at least one condition", ""}},
		{"nil in a list", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.And{Conditions: []segment.Condition{ref, nil}}}}},
			want{segment.ErrSyntax, "groups[0].condition.and[1]", "the condition is missing", ""}},
		{"no operator", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.Predicate{Attribute: "Customer.Age"}}}},
			want{segment.ErrUnknownOperator, "groups[0].condition.operator", "a predicate needs an operator", ""}},
		{"unknown operator", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.Predicate{Attribute: "Customer.Age", Op: 77}}}},
			want{segment.ErrUnknownOperator, "groups[0].condition.operator", "unknown operator Op(77)", ""}},
		{"match and aggregate", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.Related{
			Entity: "Order", Match: segment.MatchAll, Aggregate: &segment.Aggregate{Func: segment.Count}, Op: segment.Equals, Value: segment.Int(1)}}}},
			want{segment.ErrAggregate, "groups[0].condition.match", "match or aggregate, not both", ""}},
		{"unknown match", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.Related{Entity: "Order", Match: 5}}}},
			want{segment.ErrAggregate, "groups[0].condition.match", "unknown match Match(5)", ""}},
		{"no function", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.Related{
			Entity: "Order", Aggregate: &segment.Aggregate{}, Op: segment.Equals, Value: segment.Int(1)}}}},
			want{segment.ErrAggregate, "groups[0].condition.aggregate.function", "an aggregate needs a function", ""}},
		{"unknown function", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.Related{
			Entity: "Order", Aggregate: &segment.Aggregate{Func: 40}, Op: segment.Equals, Value: segment.Int(1)}}}},
			want{segment.ErrAggregate, "groups[0].condition.aggregate.function", "unknown function Func(40)", ""}},
		{"number text", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.Predicate{
			Attribute: "Customer.Age", Op: segment.Equals, Value: segment.Value{Kind: segment.NumberValue, Num: "0x10"}}}}},
			want{segment.ErrValue, "groups[0].condition.value", `"0x10" is not a number`, ""}},
		{"NaN", &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: &segment.Predicate{
			Attribute: "Customer.Score", Op: segment.Equals, Value: segment.Float(nan())}}}},
			want{segment.ErrValue, "groups[0].condition.value", `"NaN" is not a number`, ""}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			requireProblem(t, tt.d.ValidateWith(s, existing), tt.want)
		})
	}
	t.Run("nil definition", func(t *testing.T) {
		var d *segment.Definition
		require.ErrorIs(t, d.Validate(s), segment.ErrSyntax)
	})
	t.Run("nil schema", func(t *testing.T) {
		d := &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: ref}}}
		requireProblem(t, d.Validate(nil), want{segment.ErrUnknownEntity, "", "no schema to validate against", ""})
	})
	t.Run("schema without its customer entity", func(t *testing.T) {
		d := &segment.Definition{Name: "S", Groups: []segment.Group{{Condition: ref}}}
		requireProblem(t, d.Validate(&schema.Schema{CustomerEntity: "Client"}),
			want{segment.ErrUnknownEntity, "", `the schema has no customer entity "Client"`, ""})
	})
}

// TestValidateEveryProblem checks that Validate reports the problems of
// every group and node at once.
func TestValidateEveryProblem(t *testing.T) {
	d := mustParse(t, `{
	  "name": "bad name",
	  "groups": [
	    {"condition": {"and": [
	      {"attribute": "Customer.Agee", "operator": "greaterThan", "value": 30},
	      {"attribute": "Customer.Country", "operator": "contains", "value": 5},
	      {"related": "Shipment", "where": {"attribute": "Order.Amount", "operator": "greaterThan", "value": 1}}
	    ]}},
	    {"setOperator": "except", "condition": {"related": "Order",
	      "aggregate": {"function": "sum", "attribute": "Order.Channel"}, "operator": "between", "value": [9, 1]}},
	    {"setOperator": "union", "condition": {"segment": "S"}}
	  ]
	}`)
	err := d.ValidateWith(testSchema(t), existing)
	l := problems(t, err)
	require.Len(t, l, 8, "%v", err)
	requireProblem(t, err, want{segment.ErrName, "name", `name "bad name"`, ""})
	requireProblem(t, err, want{segment.ErrUnknownAttribute, "groups[0].condition.and[0].attribute", "no attribute", "Age"})
	requireProblem(t, err, want{segment.ErrValue, "groups[0].condition.and[1].value", "must be a string", ""})
	requireProblem(t, err, want{segment.ErrPath, "groups[0].condition.and[2].path", "ambiguous", ""})
	requireProblem(t, err, want{segment.ErrWhere, "groups[0].condition.and[2].where.attribute", "names Order.Amount", ""})
	requireProblem(t, err, want{segment.ErrAggregate, "groups[1].condition.aggregate.attribute", "numeric attribute", ""})
	requireProblem(t, err, want{segment.ErrValue, "groups[1].condition.value", "between low 9 is greater than high 1", ""})
	requireProblem(t, err, want{segment.ErrUnknownSegment, "groups[2].condition.segment", `unknown segment "S"`, ""})
}

// TestValidateBrokenMeasures checks that problems in the schema's measures
// are reported with the definition's, and that the valid ones still work.
func TestValidateBrokenMeasures(t *testing.T) {
	s := schemaWith(t,
		`{"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}}`,
		`{"name": "Broken", "related": "Order", "aggregate": {"function": "summ", "attribute": "Order.Amount"}}`,
	)
	d := mustParse(t, one(pred("Measures.Spend", "greaterThan", "1")))
	err := d.Validate(s)
	l := problems(t, err)
	require.Len(t, l, 1, "%v", err)
	requireProblem(t, err, want{segment.ErrAggregate, "schema.measures[1].aggregate.function", `unknown function "summ"`, "sum"})

	d = mustParse(t, one(pred("Measures.Spend", "contains", `"1"`)))
	requireProblem(t, d.Validate(s), want{segment.ErrOperatorType, "groups[0].condition.operator", "Measures.Spend, which is number", ""})
}

// TestOpAllows checks the operator table of FORMAT.md.
func TestOpAllows(t *testing.T) {
	all := []schema.Type{schema.Integer, schema.Number, schema.String, schema.Date, schema.Datetime, schema.Boolean}
	table := map[segment.Op][]schema.Type{
		segment.Equals:             all,
		segment.NotEquals:          all,
		segment.In:                 {schema.Integer, schema.Number, schema.String, schema.Date, schema.Datetime},
		segment.NotIn:              {schema.Integer, schema.Number, schema.String, schema.Date, schema.Datetime},
		segment.GreaterThan:        {schema.Integer, schema.Number, schema.String, schema.Date, schema.Datetime},
		segment.GreaterThanOrEqual: {schema.Integer, schema.Number, schema.String, schema.Date, schema.Datetime},
		segment.LessThan:           {schema.Integer, schema.Number, schema.String, schema.Date, schema.Datetime},
		segment.LessThanOrEqual:    {schema.Integer, schema.Number, schema.String, schema.Date, schema.Datetime},
		segment.Between:            {schema.Integer, schema.Number, schema.Date, schema.Datetime},
		segment.Contains:           {schema.String},
		segment.NotContains:        {schema.String},
		segment.StartsWith:         {schema.String},
		segment.EndsWith:           {schema.String},
		segment.IsTrue:             {schema.Boolean},
		segment.IsFalse:            {schema.Boolean},
		segment.IsNull:             all,
		segment.IsNotNull:          all,
		segment.InLastDays:         {schema.Date, schema.Datetime},
		segment.InNextDays:         {schema.Date, schema.Datetime},
	}
	require.Len(t, table, 19)
	for op, types := range table {
		for _, typ := range all {
			want := false
			for _, u := range types {
				want = want || u == typ
			}
			require.Equal(t, want, op.Allows(typ), "%s on %s", op, typ)
		}
		require.False(t, op.Allows(schema.Invalid))
	}
	require.False(t, segment.NoOp.Allows(schema.String))
	require.False(t, segment.Op(99).Allows(schema.String))
}

// TestValidateGroupLimit: more than MaxGroups groups is one ErrLimit
// problem, not a problem per group.
func TestValidateGroupLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"name": "S", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "equals", "value": 1}}`)
	for range segment.MaxGroups {
		b.WriteString(`, {"setOperator": "union", "condition": {"attribute": "Customer.Age", "operator": "equals", "value": 1}}`)
	}
	b.WriteString(`]}`)
	d, err := segment.Parse([]byte(b.String()))
	require.NoError(t, err)
	err = d.Validate(testSchema(t))
	require.ErrorIs(t, err, segment.ErrLimit)
	require.Len(t, err.(diag.List), 1)
	require.Contains(t, err.Error(), "the definition has 1,001 groups; at most 1,000 are allowed")
}
