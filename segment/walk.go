package segment

// Visitor is called by Walk for each node of a condition tree.
type Visitor interface {
	// Visit is called with each node. If it returns a non-nil Visitor w,
	// Walk visits the node's children with w, then calls w.Visit(nil).
	Visit(c Condition) (w Visitor)
}

// Walk traverses c depth-first, like go/ast.Walk: it calls v.Visit(c), and
// if that returns a non-nil w, walks each child of c with w and then calls
// w.Visit(nil). A Related node's Where is its child, and so are its
// Sequence's First and Then. Nil conditions,
// including nil node pointers, are not visited.
func Walk(v Visitor, c Condition) {
	if isNil(c) {
		return
	}
	if v = v.Visit(c); v == nil {
		return
	}
	switch n := c.(type) {
	case *And:
		for _, x := range n.Conditions {
			Walk(v, x)
		}
	case *Or:
		for _, x := range n.Conditions {
			Walk(v, x)
		}
	case *Not:
		Walk(v, n.Condition)
	case *Related:
		Walk(v, n.Where)
		if n.Sequence != nil {
			Walk(v, n.Sequence.First)
			Walk(v, n.Sequence.Then)
		}
	}
	v.Visit(nil)
}
