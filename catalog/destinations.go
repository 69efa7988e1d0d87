package catalog

import (
	"context"
	"encoding/binary"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/segment"
)

// Destinations: where a segment's members go ("Add to" on the product
// page). A segment has any number of destinations, each with a mode
// (full or delta), fields and transforms. Every successful refresh of the
// segment exports to its destinations (but those added for exports on
// demand alone), and Export exports on demand; each export is a job of
// its own (exports.go).
//
// What a destination was last sent is kept in the file, per destination:
// every customer key sent, with the hash of the fields sent with it. A
// delta is computed from it, so it is exact across restarts, and a failed
// export leaves it as the last acknowledged delivery left it: the next
// export sends what is still missing, nothing twice.

// DestinationOptions describe a destination to attach to a segment.
type DestinationOptions struct {
	// Name names the destination among the segment's; empty means the
	// target's kind ("csv", "webhook", "postgres", ...), with "-2", "-3"
	// added when that name is taken. Names follow the rules of segment
	// names.
	Name string
	// To is the target, as export.ParseDestination reads it:
	// "csv:FILE", "jsonl:FILE", "parquet:FILE", "arrow:FILE",
	// "roaring:FILE", "webhook:URL" or "postgres:CONNSTRING#TABLE".
	To string
	// Mode is export.Full (zero means Full) or export.Delta.
	Mode export.Mode
	// Fields chooses the fields and the hashed ones.
	Fields export.Fields
	// Changes, in a delta, also sends the members whose exported fields
	// changed since they were last sent.
	Changes bool
	// BatchSize is the number of rows per batch; zero means
	// export.DefaultBatchSize.
	BatchSize int
	// OnDemand leaves the destination out of the exports that follow each
	// refresh: it is exported by Export alone.
	OnDemand bool
	// Group, when not empty, names a group of the segment's split: the
	// destination is sent that group's members alone. It may not be the
	// holdout (ErrHoldout). Empty sends every member but the holdout's.
	Group string
}

// Destination is a destination attached to a segment, with the outcome of
// its latest export. It is the caller's copy.
type Destination struct {
	// Name is unique among the segment's destinations.
	Name string `json:"name"`
	// Where describes the target without secrets ("csv:members.csv",
	// "webhook:https://host/path", "postgres:host=... #table").
	Where string `json:"where"`
	// Mode, Fields, Changes, BatchSize and OnDemand are as in
	// DestinationOptions.
	Mode      export.Mode `json:"mode"`
	Fields    []string    `json:"fields,omitempty"`
	Hash      []string    `json:"hash,omitempty"`
	Changes   bool        `json:"changes,omitempty"`
	BatchSize int         `json:"batchSize,omitempty"`
	OnDemand  bool        `json:"onDemand,omitempty"`
	// Group is the split group the destination is sent; "" for the whole
	// segment (but its holdout).
	Group string `json:"group,omitempty"`
	// Created is when the destination was attached.
	Created time.Time `json:"created"`
	// Sent is the number of customers the destination holds as the
	// catalog knows it: the members sent and not removed since.
	Sent uint64 `json:"sent"`
	// LastExport is the id of the latest export job (0 if none), with its
	// status and first error; LastSuccess is when an export last
	// succeeded.
	LastExport  uint64    `json:"lastExport,omitempty"`
	LastStatus  Status    `json:"lastStatus"`
	LastError   string    `json:"lastError,omitempty"`
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	// Pending is true when a batch of an interrupted export waits to be
	// delivered again, first thing at the next export.
	Pending bool `json:"pending,omitempty"`
}

// destRecord is a destination as the file keeps it.
type destRecord struct {
	UID       uint64        `json:"uid"`
	Name      string        `json:"name"`
	Target    string        `json:"target"`
	Where     string        `json:"where"`
	Mode      export.Mode   `json:"mode"`
	Fields    export.Fields `json:"fields"`
	Changes   bool          `json:"changes,omitempty"`
	BatchSize int           `json:"batchSize,omitempty"`
	OnDemand  bool          `json:"onDemand,omitempty"`
	Group     string        `json:"group,omitempty"`
	Created   time.Time     `json:"created"`

	LastExport  uint64    `json:"lastExport,omitempty"`
	LastStatus  Status    `json:"lastStatus"`
	LastError   string    `json:"lastError,omitempty"`
	LastSuccess time.Time `json:"lastSuccess,omitzero"`
	// FullPass is the export job whose full export began and did not
	// finish: the next full export sends only the members not yet
	// acknowledged. Zero when none is unfinished.
	FullPass uint64 `json:"fullPass,omitempty"`
}

func (d *destRecord) public(tx *bolt.Tx) *Destination {
	out := &Destination{Name: d.Name, Where: d.Where, Mode: d.Mode, Fields: slices.Clone(d.Fields.Names),
		Hash: slices.Clone(d.Fields.Hash), Changes: d.Changes, BatchSize: d.BatchSize, OnDemand: d.OnDemand,
		Group: d.Group, Created: d.Created, LastExport: d.LastExport, LastStatus: d.LastStatus, LastError: d.LastError,
		LastSuccess: d.LastSuccess}
	if b := sentBucket(tx, d.UID); b != nil {
		out.Sent = uint64(b.Stats().KeyN)
	}
	out.Pending = tx.Bucket(bucketPending).Get(u64(d.UID)) != nil
	return out
}

// openDestination returns the destination a target names.
func (c *Catalog) openDestination(target string) (export.Destination, error) {
	if c.opts.OpenDestination != nil {
		return c.opts.OpenDestination(target)
	}
	return export.ParseDestination(target)
}

// AddDestination attaches a destination to the segment. The target must
// parse (errors wrap export.ErrDestination) and the fields must name
// customer attributes and measures of the source's schema (errors wrap
// ErrUnknownField, suggesting the nearest name); a name taken among the
// segment's destinations is ErrExists. AddDestination does not contact the
// target: the first export does. It needs a Source for the schema.
func (c *Catalog) AddDestination(ctx context.Context, segmentName string, opts DestinationOptions) (*Destination, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	rec, err := c.checkDestination(ctx, opts)
	if err != nil {
		return nil, fmt.Errorf("destination of %q: %w", segmentName, err)
	}
	var out *Destination
	err = c.update(func(tx *bolt.Tx) error {
		r, err := getByName(tx, segmentName)
		if err != nil {
			return err
		}
		if err := checkExportGroup(tx, r, rec.Group); err != nil {
			return err
		}
		if err := c.attach(tx, r, rec); err != nil {
			return err
		}
		out = rec.public(tx)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkDestination validates opts and returns the record to store, its
// name still to be chosen when opts has none.
func (c *Catalog) checkDestination(ctx context.Context, opts DestinationOptions) (*destRecord, error) {
	if opts.Name != "" {
		if err := segment.ValidateName(opts.Name); err != nil {
			// Destination names follow the rules of segment names; the
			// message names the destination's, not a segment's.
			msg := strings.TrimPrefix(err.Error(), segment.ErrName.Error()+": ")
			return nil, &diag.Problem{Path: "destination name", Message: msg, Err: ErrInvalidName}
		}
	}
	switch opts.Mode {
	case 0:
		opts.Mode = export.Full
	case export.Full, export.Delta:
	default:
		return nil, fmt.Errorf("%w: %v", export.ErrMode, opts.Mode)
	}
	if opts.Changes && opts.Mode != export.Delta {
		return nil, fmt.Errorf("%w: changed rows are sent by delta exports only; add the destination with mode delta", export.ErrMode)
	}
	if opts.BatchSize < 0 || opts.BatchSize > export.MaxBatchSize {
		return nil, fmt.Errorf("%w: batch size %d is not between 1 and %d", export.ErrDestination, opts.BatchSize, export.MaxBatchSize)
	}
	dest, err := c.openDestination(strings.TrimSpace(opts.To))
	if err != nil {
		return nil, err
	}
	sch, err := c.schema(ctx)
	if err != nil {
		return nil, err
	}
	if err := opts.Fields.CheckMode(sch, opts.Mode); err != nil {
		return nil, err
	}
	return &destRecord{Name: opts.Name, Target: strings.TrimSpace(opts.To), Where: dest.String(), Mode: opts.Mode,
		Fields: opts.Fields, Changes: opts.Changes, BatchSize: opts.BatchSize, OnDemand: opts.OnDemand, Group: opts.Group,
		Created: c.now()}, nil
}

// attach stores d as a new destination of r, naming it when it has no
// name.
func (c *Catalog) attach(tx *bolt.Tx, r *record, d *destRecord) error {
	b, err := tx.Bucket(bucketDestinations).CreateBucketIfNotExists(u64(r.ID))
	if err != nil {
		return err
	}
	if d.Name == "" {
		kind, _, _ := strings.Cut(d.Target, ":")
		kind = strings.ToLower(strings.TrimSpace(kind))
		d.Name = kind
		for n := 2; b.Get([]byte(d.Name)) != nil; n++ {
			d.Name = fmt.Sprintf("%s-%d", kind, n)
		}
	} else if b.Get([]byte(d.Name)) != nil {
		return fmt.Errorf("destination %q of segment %q %w", d.Name, r.Name, ErrExists)
	}
	uid, err := tx.Bucket(bucketDestinations).NextSequence()
	if err != nil {
		return err
	}
	d.UID = uid
	return putDest(tx, r.ID, d)
}

func putDest(tx *bolt.Tx, segID uint64, d *destRecord) error {
	b, err := tx.Bucket(bucketDestinations).CreateBucketIfNotExists(u64(segID))
	if err != nil {
		return err
	}
	v, err := encodeRecord([]byte(d.Name), d)
	if err != nil {
		return err
	}
	return b.Put([]byte(d.Name), v)
}

// sameTarget reports whether two targets name the same place: the kind
// is read without regard to case, and space around the rest is ignored
// ("CSV: vips.csv" is "csv:vips.csv").
func sameTarget(a, b string) bool {
	ak, ar, _ := strings.Cut(a, ":")
	bk, br, _ := strings.Cut(b, ":")
	return strings.EqualFold(strings.TrimSpace(ak), strings.TrimSpace(bk)) && strings.TrimSpace(ar) == strings.TrimSpace(br)
}

// segmentDests returns the segment's destinations, in name order.
func segmentDests(tx *bolt.Tx, segID uint64) ([]*destRecord, error) {
	b := tx.Bucket(bucketDestinations).Bucket(u64(segID))
	if b == nil {
		return nil, nil
	}
	var out []*destRecord
	err := b.ForEach(func(k, v []byte) error {
		d := new(destRecord)
		if err := decodeRecord(k, v, d); err != nil {
			return corrupt("destination %q of segment %d: %s", excerpt(string(k)), segID, unwrapCorrupt(err))
		}
		out = append(out, d)
		return nil
	})
	return out, err
}

// getDest returns the segment's destination of that name, or an
// ErrNotFound error suggesting the nearest.
func getDest(tx *bolt.Tx, r *record, name string) (*destRecord, error) {
	ds, err := segmentDests(tx, r.ID)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, d := range ds {
		if d.Name == name {
			return d, nil
		}
		names = append(names, d.Name)
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("destination %q %w: segment %q has no destinations", name, ErrNotFound, r.Name)
	}
	if s := diag.Nearest(name, names); s != "" {
		return nil, fmt.Errorf("destination %q of segment %q %w%s", name, r.Name, ErrNotFound, diag.DidYouMean(s))
	}
	return nil, fmt.Errorf("destination %q of segment %q %w; it has %s", name, r.Name, ErrNotFound, strings.Join(names, ", "))
}

// Destinations returns the segment's destinations, in name order.
func (c *Catalog) Destinations(segmentName string) ([]*Destination, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out []*Destination
	err := c.view(func(tx *bolt.Tx) error {
		r, err := getByName(tx, segmentName)
		if err != nil {
			return err
		}
		ds, err := segmentDests(tx, r.ID)
		for _, d := range ds {
			out = append(out, d.public(tx))
		}
		return err
	})
	return out, err
}

// RemoveDestination detaches the destination from the segment and forgets
// what it was sent; its export jobs stay in the list of exports. It does
// not touch the target (the file, the table stay as they are).
func (c *Catalog) RemoveDestination(segmentName, name string) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	return c.update(func(tx *bolt.Tx) error {
		r, err := getByName(tx, segmentName)
		if err != nil {
			return err
		}
		d, err := getDest(tx, r, name)
		if err != nil {
			return err
		}
		return deleteDest(tx, r.ID, d)
	})
}

func deleteDest(tx *bolt.Tx, segID uint64, d *destRecord) error {
	if err := tx.Bucket(bucketDestinations).Bucket(u64(segID)).Delete([]byte(d.Name)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketPending).Delete(u64(d.UID)); err != nil {
		return err
	}
	return clearSent(tx, d.UID)
}

// deleteSegmentDests removes every destination of a deleted segment.
func deleteSegmentDests(tx *bolt.Tx, segID uint64) error {
	ds, err := segmentDests(tx, segID)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if err := deleteDest(tx, segID, d); err != nil {
			return err
		}
	}
	if tx.Bucket(bucketDestinations).Bucket(u64(segID)) != nil {
		return tx.Bucket(bucketDestinations).DeleteBucket(u64(segID))
	}
	return nil
}

// What a destination was sent: bucket sent -> uid -> key -> hash.

func sentBucket(tx *bolt.Tx, uid uint64) *bolt.Bucket {
	return tx.Bucket(bucketSent).Bucket(u64(uid))
}

func clearSent(tx *bolt.Tx, uid uint64) error {
	if sentBucket(tx, uid) == nil {
		return nil
	}
	return tx.Bucket(bucketSent).DeleteBucket(u64(uid))
}

// applyRows records rows as sent to the destination: a left row removes
// its customer, the others put the hash of their fields.
func applyRows(tx *bolt.Tx, uid uint64, rows []export.Row) error {
	b, err := tx.Bucket(bucketSent).CreateBucketIfNotExists(u64(uid))
	if err != nil {
		return err
	}
	for _, r := range rows {
		if r.Change == export.Left {
			err = b.Delete([]byte(r.Key))
		} else {
			err = b.Put([]byte(r.Key), binary.BigEndian.AppendUint64(nil, r.Hash))
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// sentReader reads what a destination was sent, for export.Diff.
type sentReader struct {
	tx  *bolt.Tx
	uid uint64
}

func (s sentReader) Range(fn func(key string, hash uint64) error) error {
	b := sentBucket(s.tx, s.uid)
	if b == nil {
		return nil
	}
	return b.ForEach(func(k, v []byte) error {
		if len(v) != 8 {
			return corrupt("what destination %d was sent: a value of %d bytes", s.uid, len(v))
		}
		return fn(string(k), binary.BigEndian.Uint64(v))
	})
}
