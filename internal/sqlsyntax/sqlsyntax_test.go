package sqlsyntax

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// These tests need Node.js and npm (and, the first time on a machine, the
// npm registry, to build the bundle): they fail, never skip, without them.

func TestMain(m *testing.M) {
	code := m.Run()
	if err := Close(); err != nil {
		fmt.Fprintln(os.Stderr, "sqlsyntax: Close:", err)
		code = 1
	}
	os.Exit(code)
}

// TestBuild builds the bundle if it is missing. .ci/run runs it before
// the other tests, so that CI fails early and clearly without npm.
func TestBuild(t *testing.T) {
	start := time.Now()
	path, err := Build(t.Context())
	require.NoError(t, err)
	t.Logf("bundle %s ready in %v", path, time.Since(start).Round(time.Millisecond))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Greater(t, fi.Size(), int64(1<<20), "the bundle carries both grammars")
	again, err := Build(t.Context())
	require.NoError(t, err)
	require.Equal(t, path, again)
}

// validateAll validates queries and requires the call itself to succeed.
func validateAll(t *testing.T, dialect string, queries []string) [][]SyntaxError {
	t.Helper()
	got, err := Validate(t.Context(), dialect, queries)
	require.NoError(t, err)
	require.Len(t, got, len(queries))
	return got
}

// Queries as the SQL generator writes them for each engine: CTEs, set
// operators, EXISTS, date arithmetic, case folding, LIKE with ESCAPE and
// each engine's quoted identifiers.
var goodSpark = []string{
	"SELECT 1",
	"WITH `adults` AS (\n" +
		"  SELECT c.`key` FROM `Customer` AS c WHERE c.`age` >= 18 AND c.`age` IS NOT NULL\n" +
		"), `recent buyers` AS (\n" +
		"  -- conditions[1]: Order.placed_at in the last 30 days\n" +
		"  SELECT o.`customer` AS `key` FROM `Order` AS o\n" +
		"  WHERE o.`placed_at` >= date_add(DATE '2026-06-15', -30)\n" +
		"    AND datediff(DATE '2026-06-15', o.`placed_at`) <= 30\n" +
		"  GROUP BY o.`customer` HAVING count(*) >= 2 AND coalesce(sum(o.`total`), 0) > 100.5\n" +
		")\n" +
		"SELECT `key` FROM `adults`\n" +
		"INTERSECT SELECT `key` FROM `recent buyers`\n" +
		"EXCEPT SELECT c.`key` FROM `Customer` AS c WHERE lower(c.`email`) LIKE '%!_test%' ESCAPE '!'",
	"SELECT c.`key` FROM `Customer` AS c WHERE EXISTS (SELECT 1 FROM `Order` AS o WHERE o.`customer` = c.`key` AND o.`status` IN ('paid', 'it''s'))" +
		" AND NOT EXISTS (SELECT 1 FROM `Ticket` AS t WHERE t.`customer` = c.`key`)",
	"SELECT c.`key` FROM `Customer` AS c WHERE CASE WHEN c.`vip` THEN 1 ELSE 0 END = 1 OR c.`signup` BETWEEN DATE '2026-01-01' AND DATE '2026-06-15'" +
		" OR c.`seen_at` >= TIMESTAMP '2026-06-15 12:00:00' - INTERVAL 7 DAYS",
	"SELECT `key` FROM `a` UNION SELECT `key` FROM `b` UNION ALL SELECT `key` FROM `c`",
	"SELECT CAST(c.`score` AS DECIMAL(38, 10)), CAST(c.`born` AS DATE) FROM `Customer` AS c",
}

var goodTrino = []string{
	"SELECT 1",
	"WITH \"adults\" AS (\n" +
		"  SELECT c.\"key\" FROM \"Customer\" AS c WHERE c.\"age\" >= 18 AND c.\"age\" IS NOT NULL\n" +
		"), \"recent buyers\" AS (\n" +
		"  -- conditions[1]: Order.placed_at in the last 30 days\n" +
		"  SELECT o.\"customer\" AS \"key\" FROM \"Order\" AS o\n" +
		"  WHERE o.\"placed_at\" >= date_add('day', -30, DATE '2026-06-15')\n" +
		"    AND date_diff('day', o.\"placed_at\", DATE '2026-06-15') <= 30\n" +
		"  GROUP BY o.\"customer\" HAVING count(*) >= 2 AND coalesce(sum(o.\"total\"), 0) > 100.5\n" +
		")\n" +
		"SELECT \"key\" FROM \"adults\"\n" +
		"INTERSECT SELECT \"key\" FROM \"recent buyers\"\n" +
		"EXCEPT SELECT c.\"key\" FROM \"Customer\" AS c WHERE lower(c.\"email\") LIKE '%!_test%' ESCAPE '!'",
	"SELECT c.\"key\" FROM \"Customer\" AS c WHERE EXISTS (SELECT 1 FROM \"Order\" AS o WHERE o.\"customer\" = c.\"key\" AND o.\"status\" IN ('paid', 'it''s'))" +
		" AND NOT EXISTS (SELECT 1 FROM \"Ticket\" AS t WHERE t.\"customer\" = c.\"key\")",
	"SELECT c.\"key\" FROM \"Customer\" AS c WHERE CASE WHEN c.\"vip\" THEN 1 ELSE 0 END = 1 OR c.\"signup\" BETWEEN DATE '2026-01-01' AND DATE '2026-06-15'" +
		" OR c.\"seen_at\" >= TIMESTAMP '2026-06-15 12:00:00 UTC' - INTERVAL '7' DAY",
	"SELECT \"key\" FROM \"a\" UNION SELECT \"key\" FROM \"b\" UNION ALL SELECT \"key\" FROM \"c\"",
	"SELECT CAST(c.\"score\" AS DECIMAL(38, 10)), CAST(c.\"born\" AS DATE) FROM \"Customer\" AS c",
	"SELECT c.\"key\" FROM \"Customer\" AS c WHERE c.\"a\" IS NOT DISTINCT FROM c.\"b\"",
}

func TestGoodQueries(t *testing.T) {
	for dialect, queries := range map[string][]string{Spark: goodSpark, Trino: goodTrino} {
		got := validateAll(t, dialect, queries)
		for i, errs := range got {
			require.Empty(t, errs, "%s query %d parses:\n%s", dialect, i, queries[i])
		}
	}
}

// bad is a query that does not parse, with where its first error is and
// words of its message.
type bad struct {
	sql          string
	line, column int
	message      string
}

var badSpark = []bad{
	{"SELEC `key` FROM `Customer`", 1, 1, "'SELEC' is not valid"},
	{"SELECT `key`, FROM `Customer`", 1, 15, "'FROM' is not valid"},
	{"SELECT `key`\nFROM FROM `Customer`", 2, 6, "'FROM' is not valid"},
	{"SELECT `key` FROM `Customer` WHERE (`age` > 1", 1, 37, ""},
	{"SELECT `key` FROM `Customer` WHERE `name` = 'open", 1, 45, ""},
	{"WITH `a` AS SELECT 1 SELECT * FROM `a`", 1, 13, "'SELECT' is not valid"},
}

var badTrino = []bad{
	{"SELEC \"key\" FROM \"Customer\"", 1, 1, "'SELEC' is not valid"},
	{"SELECT \"key\", FROM \"Customer\"", 1, 15, "'FROM' is not valid"},
	{"SELECT \"key\"\nFROM FROM \"Customer\"", 2, 6, "'FROM' is not valid"},
	{"SELECT \"key\" FROM \"Customer\" WHERE", 1, 35, "Statement is incomplete"},
	{"SELECT `key` FROM \"Customer\"", 1, 8, "backquoted identifiers are not supported"},
	{"SELECT \"key\" FROM \"Customer\" WHERE 1st = 1", 1, 36, "must not start with a digit"},
	{"SELECT \"key\" FROM \"Customer\" WHERE \"vip\" IS TRUE", 1, 45, "'TRUE' is not valid"},
	{"SELECT \"key\" FROM \"Customer\" WHERE \"name\" = 'it\\'s'", 1, 50, "'s' is not valid"},
}

func TestBadQueries(t *testing.T) {
	for dialect, cases := range map[string][]bad{Spark: badSpark, Trino: badTrino} {
		queries := make([]string, len(cases))
		for i, c := range cases {
			queries[i] = c.sql
		}
		got := validateAll(t, dialect, queries)
		for i, c := range cases {
			require.NotEmpty(t, got[i], "%s: %s", dialect, c.sql)
			first := got[i][0]
			require.Equal(t, [2]int{c.line, c.column}, [2]int{first.Line, first.Column}, "%s: %s: %v", dialect, c.sql, got[i])
			require.Contains(t, first.Message, c.message, "%s: %s", dialect, c.sql)
			require.NotEmpty(t, first.Message)
			require.Equal(t, fmt.Sprintf("%d:%d: %s", c.line, c.column, first.Message), first.String())
		}
	}
}

// columnQuery is a query whose one syntax error (the ")") is at a column
// that tells k.
func columnQuery(dialect string, k int) (sql string, column int) {
	q := "`"
	if dialect == Trino {
		q = `"`
	}
	sql = "SELECT " + q + "c" + q + " FROM " + q + "t" + q + " WHERE" + strings.Repeat(" ", k) + ") = 1"
	return sql, strings.Index(sql, ")") + 1
}

// TestBatch validates a thousand generated queries per dialect, every
// tenth one wrong at a column of its own, and logs the time.
func TestBatch(t *testing.T) {
	const n = 1000
	for _, dialect := range []string{Spark, Trino} {
		good := goodSpark
		if dialect == Trino {
			good = goodTrino
		}
		queries := make([]string, n)
		columns := make([]int, n)
		for i := range queries {
			if i%10 == 9 {
				queries[i], columns[i] = columnQuery(dialect, i%50)
			} else {
				queries[i] = fmt.Sprintf("%s\n-- query %d", good[i%len(good)], i)
			}
		}
		_, err := Validate(t.Context(), dialect, queries[:1]) // the process, started
		require.NoError(t, err)
		start := time.Now()
		got := validateAll(t, dialect, queries)
		elapsed := time.Since(start)
		t.Logf("%s: %d queries validated in %v (%.2f ms a query)", dialect, n, elapsed.Round(time.Millisecond), float64(elapsed.Microseconds())/1000/n)
		for i, errs := range got {
			if columns[i] == 0 {
				require.Empty(t, errs, "%s query %d", dialect, i)
				continue
			}
			require.NotEmpty(t, errs, "%s query %d", dialect, i)
			require.Equal(t, columns[i], errs[0].Column, "%s query %d: %s", dialect, i, queries[i])
		}
		require.Less(t, elapsed, 30*time.Second, "a thousand queries take seconds")
	}
}

// TestConcurrent: batches from many goroutines share the processes, and
// each gets its own answers.
func TestConcurrent(t *testing.T) {
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		dialect := []string{Spark, Trino}[g%2]
		wg.Go(func() {
			for round := range 3 {
				queries := make([]string, 20)
				columns := make([]int, len(queries))
				for i := range queries {
					if i%2 == 0 {
						queries[i], columns[i] = columnQuery(dialect, (g*7+round*3+i)%40)
					} else {
						queries[i] = fmt.Sprintf("SELECT %d -- goroutine %d", i, g)
					}
				}
				got, err := Validate(context.Background(), dialect, queries)
				if err != nil {
					errs <- err
					return
				}
				for i := range queries {
					bad := len(got[i]) > 0
					if bad != (columns[i] > 0) || bad && got[i][0].Column != columns[i] {
						errs <- fmt.Errorf("goroutine %d round %d query %d: got %v, want an error at column %d (0: none)", g, round, i, got[i], columns[i])
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
}

// TestCancel: a cancelled batch returns the context's error, and the
// answers it leaves behind go to no one else.
func TestCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Validate(ctx, Trino, []string{"SELECT 1"})
	require.ErrorIs(t, err, context.Canceled)

	queries := make([]string, 3000)
	for i := range queries {
		queries[i] = goodTrino[1]
	}
	ctx, cancel = context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err = Validate(ctx, Trino, queries)
	require.ErrorIs(t, err, context.DeadlineExceeded)

	sql, column := columnQuery(Trino, 3)
	got := validateAll(t, Trino, []string{sql, "SELECT 1"})
	require.Equal(t, column, got[0][0].Column)
	require.Empty(t, got[1])
}

// TestCheckerEnds: when a checker process dies, the batch waiting on it
// fails with ErrChecker, and the next call starts a new one.
func TestCheckerEnds(t *testing.T) {
	validateAll(t, Spark, []string{"SELECT 1"})
	std.mu.Lock()
	p := std.procs[Spark]
	std.mu.Unlock()
	require.NotNil(t, p)
	queries := make([]string, 3000)
	for i := range queries {
		queries[i] = goodSpark[1]
	}
	done := make(chan error, 1)
	go func() {
		_, err := Validate(t.Context(), Spark, queries)
		done <- err
	}()
	require.Eventually(t, func() bool {
		p.mu.Lock()
		defer p.mu.Unlock()
		return len(p.pending) > 2000 // sent, and mostly unanswered
	}, 10*time.Second, time.Millisecond)
	require.NoError(t, p.cmd.Process.Kill())
	err := <-done
	require.ErrorIs(t, err, ErrChecker)
	require.Contains(t, err.Error(), "spark checker process")
	require.Contains(t, err.Error(), "ended")

	got := validateAll(t, Spark, []string{"SELECT `key` FROM `t`"})
	require.Empty(t, got[0])
	std.mu.Lock()
	require.NotSame(t, p, std.procs[Spark])
	std.mu.Unlock()
}

func TestCloseAndRestart(t *testing.T) {
	validateAll(t, Trino, []string{"SELECT 1"})
	require.NoError(t, Close())
	require.NoError(t, Close(), "twice is harmless")
	got := validateAll(t, Trino, []string{"SELECT 1", "SELECT `a`"})
	require.Empty(t, got[0])
	require.NotEmpty(t, got[1])
}

func TestNoQueriesAndUnknownDialect(t *testing.T) {
	got, err := Validate(t.Context(), Spark, nil)
	require.NoError(t, err)
	require.Empty(t, got)
	_, err = Validate(t.Context(), "postgres", []string{"SELECT 1"})
	require.ErrorIs(t, err, ErrDialect)
	require.Contains(t, err.Error(), `"postgres"`)
}

// TestNodeMissing runs a fresh set of checkers with a PATH that has no
// node, then one that has node but no npm (and no bundle yet).
func TestNodeMissing(t *testing.T) {
	node, err := exec.LookPath("node")
	require.NoError(t, err, "these tests need Node.js")

	t.Setenv("PATH", t.TempDir())
	c := &checkers{}
	_, err = c.validate(t.Context(), Spark, []string{"SELECT 1"})
	require.ErrorIs(t, err, ErrNoNode)
	require.Contains(t, err.Error(), "node is not on PATH")
	require.Contains(t, err.Error(), "apt-get install nodejs npm")
	_, err = Build(t.Context())
	require.ErrorIs(t, err, ErrNoNode)

	onlyNode := t.TempDir()
	require.NoError(t, os.Symlink(node, filepath.Join(onlyNode, "node")))
	t.Setenv("PATH", onlyNode)
	t.Setenv(cacheEnv, t.TempDir())
	_, err = c.validate(t.Context(), Trino, []string{"SELECT 1"})
	require.ErrorIs(t, err, ErrNoNode)
	require.Contains(t, err.Error(), "npm is not on PATH")
	require.False(t, errors.Is(err, ErrBuild))
}

// TestRegistryUnreachable builds into an empty folder with an npm
// registry that does not answer (a closed port on loopback) and an empty
// npm cache: the error wraps ErrBuild and says what failed.
func TestRegistryUnreachable(t *testing.T) {
	t.Setenv(cacheEnv, t.TempDir())
	t.Setenv("npm_config_cache", t.TempDir())
	t.Setenv("npm_config_registry", "http://127.0.0.1:9/")
	t.Setenv("npm_config_fetch_retries", "0")
	t.Setenv("npm_config_offline", "false")
	_, err := Build(t.Context())
	require.ErrorIs(t, err, ErrBuild)
	require.Contains(t, err.Error(), "npm ci")
	require.Contains(t, err.Error(), "is the npm registry reachable?")
	t.Log(err)
}
