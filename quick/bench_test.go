package quick_test

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/quick"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// benchCustomers is the size the performance targets are stated for.
const benchCustomers = 1_000_000

// The targets: an insight or an estimate once statistics exist, and the
// statistics of a 1M-row numeric column. With -quick.targets a benchmark
// slower than its target fails; without, it only reports (timings on a
// shared machine vary too much to fail by default).
var (
	enforceTargets = flag.Bool("quick.targets", false, "fail benchmarks slower than the performance targets")
	queryTarget    = 20 * time.Microsecond
	buildTarget    = 100 * time.Millisecond
)

// checkTarget fails b, with -quick.targets, when its time per operation
// is above target.
func checkTarget(b *testing.B, target time.Duration) {
	if !*enforceTargets || b.N == 0 {
		return
	}
	if per := b.Elapsed() / time.Duration(b.N); per > target {
		b.Errorf("%v per operation; the target is %v", per, target)
	}
}

const benchSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "Id", "attributes": [
      {"name": "Id", "type": "integer"}, {"name": "Age", "type": "integer"},
      {"name": "Income", "type": "number"}, {"name": "Country", "type": "string"},
      {"name": "LastSeen", "type": "datetime"}]}
  ]
}`

var (
	benchOnce sync.Once
	benchSnap *storage.Snapshot
	benchErr  error
)

// benchSnapshot returns a snapshot of benchCustomers customers, built once
// and shared by the benchmarks for the life of the process (its buffers
// are Go memory).
func benchSnapshot(b *testing.B) *storage.Snapshot {
	benchOnce.Do(func() {
		sch, err := schema.Parse([]byte(benchSchema))
		if err != nil {
			benchErr = err
			return
		}
		mem := memory.DefaultAllocator
		r := rand.New(rand.NewPCG(1, 2))
		id, age := array.NewInt64Builder(mem), array.NewInt64Builder(mem)
		income := array.NewFloat64Builder(mem)
		country := array.NewStringBuilder(mem)
		seen := array.NewTimestampBuilder(mem, tsType)
		countries := make([]string, 40)
		for i := range countries {
			countries[i] = fmt.Sprintf("C%02d", i)
		}
		for i := range benchCustomers {
			id.Append(int64(i))
			if r.IntN(20) == 0 {
				age.AppendNull()
				income.AppendNull()
			} else {
				age.Append(int64(18 + r.IntN(80)))
				income.Append(r.NormFloat64()*20_000 + 60_000)
			}
			country.Append(countries[int(r.ExpFloat64()*6)%len(countries)])
			seen.Append(arrow.Timestamp(1_700_000_000_000_000 + r.Int64N(400*86_400_000_000)))
		}
		cols := []arrow.Array{id.NewArray(), age.NewArray(), income.NewArray(), country.NewArray(), seen.NewArray()}
		fields := []arrow.Field{{Name: "Id", Type: cols[0].DataType()}, {Name: "Age", Type: cols[1].DataType(), Nullable: true},
			{Name: "Income", Type: cols[2].DataType(), Nullable: true}, {Name: "Country", Type: cols[3].DataType()},
			{Name: "LastSeen", Type: cols[4].DataType()}}
		rec := array.NewRecordBatch(arrow.NewSchema(fields, nil), cols, benchCustomers)
		benchSnap, benchErr = storage.FromRecords(context.Background(), sch, map[string]arrow.RecordBatch{"Customer": rec}, storage.Options{})
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSnap
}

// benchView returns a view whose statistics already exist for the fields.
func benchView(b *testing.B, fields ...string) quick.View {
	q := quick.New(benchSnapshot(b), quick.Options{}).At(asOf)
	for _, f := range fields {
		if _, err := q.Insights(context.Background(), f); err != nil {
			b.Fatal(err)
		}
	}
	return q
}

func BenchmarkBuildStats(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name, field string
		numeric     bool
	}{
		{"number", "Customer.Income", true},
		{"integer", "Customer.Age", true},
		{"datetime", "Customer.LastSeen", true},
		{"string", "Customer.Country", false},
	} {
		b.Run(fmt.Sprintf("%s/customers_%d", c.name, benchCustomers), func(b *testing.B) {
			snap := benchSnapshot(b)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := quick.New(snap, quick.Options{}).At(asOf).Insights(ctx, c.field); err != nil {
					b.Fatal(err)
				}
			}
			if c.numeric {
				checkTarget(b, buildTarget)
			}
		})
	}
}

func BenchmarkInsights(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct{ name, field string }{
		{"numerical", "Customer.Income"},
		{"categorical", "Customer.Country"},
	} {
		b.Run(fmt.Sprintf("%s/customers_%d", c.name, benchCustomers), func(b *testing.B) {
			q := benchView(b, c.field)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := q.Insights(ctx, c.field); err != nil {
					b.Fatal(err)
				}
			}
			checkTarget(b, queryTarget)
		})
	}
}

func BenchmarkEstimate(b *testing.B) {
	ctx := context.Background()
	for _, c := range []struct {
		name, field string
		op          quick.Op
		value       segment.Value
	}{
		{"greaterThan", "Customer.Income", quick.GreaterThan, segment.Float(75_000.5)},
		{"between", "Customer.Age", quick.Between, segment.List(segment.Int(30), segment.Int(45))},
		{"datetime", "Customer.LastSeen", quick.LessThan, segment.Str("2024-03-01T12:30:00.5Z")},
		{"is", "Customer.Country", quick.Is, segment.Str("C03")},
	} {
		b.Run(fmt.Sprintf("%s/customers_%d", c.name, benchCustomers), func(b *testing.B) {
			q := benchView(b, c.field)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := q.Estimate(ctx, c.field, c.op, c.value); err != nil {
					b.Fatal(err)
				}
			}
			checkTarget(b, queryTarget)
		})
	}
}
