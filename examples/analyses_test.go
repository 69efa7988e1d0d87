package examples_test

import (
	"context"
	"fmt"
	"log"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
)

// usShoppers is a definition with two conditions and an exception: US
// customers who ordered, except those under 21.
const usShoppers = `{
  "name": "UsShoppers",
  "groups": [
    {"condition": {"and": [
      {"attribute": "Customer.Country", "operator": "equals", "value": "US"},
      {"related": "Order"}]}},
    {"setOperator": "except", "condition": {"attribute": "Customer.Age", "operator": "lessThan", "value": 21}}]
}`

// Inspect a definition: each group's size, each top-level condition alone,
// and the running size after each set operation.
func Example_inspect() {
	ctx := context.Background()
	snap := loadShop(ctx, memory.NewGoAllocator())
	defer snap.Release()
	def, err := segment.Parse([]byte(usShoppers))
	if err != nil {
		log.Fatal(err)
	}
	plan, err := engine.Compile(def, snap, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	ins, err := plan.Inspect(ctx, asOf)
	if err != nil {
		log.Fatal(err)
	}
	for _, g := range ins.Groups {
		fmt.Printf("%s %q: %d alone, %d after\n", g.Path, g.SetOp, g.Size, g.Running)
		for _, c := range g.Conditions {
			fmt.Printf("  %s: %d\n", c.Condition, c.Size)
		}
	}
	fmt.Println("members:", ins.Members)
	// Output:
	// groups[0].condition "": 2 alone, 2 after
	//   Customer.Country = "US": 3
	//   any Order: 3
	// groups[1].condition "except": 1 alone, 2 after
	//   Customer.Age < 21: 1
	// members: 2
}

// Explain why a customer is or is not a member: each condition's truth
// for them, their values, and the related rows that decided.
func Example_explain() {
	ctx := context.Background()
	snap := loadShop(ctx, memory.NewGoAllocator())
	defer snap.Release()
	def, err := segment.Parse([]byte(usShoppers))
	if err != nil {
		log.Fatal(err)
	}
	plan, err := engine.Compile(def, snap, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	for _, key := range []string{"C1", "C5"} {
		id, _ := snap.CustomerID(key)
		ex, err := plan.Explain(ctx, asOf, id)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ex.Customer, "member:", ex.Member)
		var show func(n *engine.NodeExplanation, depth int)
		show = func(n *engine.NodeExplanation, depth int) {
			fmt.Printf("%*s%s holds=%v", 2*depth, "", n.Condition, n.Holds)
			if n.Kind == "predicate" && n.Rows == nil {
				fmt.Printf(" value=%q", n.Value)
			}
			if n.Rows != nil {
				fmt.Printf(" rows %d of %d %v", n.Rows.Matched, n.Rows.Total, n.Rows.Rows)
			}
			fmt.Println()
			for _, k := range n.Children {
				show(k, depth+1)
			}
		}
		for _, g := range ex.Groups {
			show(g.Condition, 1)
		}
	}
	// Output:
	// C1 member: true
	//   (Customer.Country = "US" and any Order) holds=true
	//     Customer.Country = "US" holds=true value="US"
	//     any Order holds=true rows 2 of 2 [[O1] [O2]]
	//   Customer.Age < 21 holds=false value="34"
	// C5 member: false
	//   (Customer.Country = "US" and any Order) holds=false
	//     Customer.Country = "US" holds=true value="US"
	//     any Order holds=false rows 0 of 0 []
	//   Customer.Age < 21 holds=true value="19"
}

// Count how two segments overlap, by country.
func Example_overlap() {
	ctx := context.Background()
	snap := loadShop(ctx, memory.NewGoAllocator())
	defer snap.Release()
	eval := func(def string) analysis.Set {
		d, err := segment.Parse([]byte(def))
		if err != nil {
			log.Fatal(err)
		}
		plan, err := engine.Compile(d, snap, engine.Options{})
		if err != nil {
			log.Fatal(err)
		}
		members, err := plan.Eval(ctx, asOf)
		if err != nil {
			log.Fatal(err)
		}
		return analysis.Set{Name: d.Name, Members: members}
	}
	buyers := eval(`{"name": "Buyers", "groups": [{"condition": {"related": "Order"}}]}`)
	adults := eval(`{"name": "Over30", "groups": [{"condition": {"attribute": "Customer.Age", "operator": "greaterThan", "value": 30}}]}`)
	ov, err := analysis.Overlap(ctx, snap, []analysis.Set{buyers, adults}, analysis.OverlapOptions{By: "Customer.Country"})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("values:", ov.Values)
	for _, r := range ov.Regions {
		fmt.Println(r.In, r.Count, r.ByValue)
	}
	// Output:
	// values: [US DE FR GB]
	// [] 2 [1 1 0 0]
	// [Buyers] 1 [0 0 1 0]
	// [Over30] 1 [0 0 0 1]
	// [Buyers Over30] 2 [2 0 0 0]
}

// Rank what sets the customers who ordered apart from all customers: each
// attribute's statistic, and the values that differ most.
func Example_differentiators() {
	ctx := context.Background()
	snap := loadShop(ctx, memory.NewGoAllocator())
	defer snap.Release()
	d, err := segment.Parse([]byte(`{"name": "Buyers", "groups": [{"condition": {"related": "Order"}}]}`))
	if err != nil {
		log.Fatal(err)
	}
	plan, err := engine.Compile(d, snap, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	buyers, err := plan.Eval(ctx, asOf)
	if err != nil {
		log.Fatal(err)
	}
	res, err := analysis.Differentiators(ctx, snap, analysis.Set{Name: "Buyers", Members: buyers}, analysis.DifferentiatorsOptions{Top: 2})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d of %d customers\n", res.Segment, res.SegmentSize, res.BaseSize)
	for _, a := range res.Attributes {
		fmt.Printf("%s %s %.2f\n", a.Attribute, a.Statistic, a.Score)
		for _, v := range a.Values {
			fmt.Printf("  %s: %.0f%% against %.0f%%\n", v.Value, 100*v.SegmentShare, 100*v.BaseShare)
		}
		if a.Statistic == analysis.KolmogorovSmirnov {
			fmt.Printf("  mean %.1f against %.1f, at most %s: %.0f%% against %.0f%%\n", *a.Segment.Mean, *a.Base.Mean, a.KSAt, 100*a.SegmentBelow, 100*a.BaseBelow)
		}
	}
	// Output:
	// Buyers: 3 of 6 customers
	// Customer.Country totalVariation 0.33
	//   FR: 33% against 17%
	//   DE: 0% against 17%
	// Customer.Age ks 0.20
	//   mean 37.7 against 35.4, at most 19: 0% against 20%
}
