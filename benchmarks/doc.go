// Package benchmarks compares segmentkit with DuckDB on the retail dataset
// of package gen and the segments of package suite: it loads the same
// Parquet files into both, checks that every segment has the same members
// in both, and times them. SQL runs the same segments from the queries
// package sqlgen generates for their definitions, on DuckDB or on a
// ClickHouse cluster (LoadClickHouse), as other engines beside them.
// cmd/compare prints the comparison; the tests run the member check at
// scale S.
//
// It is its own Go module, so that segmentkit itself never depends on cgo
// or DuckDB.
//
//	sk, _ := benchmarks.LoadSegmentkit(ctx, dir)
//	db, _ := benchmarks.LoadDuckDB(ctx, dir, benchmarks.DuckDBOptions{Threads: 2})
//	check, _ := benchmarks.CheckCase(ctx, sk, db, c) // check.Diff == "" when they agree
//	timing, _ := benchmarks.TimeCase(ctx, sk, db, c, 7)
//	gen := benchmarks.NewDuckDBSQL(db, sk.Snap.Schema())
//	check, _ = benchmarks.CheckCase(ctx, sk, db, c, gen) // check.Others[0]
//	timing, _ = benchmarks.TimeCase(ctx, sk, db, c, 7, check.Answered([]benchmarks.Engine{gen})...)
package benchmarks
