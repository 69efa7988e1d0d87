package export_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/storage"
)

// memDest keeps what it receives: the rows of committed exports, as text
// maps keyed by column name, and the headers.
type memDest struct {
	headers []*export.Header
	batches []*export.Batch // Record nil; Rows kept
	rows    []map[string]string
	commits int
	failAt  int // fail the Write of this batch number (1-based), 0 never
	writes  int
}

func (d *memDest) String() string { return "memory" }

func (d *memDest) Open(_ context.Context, h *export.Header) (export.Writer, error) {
	d.headers = append(d.headers, h)
	return &memWriter{d: d}, nil
}

type memWriter struct {
	d     *memDest
	rows  []map[string]string
	stats export.Stats
}

func (w *memWriter) Write(_ context.Context, b *export.Batch) error {
	w.d.writes++
	if w.d.failAt == w.d.writes {
		return errors.New("injected failure")
	}
	rec := b.Record
	for i := range int(rec.NumRows()) {
		row := map[string]string{}
		for j, f := range rec.Schema().Fields() {
			col := rec.Column(j)
			if col.IsNull(i) {
				continue
			}
			row[f.Name] = col.ValueStr(i)
		}
		w.rows = append(w.rows, row)
	}
	w.d.batches = append(w.d.batches, &export.Batch{Seq: b.Seq, Key: b.Key, Rows: b.Rows})
	w.stats.Batches++
	w.stats.Rows += rec.NumRows()
	return nil
}

func (w *memWriter) Commit(context.Context) error {
	w.d.rows = append(w.d.rows, w.rows...)
	w.d.commits++
	return nil
}
func (w *memWriter) Abort() error        { return nil }
func (w *memWriter) Stats() export.Stats { return w.stats }

func TestPlanFieldErrors(t *testing.T) {
	snap := testSnapshot(t, 20, 1)
	ctx := context.Background()
	_, err := export.NewPlan(ctx, snap, export.Fields{Names: []string{"Emai", "Measures.Spnd"}}, time.Now(), roaring.New())
	require.ErrorIs(t, err, export.ErrUnknownField)
	require.Contains(t, err.Error(), "did you mean Email?")
	require.Contains(t, err.Error(), "did you mean Measures.Spend?")
	_, err = export.NewPlan(ctx, snap, export.Fields{Names: []string{"Age"}, Hash: []string{"Email"}}, time.Now(), roaring.New())
	require.ErrorIs(t, err, export.ErrUnknownField)
	require.Contains(t, err.Error(), "not among the exported fields")
	_, err = export.NewPlan(ctx, snap, export.Fields{Hash: []string{"CustomerId"}}, time.Now(), roaring.New())
	require.ErrorContains(t, err, "cannot be hashed")
	_, err = export.NewPlan(ctx, snap, export.Fields{Names: []string{"Age", "Customer.Age"}}, time.Now(), roaring.New())
	require.ErrorContains(t, err, "given twice")

	p, err := export.NewPlan(ctx, snap, export.Fields{}, time.Now(), roaring.New())
	require.NoError(t, err)
	var names []string
	for _, c := range p.Columns() {
		names = append(names, c.Name)
	}
	require.Equal(t, []string{"Email", "Age", "Score", "Birthday", "SignedUp", "VIP"}, names, "every attribute but the key")
}

func TestHashValue(t *testing.T) {
	// The reference digest of "user@example.com", as customer-match
	// documentation gives it.
	require.Equal(t, "b4c9a289323b21a01c3e940f150eb9b8c542587f1abfd8f0e1cc1ffc5e475514", export.HashValue("  User@Example.COM "))
}

func TestRunFullInBatches(t *testing.T) {
	snap := testSnapshot(t, 300, 2)
	members := someMembers(snap, 3)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{Names: []string{"Email", "Measures.Spend"}, Hash: []string{"Email"}}, time.Now(), members)
	require.NoError(t, err)
	d := &memDest{}
	st, err := export.Run(context.Background(), d, p, export.FullSet(members), export.RunOptions{ID: "x", BatchSize: 7, Allocator: mem})
	require.NoError(t, err)
	require.EqualValues(t, members.GetCardinality(), st.Rows)
	require.EqualValues(t, (members.GetCardinality()+6)/7, st.Batches)
	require.Len(t, d.rows, int(members.GetCardinality()))
	require.Equal(t, "x-1", d.batches[0].Key)
	email := snap.Customers().Column("Email")
	it := members.Iterator()
	for i := 0; it.HasNext(); i++ {
		id := it.Next()
		require.Equal(t, snap.CustomerKey(id), d.rows[i]["CustomerId"])
		if email.Data.IsNull(int(id)) {
			require.NotContains(t, d.rows[i], "Email")
		} else {
			require.Equal(t, export.HashValue(email.Format(int(id))), d.rows[i]["Email"])
		}
		require.NotContains(t, d.rows[i], "change", "a full export has no change column")
	}
}

// applyDelta applies the rows of a delta export to set.
func applyDelta(t *testing.T, set map[string]bool, rows []map[string]string) {
	t.Helper()
	for _, r := range rows {
		switch r["change"] {
		case "entered":
			require.False(t, set[r["CustomerId"]], "entered twice: %s", r["CustomerId"])
			set[r["CustomerId"]] = true
		case "left":
			require.True(t, set[r["CustomerId"]], "left without being in: %s", r["CustomerId"])
			delete(set, r["CustomerId"])
		case "changed":
			require.True(t, set[r["CustomerId"]])
		default:
			t.Fatalf("row without a change: %v", r)
		}
	}
}

func keysOf(snap *storage.Snapshot, bm *roaring.Bitmap) map[string]bool {
	out := map[string]bool{}
	it := bm.Iterator()
	for it.HasNext() {
		out[snap.CustomerKey(it.Next())] = true
	}
	return out
}

func TestDiffRoundTrip(t *testing.T) {
	ctx := context.Background()
	sent := export.SentMap{}
	applied := map[string]bool{}
	for round := range 6 {
		// Each round has other data: other values, and customers come
		// and go (the snapshot has a different size).
		snap := testSnapshot(t, 100+round*17, uint64(round))
		members := someMembers(snap, uint64(round*31))
		p, err := export.NewPlan(ctx, snap, export.Fields{Names: []string{"Age", "Measures.Spend"}}, time.Now(), members)
		require.NoError(t, err)
		set, err := export.Diff(ctx, p, sent, members, true)
		require.NoError(t, err)
		d := &memDest{}
		_, err = export.Run(ctx, d, p, set, export.RunOptions{BatchSize: 10})
		require.NoError(t, err)
		applyDelta(t, applied, d.rows)
		require.Equal(t, keysOf(snap, members), applied, "round %d", round)
		// What was sent now: apply the batches' rows.
		for _, b := range d.batches {
			for _, r := range b.Rows {
				if r.Change == export.Left {
					delete(sent, r.Key)
				} else {
					sent[r.Key] = r.Hash
				}
			}
		}
		// Changed rows are members whose fields differ from what was sent.
		for _, r := range d.rows {
			if r["change"] == "changed" {
				require.Contains(t, applied, r["CustomerId"])
			}
		}
		// A second diff right away is empty.
		again, err := export.Diff(ctx, p, sent, members, true)
		require.NoError(t, err)
		require.Zero(t, again.Len())
	}
}

func TestRunAbortsOnWriteError(t *testing.T) {
	snap := testSnapshot(t, 100, 4)
	members := someMembers(snap, 5)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{}, time.Now(), members)
	require.NoError(t, err)
	d := &memDest{failAt: 2}
	_, err = export.Run(context.Background(), d, p, export.FullSet(members), export.RunOptions{BatchSize: 5})
	require.ErrorContains(t, err, "injected failure")
	require.Zero(t, d.commits)
}

func TestRunCancelled(t *testing.T) {
	snap := testSnapshot(t, 50, 4)
	members := someMembers(snap, 5)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{}, time.Now(), members)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = export.Run(ctx, &memDest{}, p, export.FullSet(members), export.RunOptions{})
	require.ErrorIs(t, err, context.Canceled)
}

func TestEncodeBatchRoundTrip(t *testing.T) {
	snap := testSnapshot(t, 60, 6)
	members := someMembers(snap, 7)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{Names: []string{"Email", "Age", "Birthday", "SignedUp", "VIP", "Score"}}, time.Now(), members)
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	var enc [][]byte
	rec := &recordingDest{}
	_, err = export.Run(context.Background(), rec, p, export.FullSet(members), export.RunOptions{BatchSize: 8, ID: "j", Allocator: mem,
		Before: func(b *export.Batch) error {
			bs, err := export.EncodeBatch(rec.h, b)
			enc = append(enc, bs)
			return err
		}})
	require.NoError(t, err)
	require.NotEmpty(t, enc)
	for i, bs := range enc {
		h, b, err := export.DecodeBatch(bs, mem)
		require.NoError(t, err)
		require.True(t, h.Schema.Equal(rec.h.Schema))
		require.Equal(t, rec.batches[i].Key, b.Key)
		require.Equal(t, rec.batches[i].Rows, b.Rows)
		require.True(t, array.RecordEqual(rec.records[i], b.Record))
		b.Record.Release()
	}
	for _, r := range rec.records {
		r.Release()
	}
	_, _, err = export.DecodeBatch([]byte("junk"), mem)
	require.ErrorIs(t, err, export.ErrBadBatch)
}

// recordingDest acknowledges each batch and keeps the records.
type recordingDest struct {
	h       *export.Header
	batches []*export.Batch
	records []arrow.RecordBatch
}

func (d *recordingDest) String() string { return "recording" }
func (d *recordingDest) Open(_ context.Context, h *export.Header) (export.Writer, error) {
	d.h = h
	return &recordingWriter{d: d}, nil
}

type recordingWriter struct{ d *recordingDest }

func (w *recordingWriter) AcknowledgesBatches() {}
func (w *recordingWriter) Write(_ context.Context, b *export.Batch) error {
	b.Record.Retain()
	w.d.batches = append(w.d.batches, b)
	w.d.records = append(w.d.records, b.Record)
	return nil
}
func (w *recordingWriter) Commit(context.Context) error { return nil }
func (w *recordingWriter) Abort() error                 { return nil }
func (w *recordingWriter) Stats() export.Stats          { return export.Stats{} }

func TestAppendJSONString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "line\nfeed\ttab\x01", "é ü 日本", "bad\xffutf8", "\u2028sep"} {
		got := export.AppendJSONString(nil, s)
		want, err := json.Marshal(s)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "%q", s)
	}
}

func TestJSONRowAndText(t *testing.T) {
	snap := testSnapshot(t, 40, 8)
	members := someMembers(snap, 9)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{Names: []string{"Email", "Age", "Score", "Birthday", "SignedUp", "VIP", "Measures.Spend"}}, time.Now(), members)
	require.NoError(t, err)
	rec := &recordingDest{}
	_, err = export.Run(context.Background(), rec, p, export.FullSet(members), export.RunOptions{BatchSize: 1000})
	require.NoError(t, err)
	r := rec.records[0]
	defer r.Release()
	ids := rec.batches[0].Rows
	for row := range int(r.NumRows()) {
		var obj map[string]any
		require.NoError(t, json.Unmarshal(rec.h.AppendJSONRow(nil, r, row), &obj))
		require.Equal(t, ids[row].Key, obj["CustomerId"])
		for i, c := range p.Columns() {
			want, ok := p.Text(i, ids[row].ID)
			got, gok := rec.h.Text(r, i+1, row)
			require.Equal(t, ok, gok)
			require.Equal(t, want, got, "column %s", c.Name)
			if !ok {
				require.Nil(t, obj[c.Name])
			}
		}
	}
}
