package catalog

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/segment"
)

func TestMeaningOfUnparsed(t *testing.T) {
	require.True(t, strings.HasPrefix(meaningOf(nil, []byte("x")), "raw:"))
	d, err := segment.Parse(def("A", ageOver(3)))
	require.NoError(t, err)
	renamed, err := segment.Parse(def("B", ageOver(3)))
	require.NoError(t, err)
	require.Equal(t, meaningOf(d, nil), meaningOf(renamed, nil), "the name is not part of the meaning")
	other, err := segment.Parse(def("A", ageOver(4)))
	require.NoError(t, err)
	require.NotEqual(t, meaningOf(d, nil), meaningOf(other, nil))
}

// TestDraftReferences: a draft's header and references are read from its
// JSON as far as it goes, and a rename rewrites references in conditions
// only, keeping the rest of the draft as written.
func TestDraftReferences(t *testing.T) {
	e := newEnv(t, Options{})
	ctx := t.Context()
	_, err := e.cat.Create(ctx, def("A", ageOver(30)), CreateOptions{})
	require.NoError(t, err)
	_, err = e.cat.Create(ctx, def("B", ageOver(40)), CreateOptions{})
	require.NoError(t, err)

	truncated := `{"name": "T", "displayName": "Tee", "type": "static", "groups": [{"condition": {"or": [{"segment": "A"}, {"segment": "B`
	tr, err := e.cat.Create(ctx, []byte(truncated), CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, Draft, tr.State)
	require.Equal(t, "T", tr.Name)
	require.Equal(t, "Tee", tr.DisplayName)
	require.Equal(t, segment.Static, tr.Membership)
	require.Equal(t, []string{"A"}, tr.References, "the reference before the break")

	odd := `{"name": "O", "note": {"segment": "A"}, "groups": [{"condition": {"and": [{"segment": "A"}, {"segment": "A"},
	  {"attribute": "Customer.Email", "operator": "equals", "value": {"segment": "A"}}]}}]}`
	o, err := e.cat.Create(ctx, []byte(odd), CreateOptions{})
	require.NoError(t, err)
	require.Equal(t, Draft, o.State)
	require.Equal(t, []string{"A"}, o.References, "a segment key outside a condition is no reference")

	require.ErrorIs(t, e.cat.Delete("A"), ErrReferenced)
	require.NoError(t, e.cat.Rename("A", "A2"))
	tr, err = e.cat.Get("T")
	require.NoError(t, err)
	require.Equal(t, strings.Replace(truncated, `"A"`, `"A2"`, 1), string(tr.Definition))
	require.Equal(t, []string{"A2"}, tr.References)
	o, err = e.cat.Get("O")
	require.NoError(t, err)
	require.Equal(t, `{"name": "O", "note": {"segment": "A"}, "groups": [{"condition": {"and": [{"segment": "A2"}, {"segment": "A2"},
	  {"attribute": "Customer.Email", "operator": "equals", "value": {"segment": "A"}}]}}]}`, string(o.Definition))
	a, err := e.cat.Get("A2")
	require.NoError(t, err)
	require.Equal(t, string(def("A2", ageOver(30))), string(a.Definition))
	require.NoError(t, e.cat.Verify())
}
