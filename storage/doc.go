// Package storage loads a segmentkit data directory (FORMAT.md section 1)
// into an immutable, columnar Snapshot: one Arrow array per attribute, the
// customer key <-> id mapping, and for every entity and every relationship
// path the customer each row links to.
//
// Customers get dense uint32 ids in load order: row i of the customer
// entity is customer i, the universe of the engine's bitmaps. Keys are
// checked unique and non-null; foreign keys that are null or match no row
// link their row to no customer and are counted in LinkReports.
//
//	snap, err := storage.Load(ctx, "data/", storage.Options{})
//	if err != nil {
//		return err // a diag.List: every problem with file, line and column
//	}
//	defer snap.Release()
//	links := snap.Links("Order", schema.Path{"OrderCustomer"})
//	offsets, rows := links.Grouped() // Order rows clustered by customer
//	for c := range snap.NumCustomers() {
//		for _, r := range rows[offsets[c]:offsets[c+1]] {
//			_ = snap.Table("Order").Column("Amount").Format(int(r))
//		}
//	}
//
// In-memory data comes in through FromTables and FromRecords, which share
// columns that already have the normalized types instead of copying them.
// All Arrow memory comes from Options.Allocator and is returned by
// Snapshot.Release.
//
// A snapshot can be written to a snapshot file (Save) and mapped back
// without a copy (Open), checksummed and versioned. LoadCached keeps a data
// directory's snapshot file, dir/.segmentkit/snapshot, and opens it instead
// of loading when it is current:
//
//	snap, err := storage.LoadCached(ctx, "data/", storage.Options{VerifySnapshotFile: true})
package storage
