package catalog

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/segment"
)

// TestSegmentJSONRoundTrip checks that UnmarshalJSON reads back every
// field MarshalJSON writes, for segments made by hand and by a catalog.
func TestSegmentJSONRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 4, 5, 6, 7, 890, time.UTC)
	e := newEnv(t, Options{})
	ctx := context.Background()
	_, err := e.cat.Create(ctx, staticDef("Older", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	require.NoError(t, e.cat.SetSchedule("Older", "0 6 * * *"))
	require.NoError(t, e.cat.ScheduleDeactivation("Older", at.Add(time.Hour)))
	_, err = e.cat.Create(ctx, def("Ref", `{"segment": "Older"}`), CreateOptions{})
	require.NoError(t, err)
	_, err = e.cat.Create(ctx, def("Typo", `{"attribute": "Customer.Agee", "operator": "greaterThan", "value": 1}`), CreateOptions{})
	require.NoError(t, err)
	_, err = e.cat.Create(ctx, []byte(`{"name": "Broken", "groups": [`), CreateOptions{Name: "Broken"})
	require.NoError(t, err)
	stored, err := e.cat.List(ListOptions{})
	require.NoError(t, err)
	require.Len(t, stored, 4)

	byHand := &Segment{
		Name: "Everything", DisplayName: "All \"fields\"", Description: "a <b> & c", Membership: segment.Static,
		State: Active, Definition: []byte(`{"name":"Everything","groups":[]}`), References: []string{"A", "B"},
		Created: at, Modified: at.Add(time.Second), ActivateAt: at.Add(2 * time.Second), DeactivateAt: at.Add(3 * time.Second),
		Schedule: "@hourly", ScheduleError: "it broke", MemberCount: 12345, Frozen: true, LastRefreshed: at.Add(4 * time.Second),
		Status: Failed, LastJob: 7, LastError: "no data",
	}
	for _, want := range append(stored, byHand, &Segment{Name: "Zero", Definition: []byte("not json")}) {
		t.Run(want.Name, func(t *testing.T) {
			b, err := json.Marshal(want)
			require.NoError(t, err)
			var got Segment
			require.NoError(t, json.Unmarshal(b, &got))
			again, err := json.Marshal(&got)
			require.NoError(t, err)
			require.Equal(t, string(b), string(again), "the JSON survives a round trip")
			require.Equal(t, want.Name, got.Name)
			require.Equal(t, want.Membership, got.Membership)
			require.Equal(t, want.State, got.State)
			require.Equal(t, want.Status, got.Status)
			require.Equal(t, want.References, got.References)
			require.True(t, want.Created.Equal(got.Created))
			require.True(t, want.DeactivateAt.Equal(got.DeactivateAt))
			require.Equal(t, want.Schedule, got.Schedule)
			require.Equal(t, want.Frozen, got.Frozen)
			require.Equal(t, want.MemberCount, got.MemberCount)
			if json.Valid(want.Definition) {
				require.JSONEq(t, string(want.Definition), string(got.Definition))
			} else {
				require.Equal(t, string(want.Definition), string(got.Definition), "a definition that is not JSON comes back as its bytes")
			}
			require.Len(t, got.Problems, len(want.Problems))
			for i, p := range want.Problems {
				require.Equal(t, p.Error(), got.Problems[i].Error())
				require.Equal(t, p.Err, got.Problems[i].Err, "the sentinel comes back from the code")
			}
		})
	}
	typo := stored[3]
	require.Equal(t, "Typo", typo.Name)
	require.ErrorIs(t, typo.Problems, segment.ErrUnknownAttribute)

	var bad Segment
	require.Error(t, json.Unmarshal([]byte(`{"name": "X", "type": "sometimes"}`), &bad))
	require.Error(t, json.Unmarshal([]byte(`{"name": "X", "state": "asleep"}`), &bad))
}
