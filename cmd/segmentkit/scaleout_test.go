package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/internal/docexample"
	"github.com/segmentkit/segmentkit/internal/sqlsyntax"
)

// scaleOutDoc is the document whose worked example TestScaleOutExample
// checks.
const scaleOutDoc = "../../docs/scale-out.md"

// TestScaleOutExample checks the Spark SQL and Trino parts of
// docs/scale-out.md's worked example, which no test can run: it runs
// their segmentkit commands as written (the demo, the query, the members
// to compare with), requires the query each part shows to be the one
// segmentkit sql prints and the member count it states to be eval's, and
// parses the query and the part's table definitions with the engine's
// grammar (internal/sqlsyntax, which needs Node.js and npm). The
// spark-sql, trino and aws commands are not run.
func TestScaleOutExample(t *testing.T) {
	data, err := os.ReadFile(scaleOutDoc)
	require.NoError(t, err)
	doc := string(data)
	t.Chdir(t.TempDir())
	ran := map[string]string{} // command -> its standard output
	for _, part := range []struct {
		heading, grammar, tables, query string
		engine                          []string // the engine's commands the part must have
	}{
		{"### On Spark SQL", sqlsyntax.Spark, "spark-tables.sql", "spark-query.sql", []string{"spark-sql -S -i spark-tables.sql -f spark-query.sql"}},
		{"### On Trino", sqlsyntax.Trino, "trino-tables.sql", "trino-query.sql", []string{"trino --server", "--file trino-tables.sql", "--file trino-query.sql"}},
	} {
		t.Run(part.heading, func(t *testing.T) {
			blocks := docexample.Section(doc, part.heading)
			require.NotEmpty(t, blocks, "%s has no section %q", scaleOutDoc, part.heading)
			var sh, shown []string
			for _, b := range blocks {
				switch b.Info {
				case "sh":
					sh = append(sh, b.Text)
				case "sql":
					shown = append(shown, b.Text)
				}
			}
			require.Len(t, sh, 1, "the part's commands are one sh block")
			require.Len(t, shown, 1, "the part shows one query")
			for _, e := range part.engine {
				require.Contains(t, sh[0], e)
			}
			tables := docexample.Heredocs(sh[0])[part.tables]
			require.NotEmpty(t, tables, "the part writes %s", part.tables)

			var segmentkit []string
			for _, c := range docexample.Commands(sh[0]) {
				if strings.HasPrefix(c, "segmentkit ") {
					segmentkit = append(segmentkit, c)
				}
			}
			require.Len(t, segmentkit, 3, "demo, sql and eval")
			for _, c := range segmentkit {
				if _, done := ran[c]; done {
					continue
				}
				ran[c] = runDocCommand(t, c)
			}
			query, err := os.ReadFile(part.query)
			require.NoError(t, err, "the sql command writes %s", part.query)
			require.Equal(t, shown[0], string(query), "the query %s shows is not what segmentkit sql prints", part.heading)

			members := strings.Fields(ran[segmentkit[2]])
			require.NotEmpty(t, members)
			require.Contains(t, doc, fmt.Sprintf("`wc` prints `%d`", len(members)), "the member count the part states")

			// The table definitions and the query, one statement each.
			var statements []string
			for _, s := range strings.Split(tables, ";\n") {
				if s = strings.TrimSpace(s); s != "" {
					statements = append(statements, s)
				}
			}
			require.GreaterOrEqual(t, len(statements), 5, "a table or view per entity")
			statements = append(statements, string(query))
			errs, err := sqlsyntax.Validate(context.Background(), part.grammar, statements)
			require.NoError(t, err)
			for i, e := range errs {
				require.Empty(t, e, "%s: statement %d does not parse:\n%s", part.heading, i, statements[i])
			}
		})
	}
}

// runDocCommand runs one segmentkit command line of the document, in the
// test's directory: whitespace-separated arguments (the document quotes
// none), standard output written to the file after ">", and anything
// after "|" (the shell's part) left out. It returns the standard output.
func runDocCommand(t *testing.T, line string) string {
	t.Helper()
	line, _, _ = strings.Cut(line, " | ")
	args := strings.Fields(line)[1:]
	out := ""
	if i := len(args) - 2; i >= 0 && args[i] == ">" {
		out, args = args[i+1], args[:i]
	}
	for _, a := range args {
		require.NotContains(t, a, "'", "runDocCommand does not unquote: %s", line)
		require.NotContains(t, a, "\"", "runDocCommand does not unquote: %s", line)
	}
	r := runCLI(t, args...)
	require.Equal(t, exitOK, r.code, "%s: %s", line, r.stderr)
	if out != "" {
		require.NoError(t, os.WriteFile(filepath.Clean(out), []byte(r.stdout), 0o644))
	}
	return r.stdout
}
