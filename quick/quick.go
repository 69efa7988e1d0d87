package quick

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Sentinel errors of the quick package; test with errors.Is.
var (
	// ErrUnknownOrigin: an origin's name (the CLI's --source) is not
	// profiles, measures or intelligence. Its code keeps the older name.
	ErrUnknownOrigin = diag.NewSentinel("quick.unknown_source", "unknown source")
	// ErrUnknownField: a field name names no field of any source. The error
	// is a *diag.Problem whose Suggestion is the nearest field name, if one
	// is close.
	ErrUnknownField = diag.NewSentinel("quick.unknown_field", "unknown field")
	// ErrOperator: an operator name is unknown, or the operator does not
	// apply to the field's scale (Is to categorical fields; Between,
	// GreaterThan and LessThan to numerical ones).
	ErrOperator = diag.NewSentinel("quick.operator", "operator not allowed")
	// ErrValue: a value is missing, not of the field's type, not of the form
	// the operator needs, or a between's low bound is above its high bound.
	ErrValue = diag.NewSentinel("quick.value", "invalid value")
	// ErrNotOneToOne: a prediction entity has a customer with more than one
	// row, so its attributes are not one value per customer.
	ErrNotOneToOne = diag.NewSentinel("quick.not_one_to_one", "prediction entity is not one-to-one with customers")
)

// Origin is where a quick segment's field comes from: the product page's
// "Quickly create from" choice (the CLI's --source).
type Origin uint8

// The origins of the product page.
const (
	// Profiles are the attributes of the customer entity.
	Profiles Origin = iota
	// Measures are the customer attribute measures of the schema.
	Measures
	// Intelligence are the attributes of prediction output entities.
	Intelligence
)

var originNames = [...]string{"profiles", "measures", "intelligence"}

// Origins lists every origin in order.
func Origins() []Origin { return []Origin{Profiles, Measures, Intelligence} }

// String returns "profiles", "measures", "intelligence" or "Origin(N)".
func (s Origin) String() string {
	if int(s) < len(originNames) {
		return originNames[s]
	}
	return fmt.Sprintf("Origin(%d)", uint8(s))
}

// ParseOrigin returns the origin named s, ignoring case. The error wraps
// ErrUnknownOrigin.
func ParseOrigin(s string) (Origin, error) {
	for i, n := range originNames {
		if strings.EqualFold(s, n) {
			return Origin(i), nil
		}
	}
	return 0, fmt.Errorf("%w %q; use profiles, measures or intelligence", ErrUnknownOrigin, s)
}

// Scale says how a field is shown and which operators apply to it.
type Scale uint8

const (
	// Categorical fields show their most frequent values and take Is.
	Categorical Scale = iota
	// Numerical fields show percentiles and take Between, GreaterThan and
	// LessThan.
	Numerical
)

var kindNames = [...]string{"categorical", "numerical"}

// String returns "categorical", "numerical" or "Scale(N)".
func (k Scale) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return fmt.Sprintf("Scale(%d)", uint8(k))
}

// Ops returns the operators that apply to fields of scale k.
func (k Scale) Ops() []Op {
	switch k {
	case Categorical:
		return []Op{Is}
	case Numerical:
		return []Op{Between, GreaterThan, LessThan}
	}
	return nil
}

// Op is a quick segment operator.
type Op uint8

// The operators of the product page.
const (
	// Is: the value equals the given one (categorical fields).
	Is Op = iota
	// Between: low <= value <= high, both bounds inclusive (numerical
	// fields); the value is a list [low, high].
	Between
	// GreaterThan: the value is strictly greater (numerical fields).
	GreaterThan
	// LessThan: the value is strictly less (numerical fields).
	LessThan
)

var opNames = [...]string{"is", "between", "greaterThan", "lessThan"}

// String returns "is", "between", "greaterThan", "lessThan" or "Op(N)".
func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", uint8(o))
}

// ParseOp returns the operator named s, ignoring case. The error wraps
// ErrOperator.
func ParseOp(s string) (Op, error) {
	for i, n := range opNames {
		if strings.EqualFold(s, n) {
			return Op(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown operator %q; use is, between, greaterThan or lessThan", ErrOperator, s)
}

// segmentOp is the definition operator that o stands for.
func (o Op) segmentOp() segment.Op {
	switch o {
	case Is:
		return segment.Equals
	case Between:
		return segment.Between
	case GreaterThan:
		return segment.GreaterThan
	case LessThan:
		return segment.LessThan
	}
	return segment.NoOp
}

// CategoricalLimit is the largest number of distinct values an integer
// field may have and still be Categorical. Integer fields with more are
// Numerical. The limit is applied to all customers' values (for a measure,
// at the view's as-of instant), so a field keeps its scale inside any subset.
const CategoricalLimit = 20

// TopValues is how many of the most frequent values statistics keep.
const TopValues = 10

// Field is a field of a quick segment.
type Field struct {
	// Name is "Entity.Attribute": "Customer.Age", "Measures.Spend90d",
	// "ChurnScore.Score". Definitions use it as the predicate's attribute.
	Name string
	// Origin is where the field comes from.
	Origin Origin
	// Entity and Attribute are the two parts of Name.
	Entity, Attribute string
	// DisplayName is the measure's display name, or "".
	DisplayName string
	// Type is the attribute's type, or the measure's (FORMAT.md section 3).
	Type schema.Type
	// Scale is Categorical for strings, booleans and integers with at most
	// CategoricalLimit distinct values; Numerical for other integers,
	// numbers, dates and datetimes.
	Scale Scale
}

// Options configures a Stats. The zero value is ready to use.
type Options struct {
	// MeasureInstants bounds how many as-of instants keep measure
	// statistics: asking for another drops those of the least recently used
	// one. Zero means 4.
	MeasureInstants int
}

// Stats holds the column statistics of one snapshot, computed per field on
// first use and kept until the Stats is dropped. Create one with New when a
// snapshot is loaded and keep it with the snapshot: its statistics are only
// valid for that snapshot, and it must not be used after the snapshot is
// released. A Stats is safe for concurrent use; concurrent first uses of a
// field compute its statistics once.
//
// The statistics of a field hold a sorted copy of its values (8 bytes per
// customer with a value) or its value counts; those of a measure also hold
// the measure's values, for each of the Options.MeasureInstants as-of
// instants kept.
type Stats struct {
	snap *storage.Snapshot
	opts Options

	fields map[string]*fieldRef
	order  []*fieldRef // every field, Profiles, Measures, Intelligence
	names  []string    // of order, for suggestions
	// measureErr is why the schema's measures cannot be used, or nil.
	measureErr error

	mu       sync.Mutex
	cache    map[cacheKey]*entry
	instants []instant // of cached measures, most recently used last
}

// New returns the statistics of snap, computed lazily. It reads the schema
// only; no column is scanned until a field is first used.
func New(snap *storage.Snapshot, opts Options) *Stats {
	if opts.MeasureInstants <= 0 {
		opts.MeasureInstants = 4
	}
	s := &Stats{snap: snap, opts: opts, fields: map[string]*fieldRef{}, cache: map[cacheKey]*entry{}}
	s.resolveFields()
	return s
}

// Snapshot returns the snapshot the statistics describe.
func (s *Stats) Snapshot() *storage.Snapshot { return s.snap }

// At returns a view of the statistics at the as-of instant asOf, the
// instant at which measures are computed (and at which a built definition
// must be evaluated to match an estimate). Profile and prediction fields do
// not depend on it. A View is a small value, safe for concurrent use.
func (s *Stats) At(asOf time.Time) View { return View{s: s, asOf: asOf} }

// View is a Stats at one as-of instant. Its methods take a context, used
// when statistics must first be computed: they return an error wrapping
// ctx.Err() when it is done before that ends.
type View struct {
	s    *Stats
	asOf time.Time
}

// AsOf returns the view's as-of instant.
func (v View) AsOf() time.Time { return v.asOf }

// Stats returns the statistics the view reads.
func (v View) Stats() *Stats { return v.s }

// instant is an as-of instant usable as a map key (time.Time holds a
// location pointer and a monotonic reading).
type instant struct {
	sec  int64
	nsec int32
}

func instantOf(t time.Time) instant { return instant{t.Unix(), int32(t.Nanosecond())} }

type keyKind uint8

const (
	keyColumn  keyKind = iota // a profile or prediction attribute
	keyMeasure                // a measure at an instant
	keyEntity                 // the customer -> row map of a prediction entity
)

type cacheKey struct {
	kind keyKind
	name string
	at   instant
}

// entry is a cached value computed once; ready is closed when val and err
// are set.
type entry struct {
	ready chan struct{}
	val   any
	err   error
}

func isCtxErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

func ctxErr(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("quick: %w", err)
	}
	return nil
}

// get returns the cached value of key, computing it with build on first
// use. Concurrent callers wait for the one computing; a computation
// stopped by its caller's context is not cached, and a waiter whose own
// context is still live computes again.
func (s *Stats) get(ctx context.Context, key cacheKey, build func(context.Context) (any, error)) (any, error) {
	for {
		s.mu.Lock()
		if key.kind == keyMeasure {
			s.touch(key.at)
		}
		e, ok := s.cache[key]
		if !ok {
			e = &entry{ready: make(chan struct{})}
			s.cache[key] = e
			s.mu.Unlock()
			e.val, e.err = build(ctx)
			if e.err != nil && isCtxErr(e.err) {
				s.mu.Lock()
				if s.cache[key] == e {
					delete(s.cache, key)
				}
				s.mu.Unlock()
			}
			close(e.ready)
			return e.val, e.err
		}
		s.mu.Unlock()
		select {
		case <-e.ready:
		case <-ctx.Done():
			return nil, ctxErr(ctx)
		}
		if e.err != nil && isCtxErr(e.err) && ctx.Err() == nil {
			continue
		}
		return e.val, e.err
	}
}

// touch marks the instant as the most recently used for measures and
// drops the measures of the least recently used instants beyond the limit.
// s.mu is held.
func (s *Stats) touch(at instant) {
	for i, x := range s.instants {
		if x == at {
			s.instants = append(append(s.instants[:i:i], s.instants[i+1:]...), at)
			return
		}
	}
	s.instants = append(s.instants, at)
	for len(s.instants) > s.opts.MeasureInstants {
		old := s.instants[0]
		s.instants = s.instants[1:]
		for k := range s.cache {
			if k.kind == keyMeasure && k.at == old {
				delete(s.cache, k)
			}
		}
	}
}
