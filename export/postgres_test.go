package export_test

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// pgRow is a row of the table read back: column name to value as pgx
// scans it (nil for null), with the column's type OID.
type pgRow map[string]pgValue

type pgValue struct {
	v   any
	oid uint32
}

// readTable returns the table's rows by key.
func readTable(t *testing.T, connString, table, key string) map[string]pgRow {
	t.Helper()
	rows, err := queryTable(connString, table, key)
	require.NoError(t, err)
	return rows
}

func queryTable(connString, table, key string) (map[string]pgRow, error) {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		return nil, err
	}
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, "SELECT * FROM "+table)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]pgRow{}
	for rows.Next() {
		vals, err := rows.Values()
		if err != nil {
			return nil, err
		}
		r := pgRow{}
		for i, f := range rows.FieldDescriptions() {
			r[f.Name] = pgValue{vals[i], f.DataTypeOID}
		}
		k, ok := r[key].v.(string)
		if !ok {
			return nil, fmt.Errorf("key %v is not text", r[key].v)
		}
		out[k] = r
	}
	return out, rows.Err()
}

// pgWant returns the Go type pgx scans a column of type t into and the
// type's OID.
func pgWant(t schema.Type) (any, uint32) {
	switch t {
	case schema.Integer:
		return int64(0), pgtype.Int8OID
	case schema.Number:
		return float64(0), pgtype.Float8OID
	case schema.Date:
		return time.Time{}, pgtype.DateOID
	case schema.Datetime:
		return time.Time{}, pgtype.TimestamptzOID
	case schema.Boolean:
		return false, pgtype.BoolOID
	}
	return "", pgtype.TextOID
}

// pgText returns a value read back in the text form of Plan.Text.
func pgText(t *testing.T, c export.Column, v pgValue) string {
	t.Helper()
	switch x := v.v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		if strings.HasPrefix(c.Name, schema.MeasuresEntity+".") {
			return exact.FormatNumber(x)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		if v.oid == pgtype.DateOID {
			require.Zero(t, x.UTC().Sub(x.UTC().Truncate(24*time.Hour)), "a date at midnight UTC")
			return exact.FormatDay(x.Unix() / 86400)
		}
		return exact.FormatMicros(x.UnixMicro())
	}
	require.FailNow(t, "unexpected value", "%T %v in %s", v.v, v.v, c.Name)
	return ""
}

// requireTableEquals checks that the table holds one row per member with
// the plan's values, typed as the fields' types.
func requireTableEquals(t *testing.T, connString, table string, p *export.Plan, members *roaring.Bitmap, msgAndArgs ...any) {
	t.Helper()
	requireRowsEqual(t, readTable(t, connString, table, p.KeyColumn()), p, members, msgAndArgs...)
}

// requireRowsEqual checks rows read back as requireTableEquals does.
func requireRowsEqual(t *testing.T, got map[string]pgRow, p *export.Plan, members *roaring.Bitmap, msgAndArgs ...any) {
	t.Helper()
	snap := p.Snapshot()
	keys := make([]string, 0, len(got))
	for k := range got {
		keys = append(keys, k)
	}
	want := make([]string, 0, members.GetCardinality())
	it := members.Iterator()
	for it.HasNext() {
		want = append(want, snap.CustomerKey(it.Next()))
	}
	slices.Sort(keys)
	slices.Sort(want)
	require.Equal(t, want, keys, msgAndArgs...)
	cols := p.Columns()
	it = members.Iterator()
	for it.HasNext() {
		id := it.Next()
		row := got[snap.CustomerKey(id)]
		require.Len(t, row, len(cols)+1, "the key and one column per field")
		for i, c := range cols {
			v, ok := row[c.Name]
			require.True(t, ok, "column %s", c.Name)
			text, valid := p.Text(i, id)
			if !valid {
				require.Nil(t, v.v, "customer %s, %s is null", snap.CustomerKey(id), c.Name)
				continue
			}
			goType, oid := pgWant(c.Type)
			require.IsType(t, goType, v.v, "column %s", c.Name)
			require.Equal(t, oid, v.oid, "column %s", c.Name)
			require.Equal(t, text, pgText(t, c, v), "customer %s, column %s", snap.CustomerKey(id), c.Name)
		}
	}
}

// exec runs SQL statements on the server.
func pgExec(t *testing.T, connString string, stmts ...string) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	require.NoError(t, err)
	defer conn.Close(ctx)
	for _, s := range stmts {
		_, err := conn.Exec(ctx, s)
		require.NoError(t, err, s)
	}
}

func checkedAllocator(t *testing.T) *memory.CheckedAllocator {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	t.Cleanup(func() { mem.AssertSize(t, 0) })
	return mem
}

func TestPostgresFull(t *testing.T) {
	conn, sch := testPostgres(t)
	ctx := context.Background()
	mem := checkedAllocator(t)
	table := sch + ".members"
	dest, err := export.NewPostgres(conn, table)
	require.NoError(t, err)

	snap := testSnapshot(t, 300, 21)
	members := someMembers(snap, 22)
	p, err := export.NewPlan(ctx, snap, fileFields, time.Now(), members)
	require.NoError(t, err)
	st, err := export.Run(ctx, dest, p, export.FullSet(members), export.RunOptions{BatchSize: 7, Allocator: mem})
	require.NoError(t, err)
	n := int64(members.GetCardinality())
	require.Equal(t, n, st.Rows)
	require.Equal(t, (n+6)/7, st.Batches)
	require.Equal(t, st.Batches, st.Tries)
	require.Greater(t, st.Bytes, n*(2+8*5), "at least the key, the bigint, doubles, timestamps and row headers")
	requireTableEquals(t, conn, table, p, members)

	// The columns as created.
	types := map[string]string{}
	rows, err := pgxQuery(t, conn, `SELECT column_name, data_type FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'members'`, sch)
	require.NoError(t, err)
	for _, r := range rows {
		types[r[0]] = r[1]
	}
	require.Equal(t, map[string]string{"CustomerId": "text", "Email": "text", "Age": "bigint", "Score": "double precision",
		"Birthday": "date", "SignedUp": "timestamp with time zone", "VIP": "boolean",
		"Measures.Spend": "double precision", "Measures.LastChannel": "text"}, types)

	// A second full export of other data replaces the rows; one of no
	// members empties the table.
	snap2 := testSnapshot(t, 200, 23)
	members2 := someMembers(snap2, 24)
	p2, err := export.NewPlan(ctx, snap2, fileFields, time.Now(), members2)
	require.NoError(t, err)
	_, err = export.Run(ctx, dest, p2, export.FullSet(members2), export.RunOptions{BatchSize: 50, Allocator: mem})
	require.NoError(t, err)
	requireTableEquals(t, conn, table, p2, members2)
	st, err = export.Run(ctx, dest, p2, export.FullSet(roaring.New()), export.RunOptions{Allocator: mem})
	require.NoError(t, err)
	require.Zero(t, st.Rows)
	requireTableEquals(t, conn, table, p2, roaring.New())
}

// pgxQuery returns the rows of a query as text.
func pgxQuery(t *testing.T, connString, sql string, args ...any) ([][]string, error) {
	t.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, connString)
	require.NoError(t, err)
	defer conn.Close(ctx)
	rows, err := conn.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) ([]string, error) {
		var out []string
		vals, err := r.Values()
		for _, v := range vals {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out, err
	})
}

// teeDest records the rows of the batches a destination committed.
type teeDest struct {
	export.Destination
	rows []export.Row
}

func (d *teeDest) Open(ctx context.Context, h *export.Header) (export.Writer, error) {
	w, err := d.Destination.Open(ctx, h)
	if err != nil {
		return nil, err
	}
	return &teeWriter{Writer: w, d: d}, nil
}

type teeWriter struct {
	export.Writer
	d    *teeDest
	rows []export.Row
}

func (w *teeWriter) Write(ctx context.Context, b *export.Batch) error {
	if err := w.Writer.Write(ctx, b); err != nil {
		return err
	}
	w.rows = append(w.rows, b.Rows...)
	return nil
}

func (w *teeWriter) Commit(ctx context.Context) error {
	if err := w.Writer.Commit(ctx); err != nil {
		return err
	}
	w.d.rows = append(w.d.rows, w.rows...)
	return nil
}

func TestPostgresDeltaSeries(t *testing.T) {
	conn, sch := testPostgres(t)
	ctx := context.Background()
	mem := checkedAllocator(t)
	for name, fields := range map[string]export.Fields{
		"fields": fileFields,
		// The key alone: upserts have nothing to update.
		"keyonly": {Names: []string{"CustomerId"}},
	} {
		t.Run(name, func(t *testing.T) {
			table := sch + "." + name
			pg, err := export.NewPostgres(conn, table)
			require.NoError(t, err)
			sent := export.SentMap{}
			// Customers come and go (sizes shrink too, so that some
			// who left are gone from the data), and their values change.
			for round, size := range []int{120, 90, 150, 60, 130, 100, 100} {
				snap := testSnapshot(t, size, uint64(round))
				members := someMembers(snap, uint64(round*31))
				if round == 3 {
					members = roaring.New()
				}
				p, err := export.NewPlan(ctx, snap, fields, time.Now(), members)
				require.NoError(t, err)
				set, err := export.Diff(ctx, p, sent, members, true)
				require.NoError(t, err)
				if round > 0 && round != 6 {
					require.NotZero(t, set.Len(), "round %d changes something", round)
				}
				dest := &teeDest{Destination: pg}
				st, err := export.Run(ctx, dest, p, set, export.RunOptions{BatchSize: 9, Allocator: mem, ID: "r" + strconv.Itoa(round)})
				require.NoError(t, err, "round %d", round)
				require.EqualValues(t, set.Len(), st.Rows)
				requireTableEquals(t, conn, table, p, members, "round %d", round)
				for _, r := range dest.rows {
					if r.Change == export.Left {
						delete(sent, r.Key)
					} else {
						sent[r.Key] = r.Hash
					}
				}
			}
		})
	}
}

func TestPostgresFailureRollsBack(t *testing.T) {
	conn, sch := testPostgres(t)
	ctx := context.Background()
	mem := checkedAllocator(t)
	table := sch + ".members"
	pg, err := export.NewPostgres(conn, table)
	require.NoError(t, err)
	snap := testSnapshot(t, 200, 31)
	members := someMembers(snap, 32)
	p, err := export.NewPlan(ctx, snap, fileFields, time.Now(), members)
	require.NoError(t, err)
	_, err = export.Run(ctx, pg, p, export.FullSet(members), export.RunOptions{Allocator: mem})
	require.NoError(t, err)

	// The next exports: other data, full and delta.
	snap2 := testSnapshot(t, 220, 33)
	members2 := someMembers(snap2, 34)
	p2, err := export.NewPlan(ctx, snap2, fileFields, time.Now(), members2)
	require.NoError(t, err)
	sent := export.SentMap{}
	it := members.Iterator()
	for it.HasNext() {
		sent[snap.CustomerKey(it.Next())] = 1
	}
	delta, err := export.Diff(ctx, p2, sent, members2, true)
	require.NoError(t, err)
	require.NotZero(t, delta.Len())

	for _, set := range []export.Set{export.FullSet(members2), delta} {
		for _, cancelled := range []bool{false, true} {
			t.Run(set.Mode.String()+map[bool]string{false: "-error", true: "-cancelled"}[cancelled], func(t *testing.T) {
				runCtx, cancel := context.WithCancel(ctx)
				defer cancel()
				// Two batches are in the transaction when the third fails:
				// nothing shows. (Checked after Run: a failed assertion
				// in the middle would leave the transaction open.)
				var during map[string]pgRow
				var duringErr error
				d := &faultDest{Destination: pg, failAt: 3, during: func() {
					during, duringErr = queryTable(conn, table, p.KeyColumn())
				}}
				if cancelled {
					d.cancel = cancel
				}
				st, err := export.Run(runCtx, d, p2, set, export.RunOptions{BatchSize: 10, Allocator: mem})
				if cancelled {
					require.ErrorIs(t, err, context.Canceled)
				} else {
					require.ErrorIs(t, err, errInjected)
				}
				require.EqualValues(t, 2, st.Batches)
				require.NoError(t, duringErr)
				requireRowsEqual(t, during, p, members, "before the commit")
				requireTableEquals(t, conn, table, p, members, "rolled back")
			})
		}
	}

	// The server refuses a row mid-way (a trigger): the error carries its
	// message and the table is as it was.
	// The 36th member: in the fourth batch of ten.
	refusedID, err := members2.Select(35)
	require.NoError(t, err)
	refused := snap2.CustomerKey(refusedID)
	require.True(t, delta.Entered.Contains(refusedID) || delta.Changed.Contains(refusedID), "the delta upserts %s", refused)
	pgExec(t, conn,
		`CREATE FUNCTION `+sch+`.refuse() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'customer % is refused', NEW."CustomerId"; END $$`,
		`CREATE TRIGGER refuse BEFORE INSERT ON `+table+` FOR EACH ROW WHEN (NEW."CustomerId" = '`+refused+`') EXECUTE FUNCTION `+sch+`.refuse()`)
	for _, set := range []export.Set{export.FullSet(members2), delta} {
		_, err := export.Run(ctx, pg, p2, set, export.RunOptions{BatchSize: 10, Allocator: mem})
		require.ErrorIs(t, err, export.ErrDelivery)
		require.ErrorContains(t, err, "customer "+refused+" is refused")
		requireTableEquals(t, conn, table, p, members, "%v: rolled back", set.Mode)
	}
	// Without the trigger the delta goes through.
	pgExec(t, conn, `DROP TRIGGER refuse ON `+table)
	_, err = export.Run(ctx, pg, p2, delta, export.RunOptions{BatchSize: 10, Allocator: mem})
	require.NoError(t, err)
	requireTableEquals(t, conn, table, p2, members2)
}

func TestPostgresTableOfAnotherShape(t *testing.T) {
	conn, sch := testPostgres(t)
	ctx := context.Background()
	snap := testSnapshot(t, 50, 41)
	members := someMembers(snap, 42)
	p, err := export.NewPlan(ctx, snap, export.Fields{Names: []string{"Age", "Score", "VIP"}}, time.Now(), members)
	require.NoError(t, err)
	pgExec(t, conn,
		`CREATE TABLE `+sch+`.other ("CustomerId" text PRIMARY KEY, "Age" text, "VIP" boolean, "Extra" integer)`,
		`INSERT INTO `+sch+`.other VALUES ('kept', 'x', true, 1)`,
		`CREATE TABLE `+sch+`.nokey ("CustomerId" text, "Age" bigint, "Score" double precision, "VIP" boolean)`,
		`CREATE TABLE `+sch+`.intkey ("CustomerId" bigint PRIMARY KEY, "Age" bigint, "Score" double precision, "VIP" boolean)`)
	for table, wants := range map[string][]string{
		"other":  {`column "Age" is text, not bigint`, `column "Score" (double precision) is missing`, `column "Extra" is not among the exported ones`},
		"nokey":  {`key column "CustomerId" has no primary key or unique index of its own`},
		"intkey": {`column "CustomerId" is bigint, not text`},
	} {
		for _, mode := range []export.Set{export.FullSet(members), {Mode: export.Delta, Entered: members}} {
			dest, err := export.NewPostgres(conn, sch+"."+table)
			require.NoError(t, err)
			_, err = export.Run(ctx, dest, p, mode, export.RunOptions{})
			require.ErrorIs(t, err, export.ErrDelivery, table)
			for _, w := range wants {
				require.ErrorContains(t, err, w, table)
			}
		}
	}
	rows, err := pgxQuery(t, conn, `SELECT "CustomerId", "Age" FROM `+sch+`.other`)
	require.NoError(t, err)
	require.Equal(t, [][]string{{"kept", "x"}}, rows, "the table is left as it was")
}

func TestPostgresArguments(t *testing.T) {
	const url = "postgres://alice:s3cret@db.example.com:5432/crm?sslmode=disable"
	for _, table := range []string{"members", "public.members", "_x1", "Kunden_ü", strings.Repeat("a", 63)} {
		_, err := export.NewPostgres(url, table)
		require.NoError(t, err, table)
	}
	for _, table := range []string{"", "a.b.c", ".members", "public.", "bad-name", "x;drop table y", `"quoted"`, "sp ace", strings.Repeat("a", 64)} {
		_, err := export.NewPostgres(url, table)
		require.ErrorIs(t, err, export.ErrDestination, table)
		require.ErrorContains(t, err, "table", table)
	}
	_, err := export.NewPostgres("postgres://alice:s3cret@db.example.com:notaport/crm", "members")
	require.ErrorIs(t, err, export.ErrDestination)
	require.NotContains(t, err.Error(), "s3cret")

	for conn, want := range map[string]string{
		url: "postgres:postgres://alice@db.example.com:5432/crm?sslmode=disable#public.members",
		"postgres://db.example.com/crm?password=s3cret&sslmode=disable": "postgres:postgres://db.example.com/crm?sslmode=disable#public.members",
		"host=db.example.com user=alice password=s3cret dbname=crm":     "postgres:host=db.example.com user=alice dbname=crm#public.members",
		"host=db.example.com password = 's3 cret' dbname=crm":           "postgres:host=db.example.com dbname=crm#public.members",
		"postgres://bob@localhost/crm":                                  "postgres:postgres://bob@localhost/crm#public.members",
	} {
		d, err := export.NewPostgres(conn, "public.members")
		require.NoError(t, err, conn)
		require.Equal(t, want, d.String())
		require.NotContains(t, d.String(), "s3")
	}

	// A server that does not answer: a delivery error, without the
	// password.
	d, err := export.NewPostgres("postgres://alice:s3cret@127.0.0.1:1/crm?sslmode=disable&connect_timeout=5", "members")
	require.NoError(t, err)
	snap := testSnapshot(t, 10, 1)
	p, err := export.NewPlan(context.Background(), snap, export.Fields{}, time.Now(), roaring.New())
	require.NoError(t, err)
	_, err = export.Run(context.Background(), d, p, export.FullSet(roaring.New()), export.RunOptions{})
	require.ErrorIs(t, err, export.ErrDelivery)
	require.ErrorContains(t, err, "connect")
	require.NotContains(t, err.Error(), "s3cret")
}
