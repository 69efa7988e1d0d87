package segment_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// testSchema is FORMAT.md's schema grown with OrderLine -> Order ->
// Customer, SupportCase, Product (no path to Customer), Shipment (two paths:
// ShipmentBillTo, ShipmentShipTo), Visit (VisitCustomer, and VisitOrder ->
// OrderCustomer) and four measures.
func testSchema(t testing.TB) *schema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "schema.json"))
	require.NoError(t, err)
	s, err := schema.Parse(data)
	require.NoError(t, err)
	return s
}

// schemaWith returns the test schema with its measures replaced.
func schemaWith(t testing.TB, measures ...string) *schema.Schema {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "schema.json"))
	require.NoError(t, err)
	s, err := schema.Parse(data)
	require.NoError(t, err)
	s.Measures = nil
	for _, m := range measures {
		s.Measures = append(s.Measures, []byte(m))
	}
	return s
}

// problems returns the problems of err, which must be a diag.List.
func problems(t testing.TB, err error) diag.List {
	t.Helper()
	require.Error(t, err)
	var l diag.List
	require.True(t, errors.As(err, &l), "error %T is not a diag.List: %v", err, err)
	return l
}

// want describes one expected problem.
type want struct {
	err        error
	path       string
	msg        string // a substring of the message
	suggestion string
}

// requireProblem checks that err holds a problem matching w.
func requireProblem(t testing.TB, err error, w want) {
	t.Helper()
	require.ErrorIs(t, err, w.err)
	for _, p := range problems(t, err) {
		if p.Path == w.path && errors.Is(p, w.err) && strings.Contains(p.Message, w.msg) {
			require.Equal(t, w.suggestion, p.Suggestion, "suggestion of %q", p.Error())
			return
		}
	}
	require.Failf(t, "problem not found", "want %v at %q with %q; got:\n%v", w.err, w.path, w.msg, err)
}

func mustParse(t testing.TB, js string) *segment.Definition {
	t.Helper()
	d, err := segment.Parse([]byte(js))
	require.NoError(t, err)
	return d
}

func readFile(t testing.TB, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(data)
}
