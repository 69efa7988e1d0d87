package storage

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
)

// TestFileOrderOfOtherPaths: along a path other than an entity's first,
// each customer's rows come in the order of the data file, though Load
// clustered the rows by their first path's customer.
func TestFileOrderOfOtherPaths(t *testing.T) {
	snap, err := Load(context.Background(), filepath.Join("..", "conformance", "testdata", "sum-row-order-second-path"), Options{})
	require.NoError(t, err)
	defer snap.Release()
	visit := snap.Table("Visit")
	first := snap.Links("Visit", schema.Path{"VisitCustomer"})
	other := snap.Links("Visit", schema.Path{"VisitStore", "StoreOwner"})
	require.Nil(t, first.FileOrder(), "the first path's row order is file order")
	require.NotNil(t, other.FileOrder())
	x, ok := snap.CustomerID("X")
	require.True(t, ok)
	offsets, rows := other.Grouped()
	var got []string
	for _, r := range rows[offsets[x]:offsets[x+1]] {
		got = append(got, visit.Column("VisitId").Format(int(r)))
	}
	require.Equal(t, []string{"V1", "V2", "V3"}, got, "X's visits in file order")
	var inFile []string
	for _, r := range other.FileOrder() {
		inFile = append(inFile, visit.Column("VisitId").Format(int(r)))
	}
	require.Equal(t, []string{"V1", "V2", "V3"}, inFile)
}
