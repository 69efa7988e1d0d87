package export

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/cespare/xxhash/v2"
)

// A batch in flight: a caller that records a batch before writing it
// (RunOptions.Before) keeps it as EncodeBatch writes it, and after a crash
// delivers it again with Resend, so that the destination sees the same
// rows under the same idempotency key.

type batchEnvelope struct {
	Segment   string   `json:"segment"`
	Mode      Mode     `json:"mode"`
	ID        string   `json:"id"`
	KeyColumn string   `json:"keyColumn"`
	Fields    []Column `json:"fields"`
	Seq       uint64   `json:"seq"`
	Key       string   `json:"key"`
	Rows      []Row    `json:"rows"`
}

// batchMagic starts an encoded batch, followed by the xxhash (8 bytes,
// big-endian) of the bytes after it: damaged bytes are refused before the
// Arrow IPC reader sees them (it may try to allocate whatever a damaged
// length says). Batches encoded before the checksum existed start with
// the envelope's length, a uvarint that is never 0, and are read
// unchecked.
var batchMagic = []byte{0, 'S', 'K', 'B', 1}

// batchSumLen is the length of the checksum after batchMagic.
const batchSumLen = 8

// EncodeBatch returns the header and batch as bytes that DecodeBatch reads
// back: a checksum, what the header says, and the rows as an Arrow IPC
// stream.
func EncodeBatch(h *Header, b *Batch) ([]byte, error) {
	env, err := json.Marshal(batchEnvelope{Segment: h.Segment, Mode: h.Mode, ID: h.ID, KeyColumn: h.KeyColumn,
		Fields: h.Fields, Seq: b.Seq, Key: b.Key, Rows: b.Rows})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Write(batchMagic)
	buf.Write(make([]byte, batchSumLen))
	buf.Write(binary.AppendUvarint(nil, uint64(len(env))))
	buf.Write(env)
	w := ipc.NewWriter(&buf, ipc.WithSchema(h.Schema))
	if err := w.Write(b.Record); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	out := buf.Bytes()
	body := len(batchMagic) + batchSumLen
	binary.BigEndian.PutUint64(out[len(batchMagic):body], xxhash.Sum64(out[body:]))
	return out, nil
}

// DecodeBatch reads what EncodeBatch wrote. The batch's Record is the
// caller's to release; mem nil means memory.DefaultAllocator. Bytes that
// are not a batch, or a batch damaged since it was encoded, are an error
// wrapping ErrBadBatch.
func DecodeBatch(data []byte, mem memory.Allocator) (*Header, *Batch, error) {
	if mem == nil {
		mem = memory.DefaultAllocator
	}
	if bytes.HasPrefix(data, batchMagic[:1]) {
		body := len(batchMagic) + batchSumLen
		if len(data) < body || !bytes.Equal(data[:len(batchMagic)], batchMagic) {
			return nil, nil, fmt.Errorf("%w: bad prefix", ErrBadBatch)
		}
		if binary.BigEndian.Uint64(data[len(batchMagic):body]) != xxhash.Sum64(data[body:]) {
			return nil, nil, fmt.Errorf("%w: the bytes do not match their checksum (they are damaged)", ErrBadBatch)
		}
		data = data[body:]
	}
	n, w := binary.Uvarint(data)
	if w <= 0 || n > uint64(len(data)-w) {
		return nil, nil, fmt.Errorf("%w: bad length", ErrBadBatch)
	}
	var env batchEnvelope
	if err := json.Unmarshal(data[w:w+int(n)], &env); err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadBatch, err)
	}
	return decodeRows(&env, data[w+int(n):], mem)
}

// decodeRows reads the IPC stream of a batch whose envelope is env. A
// panic of the IPC reader (bytes damaged in a way the checksum cannot
// tell, or a batch without one) is an ErrBadBatch error.
func decodeRows(env *batchEnvelope, stream []byte, mem memory.Allocator) (h *Header, b *Batch, err error) {
	defer func() {
		if p := recover(); p != nil {
			h, b, err = nil, nil, fmt.Errorf("%w: the rows do not decode: %v", ErrBadBatch, p)
		}
	}()
	r, err := ipc.NewReader(bytes.NewReader(stream), ipc.WithAllocator(mem))
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadBatch, err)
	}
	defer r.Release()
	if !r.Next() {
		return nil, nil, fmt.Errorf("%w: no rows: %v", ErrBadBatch, r.Err())
	}
	rec := r.RecordBatch()
	rec.Retain()
	if int(rec.NumRows()) != len(env.Rows) {
		rec.Release()
		return nil, nil, fmt.Errorf("%w: %d rows for %d row descriptions", ErrBadBatch, rec.NumRows(), len(env.Rows))
	}
	h = &Header{Segment: env.Segment, Mode: env.Mode, ID: env.ID, Schema: r.Schema(), KeyColumn: env.KeyColumn, Fields: env.Fields}
	return h, &Batch{Seq: env.Seq, Key: env.Key, Record: rec, Rows: env.Rows}, nil
}

// Resend delivers one batch again, as it was: it opens a writer with the
// header, writes the batch and commits. It is for a batch recorded before
// it was written whose acknowledgement was not recorded.
func Resend(ctx context.Context, dest Destination, h *Header, b *Batch) (Stats, error) {
	if dest == nil || h == nil || h.Schema == nil || b == nil || b.Record == nil {
		return Stats{}, fmt.Errorf("export: resend needs a destination, a header and a batch")
	}
	w, err := dest.Open(ctx, h)
	if err != nil {
		return Stats{}, err
	}
	err = w.Write(ctx, b)
	if err == nil {
		err = w.Commit(ctx)
	}
	return w.Stats(), abortOn(w, err)
}
