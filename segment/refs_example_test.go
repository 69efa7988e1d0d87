package segment_test

import (
	"fmt"

	"github.com/segmentkit/segmentkit/segment"
)

func ExampleReadRefs() {
	// A draft: the or's second condition is not finished.
	data := []byte(`{"name": "Lapsed", "displayName": "Lapsed VIPs",
	  "groups": [{"condition": {"or": [{"segment": "Vips"}, {"attribute": "Customer.Age"`)
	for _, r := range segment.ReadRefs(data) {
		fmt.Println(r.Path, r.Name)
	}
	h := segment.ReadHeader(data)
	fmt.Printf("%s (%s), %s\n", h.Name, h.DisplayName, h.Membership)
	// Output:
	// groups[0].condition.or[0].segment Vips
	// Lapsed (Lapsed VIPs), dynamic
}

func ExampleRenameRefs() {
	data := []byte(`{"name": "Lapsed",
	  "groups": [{"condition": {"and": [{"segment": "Vips"},
	    {"attribute": "Customer.Note", "operator": "equals", "value": "Vips"}]}}]}`)
	fmt.Println(string(segment.RenameRefs(data, "Vips", "TopCustomers")))
	// Output:
	// {"name": "Lapsed",
	// 	  "groups": [{"condition": {"and": [{"segment": "TopCustomers"},
	// 	    {"attribute": "Customer.Note", "operator": "equals", "value": "Vips"}]}}]}
}
