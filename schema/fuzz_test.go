package schema_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// FuzzParse checks that no schema.json makes Parse or the path search
// panic, that every error carries one of the package's sentinels and a
// bounded message, and that a schema that parses answers Paths for every
// entity and validates again.
//
//	go test ./schema/ -run '^$' -fuzz FuzzParse -fuzztime 10m
func FuzzParse(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("..", "conformance", "testdata", "*", "schema.json"))
	require.NoError(f, err)
	require.NotEmpty(f, files)
	for _, file := range files {
		data, err := os.ReadFile(file)
		require.NoError(f, err)
		f.Add(data)
	}
	for _, s := range []string{``, `{`, `null`, `[]`, "\uFEFF{}", `{"customerEntity": "C", "entities": [{"name": "C", "key": "K", "source": "c.csv", "attributes": [{"name": "K", "type": "string"}]}]}`} {
		f.Add([]byte(s))
	}
	sentinels := []error{schema.ErrSyntax, schema.ErrUnknownType, schema.ErrUnknownEntity, schema.ErrUnknownAttribute,
		schema.ErrDuplicate, schema.ErrInvalid, schema.ErrRelationship, schema.ErrCycle, schema.ErrLimit}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := schema.Parse(data)
		if err != nil {
			require.Nil(t, s)
			var l diag.List
			if errors.As(err, &l) {
				require.NotEmpty(t, l)
			}
			found := false
			for _, sentinel := range sentinels {
				found = found || errors.Is(err, sentinel)
			}
			require.True(t, found, "an error without a schema sentinel: %v", err)
			require.LessOrEqual(t, len(err.Error()), 64<<10, "an unbounded message")
			return
		}
		for _, name := range s.EntityNames() {
			e, ok := s.Entity(name)
			require.True(t, ok, name)
			require.Equal(t, name, e.Name)
			for _, p := range s.Paths(name) {
				require.True(t, s.ValidPath(name, p), "%s: %v", name, p)
			}
		}
		require.NoError(t, s.Validate())
	})
}
