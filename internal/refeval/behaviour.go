package refeval

import (
	"encoding/json"
	"fmt"
	"math/big"
	"strconv"
	"time"
)

// The behavioural conditions, evaluated row by row from FORMAT.md's words:
// calendar days in the definition's time zone, anniversaries year by
// year, sequences pair by pair, windows by their ends.

// today returns the as-of instant's calendar day in the definition's time
// zone.
func (ev *evaluator) today() day { return localDay(ev.asOf, ev.loc) }

// localDay returns t's calendar day in loc.
func localDay(t time.Time, loc *time.Location) day {
	l := t.In(loc)
	return day(time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC).Unix() / 86400)
}

// dateOf returns the calendar date of a date or datetime value: a
// datetime's in the definition's time zone.
func (ev *evaluator) dateOf(typ string, v any) (time.Time, error) {
	switch typ {
	case "date":
		return time.Unix(int64(v.(day))*86400, 0).UTC(), nil
	case "datetime":
		l := v.(time.Time).In(ev.loc)
		return time.Date(l.Year(), l.Month(), l.Day(), 0, 0, 0, 0, time.UTC), nil
	}
	return time.Time{}, fmt.Errorf("a calendar date of a %s value", typ)
}

// anniversary reports whether the month and day of v, in some year, fall
// in the n days up to today (last) or from today, 29 February counting as
// 28 February in the years without it.
func (ev *evaluator) anniversary(typ string, v any, n int64, last bool) (bool, error) {
	d, err := ev.dateOf(typ, v)
	if err != nil {
		return false, err
	}
	today := time.Unix(int64(ev.today())*86400, 0).UTC()
	// A window of more than a year holds every anniversary; looking at
	// the years around a shorter one is enough.
	n = min(n, 400)
	lo, hi := today, today.AddDate(0, 0, int(n))
	if last {
		lo, hi = today.AddDate(0, 0, -int(n)), today
	}
	for y := lo.Year() - 1; y <= hi.Year()+1; y++ {
		a := time.Date(y, d.Month(), d.Day(), 0, 0, 0, 0, time.UTC)
		if a.Month() != d.Month() { // 29 February in a year without one
			a = time.Date(y, 2, 28, 0, 0, 0, 0, time.UTC)
		}
		if !a.Before(lo) && !a.After(hi) {
			return true, nil
		}
	}
	return false, nil
}

// periodOf returns the calendar period of a date or datetime value as a
// comparable key.
func (ev *evaluator) periodOf(typ string, v any, period string) (string, error) {
	d, err := ev.dateOf(typ, v)
	if err != nil {
		return "", err
	}
	switch period {
	case "day":
		return d.Format(time.DateOnly), nil
	case "week":
		y, w := d.ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w), nil
	case "month":
		return d.Format("2006-01"), nil
	}
	return "", fmt.Errorf("unknown period %q", period)
}

// timeOf returns the value of attribute attr of row r as a day or an
// instant, and whether it is not null.
func timeOf(e *entity, attr string, r int) (any, bool) {
	v := e.rows[r][attr]
	return v, v != nil
}

// after reports whether b is later than a, and by at most n days: n
// calendar days for dates, n times 24 hours for datetimes.
func after(a, b any, n int64) bool {
	var diff, span *big.Int
	switch a := a.(type) {
	case day:
		diff, span = big.NewInt(int64(b.(day)-a)), big.NewInt(n)
	case time.Time:
		diff = big.NewInt(b.(time.Time).UnixMicro() - a.UnixMicro())
		span = new(big.Int).Mul(big.NewInt(n), big.NewInt(86400e6))
	default:
		return false
	}
	return diff.Sign() > 0 && diff.Cmp(span) <= 0
}

func attrName(v any) (string, error) {
	_, attr, err := splitAttribute(v)
	return attr, err
}

func daysOf(m map[string]any, key string) (int64, error) {
	n, ok := m[key].(json.Number)
	if !ok {
		return 0, fmt.Errorf("%s needs a number", key)
	}
	d, err := strconv.ParseInt(string(n), 10, 64)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s needs a positive integer, not %s", key, n)
	}
	return d, nil
}

// sequence reports whether some pair of rows (a, b) of rows has a
// satisfying first, b then, and b's time later than a's by at most
// withinDays.
func (ev *evaluator) sequence(e *entity, seq map[string]any, rows []int) (bool, error) {
	attr, err := attrName(seq["attribute"])
	if err != nil {
		return false, err
	}
	n, err := daysOf(seq, "withinDays")
	if err != nil {
		return false, err
	}
	first, _ := seq["first"].(map[string]any)
	then, _ := seq["then"].(map[string]any)
	for _, a := range rows {
		ta, ok := timeOf(e, attr, a)
		if !ok {
			continue
		}
		if ok, err := ev.row(e, first, a); err != nil || !ok {
			if err != nil {
				return false, err
			}
			continue
		}
		for _, b := range rows {
			tb, ok := timeOf(e, attr, b)
			if !ok || b == a || !after(ta, tb, n) {
				continue
			}
			ok, err := ev.row(e, then, b)
			if err != nil {
				return false, err
			}
			if ok {
				return true, nil
			}
		}
	}
	return false, nil
}

// change reports stopped (or, with stopped false, started): rows in the
// priorDays before the last lastDays and none in the last lastDays, or the
// reverse.
func (ev *evaluator) change(e *entity, w map[string]any, rows []int, stopped bool) (bool, error) {
	attr, err := attrName(w["attribute"])
	if err != nil {
		return false, err
	}
	last, err := daysOf(w, "lastDays")
	if err != nil {
		return false, err
	}
	prior, err := daysOf(w, "priorDays")
	if err != nil {
		return false, err
	}
	var inPrior, inLast bool
	for _, r := range rows {
		v, ok := timeOf(e, attr, r)
		if !ok {
			continue
		}
		// ago is how far before the as-of instant v lies, and unit a day,
		// in days for a date and in nanoseconds for a datetime: the as-of
		// instant may fall between two microseconds.
		var ago, unit *big.Int
		switch v := v.(type) {
		case day:
			ago, unit = big.NewInt(int64(ev.today()-v)), big.NewInt(1)
		case time.Time:
			ago, unit = new(big.Int).Sub(unixNanos(ev.asOf), unixNanos(v)), big.NewInt(86400e9)
		default:
			return false, fmt.Errorf("%v is not a date or datetime", v)
		}
		lastEnd := new(big.Int).Mul(big.NewInt(last), unit)
		priorEnd := new(big.Int).Mul(new(big.Int).Add(big.NewInt(last), big.NewInt(prior)), unit)
		switch {
		case ago.Sign() < 0: // after the as-of instant
		case ago.Cmp(lastEnd) <= 0:
			inLast = true
		case ago.Cmp(priorEnd) <= 0:
			inPrior = true
		}
	}
	if stopped {
		return inPrior && !inLast, nil
	}
	return inLast && !inPrior, nil
}
