package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/storage"
)

// BenchmarkSplitMembers divides every customer into three groups: one
// SHA-256 of each member's key, then a bucket lookup.
func BenchmarkSplitMembers(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("customers_%d", n), func(b *testing.B) {
			dir := b.TempDir()
			var sb strings.Builder
			sb.WriteString("CustomerId,Age,Country,Email,IsVip\n")
			for i := range n {
				fmt.Fprintf(&sb, "C%07d,30,US,,false\n", i)
			}
			require.NoError(b, os.WriteFile(filepath.Join(dir, "Customer.csv"), []byte(sb.String()), 0o644))
			require.NoError(b, os.WriteFile(filepath.Join(dir, "Order.csv"), []byte("OrderId,CustomerId,Amount,OrderDate,Channel\n"), 0o644))
			require.NoError(b, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(testSchema), 0o644))
			snap, err := storage.Load(context.Background(), dir, storage.Options{NoSnapshotCache: true})
			require.NoError(b, err)
			defer snap.Release()
			all := roaring.New()
			all.AddRange(0, uint64(n))
			sr := &splitRecord{Salt: "bench"}
			for i, r := range layout([]string{"A", "B", "C"}, []int{4500, 4500, 1000}, nil, "bench") {
				sr.Groups = append(sr.Groups, splitGroupR{Name: []string{"A", "B", "C"}[i], Share: []int{4500, 4500, 1000}[i], Buckets: r})
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := splitMembers(context.Background(), snap, sr, all); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
