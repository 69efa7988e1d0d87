// Package sqldiff holds the differential tests of package sqlgen against
// real SQL engines: random data directories and definitions from the main
// module's internal/randgen, the engine's members compared with the
// members of the generated SQL on the two-shard ClickHouse cluster
// (benchmarks/clickhouse), on DuckDB (duckdb-go) and on a PostgreSQL
// server. The package has no API; its tests are the point.
package sqldiff
