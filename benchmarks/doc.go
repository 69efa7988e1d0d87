// Package benchmarks compares segmentkit with DuckDB on the retail dataset
// of package gen and the segments of package suite: it loads the same
// Parquet files into both, DuckDB's related tables ordered by customer as
// segmentkit clusters them (or in file order, DuckDBOptions.Order),
// checks that every segment has the same members in both, and times them
// in interleaved runs, with the memory bandwidth measured beside each
// case (BandwidthProbe). SQL runs the same segments from the queries
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
//	probe := benchmarks.NewBandwidthProbe(2, 1<<30)
//	timing, _ := benchmarks.TimeCase(ctx, sk, db, c, 7, probe) // interleaved runs, timing.Bandwidth beside them
//	gen := benchmarks.NewDuckDBSQL(db, sk.Snap.Schema())
//	check, _ = benchmarks.CheckCase(ctx, sk, db, c, gen) // check.Others[0]
//	timing, _ = benchmarks.TimeCase(ctx, sk, db, c, 7, probe, check.Answered([]benchmarks.Engine{gen})...)
package benchmarks
