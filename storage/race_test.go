//go:build race

package storage_test

import "flag"

// raceEnabled is true under the race detector, where the property and
// cancellation tests run fewer cases: the race step looks for races, the
// plain run for wrong answers.
const raceEnabled = true

func init() {
	// Fewer rapid cases (-rapid.checks on the command line still wins).
	if err := flag.Set("rapid.checks", "20"); err != nil {
		panic(err)
	}
}
