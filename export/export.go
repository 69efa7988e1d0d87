package export

import (
	"context"
	"fmt"
	"slices"

	"github.com/apache/arrow-go/v18/arrow"

	"github.com/segmentkit/segmentkit/diag"
)

// Sentinel errors of the export package; test with errors.Is.
var (
	// ErrUnknownField: a field names no customer attribute or measure. The
	// message suggests the nearest name.
	ErrUnknownField = diag.NewSentinel("export.unknown_field", "unknown field")
	// ErrDestination: a destination specification does not parse, or names
	// a kind of destination that does not exist.
	ErrDestination = diag.NewSentinel("export.destination", "invalid destination")
	// ErrDelivery: a destination did not take the rows (the server
	// answered with an error until the tries ran out, the file could not
	// be written, the database refused the transaction). The message
	// carries what the destination said.
	ErrDelivery = diag.NewSentinel("export.delivery", "delivery failed")
	// ErrMode: the destination cannot take an export of that mode.
	ErrMode = diag.NewSentinel("export.mode", "mode not supported by the destination")
	// ErrBadBatch: the bytes DecodeBatch was given are not a batch
	// EncodeBatch wrote.
	ErrBadBatch = diag.NewSentinel("export.bad_batch", "not an encoded export batch")
)

// Mode is an export's mode.
type Mode uint8

const (
	// Full sends every member.
	Full Mode = iota + 1
	// Delta sends the customers who entered and left since the last
	// successful export to the destination, and, when the destination asks
	// for them, those whose exported fields changed.
	Delta
)

var modeNames = [...]string{"", "full", "delta"}

// String returns "full", "delta" or "Mode(N)".
func (m Mode) String() string {
	if m > 0 && int(m) < len(modeNames) {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", uint8(m))
}

// MarshalText returns the mode's name.
func (m Mode) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText reads "full" or "delta".
func (m *Mode) UnmarshalText(b []byte) error {
	i := slices.Index(modeNames[:], string(b))
	if i <= 0 {
		return fmt.Errorf("%w: unknown mode %q (full or delta)", ErrMode, b)
	}
	*m = Mode(i)
	return nil
}

// Change says what a row of an export tells the destination.
type Change uint8

const (
	// Member: a row of a full export.
	Member Change = iota + 1
	// Entered: the customer joined the segment since the last export.
	Entered
	// Changed: the customer stayed in the segment and an exported field
	// changed.
	Changed
	// Left: the customer left the segment (or the data) since the last
	// export.
	Left
)

var changeNames = [...]string{"", "member", "entered", "changed", "left"}

// String returns "member", "entered", "changed", "left" or "Change(N)".
func (c Change) String() string {
	if c > 0 && int(c) < len(changeNames) {
		return changeNames[c]
	}
	return fmt.Sprintf("Change(%d)", uint8(c))
}

// MarshalText returns the change's name.
func (c Change) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// UnmarshalText reads a change's name.
func (c *Change) UnmarshalText(b []byte) error {
	v, ok := ParseChange(string(b))
	if !ok {
		return fmt.Errorf("unknown change %q", b)
	}
	*c = v
	return nil
}

// ParseChange reads what String writes.
func ParseChange(s string) (Change, bool) {
	i := slices.Index(changeNames[:], s)
	return Change(max(i, 0)), i > 0
}

// Upsert reports whether the row adds or updates the customer at the
// destination (member, entered, changed) rather than removing it.
func (c Change) Upsert() bool { return c != Left }

// Column names of every batch: the change column of a delta, then the key.
const (
	ChangeColumn = "change"
)

// Header describes one export to a destination's Writer before its first
// batch.
type Header struct {
	// Segment is the exported segment's name.
	Segment string
	// Mode is full or delta.
	Mode Mode
	// ID identifies the export (the catalog's export job id, or one the
	// caller chose); batch idempotency keys start with it.
	ID string
	// Schema is every batch's schema: in a delta the "change" column, then
	// the key column, then one column per field.
	Schema *arrow.Schema
	// KeyColumn is the key column's name: the customer key attribute's.
	KeyColumn string
	// Fields are the exported fields, in column order after the key.
	Fields []Column
}

// Batch is one batch of rows.
type Batch struct {
	// Seq numbers the batches of an export from 1.
	Seq uint64
	// Key is the batch's idempotency key: a destination that may see a
	// batch twice (a retry, a resend after a crash) sees the same key with
	// the same rows.
	Key string
	// Record holds the rows in Header.Schema. It belongs to Run, which
	// releases it after Write returns.
	Record arrow.RecordBatch
	// Rows describes each row of Record, in order.
	Rows []Row
}

// Row says which customer a batch row is and what it tells.
type Row struct {
	Change Change
	// ID is the customer's id in the plan's snapshot; meaningless for a
	// Left row (the customer may be gone from the data).
	ID uint32
	// Key is the customer key as text.
	Key string
	// Hash is the hash of the row's exported field values (Plan.Hash);
	// zero for a Left row.
	Hash uint64
}

// Destination is where an export goes.
type Destination interface {
	// Open starts one export. It checks what it can before the first row
	// (the file's folder exists, the server answers, the table fits the
	// fields) and returns an error wrapping ErrDelivery or ErrMode if not.
	Open(ctx context.Context, h *Header) (Writer, error)
	// String describes the destination for messages and listings
	// ("csv:members.csv", "webhook:https://...", never a password).
	String() string
}

// Writer receives one export's batches.
type Writer interface {
	// Write delivers one batch. It must not keep b.Record after it
	// returns (Retain it to do so).
	Write(ctx context.Context, b *Batch) error
	// Commit finishes the export: from then on the destination shows it
	// whole (the file is renamed into place, the transaction commits).
	Commit(ctx context.Context) error
	// Abort gives up an export that did not commit: a file written so far
	// is removed, a transaction rolled back. Abort after Commit does
	// nothing. It must be safe to call more than once.
	Abort() error
	// Stats returns what the writer did so far.
	Stats() Stats
}

// Acknowledger is implemented by a Writer whose Write delivers each batch
// for good before it returns (the webhook: the server acknowledged it).
// Run tells RunOptions.Acknowledged about each such batch, so that the
// caller can record it and never send it again. Other writers deliver at
// Commit.
type Acknowledger interface {
	Writer
	// AcknowledgesBatches marks the interface; it does nothing.
	AcknowledgesBatches()
}

// Stats counts what an export did.
type Stats struct {
	// Rows and Batches count the rows and batches delivered.
	Rows    int64 `json:"rows"`
	Batches int64 `json:"batches"`
	// Tries counts the attempts to deliver (a webhook's requests, retries
	// included); equal to Batches for destinations that never retry.
	Tries int64 `json:"tries"`
	// Bytes counts the bytes written or sent.
	Bytes int64 `json:"bytes"`
}

// Add returns the sum of s and o.
func (s Stats) Add(o Stats) Stats {
	return Stats{Rows: s.Rows + o.Rows, Batches: s.Batches + o.Batches, Tries: s.Tries + o.Tries, Bytes: s.Bytes + o.Bytes}
}
