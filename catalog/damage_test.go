package catalog

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/segment"
)

// copyLegacy copies the catalog file main's code wrote (format version 1,
// records without checksums) to a new path.
func copyLegacy(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "v1-main-7dd3ad8.db"))
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "catalog.db")
	require.NoError(t, os.WriteFile(path, b, 0o600))
	return path
}

func fileVersion(t *testing.T, path string) uint32 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	require.NoError(t, err)
	defer db.Close()
	var v uint32
	require.NoError(t, db.View(func(tx *bolt.Tx) error {
		v = binary.BigEndian.Uint32(tx.Bucket(bucketMeta).Get(keyVersion))
		return nil
	}))
	return v
}

// TestLegacyFile: a file written by format version 1 reads read-only as
// it is, and opened for writing is marked version 2 and keeps working,
// its old records read unchecked and new ones sealed.
func TestLegacyFile(t *testing.T) {
	ctx := context.Background()
	path := copyLegacy(t)
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	c, err := Open(path, Options{ReadOnly: true})
	require.NoError(t, err)
	segs, err := c.List(ListOptions{})
	require.NoError(t, err)
	require.Len(t, segs, 4)
	h, err := c.History("Older", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, h, 5) // the activation, OlderVips' and three refreshes
	jobs, err := c.Jobs(0)
	require.NoError(t, err)
	require.Len(t, jobs, 6)
	toks, err := c.Tokens()
	require.NoError(t, err)
	require.Len(t, toks, 1)
	require.NoError(t, c.Verify())
	require.ErrorIs(t, c.Rename("Older", "Elder"), ErrReadOnly)
	require.NoError(t, c.Close())
	after, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, before, after, "a read-only open writes nothing")
	require.EqualValues(t, 1, fileVersion(t, path))

	e := newEnv(t, Options{})
	require.NoError(t, e.cat.Close())
	c, err = Open(path, Options{Source: e.src, Clock: e.clock})
	require.NoError(t, err)
	job, err := c.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status, "%+v", job)
	h, err = c.History("Older", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, h, 6)
	require.NoError(t, c.Rename("Older", "Elder"))
	require.NoError(t, c.Verify())
	require.NoError(t, c.Close())
	require.EqualValues(t, formatVersion, fileVersion(t, path))
}

// TestReadOnlyOpen: readers share the file; a file that needs writing at
// Open is brought up to date first when it can be written.
func TestReadOnlyOpen(t *testing.T) {
	e := newEnv(t, Options{})
	buildFixture(t, e)
	require.NoError(t, e.cat.Close())
	a, err := Open(e.path, Options{ReadOnly: true})
	require.NoError(t, err)
	b, err := Open(e.path, Options{ReadOnly: true, LockTimeout: 200 * time.Millisecond})
	require.NoError(t, err, "two readers at once")
	_, err = Open(e.path, Options{LockTimeout: 200 * time.Millisecond})
	require.ErrorIs(t, err, ErrLocked, "a writer waits for the readers")
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
}

// TestEmptyFile: a zero-byte file is not a new catalog, and is left as it
// is.
func TestEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "catalog.db")
	require.NoError(t, os.WriteFile(path, nil, 0o600))
	for _, ro := range []bool{false, true} {
		_, err := Open(path, Options{ReadOnly: ro})
		require.ErrorIs(t, err, ErrNotCatalog)
		require.ErrorContains(t, err, "empty")
		st, err := os.Stat(path)
		require.NoError(t, err)
		require.Zero(t, st.Size())
	}
}

// TestRecordChecksum: a flipped bit inside a record's JSON that still
// decodes (a name, a count) is caught by its checksum.
func TestRecordChecksum(t *testing.T) {
	e := newEnv(t, Options{})
	buildFixture(t, e)
	require.NoError(t, e.cat.Close())
	db, err := bolt.Open(e.path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketSegments)
		k, v := b.Cursor().First()
		v = append([]byte(nil), v...)
		i := len(v) - 20
		v[i] ^= 0x01 // inside a string or a digit: still JSON
		return b.Put(k, v)
	}))
	require.NoError(t, db.Close())
	e.open(t, Options{})
	_, err = e.cat.List(ListOptions{})
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "checksum")
	require.ErrorIs(t, e.cat.Verify(), ErrCorrupt)
}

// TestSalvage copies what a damaged file still holds: every record of a
// page-damaged file but those of the damaged page, and all of a file
// with one damaged record but that record.
func TestSalvage(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	buildFixture(t, e)
	require.NoError(t, e.cat.Close())
	whole, err := os.ReadFile(e.path)
	require.NoError(t, err)

	// Undamaged: everything is copied and the copy verifies.
	to := filepath.Join(t.TempDir(), "new.db")
	rep, err := Salvage(e.path, to)
	require.NoError(t, err)
	require.Empty(t, rep.Lost)
	require.Empty(t, rep.Problems)
	require.Equal(t, 4, rep.Copied["segments"])
	c, err := Open(to, Options{Source: e.src, Clock: e.clock})
	require.NoError(t, err)
	segs, err := c.List(ListOptions{})
	require.NoError(t, err)
	require.Len(t, segs, 4)
	h, err := c.History("Older", time.Time{}, time.Time{})
	require.NoError(t, err)
	require.Len(t, h, 5)
	m, err := c.Members(ctx, "Frozen")
	require.NoError(t, err)
	require.False(t, m.IsEmpty())
	_, _, err = c.CreateToken("second", Viewer) // sequences carried over
	require.NoError(t, err)
	toks, err := c.Tokens()
	require.NoError(t, err)
	require.Len(t, toks, 2)
	require.NotEqual(t, toks[0].ID, toks[1].ID)
	job, err := c.RefreshAll(ctx)
	require.NoError(t, err)
	require.Equal(t, Successful, job.Status)
	require.NoError(t, c.Close())

	// The destination refuses an existing file.
	_, err = Salvage(e.path, to)
	require.ErrorIs(t, err, os.ErrExist)

	// Random damage: the salvage never fails as a whole, and its copy
	// always verifies and opens.
	rng := rand.New(rand.NewPCG(7, 7))
	damaged := filepath.Join(t.TempDir(), "damaged.db")
	for i := range 60 {
		b := append([]byte(nil), whole...)
		for range 1 + rng.IntN(4) {
			bit := rng.IntN(len(b) * 8)
			b[bit/8] ^= 1 << (bit % 8)
		}
		require.NoError(t, os.WriteFile(damaged, b, 0o600))
		to := filepath.Join(t.TempDir(), "new.db")
		rep, err := Salvage(damaged, to)
		if err != nil {
			require.True(t, isDamage(err), "copy %d: %v", i, err)
			continue
		}
		require.Empty(t, rep.Problems, "copy %d", i)
		c, err := Open(to, Options{})
		require.NoError(t, err, "copy %d", i)
		require.NoError(t, c.Verify(), "copy %d", i)
		require.NoError(t, c.Close())
	}
}

func isDamage(err error) bool { return damaged(err) }

// TestSalvageRules checks what Salvage does with records that decode but
// lost what they belong to or fail their checksum: a job whose header is damaged is dropped with
// its tasks, a change entry that fails its checksum is dropped, and a
// valid segment whose referenced segment is lost is copied as a draft
// naming the lost reference.
func TestSalvageRules(t *testing.T) {
	e := newEnv(t, Options{})
	buildFixture(t, e)
	require.NoError(t, e.cat.Close())
	flipLast := func(v []byte) []byte {
		v = append([]byte(nil), v...)
		v[len(v)-3] ^= 0x01
		return v
	}
	var olderID, jobID uint64
	db, err := bolt.Open(e.path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		id, ok := lookup(tx, "Older")
		require.True(t, ok)
		olderID = id
		segs := tx.Bucket(bucketSegments)
		if err := segs.Put(u64(id), flipLast(segs.Get(u64(id)))); err != nil {
			return err
		}
		jobs := tx.Bucket(bucketJobs)
		k, _ := jobs.Cursor().First()
		jobID = beUint64(k)
		jb := jobs.Bucket(k)
		if err := jb.Put(keyJob, flipLast(jb.Get(keyJob))); err != nil {
			return err
		}
		vips, ok := lookup(tx, "OlderVips")
		require.True(t, ok)
		ch := tx.Bucket(bucketChanges).Bucket(u64(vips))
		ck, cv := ch.Cursor().First()
		return ch.Put(bytes.Clone(ck), flipLast(cv))
	}))
	require.NoError(t, db.Close())

	to := filepath.Join(t.TempDir(), "new.db")
	rep, err := Salvage(e.path, to)
	require.NoError(t, err)
	require.Empty(t, rep.Problems)
	require.Equal(t, 3, rep.Copied["segments"])
	lost := strings.Join(rep.Lost, "\n")
	require.Contains(t, lost, fmt.Sprintf("segment %d: the record's checksum does not match", olderID))
	require.Contains(t, lost, fmt.Sprintf("job %d: its header does not decode", jobID))
	require.Contains(t, lost, "segment OlderVips: copied as a draft, unknown segment \"Older\"")
	require.Contains(t, lost, "a change entry of OlderVips: a change entry's checksum does not match")

	c, err := Open(to, Options{Source: e.src, Clock: e.clock})
	require.NoError(t, err)
	defer c.Close()
	require.NoError(t, c.Verify())
	s, err := c.Get("OlderVips")
	require.NoError(t, err)
	require.Equal(t, Draft, s.State)
	require.NotEmpty(t, s.Problems)
	require.ErrorIs(t, s.Problems[len(s.Problems)-1].Err, segment.ErrUnknownSegment)
	_, err = c.Job(jobID)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrCorrupt)
}
