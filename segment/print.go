package segment

import "fmt"

// Placeholder printing; replaced by the printer.

func (n *And) String() string        { return fmt.Sprintf("and%v", n.Conditions) }
func (n *Or) String() string         { return fmt.Sprintf("or%v", n.Conditions) }
func (n *Not) String() string        { return fmt.Sprintf("not %v", n.Condition) }
func (n *Predicate) String() string  { return fmt.Sprintf("%s %s %v", n.Attribute, n.Op, n.Value) }
func (n *Related) String() string    { return fmt.Sprintf("related %s", n.Entity) }
func (n *SegmentRef) String() string { return fmt.Sprintf("segment %s", n.Name) }
