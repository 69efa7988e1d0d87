package segment

// Literals returns the byte spans of the string literals that RenameRefs
// and Rename may replace: each reference's, in ReadRefs order, and each
// top-level "name" member's. Tests check the renamed bytes with them.
func Literals(data []byte) (refs, names [][2]int) {
	scanDefinition(data, func(s rawString) {
		switch {
		case s.ref:
			refs = append(refs, [2]int{s.from, s.to})
		case s.key == "name":
			names = append(names, [2]int{s.from, s.to})
		}
	})
	return refs, names
}
