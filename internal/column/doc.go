// Package column holds the typed views over Arrow columns and the row
// kernels that the engine and quick segments both read: Vec, a view of a
// column in the storage package's normalized types as typed slices;
// Bitset, a dense set of row or customer ids; and Kernel, a predicate
// bound to its operand that tests a Vec 64 rows to a word, with the
// string searches it needs (case folding, contains, startsWith,
// endsWith; AVX2 on amd64 unless built with the purego tag).
//
// Kernels are built by the engine, which turns the operators and values
// of a definition into ranges and string tests; this package only runs
// them. Everything is dispatched on type and operator once, outside the
// loops: nothing is called through an interface per row.
//
//	v, err := column.View(snap.Table("Customer").Column("Age"))
//	if err != nil {
//		return err
//	}
//	k := &column.Kernel{Kind: column.KindInts, IR: []column.IRange{{Lo: 30, Hi: 39}}}
//	out := column.NewBitset(v.N)
//	k.Eval(v, out) // the customers in their thirties
package column
