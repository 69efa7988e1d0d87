package engine

import (
	"sync/atomic"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// SetParallelRows lowers the row count from which aggregates run in
// parallel, so that tests exercise the parallel path on small data. It
// returns a function that restores the old value.
func SetParallelRows(n int) (restore func()) {
	old := parallelRows
	parallelRows = n
	return func() { parallelRows = old }
}

// CountMeasureParses counts the parses of a schema's measures for a
// snapshot (engine.Measures) from now on. It returns the count so far and
// a function that stops counting; tests that use it must not run in
// parallel.
func CountMeasureParses() (count func() int, restore func()) {
	old := measuresOf
	var n atomic.Int64
	measuresOf = func(s *schema.Schema) *segment.Measures {
		n.Add(1)
		return old(s)
	}
	return func() int { return int(n.Load()) }, func() { measuresOf = old }
}
