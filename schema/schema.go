// Package schema describes a segmentkit data directory: the customer entity,
// the entities related to it, their typed attributes and the many-to-one
// relationships between them, as written in schema.json (FORMAT.md section 1).
//
// A Schema is plain data and imports no Arrow code: the segment package
// validates definitions against it, and the storage package loads the data
// it names.
//
//	s, err := schema.Parse(data) // every problem at once, as a diag.List
//	paths := s.Paths("OrderLine") // [[OrderLineOrder OrderCustomer]]
package schema

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
)

// Sentinel errors for the kinds of schema problems. Every problem that
// Parse or Validate reports wraps one of them.
var (
	// ErrSyntax: schema.json is not well-formed JSON of the right shape.
	ErrSyntax = diag.NewSentinel("schema.syntax", "schema syntax")
	// ErrUnknownType: an attribute type is not one of the six.
	ErrUnknownType = diag.NewSentinel("schema.unknown_type", "unknown attribute type")
	// ErrUnknownEntity: a name refers to no entity, in a schema or in a
	// definition (segment.ErrUnknownEntity is the same sentinel).
	ErrUnknownEntity = diag.NewSentinel("schema.unknown_entity", "unknown entity")
	// ErrUnknownAttribute: a name refers to no attribute of its entity (or
	// no measure), in a schema or in a definition, where a definition also
	// reports a reference not written as "Entity.Attribute"
	// (segment.ErrUnknownAttribute is the same sentinel).
	ErrUnknownAttribute = diag.NewSentinel("schema.unknown_attribute", "unknown attribute")
	// ErrDuplicate: an entity, attribute or relationship name is used twice.
	ErrDuplicate = diag.NewSentinel("schema.duplicate", "duplicate name")
	// ErrInvalid: a required field is missing or a value is not allowed.
	ErrInvalid = diag.NewSentinel("schema.invalid", "invalid schema")
	// ErrRelationship: a relationship does not link a foreign key to a key
	// of the same type.
	ErrRelationship = diag.NewSentinel("schema.relationship", "invalid relationship")
	// ErrCycle: relationships form a cycle.
	ErrCycle = diag.NewSentinel("schema.cycle", "relationship cycle")
	// ErrLimit: a schema exceeds one of the limits below; docs/limits.md
	// lists them all.
	ErrLimit = diag.NewSentinel("schema.limit", "schema limit exceeded")
)

// The limits of a schema (docs/limits.md).
const (
	// MaxSchemaBytes is the largest schema.json, in bytes.
	MaxSchemaBytes = 16 << 20
	// MaxAttributes is the most attributes of one entity.
	MaxAttributes = 10_000
	// MaxPaths is the most relationship paths from one entity to the
	// customer entity. Paths are counted, not listed, so a schema whose
	// paths multiply (two relationships at each of 20 hops make a million)
	// is refused at once; every path gets its links at load.
	MaxPaths = 64
)

// MeasuresEntity is the name of the virtual entity whose attributes are the
// customer attribute measures (FORMAT.md section 3).
const MeasuresEntity = "Measures"

// Type is an attribute's value type.
type Type uint8

// The attribute types of FORMAT.md section 1.
const (
	// Invalid is the zero Type; no attribute has it.
	Invalid Type = iota
	// Integer is a 64-bit signed integer.
	Integer
	// Number is a 64-bit float.
	Number
	// String is a UTF-8 string.
	String
	// Date is a calendar day, YYYY-MM-DD.
	Date
	// Datetime is an instant, RFC 3339, stored as UTC.
	Datetime
	// Boolean is true or false.
	Boolean
)

var typeNames = [...]string{"invalid", "integer", "number", "string", "date", "datetime", "boolean"}

// TypeNames lists the valid type names in the order of the Type constants.
func TypeNames() []string { return slices.Clone(typeNames[1:]) }

// String returns the type's name as written in schema.json, or "Type(N)".
func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", uint8(t))
}

// ParseType returns the type named s, or Invalid and false.
func ParseType(s string) (Type, bool) {
	for i, n := range typeNames[1:] {
		if n == s {
			return Type(i + 1), true
		}
	}
	return Invalid, false
}

// Numeric reports whether t is Integer or Number.
func (t Type) Numeric() bool { return t == Integer || t == Number }

// Temporal reports whether t is Date or Datetime.
func (t Type) Temporal() bool { return t == Date || t == Datetime }

// Ordered reports whether values of t have an order used by the comparison
// operators: integer, number, date, datetime and string (byte order).
func (t Type) Ordered() bool { return t != Boolean && t != Invalid && t <= Boolean }

// MarshalJSON writes the type's name.
func (t Type) MarshalJSON() ([]byte, error) {
	if t == Invalid || int(t) >= len(typeNames) {
		return nil, fmt.Errorf("%w: %s", ErrUnknownType, t)
	}
	return json.Marshal(t.String())
}

// UnmarshalJSON reads a type name.
func (t *Type) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%w: type must be a string", ErrSyntax)
	}
	v, ok := ParseType(s)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownType, s)
	}
	*t = v
	return nil
}

// Attribute is a named, typed column of an entity.
type Attribute struct {
	Name string `json:"name"`
	Type Type   `json:"type"`
}

// Entity is a table of the data directory.
type Entity struct {
	// Name is unique in the schema.
	Name string `json:"name"`
	// Key names the attribute whose values are unique and non-null.
	Key string `json:"key"`
	// File is the data file (FORMAT.md calls it the entity's "source"),
	// relative to the data directory: .csv or
	// .parquet. It may be empty for entities supplied in memory.
	File string `json:"source,omitempty"`
	// Attributes are the entity's columns.
	Attributes []Attribute `json:"attributes"`
	// Prediction marks an output entity of a prediction or custom model:
	// keyed one-to-one by customer, listed as an Intelligence source by
	// quick segments.
	Prediction bool `json:"prediction,omitempty"`

	// index is each attribute's position by name, built once by Validate
	// (nil for an entity not validated): the loader, the engine and
	// validation look attributes up by name once per column or condition,
	// which a linear search made quadratic in wide entities.
	index map[string]int
}

// Attribute returns the attribute named name.
func (e *Entity) Attribute(name string) (Attribute, bool) {
	if i := e.AttributeIndex(name); i >= 0 {
		return e.Attributes[i], true
	}
	return Attribute{}, false
}

// AttributeIndex returns the position of the attribute named name, or -1.
// In an entity of a validated schema it takes constant time (a Schema is
// not modified after Validate); otherwise it searches.
func (e *Entity) AttributeIndex(name string) int {
	if e.index != nil {
		if i, ok := e.index[name]; !ok {
			return -1
		} else if i < len(e.Attributes) && e.Attributes[i].Name == name {
			return i
		}
	}
	for i, a := range e.Attributes {
		if a.Name == name {
			return i
		}
	}
	return -1
}

// AttributeNames lists the entity's attribute names in order.
func (e *Entity) AttributeNames() []string {
	names := make([]string, len(e.Attributes))
	for i, a := range e.Attributes {
		names[i] = a.Name
	}
	return names
}

// Endpoint names one attribute of one entity.
type Endpoint struct {
	Entity    string `json:"entity"`
	Attribute string `json:"attribute"`
}

// String returns "Entity.Attribute".
func (e Endpoint) String() string { return e.Entity + "." + e.Attribute }

// Relationship is a many-to-one link: From is a foreign key on the many
// side, To is the key of the one side.
type Relationship struct {
	Name string   `json:"name"`
	From Endpoint `json:"from"`
	To   Endpoint `json:"to"`
}

// Path is a relationship path: the names of the relationships walked from
// an entity up to the customer entity.
type Path []string

// String joins the relationship names with " -> ".
func (p Path) String() string { return strings.Join(p, " -> ") }

// Schema is a parsed, validated schema.json. It must not be modified after
// Parse or Validate; it is then safe for concurrent use.
type Schema struct {
	// CustomerEntity names the unified customer entity.
	CustomerEntity string `json:"customerEntity"`
	// Entities lists every entity, the customer entity included.
	Entities []Entity `json:"entities"`
	// Relationships lists every relationship.
	Relationships []Relationship `json:"relationships,omitempty"`
	// Measures holds the customer attribute measure definitions as written;
	// the segment package parses them (segment.ParseMeasures).
	Measures []json.RawMessage `json:"measures,omitempty"`

	paths map[string][]Path
}

// Entity returns the entity named name.
func (s *Schema) Entity(name string) (*Entity, bool) {
	for i := range s.Entities {
		if s.Entities[i].Name == name {
			return &s.Entities[i], true
		}
	}
	return nil, false
}

// Customer returns the customer entity. It is nil only for a schema that
// failed validation.
func (s *Schema) Customer() *Entity {
	e, _ := s.Entity(s.CustomerEntity)
	return e
}

// EntityNames lists the entity names in order.
func (s *Schema) EntityNames() []string {
	names := make([]string, len(s.Entities))
	for i, e := range s.Entities {
		names[i] = e.Name
	}
	return names
}

// Relationship returns the relationship named name.
func (s *Schema) Relationship(name string) (*Relationship, bool) {
	for i := range s.Relationships {
		if s.Relationships[i].Name == name {
			return &s.Relationships[i], true
		}
	}
	return nil, false
}

// Paths returns every relationship path from the entity named entity up to
// the customer entity, in a deterministic order (shorter first, then by
// names). It returns nil for the customer entity itself and for an entity
// with no path. The caller must not modify the result.
func (s *Schema) Paths(entity string) []Path {
	if s.paths == nil {
		return s.computePaths(entity)
	}
	return s.paths[entity]
}

func (s *Schema) computePaths(entity string) []Path {
	if entity == s.CustomerEntity {
		return nil
	}
	var out []Path
	var walk func(cur string, path Path, seen map[string]bool)
	walk = func(cur string, path Path, seen map[string]bool) {
		if len(path) > len(s.Relationships) {
			return // only reachable with a cycle, which Validate rejects
		}
		for _, r := range s.Relationships {
			if r.From.Entity != cur || seen[r.To.Entity] {
				continue
			}
			p := append(slices.Clone(path), r.Name)
			if r.To.Entity == s.CustomerEntity {
				out = append(out, p)
				continue
			}
			seen[r.To.Entity] = true
			walk(r.To.Entity, p, seen)
			delete(seen, r.To.Entity)
		}
	}
	walk(entity, nil, map[string]bool{entity: true})
	slices.SortFunc(out, func(a, b Path) int {
		if len(a) != len(b) {
			return len(a) - len(b)
		}
		return slices.Compare(a, b)
	})
	return out
}

// ValidPath reports whether p is a relationship path from entity to the
// customer entity.
func (s *Schema) ValidPath(entity string, p Path) bool {
	for _, q := range s.Paths(entity) {
		if slices.Equal(p, q) {
			return true
		}
	}
	return false
}
