package demo

import (
	"encoding/json"
	"regexp"

	"github.com/segmentkit/segmentkit/schema"
)

// File names inside a demo data directory.
const (
	SchemaFile      = "schema.json"
	CustomerFile    = "Customer.csv"
	OrderFile       = "Order.csv"
	OrderLineFile   = "OrderLine.csv"
	SupportCaseFile = "SupportCase.csv"
	ChurnScoreFile  = "ChurnScore.csv"
	// SegmentFile is the example segment, relative to the directory.
	SegmentFile = "segments/high-value-escalated.json"
)

// Relationship names of the demo schema.
const (
	OrderCustomer       = "OrderCustomer"
	OrderLineOrder      = "OrderLineOrder"
	SupportCaseCustomer = "SupportCaseCustomer"
	ChurnScoreCustomer  = "ChurnScoreCustomer"
)

// ExcludedCountries are the countries the example segment's except group
// removes: markets served by partners, whose escalations are handled there.
var ExcludedCountries = []string{"BR", "JP"}

// exampleSegment is the product page's example: the definition of
// FORMAT.md section 2 with the except group adapted to the demo's countries.
const exampleSegment = `{
  "name": "HighValueEscalated",
  "displayName": "High value customers with an escalated case",
  "description": "Ordered at least 500 in the last 90 days and had a case escalated; customers in partner-served markets (BR, JP) are left out.",
  "type": "dynamic",
  "groups": [
    {
      "condition": {
        "and": [
          {"related": "Order",
           "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 90},
           "aggregate": {"function": "sum", "attribute": "Order.Amount"},
           "operator": "greaterThanOrEqual", "value": 500},
          {"related": "SupportCase",
           "where": {"attribute": "SupportCase.Escalated", "operator": "isTrue"}}
        ]
      }
    },
    {"setOperator": "except",
     "condition": {"attribute": "Customer.Country", "operator": "in", "value": ["BR", "JP"]}}
  ]
}
`

// ExampleSegment returns the JSON of the example segment that Write puts
// at SegmentFile. The caller owns the returned slice.
func ExampleSegment() []byte { return []byte(exampleSegment) }

// measures are the customer attribute measures of the demo schema
// (FORMAT.md section 3).
var measures = []string{
	`{"name": "Spend90d", "displayName": "Spend in the last 90 days",
	  "related": "Order",
	  "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 90},
	  "aggregate": {"function": "sum", "attribute": "Order.Amount"}}`,
	`{"name": "OrderCount", "displayName": "Number of orders",
	  "related": "Order",
	  "aggregate": {"function": "count"}}`,
	`{"name": "LastOrderDate", "displayName": "Date of the last order",
	  "related": "Order",
	  "aggregate": {"function": "max", "attribute": "Order.OrderDate"}}`,
	`{"name": "LastChannel", "displayName": "Channel of the last order",
	  "related": "Order",
	  "aggregate": {"function": "last", "attribute": "Order.Channel", "orderBy": "Order.OrderDate"}}`,
	`{"name": "EscalatedCases", "displayName": "Number of escalated support cases",
	  "related": "SupportCase",
	  "where": {"attribute": "SupportCase.Escalated", "operator": "isTrue"},
	  "aggregate": {"function": "count"}}`,
}

// Schema returns the schema of a demo data directory, validated. Each call
// returns a new Schema, which the caller owns.
func Schema() *schema.Schema {
	attrs := func(kv ...any) []schema.Attribute {
		out := make([]schema.Attribute, 0, len(kv)/2)
		for i := 0; i < len(kv); i += 2 {
			out = append(out, schema.Attribute{Name: kv[i].(string), Type: kv[i+1].(schema.Type)})
		}
		return out
	}
	s := &schema.Schema{
		CustomerEntity: "Customer",
		Entities: []schema.Entity{
			{Name: "Customer", Key: "CustomerId", File: CustomerFile, Attributes: attrs(
				"CustomerId", schema.String,
				"FirstName", schema.String,
				"Country", schema.String,
				"Age", schema.Integer,
				"SignupDate", schema.Date,
				"Email", schema.String,
				"IsVip", schema.Boolean,
				"LastSeen", schema.Datetime,
			)},
			{Name: "Order", Key: "OrderId", File: OrderFile, Attributes: attrs(
				"OrderId", schema.String,
				"CustomerId", schema.String,
				"Amount", schema.Number,
				"OrderDate", schema.Date,
				"Channel", schema.String,
			)},
			{Name: "OrderLine", Key: "OrderLineId", File: OrderLineFile, Attributes: attrs(
				"OrderLineId", schema.String,
				"OrderId", schema.String,
				"Product", schema.String,
				"Category", schema.String,
				"Quantity", schema.Integer,
				"Price", schema.Number,
			)},
			{Name: "SupportCase", Key: "CaseId", File: SupportCaseFile, Attributes: attrs(
				"CaseId", schema.String,
				"CustomerId", schema.String,
				"Opened", schema.Date,
				"Escalated", schema.Boolean,
				"Priority", schema.String,
			)},
			{Name: "ChurnScore", Key: "CustomerId", File: ChurnScoreFile, Prediction: true, Attributes: attrs(
				"CustomerId", schema.String,
				"Score", schema.Number,
			)},
		},
		Relationships: []schema.Relationship{
			{Name: OrderCustomer,
				From: schema.Endpoint{Entity: "Order", Attribute: "CustomerId"},
				To:   schema.Endpoint{Entity: "Customer", Attribute: "CustomerId"}},
			{Name: OrderLineOrder,
				From: schema.Endpoint{Entity: "OrderLine", Attribute: "OrderId"},
				To:   schema.Endpoint{Entity: "Order", Attribute: "OrderId"}},
			{Name: SupportCaseCustomer,
				From: schema.Endpoint{Entity: "SupportCase", Attribute: "CustomerId"},
				To:   schema.Endpoint{Entity: "Customer", Attribute: "CustomerId"}},
			{Name: ChurnScoreCustomer,
				From: schema.Endpoint{Entity: "ChurnScore", Attribute: "CustomerId"},
				To:   schema.Endpoint{Entity: "Customer", Attribute: "CustomerId"}},
		},
	}
	for _, m := range measures {
		s.Measures = append(s.Measures, json.RawMessage(m))
	}
	if err := s.Validate(); err != nil {
		panic("BUG: demo schema is invalid: " + err.Error())
	}
	return s
}

// flatObject matches a JSON object holding no object or array, as
// MarshalIndent spreads it over lines.
var flatObject = regexp.MustCompile(`\{\n[^{}\[\]]*\}`)

var lineBreak = regexp.MustCompile(`\n\s*`)

// schemaJSON returns schema.json's content for s: indented, with every
// object of scalars on one line, so that the file reads like FORMAT.md's
// example. The demo's strings hold no braces or line breaks, which the
// rewrite relies on.
func schemaJSON(s *schema.Schema) ([]byte, error) {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return nil, err
	}
	b = flatObject.ReplaceAllFunc(b, func(obj []byte) []byte {
		one := lineBreak.ReplaceAll(obj, []byte(" "))
		one = append([]byte("{"), one[2:len(one)-2]...)
		return append(one, '}')
	})
	return append(b, '\n'), nil
}
