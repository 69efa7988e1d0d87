package export_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/storage"
)

// fileFields exports every customer attribute and both measures, with the
// e-mail hashed.
var fileFields = export.Fields{
	Names: []string{"Email", "Age", "Score", "Birthday", "SignedUp", "VIP", "Measures.Spend", "Measures.LastChannel"},
	Hash:  []string{"Email"},
}

// tableFormat is a file format with one row per customer, and its reader:
// the rows read back as column name to text (Header.Text of the typed
// value read back; null absent), after checking the file's columns against
// want.
type tableFormat struct {
	name string
	dest func(path string) export.Destination
	read func(t *testing.T, path string, want *arrow.Schema, mem memory.Allocator) []map[string]string
	// untyped: the format cannot tell null from an empty string.
	untyped bool
}

var tableFormats = []tableFormat{
	{name: "csv", dest: export.NewCSV, read: readCSV, untyped: true},
	{name: "jsonl", dest: export.NewJSONL, read: readJSONL},
	{name: "parquet", dest: export.NewParquet, read: readParquet},
	{name: "arrow", dest: export.NewArrow, read: readArrow},
}

func readCSV(t *testing.T, path string, want *arrow.Schema, _ memory.Allocator) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	return csvRows(t, f, want)
}

func csvRows(t *testing.T, r io.Reader, want *arrow.Schema) []map[string]string {
	t.Helper()
	recs, err := csv.NewReader(r).ReadAll()
	require.NoError(t, err)
	require.NotEmpty(t, recs, "a CSV export has a header row")
	require.Equal(t, schemaNames(want), recs[0])
	rows := []map[string]string{}
	for _, rec := range recs[1:] {
		m := map[string]string{}
		for i, v := range rec {
			if v != "" {
				m[recs[0][i]] = v
			}
		}
		rows = append(rows, m)
	}
	return rows
}

func readJSONL(t *testing.T, path string, want *arrow.Schema, _ memory.Allocator) []map[string]string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return jsonlRows(t, data, want)
}

func jsonlRows(t *testing.T, data []byte, want *arrow.Schema) []map[string]string {
	t.Helper()
	rows := []map[string]string{}
	if len(data) == 0 {
		return rows
	}
	require.True(t, bytes.HasSuffix(data, []byte("\n")), "every line ends")
	for line := range strings.SplitSeq(strings.TrimSuffix(string(data), "\n"), "\n") {
		d := json.NewDecoder(strings.NewReader(line))
		d.UseNumber()
		var obj map[string]any
		require.NoError(t, d.Decode(&obj), "line %q", line)
		require.ElementsMatch(t, schemaNames(want), slices.Collect(mapKeys(obj)))
		m := map[string]string{}
		for k, v := range obj {
			switch v := v.(type) {
			case nil:
			case string:
				m[k] = v
			case json.Number:
				m[k] = v.String()
			case bool:
				m[k] = strconv.FormatBool(v)
			default:
				t.Fatalf("column %s: unexpected JSON value %v", k, v)
			}
		}
		rows = append(rows, m)
	}
	return rows
}

func readParquet(t *testing.T, path string, want *arrow.Schema, mem memory.Allocator) []map[string]string {
	t.Helper()
	f, err := file.OpenParquetFile(path, false, file.WithReadProps(parquet.NewReaderProperties(mem)))
	require.NoError(t, err)
	defer f.Close()
	fr, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{BatchSize: 50}, mem)
	require.NoError(t, err)
	sch, err := fr.Schema()
	require.NoError(t, err)
	requireSchema(t, want, sch)
	rr, err := fr.GetRecordReader(context.Background(), nil, nil)
	require.NoError(t, err)
	defer rr.Release()
	rows := []map[string]string{}
	for rr.Next() {
		rows = append(rows, recordRows(rr.RecordBatch())...)
	}
	require.NoError(t, rr.Err())
	return rows
}

func readArrow(t *testing.T, path string, want *arrow.Schema, mem memory.Allocator) []map[string]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	r, err := ipc.NewFileReader(f, ipc.WithAllocator(mem))
	require.NoError(t, err)
	defer r.Close()
	requireSchema(t, want, r.Schema())
	rows := []map[string]string{}
	for i := range r.NumRecords() {
		rec, err := r.RecordBatch(i)
		require.NoError(t, err)
		rows = append(rows, recordRows(rec)...)
	}
	return rows
}

// requireSchema checks that a file's columns have the names and the Arrow
// types of the export's schema (storage.ArrowType of each field).
func requireSchema(t *testing.T, want, got *arrow.Schema) {
	t.Helper()
	require.Equal(t, schemaNames(want), schemaNames(got))
	for i, f := range want.Fields() {
		require.True(t, arrow.TypeEqual(f.Type, got.Field(i).Type), "column %s: %s, want %s", f.Name, got.Field(i).Type, f.Type)
	}
}

// recordRows returns the rows of rec in their text form.
func recordRows(rec arrow.RecordBatch) []map[string]string {
	h := &export.Header{Schema: rec.Schema()}
	var rows []map[string]string
	for row := range int(rec.NumRows()) {
		m := map[string]string{}
		for col, f := range rec.Schema().Fields() {
			if s, ok := h.Text(rec, col, row); ok {
				m[f.Name] = s
			}
		}
		rows = append(rows, m)
	}
	return rows
}

func schemaNames(s *arrow.Schema) []string {
	var out []string
	for _, f := range s.Fields() {
		out = append(out, f.Name)
	}
	return out
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// expectedRows returns the rows an export of the set carries, in Run's
// order, with the values Plan.Text gives; dropEmpty drops empty values as
// a CSV reader cannot tell them from null.
func expectedRows(p *export.Plan, set export.Set, dropEmpty bool) []map[string]string {
	snap := p.Snapshot()
	cols := p.Columns()
	rows := []map[string]string{}
	add := func(change string, id uint32, key string) {
		m := map[string]string{p.KeyColumn(): key}
		if set.Mode == export.Delta {
			m[export.ChangeColumn] = change
		}
		if change != "left" {
			for i, c := range cols {
				if s, ok := p.Text(i, id); ok && (s != "" || !dropEmpty) {
					m[c.Name] = s
				}
			}
		}
		rows = append(rows, m)
	}
	if set.Mode == export.Full {
		for id := range roaring.Values(set.Members) {
			add("member", id, snap.CustomerKey(id))
		}
		return rows
	}
	for id := range roaring.Values(roaring.Or(set.Entered, set.Changed)) {
		c := "changed"
		if set.Entered.Contains(id) {
			c = "entered"
		}
		add(c, id, snap.CustomerKey(id))
	}
	for id := range roaring.Values(set.Left) {
		add("left", id, snap.CustomerKey(id))
	}
	for _, k := range set.Gone {
		add("left", 0, k)
	}
	return rows
}

// requireHashedEmails checks the e-mail column of upsert rows against a
// reference SHA-256 of the trimmed, lower-cased e-mail of the data.
func requireHashedEmails(t *testing.T, snap *storage.Snapshot, rows []map[string]string) {
	t.Helper()
	email := snap.Customers().Column("Email")
	checked, upserts := 0, 0
	for _, r := range rows {
		if r[export.ChangeColumn] == "left" {
			continue
		}
		upserts++
		id, ok := snap.CustomerID(r["CustomerId"])
		require.True(t, ok)
		if email.Data.IsNull(int(id)) {
			require.NotContains(t, r, "Email")
			continue
		}
		sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(email.Format(int(id))))))
		require.Equal(t, hex.EncodeToString(sum[:]), r["Email"], "customer %s", r["CustomerId"])
		checked++
	}
	if upserts > 20 {
		require.NotZero(t, checked, "some e-mails were checked")
	}
}

// roaringFiles is what a roaring export wrote.
type roaringFiles struct {
	ids     []uint32
	keys    []string
	left    []string
	hasLeft bool
}

func readRoaring(t *testing.T, path string) roaringFiles {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	bm := roaring.New()
	_, err = bm.ReadFrom(f)
	require.NoError(t, err)
	out := roaringFiles{ids: bm.ToArray(), keys: readLines(t, path+export.RoaringKeysSuffix)}
	if _, err := os.Stat(path + export.RoaringLeftSuffix); err == nil {
		out.hasLeft = true
		out.left = readLines(t, path+export.RoaringLeftSuffix)
	}
	return out
}

func readLines(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	lines := []string{}
	s := bufio.NewScanner(f)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	require.NoError(t, s.Err())
	return lines
}

// requireRoaring checks a roaring export of the set: the ids, the key of
// each on its line, and the keys of the customers who left.
func requireRoaring(t *testing.T, snap *storage.Snapshot, set export.Set, got roaringFiles) {
	t.Helper()
	want := set.Members
	if set.Mode == export.Delta {
		want = roaring.Or(set.Entered, set.Changed)
	}
	require.Equal(t, want.ToArray(), nonNil(got.ids))
	require.Len(t, got.keys, len(got.ids))
	for i, id := range got.ids {
		require.Equal(t, snap.CustomerKey(id), got.keys[i], "line %d", i+1)
	}
	if set.Mode == export.Full {
		require.False(t, got.hasLeft, "a full export writes no .left")
		return
	}
	require.True(t, got.hasLeft)
	left := []string{}
	for id := range roaring.Values(set.Left) {
		left = append(left, snap.CustomerKey(id))
	}
	left = append(left, set.Gone...)
	require.Equal(t, left, got.left)
}

func nonNil(ids []uint32) []uint32 {
	if ids == nil {
		return []uint32{}
	}
	return ids
}

func fileSize(t *testing.T, paths ...string) int64 {
	t.Helper()
	var n int64
	for _, p := range paths {
		st, err := os.Stat(p)
		require.NoError(t, err)
		n += st.Size()
	}
	return n
}

// testDelta returns a delta to members from a made-up previous export:
// about a third of the customers, a third of them with other field values,
// and two customers gone from the data.
func testDelta(t *testing.T, p *export.Plan, members *roaring.Bitmap) export.Set {
	t.Helper()
	snap := p.Snapshot()
	sent := export.SentMap{"GONE-1": 5, "GONE-2": 6}
	i := 0
	for id := range roaring.Values(someMembers(snap, 99)) {
		h := p.Hash(id)
		if i%3 == 0 {
			h++
		}
		sent[snap.CustomerKey(id)] = h
		i++
	}
	set, err := export.Diff(context.Background(), p, sent, members, true)
	require.NoError(t, err)
	return set
}

func TestFileExportsReadBack(t *testing.T) {
	ctx := context.Background()
	snap := testSnapshot(t, 300, 21)
	some := someMembers(snap, 22)
	type setCase struct {
		name string
		set  func(p *export.Plan) export.Set
	}
	var sets []setCase
	for _, m := range []struct {
		name    string
		members *roaring.Bitmap
	}{{"some", some}, {"none", roaring.New()}} {
		sets = append(sets,
			setCase{"full-" + m.name, func(*export.Plan) export.Set { return export.FullSet(m.members) }},
			setCase{"delta-" + m.name, func(p *export.Plan) export.Set { return testDelta(t, p, m.members) }})
	}
	sets = append(sets, setCase{"delta-empty", func(p *export.Plan) export.Set {
		set, err := export.Diff(ctx, p, export.SentMap{}, roaring.New(), true)
		require.NoError(t, err)
		return set
	}})
	p, err := export.NewPlan(ctx, snap, fileFields, time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), some)
	require.NoError(t, err)
	delta := testDelta(t, p, some)
	require.NotZero(t, delta.Entered.GetCardinality())
	require.NotZero(t, delta.Changed.GetCardinality())
	require.NotZero(t, delta.Left.GetCardinality())
	require.Len(t, delta.Gone, 2)

	for _, sc := range sets {
		set := sc.set(p)
		for _, size := range []int{1, 7, 1000} {
			run := func(t *testing.T, dest func(string) export.Destination, name string) (string, export.Stats, *export.Header) {
				mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
				t.Cleanup(func() { mem.AssertSize(t, 0) })
				path := filepath.Join(t.TempDir(), name)
				d := export.WithFileAllocator(dest(path), mem)
				require.Equal(t, strings.TrimPrefix(filepath.Ext(name), ".")+":"+path, d.String())
				st, err := export.Run(ctx, d, p, set, export.RunOptions{BatchSize: size, Allocator: mem})
				require.NoError(t, err)
				require.EqualValues(t, set.Len(), st.Rows)
				require.EqualValues(t, (set.Len()+uint64(size)-1)/uint64(size), st.Batches)
				require.Equal(t, st.Batches, st.Tries)
				return path, st, p.Header("", set.Mode, "")
			}
			for _, f := range tableFormats {
				t.Run(fmt.Sprintf("%s/%s/batch_%d", f.name, sc.name, size), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					path, st, h := run(t, f.dest, "out."+f.name)
					require.Equal(t, fileSize(t, path), st.Bytes)
					rows := f.read(t, path, h.Schema, mem)
					require.Equal(t, expectedRows(p, set, f.untyped), rows)
					requireHashedEmails(t, snap, rows)
				})
			}
			t.Run(fmt.Sprintf("roaring/%s/batch_%d", sc.name, size), func(t *testing.T) {
				path, st, _ := run(t, export.NewRoaring, "out.roaring")
				paths := []string{path, path + export.RoaringKeysSuffix}
				if set.Mode == export.Delta {
					paths = append(paths, path+export.RoaringLeftSuffix)
				}
				require.Equal(t, fileSize(t, paths...), st.Bytes)
				requireRoaring(t, snap, set, readRoaring(t, path))
			})
		}
	}
}

// TestFileDeltaRoundTrip: a series of delta exports over changing data,
// each read back from its file and applied in order to a set, reproduces
// the members after each export.
func TestFileDeltaRoundTrip(t *testing.T) {
	ctx := context.Background()
	type round struct {
		snap    *storage.Snapshot
		members *roaring.Bitmap
	}
	var rounds []round
	for r := range 6 {
		snap := testSnapshot(t, 100+r*17, uint64(r))
		rounds = append(rounds, round{snap, someMembers(snap, uint64(r*31))})
	}
	asOf := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	for _, f := range append(slices.Clone(tableFormats), tableFormat{name: "roaring", dest: export.NewRoaring}) {
		t.Run(f.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			path := filepath.Join(t.TempDir(), "delta."+f.name)
			sent := export.SentMap{}
			applied := map[string]bool{}
			changed := 0
			for i, r := range rounds {
				p, err := export.NewPlan(ctx, r.snap, export.Fields{Names: []string{"Age", "Measures.Spend"}}, asOf, r.members)
				require.NoError(t, err)
				set, err := export.Diff(ctx, p, sent, r.members, true)
				require.NoError(t, err)
				changed += int(set.Changed.GetCardinality())
				_, err = export.Run(ctx, export.WithFileAllocator(f.dest(path), mem), p, set, export.RunOptions{BatchSize: 9, Allocator: mem})
				require.NoError(t, err)
				// Apply the file, and note what the destination now holds.
				if f.read == nil {
					got := readRoaring(t, path)
					requireRoaring(t, r.snap, set, got)
					for _, k := range got.keys {
						applied[k] = true
						id, ok := r.snap.CustomerID(k)
						require.True(t, ok, "key %s is in the data", k)
						sent[k] = p.Hash(id)
					}
					for _, k := range got.left {
						require.True(t, applied[k], "left without being in: %s", k)
						delete(applied, k)
						delete(sent, k)
					}
				} else {
					rows := f.read(t, path, p.Header("", export.Delta, "").Schema, mem)
					require.Equal(t, expectedRows(p, set, f.untyped), rows, "round %d", i)
					applyDelta(t, applied, rows)
					for _, row := range rows {
						k := row["CustomerId"]
						if row["change"] == "left" {
							delete(sent, k)
							continue
						}
						id, ok := r.snap.CustomerID(k)
						require.True(t, ok)
						sent[k] = p.Hash(id)
					}
				}
				require.Equal(t, keysOf(r.snap, r.members), applied, "round %d", i)
			}
			require.NotZero(t, changed, "the rounds had changed rows")
		})
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

func TestFileAbortLeavesOldFile(t *testing.T) {
	snap := testSnapshot(t, 200, 31)
	members := someMembers(snap, 32)
	p, err := export.NewPlan(context.Background(), snap, fileFields, time.Now(), members)
	require.NoError(t, err)
	dests := map[string]func(string) export.Destination{"roaring": export.NewRoaring}
	for _, f := range tableFormats {
		dests[f.name] = f.dest
	}
	for name, dest := range dests {
		for _, how := range []string{"error", "cancel"} {
			for _, old := range []bool{true, false} {
				t.Run(fmt.Sprintf("%s/%s/old_%t", name, how, old), func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					dir := t.TempDir()
					path := filepath.Join(dir, "out")
					var before []string
					if old {
						require.NoError(t, os.WriteFile(path, []byte("old"), 0o600))
						require.NoError(t, os.WriteFile(path+export.RoaringKeysSuffix, []byte("old keys"), 0o600))
						before = dirNames(t, dir)
					}
					ctx, cancel := context.WithCancel(context.Background())
					defer cancel()
					d := &faultDest{Destination: export.WithFileAllocator(dest(path), mem), failAt: 3}
					if how == "cancel" {
						d.cancel = cancel
					}
					st, err := export.Run(ctx, d, p, export.FullSet(members), export.RunOptions{BatchSize: 10, Allocator: mem})
					if how == "cancel" {
						require.ErrorIs(t, err, context.Canceled)
					} else {
						require.ErrorIs(t, err, errInjected)
					}
					require.EqualValues(t, 2, st.Batches, "two batches were written before the failure")
					require.Equal(t, before, dirNames(t, dir), "no file and no temporary file is left")
					if old {
						data, err := os.ReadFile(path)
						require.NoError(t, err)
						require.Equal(t, "old", string(data))
					}
				})
			}
		}
	}
}

// TestRoaringFailedCommit: when a file beside the bitmap cannot be moved
// into place, the bitmap is not either, and no temporary file stays.
func TestRoaringFailedCommit(t *testing.T) {
	snap := testSnapshot(t, 50, 33)
	members := someMembers(snap, 34)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{}, time.Now(), members)
	require.NoError(t, err)
	dir := t.TempDir()
	path := filepath.Join(dir, "m.roaring")
	require.NoError(t, os.WriteFile(path, []byte("old"), 0o644))
	require.NoError(t, os.Mkdir(path+export.RoaringKeysSuffix, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(path+export.RoaringKeysSuffix, "x"), nil, 0o644))
	before := dirNames(t, dir)
	_, err = export.Run(context.Background(), export.NewRoaring(path), p, export.FullSet(members), export.RunOptions{})
	require.ErrorIs(t, err, export.ErrDelivery)
	require.ErrorContains(t, err, path)
	require.Equal(t, before, dirNames(t, dir))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "old", string(data))
}

func TestRoaringFullRemovesStaleLeft(t *testing.T) {
	ctx := context.Background()
	snap := testSnapshot(t, 80, 35)
	members := someMembers(snap, 36)
	p, err := export.NewPlan(ctx, snap, export.Fields{}, time.Now(), members)
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "m.roaring")
	_, err = export.Run(ctx, export.NewRoaring(path), p, testDelta(t, p, members), export.RunOptions{})
	require.NoError(t, err)
	require.FileExists(t, path+export.RoaringLeftSuffix)
	_, err = export.Run(ctx, export.NewRoaring(path), p, export.FullSet(members), export.RunOptions{})
	require.NoError(t, err)
	requireRoaring(t, snap, export.FullSet(members), readRoaring(t, path))
}

func TestRoaringRejectsBadRows(t *testing.T) {
	ctx := context.Background()
	snap := testSnapshot(t, 10, 37)
	p, err := export.NewPlan(ctx, snap, export.Fields{}, time.Now(), roaring.New())
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "m.roaring")
	for name, rows := range map[string][]export.Row{
		"line break": {{Change: export.Member, ID: 1, Key: "a\nb"}},
		"id order":   {{Change: export.Member, ID: 4, Key: "x"}, {Change: export.Member, ID: 2, Key: "y"}},
		"left":       {{Change: export.Left, Key: "z"}},
	} {
		w, err := export.NewRoaring(path).Open(ctx, p.Header("s", export.Full, "id"))
		require.NoError(t, err)
		err = w.Write(ctx, &export.Batch{Seq: 1, Rows: rows})
		require.ErrorIs(t, err, export.ErrDelivery, name)
		require.NoError(t, w.Abort())
		require.NoFileExists(t, path)
	}
}

func TestFileWriterLifecycle(t *testing.T) {
	ctx := context.Background()
	snap := testSnapshot(t, 10, 38)
	p, err := export.NewPlan(ctx, snap, export.Fields{}, time.Now(), roaring.New())
	require.NoError(t, err)
	h := p.Header("s", export.Full, "id")
	dir := t.TempDir()
	path := filepath.Join(dir, "m.csv")

	// Aborted before any write: nothing stays; a second Abort is fine.
	w, err := export.NewCSV(path).Open(ctx, h)
	require.NoError(t, err)
	require.Len(t, dirNames(t, dir), 1, "the temporary file is there while the export runs")
	require.NoError(t, w.Abort())
	require.NoError(t, w.Abort())
	require.Empty(t, dirNames(t, dir))

	// Committed: Abort after it keeps the file.
	w, err = export.NewCSV(path).Open(ctx, h)
	require.NoError(t, err)
	require.NoError(t, w.Commit(ctx))
	require.NoError(t, w.Abort())
	require.NoError(t, w.Abort())
	require.Equal(t, []string{"m.csv"}, dirNames(t, dir))
	st, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o644), st.Mode().Perm(), "a new file is readable by others")
	require.Equal(t, st.Size(), w.Stats().Bytes)
	require.ErrorIs(t, w.Write(ctx, &export.Batch{}), export.ErrDelivery)
	require.ErrorIs(t, w.Commit(ctx), export.ErrDelivery)

	// A replaced file keeps its permissions.
	require.NoError(t, os.Chmod(path, 0o600))
	_, err = export.Run(ctx, export.NewCSV(path), p, export.FullSet(roaring.New()), export.RunOptions{})
	require.NoError(t, err)
	st, err = os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, os.FileMode(0o600), st.Mode().Perm())
}

func TestFileOpenChecks(t *testing.T) {
	ctx := context.Background()
	snap := testSnapshot(t, 10, 39)
	p, err := export.NewPlan(ctx, snap, export.Fields{}, time.Now(), roaring.New())
	require.NoError(t, err)
	h := p.Header("s", export.Full, "id")
	dir := t.TempDir()
	plain := filepath.Join(dir, "plain")
	require.NoError(t, os.WriteFile(plain, nil, 0o644))
	for _, c := range []struct{ path, msg string }{
		{filepath.Join(dir, "missing", "m.csv"), "does not exist"},
		{filepath.Join(plain, "m.csv"), "is not a folder"},
		{dir, "is a folder"},
	} {
		_, err := export.NewCSV(c.path).Open(ctx, h)
		require.ErrorIs(t, err, export.ErrDelivery, c.path)
		require.ErrorContains(t, err, c.path)
		require.ErrorContains(t, err, c.msg)
	}
	for _, d := range []export.Destination{export.NewParquet("-"), export.NewArrow("-"), export.NewRoaring("-"), export.NewCSV("")} {
		_, err := d.Open(ctx, h)
		require.ErrorIs(t, err, export.ErrDestination, d.String())
	}
	require.Equal(t, []string{"plain"}, dirNames(t, dir))
}

func TestFileStandardOutput(t *testing.T) {
	ctx := context.Background()
	snap := testSnapshot(t, 60, 40)
	members := someMembers(snap, 41)
	p, err := export.NewPlan(ctx, snap, fileFields, time.Now(), members)
	require.NoError(t, err)
	set := export.FullSet(members)
	want := p.Header("", export.Full, "").Schema

	var buf bytes.Buffer
	d := export.NewCSVTo(&buf, "-")
	require.Equal(t, "csv:-", d.String())
	st, err := export.Run(ctx, d, p, set, export.RunOptions{BatchSize: 8})
	require.NoError(t, err)
	require.EqualValues(t, buf.Len(), st.Bytes)
	require.Equal(t, expectedRows(p, set, true), csvRows(t, &buf, want))

	buf.Reset()
	d = export.NewJSONLTo(&buf, "-")
	require.Equal(t, "jsonl:-", d.String())
	_, err = export.Run(ctx, d, p, set, export.RunOptions{BatchSize: 8})
	require.NoError(t, err)
	require.Equal(t, expectedRows(p, set, false), jsonlRows(t, buf.Bytes(), want))

	// A failed stream export cannot be taken back; Abort says nothing.
	buf.Reset()
	_, err = export.Run(ctx, &faultDest{Destination: export.NewJSONLTo(&buf, "-"), failAt: 2}, p, set, export.RunOptions{BatchSize: 8})
	require.ErrorIs(t, err, errInjected)
	require.NotErrorIs(t, err, export.ErrDelivery, "the abort adds no error")

	// "-" is the process's standard output.
	for _, f := range []struct {
		dest func(string) export.Destination
		rows func([]byte) []map[string]string
		csv  bool
	}{
		{export.NewCSV, func(b []byte) []map[string]string { return csvRows(t, bytes.NewReader(b), want) }, true},
		{export.NewJSONL, func(b []byte) []map[string]string { return jsonlRows(t, b, want) }, false},
	} {
		out, err := os.CreateTemp(t.TempDir(), "stdout")
		require.NoError(t, err)
		saved := os.Stdout
		os.Stdout = out
		_, err = export.Run(ctx, f.dest("-"), p, set, export.RunOptions{})
		os.Stdout = saved
		require.NoError(t, err)
		require.NoError(t, out.Close())
		data, err := os.ReadFile(out.Name())
		require.NoError(t, err)
		require.Equal(t, expectedRows(p, set, f.csv), f.rows(data))
	}
}
