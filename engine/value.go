package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/segment"
)

// A numeric operand is kept as an exact rational so that comparisons with
// integer, date and datetime columns are exact: an integer column compared
// with 30.5, or with 9007199254740993, means what it says. A JSON number
// written with a fraction or an exponent denotes the float64 nearest to its
// text, as a JSON decoder reads it; one written as plain digits is the
// integer itself.
type operand struct {
	r *big.Rat // exact value, for integer, date and datetime columns
	f float64  // nearest float64, for number columns
	// fExact reports f == r; when false, fAbove reports f > r.
	fExact, fAbove bool
}

func numberOperand(n json.Number) (operand, error) {
	s := string(n)
	var r big.Rat
	if strings.ContainsAny(s, ".eE") {
		f, err := n.Float64()
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return operand{}, fmt.Errorf("%w: %q is not a finite number", segment.ErrValue, s)
		}
		r.SetFloat64(f)
		return operand{r: &r, f: f, fExact: true}, nil
	}
	if _, ok := r.SetString(s); !ok {
		return operand{}, fmt.Errorf("%w: %q is not a number", segment.ErrValue, s)
	}
	return ratOperand(&r), nil
}

func ratOperand(r *big.Rat) operand {
	f, exact := r.Float64()
	o := operand{r: r, f: f, fExact: exact}
	if !exact {
		var fr big.Rat
		if !math.IsInf(f, 0) {
			fr.SetFloat64(f)
			o.fAbove = fr.Cmp(r) > 0
		} else {
			o.fAbove = f > 0
		}
	}
	return o
}

const dayMicros int64 = 86400 * 1_000_000

// dateOperand parses YYYY-MM-DD into days since 1970-01-01.
func dateOperand(s string) (operand, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return operand{}, fmt.Errorf("%w: %q is not a date (YYYY-MM-DD)", segment.ErrValue, s)
	}
	return ratOperand(new(big.Rat).SetInt64(floorDiv(t.Unix(), 86400))), nil
}

// datetimeOperand parses RFC 3339, or YYYY-MM-DD as that day's start in UTC,
// into exact microseconds since the epoch.
func datetimeOperand(s string) (operand, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		var err2 error
		t, err2 = time.Parse(time.DateOnly, s)
		if err2 != nil {
			return operand{}, fmt.Errorf("%w: %q is not an RFC 3339 datetime or a YYYY-MM-DD date", segment.ErrValue, s)
		}
	}
	return ratOperand(instantMicros(t)), nil
}

// instantMicros returns t as exact microseconds since the epoch.
func instantMicros(t time.Time) *big.Rat {
	ns := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9))
	ns.Add(ns, big.NewInt(int64(t.Nanosecond())))
	return new(big.Rat).SetFrac(ns, big.NewInt(1000))
}

// utcDay returns the calendar day of t in UTC as days since the epoch.
func utcDay(t time.Time) int64 { return floorDiv(t.Unix(), 86400) }

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

// ceilInt returns the smallest integer >= r, and floorInt the largest <= r,
// each clamped to [math.MinInt64, math.MaxInt64]. The flags say whether r
// was below or above that range.
func ceilInt(r *big.Rat) (v int64, below, above bool) {
	q := new(big.Int).Quo(r.Num(), r.Denom()) // truncates toward zero
	if r.Sign() > 0 && !r.IsInt() {
		q.Add(q, big.NewInt(1))
	}
	return clampInt(q)
}

func floorInt(r *big.Rat) (v int64, below, above bool) {
	q := new(big.Int).Quo(r.Num(), r.Denom())
	if r.Sign() < 0 && !r.IsInt() {
		q.Sub(q, big.NewInt(1))
	}
	return clampInt(q)
}

func clampInt(q *big.Int) (int64, bool, bool) {
	switch {
	case q.IsInt64():
		return q.Int64(), false, false
	case q.Sign() < 0:
		return math.MinInt64, true, false
	default:
		return math.MaxInt64, false, true
	}
}

func addRat(r *big.Rat, d int64) *big.Rat { return new(big.Rat).Add(r, new(big.Rat).SetInt64(d)) }

// holdsRat evaluates a numeric predicate on one exact value (an integer sum
// beyond int64). Comparisons are exact, as for any integer.
func (p *predicate) holdsRat(x *big.Rat) bool {
	cmpTo := func(v segment.Value) (int, bool) {
		if v.Kind != segment.NumberValue {
			return 0, false
		}
		o, err := numberOperand(v.Num)
		if err != nil {
			return 0, false
		}
		return x.Cmp(o.r), true
	}
	switch p.op {
	case segment.IsNull:
		return false
	case segment.IsNotNull:
		return true
	case segment.Equals, segment.NotEquals, segment.GreaterThan, segment.GreaterThanOrEqual,
		segment.LessThan, segment.LessThanOrEqual:
		c, ok := cmpTo(p.value)
		if !ok {
			return false
		}
		switch p.op {
		case segment.Equals:
			return c == 0
		case segment.NotEquals:
			return c != 0
		case segment.GreaterThan:
			return c > 0
		case segment.GreaterThanOrEqual:
			return c >= 0
		case segment.LessThan:
			return c < 0
		default:
			return c <= 0
		}
	case segment.In, segment.NotIn:
		found := false
		for _, v := range p.value.List {
			if c, ok := cmpTo(v); ok && c == 0 {
				found = true
			}
		}
		return found == (p.op == segment.In)
	case segment.Between:
		if len(p.value.List) != 2 {
			return false
		}
		lo, ok1 := cmpTo(p.value.List[0])
		hi, ok2 := cmpTo(p.value.List[1])
		return ok1 && ok2 && lo >= 0 && hi <= 0
	}
	return false
}
