package segment_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/segment"
)

func TestSegmentRefToAGroup(t *testing.T) {
	def, err := segment.Parse([]byte(`{"name": "T", "groups": [{"condition": {"segment": "Campaign", "group": "Test"}}]}`))
	require.NoError(t, err)
	ref := def.Groups[0].Condition.(*segment.SegmentRef)
	require.Equal(t, &segment.SegmentRef{Name: "Campaign", Group: "Test"}, ref)
	require.Equal(t, "segment Campaign group Test", ref.String())
	require.Equal(t, []segment.Ref{{Name: "Campaign", Path: "groups[0].condition.segment", Group: "Test"}}, def.Refs())
	b, err := def.MarshalJSON()
	require.NoError(t, err)
	again, err := segment.Parse(b)
	require.NoError(t, err)
	require.Equal(t, def, again)

	for _, tc := range []struct{ name, cond, want string }{
		{"empty", `{"segment": "Campaign", "group": ""}`, "groups[0].condition.group: group: a group name cannot be empty"},
		{"not a string", `{"segment": "Campaign", "group": 7}`, "groups[0].condition.group:"},
		{"elsewhere", `{"attribute": "Customer.Age", "operator": "isNull", "group": "Test"}`, `groups[0].condition.group: key "group" does not belong in a predicate`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := segment.Parse([]byte(`{"name": "T", "groups": [{"condition": ` + tc.cond + `}]}`))
			require.ErrorContains(t, err, tc.want)
		})
	}
}
