package engine

import (
	"cmp"
	"math"
	"math/big"
	"slices"
	"time"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// The behavioural conditions of FORMAT.md section 6: anniversaries and the
// windows of stopped and started as kernels of ranges, calendar periods as
// a derived column that countDistinct counts, and sequences as a node of
// their own.

// maxAnniversaryDays bounds an anniversary's window: a window of 366 days
// or more holds every month and day, so a longer one means the same.
const maxAnniversaryDays = 366

// leapDays are the days before each month (1 to 12) of a leap year.
var leapDays = [13]int{0, 0, 31, 60, 91, 121, 152, 182, 213, 244, 274, 305, 335}

func isLeap(y int) bool { return exact.DaysIn(y, 2) == 29 }

// anniversaryRanges returns the dates (days) or datetimes (microseconds)
// whose anniversary falls in the n days up to today (last) or from today:
// the values whose month and day, in the time zone loc for a datetime,
// fall in the window in some year, 29 February standing for 28 February in
// the years without one.
func anniversaryRanges(typ schema.Type, today, n int64, last bool, loc *time.Location) []column.IRange {
	n = min(n, maxAnniversaryDays)
	lo, hi := today, today+n
	if last {
		lo, hi = today-n, today
	}
	// hit marks the month-days whose anniversary is in the window, by
	// their position in a leap year, 1 (1 January) to 366.
	var hit [367]bool
	for w := lo; w <= hi; w++ {
		y, m, d := exact.DateOf(w)
		hit[leapDays[m]+d] = true
		if m == 2 && d == 28 && !isLeap(y) {
			hit[60] = true // 29 February's anniversary in a year without one
		}
	}
	type run struct{ a, b int }
	var runs []run
	for p := 1; p <= 366; p++ {
		if !hit[p] {
			continue
		}
		if k := len(runs) - 1; k >= 0 && runs[k].b == p-1 {
			runs[k].b = p
		} else {
			runs = append(runs, run{p, p})
		}
	}
	// The years the values may have: a datetime's local year may be one
	// off its year in UTC.
	first, lastYear := 0, 9999
	if typ == schema.Datetime {
		first, lastYear = -1, 10000
	}
	var out []column.IRange
	for y := first; y <= lastYear; y++ {
		jan1 := exact.CivilDay(y, 1, 1)
		day := func(p int) int64 { // the day of position p in year y
			if !isLeap(y) && p > 60 {
				p--
			}
			return jan1 + int64(p) - 1
		}
		for _, r := range runs {
			a, b := r.a, r.b
			if !isLeap(y) {
				if a == 60 && b == 60 {
					continue
				}
				if a == 60 {
					a = 61
				}
				if b == 60 {
					b = 59
				}
			}
			start, end := day(a), day(b)
			if typ == schema.Date {
				out = append(out, column.IRange{Lo: start, Hi: end})
				continue
			}
			out = append(out, column.IRange{Lo: dayStart(start, loc), Hi: dayStart(end+1, loc) - 1})
		}
	}
	return column.MergeRanges(out)
}

// dayStart returns the first instant, in microseconds, whose calendar day
// in loc is d or later: local midnight, or the first instant after a gap
// that skips it.
func dayStart(d int64, loc *time.Location) int64 {
	y, m, dd := exact.DateOf(d)
	t := time.Date(y, time.Month(m), dd, 0, 0, 0, 0, loc)
	before := func(t time.Time) bool { return exact.LocalDay(t, loc) < d }
	if !before(t) && before(t.Add(-time.Microsecond)) {
		return t.UnixMicro()
	}
	// Midnight fell in a transition: search the instants a day around it.
	lo, hi := t.Add(-36*time.Hour).UnixMicro(), t.Add(36*time.Hour).UnixMicro()
	for lo < hi {
		mid := lo + (hi-lo)/2
		if before(time.UnixMicro(mid)) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo
}

// windowKernel returns the kernel of the window w at asOf: of inLastDays
// and inNextDays, and of stopped and started (days before the as-of
// instant, negative for days after it).
func (p *predicate) windowKernel(asOf time.Time, w window) (*column.Kernel, error) {
	var now, unit *big.Rat
	switch p.typ {
	case schema.Date:
		now, unit = big.NewRat(exact.LocalDay(asOf, p.loc), 1), big.NewRat(1, 1)
	case schema.Datetime:
		now, unit = exact.Micros(asOf), big.NewRat(exact.DayMicros, 1)
	default:
		return nil, p.errType()
	}
	ago := func(days int64) *big.Rat {
		return new(big.Rat).Sub(now, new(big.Rat).Mul(big.NewRat(days, 1), unit))
	}
	k := &column.Kernel{Kind: column.KindInts}
	if lo, hi, ok := exact.IntRange(ago(w.far), false, ago(w.near), w.nearOpen); ok {
		k.IR = []column.IRange{{Lo: lo, Hi: hi}}
	} else {
		k.Kind = column.KindNone
	}
	return k, nil
}

// days reads a positive whole number of days that Validate accepted.
func (c *compiler) days(path string, v segment.Value) (int64, bool) {
	n, err := exact.Days(string(v.Num))
	if v.Kind != segment.NumberValue || err != nil {
		c.fail(path, "%s is not a positive whole number of days", v)
		return 0, false
	}
	return n, true
}

// timeColumn resolves the date or datetime attribute ref of table t.
func (c *compiler) timeColumn(path string, t *storage.Table, ref string) (*storage.Column, *column.Vec, bool) {
	entity, attr, ok := splitAttr(ref)
	if !ok || entity != t.Entity.Name {
		c.fail(path, "%q is not an attribute of %s", ref, t.Entity.Name)
		return nil, nil, false
	}
	col, v, ok := c.column(t, attr)
	if !ok || !col.Attr.Type.Temporal() {
		c.fail(path, "%q is not a date or datetime attribute of %s", ref, t.Entity.Name)
		return nil, nil, false
	}
	return col, v, true
}

// change compiles stopped and started: a related condition over the
// rows in the prior window and one over the rows in the last days.
func (c *compiler) change(path string, n *segment.Related, t *storage.Table, l *storage.Links) node {
	ch := n.Change
	wp := path + "." + ch.Trend.String()
	col, v, ok := c.timeColumn(wp+".attribute", t, ch.Attribute)
	if !ok {
		return constNode{}
	}
	last, ok1 := c.days(wp+".lastDays", ch.LastDays)
	prior, ok2 := c.days(wp+".priorDays", ch.PriorDays)
	if !ok1 || !ok2 {
		return constNode{}
	}
	var where rowNode
	if n.Where != nil {
		where = c.rows(path+".where", t, n.Where)
	}
	side := func(w window, match segment.Match) node {
		rp := rowPred{v: v, narrow: column.Narrow(col, v), p: newWindow(col.Attr.Type, w, c.loc)}
		var rows rowNode = rp
		if where != nil {
			rows = rowAnd{[]rowNode{where, rp}}
		}
		return &relatedNode{links: l, rows: t.NumRows, where: rows, match: match}
	}
	earlier := window{far: satAdd(last, prior), near: last, nearOpen: true}
	recent := window{far: last}
	if ch.Trend == segment.Stopped {
		return andNode{[]node{side(earlier, segment.MatchAny), side(recent, segment.MatchNone)}}
	}
	return andNode{[]node{side(recent, segment.MatchAny), side(earlier, segment.MatchNone)}}
}

// satAdd adds two day counts, saturating: a window past year 9999 holds
// the same rows as one that ends there.
func satAdd(a, b int64) int64 {
	if a > math.MaxInt64-b {
		return math.MaxInt64
	}
	return a + b
}

// sequenceNode is a related condition's sequence: a row of first, then a
// row of then later by at, at most within later, both rows of where.
type sequenceNode struct {
	links       *storage.Links
	rows        int
	where       rowNode // nil: every row
	first, then rowNode
	at          *column.Vec // date (days) or datetime (microseconds)
	within      int64       // in at's units
}

func (c *compiler) sequence(path string, n *segment.Related, t *storage.Table, l *storage.Links) node {
	s := n.Sequence
	sp := path + ".sequence"
	col, v, ok := c.timeColumn(sp+".attribute", t, s.Attribute)
	if !ok {
		return constNode{}
	}
	days, ok := c.days(sp+".withinDays", s.WithinDays)
	if !ok {
		return constNode{}
	}
	within := days
	if col.Attr.Type == schema.Datetime {
		within = math.MaxInt64
		if days < math.MaxInt64/exact.DayMicros {
			within = days * exact.DayMicros
		}
	}
	sn := &sequenceNode{links: l, rows: t.NumRows, at: v, within: within,
		first: c.rows(sp+".first", t, s.First), then: c.rows(sp+".then", t, s.Then)}
	if n.Where != nil {
		sn.where = c.rows(path+".where", t, n.Where)
	}
	return sn
}

func (s *sequenceNode) eval(ec *evalCtx) (column.Bitset, error) {
	firstRows, err := s.first.eval(ec, s.rows)
	if err != nil {
		return nil, err
	}
	thenRows, err := s.then.eval(ec, s.rows)
	if err != nil {
		return nil, err
	}
	if s.where != nil {
		w, err := s.where.eval(ec, s.rows)
		if err != nil {
			return nil, err
		}
		firstRows.And(w)
		thenRows.And(w)
	}
	either := firstRows.Clone()
	either.Or(thenRows)
	out := column.NewBitset(ec.n)
	var events []event
	if starts := s.links.Starts(); starts != nil {
		// Rows clustered by customer: each customer's events sorted
		// alone, in a reused buffer, customers split across the cores
		// at word boundaries of out.
		parts := 1
		if ec.par > 1 && s.rows >= parallelRows {
			parts = ec.par
		}
		err := runParts(parts, func(k int) error {
			lo, hi := ec.n*k/parts&^63, ec.n*(k+1)/parts&^63
			if k == parts-1 {
				hi = ec.n
			}
			var events []event
			for c := lo; c < hi; c++ {
				first, last := int(starts[c]), int(starts[c+1])
				if first == last || !either.AnyIn(first, last) {
					continue
				}
				events = events[:0]
				for r := first; r < last; r++ {
					if either.Has(r) && s.at.IsValid(r) {
						events = append(events, event{int32(c), s.time(r), firstRows.Has(r), thenRows.Has(r)})
					}
				}
				if s.pairs(events) {
					out.Set(c)
				}
				if c&4095 == 4095 {
					if err := ec.err(); err != nil {
						return err
					}
				}
			}
			return ec.err()
		})
		return out, err
	}
	cust := s.links.Customer
	either.ForEach(func(r int) {
		if r < s.rows && s.at.IsValid(r) && cust[r] >= 0 {
			events = append(events, event{cust[r], s.time(r), firstRows.Has(r), thenRows.Has(r)})
		}
	})
	if err := ec.err(); err != nil {
		return nil, err
	}
	slices.SortFunc(events, func(a, b event) int { return cmp.Compare(a.c, b.c) })
	for i := 0; i < len(events); {
		j := i
		for j < len(events) && events[j].c == events[i].c {
			j++
		}
		if s.pairs(events[i:j]) {
			out.Set(int(events[i].c))
		}
		i = j
	}
	return out, nil
}

// event is a row of a sequence's first or then, with its time.
type event struct {
	c           int32
	t           int64
	first, then bool
}

func (s *sequenceNode) time(r int) int64 {
	if s.at.I32 != nil {
		return int64(s.at.I32[r])
	}
	return s.at.I64[r]
}

// pairs reports whether one customer's events hold a first row and a then
// row strictly later, at most within after it. It sorts events by time.
func (s *sequenceNode) pairs(events []event) bool {
	byTime := func(a, b event) int { return cmp.Compare(a.t, b.t) }
	if !slices.IsSortedFunc(events, byTime) {
		slices.SortFunc(events, byTime)
	}
	seen, latest := false, int64(0) // the latest time of a first row so far
	for i := 0; i < len(events); {
		// The rows at one time: a then row pairs with a first row
		// strictly earlier, never with one at the same time.
		j, firstHere := i, false
		for ; j < len(events) && events[j].t == events[i].t; j++ {
			if events[j].then && seen && events[j].t-latest <= s.within {
				return true
			}
			firstHere = firstHere || events[j].first
		}
		if firstHere {
			seen, latest = true, events[i].t
		}
		i = j
	}
	return false
}

// periodVec returns the calendar period of every value of a date or
// datetime column, in the time zone loc: the day, the ISO week (Monday to
// Sunday) or the month, numbered from 1970, with v's nulls.
func periodVec(v *column.Vec, typ schema.Type, period segment.Period, loc *time.Location) *column.Vec {
	out := &column.Vec{N: v.N, Type: schema.Integer, Valid: v.Valid, I32: make([]int32, v.N)}
	var zone struct {
		start, end int64 // the microseconds where loc's offset is off
		off        int64 // in seconds
	}
	zone.start, zone.end = 1, 0
	lo, hi := int64(math.MaxInt64), int64(math.MinInt64) // the days (or weeks) of the values
	for i := range v.N {
		if !v.IsValid(i) {
			continue
		}
		var d int64
		if typ == schema.Date {
			d = int64(v.I32[i])
		} else {
			us := v.I64[i]
			if us < zone.start || us >= zone.end {
				t := time.UnixMicro(us).In(loc)
				_, off := t.Zone()
				s, e := t.ZoneBounds()
				zone.off, zone.start, zone.end = int64(off), math.MinInt64, math.MaxInt64
				if !s.IsZero() {
					zone.start = s.UnixMicro()
				}
				if !e.IsZero() {
					zone.end = e.UnixMicro()
				}
			}
			d = exact.FloorDiv(exact.FloorDiv(us, 1_000_000)+zone.off, 86400)
		}
		if period == segment.Week {
			d = exact.FloorDiv(d+3, 7) // 1970-01-01 is a Thursday
		}
		out.I32[i] = int32(d)
		lo, hi = min(lo, d), max(hi, d)
	}
	if period == segment.Month && lo <= hi {
		// Days to months through a table of the days the values span,
		// when it is small (a few years of dates), else day by day.
		var table []int32
		if hi-lo < 1<<20 {
			table = make([]int32, hi-lo+1)
			for d := lo; d <= hi; d++ {
				y, m, _ := exact.DateOf(d)
				table[d-lo] = int32(y*12 + m - 1)
			}
		}
		for i, d := range out.I32 {
			if !v.IsValid(i) {
				continue
			}
			if table != nil {
				out.I32[i] = table[int64(d)-lo]
			} else {
				y, m, _ := exact.DateOf(int64(d))
				out.I32[i] = int32(y*12 + m - 1)
			}
		}
	}
	return out
}
