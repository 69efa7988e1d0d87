package server

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/diag"
)

// sentinels are the package's; catalog's sentinel tests cover the
// packages below it.
var sentinels = map[string]error{
	"ErrConfig": ErrConfig, "ErrBadRequest": ErrBadRequest, "ErrBodyTooLarge": ErrBodyTooLarge,
	"ErrUnauthenticated": ErrUnauthenticated, "ErrForbidden": ErrForbidden, "ErrCSRF": ErrCSRF,
	"ErrNoRoute": ErrNoRoute, "ErrTimeout": ErrTimeout,
}

func TestSentinels(t *testing.T) {
	// Every exported Err variable of the package is listed.
	var found []string
	for _, f := range must(os.ReadDir(".")) {
		if !strings.HasSuffix(f.Name(), ".go") || strings.HasSuffix(f.Name(), "_test.go") {
			continue
		}
		for _, line := range strings.Split(string(must(os.ReadFile(f.Name()))), "\n") {
			fields := strings.Fields(strings.TrimPrefix(strings.TrimSpace(line), "var "))
			if len(fields) >= 2 && fields[1] == "=" && strings.HasPrefix(fields[0], "Err") && strings.Contains(line, "diag.NewSentinel") {
				found = append(found, fields[0])
			}
		}
	}
	var listed []string
	for k := range sentinels {
		listed = append(listed, k)
	}
	slices.Sort(found)
	slices.Sort(listed)
	require.Equal(t, listed, found)

	// Each has a code that gives it back, documented in docs/library.md.
	doc := string(must(os.ReadFile("../docs/library.md")))
	for name, s := range sentinels {
		code := diag.Code(s)
		require.True(t, strings.HasPrefix(code, "server."), name)
		require.Same(t, s, diag.Sentinel(code))
		require.Contains(t, doc, "| `"+name+"`", "docs/library.md lists %s", name)
		require.Contains(t, doc, "| `"+code+"` |", "docs/library.md gives %s's code", name)
		if s != ErrConfig {
			require.NotEqual(t, 500, statusOf(s), "%s has a status of its own", name)
		}
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
