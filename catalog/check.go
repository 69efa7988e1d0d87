package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// checked is a definition as the catalog saves it: its properties, its
// references, and its problems (none for a valid definition).
type checked struct {
	def         *segment.Definition // nil when it does not parse
	name        string
	displayName string
	description string
	membership  segment.Membership
	refs        []string
	problems    diag.List
	// meaning identifies what the definition selects (type and groups),
	// so that edits of the display name or description alone keep a
	// static segment frozen.
	meaning string
}

// refIndex returns the names that refs reference, in order of their
// first reference, and the path of each name's first reference.
func refIndex(refs []segment.Ref) (names []string, paths map[string]string) {
	paths = map[string]string{}
	for _, r := range refs {
		if _, ok := paths[r.Name]; !ok {
			paths[r.Name] = r.Path
			names = append(names, r.Name)
		}
	}
	return names, paths
}

// meaningOf returns the part of a definition that decides its members.
func meaningOf(def *segment.Definition, raw []byte) string {
	if def == nil {
		return "raw:" + string(raw)
	}
	d := *def
	d.Name, d.DisplayName, d.Description = "", "", ""
	b, err := d.MarshalJSON()
	if err != nil {
		return "raw:" + string(raw)
	}
	return string(b)
}

// check parses and validates a definition in the catalog as of tx: its
// references must name existing segments and must not close a cycle
// through the references of the catalog's valid segments. self is the id
// of the segment being edited (0 for a new one), whose stored references
// are replaced by the new ones.
func check(tx *bolt.Tx, raw []byte, sch *schema.Schema, self uint64) checked {
	var ck checked
	def, err := segment.Parse(raw)
	if err != nil {
		var l diag.List
		l.Merge("", err)
		ck.problems = l
		h := segment.ReadHeader(raw)
		ck.name, ck.displayName, ck.description, ck.membership = h.Name, h.DisplayName, h.Description, h.Membership
		ck.refs, _ = refIndex(segment.ReadRefs(raw))
		ck.meaning = meaningOf(nil, raw)
		return ck
	}
	ck.def = def
	ck.name, ck.displayName, ck.description, ck.membership = def.Name, def.DisplayName, def.Description, def.Membership
	refs, paths := refIndex(def.Refs())
	ck.refs = refs
	ck.meaning = meaningOf(def, raw)
	exists := func(name string) bool {
		_, ok := lookup(tx, name)
		return ok
	}
	if err := def.ValidateWith(sch, segment.ValidateOptions{Segments: exists}); err != nil {
		var l diag.List
		l.Merge("", err)
		ck.problems = l
	}
	if l, err := checkGroupRefs(tx, def); err != nil {
		ck.problems.Add("", err, "%v", err)
	} else {
		ck.problems = append(ck.problems, l...)
	}
	for _, ref := range refs {
		if ref == def.Name {
			continue // Validate reports self-references
		}
		if cyc := findCycle(tx, def.Name, self, ref); cyc != nil {
			ck.problems.Add(paths[ref], ErrCycle, "segment references form a cycle: %s", strings.Join(cyc, " -> "))
		}
	}
	return ck
}

// findCycle looks for a path of references from start back to name through
// the valid segments of tx (the segment self excluded: its references are
// the new ones). It returns the cycle, name first and last, or nil.
func findCycle(tx *bolt.Tx, name string, self uint64, start string) []string {
	seen := map[string]bool{}
	var path []string
	var dfs func(n string) bool
	dfs = func(n string) bool {
		if n == name {
			path = append(path, n)
			return true
		}
		if seen[n] {
			return false
		}
		seen[n] = true
		id, ok := lookup(tx, n)
		if !ok || id == self {
			return false
		}
		r, err := getRecord(tx, id)
		if err != nil || r == nil || r.Draft {
			return false
		}
		path = append(path, n)
		for _, next := range r.Refs {
			if dfs(next) {
				return true
			}
		}
		path = path[:len(path)-1]
		return false
	}
	if !dfs(start) {
		return nil
	}
	return append([]string{name}, path...)
}

func compactJSON(data []byte) []byte {
	var b bytes.Buffer
	if json.Compact(&b, data) != nil {
		return data
	}
	return b.Bytes()
}

// notFound returns an ErrNotFound error for a segment name, suggesting the
// nearest existing one.
func notFound(tx *bolt.Tx, name string) error {
	if s := diag.Nearest(name, names(tx)); s != "" {
		return fmt.Errorf("segment %q %w%s", name, ErrNotFound, diag.DidYouMean(s))
	}
	return fmt.Errorf("segment %q %w", name, ErrNotFound)
}

// Check parses and validates a definition as Create and Edit would, without
// saving anything: its references must name segments of the catalog and
// must not close a cycle. editing names the segment whose definition it
// would replace ("" for a new one), so that its own stored references do
// not count. Check returns the parsed definition (nil when it does not
// parse) and every problem found (none for a valid definition); the error
// is for the catalog or the data source failing, never for the
// definition.
func (c *Catalog) Check(ctx context.Context, definition []byte, editing string) (*segment.Definition, diag.List, error) {
	if err := c.enter(); err != nil {
		return nil, nil, err
	}
	defer c.leave()
	sch, err := c.schema(ctx)
	if err != nil {
		return nil, nil, err
	}
	var ck checked
	err = c.view(func(tx *bolt.Tx) error {
		var self uint64
		if editing != "" {
			r, err := getByName(tx, editing)
			if err != nil {
				return err
			}
			self = r.ID
		}
		ck = check(tx, definition, sch, self)
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	if len(ck.problems) > 0 {
		return ck.def, ck.problems, nil
	}
	return ck.def, nil, nil
}
