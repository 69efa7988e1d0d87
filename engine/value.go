package engine

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/segment"
)

// A numeric operand is read twice. For integer, date and datetime columns
// it is the exact rational value of its JSON text, so that an integer
// column compared with 30.5, 9007199254740993.0 or 1e-400 means what it
// says ("compare numerically with any JSON number"). For number columns it
// is the float64 nearest to the text, as a JSON decoder reads it, so that a
// column value written 0.1 equals the value 0.1.
type operand struct {
	r *big.Rat // exact value, for integer, date and datetime columns
	f float64  // nearest float64, for number columns
	// fExact reports that f stands for the operand exactly. It is false
	// only for instants and days converted with ratOperand, whose nearest
	// float is never used for a number column.
	fExact, fAbove bool
}

func numberOperand(n json.Number) (operand, error) {
	x, err := exact.ParseNumber(string(n))
	if err != nil && !errors.Is(err, exact.ErrFloatRange) {
		return operand{}, fmt.Errorf("%w: %w", segment.ErrValue, err)
	}
	return operand{r: x.Rat, f: x.Float, fExact: true}, nil
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

// dateOperand reads YYYY-MM-DD as its day number.
func dateOperand(s string) (operand, error) {
	d, err := exact.ParseDate(s)
	if err != nil {
		return operand{}, fmt.Errorf("%w: %w", segment.ErrValue, err)
	}
	return ratOperand(new(big.Rat).SetInt64(d)), nil
}

// datetimeOperand reads RFC 3339, or YYYY-MM-DD as that day's start in UTC,
// as exact microseconds since the epoch.
func datetimeOperand(s string) (operand, error) {
	t, err := exact.ParseDatetime(s)
	if err != nil {
		return operand{}, fmt.Errorf("%w: %w", segment.ErrValue, err)
	}
	return ratOperand(exact.Micros(t)), nil
}
