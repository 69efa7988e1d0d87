// Package conformance checks the engine against FORMAT.md.
//
// Its tests do two things. The property test generates random data
// directories and random valid definitions (internal/randgen) and compares
// the engine's members with those of a naive reference evaluator
// (internal/refeval) that shares no code with the engine. The scripted
// test runs every case under testdata/: a data directory, definition.json,
// asof.txt and expected.txt (the member customers' keys, one per line), with
// a README.md giving the reasoning from FORMAT.md.
//
//	go test ./conformance/                          # 100 directories x 50 definitions
//	go test ./conformance/ -conformance.n 2000      # more directories
//	go test ./conformance/ -conformance.seed 17     # one directory
//	go test ./conformance/ -conformance.keep        # keep every generated directory
//	go test ./conformance/ -run Scripted -conformance.case /tmp/conformance-case-123
//
// A failing comparison is shrunk (definition, then data rows, keeping the
// same kind of failure) and kept on disk as a scripted case; the failure
// message gives its directory.
//
// The package holds tests only.
package conformance
