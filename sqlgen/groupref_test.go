package sqlgen_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/sqlgen"
)

// TestSplitGroupReference: a reference to a split group reads the
// group's members from a table; without one it is unsupported, never the
// whole segment.
func TestSplitGroupReference(t *testing.T) {
	def := parse(t, `{"segment": "Campaign", "group": "Test"}`)
	_, err := sqlgen.Compile(def, demo.Schema(), sqlgen.Options{Dialect: sqlgen.SQLite, Segments: map[string]sqlgen.Reference{
		"Campaign": {Table: "campaign_members"}}})
	require.ErrorIs(t, err, sqlgen.ErrUnsupported)
	require.ErrorContains(t, err, "groups[0].condition.group:")
	q, err := sqlgen.Compile(def, demo.Schema(), sqlgen.Options{Dialect: sqlgen.SQLite, Segments: map[string]sqlgen.Reference{
		"Campaign/Test": {Table: "campaign_test"}}})
	require.NoError(t, err)
	require.True(t, strings.Contains(q.SQL, `"campaign_test"`), q.SQL)
	require.False(t, strings.Contains(q.SQL, "campaign_members"), q.SQL)
}
