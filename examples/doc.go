// Package examples holds runnable examples of the segmentkit library: each
// Example function in its tests builds or loads data, evaluates segments
// and prints the result that its Output comment checks. Run them with
//
//	go test ./examples/
//
// segments/ holds the example segment of the product page, the definition
// the demo evaluates.
package examples
