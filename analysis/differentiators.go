package analysis

import (
	"cmp"
	"context"
	"fmt"
	"math"
	"math/big"
	"math/bits"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/storage"
)

var (
	// ErrEmpty is wrapped by the error for a segment, or a base, without
	// members: nothing can set it apart.
	ErrEmpty = diag.NewSentinel("analysis.empty", "no members to compare")
	// ErrOptions is wrapped by the error for options Differentiators
	// cannot take: a Top outside 0 to MaxByValues, or a measure named
	// without an instant to compute it at.
	ErrOptions = diag.NewSentinel("analysis.options", "invalid options")
)

// MinIdentifying is the fewest values of an attribute in the base for
// Differentiator.Identifying to mark it.
const MinIdentifying = 100

// DefaultTop is how many values of a categorical attribute a
// differentiator lists when DifferentiatorsOptions.Top is zero.
const DefaultTop = 5

// The statistics a Differentiator's Score is, named in its Statistic.
const (
	// TotalVariation is the total variation distance between two
	// distributions of categorical values: half the sum, over every value,
	// of the absolute difference of its shares.
	TotalVariation = "totalVariation"
	// KolmogorovSmirnov is the two-sample Kolmogorov-Smirnov statistic of
	// numeric values: the largest absolute difference of their empirical
	// cumulative distribution functions.
	KolmogorovSmirnov = "ks"
)

// DifferentiatorsOptions configures Differentiators. The zero value
// compares every customer attribute but the key with all customers, and
// leaves measures out.
type DifferentiatorsOptions struct {
	// Against, when not nil, is the base the segment is compared with;
	// nil compares it with all of the snapshot's customers. The base is
	// taken as it is: customers in both the segment and Against count in
	// both (a segment is compared with all customers, itself included, in
	// the same way). The bitmap is read, never modified.
	Against *Set
	// Attributes, when not empty, names the attributes to compare:
	// customer attributes ("Customer.Country") and measures
	// ("Measures.Spend90d"), the key among them if asked for. Empty
	// compares every customer attribute but the key, and every measure
	// when AsOf is set.
	Attributes []string
	// Top is how many values of each categorical attribute to list, 0 to
	// MaxByValues; zero lists DefaultTop.
	Top int
	// AsOf is the instant measures are computed at (a relative where is
	// relative to it). Zero leaves measures out; naming one in Attributes
	// is then an error.
	AsOf time.Time
}

// DifferentiatorsResult is how every compared attribute sets a segment
// apart from its base, the attribute that does most first.
type DifferentiatorsResult struct {
	// Segment names the segment, and Against the base; empty for all
	// customers.
	Segment string `json:"segment"`
	Against string `json:"against,omitempty"`
	// SegmentSize and BaseSize are the number of customers in each;
	// Customers is the snapshot's.
	SegmentSize uint64 `json:"segmentSize"`
	BaseSize    uint64 `json:"baseSize"`
	Customers   uint64 `json:"customers"`
	// AsOf is the instant measures were computed at; absent without them.
	AsOf *time.Time `json:"asOf,omitempty"`
	// Attributes are the compared attributes by Score, largest first
	// (ties in the order compared: customer attributes in schema order,
	// then measures), identifying attributes last.
	Attributes []Differentiator `json:"attributes"`
}

// Differentiator is how one attribute's values differ between a segment
// and its base. Shares and statistics are over the customers with a
// value; those without one are counted apart, in Null.
type Differentiator struct {
	// Attribute is "Entity.Attribute", or "Measures.Name" for a measure.
	Attribute string `json:"attribute"`
	// Type is the attribute's type, as schema.json writes it.
	Type string `json:"type"`
	// Statistic names what Score is: TotalVariation for strings and
	// booleans, KolmogorovSmirnov for integers, numbers, dates and
	// datetimes.
	Statistic string `json:"statistic"`
	// Score is the statistic, between 0 (the same distribution) and 1
	// (no value in common, or no overlap of ranges); 0 when the segment
	// or the base has no value at all.
	Score float64 `json:"score"`
	// Segment and Base summarize each side.
	Segment Side `json:"segment"`
	Base    Side `json:"base"`
	// Identifying marks a categorical attribute that identifies customers
	// more than it describes them (an email address): the base has at
	// least MinIdentifying values and more than half of them are
	// distinct. Its total variation is near 1 for any small segment, so
	// it is ranked after every other attribute.
	Identifying bool `json:"identifying,omitempty"`
	// Values are a categorical attribute's values with the largest
	// absolute share difference, at most Top of them (ties: the more
	// frequent in the segment, then in value order); nil for numeric
	// attributes. Distinct is how many values the segment and the base
	// have between them.
	Values   []ValueShare `json:"values,omitempty"`
	Distinct int          `json:"distinct,omitempty"`
	// SMD is a numeric attribute's standardized mean difference (Cohen's
	// d): (Segment.Mean - Base.Mean) / s, with the pooled standard
	// deviation s = sqrt(((n1-1)s1² + (n2-1)s2²) / (n1+n2-2)). Absent
	// when it is not defined (s is zero, or fewer than three values in
	// all).
	SMD *float64 `json:"smd,omitempty"`
	// KSAt is the value, as data files write it, where the cumulative
	// shares differ by Score: SegmentBelow and BaseBelow are the shares
	// of each side's values at or below it.
	KSAt         string  `json:"ksAt,omitempty"`
	SegmentBelow float64 `json:"segmentBelow"`
	BaseBelow    float64 `json:"baseBelow"`
}

// Side is one side's summary of an attribute: counts, and a numeric
// attribute's mean, standard deviation and median.
type Side struct {
	// Values counts the customers with a value, and Null those without.
	Values uint64 `json:"values"`
	Null   uint64 `json:"null"`
	// Mean and SD (the sample standard deviation, n-1) of a numeric
	// attribute's values; dates and datetimes in days since 1970-01-01.
	// Absent for categorical attributes and without values (SD with
	// fewer than two).
	Mean *float64 `json:"mean,omitempty"`
	SD   *float64 `json:"sd,omitempty"`
	// Median is the lower median value of a numeric attribute, as data
	// files write it (a number to 15 significant digits, as
	// exact.FormatNumber writes it).
	Median string `json:"median,omitempty"`
}

// ValueShare is one categorical value's share of a segment and of its
// base.
type ValueShare struct {
	// Value is as data files write it.
	Value string `json:"value"`
	// Segment and Base count the customers with the value on each side.
	Segment uint64 `json:"segment"`
	Base    uint64 `json:"base"`
	// SegmentShare and BaseShare are those counts over each side's
	// customers with a value; Difference is SegmentShare - BaseShare.
	SegmentShare float64 `json:"segmentShare"`
	BaseShare    float64 `json:"baseShare"`
	Difference   float64 `json:"difference"`
	// Lift is SegmentShare / BaseShare; absent when the base has none.
	Lift *float64 `json:"lift,omitempty"`
}

// Differentiators ranks attributes by how much they set the segment's
// customers apart from a base: all customers, or opts.Against. Strings and
// booleans compare their values' shares (TotalVariation), the others their
// distributions (KolmogorovSmirnov, and means by SMD). Every count is
// exact, from a dense copy of each bitmap and each attribute's column;
// means and deviations are float64. The first call on a snapshot numbers
// its string and boolean columns' values and orders its numeric columns
// of a wide range (those not counted in arrays) by value, and keeps both with the snapshot (storage.Column.Derived: 4 bytes a customer
// for the codes, 12 for an order) for every later call. Differentiators
// reads the bitmaps and the snapshot only, and is safe for concurrent use;
// the result is the caller's.
func Differentiators(ctx context.Context, snap *storage.Snapshot, seg Set, opts DifferentiatorsOptions) (*DifferentiatorsResult, error) {
	n := snap.NumCustomers()
	if err := checkSet(seg, n); err != nil {
		return nil, err
	}
	if opts.Top < 0 || opts.Top > MaxByValues {
		return nil, fmt.Errorf("%w: top is 0 to %d values, not %d", ErrOptions, MaxByValues, opts.Top)
	}
	top := cmp.Or(opts.Top, DefaultTop)
	out := &DifferentiatorsResult{Segment: seg.Name, Customers: uint64(n), SegmentSize: seg.Members.GetCardinality(), Attributes: []Differentiator{}}
	segD := column.FromRoaring(seg.Members, n)
	var baseD column.Bitset
	if opts.Against != nil {
		if err := checkSet(*opts.Against, n); err != nil {
			return nil, err
		}
		out.Against = opts.Against.Name
		out.BaseSize = opts.Against.Members.GetCardinality()
		baseD = column.FromRoaring(opts.Against.Members, n)
	} else {
		out.BaseSize = uint64(n)
		baseD = column.FullBitset(n)
	}
	switch {
	case out.SegmentSize == 0:
		return nil, fmt.Errorf("%w: segment %q has no members", ErrEmpty, seg.Name)
	case out.BaseSize == 0:
		return nil, fmt.Errorf("%w: %q has no members to compare with", ErrEmpty, out.Against)
	}
	fields, err := differentiatorFields(snap, opts)
	if err != nil {
		return nil, err
	}
	if !opts.AsOf.IsZero() && slices.ContainsFunc(fields, func(f field) bool { return f.measure }) {
		asOf := opts.AsOf
		out.AsOf = &asOf
	}
	sides := sets{seg: segD, base: baseD, baseAll: opts.Against == nil}
	for _, f := range fields {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("differentiators: %w", err)
		}
		vals, err := f.values(ctx, snap, opts.AsOf)
		if err != nil {
			return nil, err
		}
		d := Differentiator{Attribute: f.name, Type: vals.typ.String()}
		switch vals.typ {
		case schema.String, schema.Boolean:
			err = sides.categorical(ctx, vals, top, &d)
		case schema.Number:
			err = numeric(ctx, sides, vals, vals.f64, &d)
		case schema.Date:
			err = numeric(ctx, sides, vals, vals.i32, &d)
		default:
			err = numeric(ctx, sides, vals, vals.i64, &d)
		}
		if err != nil {
			return nil, fmt.Errorf("differentiators: %s: %w", f.name, err)
		}
		out.Attributes = append(out.Attributes, d)
	}
	slices.SortStableFunc(out.Attributes, func(a, b Differentiator) int {
		switch {
		case a.Identifying && !b.Identifying:
			return 1
		case b.Identifying && !a.Identifying:
			return -1
		}
		return cmp.Compare(b.Score, a.Score)
	})
	return out, nil
}

// checkSet checks that s names a set of snapshot customers.
func checkSet(s Set, n int) error {
	switch {
	case s.Name == "":
		return fmt.Errorf("%w: a set has no name", ErrSets)
	case s.Members == nil:
		return fmt.Errorf("%w: %q has no members bitmap", ErrSets, s.Name)
	case !s.Members.IsEmpty() && int64(s.Members.Maximum()) >= int64(n):
		return fmt.Errorf("%w: %q has customer id %d; the snapshot has %d customers", ErrSets, s.Name, s.Members.Maximum(), n)
	}
	return nil
}

// field is an attribute Differentiators compares: a customer attribute's
// column, or a measure.
type field struct {
	name    string
	col     *storage.Column
	measure bool
}

// differentiatorFields resolves opts.Attributes, or lists every customer
// attribute but the key and, with AsOf, every measure.
func differentiatorFields(snap *storage.Snapshot, opts DifferentiatorsOptions) ([]field, error) {
	sch := snap.Schema()
	t := snap.Customers()
	var all []field
	for i, a := range t.Entity.Attributes {
		all = append(all, field{name: sch.CustomerEntity + "." + a.Name, col: t.Columns[i]})
	}
	for _, m := range engine.Measures(snap).List() {
		all = append(all, field{name: schema.MeasuresEntity + "." + m.Name, measure: true})
	}
	if len(opts.Attributes) == 0 {
		key := sch.CustomerEntity + "." + t.Entity.Key
		return slices.DeleteFunc(all, func(f field) bool { return f.name == key || f.measure && opts.AsOf.IsZero() }), nil
	}
	names := make([]string, len(all))
	for i, f := range all {
		names[i] = f.name
	}
	var l diag.List
	var out []field
	for i, name := range opts.Attributes {
		j := slices.Index(names, name)
		switch {
		case j < 0:
			l.AddSuggest(fmt.Sprintf("attributes[%d]", i), ErrUnknownField, name, names, "%q is not an attribute of the customer entity %s or a measure", name, sch.CustomerEntity)
		case all[j].measure && opts.AsOf.IsZero():
			return nil, fmt.Errorf("%w: measure %s needs an as-of instant to be computed at", ErrOptions, name)
		case !slices.ContainsFunc(out, func(f field) bool { return f.name == name }):
			out = append(out, all[j])
		}
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// values is one attribute's value for every customer, in one typed slice
// chosen by typ; strings and booleans as codes into text.
type values struct {
	typ schema.Type
	// col is the snapshot's column the values are, nil for a measure.
	col *storage.Column
	// valid has bit i set when customer i has a value; nil: all have.
	valid column.Bitset
	i64   []int64   // integer, datetime (microseconds)
	i32   []int32   // date (days)
	f64   []float64 // number
	codes []int32   // string, boolean: index in text, -1 without a value
	text  []string
}

func (v *values) has(i int) bool { return v.valid == nil || v.valid.Has(i) }

// codesKey is the key of a string or boolean column's codes among its
// derived values: building them hashes every customer's string once per
// snapshot, not once per analysis.
var codesKey = storage.NewDerivedKey("analysis: value codes")

type codes struct {
	codes []int32
	text  []string
}

func (f field) values(ctx context.Context, snap *storage.Snapshot, asOf time.Time) (*values, error) {
	n := snap.NumCustomers()
	if f.measure {
		m, _ := engine.Measures(snap).Lookup(strings.TrimPrefix(f.name, schema.MeasuresEntity+"."))
		mv, err := engine.EvalMeasure(ctx, snap, m, asOf)
		if err != nil {
			return nil, err
		}
		return measureValues(mv, n), nil
	}
	v, err := column.View(f.col)
	if err != nil {
		return nil, err
	}
	out := &values{typ: f.col.Attr.Type, col: f.col, valid: v.Valid, i64: v.I64, i32: v.I32, f64: v.F64}
	if out.typ == schema.String || out.typ == schema.Boolean {
		c, err := valueCodes(f.col, v, n)
		if err != nil {
			return nil, err
		}
		out.codes, out.text, out.valid = c.codes, c.text, nil
	}
	return out, nil
}

// valueCodes returns the codes of a customer column's values (n
// customers, v its typed view), built once per snapshot (codesKey).
func valueCodes(col *storage.Column, v *column.Vec, n int) (*codes, error) {
	d, err := col.Derived(codesKey, func() (any, error) { return numberValues(col, v, n), nil })
	if err != nil {
		return nil, err
	}
	return d.(*codes), nil
}

// numberValues numbers a customer column's values by their text, as the
// data files write them (Column.Format): equal values have one code (a
// dictionary need not be unique, and its codes are read as its entries'),
// -1 marks a customer without a value.
func numberValues(col *storage.Column, v *column.Vec, n int) *codes {
	c := &codes{codes: make([]int32, n)}
	index := map[string]int32{}
	code := func(s string) int32 {
		k, ok := index[s]
		if !ok {
			k = int32(len(c.text))
			index[s] = k
			c.text = append(c.text, s)
		}
		return k
	}
	var same []int32 // a dictionary entry's code
	if v.Codes != nil && v.Dict != nil {
		same = make([]int32, v.Dict.Len())
		for i := range same {
			same[i] = code(v.Dict.Value(i))
		}
	}
	for i := range n {
		c.codes[i] = -1
		switch {
		case !v.IsValid(i):
		case same != nil:
			if k := v.Codes[i]; k >= 0 && int(k) < len(same) {
				c.codes[i] = same[k]
			}
		default:
			c.codes[i] = code(col.Format(i))
		}
	}
	return c
}

// measureValues copies a measure's values into one typed slice, so that
// the statistics read measures as they read columns.
func measureValues(mv *engine.Values, n int) *values {
	out := &values{typ: mv.Type(), valid: column.NewBitset(n)}
	for i := range n {
		if mv.Valid(uint32(i)) {
			out.valid.Set(i)
		}
	}
	switch out.typ {
	case schema.Number:
		out.f64 = make([]float64, n)
		for i := range n {
			out.f64[i] = mv.Float64(uint32(i))
		}
	case schema.Date:
		out.i32 = make([]int32, n)
		for i := range n {
			out.i32[i] = mv.Day(uint32(i))
		}
	case schema.Integer, schema.Datetime:
		out.i64 = make([]int64, n)
		for i := range n {
			out.i64[i] = mv.Int64(uint32(i))
		}
	default:
		index := map[string]int32{}
		out.codes = make([]int32, n)
		for i := range n {
			out.codes[i] = -1
			if !out.valid.Has(i) {
				continue
			}
			s := mv.Format(uint32(i))
			k, ok := index[s]
			if !ok {
				k = int32(len(out.text))
				index[s] = k
				out.text = append(out.text, s)
			}
			out.codes[i] = k
		}
		out.valid = nil
	}
	return out
}

// sets are the segment and the base as dense bitsets; baseAll says the
// base is every customer, which the loops read without its bits.
type sets struct {
	seg, base column.Bitset
	baseAll   bool
}

// side is one of the sets, for the counting loops.
type side struct {
	b   column.Bitset
	all bool
}

func (s sets) sides() [2]side { return [2]side{{s.seg, false}, {s.base, s.baseAll}} }

// countCodes adds up the codes of the side's customers in counts, and
// returns how many have none. It checks ctx every 65536 customers.
func countCodes(ctx context.Context, sd side, codes []int32, counts []uint64) (null uint64, err error) {
	if sd.all {
		for i, c := range codes {
			if i&0xffff == 0xffff {
				if err := ctx.Err(); err != nil {
					return 0, err
				}
			}
			if c >= 0 {
				counts[c]++
			} else {
				null++
			}
		}
		return null, nil
	}
	for w, x := range sd.b {
		if w&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		for x != 0 {
			if c := codes[w<<6|bits.TrailingZeros64(x)]; c >= 0 {
				counts[c]++
			} else {
				null++
			}
			x &= x - 1
		}
	}
	return null, nil
}

// countInts counts the side's customers' values, offset by lo, in counts,
// and returns how many have none.
func countInts[T int64 | int32](ctx context.Context, sd side, v *values, xs []T, lo T, counts []uint32) (null uint64, err error) {
	if sd.all {
		for i, x := range xs {
			if i&0xffff == 0xffff {
				if err := ctx.Err(); err != nil {
					return 0, err
				}
			}
			if v.has(i) {
				counts[uint64(x-lo)]++
			} else {
				null++
			}
		}
		return null, nil
	}
	for w, bw := range sd.b {
		if w&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		for bw != 0 {
			if i := w<<6 | bits.TrailingZeros64(bw); v.has(i) {
				counts[uint64(xs[i]-lo)]++
			} else {
				null++
			}
			bw &= bw - 1
		}
	}
	return null, nil
}

// gather appends the side's customers' values to out, and returns how
// many have none.
func gather[T int64 | int32 | float64](ctx context.Context, sd side, v *values, xs []T, out []T) ([]T, uint64, error) {
	var null uint64
	if sd.all {
		for i, x := range xs {
			if i&0xffff == 0xffff {
				if err := ctx.Err(); err != nil {
					return nil, 0, err
				}
			}
			if v.has(i) {
				out = append(out, x)
			} else {
				null++
			}
		}
		return out, null, nil
	}
	for w, bw := range sd.b {
		if w&1023 == 1023 {
			if err := ctx.Err(); err != nil {
				return nil, 0, err
			}
		}
		for bw != 0 {
			if i := w<<6 | bits.TrailingZeros64(bw); v.has(i) {
				out = append(out, xs[i])
			} else {
				null++
			}
			bw &= bw - 1
		}
	}
	return out, null, nil
}

// categorical counts each value on both sides and scores the total
// variation distance of their shares.
func (s sets) categorical(ctx context.Context, v *values, top int, d *Differentiator) error {
	d.Statistic = TotalVariation
	seg := make([]uint64, len(v.text))
	base := make([]uint64, len(v.text))
	for k, sd := range s.sides() {
		counts, out := [2][]uint64{seg, base}[k], [2]*Side{&d.Segment, &d.Base}[k]
		null, err := countCodes(ctx, sd, v.codes, counts)
		if err != nil {
			return err
		}
		out.Null = null
		for _, c := range counts {
			out.Values += c
		}
	}
	ns, nb := float64(d.Segment.Values), float64(d.Base.Values)
	var shares []ValueShare
	var tv float64
	var inBase uint64
	for c, text := range v.text {
		if base[c] > 0 {
			inBase++
		}
		if seg[c] == 0 && base[c] == 0 {
			continue
		}
		vs := ValueShare{Value: text, Segment: seg[c], Base: base[c]}
		if ns > 0 {
			vs.SegmentShare = float64(seg[c]) / ns
		}
		if nb > 0 {
			vs.BaseShare = float64(base[c]) / nb
		}
		vs.Difference = vs.SegmentShare - vs.BaseShare
		if base[c] > 0 {
			lift := vs.SegmentShare / vs.BaseShare
			vs.Lift = &lift
		}
		tv += math.Abs(vs.Difference)
		shares = append(shares, vs)
	}
	if ns > 0 && nb > 0 {
		d.Score = min(tv/2, 1)
	}
	d.Distinct = len(shares)
	d.Identifying = d.Base.Values >= MinIdentifying && 2*inBase > d.Base.Values
	slices.SortFunc(shares, func(a, b ValueShare) int {
		if c := cmp.Compare(math.Abs(b.Difference), math.Abs(a.Difference)); c != 0 {
			return c
		}
		if c := cmp.Compare(b.Segment, a.Segment); c != 0 {
			return c
		}
		return strings.Compare(a.Value, b.Value)
	})
	d.Values = shares[:min(len(shares), top)]
	return nil
}

// maxCountSpan is the widest range of integer values counted in arrays
// rather than sorted, as a multiple of the customers: counting is linear,
// a sort is not.
const maxCountSpan = 4

// numeric compares the distributions of a numeric attribute: the values
// on each side, sorted (or counted, for integers of a narrow range), are
// walked once in order for the CDFs, means, deviations and medians.
func numeric[T int64 | int32 | float64](ctx context.Context, s sets, v *values, xs []T, d *Differentiator) error {
	d.Statistic = KolmogorovSmirnov
	toF := func(x T) float64 { return float64(x) }
	format := func(x T) string { return exact.FormatNumber(float64(x)) }
	switch v.typ {
	case schema.Integer:
		format = func(x T) string { return strconv.FormatInt(int64(x), 10) }
	case schema.Date:
		format = func(x T) string { return exact.FormatDay(int64(x)) }
	case schema.Datetime:
		toF = func(x T) float64 { return float64(x) / 86400e6 }
		format = func(x T) string { return exact.FormatMicros(int64(x)) }
	}
	w := walk[T]{toF: toF}
	if v.typ == schema.Number {
		// Numbers near the float range are scaled down for the moments.
		for _, x := range xs {
			if f := math.Abs(float64(x)); f > 0x1p500 {
				w.scale = 0x1p-600
				break
			}
		}
	}
	if err := numericWalk(ctx, s, v, xs, d, &w); err != nil {
		return err
	}
	w.side(&d.Segment, &w.s, format)
	w.side(&d.Base, &w.b, format)
	if w.ns > 0 && w.nb > 0 {
		d.Score = w.score()
		d.KSAt = format(w.ksAt)
		d.SegmentBelow, d.BaseBelow = w.ksS, w.ksB
		if w.ns+w.nb > 2 {
			pooled := math.Sqrt((w.s.m2 + w.b.m2) / float64(w.ns+w.nb-2))
			finite := !math.IsInf(pooled, 0) && !math.IsNaN(pooled)
			if smd := (w.s.mean - w.b.mean) / pooled; finite && pooled > 0 && !math.IsNaN(smd) && !math.IsInf(smd, 0) {
				d.SMD = &smd
			}
		}
	}
	return nil
}

// numericWalk visits the distinct values of both sides in ascending
// order, with their counts on each.
func numericWalk[T int64 | int32 | float64](ctx context.Context, s sets, v *values, xs []T, d *Differentiator, w *walk[T]) error {
	sides := s.sides()
	if v.typ != schema.Number {
		if lo, hi, ok := span(v, xs); ok && uint64(hi-lo) < uint64(maxCountSpan*len(xs)+1024) {
			// A narrow range (ages, days) is counted: linear, no sort.
			var counts [2][]uint32
			for k, out := range [2]*Side{&d.Segment, &d.Base} {
				counts[k] = make([]uint32, uint64(hi-lo)+1)
				null, err := countIntsOf(ctx, sides[k], v, xs, lo, counts[k])
				if err != nil {
					return err
				}
				out.Null = null
				for _, c := range counts[k] {
					out.Values += uint64(c)
				}
			}
			w.ns, w.nb = d.Segment.Values, d.Base.Values
			cs, cb := counts[0], counts[1]
			for k := range cs {
				if cs[k]|cb[k] != 0 {
					w.visit(lo+T(k), uint64(cs[k]), uint64(cb[k]))
				}
			}
			return nil
		}
	}
	if v.col != nil {
		return sortedWalk(ctx, s, v, xs, d, w)
	}
	var vals [2][]T
	for k, out := range [2]*Side{&d.Segment, &d.Base} {
		size := len(xs)
		if !sides[k].all {
			size = sides[k].b.Count()
		}
		var err error
		if vals[k], out.Null, err = gather(ctx, sides[k], v, xs, make([]T, 0, size)); err != nil {
			return err
		}
		out.Values = uint64(len(vals[k]))
		slices.Sort(vals[k])
	}
	sv, bv := vals[0], vals[1]
	w.ns, w.nb = uint64(len(sv)), uint64(len(bv))
	i, j := 0, 0
	for i < len(sv) || j < len(bv) {
		var x T
		switch {
		case i == len(sv):
			x = bv[j]
		case j == len(bv):
			x = sv[i]
		default:
			x = min(sv[i], bv[j])
		}
		i0, j0 := i, j
		for i < len(sv) && sv[i] == x {
			i++
		}
		for j < len(bv) && bv[j] == x {
			j++
		}
		w.visit(x, uint64(i-i0), uint64(j-j0))
	}
	return nil
}

// orderKey is the key of a numeric column's customers in the order of
// their values among the column's derived values: sorting 1M numbers costs
// 80 ms, once per snapshot, and each comparison after it one pass.
var orderKey = storage.NewDerivedKey("analysis: customers by value")

// ordered is a column's customers with a value in the order of their
// values (then by id), and those values: the walk reads both in order,
// the values never by id (1M random reads cost more than the counting).
type ordered[T int64 | int32 | float64] struct {
	ids  []uint32
	vals []T
}

// byValue returns the column's ordered customers, sorted once per
// snapshot.
func byValue[T int64 | int32 | float64](v *values, xs []T) (*ordered[T], error) {
	d, err := v.col.Derived(orderKey, func() (any, error) {
		// Pairs sort faster than ids compared through the values: each
		// comparison reads one cache line, not two far apart.
		type pair struct {
			x  T
			id uint32
		}
		ps := make([]pair, 0, len(xs))
		for i, x := range xs {
			if v.has(i) {
				ps = append(ps, pair{x, uint32(i)})
			}
		}
		slices.SortFunc(ps, func(a, b pair) int {
			if c := cmp.Compare(a.x, b.x); c != 0 {
				return c
			}
			return cmp.Compare(a.id, b.id)
		})
		o := &ordered[T]{ids: make([]uint32, len(ps)), vals: make([]T, len(ps))}
		for k, p := range ps {
			o.ids[k], o.vals[k] = p.id, p.x
		}
		return o, nil
	})
	if err != nil {
		return nil, err
	}
	return d.(*ordered[T]), nil
}

// sortedWalk walks a column's customers in the order of their values
// (byValue), counting each distinct value's customers on both sides.
func sortedWalk[T int64 | int32 | float64](ctx context.Context, s sets, v *values, xs []T, d *Differentiator, w *walk[T]) error {
	o, err := byValue(v, xs)
	if err != nil {
		return err
	}
	ids, vals := o.ids, o.vals
	// The sides' counts of values come first: the medians need them.
	var ns, nb uint64
	for k, id := range ids {
		if k&0xffff == 0xffff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if s.seg.Has(int(id)) {
			ns++
		}
		if s.baseAll || s.base.Has(int(id)) {
			nb++
		}
	}
	d.Segment.Values, d.Base.Values = ns, nb
	d.Segment.Null = uint64(s.seg.Count()) - ns
	if s.baseAll {
		d.Base.Null = uint64(len(xs)) - nb
	} else {
		d.Base.Null = uint64(s.base.Count()) - nb
	}
	w.ns, w.nb = ns, nb
	for k := 0; k < len(ids); {
		if k&0xffff == 0xffff {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		x := vals[k]
		var cs, cb uint64
		for ; k < len(ids) && vals[k] == x; k++ {
			id := int(ids[k])
			if s.seg.Has(id) {
				cs++
			}
			if s.baseAll || s.base.Has(id) {
				cb++
			}
		}
		if cs|cb != 0 {
			w.visit(x, cs, cb)
		}
	}
	return nil
}

// countIntsOf is countInts for the integer-like types; a number is never
// counted.
func countIntsOf[T int64 | int32 | float64](ctx context.Context, sd side, v *values, xs []T, lo T, counts []uint32) (uint64, error) {
	switch xs := any(xs).(type) {
	case []int64:
		return countInts(ctx, sd, v, xs, any(lo).(int64), counts)
	case []int32:
		return countInts(ctx, sd, v, xs, any(lo).(int32), counts)
	}
	panic("BUG: countIntsOf of numbers")
}

// span returns the smallest and largest value of every customer, and
// whether there are any and their range fits in int64.
func span[T int64 | int32 | float64](v *values, xs []T) (lo, hi T, ok bool) {
	for i, x := range xs {
		if !v.has(i) {
			continue
		}
		if !ok {
			lo, hi, ok = x, x, true
		}
		lo, hi = min(lo, x), max(hi, x)
	}
	// An integer range wider than int64 is not counted.
	if ok && hi > 0 && lo < 0 && hi-lo < 0 {
		ok = false
	}
	return lo, hi, ok
}

// walk accumulates, over distinct values in ascending order with their
// counts on each side, the Kolmogorov-Smirnov statistic, the means and
// squared deviations (weighted Welford updates, stable where a sum of
// squares is not) and the medians.
type walk[T int64 | int32 | float64] struct {
	ns, nb uint64
	toF    func(T) float64
	// scale multiplies the values before the moments add them (a power
	// of two, exact), so that numbers near the float range do not
	// overflow their differences; side divides it out.
	scale        float64
	s, b         moments[T]
	ksS, ksB     float64
	ksAt         T
	seenS, seenB uint64
	// ksHi, ksLo are the largest |seenS*nb - seenB*ns| so far, 128 bits:
	// the statistic times ns*nb, compared exactly, so that the first of
	// equal distances is kept.
	ksHi, ksLo uint64
	ksSeen     bool
}

// mul128 returns a*b as 128 bits.
func mul128(a, b uint64) (hi, lo uint64) { return bits.Mul64(a, b) }

// sub128 returns |a - b| of two 128-bit numbers.
func sub128(ah, al, bh, bl uint64) (hi, lo uint64) {
	if ah < bh || ah == bh && al < bl {
		ah, al, bh, bl = bh, bl, ah, al
	}
	lo, borrow := bits.Sub64(al, bl, 0)
	hi, _ = bits.Sub64(ah, bh, borrow)
	return hi, lo
}

type moments[T int64 | int32 | float64] struct {
	n          uint64
	mean, m2   float64
	median     T
	haveMedian bool
}

func (m *moments[T]) add(x T, xf float64, c, total uint64) {
	if c == 0 {
		return
	}
	n := m.n + c
	delta := xf - m.mean
	m.mean += delta * float64(c) / float64(n)
	m.m2 += delta * delta * float64(m.n) * float64(c) / float64(n)
	m.n = n
	// The lower median: the first value at or past half.
	if !m.haveMedian && 2*n >= total {
		m.median, m.haveMedian = x, true
	}
}

func (w *walk[T]) visit(x T, cs, cb uint64) {
	xf := w.toF(x)
	if w.scale != 0 {
		xf *= w.scale
	}
	w.s.add(x, xf, cs, w.ns)
	w.b.add(x, xf, cb, w.nb)
	w.seenS += cs
	w.seenB += cb
	if w.ns == 0 || w.nb == 0 {
		return
	}
	ah, al := mul128(w.seenS, w.nb)
	bh, bl := mul128(w.seenB, w.ns)
	hi, lo := sub128(ah, al, bh, bl)
	if hi > w.ksHi || hi == w.ksHi && lo > w.ksLo {
		w.ksHi, w.ksLo, w.ksSeen = hi, lo, true
		w.ksAt = x
		w.ksS, w.ksB = float64(w.seenS)/float64(w.ns), float64(w.seenB)/float64(w.nb)
	}
}

// score returns the statistic, rounded once from its exact value.
func (w *walk[T]) score() float64 {
	if !w.ksSeen {
		return 0
	}
	num := new(big.Int).Lsh(new(big.Int).SetUint64(w.ksHi), 64)
	num.Or(num, new(big.Int).SetUint64(w.ksLo))
	den := new(big.Int).Mul(new(big.Int).SetUint64(w.ns), new(big.Int).SetUint64(w.nb))
	ks, _ := new(big.Rat).SetFrac(num, den).Float64()
	return ks
}

func (w *walk[T]) side(out *Side, m *moments[T], format func(T) string) {
	if m.n == 0 {
		return
	}
	out.Median = format(m.median)
	scale := 1.0
	if w.scale != 0 {
		scale = w.scale
	}
	// A mean or deviation beyond the float range (values of a measure
	// that overflowed, or deviations of numbers near its ends) is left
	// out: no JSON number writes it.
	if mean := m.mean / scale; !math.IsInf(mean, 0) && !math.IsNaN(mean) {
		out.Mean = &mean
	}
	if m.n > 1 {
		if sd := math.Sqrt(m.m2/float64(m.n-1)) / scale; !math.IsInf(sd, 0) && !math.IsNaN(sd) {
			out.SD = &sd
		}
	}
}
