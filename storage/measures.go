package storage

import (
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// validateMeasures checks the measure definitions of a data directory's
// schema.json, so that a directory whose measures do not parse or do not
// fit its schema fails to load with every problem listed.
func validateMeasures(sch *schema.Schema) error {
	if len(sch.Measures) == 0 {
		return nil
	}
	_, err := segment.ParseMeasures(sch)
	return err
}
