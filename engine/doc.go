// Package engine compiles segment definitions against a storage snapshot and
// evaluates them to roaring bitmaps of customer ids.
//
// Compile validates a definition against the snapshot's schema and resolves
// every attribute, relationship path and measure once; the resulting Plan
// is immutable and may be evaluated many times, from many goroutines, at
// different as-of instants:
//
//	plan, err := engine.Compile(def, snap, engine.Options{})
//	if err != nil {
//		return err // a diag.List: every problem, with its path
//	}
//	members, err := plan.Eval(ctx, time.Now())
//	// members is a *roaring.Bitmap of customer ids; snap.CustomerKey(id)
//	// gives each one's key.
//
// Evaluation keeps intermediate sets as dense bitsets over the customer (or
// related row) universe, runs predicates as typed loops over the Arrow
// buffers in batches of 64K rows spread over the available cores, evaluates
// string predicates once per dictionary entry, and computes aggregates in
// one scatter pass over the matching related rows.
//
// Under the candidate restriction (Options.CandidateShare), a conjunction
// evaluates its later related conditions and string predicates only for
// the customers still in the running, its candidates: a related condition
// over rows clustered by customer then visits only those customers' rows,
// customer by customer. Results are the same with it on or off.
package engine
