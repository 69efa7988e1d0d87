package shrink

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestDefinition(t *testing.T) {
	def := []byte(`{"name":"D","groups":[` +
		`{"condition":{"and":[{"attribute":"Customer.Age","operator":"equals","value":1},{"not":{"attribute":"Customer.Bad","operator":"isNull"}}]}},` +
		`{"setOperator":"union","condition":{"attribute":"Customer.Age","operator":"in","value":[1,2,3]}}]}`)
	failing := func(d []byte) bool { return strings.Contains(string(d), "Customer.Bad") }
	small := Definition(def, failing)
	require.True(t, failing(small))
	require.JSONEq(t, `{"name":"D","groups":[{"condition":{"attribute":"Customer.Bad","operator":"isNull"}}]}`, string(small))
}

func TestRows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "Order.csv")
	require.NoError(t, os.WriteFile(path, []byte("Id,Note\n1,a\n2,\"b, c\"\n3,bad\n4,d\n"), 0o644))
	failing := func() bool {
		b, err := os.ReadFile(path)
		return err == nil && strings.Contains(string(b), "bad")
	}
	Rows(dir, failing)
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "Id,Note\n3,bad\n", string(b))
}
