package examples_test

import (
	"context"
	"fmt"
	"log"

	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/segment"
)

// Behaviour over time: orders in two different months, a big order and
// then another within 30 days, and customers whose orders stopped.
func Example_behaviour() {
	ctx := context.Background()
	snap := loadShop(ctx, memory.NewGoAllocator())
	defer snap.Release()
	big := &segment.Predicate{Attribute: "Order.Amount", Op: segment.GreaterThanOrEqual, Value: segment.Int(100)}
	again := &segment.Predicate{Attribute: "Order.Amount", Op: segment.GreaterThan, Value: segment.Int(0)}
	conds := []struct {
		name string
		cond segment.Condition
	}{
		{"two months", &segment.Related{Entity: "Order",
			Aggregate: &segment.Aggregate{Func: segment.CountDistinct, Attribute: "Order.OrderDate", Period: segment.Month},
			Op:        segment.GreaterThanOrEqual, Value: segment.Int(2)}},
		{"big, then again", &segment.Related{Entity: "Order", Sequence: &segment.Sequence{
			Attribute: "Order.OrderDate", First: big, Then: again, WithinDays: segment.Int(30)}}},
		{"stopped", &segment.Related{Entity: "Order", Change: &segment.Change{
			Trend: segment.Stopped, Attribute: "Order.OrderDate", LastDays: segment.Int(30), PriorDays: segment.Int(180)}}},
	}
	for _, c := range conds {
		def := &segment.Definition{Name: "B", TimeZone: "Europe/Paris", Groups: []segment.Group{{Condition: c.cond}}}
		plan, err := engine.Compile(def, snap, engine.Options{})
		if err != nil {
			log.Fatal(err)
		}
		members, err := plan.Eval(ctx, asOf)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s: %s\n", c.name, keys(snap, members))
	}
	// Output:
	// two months: C3
	// big, then again: C1
	// stopped: C4
}
