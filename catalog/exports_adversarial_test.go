package catalog

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/storage"
)

// damage writes into the catalog file with bbolt directly, the catalog
// closed, and opens it again.
func damage(t *testing.T, e *env, opts Options, fn func(tx *bolt.Tx) error) {
	t.Helper()
	require.NoError(t, e.cat.Close())
	db, err := bolt.Open(e.path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(fn))
	require.NoError(t, db.Close())
	e.open(t, opts)
}

// requireVerifyReports requires Verify to report a problem at a path
// starting with prefix.
func requireVerifyReports(t *testing.T, cat *Catalog, prefix string) {
	t.Helper()
	err := cat.Verify()
	require.ErrorIs(t, err, ErrCorrupt)
	var l diag.List
	require.ErrorAs(t, err, &l)
	for _, p := range l {
		if len(p.Path) >= len(prefix) && p.Path[:len(prefix)] == prefix {
			return
		}
	}
	require.Failf(t, "no problem reported", "want a problem at %s, got %v", prefix, err)
}

// TestExportDamagedFile: a damaged destination record, sent entry, batch
// in flight or export job leaves the file openable; Verify names the
// damage; an export that meets it fails with an error wrapping
// ErrCorrupt (and its job says why) rather than panic or export wrong
// rows.
func TestExportDamagedFile(t *testing.T) {
	ctx := context.Background()
	setup := func(t *testing.T) (*env, Options, *memTargets, uint64, uint64) {
		mt := newMemTargets(true)
		opts := Options{OpenDestination: mt.open}
		e := newEnv(t, opts)
		_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{Active: true})
		require.NoError(t, err)
		ej, err := e.cat.ExportTo(ctx, "Adults", DestinationOptions{Name: "d", To: "mem:d", Mode: export.Delta, BatchSize: 2})
		require.NoError(t, err)
		require.Equal(t, Successful, ej.Status)
		var segID, uid uint64
		require.NoError(t, e.cat.view(func(tx *bolt.Tx) error {
			segID, _ = lookup(tx, "Adults")
			d, err := getDest(tx, &record{ID: segID, Name: "Adults"}, "d")
			uid = d.UID
			return err
		}))
		return e, opts, mt, segID, uid
	}
	exportFails := func(t *testing.T, e *env) {
		t.Helper()
		ej, err := e.cat.Export(ctx, "Adults", "d")
		require.ErrorIs(t, err, ErrCorrupt)
		if ej != nil {
			require.Equal(t, Failed, ej.Status)
			require.Contains(t, ej.Errors[0], "corrupt")
		}
	}

	t.Run("destination record", func(t *testing.T) {
		e, opts, _, segID, _ := setup(t)
		damage(t, e, opts, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketDestinations).Bucket(u64(segID)).Put([]byte("d"), []byte("{garbage"))
		})
		requireVerifyReports(t, e.cat, "destinations[")
		exportFails(t, e)
		_, err := e.cat.Destinations("Adults")
		require.ErrorIs(t, err, ErrCorrupt)
		// A refresh still succeeds, and says why it exported nothing.
		job, err := e.cat.Refresh(ctx, "Adults")
		require.NoError(t, err)
		require.Equal(t, Successful, job.Status)
		require.Empty(t, job.Exports)
		j, err := e.cat.Job(job.ID)
		require.NoError(t, err)
		require.NotEmpty(t, j.Warnings)
		require.Contains(t, j.Warnings[0], "corrupt")
	})

	t.Run("value for a bucket", func(t *testing.T) {
		e, opts, _, segID, uid := setup(t)
		damage(t, e, opts, func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketSent).DeleteBucket(u64(uid)); err != nil {
				return err
			}
			if err := tx.Bucket(bucketSent).Put(u64(uid), []byte("x")); err != nil {
				return err
			}
			return tx.Bucket(bucketDestinations).Put(u64(segID+100), []byte("x"))
		})
		requireVerifyReports(t, e.cat, "sent")
		requireVerifyReports(t, e.cat, "destinations")
	})

	t.Run("sent entry", func(t *testing.T) {
		e, opts, _, _, uid := setup(t)
		damage(t, e, opts, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketSent).Bucket(u64(uid)).Put([]byte("C005"), []byte{1, 2, 3})
		})
		requireVerifyReports(t, e.cat, "sent[")
		exportFails(t, e)
	})

	t.Run("batch in flight", func(t *testing.T) {
		e, opts, _, _, uid := setup(t)
		damage(t, e, opts, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketPending).Put(u64(uid), []byte("\x00SKB\x01garbage that is no batch"))
		})
		requireVerifyReports(t, e.cat, "pending[")
		exportFails(t, e)
		ds, err := e.cat.Destinations("Adults")
		require.NoError(t, err)
		require.True(t, ds[0].Pending)
		require.Contains(t, ds[0].LastError, "remove the destination")
	})

	t.Run("export job", func(t *testing.T) {
		e, opts, _, _, _ := setup(t)
		damage(t, e, opts, func(tx *bolt.Tx) error {
			return tx.Bucket(bucketExports).Put(u64(1), []byte(`{"id": 1, "mode": "sideways"}`))
		})
		requireVerifyReports(t, e.cat, "exports[")
		_, err := e.cat.ExportJob(1)
		require.ErrorIs(t, err, ErrCorrupt)
		_, err = e.cat.Exports("Adults", 0)
		require.ErrorIs(t, err, ErrCorrupt)
		// Exports go on.
		ej, err := e.cat.Export(ctx, "Adults", "d")
		require.NoError(t, err)
		require.Equal(t, Successful, ej.Status)
	})
}

// hookDest calls during before the Write of batch at, then writes.
type hookDest struct {
	export.Destination
	at     int
	during func()
}

func (d *hookDest) Open(ctx context.Context, h *export.Header) (export.Writer, error) {
	w, err := d.Destination.Open(ctx, h)
	if err != nil {
		return nil, err
	}
	return &hookWriter{Writer: w, d: d}, nil
}

type hookWriter struct {
	export.Writer
	d *hookDest
	n int
}

func (w *hookWriter) AcknowledgesBatches() {}

func (w *hookWriter) Write(ctx context.Context, b *export.Batch) error {
	if w.n++; w.n == w.d.at && w.d.during != nil {
		w.d.during()
	}
	return w.Writer.Write(ctx, b)
}

// TestDestinationRemovedDuringExport: a destination removed, or its
// segment deleted, while an export to it acknowledges batches leaves
// nothing of it in the file (Verify finds no orphan), and a destination
// added again under the same name starts with nothing sent.
func TestDestinationRemovedDuringExport(t *testing.T) {
	ctx := context.Background()
	for _, what := range []string{"destination", "segment"} {
		t.Run(what, func(t *testing.T) {
			mt := newMemTargets(true)
			var e *env
			hd := &hookDest{at: 2}
			opts := Options{OpenDestination: func(target string) (export.Destination, error) {
				d, err := mt.open(target)
				if err != nil {
					return nil, err
				}
				hd.Destination = d
				return hd, nil
			}}
			e = newEnv(t, opts)
			_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{Active: true})
			require.NoError(t, err)
			hd.during = func() {
				if what == "destination" {
					require.NoError(t, e.cat.RemoveDestination("Adults", "d"))
				} else {
					require.NoError(t, e.cat.Delete("Adults"))
				}
			}
			ej, err := e.cat.ExportTo(ctx, "Adults", DestinationOptions{Name: "d", To: "mem:d", Mode: export.Delta, BatchSize: 2})
			require.NoError(t, err)
			require.Equal(t, Failed, ej.Status)
			require.Contains(t, ej.Errors[0], "removed")
			require.NoError(t, e.cat.Verify())
			if what == "segment" {
				return
			}
			hd.during = nil
			ds, err := e.cat.Destinations("Adults")
			require.NoError(t, err)
			require.Empty(t, ds)
			d, err := e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "d", To: "mem:d", Mode: export.Delta})
			require.NoError(t, err)
			require.Zero(t, d.Sent)
			require.False(t, d.Pending)
			ej, err = e.cat.Export(ctx, "Adults", "d")
			require.NoError(t, err)
			require.Equal(t, Successful, ej.Status)
			require.EqualValues(t, len(memberKeys(t, e, "Adults")), ej.Entered, "every member enters again")
			require.NoError(t, e.cat.Verify())
		})
	}
}

// TestExportToSameTargetSpelledOtherwise: "CSV: f.csv" and "csv:f.csv"
// are one destination, named by its kind in lower case, so that a delta
// to it stays exact.
func TestExportToSameTargetSpelledOtherwise(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{Active: true})
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "adults.csv")
	ej, err := e.cat.ExportTo(ctx, "Adults", DestinationOptions{To: "CSV: " + file, Mode: export.Delta})
	require.NoError(t, err)
	require.Equal(t, Successful, ej.Status, "%v", ej.Errors)
	require.Equal(t, "csv", ej.Destination)
	require.NotZero(t, ej.Entered)
	ej, err = e.cat.ExportTo(ctx, "Adults", DestinationOptions{To: "csv:" + file, Mode: export.Delta})
	require.NoError(t, err)
	require.Equal(t, "csv", ej.Destination)
	require.Zero(t, ej.Entered, "the second delta to the same file sends nothing")
	ds, err := e.cat.Destinations("Adults")
	require.NoError(t, err)
	require.Len(t, ds, 1)
}

// TestExportNeverRefreshed: a segment never refreshed has no members yet,
// which is not an empty segment: its export fails, and the file that was
// at the target stays as it was.
func TestExportNeverRefreshed(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("Fresh", ageOver(21)), CreateOptions{})
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "fresh.csv")
	require.NoError(t, os.WriteFile(file, []byte("CustomerId\nC001\n"), 0o644))
	for _, mode := range []export.Mode{export.Full, export.Delta} {
		ej, err := e.cat.ExportTo(ctx, "Fresh", DestinationOptions{To: "csv:" + file, Mode: mode})
		require.NoError(t, err)
		require.Equal(t, Failed, ej.Status)
		require.Contains(t, ej.Errors[0], "never been refreshed")
		b, err := os.ReadFile(file)
		require.NoError(t, err)
		require.Equal(t, "CustomerId\nC001\n", string(b))
	}
}

// TestDestinationNameMessage: a bad destination name is reported as the
// destination's name, not a segment's.
func TestDestinationNameMessage(t *testing.T) {
	ctx := context.Background()
	mt := newMemTargets(false)
	e := newEnv(t, Options{OpenDestination: mt.open})
	_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{})
	require.NoError(t, err)
	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "a/b", To: "mem:x"})
	require.ErrorIs(t, err, ErrInvalidName)
	require.EqualError(t, err, `destination of "Adults": destination name: name "a/b" has '/' at position 2; use only letters, digits, '_' and '-'`)
}

// TestExportToNamedDestinationElsewhere: ExportTo with the name of a
// destination that exports elsewhere says where it exports.
func TestExportToNamedDestinationElsewhere(t *testing.T) {
	ctx := context.Background()
	mt := newMemTargets(false)
	e := newEnv(t, Options{OpenDestination: mt.open})
	_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "crm", To: "mem:a"})
	require.NoError(t, err)
	_, err = e.cat.ExportTo(ctx, "Adults", DestinationOptions{Name: "crm", To: "mem:b"})
	require.ErrorIs(t, err, ErrExists)
	require.ErrorContains(t, err, `destination "crm" of segment "Adults" already exists: it exports to mem:a, not mem:b`)
	ej, err := e.cat.ExportTo(ctx, "Adults", DestinationOptions{Name: "crm", To: "mem:a"})
	require.NoError(t, err)
	require.Equal(t, "crm", ej.Destination)
}

// hookSource calls before ahead of each Snapshot.
type hookSource struct {
	Source
	before func()
}

func (s *hookSource) Snapshot(ctx context.Context) (*storage.Snapshot, func(), error) {
	if s.before != nil {
		s.before()
	}
	return s.Source.Snapshot(ctx)
}

// TestSegmentRenamedBeforeExportRuns: an export job queued before its
// segment is renamed exports the segment under its new name.
func TestSegmentRenamedBeforeExportRuns(t *testing.T) {
	ctx := context.Background()
	mt := newMemTargets(false)
	e := newEnv(t, Options{OpenDestination: mt.open})
	_, err := e.cat.Create(ctx, def("Adults", ageOver(21)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = e.cat.AddDestination(ctx, "Adults", DestinationOptions{Name: "d", To: "mem:d", Mode: export.Delta, OnDemand: true})
	require.NoError(t, err)
	hs := &hookSource{Source: e.src}
	require.NoError(t, e.cat.Close())
	e.open(t, Options{OpenDestination: mt.open, Source: hs})
	hs.before = func() {
		hs.before = nil
		require.NoError(t, e.cat.Rename("Adults", "Grownups"))
	}
	ej, err := e.cat.Export(ctx, "Adults", "d")
	require.NoError(t, err)
	require.Equal(t, Successful, ej.Status, "%v", ej.Errors)
	require.Equal(t, "Grownups", ej.Segment)
	require.Equal(t, memberKeys(t, e, "Grownups"), mt.applied(t, "d"))
}
