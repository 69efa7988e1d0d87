package segment_test

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

func ExampleParse() {
	def, err := segment.Parse([]byte(`{
	  "name": "HighValue",
	  "groups": [{"condition": {
	    "related": "Order",
	    "aggregate": {"function": "sum", "attribute": "Order.Amount"},
	    "operator": "greaterThanOrEqual", "value": 500}}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(def)
	out, _ := json.Marshal(def)
	fmt.Println(string(out))
	// Output:
	// HighValue: sum(Order.Amount) of Order >= 500
	// {"name":"HighValue","groups":[{"condition":{"related":"Order","aggregate":{"function":"sum","attribute":"Order.Amount"},"operator":"greaterThanOrEqual","value":500}}]}
}

func ExampleParse_problems() {
	_, err := segment.Parse([]byte(`{"name": "S", "groups": [{"condition":
	  {"attribute": "Customer.Age", "operater": "greaterThen", "value": 30}}]}`))
	fmt.Println(err)
	// Output:
	// 2 problems:
	//   groups[0].condition.operater: unknown key "operater" in a predicate (did you mean operator?)
	//   groups[0].condition.operator: a predicate needs an operator
}

func ExampleDefinition_Validate() {
	data, err := os.ReadFile("testdata/schema.json")
	if err != nil {
		fmt.Println(err)
		return
	}
	sch, err := schema.Parse(data)
	if err != nil {
		fmt.Println(err)
		return
	}
	def, err := segment.Parse([]byte(`{"name": "S", "groups": [
	  {"condition": {"attribute": "Customer.Agee", "operator": "greaterThan", "value": 30}},
	  {"setOperator": "except", "condition": {"related": "Shipment", "match": "none"}}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(def.Validate(sch))
	// Output:
	// 2 problems:
	//   groups[0].condition.attribute: Customer has no attribute "Agee" (did you mean Age?)
	//   groups[1].condition.path: ambiguous relationship path from Shipment: specify path, one of [ShipmentBillTo], [ShipmentShipTo]
}
