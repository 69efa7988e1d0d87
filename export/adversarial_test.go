package export_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
)

// TestDecodeBatchDamaged: an encoded batch damaged anywhere (bytes
// overwritten, cut short) is refused with ErrBadBatch; the Arrow IPC
// reader never sees damaged rows, which could make it allocate whatever
// a damaged length says and kill the process.
func TestDecodeBatchDamaged(t *testing.T) {
	snap := testSnapshot(t, 50, 1)
	members := someMembers(snap, 1)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{}, time.Now(), members)
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := &recordingDest{}
	var enc []byte
	_, err = export.Run(context.Background(), rec, p, export.FullSet(members), export.RunOptions{BatchSize: 7, Allocator: mem,
		Before: func(b *export.Batch) error {
			if enc == nil {
				enc, err = export.EncodeBatch(rec.h, b)
			}
			return err
		}})
	require.NoError(t, err)
	for _, r := range rec.records {
		r.Release()
	}
	_, b, err := export.DecodeBatch(enc, mem)
	require.NoError(t, err)
	b.Record.Release()
	mem.AssertSize(t, 0)

	// A batch encoded before batches had a checksum (the envelope's
	// length first) still decodes.
	_, b, err = export.DecodeBatch(enc[len("\x00SKB\x01")+8:], mem)
	require.NoError(t, err)
	b.Record.Release()

	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		d := append([]byte(nil), enc...)
		switch i % 3 {
		case 0: // a few bytes overwritten
			for range 1 + r.IntN(4) {
				d[r.IntN(len(d))] ^= byte(1 + r.IntN(255))
			}
		case 1: // cut short
			d = d[:r.IntN(len(d))]
		case 2: // a run of bytes overwritten
			j := r.IntN(len(d))
			for k := j; k < min(len(d), j+16); k++ {
				d[k] ^= byte(1 + r.IntN(255))
			}
		}
		_, _, err := export.DecodeBatch(d, mem)
		require.ErrorIs(t, err, export.ErrBadBatch, "damage %d", i)
	}
}
