package schema

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseTruncated(t *testing.T) {
	for _, data := range []string{"", "{", "{\n  \"customerEntity\": \"C\",\n  \"entities\": ["} {
		_, err := Parse([]byte(data))
		require.ErrorIs(t, err, ErrSyntax)
		require.Contains(t, err.Error(), "truncated")
	}
}

func TestParseProblems(t *testing.T) {
	_, err := Parse([]byte(`{"customerEntity": "Custmer", "entities": [
	  {"name": "Customer", "key": "Id", "attributes": [{"name": "Id", "type": "strng"}]},
	  {"name": "Order", "key": "OrderId", "attributes": [{"name": "OrderId", "type": "integer"}, {"name": "CustomerId", "type": "string"}]}],
	  "relationships": [{"name": "R", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "Idd"}}]}`))
	require.ErrorIs(t, err, ErrUnknownType)
	require.ErrorIs(t, err, ErrUnknownEntity)
	require.ErrorIs(t, err, ErrUnknownAttribute)
	require.Contains(t, err.Error(), "did you mean string?")
	require.Contains(t, err.Error(), "did you mean Customer?")
}

func TestCycleAndPaths(t *testing.T) {
	_, err := Parse([]byte(`{"customerEntity": "C", "entities": [
	  {"name": "C", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}]},
	  {"name": "A", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}, {"name": "B", "type": "integer"}]},
	  {"name": "B", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}, {"name": "A", "type": "integer"}]}],
	  "relationships": [
	    {"name": "AB", "from": {"entity": "A", "attribute": "B"}, "to": {"entity": "B", "attribute": "Id"}},
	    {"name": "BA", "from": {"entity": "B", "attribute": "A"}, "to": {"entity": "A", "attribute": "Id"}}]}`))
	require.ErrorIs(t, err, ErrCycle)

	s, err := Parse([]byte(`{"customerEntity": "C", "entities": [
	  {"name": "C", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}]},
	  {"name": "O", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}, {"name": "C", "type": "integer"}]},
	  {"name": "L", "key": "Id", "attributes": [{"name": "Id", "type": "integer"}, {"name": "O", "type": "integer"}, {"name": "C", "type": "integer"}]}],
	  "relationships": [
	    {"name": "OC", "from": {"entity": "O", "attribute": "C"}, "to": {"entity": "C", "attribute": "Id"}},
	    {"name": "LO", "from": {"entity": "L", "attribute": "O"}, "to": {"entity": "O", "attribute": "Id"}},
	    {"name": "LC", "from": {"entity": "L", "attribute": "C"}, "to": {"entity": "C", "attribute": "Id"}}]}`))
	require.NoError(t, err)
	require.Equal(t, []Path{{"LC"}, {"LO", "OC"}}, s.Paths("L"))
	require.True(t, s.ValidPath("L", Path{"LO", "OC"}))
	require.False(t, s.ValidPath("L", Path{"OC"}))
	require.Nil(t, s.Paths("C"))
}
