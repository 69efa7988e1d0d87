package segment

import (
	"bytes"
	"encoding/json"
)

// Ref is one segment reference of a definition: a {"segment": NAME}
// condition.
type Ref struct {
	// Name is the referenced segment's name.
	Name string
	// Path is the definition path of the name, as problems write it:
	// "groups[0].condition.and[1].segment".
	Path string
	// Group is the split group the reference names ({"segment": NAME,
	// "group": GROUP}); "" for the whole segment. ReadRefs leaves it
	// empty.
	Group string
}

// Refs returns every segment reference of the definition, in the order
// they are written (depth first, a related condition's where included),
// with repeats. A nil definition has none.
func (d *Definition) Refs() []Ref {
	if d == nil {
		return nil
	}
	var out []Ref
	var walk func(path string, c Condition)
	walk = func(path string, c Condition) {
		if isNil(c) {
			return
		}
		switch n := c.(type) {
		case *And:
			for i, x := range n.Conditions {
				walk(index(at(path, "and"), i), x)
			}
		case *Or:
			for i, x := range n.Conditions {
				walk(index(at(path, "or"), i), x)
			}
		case *Not:
			walk(at(path, "not"), n.Condition)
		case *Related:
			walk(at(path, "where"), n.Where)
		case *SegmentRef:
			out = append(out, Ref{Name: n.Name, Path: at(path, "segment"), Group: n.Group})
		}
	}
	for i, g := range d.Groups {
		walk(at(index("groups", i), "condition"), g.Condition)
	}
	return out
}

// Header is what a definition says about itself, outside its groups.
type Header struct {
	Name        string
	DisplayName string
	Description string
	// Membership is Static when "type" is "static", Dynamic otherwise.
	Membership Membership
}

// ReadHeader returns the header of a definition's JSON without parsing
// the definition, for one that Parse rejects (a draft): the top-level
// string members "name", "displayName", "description" and "type", as far
// as the JSON is well formed. A truncated definition gives the members
// written before the break; a member that is not a string is left empty;
// of a key written twice with string values the first counts, as in
// Parse. Input that does not
// start as a JSON object gives the zero Header. The JSON's problems are
// Parse's to report: ReadHeader never fails.
func ReadHeader(data []byte) Header {
	var h Header
	seen := map[string]bool{}
	scanDefinition(data, func(s rawString) {
		if s.ref || seen[s.key] {
			return
		}
		seen[s.key] = true
		switch s.key {
		case "name":
			h.Name = s.value
		case "displayName":
			h.DisplayName = s.value
		case "description":
			h.Description = s.value
		case "type":
			if s.value == Static.String() {
				h.Membership = Static
			}
		}
	})
	return h
}

// ReadRefs returns the segment references of a definition's JSON without
// parsing the definition, for one that Parse rejects (a draft), in the
// order they are written, with repeats. A reference is a "segment" member
// with a string value in a condition object: a group's "condition", an
// element of an "and" or "or" list, the object of a "not" or a "where". A
// "segment" key anywhere else (in a predicate's value, in a string) is
// not one. Like ReadHeader it reads as far as the JSON is well formed and
// never fails. For a definition that Parse accepts, ReadRefs gives what
// its Refs method gives.
func ReadRefs(data []byte) []Ref {
	var out []Ref
	scanDefinition(data, func(s rawString) {
		if s.ref {
			out = append(out, Ref{Name: s.value, Path: s.path})
		}
	})
	return out
}

// RenameRefs returns data, a definition's JSON, with every reference to
// the segment from (as ReadRefs finds them) naming to instead; every other
// byte is kept as written. Like ReadRefs it works as far as the JSON is
// well formed, so that a draft's references stay in step with the
// catalog's. It returns data itself when nothing is renamed.
func RenameRefs(data []byte, from, to string) []byte {
	return rename(data, from, to, false)
}

// Rename returns data, the definition of the segment from, renamed to:
// its top-level "name" when it is from, and its references to itself, as
// RenameRefs renames them; every other byte is kept as written.
func Rename(data []byte, from, to string) []byte {
	return rename(data, from, to, true)
}

func rename(data []byte, from, to string, self bool) []byte {
	var edits []rawString
	scanDefinition(data, func(s rawString) {
		if s.value == from && (s.ref || self && s.key == "name") {
			edits = append(edits, s)
		}
	})
	if len(edits) == 0 {
		return data
	}
	lit := quoteJSON(to)
	out := make([]byte, 0, len(data))
	last := 0
	for _, e := range edits {
		out = append(out, data[last:e.from]...)
		out = append(out, lit...)
		last = e.to
	}
	return append(out, data[last:]...)
}

// rawString is a string value that scanDefinition reports: a top-level
// member of the definition (ref false, key its key) or a reference (ref
// true, path its definition path). data[from:to] is its literal.
type rawString struct {
	ref      bool
	key      string
	path     string
	value    string
	from, to int
}

// role says what a JSON container is in a definition.
type role uint8

const (
	roleOther      role = iota
	roleDefinition      // the top-level object
	roleGroups          // the "groups" array
	roleGroup           // an element of groups
	roleCondition       // a condition object
	roleList            // an "and" or "or" array
)

// frame is one open container of scanDefinition.
type frame struct {
	role    role
	object  bool
	path    string // of the container, for groups, group, condition and list
	key     string // the member being read, in an object
	wantKey bool
	next    int // the index of the next element, in an array
}

// child returns the role and path of a container that starts as the
// current value of f.
func (f *frame) child(object bool) (role, string) {
	switch {
	case f.role == roleDefinition && !object && f.key == "groups":
		return roleGroups, "groups"
	case f.role == roleGroups && object:
		return roleGroup, index(f.path, f.next)
	case f.role == roleGroup && object && f.key == "condition":
		return roleCondition, at(f.path, "condition")
	case f.role == roleCondition && !object && (f.key == "and" || f.key == "or"):
		return roleList, at(f.path, f.key)
	case f.role == roleCondition && object && (f.key == "not" || f.key == "where"):
		return roleCondition, at(f.path, f.key)
	case f.role == roleList && object:
		return roleCondition, index(f.path, f.next)
	}
	return roleOther, ""
}

// valueDone moves f past the value it was reading.
func (f *frame) valueDone() {
	if f.object {
		f.wantKey = true
	} else {
		f.next++
	}
}

// scanDefinition reads the first JSON value of data token by token, as
// far as it is well formed and nested at most MaxDepth deep (as Parse
// reads it), and calls fn for each top-level string member of an object
// and each string "segment" member of a condition object, in input order.
// It keeps no tree and does not recurse, so no input can exhaust it.
func scanDefinition(data []byte, fn func(rawString)) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var stack []frame
	for {
		before := int(dec.InputOffset())
		tok, err := dec.Token()
		if err != nil {
			return // the end of the JSON, or a break in it
		}
		after := int(dec.InputOffset())
		var top *frame
		if n := len(stack); n > 0 {
			top = &stack[n-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if len(stack) >= MaxDepth {
					return
				}
				r, path := roleDefinition, ""
				if top != nil {
					r, path = top.child(t == '{')
				} else if t != '{' {
					return // not a definition
				}
				stack = append(stack, frame{role: r, object: t == '{', path: path, wantKey: true})
				continue
			default: // '}', ']'
				stack = stack[:len(stack)-1]
				if len(stack) == 0 {
					return // the first value is read
				}
				stack[len(stack)-1].valueDone()
				continue
			}
		case string:
			if top == nil {
				return
			}
			if top.object && top.wantKey {
				top.key, top.wantKey = t, false
				continue
			}
			if top.object && (top.role == roleDefinition || top.role == roleCondition && top.key == "segment") {
				// The bytes from the previous token's end to this one's are
				// white space, ':' and the string literal.
				s := rawString{ref: top.role == roleCondition, key: top.key, value: t, to: after}
				s.from = before + bytes.IndexByte(data[before:after], '"')
				if s.ref {
					s.path = at(top.path, "segment")
				}
				fn(s)
			}
		}
		if top == nil {
			return // a scalar at the top level
		}
		top.valueDone()
	}
}
