// Package catalog manages segments the way the product page
// (create-and-manage-segments) describes: a durable catalog of segment
// definitions with their states, refresh jobs, schedules, member history,
// who entered and left, and current members, in one bbolt file.
//
//	src := catalog.NewDirSource("data/", storage.Options{})
//	defer src.Close()
//	cat, err := catalog.Open("segmentkit.db", catalog.Options{Source: src})
//	if err != nil { ... }
//	defer cat.Close()
//	seg, err := cat.Create(ctx, definitionJSON, catalog.CreateOptions{})
//	if seg.State == catalog.Draft { ... seg.Problems ... }
//	job, err := cat.Activate(ctx, seg.Name) // activates, then refreshes
//	list, err := cat.List(catalog.ListOptions{Sort: catalog.SortMembers, Desc: true})
//	preview, err := cat.Preview(ctx, seg.Name, 0) // first 100 members
//	err = cat.Download(ctx, seg.Name, w, []string{"CustomerId", "Email"})
//
//	sched, err := catalog.NewScheduler(cat, catalog.ScheduleOptions{Cron: "0 3 * * *"})
//	go sched.Run(ctx) // refresh all at 03:00, apply scheduled (de)activations
//
// # States
//
// A definition that validates (against the source's schema and the
// catalog's other segments) is saved inactive, or active on request; one
// that does not is saved as a draft listing its problems. A draft cannot
// be activated until an edit makes it valid. Activating a segment commits
// the state and then refreshes it in the same call.
//
// # References
//
// A definition may reference other segments ({"segment": "Name"},
// FORMAT.md section 3). Validation requires the referenced segments to
// exist and the references of valid segments to form no cycle; a
// definition that would close one is a draft. A refresh refreshes
// referenced segments first, in the same job, and a static referenced
// segment contributes its frozen members. Rename rewrites every reference
// to the renamed segment in the other definitions (keeping the rest of
// their JSON as written); Delete refuses while others reference it.
//
// # Members across data reloads
//
// Members are stored as a roaring bitmap of customer ids together with a
// hash of the customer key list they are ids of; the key list itself is
// stored once per hash. When the data is reloaded and customers are
// renumbered, stored members are mapped to the new ids by key. So a static
// segment's frozen members survive reloads unchanged, and entered/left
// counts compare customers, not row numbers.
//
// # Who entered and left
//
// Every successful refresh records who entered and who left, as roaring
// bitmaps of customer ids with the hash of their key list, in the same
// transaction as its members; Changes returns them as customer keys and
// SegmentsOf the segments a customer is in, with since when. They are
// kept for Options.ChangeRetention (90 days by default) and removed when a
// refresh commits, so the file stays bounded.
//
// # Durability and concurrency
//
// Every call that changes the catalog is one bbolt transaction committed
// with fsync before the call returns; a refresh commits each segment's
// result (members, history and change entries, status, task record) in one
// transaction. A crash therefore loses nothing a call returned as done;
// a job interrupted by a crash is marked failed at the next Open. Only one
// process may have the file open. A Catalog is safe for concurrent use;
// refresh jobs run one at a time, each evaluating independent segments in
// parallel.
package catalog
