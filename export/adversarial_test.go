package export_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/storage"
)

// TestDecodeBatchDamaged: an encoded batch damaged anywhere (bytes
// overwritten, cut short) is refused with ErrBadBatch; the Arrow IPC
// reader never sees damaged rows, which could make it allocate whatever
// a damaged length says and kill the process.
func TestDecodeBatchDamaged(t *testing.T) {
	snap := testSnapshot(t, 50, 1)
	members := someMembers(snap, 1)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{}, time.Now(), members)
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	rec := &recordingDest{}
	var enc []byte
	_, err = export.Run(context.Background(), rec, p, export.FullSet(members), export.RunOptions{BatchSize: 7, Allocator: mem,
		Before: func(b *export.Batch) error {
			if enc == nil {
				enc, err = export.EncodeBatch(rec.h, b)
			}
			return err
		}})
	require.NoError(t, err)
	for _, r := range rec.records {
		r.Release()
	}
	_, b, err := export.DecodeBatch(enc, mem)
	require.NoError(t, err)
	b.Record.Release()
	mem.AssertSize(t, 0)

	// A batch encoded before batches had a checksum (the envelope's
	// length first) still decodes.
	_, b, err = export.DecodeBatch(enc[len("\x00SKB\x01")+8:], mem)
	require.NoError(t, err)
	b.Record.Release()

	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		d := append([]byte(nil), enc...)
		switch i % 3 {
		case 0: // a few bytes overwritten
			for range 1 + r.IntN(4) {
				d[r.IntN(len(d))] ^= byte(1 + r.IntN(255))
			}
		case 1: // cut short
			d = d[:r.IntN(len(d))]
		case 2: // a run of bytes overwritten
			j := r.IntN(len(d))
			for k := j; k < min(len(d), j+16); k++ {
				d[k] ^= byte(1 + r.IntN(255))
			}
		}
		_, _, err := export.DecodeBatch(d, mem)
		require.ErrorIs(t, err, export.ErrBadBatch, "damage %d", i)
	}
}

// TestParseDestinationNeverShowsSecrets: whatever is wrong with a target,
// the error and the destination's String never show a password, a
// token in the user part of a URL or a query value.
func TestParseDestinationNeverShowsSecrets(t *testing.T) {
	for _, target := range []string{
		// Unknown or missing kinds.
		"webhok:https://u:S3CRET@x.example/p?token=S3CRET",
		"webhok:https://S3CRET@x.example/p",
		"https://x.example/p?token=S3CRET",
		"postgress:host=h password=S3CRET dbname=x#t",
		"postgress:host=h password='S3 CRET' dbname=x#t",
		// postgres without #TABLE.
		"postgres:host=h password=S3CRET dbname=x",
		"postgres:password=S3CRET host=h",
		"postgres:sslpassword = 'S3 CRET' host=h",
		"postgres:postgres://u:S3CRET@h/db",
		"postgres:postgres://u@h/db?password=S3CRET",
		"postgres:postgres://u:S3CRET@h/db#bad-table",
		"postgres:postgres://u:S3CRET@h:notaport/db#t",
		"postgres:host=h password=S3CRET port=abc#t",
		// Webhook URLs that do not parse or do not fit.
		"webhook:http://tok:S3CRET/p",
		"webhook:http://u:S3CRET%zz@h/p",
		"webhook:http://u:S3 CRET@h/p",
		"webhook:ftp://u:S3CRET@h/p?token=S3CRET",
		"webhook:h/p?token=S3CRET",
		"webhook:http:///p?token=S3CRET",
		// Webhook URLs that parse.
		"webhook:http://h/p?token=S3CRET",
		"webhook:http://S3CRET@h/p",
		"webhook:http://u:S3CRET@h/p#S3CRET",
	} {
		d, err := export.ParseDestination(target)
		if err != nil {
			require.ErrorIs(t, err, export.ErrDestination, target)
			require.NotContains(t, err.Error(), "S3", target)
			require.NotContains(t, err.Error(), "CRET", target)
			continue
		}
		require.NotContains(t, d.String(), "S3", target)
	}
}

// TestParseDestinationHints: the targets a newcomer writes first get the
// target they meant, a file kind that cannot go to standard output is
// refused when parsed (not when the export runs), and a postgres:// URL
// needs no postgres: before it.
func TestParseDestinationHints(t *testing.T) {
	for target, want := range map[string]string{
		"members.csv":         "did you mean csv:members.csv?",
		"out/vips.parquet":    "did you mean parquet:out/vips.parquet?",
		"https://h.example/p": "did you mean webhook:https://h.example/p?",
		"http://h.example/p":  "did you mean webhook:http://h.example/p?",
		"parqet:x.parquet":    "did you mean parquet?",
		"parquet:-":           "a parquet file cannot be written to standard output",
		"arrow:-":             "an arrow file cannot be written to standard output",
		"roaring: - ":         "a roaring file cannot be written to standard output",
		"csv:  ":              "csv needs a file name after the colon",
	} {
		_, err := export.ParseDestination(target)
		require.ErrorIs(t, err, export.ErrDestination, target)
		require.ErrorContains(t, err, want, target)
	}
	for target, want := range map[string]string{
		"postgres://u:S3CRET@h/db#t":    "postgres:postgres://u@h/db#t",
		"postgresql://u@h/db#s.t":       "postgres:postgresql://u@h/db#s.t",
		"postgres:postgres://u@h/db#t":  "postgres:postgres://u@h/db#t",
		"CSV: members.csv":              "csv:members.csv",
		"jsonl: -":                      "jsonl:-",
		"webhook: https://h.example/p ": "webhook:https://h.example/p",
	} {
		d, err := export.ParseDestination(target)
		require.NoError(t, err, target)
		require.Equal(t, want, d.String(), target)
	}
}

// awkwardSnapshot has keys and values with commas, quotes and line
// breaks, and an attribute named "change".
func awkwardSnapshot(t *testing.T) *storage.Snapshot {
	t.Helper()
	dir := t.TempDir()
	sch := `{"customerEntity": "Customer", "entities": [{"name": "Customer", "key": "CustomerId", "source": "Customer.csv",
	  "attributes": [{"name": "CustomerId", "type": "string"}, {"name": "Note", "type": "string"}, {"name": "change", "type": "string"}]}]}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(sch), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Customer.csv"),
		[]byte("CustomerId,Note,change\n\"A,1\",\"he said \"\"hi\"\", then left\",x\n\"B\n2\",\"line1\r\nline2\",y\nC3,\u2028é,z\n"), 0o644))
	snap, err := storage.Load(context.Background(), dir, storage.Options{})
	require.NoError(t, err)
	t.Cleanup(snap.Release)
	return snap
}

// TestAwkwardValues: CSV and JSON Lines read back exactly whatever the
// keys and values hold; a key with a line break fails a roaring export
// (its key list has one key a line) and leaves no file; a field named
// "change" is refused in a delta, where it would collide with the change
// column, and sent in a full export.
func TestAwkwardValues(t *testing.T) {
	ctx := context.Background()
	snap := awkwardSnapshot(t)
	all := roaring.New()
	all.AddRange(0, uint64(snap.NumCustomers()))
	// The data's reader takes a quoted \r\n as \n.
	want := [][]string{{"A,1", `he said "hi", then left`, "x"}, {"B\n2", "line1\nline2", "y"}, {"C3", "\u2028é", "z"}}
	p, err := export.NewPlan(ctx, snap, export.Fields{Names: []string{"Note", "change"}}, time.Now(), all)
	require.NoError(t, err)
	dir := t.TempDir()

	csvFile := filepath.Join(dir, "m.csv")
	_, err = export.Run(ctx, export.NewCSV(csvFile), p, export.FullSet(all), export.RunOptions{})
	require.NoError(t, err)
	f, err := os.Open(csvFile)
	require.NoError(t, err)
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	require.NoError(t, err)
	require.Equal(t, append([][]string{{"CustomerId", "Note", "change"}}, want...), rows)

	jsonFile := filepath.Join(dir, "m.jsonl")
	_, err = export.Run(ctx, export.NewJSONL(jsonFile), p, export.FullSet(all), export.RunOptions{})
	require.NoError(t, err)
	b, err := os.ReadFile(jsonFile)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	require.Len(t, lines, 3, "a line per customer: line breaks are escaped")
	for i, l := range lines {
		var obj map[string]string
		require.NoError(t, json.Unmarshal([]byte(l), &obj))
		require.Equal(t, map[string]string{"CustomerId": want[i][0], "Note": want[i][1], "change": want[i][2]}, obj)
	}

	roar := filepath.Join(dir, "m.roaring")
	_, err = export.Run(ctx, export.NewRoaring(roar), p, export.FullSet(all), export.RunOptions{})
	require.ErrorIs(t, err, export.ErrDelivery)
	require.ErrorContains(t, err, `"B\n2" has a line break`)
	for _, name := range dirNames(t, dir) {
		require.NotContains(t, name, "roaring", "nothing of the failed roaring export is left")
	}

	delta, err := export.Diff(ctx, p, export.SentMap{}, all, false)
	require.NoError(t, err)
	for _, d := range []export.Destination{export.NewCSV(filepath.Join(dir, "d.csv")), export.NewJSONL(filepath.Join(dir, "d.jsonl"))} {
		_, err = export.Run(ctx, d, p, delta, export.RunOptions{})
		require.ErrorIs(t, err, export.ErrMode, d.String())
		require.ErrorContains(t, err, `the field "change" has the name of a delta's "change" column`)
	}
	require.ErrorIs(t, export.Fields{Names: []string{"change"}}.CheckMode(snap.Schema(), export.Delta), export.ErrMode)
	require.NoError(t, export.Fields{Names: []string{"change"}}.CheckMode(snap.Schema(), export.Full))
	require.NoFileExists(t, filepath.Join(dir, "d.csv"))
}

// TestNilAndForeignInputs: nil destinations, plans, headers, sent maps
// and member sets, and sets of another snapshot's ids, are errors (or
// empty), never a panic.
func TestNilAndForeignInputs(t *testing.T) {
	ctx := context.Background()
	snap := testSnapshot(t, 10, 1)
	members := someMembers(snap, 1)
	p, err := export.NewPlan(ctx, snap, export.Fields{Names: []string{"Email", "Measures.Spend"}}, time.Now(), members)
	require.NoError(t, err)

	_, err = export.Run(ctx, nil, p, export.FullSet(members), export.RunOptions{})
	require.ErrorContains(t, err, "no destination")
	_, err = export.Run(ctx, &memDest{}, nil, export.FullSet(members), export.RunOptions{})
	require.ErrorContains(t, err, "no plan")
	_, err = export.Diff(ctx, nil, export.SentMap{}, members, false)
	require.ErrorContains(t, err, "no plan")

	set, err := export.Diff(ctx, p, nil, members, false)
	require.NoError(t, err)
	require.Equal(t, members.GetCardinality(), set.Len(), "nothing sent: every member enters")
	set, err = export.Diff(ctx, p, export.SentMap{snap.CustomerKey(0): 1}, nil, false)
	require.NoError(t, err)
	require.EqualValues(t, 1, set.Len(), "no members: what was sent leaves")

	_, err = export.NewPlan(ctx, snap, export.Fields{Names: []string{"Measures.Spend"}}, time.Now(), nil)
	require.NoError(t, err, "nil members: measures for no one")

	foreign := members.Clone()
	foreign.Add(1 << 20)
	_, err = export.NewPlan(ctx, snap, export.Fields{}, time.Now(), foreign)
	require.ErrorContains(t, err, "ids of other data")
	d := &memDest{}
	_, err = export.Run(ctx, d, p, export.FullSet(foreign), export.RunOptions{})
	require.ErrorContains(t, err, "ids of other data")
	_, err = export.Run(ctx, d, p, export.Set{Mode: export.Delta, Left: foreign}, export.RunOptions{})
	require.ErrorContains(t, err, "ids of other data")
	_, err = export.Diff(ctx, p, export.SentMap{}, foreign, false)
	require.ErrorContains(t, err, "ids of other data")
	require.Empty(t, d.headers, "nothing was opened")

	_, err = export.Resend(ctx, &memDest{}, nil, nil)
	require.Error(t, err)
	hook, err := export.NewWebhook("http://127.0.0.1:1/in", export.WebhookOptions{})
	require.NoError(t, err)
	pg, err := export.NewPostgres("postgres://u@127.0.0.1:1/db", "t")
	require.NoError(t, err)
	for _, dest := range []export.Destination{hook, pg, export.NewCSV(filepath.Join(t.TempDir(), "x.csv"))} {
		_, err := dest.Open(ctx, nil)
		require.ErrorIs(t, err, export.ErrDelivery, dest.String())
	}
}

// TestPostgresConnectErrorOneLine: a server nobody listens to fails the
// export with one line that names the address, without the password.
func TestPostgresConnectErrorOneLine(t *testing.T) {
	ctx := context.Background()
	snap := testSnapshot(t, 10, 1)
	members := someMembers(snap, 1)
	p, err := export.NewPlan(ctx, snap, export.Fields{}, time.Now(), members)
	require.NoError(t, err)
	dest, err := export.NewPostgres("postgres://crm:S3CRET@127.0.0.1:1/crm?connect_timeout=2", "members")
	require.NoError(t, err)
	_, err = export.Run(ctx, dest, p, export.FullSet(members), export.RunOptions{})
	require.ErrorIs(t, err, export.ErrDelivery)
	msg := err.Error()
	require.Contains(t, msg, "connect: failed to connect to `user=crm database=crm`: 127.0.0.1:1 (127.0.0.1): dial error")
	require.Equal(t, 1, strings.Count(msg, "127.0.0.1:1 (127.0.0.1)"), "a try told once: %s", msg)
	require.NotContains(t, msg, "S3CRET")
	require.NotContains(t, msg, "\n")
	require.NotContains(t, msg, "\t")
}
