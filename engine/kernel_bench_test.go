package engine

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

const kernelRows = 1 << 20

func benchKernel(b *testing.B, typ schema.Type, op segment.Op, value segment.Value, v *column.Vec, bytesPerRow int) {
	p, err := newPredicate(typ, op, value, false)
	if err != nil {
		b.Fatal(err)
	}
	k := p.bind(asOfBench)
	out := column.NewBitset(v.N)
	b.SetBytes(int64(v.N * bytesPerRow))
	b.ReportAllocs()
	for b.Loop() {
		k.Eval(v, out)
	}
}

func BenchmarkKernelInt64Between(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	vals := make([]int64, kernelRows)
	for i := range vals {
		vals[i] = int64(r.IntN(100))
	}
	benchKernel(b, schema.Integer, segment.Between, segment.List(segment.Int(25), segment.Int(40)),
		&column.Vec{N: kernelRows, Type: schema.Integer, I64: vals}, 8)
}

func BenchmarkKernelDateInLastDays(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	vals := make([]int32, kernelRows)
	d := int32(exact.Day(asOfBench))
	for i := range vals {
		vals[i] = d - int32(r.IntN(1000))
	}
	benchKernel(b, schema.Date, segment.InLastDays, segment.Int(90), &column.Vec{N: kernelRows, Type: schema.Date, I32: vals}, 4)
}

func BenchmarkKernelFloatGreater(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	vals := make([]float64, kernelRows)
	for i := range vals {
		vals[i] = r.Float64() * 100
	}
	benchKernel(b, schema.Number, segment.GreaterThan, segment.Float(50.5), &column.Vec{N: kernelRows, Type: schema.Number, F64: vals}, 8)
}

func BenchmarkKernelIntIn(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	vals := make([]int64, kernelRows)
	for i := range vals {
		vals[i] = int64(r.IntN(100))
	}
	benchKernel(b, schema.Integer, segment.In, segment.List(segment.Int(3), segment.Int(17), segment.Int(50), segment.Int(99)),
		&column.Vec{N: kernelRows, Type: schema.Integer, I64: vals}, 8)
}

func BenchmarkKernelNullable(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	vals := make([]int64, kernelRows)
	valid := column.NewBitset(kernelRows)
	for i := range vals {
		vals[i] = int64(r.IntN(100))
		if r.IntN(10) > 0 {
			valid.Set(i)
		}
	}
	benchKernel(b, schema.Integer, segment.NotEquals, segment.Int(5),
		&column.Vec{N: kernelRows, Type: schema.Integer, I64: vals, Valid: valid}, 8)
}

// emailColumn is a plain string column of kernelRows unique emails.
func emailColumn(b *testing.B) (*array.String, *column.Vec) {
	mem := memory.NewGoAllocator()
	bld := array.NewStringBuilder(mem)
	r := rand.New(rand.NewPCG(1, 1))
	domains := []string{"gmail.com", "example.com", "mail.example.org"}
	for i := range kernelRows {
		bld.Append(fmt.Sprintf("user%d.%x@%s", i, r.Uint32(), domains[r.IntN(len(domains))]))
	}
	arr := bld.NewStringArray()
	v, err := column.Of(schema.String, arr)
	if err != nil {
		b.Fatal(err)
	}
	return arr, v
}

func benchStrings(b *testing.B, op segment.Op, operand string, ignoreCase bool) {
	arr, v := emailColumn(b)
	defer arr.Release()
	p, err := newPredicate(schema.String, op, segment.Str(operand), ignoreCase)
	if err != nil {
		b.Fatal(err)
	}
	k := p.bind(asOfBench)
	out := column.NewBitset(v.N)
	b.SetBytes(int64(len(arr.ValueBytes())))
	b.ReportAllocs()
	for b.Loop() {
		k.Eval(v, out)
	}
}

func BenchmarkKernelContainsFold(b *testing.B) {
	benchStrings(b, segment.Contains, "and", true)
}

func BenchmarkKernelEndsWith(b *testing.B) {
	benchStrings(b, segment.EndsWith, "gmail.com", false)
}

// BenchmarkKernelStartsWithFold measures the value by value path: the
// operand has an s, which the long s folds to, so values are not compared
// in place.
func BenchmarkKernelStartsWithFold(b *testing.B) {
	benchStrings(b, segment.StartsWith, "user1", true)
}

// BenchmarkKernelCandidates tests the string predicates of a disjunction's
// later branch against a share of the 1M plain emails, value by value
// (column.Kernel.EvalCandidates), against the whole column's kernel: the
// shares at which the candidates cost less set stringCandidateShare.
func BenchmarkKernelCandidates(b *testing.B) {
	arr, v := emailColumn(b)
	defer arr.Release()
	for _, tc := range []struct {
		name       string
		op         segment.Op
		operand    string
		ignoreCase bool
	}{
		{"endsWith", segment.EndsWith, "gmail.com", false},
		{"endsWithShort", segment.EndsWith, ".org", false},
		{"containsFold", segment.Contains, "and", true},
		{"contains", segment.Contains, "and", false},
		{"startsWithFold", segment.StartsWith, "user1", true},
		{"equals", segment.Equals, "user7.1234@gmail.com", false},
	} {
		p, err := newPredicate(schema.String, tc.op, segment.Str(tc.operand), tc.ignoreCase)
		if err != nil {
			b.Fatal(err)
		}
		k := p.bind(asOfBench)
		out := column.NewBitset(v.N)
		b.Run(tc.name+"/all", func(b *testing.B) {
			for b.Loop() {
				k.Eval(v, out)
			}
		})
		r := rand.New(rand.NewPCG(2, 2))
		for _, share := range []float64{0.01, 0.05, 0.1, 0.15, 0.2, 0.4, 0.6} {
			cand := column.NewBitset(v.N)
			for i := range v.N {
				if r.Float64() < share {
					cand.Set(i)
				}
			}
			b.Run(fmt.Sprintf("%s/share_%.2f", tc.name, share), func(b *testing.B) {
				for b.Loop() {
					clear(out)
					k.EvalCandidates(v, cand, out)
				}
			})
		}
	}
}

// BenchmarkKernelNarrow runs the where conditions of the suite's order
// line and order scans over 16M rows, on the column as stored (wide) and
// on its narrow view (column.Narrow): a quantity from 1 to 20 in a byte,
// order dates over three years in two bytes, a 200-entry dictionary's
// codes in bytes.
func BenchmarkKernelNarrow(b *testing.B) {
	const rows = 1 << 24
	r := rand.New(rand.NewPCG(1, 1))
	qty := make([]int64, rows)
	days := make([]int32, rows)
	codes := make([]int32, rows)
	d := int32(exact.Day(asOfBench))
	for i := range rows {
		qty[i] = int64(1 + r.IntN(20))
		days[i] = d - int32(r.IntN(1100))
		codes[i] = int32(min(r.ExpFloat64()*30, 199))
	}
	bld := array.NewStringBuilder(memory.NewGoAllocator())
	for i := range 200 {
		bld.Append(fmt.Sprintf("cat-%03d", i))
	}
	dict := bld.NewStringArray()
	defer dict.Release()
	for _, tc := range []struct {
		name  string
		typ   schema.Type
		op    segment.Op
		value segment.Value
		v     *column.Vec
		width int
	}{
		{"quantity_gte", schema.Integer, segment.GreaterThanOrEqual, segment.Int(3), &column.Vec{N: rows, Type: schema.Integer, I64: qty}, 8},
		{"date_in_last_days", schema.Date, segment.InLastDays, segment.Int(365), &column.Vec{N: rows, Type: schema.Date, I32: days}, 4},
		{"codes_in", schema.String, segment.In, segment.List(segment.Str("cat-003"), segment.Str("cat-017")),
			&column.Vec{N: rows, Type: schema.String, Codes: codes, Dict: dict}, 4},
	} {
		narrow := column.NarrowOf(tc.v)
		for _, form := range []struct {
			name string
			v    *column.Vec
		}{{"wide", tc.v}, {"narrow", narrow}} {
			b.Run(tc.name+"/"+form.name, func(b *testing.B) {
				p, err := newPredicate(tc.typ, tc.op, tc.value, false)
				if err != nil {
					b.Fatal(err)
				}
				k := p.bind(asOfBench).Prepare(form.v, nil)
				out := column.NewBitset(rows)
				b.SetBytes(int64(rows * tc.width)) // the wide column's bytes, for both
				b.ReportAllocs()
				for b.Loop() {
					k.Eval(form.v, out)
				}
			})
		}
	}
}
