package architecture

import (
	"bufio"
	"fmt"
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const module = "github.com/segmentkit/segmentkit"

// graphFromDoc reads the fenced block under "## Package graph" in
// docs/architecture.md: one line per package, "pkg -> dep dep ...", with
// paths relative to the module.
func graphFromDoc(t *testing.T, path string) map[string][]string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	graph := map[string][]string{}
	section, fenced := false, false
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		switch {
		case strings.HasPrefix(text, "## "):
			section = text == "## Package graph"
		case section && strings.HasPrefix(text, "```"):
			if fenced {
				return graph
			}
			fenced = true
		case section && fenced:
			pkg, deps, ok := strings.Cut(text, "->")
			require.True(t, ok, "%s:%d: want \"pkg -> deps\", got %q", path, line, text)
			pkg = strings.TrimSpace(pkg)
			_, dup := graph[pkg]
			require.False(t, dup, "%s:%d: %s listed twice", path, line, pkg)
			graph[pkg] = strings.Fields(deps)
		}
	}
	require.NoError(t, sc.Err())
	require.FailNow(t, "no fenced block under \"## Package graph\"", path)
	return nil
}

// graphFromCode lists every package of the main module (the benchmarks
// module is separate and not part of the graph) with the module packages
// its non-test files import.
func graphFromCode(t *testing.T, root string) map[string][]string {
	t.Helper()
	graph := map[string][]string{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != root && (strings.HasPrefix(name, ".") || name == "testdata" || name == "benchmarks") {
			return filepath.SkipDir
		}
		pkg, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		var deps []string
		for _, imp := range pkg.Imports {
			if dep, ok := strings.CutPrefix(imp, module+"/"); ok {
				deps = append(deps, dep)
			}
		}
		slices.Sort(deps)
		graph[filepath.ToSlash(rel)] = deps
		return nil
	})
	require.NoError(t, err)
	return graph
}

func format(graph map[string][]string) string {
	var b strings.Builder
	pkgs := make([]string, 0, len(graph))
	for p := range graph {
		pkgs = append(pkgs, p)
	}
	slices.Sort(pkgs)
	width := 0
	for _, p := range pkgs {
		width = max(width, len(p))
	}
	for _, p := range pkgs {
		fmt.Fprintf(&b, "%-*s -> %s\n", width, p, strings.Join(graph[p], " "))
	}
	return b.String()
}

func TestPackageGraphMatchesDoc(t *testing.T) {
	root := filepath.Join("..", "..")
	doc := graphFromDoc(t, filepath.Join(root, "docs", "architecture.md"))
	for p, deps := range doc {
		slices.Sort(deps)
		doc[p] = deps
	}
	code := graphFromCode(t, root)
	require.NotEmpty(t, code["engine"], "the walk found no engine imports: wrong root?")
	require.Equal(t, format(code), format(doc),
		"docs/architecture.md's package graph differs from the imports; the block should read:\n%s", format(code))
}
