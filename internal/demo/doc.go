// Package demo writes a deterministic retail data directory for the
// segmentkit demo, tests, examples and benchmarks.
//
// The directory follows FORMAT.md section 1: schema.json with four
// customer-related entities, a prediction entity and customer attribute
// measures, one CSV file per entity (or, with Options.Format Parquet, a
// folder per entity holding its Parquet file, as warehouses lay out
// tables), and the example segment of the product page (customers who
// ordered at least 500 in the last 90 days and had a support case
// escalated) under segments/.
//
// The data is shaped like a shop's: a few heavy buyers and many light ones,
// seasonal order dates over three years before the as-of date, Zipf-like
// channels, categories and products, missing values in several columns, and
// a few broken links (null and dangling foreign keys). The same Options give
// byte-identical files on every machine.
//
//	sum, err := demo.Write(ctx, dir, demo.Options{Customers: 20_000})
//	if err != nil { ... }
//	snap, err := storage.Load(ctx, dir, storage.Options{})
//	def, err := segment.Parse(demo.ExampleSegment())
//	plan, err := engine.Compile(def, snap, engine.Options{})
//	members, err := plan.Eval(ctx, sum.AsOf)
package demo
