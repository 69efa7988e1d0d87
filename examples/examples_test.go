package examples_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/demo"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// shopSchema is a two-entity schema built in Go: customers and their
// orders.
func shopSchema() *schema.Schema {
	sch := &schema.Schema{
		CustomerEntity: "Customer",
		Entities: []schema.Entity{
			{Name: "Customer", Key: "CustomerId", Attributes: []schema.Attribute{
				{Name: "CustomerId", Type: schema.String},
				{Name: "Country", Type: schema.String},
				{Name: "Age", Type: schema.Integer},
			}},
			{Name: "Order", Key: "OrderId", Attributes: []schema.Attribute{
				{Name: "OrderId", Type: schema.String},
				{Name: "CustomerId", Type: schema.String},
				{Name: "Amount", Type: schema.Number},
				{Name: "OrderDate", Type: schema.Date},
			}},
		},
		Relationships: []schema.Relationship{{
			Name: "OrderCustomer",
			From: schema.Endpoint{Entity: "Order", Attribute: "CustomerId"},
			To:   schema.Endpoint{Entity: "Customer", Attribute: "CustomerId"},
		}},
	}
	// Validate checks the schema and prepares its relationship paths.
	if err := sch.Validate(); err != nil {
		log.Fatal(err)
	}
	return sch
}

// shopRecords builds one Arrow record per entity with array builders. A
// false in valid makes that row's value null.
func shopRecords(mem memory.Allocator) map[string]arrow.RecordBatch {
	cb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "CustomerId", Type: arrow.BinaryTypes.String},
		{Name: "Country", Type: arrow.BinaryTypes.String},
		{Name: "Age", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
	}, nil))
	defer cb.Release()
	cb.Field(0).(*array.StringBuilder).AppendValues([]string{"C1", "C2", "C3", "C4", "C5", "C6"}, nil)
	cb.Field(1).(*array.StringBuilder).AppendValues([]string{"US", "DE", "US", "FR", "US", "GB"}, nil)
	cb.Field(2).(*array.Int64Builder).AppendValues([]int64{34, 0, 51, 28, 19, 45}, []bool{true, false, true, true, true, true})

	day := func(s string) arrow.Date32 {
		t, err := time.Parse(time.DateOnly, s)
		if err != nil {
			log.Fatal(err)
		}
		return arrow.Date32FromTime(t)
	}
	ob := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "OrderId", Type: arrow.BinaryTypes.String},
		{Name: "CustomerId", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "Amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "OrderDate", Type: arrow.FixedWidthTypes.Date32},
	}, nil))
	defer ob.Release()
	ob.Field(0).(*array.StringBuilder).AppendValues([]string{"O1", "O2", "O3", "O4", "O5", "O6", "O7"}, nil)
	// O5's customer does not exist (a dangling key) and O6 has none.
	ob.Field(1).(*array.StringBuilder).AppendValues([]string{"C1", "C1", "C3", "C3", "C9", "", "C4"},
		[]bool{true, true, true, true, true, false, true})
	ob.Field(2).(*array.Float64Builder).AppendValues([]float64{120, 15.5, 80, 45, 300, 10, 99.99}, nil)
	ob.Field(3).(*array.Date32Builder).AppendValues([]arrow.Date32{
		day("2026-06-01"), day("2026-06-20"), day("2026-05-02"), day("2026-06-28"),
		day("2026-06-29"), day("2026-06-15"), day("2026-01-10")}, nil)

	return map[string]arrow.RecordBatch{"Customer": cb.NewRecordBatch(), "Order": ob.NewRecordBatch()}
}

// loadShop builds the shop's snapshot from Arrow records.
func loadShop(ctx context.Context, mem memory.Allocator) *storage.Snapshot {
	records := shopRecords(mem)
	snap, err := storage.FromRecords(ctx, shopSchema(), records, storage.Options{Allocator: mem})
	// The snapshot keeps what it needs; the records are still ours.
	for _, r := range records {
		r.Release()
	}
	if err != nil {
		log.Fatal(err)
	}
	return snap
}

// keys returns the customer keys of members, in customer id order.
func keys(snap *storage.Snapshot, members *roaring.Bitmap) string {
	var out []string
	it := members.Iterator()
	for it.HasNext() {
		out = append(out, snap.CustomerKey(it.Next()))
	}
	return strings.Join(out, " ")
}

// asOf is the instant the examples evaluate at.
var asOf = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)

// Load customers and orders from Arrow records, evaluate a segment with an
// aggregate over the orders, and release every Arrow buffer.
func Example_fromRecords() {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())

	snap := loadShop(ctx, mem)
	fmt.Println("customers:", snap.NumCustomers())
	for _, r := range snap.LinkReports() {
		fmt.Printf("%s: %d null, %d dangling\n", r.Relationship, r.Null, r.Dangling)
	}

	def, err := segment.Parse([]byte(`{
	  "name": "RecentBigSpenders",
	  "groups": [{"condition": {
	    "related": "Order",
	    "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 90},
	    "aggregate": {"function": "sum", "attribute": "Order.Amount"},
	    "operator": "greaterThan", "value": 100}}]
	}`))
	if err != nil {
		log.Fatal(err)
	}
	plan, err := engine.Compile(def, snap, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	members, err := plan.Eval(ctx, asOf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("members:", keys(snap, members))

	snap.Release()
	fmt.Println("bytes still allocated:", mem.CurrentAlloc())
	// Output:
	// customers: 6
	// OrderCustomer: 1 null, 1 dangling
	// members: C1 C3
	// bytes still allocated: 0
}

// Evaluate the product page's example segment, customers who ordered at
// least 500 in the last 90 days and had a support case escalated, on the
// demo's retail data.
func Example_highValueEscalated() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "segmentkit-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	sum, err := demo.Write(ctx, dir, demo.Options{Customers: 5000, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}

	snap, err := storage.Load(ctx, dir, storage.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer snap.Release()

	data, err := os.ReadFile("segments/high-value-escalated.json")
	if err != nil {
		log.Fatal(err)
	}
	def, err := segment.Parse(data)
	if err != nil {
		log.Fatal(err)
	}
	plan, err := engine.Compile(def, snap, engine.Options{})
	if err != nil {
		log.Fatal(err)
	}
	members, err := plan.Eval(ctx, sum.AsOf)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s as of %s: %d of %d customers\n", def.Name, sum.AsOf.Format(time.DateOnly),
		members.GetCardinality(), snap.NumCustomers())
	fmt.Println("as the generator counted:", members.GetCardinality() == uint64(sum.ExpectedMembers))
	first := roaring.New()
	it := members.Iterator()
	for i := 0; i < 3 && it.HasNext(); i++ {
		first.Add(it.Next())
	}
	fmt.Println("first members:", keys(snap, first))
	// Output:
	// HighValueEscalated as of 2026-06-30: 158 of 5000 customers
	// as the generator counted: true
	// first members: C0000056 C0000078 C0000152
}

// Combine groups with union, intersect and except. Groups combine left to
// right: ((g1 op2 g2) op3 g3).
func Example_combineGroups() {
	ctx := context.Background()
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	snap := loadShop(ctx, mem)
	defer snap.Release()

	inUS := &segment.Predicate{Attribute: "Customer.Country", Op: segment.Equals, Value: segment.Str("US")}
	over30 := &segment.Predicate{Attribute: "Customer.Age", Op: segment.GreaterThan, Value: segment.Int(30)}
	ordered := &segment.Related{Entity: "Order"} // at least one order

	for _, def := range []*segment.Definition{
		{Name: "InUS", Groups: []segment.Group{{Condition: inUS}}},
		{Name: "Over30", Groups: []segment.Group{{Condition: over30}}},
		{Name: "InUSOrOver30", Groups: []segment.Group{
			{Condition: inUS}, {SetOp: segment.Union, Condition: over30}}},
		{Name: "InUSAndOver30", Groups: []segment.Group{
			{Condition: inUS}, {SetOp: segment.Intersect, Condition: over30}}},
		{Name: "InUSNotOver30", Groups: []segment.Group{
			{Condition: inUS}, {SetOp: segment.Except, Condition: over30}}},
		{Name: "InUSNotOver30OrOrdered", Groups: []segment.Group{
			{Condition: inUS}, {SetOp: segment.Except, Condition: over30}, {SetOp: segment.Union, Condition: ordered}}},
	} {
		plan, err := engine.Compile(def, snap, engine.Options{})
		if err != nil {
			log.Fatal(err)
		}
		members, err := plan.Eval(ctx, asOf)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%-24s %s\n", def.Name, keys(snap, members))
	}
	// C2's age is null: "greater than 30" is false for C2, so C2 is in no
	// group that needs it.

	// Output:
	// InUS                     C1 C3 C5
	// Over30                   C1 C3 C6
	// InUSOrOver30             C1 C3 C5 C6
	// InUSAndOver30            C1 C3
	// InUSNotOver30            C5
	// InUSNotOver30OrOrdered   C1 C3 C4 C5
}
