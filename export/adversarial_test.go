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

// TestParseDestinationNeverShowsSecrets: whatever is wrong with a target,
// the error and the destination's String never show a password, a
// token in the user part of a URL or a query value.
func TestParseDestinationNeverShowsSecrets(t *testing.T) {
	for _, target := range []string{
		// Unknown or missing kinds.
		"webhok:https://u:S3CRET@x.example/p?token=S3CRET",
		"webhok:https://S3CRET@x.example/p",
		"https://x.example/p?token=S3CRET",
		"postgress:host=h password=S3CRET dbname=x#t",
		"postgress:host=h password='S3 CRET' dbname=x#t",
		// postgres without #TABLE.
		"postgres:host=h password=S3CRET dbname=x",
		"postgres:password=S3CRET host=h",
		"postgres:sslpassword = 'S3 CRET' host=h",
		"postgres:postgres://u:S3CRET@h/db",
		"postgres:postgres://u@h/db?password=S3CRET",
		"postgres:postgres://u:S3CRET@h/db#bad-table",
		"postgres:postgres://u:S3CRET@h:notaport/db#t",
		"postgres:host=h password=S3CRET port=abc#t",
		// Webhook URLs that do not parse or do not fit.
		"webhook:http://tok:S3CRET/p",
		"webhook:http://u:S3CRET%zz@h/p",
		"webhook:http://u:S3 CRET@h/p",
		"webhook:ftp://u:S3CRET@h/p?token=S3CRET",
		"webhook:h/p?token=S3CRET",
		"webhook:http:///p?token=S3CRET",
		// Webhook URLs that parse.
		"webhook:http://h/p?token=S3CRET",
		"webhook:http://S3CRET@h/p",
		"webhook:http://u:S3CRET@h/p#S3CRET",
	} {
		d, err := export.ParseDestination(target)
		if err != nil {
			require.ErrorIs(t, err, export.ErrDestination, target)
			require.NotContains(t, err.Error(), "S3", target)
			require.NotContains(t, err.Error(), "CRET", target)
			continue
		}
		require.NotContains(t, d.String(), "S3", target)
	}
}

// TestParseDestinationHints: the targets a newcomer writes first get the
// target they meant, a file kind that cannot go to standard output is
// refused when parsed (not when the export runs), and a postgres:// URL
// needs no postgres: before it.
func TestParseDestinationHints(t *testing.T) {
	for target, want := range map[string]string{
		"members.csv":         "did you mean csv:members.csv?",
		"out/vips.parquet":    "did you mean parquet:out/vips.parquet?",
		"https://h.example/p": "did you mean webhook:https://h.example/p?",
		"http://h.example/p":  "did you mean webhook:http://h.example/p?",
		"parqet:x.parquet":    "did you mean parquet?",
		"parquet:-":           "a parquet file cannot be written to standard output",
		"arrow:-":             "an arrow file cannot be written to standard output",
		"roaring: - ":         "a roaring file cannot be written to standard output",
		"csv:  ":              "csv needs a file name after the colon",
	} {
		_, err := export.ParseDestination(target)
		require.ErrorIs(t, err, export.ErrDestination, target)
		require.ErrorContains(t, err, want, target)
	}
	for target, want := range map[string]string{
		"postgres://u:S3CRET@h/db#t":    "postgres:postgres://u@h/db#t",
		"postgresql://u@h/db#s.t":       "postgres:postgresql://u@h/db#s.t",
		"postgres:postgres://u@h/db#t":  "postgres:postgres://u@h/db#t",
		"CSV: members.csv":              "csv:members.csv",
		"jsonl: -":                      "jsonl:-",
		"webhook: https://h.example/p ": "webhook:https://h.example/p",
	} {
		d, err := export.ParseDestination(target)
		require.NoError(t, err, target)
		require.Equal(t, want, d.String(), target)
	}
}
