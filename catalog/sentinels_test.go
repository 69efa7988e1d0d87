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

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/export"
	colview "github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/internal/regular"
	"github.com/segmentkit/segmentkit/internal/sqlsyntax"
	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/sqlgen"
	"github.com/segmentkit/segmentkit/storage"
)

// sentinels is every exported sentinel of the module, by package directory
// and name. TestSentinelsAreListed keeps it complete.
var sentinels = map[string]error{
	"catalog.ErrNotFound":              ErrNotFound,
	"catalog.ErrExists":                ErrExists,
	"catalog.ErrInvalidName":           ErrInvalidName,
	"catalog.ErrDraft":                 ErrDraft,
	"catalog.ErrInvalid":               ErrInvalid,
	"catalog.ErrReferenced":            ErrReferenced,
	"catalog.ErrReadOnly":              ErrReadOnly,
	"catalog.ErrCycle":                 ErrCycle,
	"catalog.ErrNewerFormat":           ErrNewerFormat,
	"catalog.ErrNotCatalog":            ErrNotCatalog,
	"catalog.ErrLocked":                ErrLocked,
	"catalog.ErrClosed":                ErrClosed,
	"catalog.ErrNoSource":              ErrNoSource,
	"catalog.ErrNoMembers":             ErrNoMembers,
	"analysis.ErrSets":                 analysis.ErrSets,
	"analysis.ErrUnknownField":         analysis.ErrUnknownField,
	"analysis.ErrEmpty":                analysis.ErrEmpty,
	"analysis.ErrOptions":              analysis.ErrOptions,
	"catalog.ErrCancelled":             ErrCancelled,
	"catalog.ErrSchedule":              ErrSchedule,
	"catalog.ErrUnknownField":          ErrUnknownField,
	"catalog.ErrCorrupt":               ErrCorrupt,
	"catalog.ErrSplit":                 ErrSplit,
	"catalog.ErrHoldout":               ErrHoldout,
	"catalog.ErrPriorityList":          ErrPriorityList,
	"catalog.ErrUnauthorized":          ErrUnauthorized,
	"catalog.ErrRole":                  ErrRole,
	"engine.ErrCompile":                engine.ErrCompile,
	"engine.ErrUnknownCustomer":        engine.ErrUnknownCustomer,
	"export.ErrUnknownField":           export.ErrUnknownField,
	"export.ErrDestination":            export.ErrDestination,
	"export.ErrDelivery":               export.ErrDelivery,
	"export.ErrMode":                   export.ErrMode,
	"export.ErrBadBatch":               export.ErrBadBatch,
	"internal/demo.ErrOptions":         demo.ErrOptions,
	"internal/column.ErrNotNormalized": colview.ErrNotNormalized,
	"internal/exact.ErrNotNumber":      exact.ErrNotNumber,
	"internal/exact.ErrFloatRange":     exact.ErrFloatRange,
	"internal/exact.ErrNotDate":        exact.ErrNotDate,
	"internal/exact.ErrNoSuchDay":      exact.ErrNoSuchDay,
	"internal/exact.ErrNotDatetime":    exact.ErrNotDatetime,
	"internal/exact.ErrBetweenOrder":   exact.ErrBetweenOrder,
	"internal/exact.ErrDays":           exact.ErrDays,
	"internal/exact.ErrLeapSecond":     exact.ErrLeapSecond,
	"internal/exact.ErrDateRange":      exact.ErrDateRange,
	"internal/exact.ErrDatetimeRange":  exact.ErrDatetimeRange,
	"internal/regular.ErrNotRegular":   regular.ErrNotRegular,
	"internal/regular.ErrTooLong":      regular.ErrTooLong,
	"internal/sqlsyntax.ErrDialect":    sqlsyntax.ErrDialect,
	"internal/sqlsyntax.ErrNoNode":     sqlsyntax.ErrNoNode,
	"internal/sqlsyntax.ErrBuild":      sqlsyntax.ErrBuild,
	"internal/sqlsyntax.ErrChecker":    sqlsyntax.ErrChecker,
	"quick.ErrUnknownOrigin":           quick.ErrUnknownOrigin,
	"quick.ErrUnknownField":            quick.ErrUnknownField,
	"quick.ErrOperator":                quick.ErrOperator,
	"quick.ErrValue":                   quick.ErrValue,
	"quick.ErrNotOneToOne":             quick.ErrNotOneToOne,
	"schema.ErrSyntax":                 schema.ErrSyntax,
	"schema.ErrUnknownType":            schema.ErrUnknownType,
	"schema.ErrUnknownEntity":          schema.ErrUnknownEntity,
	"schema.ErrUnknownAttribute":       schema.ErrUnknownAttribute,
	"schema.ErrDuplicate":              schema.ErrDuplicate,
	"schema.ErrInvalid":                schema.ErrInvalid,
	"schema.ErrLimit":                  schema.ErrLimit,
	"schema.ErrRelationship":           schema.ErrRelationship,
	"schema.ErrCycle":                  schema.ErrCycle,
	"segment.ErrSyntax":                segment.ErrSyntax,
	"segment.ErrUnknownEntity":         segment.ErrUnknownEntity,
	"segment.ErrUnknownAttribute":      segment.ErrUnknownAttribute,
	"segment.ErrUnknownOperator":       segment.ErrUnknownOperator,
	"segment.ErrOperatorType":          segment.ErrOperatorType,
	"segment.ErrValue":                 segment.ErrValue,
	"segment.ErrPath":                  segment.ErrPath,
	"segment.ErrWhere":                 segment.ErrWhere,
	"segment.ErrAggregate":             segment.ErrAggregate,
	"segment.ErrEmpty":                 segment.ErrEmpty,
	"segment.ErrGroups":                segment.ErrGroups,
	"segment.ErrLimit":                 segment.ErrLimit,
	"segment.ErrName":                  segment.ErrName,
	"segment.ErrUnknownSegment":        segment.ErrUnknownSegment,
	"segment.ErrSegmentCycle":          segment.ErrSegmentCycle,
	"segment.ErrMeasure":               segment.ErrMeasure,
	"sqlgen.ErrUnsupported":            sqlgen.ErrUnsupported,
	"sqlgen.ErrUnknownDialect":         sqlgen.ErrUnknownDialect,
	"sqlgen.ErrOptions":                sqlgen.ErrOptions,
	"storage.ErrData":                  storage.ErrData,
	"storage.ErrDuplicateKey":          storage.ErrDuplicateKey,
	"storage.ErrNullKey":               storage.ErrNullKey,
	"storage.ErrTooManyCustomers":      storage.ErrTooManyCustomers,
	"storage.ErrSnapshotFile":          storage.ErrSnapshotFile,
	"storage.ErrAppendNeedsLoad":       storage.ErrAppendNeedsLoad,
	"storage.ErrLimit":                 storage.ErrLimit,
}

// exportedErrVars parses the module's non-test Go files and returns the
// exported package-level variables named Err..., as "dir.Name".
// aboveCatalog are the packages that import catalog, which this test
// cannot import: each checks its own sentinels the same way
// (server/sentinels_test.go).
var aboveCatalog = []string{"server"}

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
			if rel, _ := filepath.Rel(root, path); slices.Contains(aboveCatalog, filepath.ToSlash(rel)) {
				return filepath.SkipDir
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

// reopenWithProblems saves a draft, writes problems (JSON) as its stored
// problems straight into the catalog file, reopens the catalog and returns
// the draft's problems as read back.
func reopenWithProblems(t *testing.T, problems any) diag.List {
	t.Helper()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(t.Context(), def("D", `{"attribute": "Customer.Agee", "operator": "equals", "value": 1}`), CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, e.cat.Close())
	db, err := bolt.Open(e.path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		id, ok := lookup(tx, "D")
		require.True(t, ok)
		var m map[string]any
		require.NoError(t, decodeRecord(u64(id), tx.Bucket(bucketSegments).Get(u64(id)), &m))
		m["problems"] = problems
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return tx.Bucket(bucketSegments).Put(u64(id), b)
	}))
	require.NoError(t, db.Close())
	e.open(t, Options{})
	require.NoError(t, e.cat.Verify())
	d, err := e.cat.Get("D")
	require.NoError(t, err)
	return d.Problems
}

// TestSentinelsSurviveTheFile stores a draft problem wrapping each
// exported sentinel in the catalog file; after reopening, each problem
// matches its own sentinel with errors.Is and no other.
func TestSentinelsSurviveTheFile(t *testing.T) {
	names := make([]string, 0, len(sentinels))
	for k := range sentinels {
		names = append(names, k)
	}
	slices.Sort(names)
	var l diag.List
	for _, n := range names {
		l.Merge(n, fmt.Errorf("%w: in context", sentinels[n]))
	}
	got := reopenWithProblems(t, storeProblems(l))
	require.Len(t, got, len(names))
	for i, n := range names {
		p := got[i]
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
	old := []map[string]string{
		{"path": "a", "message": "m", "kind": "unknown entity"},
		{"path": "b", "message": "m", "kind": "unknown attribute type"},
		{"path": "c", "message": "m", "kind": "definition syntax"},
		{"path": "d", "message": "m", "kind": "segment reference cycle"},
		{"path": "e", "message": "m", "kind": "no such kind"},
		{"path": "f", "message": "m"},
	}
	want := []error{schema.ErrUnknownEntity, schema.ErrUnknownType, segment.ErrSyntax, ErrCycle, nil, nil}
	got := reopenWithProblems(t, old)
	require.Len(t, got, len(want))
	for i, w := range want {
		require.Equal(t, old[i]["path"], got[i].Path)
		require.Equal(t, "m", got[i].Message)
		require.Equal(t, w, got[i].Err, "problem %s", old[i]["path"])
	}
	require.ErrorIs(t, got, segment.ErrUnknownEntity, "the merged sentinel matches by either name")
}

// TestUnknownCode: a code this version does not know (a newer one wrote
// it) leaves the problem without a sentinel, whatever its kind text says.
func TestUnknownCode(t *testing.T) {
	got := reopenWithProblems(t, []map[string]string{{"message": "m", "code": "segment.from_the_future", "kind": "definition syntax"}})
	require.Len(t, got, 1)
	require.Nil(t, got[0].Err)
	require.Equal(t, "m", got[0].Message)
}

// TestSentinelCodesDocumented: docs/library.md's table of sentinels lists
// the code of every exported sentinel of a public package.
func TestSentinelCodesDocumented(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "library.md"))
	require.NoError(t, err)
	var documented []string
	for _, line := range strings.Split(string(doc), "\n") {
		cells := strings.Split(line, "|")
		if len(cells) != 5 || !strings.Contains(line, "Err") {
			continue
		}
		code := strings.Trim(strings.TrimSpace(cells[3]), "`")
		if pkg, _, _ := strings.Cut(code, "."); slices.Contains(aboveCatalog, pkg) {
			continue
		}
		documented = append(documented, code)
	}
	var want []string
	for name, s := range sentinels {
		if !strings.HasPrefix(name, "internal/") && !slices.Contains(want, diag.Code(s)) {
			want = append(want, diag.Code(s))
		}
	}
	slices.Sort(want)
	slices.Sort(documented)
	require.Equal(t, want, documented)
}
