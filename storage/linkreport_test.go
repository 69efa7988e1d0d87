package storage

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestLinkReportJSON checks the JSON names of a link report (camelCase, as
// every other JSON segmentkit writes), and that reports written before they
// had tags (Go's field names, in older catalog files) still read.
func TestLinkReportJSON(t *testing.T) {
	b, err := json.Marshal(LinkReport{Relationship: "OrderCustomer", Null: 3, Dangling: 2})
	require.NoError(t, err)
	require.JSONEq(t, `{"relationship": "OrderCustomer", "null": 3, "dangling": 2}`, string(b))
	var old LinkReport
	require.NoError(t, json.Unmarshal([]byte(`{"Relationship": "OrderCustomer", "Null": 3, "Dangling": 2}`), &old))
	require.Equal(t, LinkReport{Relationship: "OrderCustomer", Null: 3, Dangling: 2}, old)
}
