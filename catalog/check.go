package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
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
	kind        segment.Kind
	refs        []string
	problems    diag.List
	// meaning identifies what the definition selects (type and groups),
	// so that edits of the display name or description alone keep a
	// static segment frozen.
	meaning string
}

// loose holds the top-level properties of a definition read without
// parsing it, for drafts that segment.Parse rejects.
type loose struct {
	name, displayName, description, kind string
	hasName                              bool
}

// readLoose reads the top-level string properties of a JSON object, as
// far as the JSON is well formed: a truncated definition still gives the
// properties written before the break. It returns the zero loose when
// data does not start as a JSON object.
func readLoose(data []byte) loose {
	var l loose
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return l
	}
	for {
		tok, err := dec.Token()
		if err != nil {
			return l
		}
		key, ok := tok.(string)
		if !ok {
			return l // the closing '}'
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return l
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			continue
		}
		switch key {
		case "name":
			l.name, l.hasName = v, true
		case "displayName":
			l.displayName = v
		case "description":
			l.description = v
		case "type":
			l.kind = v
		}
	}
}

// looseRefs returns the names of every {"segment": "Name"} in data, in
// order of appearance, without duplicates; nil when data is not JSON.
func looseRefs(data []byte) []string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var out []string
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			if s, ok := x["segment"].(string); ok && !slices.Contains(out, s) {
				out = append(out, s)
			}
			for _, k := range sortedKeys(x) {
				walk(x[k])
			}
		case []any:
			for _, e := range x {
				walk(e)
			}
		}
	}
	walk(v)
	return out
}

func sortedKeys(m map[string]any) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// refPaths returns the definition path of the first reference to each
// segment the definition references, in order of appearance.
func refPaths(def *segment.Definition) (names []string, paths map[string]string) {
	paths = map[string]string{}
	var walk func(path string, c segment.Condition)
	walk = func(path string, c segment.Condition) {
		switch n := c.(type) {
		case *segment.And:
			for i, x := range n.Conditions {
				walk(fmt.Sprintf("%s.and[%d]", path, i), x)
			}
		case *segment.Or:
			for i, x := range n.Conditions {
				walk(fmt.Sprintf("%s.or[%d]", path, i), x)
			}
		case *segment.Not:
			if n != nil {
				walk(path+".not", n.Condition)
			}
		case *segment.SegmentRef:
			if n == nil {
				return
			}
			if _, ok := paths[n.Name]; !ok {
				paths[n.Name] = path + ".segment"
				names = append(names, n.Name)
			}
		}
	}
	for i, g := range def.Groups {
		walk(fmt.Sprintf("groups[%d].condition", i), g.Condition)
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
		lo := readLoose(raw)
		ck.name, ck.displayName, ck.description = lo.name, lo.displayName, lo.description
		if lo.kind == segment.Static.String() {
			ck.kind = segment.Static
		}
		ck.refs = looseRefs(raw)
		ck.meaning = meaningOf(nil, raw)
		return ck
	}
	ck.def = def
	ck.name, ck.displayName, ck.description, ck.kind = def.Name, def.DisplayName, def.Description, def.Kind
	refs, paths := refPaths(def)
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

// rewriteStrings returns data with some string values replaced, every
// other byte kept as written. For each string value inside an object, fn
// receives the object's depth (1 for the top level), the member's key and
// the value, and returns the replacement and true to replace it. It
// returns data unchanged and false when data is not valid JSON.
func rewriteStrings(data []byte, fn func(depth int, key, value string) (string, bool)) ([]byte, bool) {
	if !json.Valid(data) {
		return data, false
	}
	type frame struct {
		object  bool
		wantKey bool
		key     string
	}
	var stack []frame
	type edit struct {
		from, to int
		repl     string
	}
	var edits []edit
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].object {
			stack[n-1].wantKey = true
		}
	}
	for {
		before := dec.InputOffset()
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return data, false
		}
		after := int(dec.InputOffset())
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if n := len(stack); n > 0 && stack[n-1].object {
					stack[n-1].wantKey = false
				}
				stack = append(stack, frame{object: t == '{', wantKey: true})
			case '}', ']':
				if len(stack) > 0 {
					stack = stack[:len(stack)-1]
				}
				valueDone()
			}
		case string:
			n := len(stack)
			if n > 0 && stack[n-1].object && stack[n-1].wantKey {
				stack[n-1].key, stack[n-1].wantKey = t, false
				continue
			}
			if n > 0 && stack[n-1].object {
				if repl, ok := fn(n, stack[n-1].key, t); ok {
					// The bytes between the previous token and this one's
					// end are white space, ':' and the string literal.
					start := int(before) + bytes.IndexByte(data[before:after], '"')
					edits = append(edits, edit{from: start, to: after, repl: repl})
				}
			}
			valueDone()
		default:
			valueDone()
		}
	}
	if len(edits) == 0 {
		return data, true
	}
	var out bytes.Buffer
	last := 0
	for _, e := range edits {
		out.Write(data[last:e.from])
		out.Write(quote(e.repl))
		last = e.to
	}
	out.Write(data[last:])
	return out.Bytes(), true
}

// quote returns s as a JSON string literal.
func quote(s string) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(s)
	return bytes.TrimRight(b.Bytes(), "\n")
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
		return fmt.Errorf("segment %q %w (did you mean %s?)", name, ErrNotFound, s)
	}
	return fmt.Errorf("segment %q %w", name, ErrNotFound)
}
