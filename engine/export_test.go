package engine

// SetParallelRows lowers the row count from which aggregates run in
// parallel, so that tests exercise the parallel path on small data. It
// returns a function that restores the old value.
func SetParallelRows(n int) (restore func()) {
	old := parallelRows
	parallelRows = n
	return func() { parallelRows = old }
}
