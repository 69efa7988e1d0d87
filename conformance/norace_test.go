//go:build !race

package conformance

// raceFactor scales time bounds under the race detector.
const raceFactor = 1
