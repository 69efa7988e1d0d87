package catalog

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/internal/regular"
	"github.com/segmentkit/segmentkit/segment"
)

// SalvageReport says what Salvage copied and what it left behind.
type SalvageReport struct {
	// Copied counts the records copied, by kind: "segments", "members",
	// "customer key lists", "history", "changes", "jobs" (their headers),
	// "job tasks", "destinations", "sent" (customers a destination was
	// sent), "pending" (batches in flight), "exports" (export jobs),
	// "tokens".
	Copied map[string]int `json:"copied"`
	// Lost says, one line each, what could not be read or was left out
	// because it does not decode or belongs to something lost.
	Lost []string `json:"lost"`
	// Problems are what Verify still finds in the new file (nil when it
	// finds nothing).
	Problems []string `json:"problems,omitempty"`
}

// salvaged is what the tolerant page walk read: every value by the
// names of its buckets, and every bucket's sequence.
type salvaged struct {
	values   map[string][]kv // by bucket path (pathKey)
	seqs     map[string]uint64
	children map[string][][]byte // the buckets in a bucket, by its path
}

type kv struct{ k, v []byte }

// pathKey names the bucket path: each name with its length before it.
func pathKey(path [][]byte) string {
	var b []byte
	for _, p := range path {
		b = binary.AppendUvarint(b, uint64(len(p)))
		b = append(b, p...)
	}
	return string(b)
}

// Salvage copies everything that can be read from the catalog file from
// to a new catalog file to: every segment whose record decodes (names are
// rebuilt from the records), and the members, history, changes,
// destinations, what they were sent, batches in flight, jobs, export jobs
// and tokens that decode and belong to something copied. It reads from
// with its own page walk, not through bbolt, so that a damaged page loses
// only what it holds; from is not changed. to must not exist. The report
// says what was copied and what was lost; the error is for what stopped
// the salvage as a whole (from is not a bbolt file, to exists).
func Salvage(from, to string) (*SalvageReport, error) {
	if _, err := os.Lstat(to); err == nil {
		return nil, fmt.Errorf("salvage to %s: %w", to, fs.ErrExist)
	}
	sv, lost, err := readTolerant(from)
	if err != nil {
		return nil, fmt.Errorf("salvage %s: %w", from, err)
	}
	rep := &SalvageReport{Copied: map[string]int{}}
	for _, e := range lost {
		rep.Lost = append(rep.Lost, "unreadable: "+unwrapCorrupt(e))
	}
	c, err := Open(to, Options{})
	if err != nil {
		return nil, fmt.Errorf("salvage to %s: %w", to, err)
	}
	err = c.update(func(tx *bolt.Tx) error { return sv.copyTo(tx, rep) })
	if err == nil {
		c.gcAfterSalvage()
		var l interface{ Unwrap() []error }
		if verr := c.Verify(); errors.As(verr, &l) {
			for _, p := range l.Unwrap() {
				rep.Problems = append(rep.Problems, p.Error())
			}
		} else if verr != nil {
			err = verr
		}
	}
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(to)
		return nil, fmt.Errorf("salvage to %s: %w", to, err)
	}
	return rep, nil
}

// gcAfterSalvage drops the customer key lists nothing copied refers to.
func (c *Catalog) gcAfterSalvage() {
	c.update(gcKeysets)
}

// readTolerant walks the pages of the file at path, collecting what it
// can read; lost gets each damaged part.
func readTolerant(path string) (*salvaged, []error, error) {
	f, err := regular.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	switch ok, err := lockShared(f, 5*time.Second); {
	case err != nil:
		return nil, nil, err
	case !ok:
		return nil, nil, ErrLocked
	}
	st, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	m, ok := currentMeta(f)
	if !ok {
		return nil, nil, fmt.Errorf("%w: neither meta page is readable", ErrNotCatalog)
	}
	if m.pageSize == 0 {
		return nil, nil, corrupt("the page size is 0")
	}
	// Pages past the end of a truncated file are lost, not read.
	m.hwm = min(m.hwm, uint64(st.Size())/uint64(m.pageSize))
	sv := &salvaged{values: map[string][]kv{}, seqs: map[string]uint64{}, children: map[string][][]byte{}}
	w := &pageWalker{f: f, psize: uint64(m.pageSize), hwm: m.hwm, seen: make([]bool, max(m.hwm, 2)), buf: make([]byte, m.pageSize), tolerant: true}
	w.visit = func(p [][]byte, k, v []byte, seq uint64) {
		if v == nil {
			sv.seqs[pathKey(append(slices.Clone(p), k))] = seq
			sv.children[pathKey(p)] = append(sv.children[pathKey(p)], bytes.Clone(k))
			return
		}
		at := pathKey(p)
		sv.values[at] = append(sv.values[at], kv{bytes.Clone(k), bytes.Clone(v)})
	}
	if m.hwm < 2 {
		return nil, nil, corrupt("the meta page says the file has %d pages", m.hwm)
	}
	if err := w.walk(m); err != nil {
		return nil, nil, err
	}
	return sv, w.lost, nil
}

// in returns the values of the bucket at the path.
func (sv *salvaged) in(path ...[]byte) []kv { return sv.values[pathKey(path)] }

// subs returns the keys of the buckets inside the bucket parent.
func (sv *salvaged) subs(parent []byte) [][]byte { return sv.children[pathKey([][]byte{parent})] }

// copyTo writes into tx, a new catalog's, every record of sv that decodes
// and belongs to something copied.
func (sv *salvaged) copyTo(tx *bolt.Tx, rep *SalvageReport) error {
	lose := func(format string, args ...any) { rep.Lost = append(rep.Lost, fmt.Sprintf(format, args...)) }
	put := func(b *bolt.Bucket, kind string, k, v []byte) error {
		rep.Copied[kind]++
		return b.Put(k, v)
	}
	for _, name := range allBuckets {
		if !bytes.Equal(name, bucketMeta) {
			if err := tx.Bucket(name).SetSequence(sv.seqs[pathKey([][]byte{name})]); err != nil {
				return err
			}
		}
	}
	for _, e := range sv.in(bucketMeta) {
		if bytes.Equal(e.k, keyCreated) {
			if _, err := time.Parse(time.RFC3339Nano, string(e.v)); err == nil {
				if err := tx.Bucket(bucketMeta).Put(keyCreated, e.v); err != nil {
					return err
				}
			}
		}
	}
	// Segments: names come from the records.
	segs := map[uint64]*record{}
	for _, e := range sv.in(bucketSegments) {
		r, err := decodeSegment(e.k, e.v)
		switch {
		case err != nil && len(e.k) != 8:
			lose("a segment record under the key %x", excerpt(string(e.k)))
		case err != nil:
			lose("segment %d: %s", beUint64(e.k), unwrapCorrupt(err))
		case tx.Bucket(bucketNames).Get([]byte(r.Name)) != nil:
			lose("segment %d: its name %q is taken", r.ID, excerpt(r.Name))
		default:
			segs[r.ID] = r
			if err := put(tx.Bucket(bucketSegments), "segments", e.k, e.v); err != nil {
				return err
			}
			if err := tx.Bucket(bucketNames).Put([]byte(r.Name), e.k); err != nil {
				return err
			}
		}
	}
	// A valid segment that references a lost one is copied as a draft,
	// the lost reference its problem, as Create would save it.
	for _, id := range slices.Sorted(maps.Keys(segs)) {
		r := segs[id]
		if r.Draft {
			continue
		}
		var l diag.List
		for _, ref := range r.Refs {
			if tx.Bucket(bucketNames).Get([]byte(ref)) == nil {
				l.Add("", segment.ErrUnknownSegment, "unknown segment %q: it was lost when the catalog was salvaged", ref)
			}
		}
		if len(l) == 0 {
			continue
		}
		r.Draft, r.Active = true, false
		r.Problems = append(r.Problems, storeProblems(l)...)
		v, err := encodeRecord(u64(id), r)
		if err != nil {
			return err
		}
		if err := tx.Bucket(bucketSegments).Put(u64(id), v); err != nil {
			return err
		}
		lose("segment %s: copied as a draft, %s", r.Name, l[0].Message)
	}
	segName := func(k []byte) (string, bool) {
		if len(k) != 8 || segs[beUint64(k)] == nil {
			return "", false
		}
		return segs[beUint64(k)].Name, true
	}
	keysets := map[[32]byte]bool{}
	for _, e := range sv.in(bucketKeysets) {
		if len(e.k) != 32 || checkKeys(e.v) != nil || !keysMatch(e.k, e.v) {
			lose("customer key list %x: damaged", e.k[:min(len(e.k), 8)])
			continue
		}
		keysets[[32]byte(e.k)] = true
		if err := put(tx.Bucket(bucketKeysets), "customer key lists", e.k, e.v); err != nil {
			return err
		}
	}
	for _, e := range sv.in(bucketMembers) {
		name, ok := segName(e.k)
		if !ok {
			lose("members of segment %s: the segment is lost", keyID(e.k))
			continue
		}
		blob, err := decodeMembers(e.k, e.v)
		switch {
		case err != nil:
			lose("members of %s: %s", name, unwrapCorrupt(err))
		case !keysets[blob.keys]:
			lose("members of %s: their customer key list is lost", name)
		default:
			if err := put(tx.Bucket(bucketMembers), "members", e.k, e.v); err != nil {
				return err
			}
		}
	}
	// nested copies the buckets inside top that admit accepts (nil: those
	// of a copied segment), with the records in each that keep accepts.
	nested := func(top []byte, kind string, admit func(sub []byte) error, keep func(parent []byte, name string, e kv) error) error {
		for _, sub := range sv.subs(top) {
			name, ok := segName(sub)
			var err error
			switch {
			case admit != nil:
				err = admit(sub)
			case !ok:
				err = corrupt("%s of segment %s: the segment is lost", kind, keyID(sub))
			}
			if err != nil {
				lose("%s", unwrapCorrupt(err))
				continue
			}
			b, err := tx.Bucket(top).CreateBucketIfNotExists(sub)
			if err != nil {
				return err
			}
			if err := b.SetSequence(sv.seqs[pathKey([][]byte{top, sub})]); err != nil {
				return err
			}
			for _, e := range sv.in(top, sub) {
				if err := keep(sub, name, e); err != nil {
					if errors.Is(err, ErrCorrupt) {
						lose("%s", unwrapCorrupt(err))
						continue
					}
					return err
				}
				k := kind
				if bytes.Equal(top, bucketJobs) && !bytes.Equal(e.k, keyJob) {
					k = "job tasks"
				}
				if err := put(b, k, e.k, e.v); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := nested(bucketHistory, "history", nil, func(_ []byte, name string, e kv) error {
		var h HistoryEntry
		if err := decodeRecord(e.k, e.v, &h); err != nil {
			return corrupt("a history entry of %s: %s", name, unwrapCorrupt(err))
		}
		return nil
	})
	if err != nil {
		return err
	}
	err = nested(bucketChanges, "changes", nil, func(_ []byte, name string, e kv) error {
		b, err := decodeChange(e.k, e.v)
		if err != nil {
			return corrupt("a change entry of %s: %v", name, err)
		}
		if len(e.k) != 16 || !bytes.Equal(e.k[:8], historyTimeKey(b.time)) {
			return corrupt("a change entry of %s: the entry of %s is under key %x", name, b.time.Format(time.RFC3339Nano), e.k)
		}
		for _, h := range [][32]byte{b.enteredKeys, b.leftKeys} {
			if h != ([32]byte{}) && !keysets[h] {
				return corrupt("a change entry of %s: its customer key list is lost", name)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	// A job is copied only with its header: its tasks alone are not a
	// job (readJob).
	jobAdmit := func(sub []byte) error {
		if len(sub) != 8 {
			return corrupt("a job under the key %x", sub)
		}
		for _, e := range sv.in(bucketJobs, sub) {
			if bytes.Equal(e.k, keyJob) {
				if err := decodeRecord(e.k, e.v, new(Job)); err != nil {
					return corrupt("job %d: its header does not decode: %s", beUint64(sub), unwrapCorrupt(err))
				}
				return nil
			}
		}
		return corrupt("job %d: its header is lost", beUint64(sub))
	}
	err = nested(bucketJobs, "jobs", jobAdmit, func(sub []byte, _ string, e kv) error {
		if bytes.Equal(e.k, keyJob) {
			return nil
		}
		if len(e.k) != 5 || e.k[0] != 't' || decodeRecord(e.k, e.v, new(Task)) != nil {
			return corrupt("job %d: a task record does not decode", beUint64(sub))
		}
		return nil
	})
	if err != nil {
		return err
	}
	uids := map[uint64]bool{}
	err = nested(bucketDestinations, "destinations", nil, func(_ []byte, name string, e kv) error {
		var d destRecord
		if err := decodeRecord(e.k, e.v, &d); err != nil || d.Name != string(e.k) || uids[d.UID] {
			return corrupt("destination %q of %s does not decode", excerpt(string(e.k)), name)
		}
		uids[d.UID] = true
		return nil
	})
	if err != nil {
		return err
	}
	sentAdmit := func(sub []byte) error {
		if len(sub) != 8 || !uids[beUint64(sub)] {
			return corrupt("what destination %s was sent: the destination is lost", keyID(sub))
		}
		return nil
	}
	err = nested(bucketSent, "sent", sentAdmit, func(sub []byte, _ string, e kv) error {
		if len(e.v) != 8 {
			return corrupt("what destination %d was sent: customer %q has a damaged hash", beUint64(sub), excerpt(string(e.k)))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, e := range sv.in(bucketPending) {
		if len(e.k) != 8 || !uids[beUint64(e.k)] {
			lose("a batch in flight of destination %s: the destination is lost", keyID(e.k))
			continue
		}
		_, b, err := export.DecodeBatch(e.v, nil)
		if err != nil {
			lose("a batch in flight of destination %d: %v", beUint64(e.k), err)
			continue
		}
		b.Record.Release()
		if err := put(tx.Bucket(bucketPending), "pending", e.k, e.v); err != nil {
			return err
		}
	}
	for _, e := range sv.in(bucketExports) {
		if _, err := decodeExportJob(e.k, e.v); err != nil {
			lose("%s", unwrapCorrupt(err))
			continue
		}
		if err := put(tx.Bucket(bucketExports), "exports", e.k, e.v); err != nil {
			return err
		}
	}
	for _, e := range sv.in(bucketTokens) {
		if _, err := decodeToken(e.k, e.v); err != nil {
			lose("%s", unwrapCorrupt(err))
			continue
		}
		if err := put(tx.Bucket(bucketTokens), "tokens", e.k, e.v); err != nil {
			return err
		}
	}
	return salvageSplitsAndLists(sv, tx, segs, rep)
}

// keysMatch reports whether the stored key list v hashes to h, the key it
// is stored under (hashKeys).
func keysMatch(h, v []byte) bool {
	n, w := binary.Uvarint(v)
	if w <= 0 {
		return false
	}
	_ = n
	sum := sha256.Sum256(v[w:])
	return bytes.Equal(sum[:], h)
}

// keyID names the id a key of 8 bytes holds, in decimal; another key in
// hex (at most 8 bytes of it).
func keyID(k []byte) string {
	if len(k) == 8 {
		return fmt.Sprint(beUint64(k))
	}
	return fmt.Sprintf("%x", k[:min(len(k), 8)])
}
