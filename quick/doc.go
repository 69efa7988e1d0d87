// Package quick implements quick segments: segments built from a single
// field and a single operator, with insights and an exact size shown before
// the segment is saved (the "Quickly create from" path of the product page).
//
// A field comes from one of three sources: Profiles (attributes of the
// customer entity), Measures (the customer attribute measures of
// schema.json, FORMAT.md section 3) and Intelligence (attributes of
// prediction output entities, marked "prediction": true in schema.json and
// keyed one-to-one by customer). A field is Categorical (strings, booleans,
// integers with at most CategoricalLimit distinct values) or Numerical
// (other integers, numbers, dates and datetimes).
//
// Everything is answered from column statistics, computed once per field on
// first use and kept in a Stats, which belongs with its snapshot: create it
// with New when the snapshot is loaded, share it between goroutines, and
// drop it when the snapshot is released. Statistics of measures depend on
// the as-of instant; a View fixes that instant:
//
//	st := quick.New(snap, quick.Options{})
//	q := st.At(asOf)
//	ins, err := q.Insights(ctx, "Customer.Age") // percentiles p0..p100
//	size, err := q.Estimate(ctx, "Customer.Age", quick.GreaterThan, segment.Int(30))
//	def, err := q.Build(ctx, "Over30", "Over 30", "Customer.Age", quick.GreaterThan, segment.Int(30))
//	// engine.Compile(def, snap, ...) evaluates at asOf to exactly size.MemberCount.
//
// Percentiles are nearest-rank over the non-null values, p0 the least and
// p100 the greatest (see Insights); PercentileOf goes the other way.
//
// Estimate and Insights do no scan once the statistics exist: counts come
// from a binary search over the sorted values or a lookup in the value
// counts, so they take microseconds on millions of customers. InsightsIn and
// EstimateIn restrict both to the members of another segment, scanning
// those members.
package quick
