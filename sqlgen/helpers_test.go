package sqlgen_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	_ "modernc.org/sqlite"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/sqlload"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/sqlgen"
	"github.com/segmentkit/segmentkit/storage"
)

// features overrides a dialect's Features, to run the compiler's other
// ways of writing a query (no CTEs, no set operators, no window functions)
// on SQLite.
type features struct {
	sqlgen.Dialect
	f sqlgen.Features
}

func (d features) Features() sqlgen.Features { return d.f }

// variants are the ways each definition is compiled for SQLite in turn.
var variants = []struct {
	name   string
	f      sqlgen.Features
	inline bool
}{
	{"params", sqlgen.Features{CTE: true, SetOps: true, Window: true, Params: true}, false},
	{"inline", sqlgen.Features{CTE: true, SetOps: true, Window: true, Params: true}, true},
	{"nested", sqlgen.Features{CTE: false, SetOps: true, Window: true, Params: true}, false},
	{"membership", sqlgen.Features{CTE: true, SetOps: false, Window: true, Params: false}, true},
	{"nested-membership", sqlgen.Features{CTE: false, SetOps: false, Window: true, Params: true}, false},
}

// memberTable is the table holding a segment's members, for a segment
// reference given as a table.
func memberTable(name string) string { return "members_" + name }

// refs are the segments a definition may reference: by table (keys) or by
// definition.
type refs struct {
	keys map[string][]string
	defs map[string][]byte
}

var dbCount atomic.Int64

// openDB loads the data directory into a new in-memory SQLite database,
// with a table of member keys per keyed segment.
func openDB(ctx context.Context, dir string, key schema.Attribute, r refs) (*sql.DB, error) {
	// A named in-memory database per call, shared by the pool's
	// connections.
	dsn := fmt.Sprintf("file:sqlgen%d?mode=memory&cache=shared", dbCount.Add(1))
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(1)
	if err := sqlload.Load(ctx, db, dir, nil); err != nil {
		db.Close()
		return nil, err
	}
	for name, keys := range r.keys {
		if err := sqlload.Keys(ctx, db, memberTable(name), key.Name, key.Type, keys); err != nil {
			db.Close()
			return nil, err
		}
	}
	return db, nil
}

// sqlMembers compiles and runs a definition, returning the member keys,
// sorted.
func sqlMembers(ctx context.Context, db *sql.DB, def *segment.Definition, snap *storage.Snapshot, opts sqlgen.Options) ([]string, *sqlgen.Query, error) {
	q, err := sqlgen.Compile(def, snap.Schema(), opts)
	if err != nil {
		return nil, nil, fmt.Errorf("compile: %w", err)
	}
	rows, err := db.QueryContext(ctx, q.SQL, q.Args...)
	if err != nil {
		return nil, q, fmt.Errorf("query: %w", err)
	}
	defer rows.Close()
	keys := []string{}
	for rows.Next() {
		var v any
		if err := rows.Scan(&v); err != nil {
			return nil, q, err
		}
		switch x := v.(type) {
		case int64:
			keys = append(keys, strconv.FormatInt(x, 10))
		case string:
			keys = append(keys, x)
		case []byte:
			keys = append(keys, string(x))
		default:
			return nil, q, fmt.Errorf("key %v of type %T", v, v)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, q, err
	}
	slices.Sort(keys)
	if n := len(keys); n > 0 && len(slices.Compact(slices.Clone(keys))) != n {
		return nil, q, fmt.Errorf("the query returns a key more than once")
	}
	return keys, q, nil
}

// engineMembers evaluates a definition with the engine, returning the
// member keys, sorted. A panic is an error.
func engineMembers(ctx context.Context, snap *storage.Snapshot, def *segment.Definition, asOf time.Time, r refs) (keys []string, err error) {
	defer func() {
		if p := recover(); p != nil {
			keys, err = nil, fmt.Errorf("engine panic: %v\n%s", p, debug.Stack())
		}
	}()
	opts := engine.Options{Segments: map[string]*roaring.Bitmap{}}
	for name, ks := range r.keys {
		bm := roaring.New()
		for _, k := range ks {
			if id, ok := snap.CustomerID(k); ok {
				bm.Add(id)
			}
		}
		opts.Segments[name] = bm
	}
	for name, defJSON := range r.defs {
		d, err := segment.Parse(defJSON)
		if err != nil {
			return nil, err
		}
		plan, err := engine.Compile(d, snap, engine.Options{})
		if err != nil {
			return nil, fmt.Errorf("segment %s: %w", name, err)
		}
		bm, err := plan.Eval(ctx, asOf)
		if err != nil {
			return nil, err
		}
		opts.Segments[name] = bm
	}
	plan, err := engine.Compile(def, snap, opts)
	if err != nil {
		return nil, fmt.Errorf("engine compile: %w", err)
	}
	bm, err := plan.Eval(ctx, asOf)
	if err != nil {
		return nil, err
	}
	keys = []string{}
	for _, id := range bm.ToArray() {
		keys = append(keys, snap.CustomerKey(id))
	}
	slices.Sort(keys)
	return keys, nil
}

// sqlOptions are the options of a variant, with the references r.
func sqlOptions(v int, asOf time.Time, r refs) (sqlgen.Options, error) {
	opts := sqlgen.Options{
		Dialect:  features{sqlgen.SQLite, variants[v].f},
		AsOf:     asOf,
		Inline:   variants[v].inline,
		Segments: map[string]sqlgen.Reference{},
	}
	for name := range r.keys {
		opts.Segments[name] = sqlgen.Reference{Table: memberTable(name)}
	}
	for name, defJSON := range r.defs {
		d, err := segment.Parse(defJSON)
		if err != nil {
			return opts, err
		}
		opts.Segments[name] = sqlgen.Reference{Definition: d}
	}
	return opts, nil
}

// writeRefs writes the references of a kept case: segments.json holds the
// keyed segments' member keys and the definitions of the others.
func writeRefs(dir string, r refs) error {
	out := map[string]json.RawMessage{}
	for name, keys := range r.keys {
		b, err := json.Marshal(map[string]any{"keys": keys})
		if err != nil {
			return err
		}
		out[name] = b
	}
	for name, def := range r.defs {
		out[name] = json.RawMessage(`{"definition":` + string(def) + `}`)
	}
	b, err := json.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "segments.json"), append(b, '\n'), 0o644)
}

// readRefs reads segments.json of a case, if it has one.
func readRefs(dir string) (refs, error) {
	r := refs{keys: map[string][]string{}, defs: map[string][]byte{}}
	b, err := os.ReadFile(filepath.Join(dir, "segments.json"))
	if os.IsNotExist(err) {
		return r, nil
	}
	if err != nil {
		return r, err
	}
	var in map[string]struct {
		Keys       []string        `json:"keys"`
		Definition json.RawMessage `json:"definition"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return r, err
	}
	for name, s := range in {
		if s.Definition != nil {
			r.defs[name] = s.Definition
		} else {
			r.keys[name] = s.Keys
		}
	}
	return r, nil
}

func describeKeys(keys []string) string {
	if len(keys) == 0 {
		return "-"
	}
	return strings.Join(keys, " ")
}

// minus returns the keys of a not in b; both are sorted.
func minus(a, b []string) []string {
	var out []string
	for _, x := range a {
		if _, found := slices.BinarySearch(b, x); !found {
			out = append(out, x)
		}
	}
	return out
}

// behaviourOnly reports whether err is the compiler's report that SQL
// does not express the behavioural conditions (FORMAT.md section 6) of a
// definition or of the measures it reads, and nothing else.
func behaviourOnly(err error) bool {
	var l diag.List
	if !errors.Is(err, sqlgen.ErrUnsupported) || !errors.As(err, &l) || len(l) == 0 {
		return false
	}
	for _, p := range l {
		named := false
		for _, mark := range []string{"operator matches ", "operator anniversaryIn", "a sequence of related rows",
			"stopped (rows", "started (rows", "countDistinct by calendar"} {
			named = named || strings.Contains(p.Message, mark)
		}
		if !named {
			return false
		}
	}
	return true
}
