// Package export delivers a segment's members to the systems that act on
// them: files (CSV, JSON Lines, Parquet, Arrow IPC, a portable roaring
// bitmap with its key list), an HTTP webhook and a PostgreSQL table.
//
// An export streams: a [Plan] says which fields each row carries (customer
// attributes and measures, as a download offers them, with the transforms
// ad platforms need), [Run] cuts the rows into record batches of typed
// Arrow columns and hands them to a [Destination]'s [Writer] one batch at a
// time, so that no more than one batch of rows is in memory at once.
//
// An export is full (every member) or a delta: the customers who entered
// and left since the last successful export to that destination, and
// optionally those whose exported fields changed. [Diff] computes a delta
// from what the destination was last sent; the catalog remembers that in
// its file, per destination, so that deltas stay exact across restarts.
//
//	plan, err := export.NewPlan(ctx, snap, fields, asOf, members)
//	if err != nil { ... }
//	dest, err := export.ParseDestination("csv:members.csv")
//	if err != nil { ... }
//	stats, err := export.Run(ctx, dest, plan, export.FullSet(members), export.RunOptions{})
//
// # Rows
//
// Every batch has the columns: "change" in a delta ("entered", "changed"
// or "left"), the customer key as text, then the fields in the order asked
// for, typed as the schema types them (a hashed field is a string). A row
// of a customer who left carries the key alone: its fields are null, since
// the customer may no longer be in the data.
package export
