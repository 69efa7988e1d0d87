package segment_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// TestLimitsDocumented: docs/limits.md gives each limit's value as the
// constant has it.
func TestLimitsDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "limits.md"))
	require.NoError(t, err)
	for name, v := range map[string]int{
		"segment.MaxDefinitionBytes":  segment.MaxDefinitionBytes,
		"segment.MaxDefinitionValues": segment.MaxDefinitionValues,
		"segment.MaxDepth":            segment.MaxDepth,
		"segment.MaxNumberLength":     segment.MaxNumberLength,
		"segment.MaxInValues":         segment.MaxInValues,
		"segment.MaxGroups":           segment.MaxGroups,
		"schema.MaxSchemaBytes":       schema.MaxSchemaBytes,
		"schema.MaxAttributes":        schema.MaxAttributes,
		"schema.MaxPaths":             schema.MaxPaths,
		"storage.MaxFieldBytes":       storage.MaxFieldBytes,
		"storage.MaxRecordBytes":      storage.MaxRecordBytes,
	} {
		require.Contains(t, string(doc), "| `"+name+"` | "+exact.FormatCount(v), name)
	}
}
