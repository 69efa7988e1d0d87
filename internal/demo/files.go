package demo

import "slices"

// SpendMeasure is the measure of the demo schema that the example segment
// compares: the spend in the last 90 days.
const SpendMeasure = "Spend90d"

// Files lists the files Write writes in format f, relative to the
// directory and with "/" separators, sorted: the schema, each entity's
// data file and the example segment. A directory that holds only the
// files of one format or another is one Write may overwrite.
func Files(f Format) []string {
	files := []string{SchemaFile, SegmentFile}
	for _, e := range Schema().Entities {
		files = append(files, DataFile(e.Name, f))
	}
	slices.Sort(files)
	return slices.Compact(files)
}
