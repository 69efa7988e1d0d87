package segment_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// addSeeds adds every testdata JSON file and a few malformed inputs.
func addSeeds(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(f, err)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(data)
	}
	for _, s := range []string{``, `{`, `null`, `[]`, `{"groups": [{"condition": {"and": []}}]}`,
		`{"name": "x", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "between", "value": [1e400, -1]}}]}`} {
		f.Add([]byte(s))
	}
}

// requireWellFormed checks that err is a non-empty diag.List whose
// problems all carry a sentinel.
func requireWellFormed(t *testing.T, err error) {
	var l diag.List
	require.True(t, errors.As(err, &l), "%T: %v", err, err)
	require.NotEmpty(t, l)
	for _, p := range l {
		require.NotNil(t, p.Err, "problem without a sentinel: %v", p)
	}
}

// FuzzParse checks that no input makes Parse, the printer or Validate
// panic, that every failure is a problem list, and that whatever parses
// round-trips through JSON.
func FuzzParse(f *testing.F) {
	addSeeds(f)
	s := testSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, s, data)
	})
}

// checkParse is FuzzParse's check of one input, also used by the
// regression tests of inputs the fuzzer found.
func checkParse(t *testing.T, s *schema.Schema, data []byte) {
	d, err := segment.Parse(data)
	if err != nil {
		require.Nil(t, d)
		requireWellFormed(t, err)
		_ = err.Error()
		return
	}
	_ = d.String()
	b1, err := json.Marshal(d)
	require.NoError(t, err)
	d2, err := segment.Parse(b1)
	require.NoError(t, err, "%s", b1)
	require.Equal(t, d, d2)
	b2, err := json.Marshal(d2)
	require.NoError(t, err)
	require.Equal(t, string(b1), string(b2))
	if err := d.ValidateWith(s, segment.ValidateOptions{Segments: func(string) bool { return true }}); err != nil {
		requireWellFormed(t, err)
		_ = err.Error()
	}
}

// FuzzParseMeasure does the same for measures.
func FuzzParseMeasure(f *testing.F) {
	addSeeds(f)
	s := testSchema(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := segment.ParseMeasure(data)
		if err != nil {
			require.Nil(t, m)
			requireWellFormed(t, err)
			return
		}
		_ = m.String()
		b1, err := json.Marshal(m)
		require.NoError(t, err)
		m2, err := segment.ParseMeasure(b1)
		require.NoError(t, err, "%s", b1)
		require.Equal(t, m, m2)
		b2, err := json.Marshal(m2)
		require.NoError(t, err)
		require.Equal(t, string(b1), string(b2))
		if err := m.Validate(s); err != nil {
			requireWellFormed(t, err)
		}
		_ = m.Type(s)
	})
}

// TestParseMalformed runs FuzzParse's check on inputs that stress the
// parser's corners, and stays as the place for inputs the fuzzer finds.
func TestParseMalformed(t *testing.T) {
	s := testSchema(t)
	tests := map[string]string{
		"invalid UTF-8 in a key":         "{\"name\": \"S\", \"gr\xffoups\": []}",
		"invalid UTF-8 in a value":       "{\"name\": \"S\xfe\", \"groups\": [{\"condition\": {\"segment\": \"\xff\"}}]}",
		"NUL byte":                       "{\n  \"00\x00 ",
		"nesting at the limit":           `{"name": "S", "groups": [{"condition": ` + nest(`{"not": `, `{"segment": "A"}`, "}", 496) + `}]}`,
		"nesting over the limit":         nest("[", "", "]", 501),
		"deep value":                     `{"name": "S", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "in", "value": ` + nest("[", "1", "]", 495) + `}}]}`,
		"huge exponent":                  `{"name": "S", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "between", "value": [1e99999999999, -1e-99999999999]}}]}`,
		"huge inLastDays":                `{"name": "S", "groups": [{"condition": {"attribute": "Customer.SignupDate", "operator": "inLastDays", "value": 1e300}}]}`,
		"object key with a dot":          `{"name": "S", "groups": [{"condition": {"segment": "A", "a.b[0]": 1}}]}`,
		"unknown aggregate in a where":   `{"name": "S", "groups": [{"condition": {"related": "Order", "where": {"related": "Order", "aggregate": {"function": "first"}}}}]}`,
		"aggregate not an object":        `{"name": "S", "groups": [{"condition": {"related": "Order", "aggregate": 5, "operator": "equals", "value": 1}}]}`,
		"empty key":                      `{"": 1, "name": "S", "groups": [{"condition": {"": 2, "segment": "A"}}]}`,
		"measure attribute in shorthand": `{"name": "S", "groups": [{"condition": {"attribute": "Measures.", "operator": "isNull"}}]}`,
		"dot only":                       `{"name": "S", "groups": [{"condition": {"attribute": ".", "operator": "isNull"}}]}`,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			checkParse(t, s, []byte(in))
		})
	}
}

func nest(open, inner, close string, n int) string {
	var b []byte
	for range n {
		b = append(b, open...)
	}
	b = append(b, inner...)
	for range n {
		b = append(b, close...)
	}
	return string(b)
}
