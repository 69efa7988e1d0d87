package segment_test

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/segment"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// TestGolden prints every definition and measure of testdata with String
// and MarshalJSON and compares with its .golden file.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".json")
		if name == "schema" {
			continue
		}
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			var str string
			var js []byte
			if strings.HasPrefix(name, "measure_") {
				m, err := segment.ParseMeasure(data)
				require.NoError(t, err)
				str = m.String()
				js, err = m.MarshalJSON()
				require.NoError(t, err)
			} else {
				d, err := segment.Parse(data)
				require.NoError(t, err)
				str = d.String()
				js, err = d.MarshalJSON()
				require.NoError(t, err)
			}
			got := "-- String --\n" + str + "\n-- JSON --\n" + string(js) + "\n"
			golden := filepath.Join("testdata", name+".golden")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			wantBytes, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./segment/ -run TestGolden -update to create it")
			require.Equal(t, string(wantBytes), got)
		})
	}
}

func TestString(t *testing.T) {
	age := func(op segment.Op, v segment.Value) *segment.Predicate {
		return &segment.Predicate{Attribute: "Customer.Age", Op: op, Value: v}
	}
	recent := &segment.Predicate{Attribute: "Order.OrderDate", Op: segment.InLastDays, Value: segment.Int(90)}
	tests := []struct {
		name string
		c    segment.Condition
		want string
	}{
		{"equals", age(segment.Equals, segment.Int(30)), "Customer.Age = 30"},
		{"notEquals", age(segment.NotEquals, segment.Int(30)), "Customer.Age != 30"},
		{"greaterThan", age(segment.GreaterThan, segment.Int(30)), "Customer.Age > 30"},
		{"greaterThanOrEqual", age(segment.GreaterThanOrEqual, segment.Float(30.5)), "Customer.Age >= 30.5"},
		{"lessThan", age(segment.LessThan, segment.Int(-1)), "Customer.Age < -1"},
		{"lessThanOrEqual", age(segment.LessThanOrEqual, segment.Int(0)), "Customer.Age <= 0"},
		{"between", age(segment.Between, segment.List(segment.Int(18), segment.Int(30))), "Customer.Age between [18, 30]"},
		{"in", &segment.Predicate{Attribute: "Customer.Country", Op: segment.In, Value: segment.Strs("XX", "YY")},
			`Customer.Country in ["XX", "YY"]`},
		{"isNull", &segment.Predicate{Attribute: "Customer.Email", Op: segment.IsNull}, "Customer.Email isNull"},
		{"ignoreCase", &segment.Predicate{Attribute: "Customer.Email", Op: segment.Contains, Value: segment.Str("Shop"), IgnoreCase: true},
			`Customer.Email contains "Shop" (ignoreCase)`},
		{"quoted string", &segment.Predicate{Attribute: "Customer.Email", Op: segment.Equals, Value: segment.Str("a\"b<c>\n")},
			`Customer.Email = "a\"b<c>\n"`},
		{"boolean", &segment.Predicate{Attribute: "Customer.IsVip", Op: segment.Equals, Value: segment.Bool(true)}, "Customer.IsVip = true"},
		{"no operator", &segment.Predicate{Attribute: "Customer.Age"}, "Customer.Age ?"},
		{"unknown operator", age(segment.Op(99), segment.Int(1)), "Customer.Age Op(99) 1"},
		{"and", &segment.And{Conditions: []segment.Condition{age(segment.GreaterThan, segment.Int(1)), age(segment.LessThan, segment.Int(9))}},
			"(Customer.Age > 1 and Customer.Age < 9)"},
		{"or", &segment.Or{Conditions: []segment.Condition{age(segment.GreaterThan, segment.Int(1)), &segment.SegmentRef{Name: "Other"}}},
			"(Customer.Age > 1 or segment Other)"},
		{"empty and", &segment.And{}, "and()"},
		{"not", &segment.Not{Condition: age(segment.GreaterThan, segment.Int(30))}, "not (Customer.Age > 30)"},
		{"not and", &segment.Not{Condition: &segment.And{Conditions: []segment.Condition{&segment.SegmentRef{Name: "A"}, &segment.SegmentRef{Name: "B"}}}},
			"not (segment A and segment B)"},
		{"any", &segment.Related{Entity: "Order", Where: recent}, "any Order where Order.OrderDate inLastDays 90"},
		{"all via", &segment.Related{Entity: "Order", Path: []string{"OrderCustomer"}, Where: recent, Match: segment.MatchAll},
			"all Order via OrderCustomer where Order.OrderDate inLastDays 90"},
		{"none multi-hop", &segment.Related{Entity: "OrderLine", Path: []string{"OrderLineOrder", "OrderCustomer"}, Match: segment.MatchNone},
			"none OrderLine via OrderLineOrder -> OrderCustomer"},
		{"sum", &segment.Related{Entity: "Order", Where: recent,
			Aggregate: &segment.Aggregate{Func: segment.Sum, Attribute: "Order.Amount"},
			Op:        segment.GreaterThanOrEqual, Value: segment.Int(500)},
			"sum(Order.Amount) of Order where Order.OrderDate inLastDays 90 >= 500"},
		{"count", &segment.Related{Entity: "Order", Aggregate: &segment.Aggregate{Func: segment.Count},
			Op: segment.GreaterThan, Value: segment.Int(3)}, "count() of Order > 3"},
		{"related in a list", &segment.And{Conditions: []segment.Condition{
			&segment.Related{Entity: "Order", Where: recent}, &segment.Related{Entity: "SupportCase"}}},
			"((any Order where Order.OrderDate inLastDays 90) and any SupportCase)"},
		{"segment", &segment.SegmentRef{Name: "OtherName"}, "segment OtherName"},
		{"segment with a space", &segment.SegmentRef{Name: "Other name"}, `segment "Other name"`},
		{"nil child", &segment.Not{}, "not <nil>"},
		{"nil node", (*segment.Related)(nil), "<nil>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, tt.c.String())
		})
	}
}

func TestDefinitionString(t *testing.T) {
	d := &segment.Definition{Name: "HighValue", Groups: []segment.Group{
		{Condition: &segment.SegmentRef{Name: "A"}},
		{SetOp: segment.Except, Condition: &segment.Predicate{Attribute: "Customer.Age", Op: segment.LessThan, Value: segment.Int(18)}},
	}}
	require.Equal(t, "HighValue: (segment A) except (Customer.Age < 18)", d.String())
	d = &segment.Definition{Name: "Frozen", Membership: segment.Static, Groups: []segment.Group{{Condition: &segment.SegmentRef{Name: "A"}}}}
	require.Equal(t, "Frozen (static): segment A", d.String())
	require.Equal(t, "<nil>", (*segment.Definition)(nil).String())
	require.Equal(t, "X: <no groups>", (&segment.Definition{Name: "X"}).String())
}

func TestEnumStrings(t *testing.T) {
	require.Equal(t, "greaterThanOrEqual", segment.GreaterThanOrEqual.String())
	require.Equal(t, "Op(200)", segment.Op(200).String())
	require.Equal(t, "number", segment.NumberValue.String())
	require.Equal(t, "ValueKind(42)", segment.ValueKind(42).String())
	require.Equal(t, "static", segment.Static.String())
	require.Equal(t, "Membership(7)", segment.Membership(7).String())
	require.Equal(t, `["a", 1, true, null]`,
		segment.List(segment.Str("a"), segment.Int(1), segment.Bool(true), segment.Value{Kind: segment.NullValue}).String())
	require.Equal(t, "", segment.Value{}.String())
}
