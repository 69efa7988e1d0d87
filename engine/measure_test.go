package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// loader builds a snapshot of the test data with the schema schemaJSON.
type loader struct {
	name string
	load func(t *testing.T, mem memory.Allocator, schemaJSON string) *storage.Snapshot
}

// loaders are the three ways to build a snapshot: Load from a data
// directory, FromTables and FromRecords from Arrow data (the columns Load
// read, under a schema parsed anew).
func loaders() []loader {
	loadDir := func(t *testing.T, mem memory.Allocator, schemaJSON string) *storage.Snapshot {
		t.Helper()
		dir := writeDir(t)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "schema.json"), []byte(schemaJSON), 0o644))
		snap, err := storage.Load(context.Background(), dir, storage.Options{Allocator: mem})
		require.NoError(t, err)
		return snap
	}
	// fromArrow hands every entity of a loaded snapshot to build as one
	// record batch, then releases what it made.
	fromArrow := func(build func(sch *schema.Schema, recs map[string]arrow.RecordBatch, opts storage.Options) (*storage.Snapshot, error)) func(*testing.T, memory.Allocator, string) *storage.Snapshot {
		return func(t *testing.T, mem memory.Allocator, schemaJSON string) *storage.Snapshot {
			t.Helper()
			src := loadDir(t, mem, schemaJSON)
			defer src.Release()
			recs := map[string]arrow.RecordBatch{}
			for _, e := range src.Schema().Entities {
				tbl := src.Table(e.Name)
				fields := make([]arrow.Field, len(tbl.Columns))
				cols := make([]arrow.Array, len(tbl.Columns))
				for i, c := range tbl.Columns {
					fields[i] = arrow.Field{Name: c.Attr.Name, Type: c.Data.DataType(), Nullable: true}
					cols[i] = c.Data
				}
				recs[e.Name] = array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, int64(tbl.NumRows))
			}
			defer func() {
				for _, r := range recs {
					r.Release()
				}
			}()
			sch, err := schema.Parse([]byte(schemaJSON))
			require.NoError(t, err)
			snap, err := build(sch, recs, storage.Options{Allocator: mem})
			require.NoError(t, err)
			return snap
		}
	}
	return []loader{
		{"Load", loadDir},
		{"FromTables", fromArrow(func(sch *schema.Schema, recs map[string]arrow.RecordBatch, opts storage.Options) (*storage.Snapshot, error) {
			tables := map[string]arrow.Table{}
			for name, r := range recs {
				tables[name] = array.NewTableFromRecords(r.Schema(), []arrow.RecordBatch{r})
			}
			defer func() {
				for _, t := range tables {
					t.Release()
				}
			}()
			return storage.FromTables(context.Background(), sch, tables, opts)
		})},
		{"FromRecords", fromArrow(func(sch *schema.Schema, recs map[string]arrow.RecordBatch, opts storage.Options) (*storage.Snapshot, error) {
			return storage.FromRecords(context.Background(), sch, recs, opts)
		})},
	}
}

// withMeasures returns the test schema with its measures replaced.
func withMeasures(measures ...string) string {
	start := strings.Index(testSchema, `"measures": [`)
	return testSchema[:start] + `"measures": [` + strings.Join(measures, ", ") + "]\n}"
}

// TestMeasuresAlikeForEveryLoader checks that the measures of a schema
// are judged the same whichever loader built the snapshot: every loader
// accepts the data, the snapshot's measures hold the same problems (same
// sentinel, path and message), and compiling any definition reports them
// under "schema.".
func TestMeasuresAlikeForEveryLoader(t *testing.T) {
	spend := `{"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amount"}}`
	tests := []struct {
		name     string
		measures []string
		sentinel error
		path     string
		message  string
	}{
		{"unknown function", []string{`{"name": "Spend", "related": "Order", "aggregate": {"function": "sun", "attribute": "Order.Amount"}}`},
			segment.ErrAggregate, "measures[0].aggregate.function", `unknown function "sun"`},
		{"unknown attribute", []string{`{"name": "Spend", "related": "Order", "aggregate": {"function": "sum", "attribute": "Order.Amont"}}`},
			segment.ErrUnknownAttribute, "measures[0].aggregate.attribute", `Order has no attribute "Amont"`},
		{"unknown key", []string{spend, `{"name": "Qty", "related": "Order", "aggregate": {"function": "count"}, "extra": 1}`},
			segment.ErrSyntax, "measures[1].extra", `unknown key "extra" in a measure`},
		{"same name twice", []string{spend, spend},
			segment.ErrMeasure, "measures[1].name", `measure "Spend" is already defined at measures[0]`},
		{"where on another entity", []string{`{"name": "Web", "related": "Order", "where": {"attribute": "Customer.S", "operator": "equals", "value": "x"}, "aggregate": {"function": "count"}}`},
			segment.ErrWhere, "measures[0].where.attribute", "use only attributes of Order"},
	}
	def, err := segment.Parse([]byte(`{"name": "Any", "groups": [{"condition": ` + pred("I", "isNotNull", "") + `}]}`))
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var first struct{ measures, compile diag.List }
			for i, ld := range loaders() {
				t.Run(ld.name, func(t *testing.T) {
					mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
					defer mem.AssertSize(t, 0)
					snap := ld.load(t, mem, withMeasures(tt.measures...))
					defer snap.Release()

					err := engine.Measures(snap).Err()
					require.ErrorIs(t, err, tt.sentinel)
					measures := problemsOf(t, err)
					requireProblemAt(t, measures, tt.sentinel, tt.path, tt.message)
					require.Nil(t, engine.Measures(snap).List())

					_, err = engine.Compile(def, snap, engine.Options{})
					require.ErrorIs(t, err, tt.sentinel)
					compile := problemsOf(t, err)
					requireProblemAt(t, compile, tt.sentinel, "schema."+tt.path, tt.message)
					require.Equal(t, compile, problemsOf(t, def.Validate(snap.Schema())), "Compile reports what Validate does")

					if i == 0 {
						first.measures, first.compile = measures, compile
						return
					}
					require.Equal(t, first.measures, measures, "as for Load")
					require.Equal(t, first.compile, compile, "as for Load")
				})
			}
		})
	}

	t.Run("valid", func(t *testing.T) {
		var want []uint32
		for i, ld := range loaders() {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			snap := ld.load(t, mem, testSchema)
			require.NoError(t, engine.Measures(snap).Err(), ld.name)
			require.Len(t, engine.Measures(snap).List(), 3, ld.name)
			def, err := segment.Parse([]byte(`{"name": "Big", "groups": [{"condition": {"attribute": "Measures.Spend", "operator": "greaterThan", "value": 500}}]}`))
			require.NoError(t, err)
			plan, err := engine.Compile(def, snap, engine.Options{})
			require.NoError(t, err, ld.name)
			bm, err := plan.Eval(context.Background(), asOf)
			require.NoError(t, err)
			if i == 0 {
				want = bm.ToArray()
				require.NotEmpty(t, want)
			}
			require.Equal(t, want, bm.ToArray(), ld.name)
			snap.Release()
			mem.AssertSize(t, 0)
		}
	})
}

// TestMeasuresOncePerSnapshot checks that a snapshot's measures are one
// value for its life, the same for concurrent callers, and another for
// another snapshot.
func TestMeasuresOncePerSnapshot(t *testing.T) {
	a, b := load(t), load(t)
	got := make([]*segment.Measures, 8)
	done := make(chan struct{})
	for i := range got {
		go func() {
			got[i] = engine.Measures(a)
			done <- struct{}{}
		}()
	}
	for range got {
		<-done
	}
	for _, ms := range got {
		require.Same(t, got[0], ms)
	}
	require.Same(t, a.Schema(), got[0].Schema())
	require.NotSame(t, got[0], engine.Measures(b))
	spend, ok := got[0].Lookup("Spend")
	require.True(t, ok)
	again, _ := engine.Measures(a).Lookup("Spend")
	require.Same(t, spend, again)

	require.Empty(t, engine.Measures(nil).List())
	require.NoError(t, engine.Measures(nil).Err())
}

// problemsOf returns the problems of err, which must be a diag.List.
func problemsOf(t *testing.T, err error) diag.List {
	t.Helper()
	var l diag.List
	require.True(t, errors.As(err, &l), "%T is not a diag.List: %v", err, err)
	return l
}

// requireProblemAt checks that l has a problem at path wrapping sentinel
// whose message contains message.
func requireProblemAt(t *testing.T, l diag.List, sentinel error, path, message string) {
	t.Helper()
	for _, p := range l {
		if p.Path == path {
			require.ErrorIs(t, p, sentinel, "%s", p)
			require.Contains(t, p.Message, message)
			return
		}
	}
	require.Failf(t, "no problem", "no problem at %s in %v", path, l)
}

// TestMeasuresParsedOnce checks that compiling and evaluating many
// definitions and computing a measure's values parse a snapshot's measures
// once, and another snapshot's once more.
func TestMeasuresParsedOnce(t *testing.T) {
	count, restore := engine.CountMeasureParses()
	defer restore()
	snap := load(t)
	for _, cond := range []string{
		`{"attribute": "Measures.Spend", "operator": "greaterThan", "value": 500}`,
		`{"attribute": "Measures.LastChannel", "operator": "equals", "value": "web"}`,
		pred("I", "isNotNull", ""),
		`{"attribute": "Measures.Spend", "operator": "greaterThan", "value": 500}`,
	} {
		require.NotNil(t, members(t, snap, cond, engine.Options{}))
	}
	spend, ok := engine.Measures(snap).Lookup("Spend")
	require.True(t, ok)
	_, err := engine.EvalMeasure(context.Background(), snap, spend, asOf)
	require.NoError(t, err)
	require.Equal(t, 1, count())

	other := load(t)
	require.NotNil(t, members(t, other, pred("I", "isNotNull", ""), engine.Options{}))
	require.NotNil(t, members(t, snap, pred("I", "isNull", ""), engine.Options{}))
	require.Equal(t, 2, count())
}
