package examples_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/segment"
)

// TestExampleSegmentFile keeps segments/high-value-escalated.json the same
// as the definition the demo writes and evaluates.
func TestExampleSegmentFile(t *testing.T) {
	data, err := os.ReadFile("segments/high-value-escalated.json")
	require.NoError(t, err)
	require.Equal(t, string(demo.ExampleSegment()), string(data))

	def, err := segment.Parse(data)
	require.NoError(t, err)
	require.NoError(t, def.Validate(demo.Schema()))
}
