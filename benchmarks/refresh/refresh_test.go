// Package refresh_test times a catalog refresh of the suite's segments
// after 1% more orders: a full load of the data directory and evaluation
// of every segment, against storage.Reload appending the new rows to the
// snapshot held before and the selective refresh that follows.
//
//	cd benchmarks
//	SEGMENTKIT_REFRESH_DATA=/work/data/M go test ./refresh -run '^$' -bench Refresh -benchtime 1x -count 5
//
// The dataset (gen, Parquet) is converted to CSV once, into a temporary
// directory (FORMAT.md allows one file per entity, and only a CSV file
// can grow): SEGMENTKIT_REFRESH_DATA names a generated directory (scale
// M, say); without it scale S is generated into a temporary directory,
// or $SEGMENTKIT_BENCH_DATA/S. Sub-benchmarks alternate with -count, so
// machine noise hits both alike; compare medians.
package refresh_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/benchmarks/gen"
	"github.com/segmentkit/segmentkit/benchmarks/suite"
	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

// swapSource serves the snapshot the benchmark sets.
type swapSource struct {
	mu   sync.Mutex
	snap *storage.Snapshot
}

func (s *swapSource) set(snap *storage.Snapshot) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.snap = snap
}

func (s *swapSource) Schema(context.Context) (*schema.Schema, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap.Schema(), nil
}

func (s *swapSource) Snapshot(context.Context) (*storage.Snapshot, func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snap, func() {}, nil
}

func (s *swapSource) String() string { return "benchmark snapshot" }

// fixture is the CSV data directory with 1% more orders appended, the
// snapshot of it before they were, and a catalog of the suite's segments.
type fixture struct {
	dir      string
	parquet  string // the directory dir was made from
	base     *storage.Snapshot
	src      *swapSource
	cat      *catalog.Catalog
	names    []string
	newRows  int
	allRows  int
	csvBytes int64
}

var (
	fixOnce sync.Once
	fix     *fixture
	fixErr  error
	temps   []string // the directories to remove at the end
)

// TestMain removes the fixture's directories once every test and
// benchmark ran.
func TestMain(m *testing.M) {
	code := m.Run()
	if fix != nil {
		if fix.cat != nil {
			fix.cat.Close()
		}
		if fix.base != nil {
			fix.base.Release()
		}
	}
	for _, d := range temps {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

func setup(b testing.TB) *fixture {
	fixOnce.Do(func() { fix, fixErr = newFixture(b) })
	require.NoError(b, fixErr)
	return fix
}

func newFixture(b testing.TB) (*fixture, error) {
	ctx := context.Background()
	pq := os.Getenv("SEGMENTKIT_REFRESH_DATA")
	if pq == "" {
		sc, err := gen.ScaleByName("S")
		if err != nil {
			return nil, err
		}
		if d := os.Getenv("SEGMENTKIT_BENCH_DATA"); d != "" {
			pq = filepath.Join(d, "S")
		} else {
			tmp, err := os.MkdirTemp("", "segmentkit-refresh-S")
			if err != nil {
				return nil, err
			}
			temps = append(temps, tmp)
			pq = tmp
		}
		if _, err := gen.Generate(ctx, pq, sc); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "segmentkit-refresh-csv")
	if err != nil {
		return nil, err
	}
	temps = append(temps, dir)
	f := &fixture{dir: dir, parquet: pq}
	start := time.Now()
	extra, err := toCSV(ctx, pq, dir, f)
	if err != nil {
		return nil, err
	}
	b.Logf("converted %s to CSV in %s: %d bytes, %d orders, %d more to append", pq, time.Since(start).Round(time.Millisecond), f.csvBytes, f.allRows, f.newRows)
	if f.base, err = storage.Load(ctx, dir, storage.Options{}); err != nil {
		return nil, err
	}
	// The new orders, appended once: every run reloads from base.
	of, err := os.OpenFile(filepath.Join(dir, "Order.csv"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	if _, err := of.Write(extra); err != nil {
		return nil, err
	}
	if err := of.Close(); err != nil {
		return nil, err
	}
	cases, err := suite.Cases(gen.AsOf)
	if err != nil {
		return nil, err
	}
	f.src = &swapSource{snap: f.base}
	if f.cat, err = catalog.Open(filepath.Join(dir, "catalog.db"), catalog.Options{Source: f.src}); err != nil {
		return nil, err
	}
	for _, c := range cases {
		if c.Kind != suite.Members {
			continue
		}
		js, err := json.Marshal(c.Def)
		if err != nil {
			return nil, err
		}
		if _, err := f.cat.Create(ctx, js, catalog.CreateOptions{Active: true, AsOf: gen.AsOf}); err != nil {
			return nil, err
		}
		f.names = append(f.names, c.Name)
	}
	return f, f.check(ctx)
}

// refresh refreshes every segment of the catalog on snap.
func (f *fixture) refresh(ctx context.Context, snap *storage.Snapshot) (*catalog.Job, error) {
	f.src.set(snap)
	job, err := f.cat.RefreshAllWith(ctx, catalog.RefreshOptions{AsOf: gen.AsOf})
	if err != nil {
		return nil, err
	}
	if job.Status != catalog.Successful {
		return nil, fmt.Errorf("job %d: %s: %v %v", job.ID, job.Status, job.Errors, job.Tasks)
	}
	return job, nil
}

// check makes sure the two refreshes give the same members, and that
// Reload appends.
func (f *fixture) check(ctx context.Context) error {
	full, err := storage.Load(ctx, f.dir, storage.Options{})
	if err != nil {
		return err
	}
	defer full.Release()
	if _, err := f.refresh(ctx, full); err != nil {
		return err
	}
	want := map[string]string{}
	for _, n := range f.names {
		bm, err := f.cat.Members(ctx, n)
		if err != nil {
			return err
		}
		want[n] = bm.String()
	}
	grown, job, err := f.appendRefresh(ctx)
	if err != nil {
		return err
	}
	defer grown.Release()
	reused := 0
	for _, t := range job.Tasks {
		if t.Reused {
			reused++
		}
	}
	fmt.Printf("append refresh: %s; %d of %d segments reused\n", grown.LoadInfo(), reused, len(job.Tasks))
	for _, n := range f.names {
		bm, err := f.cat.Members(ctx, n)
		if err != nil {
			return err
		}
		if bm.String() != want[n] {
			return fmt.Errorf("segment %s: members after the append differ from those of a full load", n)
		}
	}
	return nil
}

// appendRefresh refreshes on base (untimed by the caller), then reloads
// the directory from base and refreshes.
func (f *fixture) appendRefresh(ctx context.Context) (*storage.Snapshot, *catalog.Job, error) {
	if _, err := f.refresh(ctx, f.base); err != nil {
		return nil, nil, err
	}
	grown, err := storage.Reload(ctx, f.dir, f.base, storage.Options{NoSnapshotCache: true})
	if err != nil {
		return nil, nil, err
	}
	if m := grown.LoadInfo().Method; m != storage.AppendedRows {
		grown.Release()
		return nil, nil, fmt.Errorf("reload: %s", grown.LoadInfo())
	}
	job, err := f.refresh(ctx, grown)
	if err != nil {
		grown.Release()
		return nil, nil, err
	}
	return grown, job, nil
}

// BenchmarkRefresh: full is a load of the CSV directory and a refresh of
// every suite segment on it; append is storage.Reload from the snapshot
// before the new orders, and the refresh after it, on a catalog whose
// segments were last evaluated on that snapshot; parquet is full on the
// Parquet directory the CSV one was made from (without the new orders),
// for reference. They alternate, SEGMENTKIT_REFRESH_RUNS times (5 by
// default), so run with -count 1 and drop the "#01" suffixes of the
// repetitions' names before benchstat. load-ms/op is the part of the
// time the load (or Reload) took.
func BenchmarkRefresh(b *testing.B) {
	f := setup(b)
	ctx := context.Background()
	runs := 5
	if n, err := strconv.Atoi(os.Getenv("SEGMENTKIT_REFRESH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	full := func(dir string) func(b *testing.B) {
		return func(b *testing.B) {
			var load time.Duration
			for b.Loop() {
				start := time.Now()
				s, err := storage.Load(ctx, dir, storage.Options{})
				load += time.Since(start)
				require.NoError(b, err)
				_, err = f.refresh(ctx, s)
				require.NoError(b, err)
				b.StopTimer()
				f.src.set(f.base)
				s.Release()
				b.StartTimer()
			}
			b.ReportMetric(float64(load.Milliseconds())/float64(b.N), "load-ms/op")
		}
	}
	appendRefresh := func(b *testing.B) {
		var load time.Duration
		for b.Loop() {
			b.StopTimer()
			_, err := f.refresh(ctx, f.base)
			require.NoError(b, err)
			b.StartTimer()
			start := time.Now()
			s, err := storage.Reload(ctx, f.dir, f.base, storage.Options{NoSnapshotCache: true})
			load += time.Since(start)
			require.NoError(b, err)
			require.Equal(b, storage.AppendedRows, s.LoadInfo().Method, s.LoadInfo().String())
			_, err = f.refresh(ctx, s)
			require.NoError(b, err)
			b.StopTimer()
			f.src.set(f.base)
			s.Release()
			b.StartTimer()
		}
		b.ReportMetric(float64(load.Milliseconds())/float64(b.N), "load-ms/op")
	}
	for range runs {
		b.Run("full", full(f.dir))
		b.Run("append", appendRefresh)
		b.Run("parquet", full(f.parquet))
	}
}

// toCSV writes the Parquet data directory pq as a CSV one in dir and
// returns 1% more orders (copies of every hundredth order, with new ids)
// as CSV rows to append.
func toCSV(ctx context.Context, pq, dir string, f *fixture) ([]byte, error) {
	js, err := os.ReadFile(filepath.Join(pq, "schema.json"))
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, "schema.json"), []byte(strings.ReplaceAll(string(js), `.parquet"`, `.csv"`)), 0o644); err != nil {
		return nil, err
	}
	snap, err := storage.Load(ctx, pq, storage.Options{})
	if err != nil {
		return nil, err
	}
	defer snap.Release()
	var extra strings.Builder
	for _, e := range snap.Schema().Entities {
		t := snap.Table(e.Name)
		path := filepath.Join(dir, strings.TrimSuffix(e.File, ".parquet")+".csv")
		out, err := os.Create(path)
		if err != nil {
			return nil, err
		}
		bw := bufio.NewWriterSize(out, 1<<20)
		w := csv.NewWriter(bw)
		rec := make([]string, len(e.Attributes))
		for i, a := range e.Attributes {
			rec[i] = a.Name
		}
		if err := w.Write(rec); err != nil {
			return nil, err
		}
		var xw *csv.Writer
		if e.Name == "Order" {
			xw = csv.NewWriter(&extra)
			f.allRows = t.NumRows
		}
		for r := range t.NumRows {
			for i, c := range t.Columns {
				if rec[i], err = format(c.Data, r); err != nil {
					return nil, err
				}
			}
			if err := w.Write(rec); err != nil {
				return nil, err
			}
			if xw != nil && r%100 == 0 {
				id, _ := strconv.ParseInt(rec[0], 10, 64)
				rec[0] = strconv.FormatInt(id+1<<40, 10)
				if err := xw.Write(rec); err != nil {
					return nil, err
				}
				f.newRows++
			}
		}
		w.Flush()
		if xw != nil {
			xw.Flush()
		}
		if err := w.Error(); err != nil {
			return nil, err
		}
		if err := bw.Flush(); err != nil {
			return nil, err
		}
		if err := out.Close(); err != nil {
			return nil, err
		}
		st, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		f.csvBytes += st.Size()
	}
	return []byte(extra.String()), nil
}

// format writes row r of a column as CSV text, "" for null.
func format(a arrow.Array, r int) (string, error) {
	if a.IsNull(r) {
		return "", nil
	}
	switch a := a.(type) {
	case *array.Int64:
		return strconv.FormatInt(a.Value(r), 10), nil
	case *array.Float64:
		return strconv.FormatFloat(a.Value(r), 'g', -1, 64), nil
	case *array.String:
		return a.Value(r), nil
	case *array.Dictionary:
		if d, ok := a.Dictionary().(*array.String); ok {
			return d.Value(a.GetValueIndex(r)), nil
		}
	case *array.Date32:
		return a.Value(r).ToTime().Format(time.DateOnly), nil
	case *array.Boolean:
		return strconv.FormatBool(a.Value(r)), nil
	}
	return "", fmt.Errorf("no CSV format for %s", a.DataType())
}
