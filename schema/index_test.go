package schema

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestAttributeIndexWide: in a validated schema AttributeIndex answers
// from an index built once, for every attribute of a wide entity and for
// names it lacks; an entity never validated is searched, with the same
// answers.
func TestAttributeIndexWide(t *testing.T) {
	var attrs []Attribute
	for i := range MaxAttributes {
		attrs = append(attrs, Attribute{Name: fmt.Sprintf("A%d", i), Type: Integer})
	}
	s := &Schema{CustomerEntity: "C", Entities: []Entity{{Name: "C", Key: "A0", Attributes: attrs}}}
	plain := s.Entities[0] // a copy, before Validate: no index
	require.NoError(t, s.Validate())
	e := s.Customer()
	require.Len(t, e.index, MaxAttributes)
	require.Nil(t, plain.index)
	for i, a := range attrs {
		require.Equal(t, i, e.AttributeIndex(a.Name))
		require.Equal(t, i, plain.AttributeIndex(a.Name))
	}
	for _, name := range []string{"", "A", "a0", fmt.Sprintf("A%d", MaxAttributes)} {
		require.Equal(t, -1, e.AttributeIndex(name), name)
		require.Equal(t, -1, plain.AttributeIndex(name), name)
	}
	got, ok := e.Attribute("A9999")
	require.True(t, ok)
	require.Equal(t, attrs[9999], got)
}
