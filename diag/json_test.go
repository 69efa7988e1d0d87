package diag_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/segment"
)

func TestProblemJSON(t *testing.T) {
	var l diag.List
	b, err := json.Marshal(l)
	require.NoError(t, err)
	require.JSONEq(t, `[]`, string(b))

	l.AddSuggest("groups[0].condition.attribute", segment.ErrUnknownAttribute, "Customer.Agee", []string{"Customer.Age"}, "no attribute %q", "Customer.Agee")
	l.Add("", nil, "whole input")
	b, err = json.Marshal(l)
	require.NoError(t, err)
	require.JSONEq(t, `[{"path":"groups[0].condition.attribute","message":"no attribute \"Customer.Agee\"","code":"`+
		diag.Code(segment.ErrUnknownAttribute)+`","suggestion":"Customer.Age"},{"message":"whole input"}]`, string(b))

	var back diag.List
	require.NoError(t, json.Unmarshal(b, &back))
	require.Len(t, back, 2)
	require.True(t, errors.Is(back, segment.ErrUnknownAttribute))
	require.Equal(t, l[0].Error(), back[0].Error())
}
