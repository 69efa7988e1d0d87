package engine

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Values are per-customer values computed by the engine: a measure, or an
// aggregate shown beside a segment's members. They are immutable and safe
// for concurrent use.
type Values struct {
	v   *column.Vec
	typ schema.Type
	// only, when not nil, holds the customers the values were computed
	// for (EvalMeasureFor); the others have none.
	only column.Bitset
}

// Type returns the values' type (FORMAT.md section 3: integer for counts,
// number for sums and averages, the attribute's own type otherwise).
func (vs *Values) Type() schema.Type { return vs.typ }

// Len returns the number of customers.
func (vs *Values) Len() int { return vs.v.N }

// Valid reports whether customer id has a value (not null).
func (vs *Values) Valid(id uint32) bool {
	return int(id) < vs.v.N && vs.v.IsValid(int(id)) && (vs.only == nil || vs.only.Has(int(id)))
}

// Format returns customer id's value as text, in the form of the data
// directory's CSV files; "" for null. A number prints as exact.FormatNumber
// does, with at most 15 significant digits, so that a sum of decimal
// amounts prints as people wrote them (1493.85, not 1493.8500000000001).
func (vs *Values) Format(id uint32) string {
	v, i := vs.v, int(id)
	if !vs.Valid(id) {
		return ""
	}
	switch {
	case v.F64 != nil:
		return exact.FormatNumber(v.F64[i])
	case v.I32 != nil:
		return exact.FormatDay(int64(v.I32[i]))
	case v.I64 != nil && v.Type == schema.Datetime:
		return exact.FormatMicros(v.I64[i])
	case v.I64 != nil:
		return strconv.FormatInt(v.I64[i], 10)
	case v.B != nil:
		return strconv.FormatBool(v.B.Has(i))
	}
	return v.StringAt(i)
}

// Int64 returns customer id's value of an integer measure, or of a
// datetime one in microseconds since the epoch; 0 for null. The caller
// checks Valid and Type first.
func (vs *Values) Int64(id uint32) int64 {
	if !vs.Valid(id) || vs.v.I64 == nil {
		return 0
	}
	return vs.v.I64[id]
}

// Float64 returns customer id's value of a number measure; 0 for null.
func (vs *Values) Float64(id uint32) float64 {
	if !vs.Valid(id) || vs.v.F64 == nil {
		return 0
	}
	return vs.v.F64[id]
}

// Day returns customer id's value of a date measure in days since
// 1970-01-01; 0 for null.
func (vs *Values) Day(id uint32) int32 {
	if !vs.Valid(id) || vs.v.I32 == nil {
		return 0
	}
	return vs.v.I32[id]
}

// Bool returns customer id's value of a boolean measure; false for null.
func (vs *Values) Bool(id uint32) bool {
	return vs.Valid(id) && vs.v.B != nil && vs.v.B.Has(int(id))
}

// String returns customer id's value of a string measure; "" for null.
func (vs *Values) String(id uint32) string {
	if !vs.Valid(id) || vs.v.Type != schema.String {
		return ""
	}
	return vs.v.StringAt(int(id))
}

// Measures returns the customer attribute measures of snap's schema
// (segment.MeasuresOf), parsed and validated on the first call for snap and
// kept for the snapshot's life: Compile, quick and the catalog reuse them,
// and a caller that validates definitions against snap passes them in
// segment.ValidateOptions.Measures. Problems in the measures are in the
// result's Err; a snapshot loads whatever its measures hold, whichever
// loader built it. The result is immutable and safe for concurrent use. A
// nil snap has no measures.
func Measures(snap *storage.Snapshot) *segment.Measures {
	if snap == nil {
		return segment.MeasuresOf(nil)
	}
	v, err := snap.Derived(measuresKey, func() (any, error) { return measuresOf(snap.Schema()), nil })
	if err != nil {
		panic(fmt.Sprintf("BUG: parsing measures cannot fail: %v", err))
	}
	return v.(*segment.Measures)
}

// measuresKey is the key of a snapshot's parsed measures among its derived
// values.
var measuresKey = storage.NewDerivedKey("engine: parsed measures")

// measuresOf parses a schema's measures; tests count its calls.
var measuresOf = segment.MeasuresOf

// EvalMeasure computes a customer attribute measure for every customer of
// snap at the as-of instant asOf. The measure is validated against the
// snapshot's schema first; problems come back as a diag.List.
func EvalMeasure(ctx context.Context, snap *storage.Snapshot, m *segment.Measure, asOf time.Time) (*Values, error) {
	return evalMeasure(ctx, snap, m, asOf, nil)
}

// evalMeasure computes the measure for every customer, or with non-nil
// customers for those customers (EvalMeasureFor).
func evalMeasure(ctx context.Context, snap *storage.Snapshot, m *segment.Measure, asOf time.Time, customers *roaring.Bitmap) (*Values, error) {
	if m == nil || snap == nil {
		return nil, fmt.Errorf("%w: nil measure or snapshot", ErrCompile)
	}
	if err := m.Validate(snap.Schema()); err != nil {
		return nil, err
	}
	only := func(name string) (*segment.Measure, bool) { return m, name == m.Name }
	c := &compiler{snap: snap, sch: snap.Schema(), vecs: map[*storage.Column]*column.Vec{}, loc: time.UTC,
		measures: map[string]*measureNode{}, mdef: only}
	mn := c.measure("measure", m.Name)
	if err := c.problems.Err(); err != nil {
		return nil, err
	}
	ec := &evalCtx{ctx: ctx, asOf: asOf, n: snap.NumCustomers(), par: 1, measures: map[*measureNode]*column.Vec{}}
	if customers != nil {
		return ec.measureFor(mn, customers, m.Type(snap.Schema()))
	}
	v, err := ec.measure(mn)
	if err != nil {
		return nil, err
	}
	return &Values{v: v, typ: m.Type(snap.Schema())}, nil
}

// Value returns customer id's value as a Go value: int64 (integer), float64 (number), string, bool,
// time.Time (date at 00:00 UTC, datetime in UTC), or nil for null.
func (vs *Values) Value(id uint32) any {
	v, i := vs.v, int(id)
	if !vs.Valid(id) {
		return nil
	}
	switch {
	case v.F64 != nil:
		return v.F64[i]
	case v.I32 != nil:
		return exact.DayTime(int64(v.I32[i]))
	case v.I64 != nil && v.Type == schema.Datetime:
		return exact.MicrosTime(v.I64[i])
	case v.I64 != nil:
		return v.I64[i]
	case v.B != nil:
		return v.B.Has(i)
	}
	return v.StringAt(i)
}
