package refeval

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// predicate applies node's operator and value to v, a value of type typ
// (nil for null). A predicate on null is false for every operator but
// isNull.
func (ev *evaluator) predicate(typ string, v any, node map[string]any) (bool, error) {
	op, _ := node["operator"].(string)
	value := node["value"]
	ignoreCase, _ := node["ignoreCase"].(bool)
	switch op {
	case "isNull":
		return v == nil, nil
	case "isNotNull":
		return v != nil, nil
	}
	if v == nil {
		return false, nil
	}
	switch op {
	case "equals":
		return equal(typ, v, value, ignoreCase)
	case "notEquals":
		eq, err := equal(typ, v, value, ignoreCase)
		return !eq, err
	case "in", "notIn":
		list, ok := value.([]any)
		if !ok || len(list) == 0 {
			return false, fmt.Errorf("%s needs a non-empty array", op)
		}
		found := false
		for _, x := range list {
			eq, err := equal(typ, v, x, ignoreCase)
			if err != nil {
				return false, err
			}
			found = found || eq
		}
		return found == (op == "in"), nil
	case "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual":
		cmp, err := compareWith(typ, v, value)
		if err != nil {
			return false, err
		}
		switch op {
		case "greaterThan":
			return cmp > 0, nil
		case "greaterThanOrEqual":
			return cmp >= 0, nil
		case "lessThan":
			return cmp < 0, nil
		}
		return cmp <= 0, nil
	case "between":
		pair, ok := value.([]any)
		if !ok || len(pair) != 2 {
			return false, fmt.Errorf("between needs [low, high]")
		}
		lo, err := compareWith(typ, v, pair[0])
		if err != nil {
			return false, err
		}
		hi, err := compareWith(typ, v, pair[1])
		if err != nil {
			return false, err
		}
		return lo >= 0 && hi <= 0, nil
	case "contains", "notContains", "startsWith", "endsWith":
		s, ok1 := v.(string)
		sub, ok2 := value.(string)
		if typ != "string" || !ok1 || !ok2 {
			return false, fmt.Errorf("%s needs a string attribute and value", op)
		}
		if ignoreCase {
			s, sub = fold(s), fold(sub)
		}
		switch op {
		case "contains":
			return strings.Contains(s, sub), nil
		case "notContains":
			return !strings.Contains(s, sub), nil
		case "startsWith":
			return strings.HasPrefix(s, sub), nil
		}
		return strings.HasSuffix(s, sub), nil
	case "isTrue", "isFalse":
		b, ok := v.(bool)
		if !ok {
			return false, fmt.Errorf("%s on %s", op, typ)
		}
		return b == (op == "isTrue"), nil
	case "matches":
		s, ok1 := v.(string)
		pattern, ok2 := value.(string)
		if typ != "string" || !ok1 || !ok2 {
			return false, fmt.Errorf("matches needs a string attribute and value")
		}
		if ignoreCase {
			pattern = "(?i)" + pattern
		}
		re, err := regexp.Compile(pattern)
		if err != nil {
			return false, err
		}
		return re.MatchString(s), nil
	case "anniversaryInLastDays", "anniversaryInNextDays":
		n, ok := value.(json.Number)
		if !ok {
			return false, fmt.Errorf("%s needs a number", op)
		}
		days, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || days <= 0 {
			return false, fmt.Errorf("%s needs a positive integer, not %s", op, n)
		}
		return ev.anniversary(typ, v, days, op == "anniversaryInLastDays")
	case "inLastDays", "inNextDays":
		n, ok := value.(json.Number)
		if !ok {
			return false, fmt.Errorf("%s needs a number", op)
		}
		// The day count and the distances are exact integers: a count of
		// days (as long as the JSON writes it) or of nanoseconds between
		// two instants of years 0000-9999 need not fit 64 bits, and
		// arithmetic that wrapped would lose the window's far end.
		days, ok := new(big.Int).SetString(string(n), 10)
		if !ok || days.Sign() <= 0 {
			return false, fmt.Errorf("%s needs a positive integer, not %s", op, n)
		}
		var dist, span *big.Int // from the as-of instant to v, and the window's length
		switch typ {
		case "date":
			dist, span = big.NewInt(int64(v.(day)-ev.today())), days
		case "datetime":
			dist = new(big.Int).Sub(unixNanos(v.(time.Time)), unixNanos(ev.asOf))
			span = new(big.Int).Mul(days, big.NewInt(int64(24*time.Hour)))
		default:
			return false, fmt.Errorf("%s on %s", op, typ)
		}
		if op == "inLastDays" {
			dist.Neg(dist)
		}
		return dist.Sign() >= 0 && dist.Cmp(span) <= 0, nil
	}
	return false, fmt.Errorf("unknown operator %q", op)
}

// unixNanos returns t as nanoseconds since the epoch, exactly.
func unixNanos(t time.Time) *big.Int {
	ns := new(big.Int).Mul(big.NewInt(t.Unix()), big.NewInt(1e9))
	return ns.Add(ns, big.NewInt(int64(t.Nanosecond())))
}

// equal reports whether the non-null value v of type typ equals the JSON
// value x.
func equal(typ string, v, x any, ignoreCase bool) (bool, error) {
	switch typ {
	case "boolean":
		b, ok := x.(bool)
		if !ok {
			return false, fmt.Errorf("boolean compared with %v", x)
		}
		return v.(bool) == b, nil
	case "string":
		s, ok := x.(string)
		if !ok {
			return false, fmt.Errorf("string compared with %v", x)
		}
		if ignoreCase {
			return fold(v.(string)) == fold(s), nil
		}
		return v.(string) == s, nil
	}
	cmp, err := compareWith(typ, v, x)
	return cmp == 0, err
}

// compareWith orders the non-null value v of type typ against the JSON
// value x: integers exactly, numbers as 64-bit floats, dates by day,
// datetimes by instant, strings by bytes.
func compareWith(typ string, v, x any) (int, error) {
	switch typ {
	case "integer", "number":
		n, ok := x.(json.Number)
		if !ok {
			return 0, fmt.Errorf("%s compared with %v", typ, x)
		}
		if f, isFloat := v.(float64); isFloat {
			// A number is a 64-bit float: the JSON number is read as the
			// nearest float, as a number attribute's own text was.
			g, err := strconv.ParseFloat(string(n), 64)
			if err != nil && !errors.Is(err, strconv.ErrRange) {
				return 0, err
			}
			return cmp.Compare(f, g), nil
		}
		// Integers compare exactly with the number's decimal value:
		// 30 < 30.5 and 2^53 != 2^53+1.
		r, ok := new(big.Rat).SetString(string(n))
		if !ok {
			return 0, fmt.Errorf("bad number %s", n)
		}
		return toRat(v).Cmp(r), nil
	case "string":
		s, ok := x.(string)
		if !ok {
			return 0, fmt.Errorf("string compared with %v", x)
		}
		return strings.Compare(v.(string), s), nil
	case "date":
		s, ok := x.(string)
		if !ok {
			return 0, fmt.Errorf("date compared with %v", x)
		}
		d, err := parseDay(s)
		if err != nil {
			return 0, err
		}
		return cmpOrdered(v.(day), d), nil
	case "datetime":
		s, ok := x.(string)
		if !ok {
			return 0, fmt.Errorf("datetime compared with %v", x)
		}
		t, err := parseInstant(s)
		if err != nil {
			return 0, err
		}
		return v.(time.Time).Compare(t), nil
	}
	return 0, fmt.Errorf("cannot compare values of type %q", typ)
}

// parseInstant reads a datetime value of a definition: RFC 3339, or
// YYYY-MM-DD for that day's start in UTC.
func parseInstant(s string) (time.Time, error) {
	if len(s) == len(time.DateOnly) {
		return time.Parse(time.DateOnly, s)
	}
	return time.Parse(time.RFC3339Nano, s)
}

// fold maps every rune of s to the smallest rune of its simple case
// folding orbit, so that two strings are equal under simple Unicode case
// folding exactly when their folds are equal.
func fold(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(foldRune(r))
	}
	return b.String()
}

func foldRune(r rune) rune {
	smallest := r
	for x := unicode.SimpleFold(r); x != r; x = unicode.SimpleFold(x) {
		smallest = min(smallest, x)
	}
	return smallest
}
