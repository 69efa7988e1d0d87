// Package refeval is a naive reference evaluator of segment definitions,
// written to be checked against the engine on random data (see the
// conformance package).
//
// It shares no code with the engine: it reads a data directory's
// schema.json and CSV files with encoding/json and encoding/csv, keeps every
// row as plain Go values, parses a definition into map[string]any and
// evaluates it customer by customer and row by row, in the words of
// FORMAT.md. It favours being obviously right over being fast.
//
//	d, err := refeval.Load(dir)
//	ids, err := d.Eval(defJSON, asOf, nil) // sorted customer row indices
//
// A customer's id is its 0-based row index in the customer entity's file.
package refeval
