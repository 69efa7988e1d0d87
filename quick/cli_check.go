package quick

import (
	"fmt"
	"slices"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// SchemaFields lists the fields of every source from a validated schema
// alone, before any data is loaded, in the order Fields gives them. A
// field's Kind is set when its type decides it (strings and booleans are
// categorical; numbers, dates and datetimes numerical); for integers,
// whose scale depends on their distinct values, ScaleKnown reports false.
// Prediction entities with no relationship path to the customer entity
// are left out, as Fields leaves them out.
func SchemaFields(sch *schema.Schema) []Field {
	var out []Field
	add := func(f Field) {
		f.Name = f.Entity + "." + f.Attribute
		f.Scale = Numerical
		if f.Type == schema.String || f.Type == schema.Boolean {
			f.Scale = Categorical
		}
		out = append(out, f)
	}
	if cust, ok := sch.Entity(sch.CustomerEntity); ok {
		for _, a := range cust.Attributes {
			if a.Name != cust.Key {
				add(Field{Origin: Profiles, Entity: cust.Name, Attribute: a.Name, Type: a.Type})
			}
		}
	}
	ms, _ := segment.ParseMeasures(sch)
	for _, m := range ms {
		if typ := m.Type(sch); typ != schema.Invalid {
			add(Field{Origin: Measures, Entity: schema.MeasuresEntity, Attribute: m.Name, DisplayName: m.DisplayName, Type: typ})
		}
	}
	for i := range sch.Entities {
		e := &sch.Entities[i]
		if !e.Prediction || e.Name == sch.CustomerEntity || len(sch.Paths(e.Name)) == 0 {
			continue
		}
		foreign := map[string]bool{}
		for _, r := range sch.Relationships {
			if r.From.Entity == e.Name {
				foreign[r.From.Attribute] = true
			}
		}
		for _, a := range e.Attributes {
			if a.Name != e.Key && !foreign[a.Name] {
				add(Field{Origin: Intelligence, Entity: e.Name, Attribute: a.Name, Type: a.Type})
			}
		}
	}
	return out
}

// ScaleKnown reports whether the field's type alone decides its scale: it
// does for every type but integer.
func (f Field) ScaleKnown() bool { return f.Type != schema.Integer }

// SchemaField returns the field named name ("Customer.Age") from a
// validated schema alone, as SchemaFields gives it. An unknown name is an
// error wrapping ErrUnknownField that suggests the nearest field, as Field
// does.
func SchemaField(sch *schema.Schema, name string) (Field, error) {
	fields := SchemaFields(sch)
	if i := slices.IndexFunc(fields, func(f Field) bool { return f.Name == name }); i >= 0 {
		return fields[i], nil
	}
	// Suggest as lookup does, from the same names.
	st := &Stats{}
	for _, f := range fields {
		st.order = append(st.order, &fieldRef{Field: f})
		st.names = append(st.names, f.Name)
	}
	p := &diag.Problem{Path: "field", Err: ErrUnknownField, Suggestion: st.suggest(name),
		Message: fmt.Sprintf("%s %q", ErrUnknownField, name)}
	if p.Suggestion == "" {
		p.Message += "; fields are written Entity.Attribute"
	}
	return Field{}, p
}

// CheckQuery checks the quick segment "field op value" against a validated
// schema alone, as far as the schema decides: that the field exists, that
// op applies to its scale (unless it is an integer field, whose scale needs
// the data), and that value, read by ParseValue, has the field's type. A
// command calls it to report a mistake before loading the data; Estimate
// checks everything again on the data. It returns the field. Errors wrap
// ErrUnknownField (suggesting the nearest field), ErrOperator or ErrValue.
func CheckQuery(sch *schema.Schema, field string, op Op, value string) (Field, error) {
	f, err := SchemaField(sch, field)
	if err != nil {
		return Field{}, err
	}
	if f.ScaleKnown() && !slices.Contains(f.Scale.Ops(), op) {
		names := make([]string, 0, 2)
		for _, o := range f.Scale.Ops() {
			names = append(names, o.String())
		}
		return Field{}, fmt.Errorf("%w: %s does not apply to %s, a %s field; use %s",
			ErrOperator, op, f.Name, f.Scale, strings.Join(names, ", "))
	}
	if _, err := ParseValue(f, op, value); err != nil {
		return Field{}, err
	}
	return f, nil
}
