package export

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/segmentkit/segmentkit/internal/exact"
)

// The PostgreSQL destination keeps a table equal to the segment: one row
// per member, the customer key (text, the primary key) and one column per
// field. Each export is one transaction, so that readers see the table as
// the last committed export left it, never half an export.

// maxIdentifier is PostgreSQL's limit on an identifier's length in bytes
// (NAMEDATALEN - 1); longer names are truncated by the server.
const maxIdentifier = 63

// stageTable is the temporary table a delta export copies its upserts
// into, per connection; it is dropped at the end of the transaction.
const stageTable = "segmentkit_export_stage"

// abortTimeout bounds the rollback of Abort, which has no context.
const abortTimeout = 10 * time.Second

type postgresDest struct {
	config  *pgx.ConnConfig
	table   pgx.Identifier
	display string
}

// NewPostgres returns the destination that keeps the PostgreSQL table
// ("name" or "schema.name"; letters, digits and underscores, at most 63
// bytes each) of the database connString names (a postgres:// URL or
// keyword=value pairs, as libpq reads them) equal to the exported
// segment.
//
// The table has the customer key column (text, the primary key), then a
// column per field, named as the fields and typed from their Arrow types:
// bigint, double precision, text, date, timestamptz or boolean. Open
// creates the table if it does not exist; a table that exists with other
// columns, or without a primary key or unique index on the key alone,
// fails the export, naming what differs: the destination never alters a
// table.
//
// Each export is one transaction, opened by Open and committed by Commit:
// a full export deletes every row and copies the members in (COPY); a
// delta deletes the keys of the customers who left and upserts the others
// (COPY into a temporary table, then INSERT ... ON CONFLICT DO UPDATE).
// Until Commit, readers see the table as it was. Stats.Bytes counts the
// row data sent: each copied row as PostgreSQL's binary COPY format
// encodes it (2 bytes a row, then 4 bytes and the value's bytes a column)
// and each left key (4 bytes and its length); statements and protocol
// framing are left out.
//
// Errors of the arguments wrap ErrDestination; errors of the server wrap
// ErrDelivery and carry its message.
func NewPostgres(connString, table string) (Destination, error) {
	tab, err := parseTableName(table)
	if err != nil {
		return nil, err
	}
	cfg, err := pgx.ParseConfig(connString)
	if err != nil {
		msg := err.Error()
		for _, s := range connSecrets(connString) {
			msg = strings.ReplaceAll(msg, s, "xxxxx")
		}
		return nil, fmt.Errorf("%w: postgres: the connection string does not parse: %s", ErrDestination, msg)
	}
	return &postgresDest{config: cfg, table: tab, display: "postgres:" + redactConnString(connString) + "#" + table}, nil
}

// parseTableName checks "name" or "schema.name".
func parseTableName(table string) (pgx.Identifier, error) {
	parts := strings.Split(table, ".")
	if table == "" || len(parts) > 2 {
		return nil, fmt.Errorf("%w: postgres: table %q: want a name or schema.name", ErrDestination, table)
	}
	for _, p := range parts {
		if p == "" || len(p) > maxIdentifier || strings.ContainsFunc(p, func(r rune) bool {
			return r != '_' && !unicode.IsLetter(r) && !unicode.IsDigit(r)
		}) {
			return nil, fmt.Errorf("%w: postgres: table %q: %q is not a name of letters, digits and underscores of at most %d bytes",
				ErrDestination, table, p, maxIdentifier)
		}
	}
	return pgx.Identifier(parts), nil
}

var (
	urlPassword = regexp.MustCompile(`^postgres(?:ql)?://[^:/@?#]*:([^@/?#]*)@`)
	urlQueryPW  = regexp.MustCompile(`[?&](?:ssl)?password=([^&#]*)`)
	kvPassword  = regexp.MustCompile(`(?:^|\s+)(?:ssl)?password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s']\S*|'')`)
)

func isURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// redactConnString returns the connection string without its passwords.
func redactConnString(s string) string {
	if !isURL(s) {
		return strings.TrimSpace(kvPassword.ReplaceAllString(s, ""))
	}
	u, err := url.Parse(s)
	if err != nil {
		// ParseConfig read it; url does not (several hosts): mask.
		for _, p := range connSecrets(s) {
			s = strings.ReplaceAll(s, p, "xxxxx")
		}
		return s
	}
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.User(u.User.Username())
		}
	}
	q := u.Query()
	if q.Has("password") || q.Has("sslpassword") {
		q.Del("password")
		q.Del("sslpassword")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// connSecrets returns the passwords connString spells out, as written.
func connSecrets(s string) []string {
	var out []string
	add := func(m []string) {
		if len(m) > 1 && m[1] != "" && m[1] != "''" {
			out = append(out, m[1])
		}
	}
	if isURL(s) {
		add(urlPassword.FindStringSubmatch(s))
		for _, m := range urlQueryPW.FindAllStringSubmatch(s, -1) {
			add(m)
		}
		return out
	}
	for _, m := range kvPassword.FindAllStringSubmatch(s, -1) {
		add(m)
	}
	return out
}

// String returns "postgres:" + the connection string without its
// password + "#" + the table.
func (d *postgresDest) String() string { return d.display }

// pgColumn is a column of the table.
type pgColumn struct {
	name string
	// sqlType is the type as CREATE TABLE takes it; formatType as
	// format_type() prints it.
	sqlType, formatType string
	// col is the column of the batches' records.
	col int
}

// sqlType returns the SQL type of a column of Arrow type t, and its
// format_type() spelling.
func sqlType(t arrow.DataType) (sql, format string, ok bool) {
	switch t := t.(type) {
	case *arrow.Int64Type:
		return "bigint", "bigint", true
	case *arrow.Float64Type:
		return "double precision", "double precision", true
	case *arrow.StringType:
		return "text", "text", true
	case *arrow.Date32Type:
		return "date", "date", true
	case *arrow.TimestampType:
		if t.Unit == arrow.Microsecond && t.TimeZone == "UTC" {
			return "timestamptz", "timestamp with time zone", true
		}
	case *arrow.BooleanType:
		return "boolean", "boolean", true
	}
	return "", "", false
}

// Open connects, begins the export's transaction, creates the table if
// missing and checks its columns; a full export then deletes its rows.
func (d *postgresDest) Open(ctx context.Context, h *Header) (Writer, error) {
	if h == nil || h.Schema == nil {
		return nil, fmt.Errorf("%w: postgres %s: no header", ErrDelivery, d.table.Sanitize())
	}
	if h.Mode != Full && h.Mode != Delta {
		return nil, fmt.Errorf("%w: %v", ErrMode, h.Mode)
	}
	cols, err := d.columns(h)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conn, err := pgx.ConnectConfig(ctx, d.config)
	if err != nil {
		return nil, pgFail(ctx, d.table, "connect", err)
	}
	w := &postgresWriter{d: d, conn: conn, cols: cols, mode: h.Mode}
	if err := w.open(ctx); err != nil {
		_ = w.Abort()
		return nil, err
	}
	return w, nil
}

// columns returns the table's columns for the header: the key, then the
// fields.
func (d *postgresDest) columns(h *Header) ([]pgColumn, error) {
	keyCol := 0
	if h.Mode == Delta {
		keyCol = 1
	}
	fs := h.Schema.Fields()
	if len(fs) <= keyCol || fs[keyCol].Name != h.KeyColumn {
		return nil, fmt.Errorf("%w: postgres %s: the batches have no key column %q", ErrDelivery, d.table.Sanitize(), h.KeyColumn)
	}
	var cols []pgColumn
	seen := map[string]bool{}
	for i := keyCol; i < len(fs); i++ {
		f := fs[i]
		sql, format, ok := sqlType(f.Type)
		switch {
		case !ok:
			return nil, fmt.Errorf("%w: postgres %s: column %q is of type %s, which the destination does not take", ErrDelivery, d.table.Sanitize(), f.Name, f.Type)
		case len(f.Name) > maxIdentifier || strings.ContainsRune(f.Name, 0) || f.Name == "":
			return nil, fmt.Errorf("%w: postgres %s: column name %q is empty or longer than PostgreSQL's %d bytes", ErrDelivery, d.table.Sanitize(), f.Name, maxIdentifier)
		case seen[f.Name]:
			return nil, fmt.Errorf("%w: postgres %s: column %q is given twice", ErrDelivery, d.table.Sanitize(), f.Name)
		case i == keyCol && sql != "text":
			return nil, fmt.Errorf("%w: postgres %s: key column %q is of type %s, not text", ErrDelivery, d.table.Sanitize(), f.Name, f.Type)
		}
		seen[f.Name] = true
		cols = append(cols, pgColumn{name: f.Name, sqlType: sql, formatType: format, col: i})
	}
	return cols, nil
}

// pgFail wraps an error of the server or the connection in ErrDelivery,
// with the server's detail; when ctx is done, the error also wraps ctx's
// error.
func pgFail(ctx context.Context, table pgx.Identifier, what string, err error) error {
	if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Detail != "" {
		err = detailError{err, pe.Detail}
	}
	// pgconn lists a failed connection's tries on lines of their own,
	// indented with tabs: one line, for job errors and listings.
	err = flatError{err}
	if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
		return fmt.Errorf("%w: postgres %s: %s: %w (%w)", ErrDelivery, table.Sanitize(), what, err, cerr)
	}
	return fmt.Errorf("%w: postgres %s: %s: %w", ErrDelivery, table.Sanitize(), what, err)
}

// flatError is err with its message on one line: its lines (pgconn's
// tries: TLS, then without, often alike) once each, joined with "; "
// (with a space after a line that ends with a colon), white space runs
// made one space.
type flatError struct{ err error }

func (e flatError) Error() string {
	var b strings.Builder
	var seen []string
	for _, line := range strings.Split(e.err.Error(), "\n") {
		line = strings.Join(strings.Fields(line), " ")
		if line == "" || slices.Contains(seen, line) {
			continue
		}
		if b.Len() > 0 {
			if strings.HasSuffix(b.String(), ":") {
				b.WriteByte(' ')
			} else {
				b.WriteString("; ")
			}
		}
		seen = append(seen, line)
		b.WriteString(line)
	}
	return b.String()
}
func (e flatError) Unwrap() error { return e.err }

// detailError adds a server error's detail to its message.
type detailError struct {
	err    error
	detail string
}

func (e detailError) Error() string { return e.err.Error() + ": " + e.detail }
func (e detailError) Unwrap() error { return e.err }

type postgresWriter struct {
	d    *postgresDest
	conn *pgx.Conn
	tx   pgx.Tx
	cols []pgColumn
	mode Mode
	// upsert is the statement that moves the staged rows into the table.
	upsert string
	stats  Stats
	done   bool // committed or aborted
}

func (w *postgresWriter) quotedTable() string { return w.d.table.Sanitize() }

func (w *postgresWriter) open(ctx context.Context) error {
	tx, err := w.conn.Begin(ctx)
	if err != nil {
		return w.fail(ctx, "begin", err)
	}
	w.tx = tx
	defs := make([]string, len(w.cols))
	for i, c := range w.cols {
		defs[i] = pgx.Identifier{c.name}.Sanitize() + " " + c.sqlType
		if i == 0 {
			defs[i] += " PRIMARY KEY"
		}
	}
	if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS "+w.quotedTable()+" ("+strings.Join(defs, ", ")+")"); err != nil {
		return w.fail(ctx, "create the table", err)
	}
	if err := w.checkTable(ctx); err != nil {
		return err
	}
	if w.mode == Full {
		if _, err := tx.Exec(ctx, "DELETE FROM "+w.quotedTable()); err != nil {
			return w.fail(ctx, "delete the rows", err)
		}
		return nil
	}
	if _, err := tx.Exec(ctx, "CREATE TEMPORARY TABLE "+stageTable+" (LIKE "+w.quotedTable()+") ON COMMIT DROP"); err != nil {
		return w.fail(ctx, "create the staging table", err)
	}
	names := make([]string, len(w.cols))
	var sets []string
	for i, c := range w.cols {
		names[i] = pgx.Identifier{c.name}.Sanitize()
		if i > 0 {
			sets = append(sets, names[i]+" = EXCLUDED."+names[i])
		}
	}
	list := strings.Join(names, ", ")
	w.upsert = "INSERT INTO " + w.quotedTable() + " (" + list + ") SELECT " + list + " FROM " + stageTable + " ON CONFLICT (" + names[0] + ") DO "
	if len(sets) == 0 {
		w.upsert += "NOTHING"
	} else {
		w.upsert += "UPDATE SET " + strings.Join(sets, ", ")
	}
	return nil
}

// checkTable compares the table's columns with the export's and checks
// that the key is unique.
func (w *postgresWriter) checkTable(ctx context.Context) error {
	rows, err := w.tx.Query(ctx, `SELECT a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a
		WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`, w.quotedTable())
	if err != nil {
		return w.fail(ctx, "read the table's columns", err)
	}
	have := map[string]string{}
	var order []string
	for rows.Next() {
		var name, typ string
		if err := rows.Scan(&name, &typ); err != nil {
			rows.Close()
			return w.fail(ctx, "read the table's columns", err)
		}
		have[name] = typ
		order = append(order, name)
	}
	if err := rows.Err(); err != nil {
		return w.fail(ctx, "read the table's columns", err)
	}
	var problems []string
	want := map[string]bool{}
	for _, c := range w.cols {
		want[c.name] = true
		typ, ok := have[c.name]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("column %q (%s) is missing", c.name, c.formatType))
		case typ != c.formatType:
			problems = append(problems, fmt.Sprintf("column %q is %s, not %s", c.name, typ, c.formatType))
		}
	}
	for _, name := range order {
		if !want[name] {
			problems = append(problems, fmt.Sprintf("column %q is not among the exported ones", name))
		}
	}
	if len(problems) == 0 {
		var unique bool
		err := w.tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_index i
			JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
			WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indnatts = 1
			AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = $2)`, w.quotedTable(), w.cols[0].name).Scan(&unique)
		if err != nil {
			return w.fail(ctx, "read the table's indexes", err)
		}
		if !unique {
			problems = append(problems, fmt.Sprintf("key column %q has no primary key or unique index of its own", w.cols[0].name))
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%w: postgres %s: the table does not fit the export (%s), and is left as it is: %s",
			ErrDelivery, w.quotedTable(), strings.Join(w.columnList(), ", "), strings.Join(problems, "; "))
	}
	return nil
}

func (w *postgresWriter) columnList() []string {
	out := make([]string, len(w.cols))
	for i, c := range w.cols {
		out[i] = c.name + " " + c.formatType
	}
	return out
}

func (w *postgresWriter) fail(ctx context.Context, what string, err error) error {
	return pgFail(ctx, w.d.table, what, err)
}

// Write copies the batch's rows in (full), or deletes its left keys and
// upserts the others (delta).
func (w *postgresWriter) Write(ctx context.Context, b *Batch) error {
	if w.done {
		return fmt.Errorf("%w: postgres %s: write after the export ended", ErrDelivery, w.quotedTable())
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if int(b.Record.NumRows()) != len(b.Rows) {
		return fmt.Errorf("%w: postgres %s: batch %d has %d rows for %d row descriptions", ErrDelivery, w.quotedTable(), b.Seq, b.Record.NumRows(), len(b.Rows))
	}
	w.stats.Tries++
	var bytes int64
	src := newCopySource(b, w.cols, func(r Row) bool { return w.mode == Full || r.Change.Upsert() })
	if w.mode == Full {
		if _, err := w.tx.CopyFrom(ctx, w.d.table, src.names, src); err != nil {
			return w.fail(ctx, fmt.Sprintf("copy batch %d", b.Seq), err)
		}
	} else {
		var left []string
		for _, r := range b.Rows {
			if !r.Change.Upsert() {
				left = append(left, r.Key)
				bytes += 4 + int64(len(r.Key))
			}
		}
		if len(left) > 0 {
			if _, err := w.tx.Exec(ctx, "DELETE FROM "+w.quotedTable()+" WHERE "+pgx.Identifier{w.cols[0].name}.Sanitize()+" = ANY($1::text[])", left); err != nil {
				return w.fail(ctx, fmt.Sprintf("delete the left rows of batch %d", b.Seq), err)
			}
		}
		if src.rows > 0 {
			if _, err := w.tx.CopyFrom(ctx, pgx.Identifier{stageTable}, src.names, src); err != nil {
				return w.fail(ctx, fmt.Sprintf("copy batch %d", b.Seq), err)
			}
			if _, err := w.tx.Exec(ctx, w.upsert); err != nil {
				return w.fail(ctx, fmt.Sprintf("upsert batch %d", b.Seq), err)
			}
			if _, err := w.tx.Exec(ctx, "TRUNCATE "+stageTable); err != nil {
				return w.fail(ctx, fmt.Sprintf("empty the staging table after batch %d", b.Seq), err)
			}
		}
	}
	w.stats.Batches++
	w.stats.Rows += int64(len(b.Rows))
	w.stats.Bytes += bytes + src.bytes
	return nil
}

// Commit commits the transaction and closes the connection.
func (w *postgresWriter) Commit(ctx context.Context) error {
	if w.done {
		return fmt.Errorf("%w: postgres %s: commit after the export ended", ErrDelivery, w.quotedTable())
	}
	if err := w.tx.Commit(ctx); err != nil {
		return w.fail(ctx, "commit", err)
	}
	w.done = true
	w.close()
	return nil
}

// Abort rolls the transaction back and closes the connection; after
// Commit, or a second time, it does nothing. A rollback that fails (the
// connection broke) leaves the transaction to the server, which rolls it
// back when the connection closes.
func (w *postgresWriter) Abort() error {
	if w.done {
		return nil
	}
	w.done = true
	if w.tx != nil && !w.conn.IsClosed() {
		ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
		defer cancel()
		_ = w.tx.Rollback(ctx)
	}
	w.close()
	return nil
}

func (w *postgresWriter) close() {
	ctx, cancel := context.WithTimeout(context.Background(), abortTimeout)
	defer cancel()
	_ = w.conn.Close(ctx)
}

// Stats returns the rows and batches delivered; Tries equals Batches but
// for a Write that failed.
func (w *postgresWriter) Stats() Stats { return w.stats }

// copySource feeds CopyFrom the rows of a batch that keep (in the table's
// column order), counting their bytes in binary COPY format.
type copySource struct {
	rec   arrow.RecordBatch
	cols  []pgColumn
	names []string
	keep  []int // record rows to copy
	rows  int
	next  int
	row   int
	vals  []any
	bytes int64
}

func newCopySource(b *Batch, cols []pgColumn, keep func(Row) bool) *copySource {
	s := &copySource{rec: b.Record, cols: cols, vals: make([]any, len(cols))}
	for _, c := range cols {
		s.names = append(s.names, c.name)
	}
	for i, r := range b.Rows {
		if keep(r) {
			s.keep = append(s.keep, i)
		}
	}
	s.rows = len(s.keep)
	return s
}

func (s *copySource) Next() bool {
	if s.next >= len(s.keep) {
		return false
	}
	s.row = s.keep[s.next]
	s.next++
	return true
}

func (s *copySource) Values() ([]any, error) {
	s.bytes += 2
	for i, c := range s.cols {
		arr := s.rec.Column(c.col)
		s.bytes += 4
		if arr.IsNull(s.row) {
			s.vals[i] = nil
			continue
		}
		switch a := arr.(type) {
		case *array.String:
			v := a.Value(s.row)
			s.vals[i] = v
			s.bytes += int64(len(v))
		case *array.Int64:
			s.vals[i] = a.Value(s.row)
			s.bytes += 8
		case *array.Float64:
			s.vals[i] = a.Value(s.row)
			s.bytes += 8
		case *array.Date32:
			s.vals[i] = exact.DayTime(int64(a.Value(s.row)))
			s.bytes += 4
		case *array.Timestamp:
			s.vals[i] = exact.MicrosTime(int64(a.Value(s.row)))
			s.bytes += 8
		case *array.Boolean:
			s.vals[i] = a.Value(s.row)
			s.bytes++
		default:
			return nil, fmt.Errorf("column %q: unexpected %s", c.name, arr.DataType())
		}
	}
	return s.vals, nil
}

func (s *copySource) Err() error { return nil }
