package quick

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// fieldRef is a field resolved against the snapshot. Its Field's Kind is
// only known once the statistics exist for integer fields.
type fieldRef struct {
	Field
	// col is the attribute's column, for Profiles and Intelligence.
	col *storage.Column
	// For Intelligence: the relationship path used, and whether it is the
	// entity's only one (then definitions use the shorthand predicate).
	path   schema.Path
	single bool
	// measure is the measure's definition, for Measures.
	measure *segment.Measure
}

// resolveFields lists the fields of every origin from the snapshot's
// schema.
//
// Keys and foreign keys are left out: they identify rows rather than
// describe customers. Prediction entities with no relationship path to the
// customer entity are left out too, since no segment can reach them.
func (s *Stats) resolveFields() {
	if s.snap == nil || s.snap.Schema() == nil {
		return
	}
	sch := s.snap.Schema()
	add := func(r *fieldRef) {
		r.Name = r.Entity + "." + r.Attribute
		s.fields[r.Name] = r
		s.order = append(s.order, r)
		s.names = append(s.names, r.Name)
	}
	if cust := s.snap.Customers(); cust != nil {
		for _, c := range cust.Columns {
			if c.Attr.Name == cust.Entity.Key {
				continue
			}
			add(&fieldRef{Field: Field{Origin: Profiles, Entity: cust.Entity.Name, Attribute: c.Attr.Name, Type: c.Attr.Type}, col: c})
		}
	}
	measures := engine.Measures(s.snap)
	s.measureErr = measures.Err()
	for _, m := range measures.List() {
		typ := m.Type(sch)
		if typ == schema.Invalid {
			continue
		}
		add(&fieldRef{Field: Field{Origin: Measures, Entity: schema.MeasuresEntity, Attribute: m.Name,
			DisplayName: m.DisplayName, Type: typ}, measure: m})
	}
	for i := range sch.Entities {
		e := &sch.Entities[i]
		if !e.Prediction || e.Name == sch.CustomerEntity {
			continue
		}
		t := s.snap.Table(e.Name)
		paths := sch.Paths(e.Name)
		if t == nil || len(paths) == 0 {
			continue
		}
		foreign := map[string]bool{}
		for _, r := range sch.Relationships {
			if r.From.Entity == e.Name {
				foreign[r.From.Attribute] = true
			}
		}
		for _, c := range t.Columns {
			if c.Attr.Name == e.Key || foreign[c.Attr.Name] {
				continue
			}
			add(&fieldRef{Field: Field{Origin: Intelligence, Entity: e.Name, Attribute: c.Attr.Name, Type: c.Attr.Type},
				col: c, path: paths[0], single: len(paths) == 1})
		}
	}
}

// lookup returns the field named name, or an error wrapping
// ErrUnknownField with a suggestion.
func (s *Stats) lookup(name string) (*fieldRef, error) {
	if s == nil {
		return nil, fmt.Errorf("%w %q: the View has no statistics; get one from Stats.At", ErrUnknownField, name)
	}
	if r, ok := s.fields[name]; ok {
		return r, nil
	}
	if s.measureErr != nil && strings.HasPrefix(name, schema.MeasuresEntity+".") {
		return nil, fmt.Errorf("%w %q: the schema's measures have problems: %w", ErrUnknownField, name, s.measureErr)
	}
	p := &diag.Problem{Path: "field", Err: ErrUnknownField, Suggestion: s.suggest(name)}
	p.Message = fmt.Sprintf("%s %q", ErrUnknownField, name)
	if p.Suggestion == "" && len(s.names) > 0 {
		p.Message += "; fields are written Entity.Attribute, as Fields lists them"
	}
	return nil, p
}

// suggest returns the field nearest to name, or one whose attribute is
// name when name lacks its entity.
func (s *Stats) suggest(name string) string {
	if n := diag.Nearest(name, s.names); n != "" {
		return n
	}
	var only string
	for _, r := range s.order {
		if strings.EqualFold(r.Attribute, name) || strings.EqualFold(r.Attribute, name[strings.LastIndexByte(name, '.')+1:]) {
			if only != "" {
				return ""
			}
			only = r.Name
		}
	}
	return only
}

// scale returns the field's scale: integers need their statistics.
func (v View) scale(ctx context.Context, r *fieldRef) (Scale, error) {
	switch r.Type {
	case schema.String, schema.Boolean:
		return Categorical, nil
	case schema.Integer:
		c, err := v.column(ctx, r)
		if err != nil {
			return 0, err
		}
		return c.field.Scale, nil
	}
	return Numerical, nil
}

// Fields lists the fields of origin with their scales, in schema order:
// the customer entity's attributes but its key (Profiles); the schema's
// measures (Measures); the attributes of prediction entities but their keys
// and foreign keys (Intelligence). Integer fields need their statistics to
// know their scale, which Fields computes if needed. For Measures, a problem
// in the schema's measures is returned as the error.
func (v View) Fields(ctx context.Context, origin Origin) ([]Field, error) {
	if v.s == nil {
		return nil, errors.New("quick: the View has no statistics; get one from Stats.At")
	}
	if int(origin) >= len(originNames) {
		return nil, fmt.Errorf("%w %s", ErrUnknownOrigin, origin)
	}
	if origin == Measures && v.s.measureErr != nil {
		return nil, fmt.Errorf("the schema's measures have problems: %w", v.s.measureErr)
	}
	out := []Field{}
	for _, r := range v.s.order {
		if r.Origin != origin {
			continue
		}
		k, err := v.scale(ctx, r)
		if err != nil {
			return nil, err
		}
		f := r.Field
		f.Scale = k
		out = append(out, f)
	}
	return out, nil
}

// Field returns the field named name ("Customer.Age"), with its scale. An
// unknown name is an error wrapping ErrUnknownField that suggests the
// nearest field.
func (v View) Field(ctx context.Context, name string) (Field, error) {
	r, err := v.s.lookup(name)
	if err != nil {
		return Field{}, err
	}
	k, err := v.scale(ctx, r)
	if err != nil {
		return Field{}, err
	}
	f := r.Field
	f.Scale = k
	return f, nil
}
