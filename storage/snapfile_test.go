package storage

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/fuzzedit"
)

// requireSameSnapshot checks that got holds what want holds: the schema,
// every value of every table with its Arrow type and null count, the key
// mapping, the links along every path and the link reports.
func requireSameSnapshot(t *testing.T, want, got *Snapshot) {
	t.Helper()
	wantSchema, err := json.Marshal(want.Schema())
	require.NoError(t, err)
	gotSchema, err := json.Marshal(got.Schema())
	require.NoError(t, err)
	require.JSONEq(t, string(wantSchema), string(gotSchema))
	require.Len(t, got.Schema().Measures, len(want.Schema().Measures))
	for i, m := range want.Schema().Measures {
		require.Equal(t, string(m), string(got.Schema().Measures[i]), "measure %d kept as written", i)
	}
	require.Equal(t, want.NumCustomers(), got.NumCustomers())
	require.Equal(t, want.MemoryBytes(), got.MemoryBytes())
	require.Equal(t, want.LinkReports(), got.LinkReports())
	for _, e := range want.Schema().Entities {
		wt, gt := want.Table(e.Name), got.Table(e.Name)
		require.NotNil(t, gt, e.Name)
		require.Equal(t, wt.NumRows, gt.NumRows, e.Name)
		for i, c := range wt.Columns {
			g := gt.Columns[i]
			require.Equal(t, c.Attr, g.Attr)
			require.True(t, arrow.TypeEqual(c.Data.DataType(), g.Data.DataType()), "%s.%s: %s, want %s", e.Name, c.Attr.Name, g.Data.DataType(), c.Data.DataType())
			require.Equal(t, c.Data.NullN(), g.Data.NullN(), "%s.%s nulls", e.Name, c.Attr.Name)
			require.Equal(t, 0, g.Data.Data().Offset())
			require.True(t, array.Equal(c.Data, g.Data), "%s.%s values", e.Name, c.Attr.Name)
		}
		require.Equal(t, formatAll(wt), formatAll(gt), e.Name)
		for _, p := range want.Schema().Paths(e.Name) {
			wl, gl := want.Links(e.Name, p), got.Links(e.Name, p)
			require.NotNil(t, gl, "%s along %s", e.Name, p)
			require.Equal(t, wl.Path, gl.Path)
			require.Equal(t, wl.Customer, gl.Customer, "%s along %s", e.Name, p)
			require.Equal(t, wl.Broken, gl.Broken)
			require.Equal(t, wl.Sorted, gl.Sorted)
			require.Equal(t, wl.FileOrder(), gl.FileOrder())
			require.Equal(t, wl.Starts(), gl.Starts())
			wo, wr := wl.Grouped()
			go_, gr := gl.Grouped()
			require.Equal(t, wo, go_)
			require.Equal(t, wr, gr)
		}
	}
	for id := range want.NumCustomers() {
		key := want.CustomerKey(uint32(id))
		require.Equal(t, key, got.CustomerKey(uint32(id)))
		gid, ok := got.CustomerID(key)
		require.True(t, ok, "customer %q", key)
		require.Equal(t, uint32(id), gid)
	}
	_, ok := got.CustomerID("no such customer")
	require.False(t, ok)
}

// reopen saves snap to a new file and opens it.
func reopen(t *testing.T, snap *Snapshot) (*Snapshot, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "snapshot")
	require.NoError(t, Save(t.Context(), snap, path))
	got, err := Open(t.Context(), path, Options{})
	require.NoError(t, err)
	require.NoError(t, got.Verify(t.Context()))
	require.Equal(t, path, got.File())
	return got, path
}

func TestSnapshotFileRoundTrip(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dirs := map[string]string{"shop": writeDir(t, shopSchema, shopFiles())}
	cases, err := filepath.Glob(filepath.Join("..", "conformance", "testdata", "*", "schema.json"))
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		dirs[filepath.Base(filepath.Dir(c))] = filepath.Dir(c)
	}
	for name, dir := range dirs {
		t.Run(name, func(t *testing.T) {
			snap, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.NoError(t, err)
			defer snap.Release()
			got, _ := reopen(t, snap)
			defer got.Release()
			requireSameSnapshot(t, snap, got)
			// Opening allocates nothing: the snapshot's Arrow memory is
			// the original's alone.
			before := mem.CurrentAlloc()
			again, err := Open(t.Context(), got.File(), Options{Allocator: mem})
			require.NoError(t, err)
			require.Equal(t, before, mem.CurrentAlloc())
			again.Release()
		})
	}
}

// TestSnapshotFileOfArrowData: columns shared from the caller's Arrow data,
// sliced at any offset (a bit offset within a byte too), with plain and
// dictionary strings, are saved whole; a snapshot of an opened one too.
func TestSnapshotFileOfArrowData(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	dict := fromJSON(t, mem, arrow.BinaryTypes.String, `["x", "y", "zz"]`)
	codes := fromJSON(t, mem, arrow.PrimitiveTypes.Int32, `[1, 0, null, 2, 2, 0, 1, null, 0, 1, 2]`)
	cols := []arrow.Array{
		fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]`),
		fromJSON(t, mem, arrow.PrimitiveTypes.Int64, `[null, 7, -7, 1, 2, null, 3, 4, 5, 6, null]`),
		fromJSON(t, mem, arrow.PrimitiveTypes.Float64, `[1.5, null, -2, 0, 1, 2, 3, 4, 5, 6, 7]`),
		array.NewDictionaryArray(stringDictType, codes, dict),
		fromJSON(t, mem, arrow.FixedWidthTypes.Date32, `[0, null, 19782, 1, 2, 3, 4, 5, 6, 7, 8]`),
		fromJSON(t, mem, timestampType, `[0, 1500000, null, 1, 2, 3, 4, 5, 6, 7, 8]`),
		fromJSON(t, mem, arrow.FixedWidthTypes.Boolean, `[true, null, false, true, true, false, null, true, false, true, true]`),
	}
	dict.Release()
	codes.Release()
	rec := recordOf([]string{"Id", "I", "N", "S", "D", "T", "B"}, cols)
	releaseArrays(cols)
	defer rec.Release()
	sch := mustParseSchema(t, typesSchema)
	for _, off := range []int64{0, 1, 3, 8, 9, 11} {
		t.Run(fmt.Sprintf("offset=%d", off), func(t *testing.T) {
			part := rec.NewSlice(off, rec.NumRows())
			defer part.Release()
			snap, err := FromRecords(t.Context(), sch, map[string]arrow.RecordBatch{"Customer": part}, Options{Allocator: mem})
			require.NoError(t, err)
			defer snap.Release()
			got, _ := reopen(t, snap)
			defer got.Release()
			requireSameSnapshot(t, snap, got)
			twice, _ := reopen(t, got)
			defer twice.Release()
			requireSameSnapshot(t, snap, twice)
		})
	}
	t.Run("plain strings", func(t *testing.T) {
		strs := fromJSON(t, mem, arrow.BinaryTypes.String, `["a", null, "", "ccc", "d", "é", "f", "g", "h", "i", "j"]`)
		plain := recordOf([]string{"Id", "I", "N", "S", "D", "T", "B"}, append(append([]arrow.Array{}, rec.Columns()[:3]...), append([]arrow.Array{strs}, rec.Columns()[4:]...)...))
		strs.Release()
		defer plain.Release()
		for _, off := range []int64{0, 5} {
			part := plain.NewSlice(off, plain.NumRows()-1)
			snap, err := FromRecords(t.Context(), sch, map[string]arrow.RecordBatch{"Customer": part}, Options{Allocator: mem})
			part.Release()
			require.NoError(t, err)
			got, _ := reopen(t, snap)
			requireSameSnapshot(t, snap, got)
			got.Release()
			snap.Release()
		}
	})
}

func TestSnapshotFileEmpty(t *testing.T) {
	files := map[string]string{}
	for name, data := range shopFiles() {
		files[name] = data[:strings.IndexByte(data, '\n')+1] // the header alone
	}
	snap, err := Load(t.Context(), writeDir(t, shopSchema, files), Options{})
	require.NoError(t, err)
	defer snap.Release()
	require.Equal(t, 0, snap.NumCustomers())
	got, _ := reopen(t, snap)
	defer got.Release()
	requireSameSnapshot(t, snap, got)
}

// bigSnapshot builds a snapshot of n customers and 3n orders, with values
// of every type, some null, and more than one checksum block per column.
func bigSnapshot(t testing.TB, n int) *Snapshot {
	t.Helper()
	mem := memory.DefaultAllocator
	r := rand.New(rand.NewPCG(uint64(n), 1))
	ids := array.NewStringBuilder(mem)
	age := array.NewInt64Builder(mem)
	score := array.NewFloat64Builder(mem)
	country := array.NewStringBuilder(mem)
	signup := array.NewDate32Builder(mem)
	seen := array.NewTimestampBuilder(mem, timestampType)
	vip := array.NewBooleanBuilder(mem)
	for i := range n {
		ids.Append(fmt.Sprintf("C%07d", i))
		if r.IntN(10) == 0 {
			age.AppendNull()
		} else {
			age.Append(int64(r.IntN(90)))
		}
		score.Append(r.NormFloat64())
		country.Append([]string{"FR", "DE", "IT", "ES"}[r.IntN(4)])
		signup.Append(arrow.Date32(r.IntN(20000)))
		seen.Append(arrow.Timestamp(r.Int64N(1 << 50)))
		vip.Append(r.IntN(3) == 0)
	}
	oid := array.NewInt64Builder(mem)
	ocust := array.NewStringBuilder(mem)
	amount := array.NewFloat64Builder(mem)
	for i := range 3 * n {
		oid.Append(int64(i))
		if r.IntN(50) == 0 {
			ocust.AppendNull()
		} else {
			ocust.Append(fmt.Sprintf("C%07d", r.IntN(n+n/100)))
		}
		amount.Append(float64(r.IntN(100000)) / 100)
	}
	build := func(names []string, bs ...array.Builder) arrow.RecordBatch {
		cols := make([]arrow.Array, len(bs))
		for i, b := range bs {
			cols[i] = b.NewArray()
			b.Release()
		}
		rec := recordOf(names, cols)
		releaseArrays(cols)
		return rec
	}
	cust := build([]string{"CustomerId", "Age", "Score", "Country", "SignupDate", "LastSeen", "IsVip"}, ids, age, score, country, signup, seen, vip)
	defer cust.Release()
	orders := build([]string{"OrderId", "CustomerId", "Amount"}, oid, ocust, amount)
	defer orders.Release()
	sch := mustParseSchema(t, `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "source": "Customer.csv",
     "attributes": [
       {"name": "CustomerId", "type": "string"},
       {"name": "Age",        "type": "integer"},
       {"name": "Score",      "type": "number"},
       {"name": "Country",    "type": "string"},
       {"name": "SignupDate", "type": "date"},
       {"name": "LastSeen",   "type": "datetime"},
       {"name": "IsVip",      "type": "boolean"}]},
    {"name": "Order", "key": "OrderId", "source": "Order.csv",
     "attributes": [
       {"name": "OrderId",    "type": "integer"},
       {"name": "CustomerId", "type": "string"},
       {"name": "Amount",     "type": "number"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer",
     "from": {"entity": "Order", "attribute": "CustomerId"},
     "to":   {"entity": "Customer", "attribute": "CustomerId"}}
  ],
  "measures": [ {"name": "Spend",  "aggregate": {"function": "sum", "attribute": "Order.Amount"}} ]
}`)
	snap, err := FromRecords(context.Background(), sch, map[string]arrow.RecordBatch{"Customer": cust, "Order": orders}, Options{Cluster: true})
	require.NoError(t, err)
	return snap
}

func TestSnapshotFileBig(t *testing.T) {
	n := 200_000
	if testing.Short() {
		n = 20_000
	}
	snap := bigSnapshot(t, n)
	defer snap.Release()
	got, path := reopen(t, snap)
	defer got.Release()
	requireSameSnapshot(t, snap, got)
	var meta fileMeta
	readTestMeta(t, path, &meta)
	blocks := 0
	for _, s := range meta.Sections {
		blocks = max(blocks, len(s.CRC))
	}
	if !testing.Short() {
		require.Greater(t, blocks, 1, "some section spans several checksum blocks")
	}
}

// readTestMeta reads the metadata of the snapshot file at path.
func readTestMeta(t *testing.T, path string, meta *fileMeta) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	off := binary.LittleEndian.Uint64(data[24:])
	require.NoError(t, json.Unmarshal(data[off:], meta))
}

// rewriteHeader recomputes the header checksum of a file's bytes.
func rewriteHeader(data []byte) {
	binary.LittleEndian.PutUint32(data[60:], crc32.Checksum(data[:60], crcTable))
}

func TestOpenRejects(t *testing.T) {
	snap, err := loadShop(t, memory.DefaultAllocator, shopFiles())
	require.NoError(t, err)
	defer snap.Release()
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, Save(t.Context(), snap, good))
	data, err := os.ReadFile(good)
	require.NoError(t, err)

	newer := append([]byte{}, data...)
	binary.LittleEndian.PutUint32(newer[8:], snapVersion+1)
	otherOrder := append([]byte{}, data...)
	binary.LittleEndian.PutUint32(otherOrder[12:], 0x04030201)
	rewriteHeader(otherOrder)
	cases := map[string]struct {
		data []byte
		want string
	}{
		"empty":          {nil, "not a segmentkit snapshot file"},
		"text":           {[]byte("CustomerId,Age\nC1,30\n"), "not a segmentkit snapshot file"},
		"header only":    {data[:snapHeaderSize], "truncated"},
		"half":           {data[:len(data)/2], "truncated"},
		"longer":         {append(append([]byte{}, data...), 0), "more than"},
		"newer version":  {newer, "newer"},
		"byte order":     {otherOrder, "byte order"},
		"damaged header": {append(append([]byte{}, data[:20]...), append([]byte{data[20] ^ 1}, data[21:]...)...), "header is damaged"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-"))
			require.NoError(t, os.WriteFile(path, c.data, 0o644))
			_, err := Open(t.Context(), path, Options{})
			require.ErrorIs(t, err, ErrSnapshotFile)
			require.ErrorContains(t, err, c.want)
			require.ErrorContains(t, err, path)
		})
	}
	t.Run("missing", func(t *testing.T) {
		_, err := Open(t.Context(), filepath.Join(dir, "nope"), Options{})
		require.ErrorIs(t, err, os.ErrNotExist)
	})
	t.Run("directory", func(t *testing.T) {
		_, err := Open(t.Context(), dir, Options{})
		require.Error(t, err)
	})
	t.Run("released", func(t *testing.T) {
		gone, err := Load(t.Context(), writeDir(t, shopSchema, shopFiles()), Options{})
		require.NoError(t, err)
		gone.Release()
		require.Error(t, Save(t.Context(), gone, filepath.Join(dir, "gone")))
	})
}

// openAndRead opens path, reads everything the snapshot holds and waits for
// the check of its data; it returns the error, if any, and the snapshot
// when there is none (the caller releases it).
func openAndRead(t *testing.T, path string) (*Snapshot, error) {
	snap, err := Open(t.Context(), path, Options{})
	if err != nil {
		return nil, err
	}
	// Reading what Open accepted must not fail, damaged values or not.
	for _, tbl := range snap.entries {
		formatAll(tbl)
	}
	for _, ls := range snap.links {
		for _, l := range ls {
			l.Grouped()
			l.Starts()
		}
	}
	for id := range snap.NumCustomers() {
		snap.CustomerID(snap.CustomerKey(uint32(id)))
	}
	if err := snap.Verify(t.Context()); err != nil {
		snap.Release()
		return nil, err
	}
	return snap, nil
}

// TestSnapshotFileDamage flips a bit of every byte of a snapshot file, one
// at a time, and cuts it at every length: each damaged file is refused by Open
// or by Verify with ErrSnapshotFile, or (a bit of padding) gives the same
// snapshot. Nothing panics.
func TestSnapshotFileDamage(t *testing.T) {
	snap, err := loadShop(t, memory.DefaultAllocator, shopFiles())
	require.NoError(t, err)
	defer snap.Release()
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	require.NoError(t, Save(t.Context(), snap, good))
	data, err := os.ReadFile(good)
	require.NoError(t, err)
	path := filepath.Join(dir, "damaged")
	require.NoError(t, os.WriteFile(path, data, 0o644))
	file, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	defer file.Close()
	refused, same := 0, 0
	step := 1
	if testing.Short() {
		step = 13
	}
	// One bit of every byte, a different bit from byte to byte.
	for i := 0; i < len(data); i += step {
		_, err := file.WriteAt([]byte{data[i] ^ 1<<(i*5%8)}, int64(i))
		require.NoError(t, err)
		got, err := openAndRead(t, path)
		_, werr := file.WriteAt(data[i:i+1], int64(i))
		require.NoError(t, werr)
		if err != nil {
			require.ErrorIs(t, err, ErrSnapshotFile, "byte %d", i)
			refused++
			continue
		}
		requireSameSnapshot(t, snap, got)
		got.Release()
		same++
	}
	t.Logf("%d bytes: %d flips refused, %d harmless (padding)", len(data), refused, same)
	require.Greater(t, refused, same)
	// Downwards, so that each cut keeps the file's first n bytes.
	for n := len(data) - 1; n >= 0; n-- {
		require.NoError(t, file.Truncate(int64(n)))
		_, err := Open(t.Context(), path, Options{})
		require.ErrorIs(t, err, ErrSnapshotFile, "cut at %d", n)
	}
}

// TestSnapshotFileValueDamage: damage in a section of values is found by
// the background check, which Verify reports.
func TestSnapshotFileValueDamage(t *testing.T) {
	snap := bigSnapshot(t, 20_000)
	defer snap.Release()
	path := filepath.Join(t.TempDir(), "snapshot")
	require.NoError(t, Save(t.Context(), snap, path))
	var meta fileMeta
	readTestMeta(t, path, &meta)
	var amount *fileSection
	for i, s := range meta.Sections {
		if s.Name == "Order.Amount values" {
			amount = &meta.Sections[i]
		}
	}
	require.NotNil(t, amount)
	require.False(t, amount.Eager)
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	require.NoError(t, err)
	_, err = f.WriteAt([]byte{0xff, 0xff}, amount.Off+amount.Len/2)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	got, err := Open(t.Context(), path, Options{})
	require.NoError(t, err, "values are checked in the background")
	defer got.Release()
	err = got.Verify(t.Context())
	require.ErrorIs(t, err, ErrSnapshotFile)
	require.ErrorContains(t, err, "Order.Amount values")
	require.ErrorIs(t, got.Verify(t.Context()), ErrSnapshotFile, "the outcome is kept")
}

// TestSnapshotFileReleaseDuringCheck: Release stops the background check
// and waits for it before unmapping; Verify then reports that the check
// did not finish, unless it had.
func TestSnapshotFileReleaseDuringCheck(t *testing.T) {
	snap := bigSnapshot(t, 100_000)
	defer snap.Release()
	path := filepath.Join(t.TempDir(), "snapshot")
	require.NoError(t, Save(t.Context(), snap, path))
	for range 20 {
		got, err := Open(t.Context(), path, Options{})
		require.NoError(t, err)
		go got.Verify(context.Background())
		got.Release()
		got.Release()
		if err := got.Verify(t.Context()); err != nil {
			require.ErrorContains(t, err, "released")
		}
	}
}

func TestSnapshotFileConcurrentReaders(t *testing.T) {
	snap := bigSnapshot(t, 20_000)
	defer snap.Release()
	got, _ := reopen(t, snap)
	defer got.Release()
	want := formatAll(snap.Table("Order"))
	done := make(chan error)
	for range 4 {
		go func() {
			var err error
			if !equalRows(want, formatAll(got.Table("Order"))) {
				err = errors.New("rows differ")
			}
			if id, ok := got.CustomerID("C0000042"); !ok || id != 42 {
				err = fmt.Errorf("CustomerID: %d %v", id, ok)
			}
			done <- err
		}()
	}
	for range 4 {
		require.NoError(t, <-done)
	}
}

func equalRows(a, b [][]string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if strings.Join(a[i], "\x00") != strings.Join(b[i], "\x00") {
			return false
		}
	}
	return true
}

// TestSnapshotFileSharedPages opens one snapshot file in two processes: the
// second reads the same values, and the pages of its mapping are shared
// with the first's (the system's page cache), not copies.
func TestSnapshotFileSharedPages(t *testing.T) {
	if path := os.Getenv("SEGMENTKIT_TEST_SNAPFILE_CHILD"); path != "" {
		snapFileChild(t, path)
		return
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc/self/smaps")
	}
	snap := bigSnapshot(t, 50_000)
	defer snap.Release()
	got, path := reopen(t, snap) // Verify has read every page
	defer got.Release()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSnapshotFileSharedPages$", "-test.v")
	cmd.Env = append(os.Environ(), "SEGMENTKIT_TEST_SNAPFILE_CHILD="+path)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var sum string
	var shared, private int
	for line := range strings.Lines(string(out)) {
		if f := strings.Fields(line); len(f) == 2 {
			switch f[0] {
			case "sum":
				sum = f[1]
			case "shared":
				shared, _ = strconv.Atoi(f[1])
			case "private":
				private, _ = strconv.Atoi(f[1])
			}
		}
	}
	require.Equal(t, snapshotSum(got), sum, "%s", out)
	st, err := os.Stat(path)
	require.NoError(t, err)
	t.Logf("file %d kB; in the child: %d kB shared, %d kB private", st.Size()/1024, shared, private)
	require.Greater(t, shared, int(st.Size()/1024)/2, "most of the mapping is shared: %s", out)
}

// snapshotSum digests every value of a snapshot.
func snapshotSum(s *Snapshot) string {
	h := crc32.New(crcTable)
	for _, tbl := range s.entries {
		for _, row := range formatAll(tbl) {
			fmt.Fprintln(h, strings.Join(row, "\x00"))
		}
	}
	return fmt.Sprintf("%08x", h.Sum32())
}

func snapFileChild(t *testing.T, path string) {
	snap, err := Open(t.Context(), path, Options{})
	require.NoError(t, err)
	defer snap.Release()
	require.NoError(t, snap.Verify(t.Context()))
	fmt.Printf("sum %s\n", snapshotSum(snap))
	f, err := os.Open("/proc/self/smaps")
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	in := false
	for sc.Scan() {
		line := sc.Text()
		if fields := strings.Fields(line); len(fields) >= 5 && strings.Count(fields[0], "-") == 1 && !strings.HasSuffix(fields[0], ":") {
			// A mapping's first line: range, permissions, offset, device,
			// inode and, for a file, its path.
			in = len(fields) >= 6 && fields[len(fields)-1] == path
			continue
		}
		if !in {
			continue
		}
		if v, ok := strings.CutPrefix(line, "Shared_Clean:"); ok {
			fmt.Printf("shared %s\n", strings.Fields(v)[0])
		}
		if v, ok := strings.CutPrefix(line, "Private_Clean:"); ok {
			fmt.Printf("private %s\n", strings.Fields(v)[0])
		}
	}
}

// FuzzSnapshotFile damages a snapshot file and opens it: never a panic;
// what opens reads without failing, and what fails is ErrSnapshotFile.
// Like the catalog's FuzzCatalogFile, the fuzzer mutates a list of edits
// (fuzzedit.Apply), not the file's 10 kB, so its minimizing stays quick.
func FuzzSnapshotFile(f *testing.F) {
	snap, err := Load(context.Background(), writeDir(f, shopSchema, shopFiles()), Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer snap.Release()
	path := filepath.Join(f.TempDir(), "seed")
	if err := Save(context.Background(), snap, path); err != nil {
		f.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{}, uint32(0))
	f.Add([]byte{}, uint32(len(data)-1))
	f.Add([]byte{}, uint32(snapHeaderSize))
	rng := rand.New(rand.NewPCG(3, 4))
	for range 8 {
		edit := make([]byte, 4)
		for i := range edit {
			edit[i] = byte(rng.Uint32())
		}
		f.Add(edit, uint32(0))
	}
	f.Fuzz(func(t *testing.T, edits []byte, cut uint32) {
		p := filepath.Join(t.TempDir(), "snapshot")
		require.NoError(t, os.WriteFile(p, fuzzedit.Apply(data, edits, cut), 0o644))
		got, err := openAndRead(t, p)
		if err != nil {
			require.ErrorIs(t, err, ErrSnapshotFile)
			return
		}
		got.Release()
	})
}

// BenchmarkSnapshotFile saves a snapshot of 200k customers and 600k orders
// and opens it: open is what a restart costs before the first segment,
// open+verify adds the background check of every value.
func BenchmarkSnapshotFile(b *testing.B) {
	snap := bigSnapshot(b, 200_000)
	defer snap.Release()
	path := filepath.Join(b.TempDir(), "snapshot")
	b.Run("save", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := Save(b.Context(), snap, path); err != nil {
				b.Fatal(err)
			}
		}
		st, err := os.Stat(path)
		if err == nil {
			b.SetBytes(st.Size())
		}
	})
	st, err := os.Stat(path)
	require.NoError(b, err)
	for _, verify := range []bool{false, true} {
		name := "open"
		if verify {
			name = "open+verify"
		}
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(st.Size())
			for b.Loop() {
				got, err := Open(b.Context(), path, Options{})
				if err != nil {
					b.Fatal(err)
				}
				if verify {
					if err := got.Verify(b.Context()); err != nil {
						b.Fatal(err)
					}
				}
				got.Release()
			}
		})
	}
}
