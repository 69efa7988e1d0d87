package segment

import (
	"slices"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// Measures are the customer attribute measures of one schema (FORMAT.md
// section 3), parsed and validated once by MeasuresOf, so that every
// definition validated or compiled against that schema reuses them.
//
// A Measures is immutable and safe for concurrent use. It belongs to the
// schema it was parsed from: ValidateOptions.Measures is used only with
// that schema. The Measure values it hands out are shared and must not be
// modified.
type Measures struct {
	schema *schema.Schema
	// list holds every measure that parses, valid or not, in schema order,
	// without those whose name an earlier measure already has: validation
	// resolves "Measures.X" against them even when some have problems, so
	// that a problem in a measure is not reported again at each use.
	list   []*Measure
	byName map[string]*Measure
	names  []string
	// problems has the problems of every measure, paths "measures[i]".
	problems diag.List
}

// MeasuresOf parses and validates the measures of s (its Measures, as
// written in schema.json), reporting every problem; two measures with the
// same name are a problem. A nil schema has no measures. MeasuresOf does
// not modify s, which must not be modified afterwards.
//
// Parsing costs as much as validating the measures; a caller that
// validates many definitions against one schema parses once and passes
// the result in ValidateOptions.Measures. The engine keeps one per
// snapshot (engine.Measures).
func MeasuresOf(s *schema.Schema) *Measures {
	ms := &Measures{schema: s}
	if s == nil {
		return ms
	}
	first := map[string]int{}
	ms.byName = make(map[string]*Measure, len(s.Measures))
	for i, raw := range s.Measures {
		path := index("measures", i)
		m, err := ParseMeasure(raw)
		if err != nil {
			ms.problems.Merge(path, err)
			continue
		}
		ms.problems.Merge(path, m.Validate(s))
		if j, dup := first[m.Name]; dup {
			ms.problems.Add(at(path, "name"), ErrMeasure, "measure %q is already defined at measures[%d]", m.Name, j)
			continue
		}
		first[m.Name] = i
		ms.list = append(ms.list, m)
		ms.byName[m.Name] = m
		ms.names = append(ms.names, m.Name)
	}
	return ms
}

// ParseMeasures parses and validates the measures of s, as MeasuresOf
// does. It returns them in order, or nil and a diag.List with every
// problem, paths starting "measures[i]". A nil schema has no measures.
func ParseMeasures(s *schema.Schema) ([]*Measure, error) {
	ms := MeasuresOf(s)
	if err := ms.Err(); err != nil {
		return nil, err
	}
	return ms.List(), nil
}

// Schema returns the schema the measures were parsed from. A nil Measures
// has no schema and no measures.
func (ms *Measures) Schema() *schema.Schema {
	if ms == nil {
		return nil
	}
	return ms.schema
}

// Err returns a literal nil when every measure is valid, or a diag.List
// with every problem, paths starting "measures[i]". Validating a
// definition against the schema reports the same problems, under
// "schema.measures[i]".
func (ms *Measures) Err() error {
	if ms == nil {
		return nil
	}
	return ms.problems.Err()
}

// List returns the measures in schema order, or nil when Err is not nil.
// The slice is the caller's; the measures are shared.
func (ms *Measures) List() []*Measure {
	if ms == nil || len(ms.problems) > 0 {
		return nil
	}
	return slices.Clone(ms.list)
}

// Lookup returns the measure named name (as in "Measures.name"); ok is
// false when there is none or when Err is not nil.
func (ms *Measures) Lookup(name string) (m *Measure, ok bool) {
	if ms == nil || len(ms.problems) > 0 {
		return nil, false
	}
	m, ok = ms.byName[name]
	return m, ok
}
