package analysis_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

// naiveShares counts each value of a categorical attribute in a set plainly,
// by a map over the set's customers; null is the value "" with ok false.
func naiveShares(ids []uint32, value func(uint32) (string, bool)) (counts map[string]uint64, withValue, null uint64) {
	counts = map[string]uint64{}
	for _, id := range ids {
		v, ok := value(id)
		if !ok {
			null++
			continue
		}
		counts[v]++
		withValue++
	}
	return counts, withValue, null
}

// share is c of n, 0 of none.
func share(c, n uint64) float64 {
	if n == 0 {
		return 0
	}
	return float64(c) / float64(n)
}

// naiveDiff is an attribute's expected comparison, computed
// plainly and independently of analysis: maps for categories; sorted
// copies, binary search for the CDFs and two passes for the moments for
// numbers.
type naiveDiff struct {
	Score                   float64
	SegValues, BaseValues   uint64
	SegNull, BaseNull       uint64
	Counts                  map[string][2]uint64
	SegMean, BaseMean       float64
	SegSD, BaseSD, SMD      float64
	SegMedian, BaseMedian   string
	HaveSD, HaveSMD         bool
	KSSegBelow, KSBaseBelow float64
}

// naiveCategorical compares a categorical attribute.
func naiveCategorical(seg, base []uint32, value func(uint32) (string, bool)) naiveDiff {
	cs, ns, nulls := naiveShares(seg, value)
	cb, nb, nullb := naiveShares(base, value)
	d := naiveDiff{SegValues: ns, BaseValues: nb, SegNull: nulls, BaseNull: nullb, Counts: map[string][2]uint64{}}
	for v, c := range cs {
		d.Counts[v] = [2]uint64{c, cb[v]}
	}
	for v, c := range cb {
		d.Counts[v] = [2]uint64{cs[v], c}
	}
	if ns > 0 && nb > 0 {
		for _, c := range d.Counts {
			d.Score += math.Abs(float64(c[0])/float64(ns) - float64(c[1])/float64(nb))
		}
		d.Score /= 2
	}
	return d
}

// naiveNumeric compares a numeric attribute: value returns a customer's
// value as a float, exactly (distinct wide integers may be one float), and
// as text.
func naiveNumeric(seg, base []uint32, value func(uint32) (float64, *big.Rat, string, bool)) naiveDiff {
	var d naiveDiff
	type point struct {
		x     float64
		exact *big.Rat
		text  string
	}
	collect := func(ids []uint32, null *uint64, median *string) []point {
		var ps []point
		for _, id := range ids {
			if x, e, text, ok := value(id); ok {
				ps = append(ps, point{x, e, text})
			} else {
				*null++
			}
		}
		sort.SliceStable(ps, func(i, j int) bool { return ps[i].exact.Cmp(ps[j].exact) < 0 })
		if len(ps) > 0 {
			*median = ps[(len(ps)-1)/2].text
		}
		return ps
	}
	s, b := collect(seg, &d.SegNull, &d.SegMedian), collect(base, &d.BaseNull, &d.BaseMedian)
	d.SegValues, d.BaseValues = uint64(len(s)), uint64(len(b))
	moments := func(ps []point) (mean, sd float64) {
		if len(ps) == 0 {
			return
		}
		for _, p := range ps {
			mean += p.x
		}
		mean /= float64(len(ps))
		for _, p := range ps {
			sd += (p.x - mean) * (p.x - mean)
		}
		if len(ps) > 1 {
			sd = math.Sqrt(sd / float64(len(ps)-1))
		}
		return mean, sd
	}
	d.SegMean, d.SegSD = moments(s)
	d.BaseMean, d.BaseSD = moments(b)
	d.HaveSD = len(s) > 1
	if len(s) == 0 || len(b) == 0 {
		return d
	}
	below := func(ps []point, x *big.Rat) *big.Rat {
		n := sort.Search(len(ps), func(i int) bool { return ps[i].exact.Cmp(x) > 0 })
		return big.NewRat(int64(n), int64(len(ps)))
	}
	// Every value in ascending order: the first where the CDFs differ
	// most, the distances compared exactly.
	union := append(slices.Clone(s), b...)
	sort.SliceStable(union, func(i, j int) bool { return union[i].exact.Cmp(union[j].exact) < 0 })
	best := new(big.Rat)
	for _, p := range union {
		fs, fb := below(s, p.exact), below(b, p.exact)
		if diff := new(big.Rat).Abs(new(big.Rat).Sub(fs, fb)); diff.Cmp(best) > 0 {
			best = diff
			d.Score, _ = diff.Float64()
			d.KSSegBelow, _ = fs.Float64()
			d.KSBaseBelow, _ = fb.Float64()
		}
	}
	if n := len(s) + len(b); n > 2 {
		pooled := math.Sqrt((float64(len(s)-1)*d.SegSD*d.SegSD + float64(len(b)-1)*d.BaseSD*d.BaseSD) / float64(n-2))
		if pooled > 0 {
			d.SMD, d.HaveSMD = (d.SegMean-d.BaseMean)/pooled, true
		}
	}
	return d
}

// checkDifferentiator requires got to be the naive comparison want.
// Counts are exact; means and deviations equal within 1e-9 relative.
func checkDifferentiator(t *testing.T, want naiveDiff, got analysis.Differentiator, top int, where string) {
	t.Helper()
	near := func(a, b float64, what string) {
		t.Helper()
		require.InDelta(t, a, b, 1e-9*math.Max(1, math.Max(math.Abs(a), math.Abs(b))), "%s %s %s", where, got.Attribute, what)
	}
	require.Equal(t, want.SegValues, got.Segment.Values, where)
	require.Equal(t, want.BaseValues, got.Base.Values, where)
	require.Equal(t, want.SegNull, got.Segment.Null, where)
	require.Equal(t, want.BaseNull, got.Base.Null, where)
	near(want.Score, got.Score, "score")
	if want.Counts != nil {
		require.Equal(t, analysis.TotalVariation, got.Statistic)
		require.Equal(t, len(want.Counts), got.Distinct, where)
		var inBase uint64
		for _, c := range want.Counts {
			if c[1] > 0 {
				inBase++
			}
		}
		require.Equal(t, want.BaseValues >= analysis.MinIdentifying && 2*inBase > want.BaseValues, got.Identifying, where)
		require.Len(t, got.Values, min(top, len(want.Counts)), where)
		prev := math.Inf(1)
		for _, v := range got.Values {
			c := want.Counts[v.Value]
			require.Equal(t, c, [2]uint64{v.Segment, v.Base}, "%s %s value %q", where, got.Attribute, v.Value)
			near(share(c[0], want.SegValues)-share(c[1], want.BaseValues), v.Difference, "difference")
			require.LessOrEqual(t, math.Abs(v.Difference), prev)
			prev = math.Abs(v.Difference)
			if c[1] > 0 {
				near(v.SegmentShare/v.BaseShare, *v.Lift, "lift")
			} else {
				require.Nil(t, v.Lift)
			}
		}
		// No value left out differs more than the last one listed.
		listed := map[string]bool{}
		for _, v := range got.Values {
			listed[v.Value] = true
		}
		for v, c := range want.Counts {
			if !listed[v] && len(got.Values) == top && want.SegValues > 0 && want.BaseValues > 0 {
				diff := math.Abs(share(c[0], want.SegValues) - share(c[1], want.BaseValues))
				require.LessOrEqual(t, diff, prev+1e-12, "%s %s: %q", where, got.Attribute, v)
			}
		}
		return
	}
	require.Equal(t, analysis.KolmogorovSmirnov, got.Statistic)
	if want.SegValues == 0 {
		require.Nil(t, got.Segment.Mean)
	} else {
		near(want.SegMean, *got.Segment.Mean, "segment mean")
		require.Equal(t, want.SegMedian, got.Segment.Median, "%s %s segment median", where, got.Attribute)
	}
	if want.BaseValues > 0 {
		near(want.BaseMean, *got.Base.Mean, "base mean")
		require.Equal(t, want.BaseMedian, got.Base.Median, "%s %s base median", where, got.Attribute)
	}
	if want.HaveSD {
		near(want.SegSD, *got.Segment.SD, "segment sd")
	}
	if want.HaveSMD {
		require.NotNil(t, got.SMD, "%s %s smd", where, got.Attribute)
		near(want.SMD, *got.SMD, "smd")
	}
	if want.Score > 0 {
		near(want.KSSegBelow, got.SegmentBelow, "segment below")
		near(want.KSBaseBelow, got.BaseBelow, "base below")
	}
}

// TestDifferentiators compares Differentiators with the naive comparison
// on random segments and bases (all customers, another segment, one
// overlapping or containing it), for a dictionary, a plain string and an
// integer attribute, the key among them when asked for.
func TestDifferentiators(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n = 3000
	snap := customers(t, mem, n)
	defer snap.Release()
	r := rand.New(rand.NewPCG(9, 10))
	tab := snap.Customers()
	all := make([]uint32, n)
	for i := range all {
		all[i] = uint32(i)
	}
	for round := range 12 {
		seg := randomSet(r, "Seg", n, []float64{0.001, 0.05, 0.5, 0.99}[round%4])
		if seg.Members.IsEmpty() {
			seg.Members.Add(7)
		}
		opts := analysis.DifferentiatorsOptions{Top: []int{0, 1, 3, analysis.MaxByValues}[round%4]}
		base := all
		if round%3 != 0 {
			b := randomSet(r, "Base", n, r.Float64())
			if round%3 == 2 {
				b.Members.Or(seg.Members)
			}
			b.Members.Add(11)
			opts.Against = &b
			base = b.Members.ToArray()
		}
		if round%2 == 1 {
			opts.Attributes = []string{"Customer.Age", "Customer.CustomerId", "Customer.Tier"}
		}
		got, err := analysis.Differentiators(context.Background(), snap, seg, opts)
		require.NoError(t, err)
		require.Equal(t, seg.Members.GetCardinality(), got.SegmentSize)
		require.Equal(t, uint64(len(base)), got.BaseSize)
		if opts.Attributes == nil {
			require.Len(t, got.Attributes, 3, "every attribute but the key")
		} else {
			require.Len(t, got.Attributes, 3)
		}
		top := opts.Top
		if top == 0 {
			top = analysis.DefaultTop
		}
		for i, d := range got.Attributes {
			if i > 0 && d.Identifying == got.Attributes[i-1].Identifying {
				require.LessOrEqual(t, d.Score, got.Attributes[i-1].Score)
			}
			if i > 0 {
				require.False(t, got.Attributes[i-1].Identifying && !d.Identifying, "identifying attributes last")
			}
			col := tab.Column(d.Attribute[len("Customer."):])
			var want naiveDiff
			if d.Type == "integer" {
				want = naiveNumeric(seg.Members.ToArray(), base, func(id uint32) (float64, *big.Rat, string, bool) {
					if col.Data.IsNull(int(id)) {
						return 0, nil, "", false
					}
					x, err := strconv.ParseInt(col.Format(int(id)), 10, 64)
					require.NoError(t, err)
					return float64(x), big.NewRat(x, 1), col.Format(int(id)), true
				})
			} else {
				want = naiveCategorical(seg.Members.ToArray(), base, func(id uint32) (string, bool) {
					return col.Format(int(id)), !col.Data.IsNull(int(id))
				})
			}
			checkDifferentiator(t, want, d, top, "round "+strconv.Itoa(round))
		}
	}
}

// TestDifferentiatorsErrors checks the refused inputs: each error wraps
// its sentinel, and an unknown attribute suggests the nearest.
func TestDifferentiatorsErrors(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	snap := customers(t, mem, 100)
	defer snap.Release()
	ctx := context.Background()
	a := analysis.Set{Name: "A", Members: roaring.BitmapOf(1, 2)}
	empty := analysis.Set{Name: "E", Members: roaring.New()}
	far := analysis.Set{Name: "Far", Members: roaring.BitmapOf(100)}
	for _, c := range []struct {
		seg  analysis.Set
		opts analysis.DifferentiatorsOptions
		err  error
		msg  string
	}{
		{empty, analysis.DifferentiatorsOptions{}, analysis.ErrEmpty, `segment "E" has no members`},
		{a, analysis.DifferentiatorsOptions{Against: &empty}, analysis.ErrEmpty, `"E" has no members to compare with`},
		{far, analysis.DifferentiatorsOptions{}, analysis.ErrSets, "customer id 100; the snapshot has 100"},
		{a, analysis.DifferentiatorsOptions{Against: &far}, analysis.ErrSets, "customer id 100"},
		{analysis.Set{Members: roaring.New()}, analysis.DifferentiatorsOptions{}, analysis.ErrSets, "no name"},
		{analysis.Set{Name: "Nil"}, analysis.DifferentiatorsOptions{}, analysis.ErrSets, "no members bitmap"},
		{a, analysis.DifferentiatorsOptions{Top: -1}, analysis.ErrOptions, "top is 0 to 100 values, not -1"},
		{a, analysis.DifferentiatorsOptions{Top: 101}, analysis.ErrOptions, "not 101"},
		{a, analysis.DifferentiatorsOptions{Attributes: []string{"Customer.Countr"}}, analysis.ErrUnknownField, "did you mean Customer.Country?"},
		{a, analysis.DifferentiatorsOptions{Attributes: []string{"Order.Channel"}}, analysis.ErrUnknownField, "attributes[0]"},
	} {
		_, err := analysis.Differentiators(ctx, snap, c.seg, c.opts)
		require.Error(t, err)
		require.True(t, errors.Is(err, c.err), "%v", err)
		require.Contains(t, err.Error(), c.msg)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	big := customers(t, mem, 200_000)
	defer big.Release()
	_, err := analysis.Differentiators(cctx, big, a, analysis.DifferentiatorsOptions{})
	require.ErrorIs(t, err, context.Canceled)
	// Without measures in the schema, an as-of instant changes nothing.
	res, err := analysis.Differentiators(ctx, snap, a, analysis.DifferentiatorsOptions{AsOf: time.Now()})
	require.NoError(t, err)
	require.Nil(t, res.AsOf)
}

const profilesSchema = `{
  "customerEntity": "Customer",
  "entities": [
    {"name": "Customer", "key": "CustomerId", "attributes": [
      {"name": "CustomerId", "type": "integer"}, {"name": "Country", "type": "string"},
      {"name": "Tier", "type": "string"}, {"name": "Age", "type": "integer"},
      {"name": "Spend", "type": "number"}, {"name": "SignupDate", "type": "date"},
      {"name": "IsVip", "type": "boolean"}]}]}`

// profiles returns a snapshot of n customers with one attribute of each
// kind the statistics read differently: Country a 20-value dictionary,
// Tier plain strings, Age integers of a narrow range, Spend numbers (all
// distinct), SignupDate dates over ten years, IsVip booleans.
func profiles(tb testing.TB, mem memory.Allocator, n int) *storage.Snapshot {
	tb.Helper()
	sch, err := schema.Parse([]byte(profilesSchema))
	require.NoError(tb, err)
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "CustomerId", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Country", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String}, Nullable: true},
		{Name: "Tier", Type: arrow.BinaryTypes.String, Nullable: true},
		{Name: "Age", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "Spend", Type: arrow.PrimitiveTypes.Float64, Nullable: true},
		{Name: "SignupDate", Type: arrow.FixedWidthTypes.Date32, Nullable: true},
		{Name: "IsVip", Type: arrow.FixedWidthTypes.Boolean, Nullable: true},
	}, nil))
	defer b.Release()
	r := rand.New(rand.NewPCG(11, 12))
	country := b.Field(1).(*array.BinaryDictionaryBuilder)
	for i := range n {
		b.Field(0).(*array.Int64Builder).Append(int64(i + 1))
		require.NoError(tb, country.AppendString(fmt.Sprintf("C%02d", min(int(r.ExpFloat64()*5), 19))))
		b.Field(2).(*array.StringBuilder).Append([]string{"gold", "silver", "bronze"}[r.IntN(3)])
		b.Field(3).(*array.Int64Builder).Append(int64(18 + r.IntN(60)))
		b.Field(4).(*array.Float64Builder).Append(r.ExpFloat64() * 300)
		b.Field(5).(*array.Date32Builder).Append(arrow.Date32(17000 + r.IntN(3650)))
		if r.IntN(20) == 0 {
			b.Field(6).(*array.BooleanBuilder).AppendNull()
		} else {
			b.Field(6).(*array.BooleanBuilder).Append(r.IntN(10) == 0)
		}
	}
	rec := b.NewRecordBatch()
	defer rec.Release()
	snap, err := storage.FromRecords(context.Background(), sch, map[string]arrow.RecordBatch{"Customer": rec}, storage.Options{Allocator: mem})
	require.NoError(tb, err)
	return snap
}

// TestDifferentiatorsTypes runs the naive comparison on a number (the
// sorted path), a date (the counted path) and a boolean.
func TestDifferentiatorsTypes(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n = 2000
	snap := profiles(t, mem, n)
	defer snap.Release()
	r := rand.New(rand.NewPCG(13, 14))
	seg := randomSet(r, "Seg", n, 0.2)
	got, err := analysis.Differentiators(context.Background(), snap, seg, analysis.DifferentiatorsOptions{Attributes: []string{"Customer.Spend", "Customer.SignupDate", "Customer.IsVip"}})
	require.NoError(t, err)
	all := make([]uint32, n)
	for i := range all {
		all[i] = uint32(i)
	}
	tab := snap.Customers()
	for _, d := range got.Attributes {
		col := tab.Column(d.Attribute[len("Customer."):])
		var want naiveDiff
		switch d.Type {
		case "number":
			f := col.Data.(*array.Float64)
			want = naiveNumeric(seg.Members.ToArray(), all, func(id uint32) (float64, *big.Rat, string, bool) {
				// Medians print as measures do, to 15 significant digits.
				return f.Value(int(id)), new(big.Rat).SetFloat64(f.Value(int(id))), exact.FormatNumber(f.Value(int(id))), true
			})
		case "date":
			dt := col.Data.(*array.Date32)
			want = naiveNumeric(seg.Members.ToArray(), all, func(id uint32) (float64, *big.Rat, string, bool) {
				x := int64(dt.Value(int(id)))
				return float64(x), big.NewRat(x, 1), col.Format(int(id)), true
			})
		default:
			want = naiveCategorical(seg.Members.ToArray(), all, func(id uint32) (string, bool) {
				return col.Format(int(id)), !col.Data.IsNull(int(id))
			})
		}
		checkDifferentiator(t, want, d, analysis.DefaultTop, d.Type)
	}
}

// TestDifferentiatorsConcurrent compares from several goroutines at once
// on a new snapshot, whose value codes and orders are built by the first:
// every result is the same (run with -race).
func TestDifferentiatorsConcurrent(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	snap := profiles(t, mem, 5000)
	defer snap.Release()
	seg := randomSet(rand.New(rand.NewPCG(15, 16)), "Seg", 5000, 0.3)
	results := make([]*analysis.DifferentiatorsResult, 4)
	errs := make([]error, len(results))
	var wg sync.WaitGroup
	for i := range results {
		wg.Go(func() {
			results[i], errs[i] = analysis.Differentiators(context.Background(), snap, seg, analysis.DifferentiatorsOptions{})
		})
	}
	wg.Wait()
	for i := range results {
		require.NoError(t, errs[i])
		require.Equal(t, results[0], results[i])
	}
}

// BenchmarkDifferentiators compares a segment of 1M customers (30% of
// them) with all of them, and with another segment (10%): over a 20-value
// dictionary, a plain string of 3 values and an integer (narrow), and over
// every attribute of profiles (also a number of distinct values, sorted,
// a date and a boolean).
func BenchmarkDifferentiators(b *testing.B) {
	const n = 1_000_000
	r := rand.New(rand.NewPCG(7, 8))
	seg, other := randomSet(r, "A", n, 0.3), randomSet(r, "B", n, 0.1)
	for _, fixture := range []struct {
		name string
		make func(testing.TB, memory.Allocator, int) *storage.Snapshot
	}{{"three", customers}, {"six", profiles}} {
		snap := fixture.make(b, memory.DefaultAllocator, n)
		// The first call on a snapshot also numbers the plain strings'
		// values and orders the numeric columns, once for the snapshot.
		start := time.Now()
		if _, err := analysis.Differentiators(context.Background(), snap, seg, analysis.DifferentiatorsOptions{}); err != nil {
			b.Fatal(err)
		}
		b.Logf("attributes=%s: the first call took %v", fixture.name, time.Since(start))
		for _, c := range []struct {
			name    string
			against *analysis.Set
		}{{"against=all", nil}, {"against=segment", &other}} {
			b.Run("attributes="+fixture.name+"/"+c.name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := analysis.Differentiators(context.Background(), snap, seg, analysis.DifferentiatorsOptions{Against: c.against}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
		snap.Release()
	}
}

// TestDifferentiatorsEdges: the first of equal distances is the KS point
// and the score is the exact distance rounded once; numbers near the
// float range give a mean and no deviation beyond it, and the result
// still writes as JSON.
func TestDifferentiatorsEdges(t *testing.T) {
	sch, err := schema.Parse([]byte(`{"customerEntity": "Customer", "entities": [{"name": "Customer", "key": "CustomerId",
		"attributes": [{"name": "CustomerId", "type": "integer"}, {"name": "Small", "type": "integer"}, {"name": "Huge", "type": "number"}]}]}`))
	require.NoError(t, err)
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewRecordBuilder(mem, arrow.NewSchema([]arrow.Field{
		{Name: "CustomerId", Type: arrow.PrimitiveTypes.Int64},
		{Name: "Small", Type: arrow.PrimitiveTypes.Int64, Nullable: true},
		{Name: "Huge", Type: arrow.PrimitiveTypes.Float64},
	}, nil))
	defer b.Release()
	b.Field(0).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 4}, nil)
	b.Field(1).(*array.Int64Builder).AppendValues([]int64{1, 2, 3, 0}, []bool{true, true, true, false})
	b.Field(2).(*array.Float64Builder).AppendValues([]float64{1.7e308, -1.7e308, 1.7e308, -1.7e308}, nil)
	rec := b.NewRecordBatch()
	defer rec.Release()
	snap, err := storage.FromRecords(context.Background(), sch, map[string]arrow.RecordBatch{"Customer": rec}, storage.Options{Allocator: mem})
	require.NoError(t, err)
	defer snap.Release()

	// The segment is the customer of Small 2, the base the values 1, 2
	// and 3: the CDFs differ by exactly 1/3 at 1 (0 against 1/3) and at
	// 2 (1 against 2/3), which floats round apart; the first is kept.
	got, err := analysis.Differentiators(context.Background(), snap, analysis.Set{Name: "S", Members: roaring.BitmapOf(1)},
		analysis.DifferentiatorsOptions{Attributes: []string{"Customer.Small"}})
	require.NoError(t, err)
	d := got.Attributes[0]
	require.Equal(t, "1", d.KSAt)
	require.Equal(t, 1.0/3, d.Score)
	require.Equal(t, 0.0, d.SegmentBelow)

	got, err = analysis.Differentiators(context.Background(), snap, analysis.Set{Name: "S", Members: roaring.BitmapOf(0, 1)},
		analysis.DifferentiatorsOptions{Attributes: []string{"Customer.Huge"}})
	require.NoError(t, err)
	d = got.Attributes[0]
	require.NotNil(t, d.Segment.Mean)
	require.InDelta(t, 0, *d.Segment.Mean, 1e300)
	require.NotNil(t, d.Base.Mean)
	require.Nil(t, d.Segment.SD, "a deviation past the float range is left out")
	_, err = json.Marshal(got)
	require.NoError(t, err)
}
