// Package clickhouse runs segmentkit's data on a ClickHouse cluster of two
// shards (Debian's clickhouse-server 18.16, started by .ci/clickhouse.sh),
// through ClickHouse's HTTP interface only.
//
// Load puts a data directory on the cluster: per entity, a MergeTree
// table on every shard (Order_local) and a Distributed table over them
// (Order), with one column per attribute named as in schema.json
// (ColumnType gives the types). Customers are spread by key (ShardOf),
// and every related row sits on its customer's shard, so a join of an
// entity's rows with their customer's never crosses shards. Query and
// Rows read through the Distributed tables; Shard reads one shard's local
// tables.
//
//	c, stop, err := clickhouse.Open(ctx, clickhouse.StartOptions{Script: ".ci/clickhouse.sh"})
//	if err != nil {
//		return err
//	}
//	defer stop()
//	if _, err := clickhouse.Load(ctx, c, "demo-data", nil); err != nil {
//		return err
//	}
//	keys, err := c.Query(ctx, "SELECT CustomerId FROM Customer WHERE CustomerId GLOBAL IN (SELECT CustomerId FROM `Order`)")
//
// FINDINGS.md lists what ClickHouse 18.16's SQL lacks, as probed by the
// tests against the real server.
package clickhouse
