package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/internal/jsonin"
)

// Parse reads schema.json and validates it. On failure it returns a
// diag.List with every problem found.
//
// A UTF-8 byte order mark at the start is skipped. Keys match exactly, and
// an unknown key is a problem with its line and the nearest valid key. A
// schema.json of more than MaxSchemaBytes is refused (ErrLimit).
func Parse(data []byte) (*Schema, error) {
	if len(data) > MaxSchemaBytes {
		var l diag.List
		l.Add("schema.json", ErrLimit, "the schema is %s bytes; at most %s (16 MiB) are allowed",
			exact.FormatCount(len(data)), exact.FormatCount(MaxSchemaBytes))
		return nil, l
	}
	data, err := jsonin.Text(data)
	if err != nil {
		var l diag.List
		l.Add("schema.json", ErrSyntax, "%v", err)
		return nil, l
	}
	if l := checkKeys(data, reflect.TypeFor[rawSchema]()); len(l) > 0 {
		return nil, l
	}
	var raw rawSchema
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&raw); err != nil {
		var l diag.List
		l.Add("schema.json", ErrSyntax, "%s", describeJSONError(data, err))
		return nil, l
	}
	if dec.More() {
		var l diag.List
		l.Add("schema.json", ErrSyntax, "unexpected data after the schema object")
		return nil, l
	}
	s, typeProblems := raw.schema()
	if err := s.Validate(); err != nil || len(typeProblems) > 0 {
		typeProblems.Merge("", err)
		return nil, typeProblems
	}
	return s, nil
}

// rawSchema mirrors Schema with attribute types as written, so that Parse
// reports every unknown type with a suggestion instead of stopping at the
// first.
type rawSchema struct {
	CustomerEntity string `json:"customerEntity"`
	Entities       []struct {
		Name       string `json:"name"`
		Key        string `json:"key"`
		Source     string `json:"source"`
		Prediction bool   `json:"prediction"`
		Attributes []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"attributes"`
	} `json:"entities"`
	Relationships []Relationship    `json:"relationships"`
	Measures      []json.RawMessage `json:"measures"`
}

func (r *rawSchema) schema() (*Schema, diag.List) {
	var l diag.List
	s := &Schema{CustomerEntity: r.CustomerEntity, Relationships: r.Relationships, Measures: r.Measures}
	for i, re := range r.Entities {
		e := Entity{Name: re.Name, Key: re.Key, File: re.Source, Prediction: re.Prediction}
		for j, ra := range re.Attributes {
			t, ok := ParseType(ra.Type)
			if !ok && ra.Type != "" {
				l.AddSuggest(fmt.Sprintf("entities[%d].attributes[%d].type", i, j), ErrUnknownType, ra.Type, TypeNames(),
					"attribute %s.%s has unknown type %q; use one of %v", re.Name, ra.Name, ra.Type, TypeNames())
				t = Integer // keep validating the rest; the problem is recorded
			}
			e.Attributes = append(e.Attributes, Attribute{Name: ra.Name, Type: t})
		}
		s.Entities = append(s.Entities, e)
	}
	return s, l
}

// describeJSONError turns an encoding/json error into a message with a line
// number where the decoder gives an offset.
func describeJSONError(data []byte, err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return fmt.Sprintf("line %d: the JSON ends before the schema object does (is the file truncated?)", lineOf(data, int64(len(data))))
	case errors.As(err, &se):
		if jsonin.BOMAt(data, int(se.Offset-1)) {
			return fmt.Sprintf("line %d: %s", lineOf(data, se.Offset), jsonin.BOMMessage)
		}
		return fmt.Sprintf("line %d: %v", lineOf(data, se.Offset), se)
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "value"
		}
		return fmt.Sprintf("line %d: %s must be %s, not %s", lineOf(data, te.Offset), field, te.Type, te.Value)
	}
	return err.Error()
}

func lineOf(data []byte, offset int64) int {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	return bytes.Count(data[:offset], []byte("\n")) + 1
}

// Validate checks the schema as FORMAT.md section 1 requires and prepares
// its relationship paths. It returns a diag.List with every problem, or nil.
// Code that builds a Schema by hand must call Validate before using it.
func (s *Schema) Validate() error {
	var l diag.List
	names := map[string]bool{}
	for i := range s.Entities {
		e := &s.Entities[i]
		at := fmt.Sprintf("entities[%d]", i)
		switch {
		case e.Name == "":
			l.Add(at+".name", ErrInvalid, "entity name is empty")
		case e.Name == MeasuresEntity:
			l.Add(at+".name", ErrInvalid, "entity name %q is reserved for measures", e.Name)
		case names[e.Name]:
			l.Add(at+".name", ErrDuplicate, "entity %q is defined twice", e.Name)
		case strings.Contains(e.Name, "."):
			l.Add(at+".name", ErrInvalid, "entity name %q must not contain '.'", e.Name)
		}
		names[e.Name] = true
		if len(e.Attributes) == 0 {
			l.Add(at+".attributes", ErrInvalid, "entity %q has no attributes", e.Name)
		}
		if len(e.Attributes) > MaxAttributes {
			l.Add(at+".attributes", ErrLimit, "entity %q has %s attributes; at most %s are allowed",
				e.Name, exact.FormatCount(len(e.Attributes)), exact.FormatCount(MaxAttributes))
			continue
		}
		attrs := map[string]bool{}
		for j, a := range e.Attributes {
			aat := fmt.Sprintf("%s.attributes[%d]", at, j)
			switch {
			case a.Name == "":
				l.Add(aat+".name", ErrInvalid, "attribute name is empty")
			case attrs[a.Name]:
				l.Add(aat+".name", ErrDuplicate, "attribute %q is defined twice in %s", a.Name, e.Name)
			}
			attrs[a.Name] = true
			if a.Type == Invalid {
				l.Add(aat+".type", ErrUnknownType, "attribute %s.%s has no type; use one of %v", e.Name, a.Name, TypeNames())
			}
		}
		switch {
		case e.Key == "":
			l.Add(at+".key", ErrInvalid, "entity %q has no key", e.Name)
		case !attrs[e.Key]:
			l.AddSuggest(at+".key", ErrUnknownAttribute, e.Key, e.AttributeNames(), "key %q is not an attribute of %s", e.Key, e.Name)
		}
	}
	switch {
	case s.CustomerEntity == "":
		l.Add("customerEntity", ErrInvalid, "customerEntity is missing")
	case !names[s.CustomerEntity]:
		l.AddSuggest("customerEntity", ErrUnknownEntity, s.CustomerEntity, s.EntityNames(), "customerEntity %q is not an entity", s.CustomerEntity)
	}
	rels := map[string]bool{}
	for i, r := range s.Relationships {
		at := fmt.Sprintf("relationships[%d]", i)
		switch {
		case r.Name == "":
			l.Add(at+".name", ErrInvalid, "relationship name is empty")
		case rels[r.Name]:
			l.Add(at+".name", ErrDuplicate, "relationship %q is defined twice", r.Name)
		}
		rels[r.Name] = true
		from, okFrom := s.endpoint(&l, at+".from", r.From)
		to, okTo := s.endpoint(&l, at+".to", r.To)
		if !okFrom || !okTo {
			continue
		}
		te, _ := s.Entity(r.To.Entity)
		if te.Key != r.To.Attribute {
			l.Add(at+".to.attribute", ErrRelationship, "relationship %s must point to the key of %s (%s), not %s", r.Name, te.Name, te.Key, r.To.Attribute)
		}
		if from.Type != to.Type {
			l.Add(at, ErrRelationship, "relationship %s links %s (%s) to %s (%s): types differ", r.Name, r.From, from.Type, r.To, to.Type)
		}
		if r.From.Entity == r.To.Entity {
			l.Add(at, ErrCycle, "relationship %s links %s to itself", r.Name, r.From.Entity)
		}
	}
	if len(l) == 0 {
		if cyc := s.findCycle(); cyc != nil {
			l.Add("relationships", ErrCycle, "relationships form a cycle: %s", cyc)
		}
	}
	if len(l) == 0 {
		counts := s.countPaths()
		for i, e := range s.Entities {
			if n := counts[e.Name]; n > MaxPaths {
				l.Add(fmt.Sprintf("entities[%d]", i), ErrLimit,
					"entity %s reaches %s by more than %d relationship paths; at most %d are allowed (every path is indexed at load)",
					e.Name, s.CustomerEntity, MaxPaths, MaxPaths)
			}
		}
	}
	if len(l) > 0 {
		return l
	}
	s.paths = make(map[string][]Path, len(s.Entities))
	for i := range s.Entities {
		e := &s.Entities[i]
		s.paths[e.Name] = s.computePaths(e.Name)
		e.index = make(map[string]int, len(e.Attributes))
		for j, a := range e.Attributes {
			e.index[a.Name] = j
		}
	}
	return nil
}

func (s *Schema) endpoint(l *diag.List, at string, ep Endpoint) (Attribute, bool) {
	e, ok := s.Entity(ep.Entity)
	if !ok {
		l.AddSuggest(at+".entity", ErrUnknownEntity, ep.Entity, s.EntityNames(), "unknown entity %q", ep.Entity)
		return Attribute{}, false
	}
	a, ok := e.Attribute(ep.Attribute)
	if !ok {
		l.AddSuggest(at+".attribute", ErrUnknownAttribute, ep.Attribute, e.AttributeNames(), "%s has no attribute %q", e.Name, ep.Attribute)
		return Attribute{}, false
	}
	return a, true
}

// findCycle returns the entity names of a relationship cycle, or nil.
// countPaths returns, for every entity, how many relationship paths lead
// from it to the customer entity, counted up to MaxPaths+1 (a count above
// MaxPaths says only that there are too many). It counts over the
// relationships' graph, which findCycle has shown acyclic, in time linear
// in its size: the paths themselves, which can be exponentially many, are
// never listed.
func (s *Schema) countPaths() map[string]int {
	from := map[string][]string{}
	for _, r := range s.Relationships {
		from[r.From.Entity] = append(from[r.From.Entity], r.To.Entity)
	}
	counts := map[string]int{}
	var count func(e string) int
	count = func(e string) int {
		if e == s.CustomerEntity {
			return 1
		}
		if n, ok := counts[e]; ok {
			return n
		}
		n := 0
		for _, to := range from[e] {
			n = min(n+count(to), MaxPaths+1)
		}
		counts[e] = n
		return n
	}
	for _, e := range s.Entities {
		if e.Name != s.CustomerEntity {
			count(e.Name)
		}
	}
	return counts
}

func (s *Schema) findCycle() Path {
	const (
		white = iota
		grey
		black
	)
	color := map[string]int{}
	var stack Path
	var found Path
	var visit func(n string) bool
	visit = func(n string) bool {
		color[n] = grey
		stack = append(stack, n)
		for _, r := range s.Relationships {
			if r.From.Entity != n {
				continue
			}
			switch color[r.To.Entity] {
			case grey:
				i := slices.Index(stack, r.To.Entity)
				found = append(slices.Clone(stack[i:]), r.To.Entity)
				return true
			case white:
				if visit(r.To.Entity) {
					return true
				}
			}
		}
		stack = stack[:len(stack)-1]
		color[n] = black
		return false
	}
	for _, e := range s.Entities {
		if color[e.Name] == white && visit(e.Name) {
			return found
		}
	}
	return nil
}
