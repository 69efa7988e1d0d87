// Package segment is the segment definition model of segmentkit: the
// condition tree of FORMAT.md section 2, customer attribute measures of
// section 3, their JSON form, a compact printed form, and validation against
// a schema.
//
// The package is data only: it imports no Arrow, roaring or engine code, and
// nothing in it evaluates a definition. The engine package compiles a
// validated Definition against a storage snapshot.
//
//	def, err := segment.Parse(data) // shape problems, every one, with paths
//	if err != nil { ... }
//	if err := def.Validate(sch); err != nil {
//		// a diag.List: groups[0].condition.attribute: Customer has no
//		// attribute "Agee" (did you mean Age?)
//	}
//	fmt.Println(def) // HighValue: sum(Order.Amount) of Order >= 500
//	out, err := json.Marshal(def) // FORMAT.md's JSON; Parse reads it back
//
// ReadRefs, ReadHeader, RenameRefs and Rename read and edit the segment
// references and the header of definition JSON that need not parse (a
// draft), keeping every byte they do not change as written.
//
// Definitions, conditions and measures are plain values: no function of
// the package modifies them, and they may be shared between goroutines once
// built.
package segment
