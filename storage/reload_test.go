package storage

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/segmentkit/segmentkit/schema"
)

// appendCSV appends rows to the CSV file of e in dir.
func appendCSV(t require.TestingT, dir string, e *schema.Entity, rs rows) {
	f, err := os.OpenFile(filepath.Join(dir, e.File), os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	var b strings.Builder
	for _, r := range rs {
		b.WriteString(strings.Join(r, ","))
		b.WriteByte('\n')
	}
	_, err = f.WriteString(b.String())
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

// ageFiles sets the modification time of dir's files a minute back, as
// if they were written well before the load (a snapshot file is written
// only then, and a source modified just before a load is checked by
// content).
func ageFiles(t require.TestingT, dir string) {
	old := time.Now().Add(-time.Minute)
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		if !e.IsDir() {
			require.NoError(t, os.Chtimes(filepath.Join(dir, e.Name()), old, old))
		}
	}
}

// TestReloadIdentity is the property of Reload: a data directory loaded,
// then grown at random (rows appended to the CSV files, in two steps),
// reloads by appending the new rows, and holds what a load of the grown
// directory holds. The snapshot appended to is held (Reload), or the
// data directory's snapshot file (LoadCached in a new process); a
// snapshot file may decline rows that link only later
// (ErrAppendNeedsLoad), which is then a full load saying so.
func TestReloadIdentity(t *testing.T) {
	ctx := context.Background()
	sch := mustParseSchema(t, appendSchema)
	root := t.TempDir()
	var appended, declined int
	rapid.Check(t, func(rt *rapid.T) {
		data := genRows(rt)
		parts := split(rt, data)
		mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
		opts := Options{Allocator: mem}
		var snaps []*Snapshot
		defer func() {
			for _, s := range snaps {
				s.Release()
			}
			require.Zero(rt, mem.CurrentAlloc())
		}()
		cached := rapid.Bool().Draw(rt, "cached")
		dir := writeRows(rt, root, sch, parts[0])
		ageFiles(rt, dir)
		load := LoadCached
		if !cached {
			load = Load
		}
		cur, err := load(ctx, dir, opts)
		require.NoError(rt, err)
		snaps = append(snaps, cur)
		for _, part := range parts[1:] {
			want := map[string]int{}
			for i := range sch.Entities {
				e := &sch.Entities[i]
				if len(part[e.Name]) > 0 {
					appendCSV(rt, dir, e, part[e.Name])
					want[e.Name] = len(part[e.Name])
				}
			}
			ageFiles(rt, dir)
			var next *Snapshot
			if cached {
				next, err = LoadCached(ctx, dir, opts)
			} else {
				next, err = Reload(ctx, dir, cur, opts)
			}
			require.NoError(rt, err)
			snaps = append(snaps, next)
			info := next.LoadInfo()
			if info.Method == LoadedFiles && cached && strings.Contains(info.Reason, "whose order in the data file is not kept") {
				declined++
			} else {
				require.Equal(rt, AppendedRows, info.Method, info.String())
				require.Equal(rt, want, info.Appended)
				if len(want) > 0 {
					require.NotEqual(rt, cur.ID(), next.ID())
				}
			}
			cur = next
		}
		full, err := Load(ctx, dir, opts)
		require.NoError(rt, err)
		snaps = append(snaps, full)
		requireSameValues(rt, full, cur)
		appended++
	})
	t.Logf("%d grown directories compared, %d appends declined", appended, declined)
}

// TestReloadFullLoad: every change to a data directory other than rows
// appended to a CSV file is a full load whose LoadInfo says why, and holds
// what Load gives.
func TestReloadFullLoad(t *testing.T) {
	ctx := context.Background()
	sch := mustParseSchema(t, appendSchema)
	order, _ := sch.Entity("Order")
	data := map[string]rows{
		"Customer":  {{"C1", "1", "a"}, {"C2", "", "b"}},
		"Order":     {{"1", "C1", "2.5"}, {"2", "C2", ""}},
		"OrderLine": {{"10", "1", "x"}},
		"Case":      {{"100", "C1", "2"}},
	}
	// Rows as genRows makes them: fit the schema's columns.
	for i := range sch.Entities {
		e := &sch.Entities[i]
		for j, r := range data[e.Name] {
			data[e.Name][j] = append(r, make([]string, len(e.Attributes)-len(r))...)[:len(e.Attributes)]
		}
	}
	cases := []struct {
		name   string
		change func(t *testing.T, dir string)
		reason string
	}{
		{"rewritten", func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(dir, "Order.csv"))
			require.NoError(t, err)
			b = []byte(strings.Replace(string(b), "2.5", "3.5", 1) + "3,C1,1,\n")
			require.NoError(t, os.WriteFile(filepath.Join(dir, "Order.csv"), b, 0o644))
		}, "Order.csv changed in its first"},
		{"shrunk", func(t *testing.T, dir string) {
			b, err := os.ReadFile(filepath.Join(dir, "Order.csv"))
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "Order.csv"), b[:strings.LastIndexByte(string(b[:len(b)-1]), '\n')+1], 0o644))
		}, "Order.csv shrank"},
		{"schema", func(t *testing.T, dir string) {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(appendSchema+"\n"), 0o644))
		}, "schema.json changed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer func() { require.Zero(t, mem.CurrentAlloc()) }()
			dir := writeRows(t, t.TempDir(), sch, data)
			opts := Options{Allocator: mem, NoSnapshotCache: true}
			old, err := Load(ctx, dir, opts)
			require.NoError(t, err)
			defer old.Release()
			c.change(t, dir)
			s, err := Reload(ctx, dir, old, opts)
			require.NoError(t, err)
			defer s.Release()
			info := s.LoadInfo()
			require.Equal(t, LoadedFiles, info.Method)
			require.Contains(t, info.Reason, c.reason)
			require.Contains(t, info.String(), "full load: "+c.reason)
			full, err := Load(ctx, dir, opts)
			require.NoError(t, err)
			defer full.Release()
			requireSameValues(t, full, s)
		})
	}

	t.Run("grown after no line break", func(t *testing.T) {
		dir := writeRows(t, t.TempDir(), sch, data)
		path := filepath.Join(dir, order.File)
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path, b[:len(b)-1], 0o644))
		old, err := Load(ctx, dir, Options{NoSnapshotCache: true})
		require.NoError(t, err)
		defer old.Release()
		require.NoError(t, os.WriteFile(path, append(b, "3,C1,1,\n"...), 0o644))
		s, err := Reload(ctx, dir, old, Options{NoSnapshotCache: true})
		require.NoError(t, err)
		defer s.Release()
		require.Equal(t, LoadedFiles, s.LoadInfo().Method)
		require.Contains(t, s.LoadInfo().Reason, "Order.csv grew, but its old last line did not end with a line break")
	})

	t.Run("in memory", func(t *testing.T) {
		dir := writeRows(t, t.TempDir(), sch, data)
		recs := recordsOf(t, memory.DefaultAllocator, sch, data, true)
		defer releaseRecords(recs)
		old, err := FromRecords(ctx, sch, recs, Options{})
		require.NoError(t, err)
		defer old.Release()
		s, err := Reload(ctx, dir, old, Options{NoSnapshotCache: true})
		require.NoError(t, err)
		defer s.Release()
		require.Equal(t, LoadedFiles, s.LoadInfo().Method)
		require.Equal(t, errNoSources.Error(), s.LoadInfo().Reason)
	})

	t.Run("bad new rows", func(t *testing.T) {
		dir := writeRows(t, t.TempDir(), sch, data)
		old, err := Load(ctx, dir, Options{NoSnapshotCache: true})
		require.NoError(t, err)
		defer old.Release()
		appendCSV(t, dir, order, rows{{"3", "C1", "1", ""}, {"x", "C1", "1", ""}})
		_, err = Reload(ctx, dir, old, Options{NoSnapshotCache: true})
		// The full load's message, with the real line.
		require.ErrorIs(t, err, ErrData)
		require.Contains(t, err.Error(), "Order.csv:5")
	})
}
