package catalog

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// The file layout, format version 2 (records.go: version 2 seals every
// record with a checksum; version 1 files are read, their records
// unchecked, and marked version 2 when first opened for writing). Every
// bucket is at the top level.
//
//	meta      "version" -> uint32 big endian; "created" -> RFC 3339 time
//	segments  id (uint64 BE) -> record JSON
//	names     name -> id
//	members   id -> member blob: version byte, 32-byte key-list hash, roaring bitmap
//	keysets   32-byte hash -> the customer keys the hash names, in id order
//	history   id -> bucket: time (8 bytes, ordered) + sequence -> HistoryEntry JSON
//	changes   id -> bucket: the key of its history entry -> change blob (changes.go):
//	          who entered (ids of the refresh's key list) and left (ids of the
//	          previous members' key list), kept for Options.ChangeRetention
//	jobs      id -> bucket: "job" -> Job JSON without tasks; "t" + index -> Task JSON
//	destinations  segment id -> bucket: destination name -> destination JSON;
//	              the bucket's sequence numbers destinations (their uid)
//	sent      destination uid -> bucket: customer key -> 8-byte hash of the fields sent
//	pending   destination uid -> the batch in flight (export.EncodeBatch)
//	exports   export job id -> export job JSON
//	splits    segment id -> split JSON (splits.go)
//	priority  priority list name -> priority list JSON (priority.go)
//
// The splits and priority buckets are created by the first split or
// priority list, and a file without them reads as having none.
//
// A key list stays while a member blob or a change entry refers to it. A
// file written before the changes bucket existed gets it at Open, empty.
//
// Segments are keyed by an id that never changes, so a rename moves only
// the names entry, and a task that finishes after its segment was deleted
// and re-created under the same name cannot write into the new one.
const formatVersion = 2

var (
	bucketMeta     = []byte("meta")
	bucketSegments = []byte("segments")
	bucketNames    = []byte("names")
	bucketMembers  = []byte("members")
	bucketKeysets  = []byte("keysets")
	bucketHistory  = []byte("history")
	bucketJobs     = []byte("jobs")
	bucketChanges  = []byte("changes")
	// Destinations and exports (destinations.go, exports.go).
	bucketDestinations = []byte("destinations")
	bucketSent         = []byte("sent")
	bucketPending      = []byte("pending")
	bucketExports      = []byte("exports")
	// API tokens (tokens.go).
	bucketTokens = []byte("tokens")
	// Splits and priority lists (splits.go, priority.go).
	bucketSplits   = []byte("splits")
	bucketPriority = []byte("priority")

	allBuckets = [][]byte{bucketMeta, bucketSegments, bucketNames, bucketMembers, bucketKeysets, bucketHistory, bucketJobs,
		bucketChanges, bucketDestinations, bucketSent, bucketPending, bucketExports, bucketTokens}

	// lazyBuckets are created by the first write that needs them (a
	// split, a priority list), so that opening a file, even read-only,
	// never has to add them; readers take a missing one as empty.
	lazyBuckets = [][]byte{bucketSplits, bucketPriority}

	// addedBuckets are the buckets added after format version 1 first
	// shipped: a file without them gets them, empty, at Open.
	addedBuckets = [][]byte{bucketChanges, bucketDestinations, bucketSent, bucketPending, bucketExports, bucketTokens}

	keyVersion = []byte("version")
	keyCreated = []byte("created")
	keyJob     = []byte("job")
)

func knownBucket(name []byte) bool {
	for _, b := range allBuckets {
		if bytes.Equal(b, name) {
			return true
		}
	}
	for _, b := range lazyBuckets {
		if bytes.Equal(b, name) {
			return true
		}
	}
	return false
}

func addedLater(name []byte) bool {
	for _, b := range addedBuckets {
		if bytes.Equal(b, name) {
			return true
		}
	}
	return false
}

// record is a segment as the file keeps it.
type record struct {
	ID          uint64          `json:"id"`
	Name        string          `json:"name"`
	Definition  []byte          `json:"definition"`
	DisplayName string          `json:"displayName,omitempty"`
	Description string          `json:"description,omitempty"`
	Membership  string          `json:"type"`
	Draft       bool            `json:"draft,omitempty"`
	Problems    []storedProblem `json:"problems,omitempty"`
	Refs        []string        `json:"refs,omitempty"`
	Active      bool            `json:"active,omitempty"`
	// Revision changes whenever the meaning of the definition changes, so
	// that a refresh computed from an older one is not stored.
	Revision     uint64    `json:"revision"`
	Created      time.Time `json:"created"`
	Modified     time.Time `json:"modified"`
	ActivateAt   time.Time `json:"activateAt,omitzero"`
	DeactivateAt time.Time `json:"deactivateAt,omitzero"`
	Schedule     string    `json:"schedule,omitempty"`
	// ScheduleSince is when Schedule was set; its runs count from then.
	ScheduleSince time.Time `json:"scheduleSince,omitzero"`
	ScheduleError string    `json:"scheduleError,omitempty"`
	MemberCount   uint64    `json:"members"`
	Frozen        bool      `json:"frozen,omitempty"`
	LastRefreshed time.Time `json:"lastRefreshed,omitzero"`
	Status        Status    `json:"status"`
	LastJob       uint64    `json:"lastJob,omitempty"`
	LastError     string    `json:"lastError,omitempty"`
}

func (r *record) membership() segment.Membership {
	if r.Membership == segment.Static.String() {
		return segment.Static
	}
	return segment.Dynamic
}

func (r *record) state() State {
	switch {
	case r.Draft:
		return Draft
	case r.Active:
		return Active
	}
	return Inactive
}

// public returns the caller's copy of the record.
func (r *record) public() *Segment {
	return &Segment{
		Name: r.Name, DisplayName: r.DisplayName, Description: r.Description, Membership: r.membership(),
		State: r.state(), Definition: bytes.Clone(r.Definition), Problems: loadProblems(r.Problems),
		References: append([]string(nil), r.Refs...), Created: r.Created, Modified: r.Modified,
		ActivateAt: r.ActivateAt, DeactivateAt: r.DeactivateAt, Schedule: r.Schedule,
		ScheduleError: r.ScheduleError, MemberCount: r.MemberCount, Frozen: r.Frozen,
		LastRefreshed: r.LastRefreshed, Status: r.Status, LastJob: r.LastJob, LastError: r.LastError,
	}
}

// storedProblem is a draft problem as the file keeps it. Code is the
// stable code of the problem's sentinel (diag.Code), which gives the
// sentinel back after a reload so that errors.Is still works.
type storedProblem struct {
	Path       string `json:"path,omitempty"`
	Message    string `json:"message"`
	Suggestion string `json:"suggestion,omitempty"`
	Code       string `json:"code,omitempty"`
	// Text is the sentinel's message text: all that catalogs written
	// before codes existed kept, read by loadProblems when Code is empty.
	// It is still written so that those older versions of segmentkit
	// reading a newer file keep what they can.
	Text string `json:"kind,omitempty"`
}

// legacyKinds maps the Kind texts that catalogs written before codes
// existed stored to their sentinels: the texts those versions gave the
// sentinels a draft problem can wrap. The texts are written out, not read
// from the sentinels, so rewording a sentinel cannot break old files.
var legacyKinds = map[string]error{
	"definition syntax":                 segment.ErrSyntax,
	"unknown entity":                    schema.ErrUnknownEntity,
	"unknown attribute":                 schema.ErrUnknownAttribute,
	"unknown operator":                  segment.ErrUnknownOperator,
	"operator not allowed for the type": segment.ErrOperatorType,
	"invalid value":                     segment.ErrValue,
	"invalid relationship path":         segment.ErrPath,
	"invalid where":                     segment.ErrWhere,
	"invalid aggregate":                 segment.ErrAggregate,
	"empty condition list":              segment.ErrEmpty,
	"invalid groups":                    segment.ErrGroups,
	"invalid name":                      segment.ErrName,
	"unknown segment":                   segment.ErrUnknownSegment,
	"segment reference cycle":           segment.ErrSegmentCycle,
	"invalid measure":                   segment.ErrMeasure,
	"schema syntax":                     schema.ErrSyntax,
	"unknown attribute type":            schema.ErrUnknownType,
	"duplicate name":                    schema.ErrDuplicate,
	"invalid schema":                    schema.ErrInvalid,
	"invalid relationship":              schema.ErrRelationship,
	"relationship cycle":                schema.ErrCycle,
}

func storeProblems(l diag.List) []storedProblem {
	if len(l) == 0 {
		return nil
	}
	out := make([]storedProblem, len(l))
	for i, p := range l {
		out[i] = storedProblem{Path: p.Path, Message: p.Message, Suggestion: p.Suggestion, Code: diag.Code(p.Err)}
		if s := diag.Sentinel(out[i].Code); s != nil {
			out[i].Text = s.Error()
		}
	}
	return out
}

// loadProblems returns the stored problems, each wrapping its sentinel:
// the one its code names, or, for a problem stored without a code, the
// one its legacy Kind text names. A code this version does not know (a
// newer segmentkit wrote it) leaves the problem without a sentinel.
func loadProblems(ps []storedProblem) diag.List {
	if len(ps) == 0 {
		return nil
	}
	l := make(diag.List, len(ps))
	for i, p := range ps {
		l[i] = &diag.Problem{Path: p.Path, Message: p.Message, Suggestion: p.Suggestion}
		if p.Code != "" {
			l[i].Err = diag.Sentinel(p.Code)
		} else {
			l[i].Err = legacyKinds[p.Text]
		}
	}
	return l
}

func u64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrCorrupt, fmt.Sprintf(format, args...))
}

// unwrapCorrupt returns the message of a corrupt error without the
// sentinel's text, for a problem that wraps the sentinel itself.
func unwrapCorrupt(err error) string {
	return strings.TrimPrefix(err.Error(), ErrCorrupt.Error()+": ")
}

// init checks the format version, initialises a new file, and marks jobs
// left unfinished by a previous process as failed. A catalog that needs
// none of that is only read: opening it writes nothing.
func (c *Catalog) init() error {
	var version uint32
	var empty, foreign, write, missing bool
	err := c.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if meta == nil {
			n := 0
			tx.ForEach(func([]byte, *bolt.Bucket) error { n++; return nil })
			empty, foreign = n == 0, n > 0
			write = empty
			return nil
		}
		v := meta.Get(keyVersion)
		if len(v) != 4 {
			return corrupt("the format version is unreadable")
		}
		version = binary.BigEndian.Uint32(v)
		// A bucket of another name is a damaged name: creating the one it
		// was would lose what it holds without a word.
		err := tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			if !knownBucket(name) || b == nil {
				return corrupt("the file holds a bucket %q that a catalog does not have", excerpt(string(name)))
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, name := range allBuckets {
			if tx.Bucket(name) == nil {
				if !addedLater(name) {
					return corrupt("the %s bucket is missing", name)
				}
				missing = true
			}
		}
		write = missing || len(runningJobs(tx)) > 0 || len(runningExports(tx)) > 0 ||
			(version < formatVersion && !c.opts.ReadOnly)
		return nil
	})
	switch {
	case err != nil:
		return err
	case foreign:
		return fmt.Errorf("%w: the file is a bbolt database without segmentkit's buckets", ErrNotCatalog)
	case version > formatVersion:
		return fmt.Errorf("%w: the file has format version %d and this segmentkit reads up to version %d; open it with a newer segmentkit", ErrNewerFormat, version, formatVersion)
	case !empty && version < 1:
		return corrupt("format version %d is not valid", version)
	case !write:
		return nil
	case c.opts.ReadOnly && !c.opts.asLeft:
		return errNeedsWrite
	case c.opts.ReadOnly && (empty || missing):
		// Readers would find the buckets missing.
		return fmt.Errorf("%w: the file was written by an older segmentkit and must be opened once for writing to be read", ErrReadOnly)
	case c.opts.ReadOnly:
		return nil // jobs left unfinished stay as they were left
	}
	return c.update(func(tx *bolt.Tx) error {
		for _, name := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta := tx.Bucket(bucketMeta)
		if empty || version < formatVersion {
			if err := meta.Put(keyVersion, binary.BigEndian.AppendUint32(nil, formatVersion)); err != nil {
				return err
			}
		}
		if empty {
			if err := meta.Put(keyCreated, []byte(c.now().Format(time.RFC3339Nano))); err != nil {
				return err
			}
		}
		if err := c.recoverJobs(tx); err != nil {
			return err
		}
		return c.recoverExports(tx)
	})
}

// recoverJobs marks every job that is not finished as failed: the process
// that ran it is gone.
func (c *Catalog) recoverJobs(tx *bolt.Tx) error {
	now := c.now()
	const msg = "interrupted: the process running the job stopped before it finished"
	for _, id := range runningJobs(tx) {
		j, err := readJob(tx, id)
		if err != nil || j.Status.Done() {
			continue
		}
		j.Status = Failed
		j.Errors = append(j.Errors, msg)
		if j.Ended.IsZero() {
			j.Ended = now
		}
		for i := range j.Tasks {
			if !j.Tasks[i].Status.Done() {
				j.Tasks[i].Status = Failed
				j.Tasks[i].Errors = append(j.Tasks[i].Errors, msg)
				if err := putTask(tx, id, i, &j.Tasks[i]); err != nil {
					return err
				}
			}
		}
		if err := putJobHeader(tx, j); err != nil {
			return err
		}
	}
	return nil
}

// getRecord returns the record with the id, or nil.
func getRecord(tx *bolt.Tx, id uint64) (*record, error) {
	v := tx.Bucket(bucketSegments).Get(u64(id))
	if v == nil {
		return nil, nil
	}
	r, err := decodeSegment(u64(id), v)
	if err != nil {
		return nil, corrupt("segment %d: %s", id, unwrapCorrupt(err))
	}
	return r, nil
}

// decodeSegment decodes the segment record v stored under the key k and
// checks what every caller relies on: the key is the record's id and
// the name is a valid one (a version 1 record has no checksum, so a
// damaged byte can rename a field away). An error wraps ErrCorrupt and
// says what is wrong, for the caller to say which record.
func decodeSegment(k, v []byte) (*record, error) {
	if len(k) != 8 {
		return nil, corrupt("the key %x is not an id", excerpt(string(k)))
	}
	r := new(record)
	if err := decodeRecord(k, v, r); err != nil {
		return nil, err
	}
	if id := beUint64(k); r.ID != id {
		return nil, corrupt("the record says id %d", r.ID)
	}
	if err := segment.ValidateName(r.Name); err != nil {
		return nil, corrupt("the record's name %q is not valid", excerpt(r.Name))
	}
	return r, nil
}

// lookup returns the id of the named segment.
func lookup(tx *bolt.Tx, name string) (uint64, bool) {
	v := tx.Bucket(bucketNames).Get([]byte(name))
	if len(v) != 8 {
		return 0, false
	}
	return binary.BigEndian.Uint64(v), true
}

// getByName returns the named segment's record, or an ErrNotFound error
// suggesting the nearest name.
func getByName(tx *bolt.Tx, name string) (*record, error) {
	id, ok := lookup(tx, name)
	if !ok {
		return nil, notFound(tx, name)
	}
	r, err := getRecord(tx, id)
	if err != nil {
		return nil, err
	}
	if r == nil {
		return nil, corrupt("the name %q points to no segment", name)
	}
	return r, nil
}

func putRecord(tx *bolt.Tx, r *record) error {
	b, err := encodeRecord(u64(r.ID), r)
	if err != nil {
		return err
	}
	return tx.Bucket(bucketSegments).Put(u64(r.ID), b)
}

// allRecords returns every record, in id order.
func allRecords(tx *bolt.Tx) ([]*record, error) {
	var out []*record
	err := tx.Bucket(bucketSegments).ForEach(func(k, v []byte) error {
		r, err := decodeSegment(k, v)
		if err != nil {
			return corrupt("segment %x: %s", k, unwrapCorrupt(err))
		}
		// What is listed can be looked up by its name.
		if id, ok := lookup(tx, r.Name); !ok || id != r.ID {
			return corrupt("segment %d: the index of names does not give it under its name %q", r.ID, r.Name)
		}
		out = append(out, r)
		return nil
	})
	return out, err
}

// names returns every segment name.
func names(tx *bolt.Tx) []string {
	var out []string
	tx.Bucket(bucketNames).ForEach(func(k, _ []byte) error {
		// A damaged key is no name to suggest.
		if segment.ValidateName(string(k)) == nil {
			out = append(out, string(k))
		}
		return nil
	})
	return out
}

// memberBlob is a segment's stored members: customer ids of the snapshot
// whose customer key list hashes to keys.
type memberBlob struct {
	keys    [32]byte
	members *roaring.Bitmap
}

// Member blob versions: 1, of format version 1, is the version byte, the
// key-list hash and the bitmap; 2 puts a CRC-32C of the segment id (the
// blob's key) and everything after the sum between the version byte and
// the hash (records.go).
const (
	memberBlobV1      = 1
	memberBlobVersion = 2
)

// encodeMembers returns the member blob of the segment id.
func encodeMembers(id uint64, keys [32]byte, bm *roaring.Bitmap) ([]byte, error) {
	var buf bytes.Buffer
	buf.Write([]byte{memberBlobVersion, 0, 0, 0, 0})
	buf.Write(keys[:])
	if _, err := bm.WriteTo(&buf); err != nil {
		return nil, err
	}
	b := buf.Bytes()
	binary.BigEndian.PutUint32(b[1:], recordSum(u64(id), b[5:]))
	return b, nil
}

// blobParts returns the key-list hash and the bitmap bytes of a member
// blob, without checking its sum.
func blobParts(v []byte) (keys [32]byte, bitmap []byte, ok bool) {
	off := 1
	switch {
	case len(v) >= 33 && v[0] == memberBlobV1:
	case len(v) >= 37 && v[0] == memberBlobVersion:
		off = 5
	default:
		return keys, nil, false
	}
	copy(keys[:], v[off:off+32])
	return keys, v[off+32:], true
}

// blobKeys returns the key-list hash of a member blob without decoding it.
func blobKeys(v []byte) ([32]byte, bool) {
	k, _, ok := blobParts(v)
	return k, ok
}

// decodeMembers decodes the member blob v stored under the key k (the
// segment id), checking its sum; the bitmap is a copy (v may point into
// the memory map).
func decodeMembers(k, v []byte) (memberBlob, error) {
	keys, bits, ok := blobParts(v)
	if !ok {
		return memberBlob{}, corrupt("unknown encoding")
	}
	if v[0] == memberBlobVersion && recordSum(k, v[5:]) != binary.BigEndian.Uint32(v[1:]) {
		return memberBlob{}, corrupt("the checksum does not match: the members are damaged")
	}
	bm, err := decodeBitmap(bits)
	if err != nil {
		return memberBlob{}, corrupt("%v", err)
	}
	return memberBlob{keys: keys, members: bm}, nil
}

// decodeBitmap decodes a serialized roaring bitmap into a copy, with a
// panic of the decoder on damaged bytes returned as an error.
func decodeBitmap(b []byte) (bm *roaring.Bitmap, err error) {
	defer func() {
		if r := recover(); r != nil {
			bm, err = nil, fmt.Errorf("the bitmap does not decode (%s)", excerpt(fmt.Sprint(r)))
		}
	}()
	bm = roaring.New()
	if err := bm.UnmarshalBinary(b); err != nil {
		return nil, err
	}
	// Bytes that decode may still break the format's rules (containers
	// out of order, values unsorted), which make Maximum and Contains
	// wrong; roaring checks them.
	if err := bm.Validate(); err != nil {
		return nil, fmt.Errorf("the bitmap is not valid (%s)", excerpt(err.Error()))
	}
	return bm, nil
}

// getMembers reads the segment's stored members; ok is false if it has
// none. The bitmap is a copy the caller owns.
func getMembers(tx *bolt.Tx, id uint64) (memberBlob, bool, error) {
	v := tx.Bucket(bucketMembers).Get(u64(id))
	if v == nil {
		return memberBlob{}, false, nil
	}
	blob, err := decodeMembers(u64(id), v)
	if err != nil {
		return memberBlob{}, false, corrupt("members of segment %d: %s", id, unwrapCorrupt(err))
	}
	return blob, true, nil
}

// gcKeysets deletes the key lists that no member blob and no change
// entry refers to.
func gcKeysets(tx *bolt.Tx) error {
	used := map[[32]byte]bool{}
	tx.Bucket(bucketMembers).ForEach(func(_, v []byte) error {
		if k, ok := blobKeys(v); ok {
			used[k] = true
		}
		return nil
	})
	changeKeys(tx, used)
	ks := tx.Bucket(bucketKeysets)
	var drop [][]byte
	ks.ForEach(func(k, _ []byte) error {
		var h [32]byte
		copy(h[:], k)
		if len(k) != 32 || !used[h] {
			drop = append(drop, bytes.Clone(k))
		}
		return nil
	})
	for _, k := range drop {
		if err := ks.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// historyKey orders entries by time, then by the order they were stored
// in: the time's nanoseconds with the sign bit flipped so that byte order
// is time order, then a per-segment sequence number. (Job ids do not give
// that order: a job may wait for a later one to finish.)
func historyKey(t time.Time, seq uint64) []byte {
	k := binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())^(1<<63))
	return binary.BigEndian.AppendUint64(k, seq)
}

func historyTimeKey(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(nil, uint64(t.UnixNano())^(1<<63))
}

// putHistory stores the entry and returns its key.
func putHistory(tx *bolt.Tx, id uint64, e *HistoryEntry) ([]byte, error) {
	b, err := tx.Bucket(bucketHistory).CreateBucketIfNotExists(u64(id))
	if err != nil {
		return nil, err
	}
	seq, err := b.NextSequence()
	if err != nil {
		return nil, err
	}
	k := historyKey(e.Time, seq)
	v, err := encodeRecord(k, e)
	if err != nil {
		return nil, err
	}
	return k, b.Put(k, v)
}

// Job persistence.

func jobBucket(tx *bolt.Tx, id uint64, create bool) (*bolt.Bucket, error) {
	jobs := tx.Bucket(bucketJobs)
	if create {
		return jobs.CreateBucketIfNotExists(u64(id))
	}
	return jobs.Bucket(u64(id)), nil
}

func taskKey(i int) []byte {
	return binary.BigEndian.AppendUint32([]byte{'t'}, uint32(i))
}

func putJobHeader(tx *bolt.Tx, j *Job) error {
	b, err := jobBucket(tx, j.ID, true)
	if err != nil {
		return err
	}
	h := *j
	h.Tasks = nil
	v, err := encodeRecord(keyJob, &h)
	if err != nil {
		return err
	}
	return b.Put(keyJob, v)
}

func putTask(tx *bolt.Tx, jobID uint64, i int, t *Task) error {
	if i < 0 || i > math.MaxUint32 {
		return fmt.Errorf("BUG: task index %d", i)
	}
	b, err := jobBucket(tx, jobID, true)
	if err != nil {
		return err
	}
	v, err := encodeRecord(taskKey(i), t)
	if err != nil {
		return err
	}
	return b.Put(taskKey(i), v)
}

// putJob writes the header and every task.
func putJob(tx *bolt.Tx, j *Job) error {
	if err := putJobHeader(tx, j); err != nil {
		return err
	}
	for i := range j.Tasks {
		if err := putTask(tx, j.ID, i, &j.Tasks[i]); err != nil {
			return err
		}
	}
	return nil
}

var errNoJob = errors.New("no such job")

func readJob(tx *bolt.Tx, id uint64) (*Job, error) {
	b, _ := jobBucket(tx, id, false)
	if b == nil {
		return nil, errNoJob
	}
	j := new(Job)
	h := b.Get(keyJob)
	if h == nil {
		return nil, corrupt("job %d has no header", id)
	}
	if err := decodeRecord(keyJob, h, j); err != nil {
		return nil, corrupt("job %d: %s", id, unwrapCorrupt(err))
	}
	j.Tasks = nil
	err := b.ForEach(func(k, v []byte) error {
		if len(k) != 5 || k[0] != 't' {
			return nil
		}
		var t Task
		if err := decodeRecord(k, v, &t); err != nil {
			return corrupt("job %d task: %s", id, unwrapCorrupt(err))
		}
		j.Tasks = append(j.Tasks, t)
		return nil
	})
	return j, err
}

// running reports whether the job bucket b holds a job whose header says
// it is not finished; an unreadable header is not.
func running(b *bolt.Bucket) bool {
	var h struct {
		Status Status `json:"status"`
	}
	if b == nil {
		return false
	}
	v := b.Get(keyJob)
	return v != nil && decodeRecord(keyJob, v, &h) == nil && !h.Status.Done()
}

// runningJobs returns the ids of the jobs whose header says they are not
// finished, reading the headers alone.
func runningJobs(tx *bolt.Tx) []uint64 {
	jobs := tx.Bucket(bucketJobs)
	if jobs == nil {
		return nil
	}
	var ids []uint64
	jobs.ForEachBucket(func(k []byte) error {
		if len(k) == 8 && running(jobs.Bucket(k)) {
			ids = append(ids, binary.BigEndian.Uint64(k))
		}
		return nil
	})
	return ids
}

// pruneJobs removes the oldest finished jobs while more than keep remain.
func pruneJobs(tx *bolt.Tx, keep int) error {
	jobs := tx.Bucket(bucketJobs)
	var ids [][]byte
	jobs.ForEachBucket(func(k []byte) error {
		ids = append(ids, bytes.Clone(k))
		return nil
	})
	excess := len(ids) - keep
	for _, k := range ids {
		if excess <= 0 {
			break
		}
		if running(jobs.Bucket(k)) {
			continue
		}
		if err := jobs.DeleteBucket(k); err != nil {
			return err
		}
		excess--
	}
	return nil
}
