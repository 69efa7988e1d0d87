// Package sqlsyntax checks SQL text against the grammars of Spark SQL and
// Trino, for the tests of the SQL that segmentkit generates for those
// engines, which no test here can run.
//
//	errs, err := sqlsyntax.Validate(ctx, sqlsyntax.Trino, queries)
//	// err: the check could not run; errs[i]: the syntax errors of
//	// queries[i], none when it parses.
//
// # The grammars
//
// The grammars are the ANTLR grammars of Spark SQL and Trino that the npm
// package dt-sql-parser (4.5.1) carries, run by Node.js. js/validate.js
// parses each query with dt-sql-parser's SparkSQL or TrinoSQL grammar in
// ANTLR's fast SLL mode, as dt-sql-parser's validate does; a query that
// SLL rejects is parsed again in full LL mode (SLL may reject a valid
// query that needs full context), and one that LL rejects too goes to
// dt-sql-parser's validate, whose errors say what was expected there. For
// Trino it also reports what Trino's parser rejects after its grammar has
// accepted the text: backquoted identifiers and identifiers that start
// with a digit, with Trino's messages. In Spark a double-quoted "x" is a
// string, as in Spark's default (non-ANSI) mode; identifiers are quoted
// with backquotes. Spark's grammar takes most keywords as names, so a
// truncated "SELECT * FROM t WHERE" parses, WHERE as t's alias: a check
// that matters should not rest on a keyword alone.
//
// dt-sql-parser is published for bundlers (its modules import directories,
// which Node.js does not resolve), so js/validate.js is bundled, with
// esbuild --bundle --platform=node --format=cjs, into one file that the
// machine's node runs. js/package.json and js/package-lock.json pin
// dt-sql-parser, its antlr4ng runtime and esbuild; neither node_modules nor
// the bundle is committed.
//
// # The bundle
//
// The bundle is built on first use, when it is missing, into the user's
// cache folder (os.UserCacheDir()/segmentkit/sqlsyntax-HASH.js, HASH of the
// three files in js/, so a changed pin or entry file builds anew; the
// environment variable SEGMENTKIT_SQLSYNTAX_CACHE names another folder):
// npm ci --ignore-scripts in a temporary folder beside it, then esbuild,
// then a rename into place, so parallel test binaries never see half a
// bundle. This needs Node.js 18 or later and npm on PATH and the npm
// registry; it takes 2 to 5 seconds (npm ci fetches about 10 MB, esbuild
// writes a bundle of about 3 MB in under a second), once per
// machine and pin. [Build] does it ahead of time (.ci/run calls it through
// TestBuild, so that CI fails early and clearly when npm cannot install).
// Without node or npm, Validate fails with an error wrapping
// [ErrNoNode] that says what to install; when npm or esbuild fails,
// with one wrapping [ErrBuild] that quotes its output.
//
// # The checker processes
//
// Validate keeps one long-lived node process per dialect, started on first
// use, which reads one JSON request a line on its standard input and
// answers each with one JSON line on its standard output. Starting one
// (loading the bundle) takes about half a second; a valid query of a few
// hundred characters then takes about 1 ms, so a thousand queries take
// one or two seconds. A query that the grammar rejects takes longer, 5 to
// 100 ms or more, for the LL pass and the wording of its errors: a
// thousand wrong queries take up to a minute or two. Validate may be
// called from many goroutines: their requests share the process, each
// answer going back to its caller. [Close] stops the processes (a later
// Validate starts them again); a process also ends by itself when the test
// binary exits, as its standard input closes.
package sqlsyntax
