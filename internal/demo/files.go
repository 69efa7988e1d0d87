package demo

import "slices"

// SpendMeasure is the measure of the demo schema that the example segment
// compares: the spend in the last 90 days.
const SpendMeasure = "Spend90d"

// Files lists the files Write writes, relative to the directory and with
// "/" separators, sorted: the schema, each entity's data file and the
// example segment. A directory that holds only these is one Write may
// overwrite.
func Files() []string {
	files := []string{SchemaFile, SegmentFile}
	for _, e := range Schema().Entities {
		files = append(files, e.File)
	}
	slices.Sort(files)
	return slices.Compact(files)
}
