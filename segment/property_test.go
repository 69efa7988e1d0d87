package segment_test

import (
	"encoding/json"
	"math"
	"testing"

	"github.com/stretchr/testify/require"
	"pgregory.net/rapid"

	"github.com/segmentkit/segmentkit/segment"
)

// The generators build arbitrary definitions in Go, valid or not against
// any schema, but of the shape Parse accepts: at least one group, set
// operators on every group but the first, non-empty and/or lists, an
// operator on every predicate. Empty paths are nil, as Parse returns them.

func genDefinition(t *rapid.T) *segment.Definition {
	d := &segment.Definition{
		Name:        rapid.StringMatching(`[A-Za-z0-9_-]{0,12}`).Draw(t, "name"),
		DisplayName: rapid.String().Draw(t, "displayName"),
		Description: rapid.String().Draw(t, "description"),
		Membership:  rapid.SampledFrom([]segment.Membership{segment.Dynamic, segment.Static}).Draw(t, "kind"),
	}
	n := rapid.IntRange(1, 3).Draw(t, "groups")
	for i := range n {
		g := segment.Group{Condition: genCondition(t, 3)}
		if i > 0 {
			g.SetOp = rapid.SampledFrom([]segment.SetOp{segment.Union, segment.Intersect, segment.Except}).Draw(t, "setOp")
		}
		d.Groups = append(d.Groups, g)
	}
	return d
}

// genCondition returns a customer-level condition nested at most depth
// levels.
func genCondition(t *rapid.T, depth int) segment.Condition {
	kinds := 3
	if depth > 0 {
		kinds = 6
	}
	switch rapid.IntRange(0, kinds-1).Draw(t, "condition") {
	case 0:
		return genPredicate(t)
	case 1:
		return genRelated(t, depth)
	case 2:
		return &segment.SegmentRef{Name: rapid.String().Draw(t, "segment")}
	case 3:
		return &segment.And{Conditions: genList(t, depth-1, genCondition)}
	case 4:
		return &segment.Or{Conditions: genList(t, depth-1, genCondition)}
	default:
		return &segment.Not{Condition: genCondition(t, depth-1)}
	}
}

// genWhere returns a condition of and, or, not and predicates.
func genWhere(t *rapid.T, depth int) segment.Condition {
	kinds := 1
	if depth > 0 {
		kinds = 4
	}
	switch rapid.IntRange(0, kinds-1).Draw(t, "where") {
	case 0:
		return genPredicate(t)
	case 1:
		return &segment.And{Conditions: genList(t, depth-1, genWhere)}
	case 2:
		return &segment.Or{Conditions: genList(t, depth-1, genWhere)}
	default:
		return &segment.Not{Condition: genWhere(t, depth-1)}
	}
}

func genList(t *rapid.T, depth int, gen func(*rapid.T, int) segment.Condition) []segment.Condition {
	n := rapid.IntRange(1, 3).Draw(t, "len")
	cs := make([]segment.Condition, n)
	for i := range cs {
		cs[i] = gen(t, depth)
	}
	return cs
}

func genAttribute(t *rapid.T) string {
	return rapid.OneOf(
		rapid.SampledFrom([]string{"Customer.Age", "Customer.Country", "Order.Amount", "Order.OrderDate", "Measures.Spend90d"}),
		rapid.String(),
	).Draw(t, "attribute")
}

func genPredicate(t *rapid.T) *segment.Predicate {
	return &segment.Predicate{
		Attribute:  genAttribute(t),
		Op:         segment.Op(rapid.IntRange(1, int(segment.InNextDays)).Draw(t, "op")),
		Value:      genValue(t, 2, true),
		IgnoreCase: rapid.Bool().Draw(t, "ignoreCase"),
	}
}

func genRelated(t *rapid.T, depth int) *segment.Related {
	r := &segment.Related{Entity: rapid.OneOf(rapid.SampledFrom([]string{"Order", "Visit"}), rapid.String()).Draw(t, "related")}
	if rapid.Bool().Draw(t, "hasPath") {
		r.Path = rapid.SliceOfN(rapid.String(), 1, 3).Draw(t, "path")
	}
	if rapid.Bool().Draw(t, "hasWhere") {
		r.Where = genWhere(t, depth)
	}
	if rapid.Bool().Draw(t, "hasAggregate") {
		r.Aggregate = &segment.Aggregate{
			Func:      segment.Func(rapid.IntRange(int(segment.Count), int(segment.Last)).Draw(t, "func")),
			Attribute: rapid.OneOf(rapid.Just(""), rapid.String()).Draw(t, "aggAttribute"),
			OrderBy:   rapid.OneOf(rapid.Just(""), rapid.String()).Draw(t, "orderBy"),
		}
	} else {
		r.Match = rapid.SampledFrom([]segment.Match{segment.MatchAny, segment.MatchAll, segment.MatchNone}).Draw(t, "match")
	}
	// Operator and value are written whenever set, with or without an
	// aggregate; Validate, not Parse, rejects them on a match.
	r.Op = segment.Op(rapid.IntRange(0, int(segment.InNextDays)).Draw(t, "op"))
	r.Value = genValue(t, 1, true)
	return r
}

// genValue returns a value; absent only when absent is true.
func genValue(t *rapid.T, depth int, absent bool) segment.Value {
	first := 0
	if !absent {
		first = 1
	}
	last := 6
	if depth <= 0 {
		last = 4
	}
	switch rapid.IntRange(first, last).Draw(t, "value") {
	case 0:
		return segment.Value{}
	case 1:
		return segment.Value{Kind: segment.NullValue}
	case 2:
		return segment.Bool(rapid.Bool().Draw(t, "bool"))
	case 3:
		switch rapid.IntRange(0, 2).Draw(t, "number") {
		case 0:
			return segment.Int(rapid.Int64().Draw(t, "int"))
		case 1:
			f := rapid.Float64().Draw(t, "float")
			if math.IsNaN(f) || math.IsInf(f, 0) {
				f = 0
			}
			return segment.Float(f)
		default:
			text := rapid.SampledFrom([]string{"1.50", "-0", "1e3", "2E-7", "123456789012345678901234567890", "0.0"}).Draw(t, "text")
			return segment.Value{Kind: segment.NumberValue, Num: json.Number(text)}
		}
	case 4:
		return segment.Str(rapid.String().Draw(t, "string"))
	case 5:
		n := rapid.IntRange(0, 3).Draw(t, "listLen")
		list := make([]segment.Value, n)
		for i := range list {
			list[i] = genValue(t, depth-1, false)
		}
		return segment.List(list...)
	default:
		// An object value can only come from JSON.
		inner, err := json.Marshal(genValue(t, depth-1, false))
		if err != nil {
			t.Fatalf("marshal: %v", err)
		}
		var v segment.Value
		if err := json.Unmarshal([]byte(`{"k": `+string(inner)+`, "a": []}`), &v); err != nil {
			t.Fatalf("unmarshal: %v", err)
		}
		return v
	}
}

// TestPropertyRoundTrip: for any definition built in Go, Parse(Marshal(d))
// equals d and marshalling it again gives the same bytes.
func TestPropertyRoundTrip(t *testing.T) {
	s := testSchema(t)
	rapid.Check(t, func(rt *rapid.T) {
		d := genDefinition(rt)
		b1, err := json.Marshal(d)
		require.NoError(rt, err)
		d2, err := segment.Parse(b1)
		require.NoError(rt, err, "%s", b1)
		require.Equal(rt, d, d2)
		b2, err := json.Marshal(d2)
		require.NoError(rt, err)
		require.Equal(rt, string(b1), string(b2))
		require.Equal(rt, d.String(), d2.String())
		// Validation of arbitrary definitions must not panic.
		_ = d.ValidateWith(s, segment.ValidateOptions{Segments: func(string) bool { return true }})
	})
}

// TestPropertyConditionRoundTrip does the same for single conditions.
func TestPropertyConditionRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		c := genCondition(rt, 3)
		b1, err := segment.MarshalCondition(c)
		require.NoError(rt, err)
		c2, err := segment.ParseCondition(b1)
		require.NoError(rt, err, "%s", b1)
		require.Equal(rt, c, c2)
		b2, err := segment.MarshalCondition(c2)
		require.NoError(rt, err)
		require.Equal(rt, string(b1), string(b2))
	})
}

// TestPropertyMeasureRoundTrip does the same for measures.
func TestPropertyMeasureRoundTrip(t *testing.T) {
	rapid.Check(t, func(rt *rapid.T) {
		m := &segment.Measure{
			Name:        rapid.String().Draw(rt, "name"),
			DisplayName: rapid.String().Draw(rt, "displayName"),
			Entity:      rapid.String().Draw(rt, "related"),
			Aggregate: segment.Aggregate{
				Func:      segment.Func(rapid.IntRange(int(segment.Count), int(segment.Last)).Draw(rt, "func")),
				Attribute: rapid.String().Draw(rt, "attribute"),
				OrderBy:   rapid.String().Draw(rt, "orderBy"),
			},
		}
		if rapid.Bool().Draw(rt, "hasPath") {
			m.Path = rapid.SliceOfN(rapid.String(), 1, 3).Draw(rt, "path")
		}
		if rapid.Bool().Draw(rt, "hasWhere") {
			m.Where = genWhere(rt, 2)
		}
		b1, err := json.Marshal(m)
		require.NoError(rt, err)
		m2, err := segment.ParseMeasure(b1)
		require.NoError(rt, err, "%s", b1)
		require.Equal(rt, m, m2)
		b2, err := json.Marshal(m2)
		require.NoError(rt, err)
		require.Equal(rt, string(b1), string(b2))
	})
}
