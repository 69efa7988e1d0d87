package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// sentinels is every exported sentinel of the module, by package directory
// and name. TestSentinelsAreListed keeps it complete.
var sentinels = map[string]error{
	"catalog.ErrNotFound":         ErrNotFound,
	"catalog.ErrExists":           ErrExists,
	"catalog.ErrInvalidName":      ErrInvalidName,
	"catalog.ErrDraft":            ErrDraft,
	"catalog.ErrInvalid":          ErrInvalid,
	"catalog.ErrReferenced":       ErrReferenced,
	"catalog.ErrCycle":            ErrCycle,
	"catalog.ErrNewerFormat":      ErrNewerFormat,
	"catalog.ErrNotCatalog":       ErrNotCatalog,
	"catalog.ErrLocked":           ErrLocked,
	"catalog.ErrClosed":           ErrClosed,
	"catalog.ErrNoSource":         ErrNoSource,
	"catalog.ErrCancelled":        ErrCancelled,
	"catalog.ErrSchedule":         ErrSchedule,
	"catalog.ErrUnknownField":     ErrUnknownField,
	"catalog.ErrCorrupt":          ErrCorrupt,
	"engine.ErrCompile":           engine.ErrCompile,
	"internal/demo.ErrOptions":    demo.ErrOptions,
	"quick.ErrUnknownSource":      quick.ErrUnknownSource,
	"quick.ErrUnknownField":       quick.ErrUnknownField,
	"quick.ErrOperator":           quick.ErrOperator,
	"quick.ErrValue":              quick.ErrValue,
	"quick.ErrNotOneToOne":        quick.ErrNotOneToOne,
	"schema.ErrSyntax":            schema.ErrSyntax,
	"schema.ErrUnknownType":       schema.ErrUnknownType,
	"schema.ErrUnknownEntity":     schema.ErrUnknownEntity,
	"schema.ErrUnknownAttribute":  schema.ErrUnknownAttribute,
	"schema.ErrDuplicate":         schema.ErrDuplicate,
	"schema.ErrInvalid":           schema.ErrInvalid,
	"schema.ErrRelationship":      schema.ErrRelationship,
	"schema.ErrCycle":             schema.ErrCycle,
	"segment.ErrSyntax":           segment.ErrSyntax,
	"segment.ErrUnknownEntity":    segment.ErrUnknownEntity,
	"segment.ErrUnknownAttribute": segment.ErrUnknownAttribute,
	"segment.ErrUnknownOperator":  segment.ErrUnknownOperator,
	"segment.ErrOperatorType":     segment.ErrOperatorType,
	"segment.ErrValue":            segment.ErrValue,
	"segment.ErrPath":             segment.ErrPath,
	"segment.ErrWhere":            segment.ErrWhere,
	"segment.ErrAggregate":        segment.ErrAggregate,
	"segment.ErrEmpty":            segment.ErrEmpty,
	"segment.ErrGroups":           segment.ErrGroups,
	"segment.ErrName":             segment.ErrName,
	"segment.ErrUnknownSegment":   segment.ErrUnknownSegment,
	"segment.ErrSegmentCycle":     segment.ErrSegmentCycle,
	"segment.ErrMeasure":          segment.ErrMeasure,
	"storage.ErrData":             storage.ErrData,
	"storage.ErrDuplicateKey":     storage.ErrDuplicateKey,
	"storage.ErrNullKey":          storage.ErrNullKey,
	"storage.ErrTooManyCustomers": storage.ErrTooManyCustomers,
}

// exportedErrVars parses the module's non-test Go files and returns the
// exported package-level variables named Err..., as "dir.Name".
func exportedErrVars(t *testing.T) []string {
	t.Helper()
	root, err := filepath.Abs("..")
	require.NoError(t, err)
	_, err = os.Stat(filepath.Join(root, "go.mod"))
	require.NoError(t, err, "the module root is the catalog's parent")
	var out []string
	fset := token.NewFileSet()
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			name := d.Name()
			if path != root && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
				return filepath.SkipDir
			}
			if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && path != root {
				return filepath.SkipDir // another module
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		dir, err := filepath.Rel(root, filepath.Dir(path))
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			g, ok := decl.(*ast.GenDecl)
			if !ok || g.Tok != token.VAR {
				continue
			}
			for _, spec := range g.Specs {
				for _, n := range spec.(*ast.ValueSpec).Names {
					if strings.HasPrefix(n.Name, "Err") && n.IsExported() {
						out = append(out, filepath.ToSlash(dir)+"."+n.Name)
					}
				}
			}
		}
		return nil
	})
	require.NoError(t, err)
	slices.Sort(out)
	return out
}

// TestSentinelsAreListed checks that sentinels lists every exported Err
// variable of the module, that each has a stable code giving it back,
// and that every registered code belongs to one of them.
func TestSentinelsAreListed(t *testing.T) {
	found := exportedErrVars(t)
	require.NotEmpty(t, found)
	listed := make([]string, 0, len(sentinels))
	for k := range sentinels {
		listed = append(listed, k)
	}
	slices.Sort(listed)
	require.Equal(t, found, listed, "every exported Err variable is in sentinels")

	codes := map[string]bool{}
	for name, s := range sentinels {
		code := diag.Code(s)
		require.NotEmpty(t, code, "%s has no code: declare it with diag.NewSentinel", name)
		require.Same(t, s, diag.Sentinel(code), "%s: its code gives it back", name)
		codes[code] = true
	}
	for _, c := range diag.Codes() {
		require.True(t, codes[c], "code %q belongs to no exported sentinel", c)
	}
}

// TestMergedSentinels: a kind that two packages name is one sentinel.
func TestMergedSentinels(t *testing.T) {
	require.Same(t, schema.ErrUnknownEntity, segment.ErrUnknownEntity)
	require.Same(t, schema.ErrUnknownAttribute, segment.ErrUnknownAttribute)
	require.Same(t, segment.ErrSegmentCycle, ErrCycle)
	require.NotErrorIs(t, quick.ErrUnknownField, ErrUnknownField, "same text, different kinds")
	require.NotEqual(t, diag.Code(quick.ErrUnknownField), diag.Code(ErrUnknownField))
}

// rewriteRecord applies fn to the stored record of the named segment,
// with the catalog closed, and reopens it.
func rewriteRecord(t *testing.T, e *env, name string, fn func(r *record, raw []byte) []byte) {
	t.Helper()
	require.NoError(t, e.cat.Close())
	db, err := bolt.Open(e.path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		id, ok := lookup(tx, name)
		require.True(t, ok)
		r, err := getRecord(tx, id)
		require.NoError(t, err)
		raw := fn(r, tx.Bucket(bucketSegments).Get(u64(id)))
		return tx.Bucket(bucketSegments).Put(u64(id), raw)
	}))
	require.NoError(t, db.Close())
	e.open(t, Options{})
}

// TestSentinelsSurviveTheFile stores a draft problem wrapping each
// exported sentinel in the catalog file; after reopening, each problem
// matches its own sentinel with errors.Is and no other.
func TestSentinelsSurviveTheFile(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := e.cat.Create(t.Context(), def("D", `{"attribute": "Customer.Agee", "operator": "equals", "value": 1}`), CreateOptions{})
	require.NoError(t, err)

	names := make([]string, 0, len(sentinels))
	for k := range sentinels {
		names = append(names, k)
	}
	slices.Sort(names)
	rewriteRecord(t, e, "D", func(r *record, _ []byte) []byte {
		var l diag.List
		for _, n := range names {
			l.Merge(n, fmt.Errorf("%w: in context", sentinels[n]))
		}
		r.Problems = storeProblems(l)
		b, err := json.Marshal(r)
		require.NoError(t, err)
		return b
	})
	d, err := e.cat.Get("D")
	require.NoError(t, err)
	require.Len(t, d.Problems, len(names))
	for i, n := range names {
		p := d.Problems[i]
		require.Equal(t, n, p.Path)
		for _, m := range names {
			require.Equal(t, sentinels[m] == sentinels[n], errors.Is(p, sentinels[m]), "%s read back; errors.Is %s", n, m)
		}
		require.Equal(t, diag.Code(sentinels[n]), diag.Code(p))
	}
}

// TestProblemsOfOldFiles reads a record written before codes existed:
// problems name their sentinel by its message text alone.
func TestProblemsOfOldFiles(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := e.cat.Create(t.Context(), def("D", `{"attribute": "Customer.Agee", "operator": "equals", "value": 1}`), CreateOptions{})
	require.NoError(t, err)
	old := []map[string]string{
		{"path": "a", "message": "m", "kind": "unknown entity"},
		{"path": "b", "message": "m", "kind": "unknown attribute type"},
		{"path": "c", "message": "m", "kind": "definition syntax"},
		{"path": "d", "message": "m", "kind": "segment reference cycle"},
		{"path": "e", "message": "m", "kind": "no such kind"},
		{"path": "f", "message": "m"},
	}
	want := []error{schema.ErrUnknownEntity, schema.ErrUnknownType, segment.ErrSyntax, ErrCycle, nil, nil}
	rewriteRecord(t, e, "D", func(_ *record, raw []byte) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m))
		m["problems"] = old
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	})
	d, err := e.cat.Get("D")
	require.NoError(t, err)
	require.Len(t, d.Problems, len(want))
	for i, w := range want {
		require.Equal(t, old[i]["path"], d.Problems[i].Path)
		require.Equal(t, "m", d.Problems[i].Message)
		require.Equal(t, w, d.Problems[i].Err, "problem %s", old[i]["path"])
	}
	require.ErrorIs(t, d.Problems, segment.ErrUnknownEntity, "the merged sentinel matches by either name")
	require.NoError(t, e.cat.Verify())
}
