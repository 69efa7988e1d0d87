package engine_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

var benchLarge = flag.Bool("bench.large", false, "run the benchmarks on the 1M-customer / 10M-order / 2M-case dataset")

// benchSizes: the default keeps `go test -bench .` quick; -bench.large runs
// the dataset the performance targets are stated for.
func benchSize() (customers, orders, lines, cases int) {
	if *benchLarge {
		return 1_000_000, 10_000_000, 10_000_000, 2_000_000
	}
	return 100_000, 1_000_000, 1_000_000, 200_000
}

var (
	benchOnce sync.Once
	benchSnap *storage.Snapshot
	benchErr  error
)

const benchSchemaJSON = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "attributes": [
      {"name": "CustomerId", "type": "integer"}, {"name": "Age", "type": "integer"},
      {"name": "Country", "type": "string"}, {"name": "IsVip", "type": "boolean"},
      {"name": "Email", "type": "string"}, {"name": "SignupDate", "type": "date"}]},
    {"name": "Order", "key": "OrderId", "attributes": [
      {"name": "OrderId", "type": "integer"}, {"name": "CustomerId", "type": "integer"},
      {"name": "Amount", "type": "number"}, {"name": "Total", "type": "number"}, {"name": "OrderDate", "type": "date"},
      {"name": "Channel", "type": "string"}]},
    {"name": "OrderLine", "key": "LineId", "attributes": [
      {"name": "LineId", "type": "integer"}, {"name": "OrderId", "type": "integer"},
      {"name": "Category", "type": "string"}, {"name": "Quantity", "type": "integer"}]},
    {"name": "SupportCase", "key": "CaseId", "attributes": [
      {"name": "CaseId", "type": "integer"}, {"name": "CustomerId", "type": "integer"},
      {"name": "Escalated", "type": "boolean"}, {"name": "Opened", "type": "date"}]}
  ],
  "relationships": [
    {"name": "OrderCustomer", "from": {"entity": "Order", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "CustomerId"}},
    {"name": "LineOrder", "from": {"entity": "OrderLine", "attribute": "OrderId"}, "to": {"entity": "Order", "attribute": "OrderId"}},
    {"name": "CaseCustomer", "from": {"entity": "SupportCase", "attribute": "CustomerId"}, "to": {"entity": "Customer", "attribute": "CustomerId"}}
  ]
}`

// benchSnapshot builds the retail dataset once per test binary, in memory,
// with skew: customer ids of orders are drawn so that a few customers buy a
// lot, dates cover three years before the as-of day.
func benchSnapshot(b *testing.B) *storage.Snapshot {
	benchOnce.Do(func() { benchSnap, benchErr = buildBench() })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSnap
}

func buildBench() (*storage.Snapshot, error) {
	nc, no, nl, ncase := benchSize()
	sch, err := schema.Parse([]byte(benchSchemaJSON))
	if err != nil {
		return nil, err
	}
	mem := memory.DefaultAllocator
	r := rand.New(rand.NewPCG(1, 2))
	day := int32(asOf.Unix() / 86400)
	countries := []string{"US", "DE", "FR", "GB", "NL", "ES", "IT", "XX", "YY", "SE"}
	channels := []string{"web", "store", "phone", "app"}
	categories := make([]string, 200)
	for i := range categories {
		categories[i] = fmt.Sprintf("cat-%03d", i)
	}
	skewed := func() int64 { // a few heavy buyers
		if r.IntN(10) == 0 {
			return int64(r.IntN(nc / 100))
		}
		return int64(r.IntN(nc))
	}

	cb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "CustomerId", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Age", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "Country", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{Name: "IsVip", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "Email", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "SignupDate", Type: arrow.FixedWidthTypes.Date32},
	}, nil))
	defer cb.Release()
	// Email and SignupDate draw from a source of their own, so that the
	// other columns are those of the dataset without them.
	re := rand.New(rand.NewPCG(3, 4))
	domains := []string{"gmail.com", "example.com", "mail.example.org"}
	for i := 0; i < nc; i++ {
		cb.Field(0).(*array.Int64Builder).Append(int64(i))
		if r.IntN(10) == 0 {
			cb.Field(1).AppendNull()
		} else {
			cb.Field(1).(*array.Int64Builder).Append(int64(18 + r.IntN(70)))
		}
		if err := cb.Field(2).(*array.BinaryDictionaryBuilder).AppendString(countries[min(r.IntN(12), 9)]); err != nil {
			return nil, err
		}
		cb.Field(3).(*array.BooleanBuilder).Append(r.IntN(20) == 0)
		if re.IntN(50) == 0 {
			cb.Field(4).AppendNull()
		} else {
			cb.Field(4).(*array.StringBuilder).Append(fmt.Sprintf("user%d.%x@%s", i, re.Uint32(), domains[re.IntN(len(domains))]))
		}
		cb.Field(5).(*array.Date32Builder).Append(arrow.Date32(day - int32(re.IntN(6*365))))
	}
	ob := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "OrderId", Type: arrow.PrimitiveTypes.Int64},
		{Name: "CustomerId", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Amount", Type: arrow.PrimitiveTypes.Float64},
		{Name: "Total", Type: arrow.PrimitiveTypes.Float64},
		{Name: "OrderDate", Type: arrow.FixedWidthTypes.Date32},
		{Name: "Channel", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
	}, nil))
	defer ob.Release()
	rt := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < no; i++ {
		ob.Field(0).(*array.Int64Builder).Append(int64(i))
		ob.Field(1).(*array.Int64Builder).Append(skewed())
		ob.Field(2).(*array.Float64Builder).Append(float64(r.IntN(40000)) / 100)
		// Total is Amount in quarters, whose sums are exact (added as
		// integers), from a source of its own.
		ob.Field(3).(*array.Float64Builder).Append(float64(rt.IntN(1600)) / 4)
		ob.Field(4).(*array.Date32Builder).Append(arrow.Date32(day - int32(r.IntN(3*365))))
		if err := ob.Field(5).(*array.BinaryDictionaryBuilder).AppendString(channels[r.IntN(len(channels))]); err != nil {
			return nil, err
		}
	}
	lb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "LineId", Type: arrow.PrimitiveTypes.Int64},
		{Name: "OrderId", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Category", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}},
		{Name: "Quantity", Type: arrow.PrimitiveTypes.Int64},
	}, nil))
	defer lb.Release()
	for i := 0; i < nl; i++ {
		lb.Field(0).(*array.Int64Builder).Append(int64(i))
		lb.Field(1).(*array.Int64Builder).Append(int64(r.IntN(no)))
		c := int(r.ExpFloat64() * 20)
		if err := lb.Field(2).(*array.BinaryDictionaryBuilder).AppendString(categories[min(c, len(categories)-1)]); err != nil {
			return nil, err
		}
		lb.Field(3).(*array.Int64Builder).Append(int64(1 + r.IntN(5)))
	}
	sb := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "CaseId", Type: arrow.PrimitiveTypes.Int64},
		{Name: "CustomerId", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Escalated", Type: arrow.FixedWidthTypes.Boolean},
		{Name: "Opened", Type: arrow.FixedWidthTypes.Date32},
	}, nil))
	defer sb.Release()
	for i := 0; i < ncase; i++ {
		sb.Field(0).(*array.Int64Builder).Append(int64(i))
		sb.Field(1).(*array.Int64Builder).Append(int64(r.IntN(nc)))
		sb.Field(2).(*array.BooleanBuilder).Append(r.IntN(8) == 0)
		sb.Field(3).(*array.Date32Builder).Append(arrow.Date32(day - int32(r.IntN(3*365))))
	}
	recs := map[string]arrow.RecordBatch{
		"Customer": cb.NewRecordBatch(), "Order": ob.NewRecordBatch(),
		"OrderLine": lb.NewRecordBatch(), "SupportCase": sb.NewRecordBatch(),
	}
	defer func() {
		for _, rec := range recs {
			rec.Release()
		}
	}()
	return storage.FromRecords(context.Background(), sch, recs, storage.Options{Cluster: true})
}

// The benchmark segments of issue 2.
var benchSegments = []struct{ name, def string }{
	{"customer_predicate", `{"name": "B", "groups": [{"condition": {"and": [
	   {"attribute": "Customer.Age", "operator": "between", "value": [25, 40]},
	   {"attribute": "Customer.Country", "operator": "in", "value": ["US", "DE"]}]}}]}`},
	{"seed_example", `{"name": "HighValueEscalated", "groups": [
	   {"condition": {"and": [
	     {"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 90},
	      "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 500},
	     {"related": "SupportCase", "where": {"attribute": "SupportCase.Escalated", "operator": "isTrue"}}]}},
	   {"setOperator": "except", "condition": {"attribute": "Customer.Country", "operator": "in", "value": ["XX", "YY"]}}]}`},
	{"multi_hop_order_line", `{"name": "B", "groups": [{"condition":
	   {"related": "OrderLine", "where": {"and": [
	     {"attribute": "OrderLine.Category", "operator": "equals", "value": "cat-007"},
	     {"attribute": "OrderLine.Quantity", "operator": "greaterThanOrEqual", "value": 3}]}}}]}`},
	{"three_group_union_except", `{"name": "B", "groups": [
	   {"condition": {"attribute": "Customer.IsVip", "operator": "isTrue"}},
	   {"setOperator": "union", "condition": {"related": "Order", "where": {"attribute": "Order.Channel", "operator": "equals", "value": "app"},
	     "aggregate": {"function": "count"}, "operator": "greaterThanOrEqual", "value": 3}},
	   {"setOperator": "except", "condition": {"attribute": "Customer.Age", "operator": "lessThan", "value": 21}}]}`},
}

func BenchmarkEval(b *testing.B) {
	snap := benchSnapshot(b)
	for _, s := range benchSegments {
		b.Run(fmt.Sprintf("%s/customers_%d", s.name, snap.NumCustomers()), func(b *testing.B) {
			def, err := segment.Parse([]byte(s.def))
			if err != nil {
				b.Fatal(err)
			}
			plan, err := engine.Compile(def, snap, engine.Options{})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			b.ReportAllocs()
			var n uint64
			for b.Loop() {
				if n, err = plan.EvalCardinality(ctx, asOf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "members")
		})
	}
}

// BenchmarkEvalCached re-evaluates the seed's example segment on an
// unchanged snapshot with a cache: the groups' results are reused.
func BenchmarkEvalCached(b *testing.B) {
	snap := benchSnapshot(b)
	def, err := segment.Parse([]byte(benchSegments[1].def))
	if err != nil {
		b.Fatal(err)
	}
	plan, err := engine.Compile(def, snap, engine.Options{Cache: engine.NewCache(snap, 0)})
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	if _, err := plan.Eval(ctx, asOf); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := plan.Eval(ctx, asOf); err != nil {
			b.Fatal(err)
		}
	}
}

// kernelSegments each exercise one kernel of related conditions: the
// customers of a row mask (match any, all, none), the aggregates, min and
// max compared with a value, and a disjunction of customer predicates.
var kernelSegments = []struct{ name, cond string }{
	{"any_dense", `{"related": "Order", "where": {"attribute": "Order.Channel", "operator": "equals", "value": "app"}}`},
	{"any_sparse", `{"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 7}}`},
	{"all", `{"related": "Order", "match": "all", "where": {"attribute": "Order.Channel", "operator": "in", "value": ["web", "app"]}}`},
	{"none", `{"related": "SupportCase", "match": "none", "where": {"attribute": "SupportCase.Escalated", "operator": "isTrue"}}`},
	{"count_where", `{"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 365},
	   "aggregate": {"function": "count"}, "operator": "greaterThanOrEqual", "value": 8}`},
	{"count_all", `{"related": "Order", "aggregate": {"function": "count"}, "operator": "greaterThanOrEqual", "value": 12}`},
	{"count_distinct_dict", `{"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 365},
	   "aggregate": {"function": "countDistinct", "attribute": "Order.Channel"}, "operator": "greaterThanOrEqual", "value": 3}`},
	{"sum_where", `{"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 90},
	   "aggregate": {"function": "sum", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 500}`},
	{"avg_where", `{"related": "Order", "where": {"attribute": "Order.Channel", "operator": "notEquals", "value": "store"},
	   "aggregate": {"function": "avg", "attribute": "Order.Amount"}, "operator": "greaterThanOrEqual", "value": 250}`},
	// Sums of quarters are exact: added as integers (column.Scaled).
	{"avg_where_exact", `{"related": "Order", "where": {"attribute": "Order.Channel", "operator": "notEquals", "value": "store"},
	   "aggregate": {"function": "avg", "attribute": "Order.Total"}, "operator": "greaterThanOrEqual", "value": 250}`},
	{"sum_where_exact", `{"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 90},
	   "aggregate": {"function": "sum", "attribute": "Order.Total"}, "operator": "greaterThanOrEqual", "value": 500}`},
	// The suite's HighValueEscalated: the sum by candidate (customers with
	// an escalated case).
	{"sum_where_exact_escalated", `{"and": [{"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 90},
	   "aggregate": {"function": "sum", "attribute": "Order.Total"}, "operator": "greaterThanOrEqual", "value": 500},
	   {"related": "SupportCase", "where": {"attribute": "SupportCase.Escalated", "operator": "isTrue"}}]}`},
	{"max_in_last_days", `{"related": "Order", "aggregate": {"function": "max", "attribute": "Order.OrderDate"}, "operator": "inLastDays", "value": 30}`},
	{"max_less_than", `{"related": "Order", "aggregate": {"function": "max", "attribute": "Order.OrderDate"}, "operator": "lessThan", "value": "2025-01-01"}`},
	{"min_less_than", `{"related": "Order", "aggregate": {"function": "min", "attribute": "Order.OrderDate"}, "operator": "lessThan", "value": "2023-07-01"}`},
	{"max_number", `{"related": "Order", "where": {"attribute": "Order.Channel", "operator": "equals", "value": "web"},
	   "aggregate": {"function": "max", "attribute": "Order.Amount"}, "operator": "greaterThan", "value": 390}`},
	{"or_customer", `{"and": [
	   {"attribute": "Customer.Age", "operator": "between", "value": [25, 60]},
	   {"attribute": "Customer.Country", "operator": "in", "value": ["US", "GB", "DE", "FR", "NL"]},
	   {"or": [
	     {"attribute": "Customer.IsVip", "operator": "isTrue"},
	     {"attribute": "Customer.SignupDate", "operator": "greaterThanOrEqual", "value": "2024-01-01"},
	     {"not": {"attribute": "Customer.Email", "operator": "endsWith", "value": "gmail.com"}}]},
	   {"attribute": "Customer.Age", "operator": "notEquals", "value": 40}]}`},
}

// BenchmarkRelatedKernel evaluates each of kernelSegments on one
// goroutine, so that the figure is the kernel's cost, not the machine's
// spare cores; cpu-ns/op is the process's CPU time per evaluation.
func BenchmarkRelatedKernel(b *testing.B) {
	snap := benchSnapshot(b)
	for _, s := range kernelSegments {
		b.Run(s.name, func(b *testing.B) {
			def, err := segment.Parse([]byte(`{"name": "K", "groups": [{"condition": ` + s.cond + `}]}`))
			if err != nil {
				b.Fatal(err)
			}
			plan, err := engine.Compile(def, snap, engine.Options{Parallelism: 1})
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			// What a snapshot builds once, on first use (a typed view, the
			// customers' row ranges), is not timed.
			if _, err := plan.EvalCardinality(ctx, asOf); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var n uint64
			cpu := processCPU()
			for b.Loop() {
				if n, err = plan.EvalCardinality(ctx, asOf); err != nil {
					b.Fatal(err)
				}
			}
			// The process's CPU time per evaluation (the collector's
			// included) varies less than the time on a busy machine.
			b.ReportMetric(float64(processCPU()-cpu)/float64(b.N), "cpu-ns/op")
			b.ReportMetric(float64(n), "members")
		})
	}
}

// BenchmarkAnalyses inspects and explains the benchmark segments, each
// call with a cache of its own (as the CLI's inspect and explain run), next
// to a plain evaluation of the same plan: the cost of evaluating every
// condition alone.
func BenchmarkAnalyses(b *testing.B) {
	snap := benchSnapshot(b)
	ctx := context.Background()
	for _, s := range benchSegments {
		def, err := segment.Parse([]byte(s.def))
		if err != nil {
			b.Fatal(err)
		}
		plan, err := engine.Compile(def, snap, engine.Options{})
		if err != nil {
			b.Fatal(err)
		}
		// A member to explain, as a user would pick one.
		bm, err := plan.Eval(ctx, asOf)
		if err != nil || bm.IsEmpty() {
			b.Fatal(err, "no member")
		}
		member := bm.Minimum()
		b.Run(s.name+"/eval", func(b *testing.B) {
			for b.Loop() {
				if _, err := plan.EvalCardinality(ctx, asOf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/inspect", func(b *testing.B) {
			for b.Loop() {
				if _, err := plan.Inspect(ctx, asOf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(s.name+"/explain", func(b *testing.B) {
			for b.Loop() {
				if _, err := plan.Explain(ctx, asOf, member); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// behaviourSegments are the behavioural conditions of FORMAT.md section 6
// over the retail dataset, one per construct; the compile is measured with
// the evaluation, as the period column and the anniversary ranges are
// built there.
var behaviourSegments = []struct{ name, def string }{
	{"Matches", `{"name": "M", "groups": [{"condition": {"attribute": "Customer.Email", "operator": "matches", "value": "^USER[0-9]*7\\.[0-9a-f]+@", "ignoreCase": true}}]}`},
	{"AnniversaryDate", `{"name": "A", "groups": [{"condition": {"attribute": "Customer.SignupDate", "operator": "anniversaryInNextDays", "value": 7}}]}`},
	{"AnniversaryInZone", `{"name": "Z", "timeZone": "America/New_York", "groups": [{"condition": {"attribute": "Customer.SignupDate", "operator": "anniversaryInNextDays", "value": 7}}]}`},
	{"DistinctMonths", `{"name": "P", "groups": [{"condition": {"related": "Order", "where": {"attribute": "Order.OrderDate", "operator": "inLastDays", "value": 183},
		"aggregate": {"function": "countDistinct", "attribute": "Order.OrderDate", "period": "month"}, "operator": "greaterThanOrEqual", "value": 3}}]}`},
	{"Sequence", `{"name": "S", "groups": [{"condition": {"related": "Order", "sequence": {"attribute": "Order.OrderDate",
		"first": {"attribute": "Order.Channel", "operator": "equals", "value": "web"},
		"then": {"attribute": "Order.Channel", "operator": "equals", "value": "store"}, "withinDays": 14}}}]}`},
	{"Stopped", `{"name": "T", "groups": [{"condition": {"related": "Order", "stopped": {"attribute": "Order.OrderDate", "lastDays": 30, "priorDays": 90}}}]}`},
}

// BenchmarkBehaviour compiles and evaluates each behavioural condition.
func BenchmarkBehaviour(b *testing.B) {
	snap := benchSnapshot(b)
	ctx := context.Background()
	for _, s := range behaviourSegments {
		def, err := segment.Parse([]byte(s.def))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(s.name, func(b *testing.B) {
			var n uint64
			for b.Loop() {
				plan, err := engine.Compile(def, snap, engine.Options{})
				if err != nil {
					b.Fatal(err)
				}
				if n, err = plan.EvalCardinality(ctx, asOf); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(n), "members")
		})
	}
}
