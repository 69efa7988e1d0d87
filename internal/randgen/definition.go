package randgen

import (
	"encoding/json"
	"fmt"
	"math/big"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const maxDepth = 4

// timeZones are the time zones definitions may name: far from UTC on
// either side, with half and quarter hours, with and without daylight
// saving time, and with a day skipped (Pacific/Apia, 2011-12-30).
var timeZones = []string{"UTC", "America/New_York", "Asia/Kolkata", "Asia/Kathmandu", "Pacific/Kiritimati",
	"Pacific/Apia", "America/St_Johns", "Australia/Lord_Howe", "Europe/London", "Pacific/Pago_Pago"}

type defGen struct {
	r    *rand.Rand
	info *Info
}

// Definition returns a random valid segment definition over the directory
// info describes, as JSON.
func Definition(r *rand.Rand, info *Info) []byte {
	g := &defGen{r: r, info: info}
	n := 1 + r.IntN(4)
	groups := make([]any, 0, n)
	for i := range n {
		grp := map[string]any{"condition": g.cond(1)}
		if i > 0 {
			grp["setOperator"] = pick(r, "union", "intersect", "except")
		}
		groups = append(groups, grp)
	}
	def := map[string]any{
		"name":   "Random" + strconv.Itoa(r.IntN(1000000)),
		"type":   "dynamic",
		"groups": groups,
	}
	if r.IntN(8) == 0 {
		def["timeZone"] = pick(r, timeZones...)
	}
	return marshal(def)
}

// AsOf returns an as-of instant for evaluating definitions over the
// directory info describes: mostly the instant its data clusters around,
// sometimes a midnight UTC or a nearby instant, sometimes expressed in a
// non-UTC offset.
func AsOf(r *rand.Rand, info *Info) time.Time {
	u := info.AsOf.UTC()
	today := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
	var t time.Time
	switch x := r.IntN(20); {
	case x < 10:
		t = info.AsOf
	case x < 13:
		t = today
	case x < 15:
		t = today.AddDate(0, 0, 1)
	case x < 17:
		t = info.AsOf.Add(time.Duration(r.IntN(7201)-3600) * time.Second)
	default:
		t = today.Add(time.Duration(r.IntN(6*86400)-3*86400) * time.Second)
	}
	if r.IntN(5) == 0 {
		t = t.In(time.FixedZone("", []int{-10 * 3600, -3 * 3600, 5*3600 + 1800, 13 * 3600}[r.IntN(4)]))
	}
	return t
}

func marshal(v any) []byte {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("BUG: randgen: " + err.Error())
	}
	return []byte(strings.TrimSpace(b.String()))
}

func pick[T any](r *rand.Rand, xs ...T) T { return xs[r.IntN(len(xs))] }

// cond returns a condition over customers at nesting depth depth.
func (g *defGen) cond(depth int) map[string]any {
	r := g.r
	if depth < maxDepth && r.IntN(10) < 4 {
		switch r.IntN(3) {
		case 0, 1:
			n := 1 + r.IntN(3)
			list := make([]any, n)
			for i := range list {
				list[i] = g.cond(depth + 1)
			}
			return map[string]any{pick(r, "and", "or"): list}
		default:
			return map[string]any{"not": g.cond(depth + 1)}
		}
	}
	related := g.info.Entities[1:]
	if len(g.info.Segments) > 0 && r.IntN(25) == 0 {
		return map[string]any{"segment": pick(r, g.info.Segments...)}
	}
	switch x := r.IntN(20); {
	case x < 7:
		cust := g.info.Entities[0]
		return g.predicate(cust.Name, pick(r, cust.Attrs...))
	case x < 10 && len(g.info.Measures) > 0:
		m := pick(r, g.info.Measures...)
		return g.measurePredicate(m)
	case x < 13:
		// Shorthand: only for entities with a single path.
		var unique []*Entity
		for _, e := range related {
			if len(e.Paths) == 1 {
				unique = append(unique, e)
			}
		}
		e := pick(r, unique...)
		return g.predicate(e.Name, pick(r, e.Attrs...))
	}
	return g.related(pick(r, related...))
}

// related returns a related condition over e's rows.
func (g *defGen) related(e *Entity) map[string]any {
	r := g.r
	node := map[string]any{"related": e.Name}
	if len(e.Paths) > 1 || r.IntN(4) == 0 {
		node["path"] = pick(r, e.Paths...)
	}
	if r.IntN(5) > 0 {
		node["where"] = g.rowCond(e, 1)
	}
	if times := temporalAttrs(e); len(times) > 0 && !g.info.NoBehaviour && r.IntN(6) == 0 {
		at := e.Name + "." + pick(r, times...).Name
		days := func() json.Number {
			if r.IntN(2) == 0 {
				return json.Number(strconv.Itoa(pick(r, relativeDays...)))
			}
			return json.Number(strconv.Itoa(1 + r.IntN(120)))
		}
		switch r.IntN(3) {
		case 0:
			node["sequence"] = map[string]any{"attribute": at, "first": g.rowCond(e, 2), "then": g.rowCond(e, 2), "withinDays": days()}
		default:
			node[pick(r, "stopped", "started")] = map[string]any{"attribute": at, "lastDays": days(), "priorDays": days()}
		}
		return node
	}
	if r.IntN(2) == 0 {
		if m := r.IntN(4); m > 0 {
			node["match"] = []string{"", "any", "all", "none"}[m]
		}
		return node
	}
	fn, src := g.aggregateFunc(e, false)
	agg := map[string]any{"function": fn}
	if src != nil {
		agg["attribute"] = e.Name + "." + src.Name
	}
	if fn == "countDistinct" && (src.Type == "date" || src.Type == "datetime") && !g.info.NoBehaviour && r.IntN(2) == 0 {
		agg["period"] = pick(r, "day", "week", "month")
	}
	node["aggregate"] = agg
	op, value := g.operatorValue(aggregateAttr(fn, src))
	node["operator"] = op
	if value != nil {
		node["value"] = value
	}
	return node
}

// aggregateFunc picks an aggregate function and the attribute of e it
// applies to (nil for count). Measures may also use first and last.
func (g *defGen) aggregateFunc(e *Entity, measure bool) (string, *Attr) {
	r := g.r
	fns := []string{"count", "countDistinct", "sum", "avg", "min", "max"}
	if measure {
		fns = append(fns, "first", "last")
	}
	for {
		fn := pick(r, fns...)
		var ok []*Attr
		for _, a := range e.Attrs {
			switch fn {
			case "count":
				return fn, nil
			case "countDistinct", "first", "last":
				ok = append(ok, a)
			case "sum", "avg":
				if (a.Type == "integer" || a.Type == "number") && !a.Wide {
					ok = append(ok, a)
				}
			case "min", "max":
				if a.Type != "string" && a.Type != "boolean" && !a.Wide {
					ok = append(ok, a)
				}
			}
		}
		if len(ok) > 0 {
			return fn, pick(r, ok...)
		}
	}
}

// aggregateAttr describes an aggregate's result as an attribute, so that
// the operator and value generators apply to it.
func aggregateAttr(fn string, src *Attr) *Attr {
	switch fn {
	case "count", "countDistinct":
		return &Attr{Name: fn, Type: "integer", Values: []string{"0", "1", "2", "3", "5"}}
	case "sum", "avg":
		vals := []string{"0", "1", "2", "3"}
		vals = append(vals, src.Values...)
		return &Attr{Name: fn, Type: "number", Values: vals}
	}
	return src
}

// rowCond returns a condition over the rows of e, for a where.
func (g *defGen) rowCond(e *Entity, depth int) map[string]any {
	r := g.r
	if depth < maxDepth-1 && r.IntN(10) < 4 {
		switch r.IntN(3) {
		case 0, 1:
			n := 1 + r.IntN(3)
			list := make([]any, n)
			for i := range list {
				list[i] = g.rowCond(e, depth+1)
			}
			return map[string]any{pick(r, "and", "or"): list}
		default:
			return map[string]any{"not": g.rowCond(e, depth+1)}
		}
	}
	return g.predicate(e.Name, pick(r, e.Attrs...))
}

func (g *defGen) measurePredicate(m *Measure) map[string]any {
	var a *Attr
	switch m.Func {
	case "count", "countDistinct", "sum", "avg":
		a = aggregateAttr(m.Func, m.Source)
	default:
		a = m.Source
	}
	p := map[string]any{"attribute": "Measures." + m.Name}
	g.fillPredicate(p, &Attr{Name: m.Name, Type: m.Type, Values: a.Values})
	return p
}

// predicate returns a predicate on attribute a of the entity named entity.
func (g *defGen) predicate(entity string, a *Attr) map[string]any {
	p := map[string]any{"attribute": entity + "." + a.Name}
	g.fillPredicate(p, a)
	return p
}

func (g *defGen) fillPredicate(p map[string]any, a *Attr) {
	op, value := g.operatorValue(a)
	p["operator"] = op
	if value != nil {
		p["value"] = value
	}
	if a.Type == "string" && g.r.IntN(2) == 0 {
		switch op {
		case "equals", "notEquals", "in", "notIn", "contains", "notContains", "startsWith", "endsWith", "matches":
			p["ignoreCase"] = true
		}
	}
}

var operatorsByType = map[string][]string{
	"integer":  {"equals", "notEquals", "in", "notIn", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual", "between", "isNull", "isNotNull"},
	"number":   {"equals", "notEquals", "in", "notIn", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual", "between", "isNull", "isNotNull"},
	"string":   {"equals", "notEquals", "in", "notIn", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual", "contains", "notContains", "startsWith", "endsWith", "matches", "isNull", "isNotNull"},
	"date":     {"equals", "notEquals", "in", "notIn", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual", "between", "inLastDays", "inNextDays", "anniversaryInLastDays", "anniversaryInNextDays", "isNull", "isNotNull"},
	"datetime": {"equals", "notEquals", "in", "notIn", "greaterThan", "greaterThanOrEqual", "lessThan", "lessThanOrEqual", "between", "inLastDays", "inNextDays", "anniversaryInLastDays", "anniversaryInNextDays", "isNull", "isNotNull"},
	"boolean":  {"equals", "notEquals", "isTrue", "isFalse", "isNull", "isNotNull"},
}

// operatorValue picks an operator valid for a's type and a value for it
// (nil when the operator takes none).
func (g *defGen) operatorValue(a *Attr) (string, any) {
	r := g.r
	op := pick(r, operatorsByType[a.Type]...)
	for g.info.NoBehaviour && (op == "matches" || strings.HasPrefix(op, "anniversary")) {
		op = pick(r, operatorsByType[a.Type]...)
	}
	switch op {
	case "isNull", "isNotNull", "isTrue", "isFalse":
		return op, nil
	case "in", "notIn":
		n := 1 + r.IntN(4)
		list := make([]any, n)
		for i := range list {
			list[i], _ = g.scalar(a, false)
		}
		return op, list
	case "between":
		v1, k1 := g.scalar(a, true)
		v2, k2 := v1, k1
		if r.IntN(4) > 0 {
			v2, k2 = g.scalar(a, true)
		} else if a.Type == "datetime" || a.Type == "integer" || a.Type == "number" {
			// The same bound, perhaps written differently.
			v2, k2 = g.rewrite(a.Type, v1, k1)
		}
		if k1.cmp(k2) > 0 {
			v1, v2 = v2, v1
		}
		return op, []any{v1, v2}
	case "contains", "notContains", "startsWith", "endsWith":
		return op, g.substring(a)
	case "matches":
		return op, g.pattern(a)
	case "anniversaryInLastDays", "anniversaryInNextDays":
		return op, json.Number(strconv.Itoa(pick(r, 1, 7, 30, 59, 365, 366, 400, 1+r.IntN(60))))
	case "inLastDays", "inNextDays":
		if r.IntN(3) > 0 {
			return op, json.Number(strconv.Itoa(pick(r, relativeDays...)))
		}
		return op, json.Number(strconv.Itoa(1 + r.IntN(150)))
	}
	v, _ := g.scalar(a, op != "equals" && op != "notEquals")
	return op, v
}

// sortKey orders scalars for between: a number, or an instant.
type sortKey struct {
	num *big.Rat
	t   time.Time
}

func (k sortKey) cmp(o sortKey) int {
	if k.num != nil && o.num != nil {
		return k.num.Cmp(o.num)
	}
	return k.t.Compare(o.t)
}

var specialNumbers = []string{"9007199254740993", "9007199254740992", "-9007199254740993", "9223372036854775807", "9223372036854775808", "-9223372036854775808", "-9223372036854775809", "1e19", "30.5", "-0.5", "0.0", "3e1", "1E2", "-0", "0.30000000000000004", "1e-400", "99.99"}

// scalar returns a JSON value for comparing with a: mostly a value present
// in the data, sometimes one that is not. ordered asks for values suited to
// ordering comparisons.
func (g *defGen) scalar(a *Attr, ordered bool) (any, sortKey) {
	r := g.r
	present := ""
	if len(a.Values) > 0 && r.IntN(10) < 6 {
		present = pick(r, a.Values...)
	}
	switch a.Type {
	case "integer", "number":
		var text string
		switch x := r.IntN(10); {
		case present != "" && x < 6:
			text = present
			if x == 5 {
				q, _ := new(big.Rat).SetString(present)
				delta := pick(r, "1", "-1", "1/2", "-1/2", "1/4")
				d, _ := new(big.Rat).SetString(delta)
				text = ratText(new(big.Rat).Add(q, d))
			}
		case x < 8:
			text = strconv.Itoa(r.IntN(121) - 10)
			if r.IntN(3) == 0 {
				text += ".5"
			}
		default:
			text = pick(r, specialNumbers...)
		}
		q, _ := new(big.Rat).SetString(text)
		v, k := g.rewrite(a.Type, json.Number(text), sortKey{num: q})
		return v, k
	case "string":
		if present != "" {
			return g.recase(present), sortKey{}
		}
		if ordered {
			return pick(r, "M", "a", "Z", "Ä", "é", "N/A", "kelvin", "ω"), sortKey{}
		}
		return pick(r, "Mars", "zzz", "ÄRGER!", "STRASSE", "straße", "Kelvin", "\u212Aelvin", "ΣΊΣΥΦΟΣ", "web", "Null"), sortKey{}
	case "boolean":
		return r.IntN(2) == 0, sortKey{}
	case "date":
		d := present
		if d == "" {
			u := g.info.AsOf.UTC()
			today := time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC)
			off := r.IntN(241) - 120
			if r.IntN(2) == 0 {
				off = pick(r, relativeDays...) * pick(r, 1, -1)
			}
			d = today.AddDate(0, 0, off).Format(time.DateOnly)
		}
		t, _ := time.Parse(time.DateOnly, d)
		return d, sortKey{t: t}
	case "datetime":
		var t time.Time
		if present != "" {
			t, _ = time.Parse(time.RFC3339, present)
			if r.IntN(2) == 0 {
				return present, sortKey{t: t}
			}
		} else {
			switch r.IntN(4) {
			case 0:
				t = g.info.AsOf
			case 1:
				t = g.info.AsOf.Add(time.Duration(pick(r, relativeDays...)*pick(r, 1, -1)) * 24 * time.Hour)
			case 2:
				t = g.info.AsOf.Add(time.Duration(r.IntN(240*24)-120*24) * time.Hour)
			default:
				u := g.info.AsOf.UTC()
				t = time.Date(u.Year(), u.Month(), u.Day()+r.IntN(5)-2, 0, 0, 0, 0, time.UTC)
			}
		}
		v, k := g.rewrite("datetime", formatInstant(t, 0), sortKey{t: t})
		return v, k
	}
	return nil, sortKey{}
}

// rewrite returns the same value written another way: an integer with a
// fraction or exponent, a datetime in another offset or as a bare date when
// it is midnight UTC.
func (g *defGen) rewrite(typ string, v any, k sortKey) (any, sortKey) {
	r := g.r
	switch typ {
	case "integer", "number":
		if k.num == nil || !k.num.IsInt() || r.IntN(3) > 0 {
			return v, k
		}
		n := k.num.Num().String()
		return json.Number(pick(r, n, n+".0", n+"e0", n+".000")), k
	case "datetime":
		return formatInstant(k.t, r.IntN(6)), k
	}
	return v, k
}

// formatInstant writes t in one of several RFC 3339 forms chosen by how,
// or as YYYY-MM-DD when t is midnight UTC and how asks for it.
func formatInstant(t time.Time, how int) string {
	u := t.UTC()
	switch how {
	case 1:
		return t.In(time.FixedZone("", 2*3600)).Format(time.RFC3339)
	case 2:
		return t.In(time.FixedZone("", -(9*3600 + 1800))).Format(time.RFC3339)
	case 3:
		return u.Format("2006-01-02T15:04:05.000Z07:00")
	case 4, 5:
		if u.Hour() == 0 && u.Minute() == 0 && u.Second() == 0 && u.Nanosecond() == 0 {
			return u.Format(time.DateOnly)
		}
	}
	return u.Format(time.RFC3339)
}

// recase returns s, or s with its case changed, for ignoreCase to matter.
func (g *defGen) recase(s string) string {
	switch g.r.IntN(5) {
	case 0:
		return strings.ToUpper(s)
	case 1:
		return strings.ToLower(s)
	}
	return s
}

// substring returns a string for contains, startsWith and endsWith: a part
// of a present value, perhaps recased, or a string not in the data, or
// the empty string.
func (g *defGen) substring(a *Attr) string {
	r := g.r
	if len(a.Values) == 0 || r.IntN(5) == 0 {
		return pick(r, "", "ß", "SS", "e", "E", "ä", "Ä", "σ", "ς", "k", "xyz", ",", "\"", "N/A")
	}
	s := []rune(pick(r, a.Values...))
	i := r.IntN(len(s))
	j := i + 1 + r.IntN(len(s)-i)
	switch r.IntN(3) {
	case 0:
		i = 0
	case 1:
		j = len(s)
	}
	out := g.recase(string(s[i:j]))
	if out == "" || !utf8.ValidString(out) {
		return string(s)
	}
	return out
}

// pattern returns a regular expression for matches: a part of a present
// value anchored or not, an alternation of values, or a class.
func (g *defGen) pattern(a *Attr) string {
	r := g.r
	sub := regexp.QuoteMeta(g.substring(a))
	switch r.IntN(7) {
	case 0:
		return "^" + sub
	case 1:
		return sub + "$"
	case 2:
		if len(a.Values) > 1 {
			return "^(" + regexp.QuoteMeta(pick(r, a.Values...)) + "|" + regexp.QuoteMeta(pick(r, a.Values...)) + ")$"
		}
	case 3:
		return pick(r, "[0-9]", `\p{Lu}`, "^$", ".", "^.{0,3}$", "[^a-z]", `\s`, "(?i)straße")
	}
	return sub
}

// temporalAttrs returns e's date and datetime attributes.
func temporalAttrs(e *Entity) []*Attr {
	var out []*Attr
	for _, a := range e.Attrs {
		if a.Type == "date" || a.Type == "datetime" {
			out = append(out, a)
		}
	}
	return out
}

// ratText writes q as a JSON number.
func ratText(q *big.Rat) string {
	if q.IsInt() {
		return q.Num().String()
	}
	// Every q here has a denominator dividing 4.
	return q.FloatString(2)
}

// measureDefs returns 2 to 6 random measures for schema.json and records
// them in info.
func measureDefs(r *rand.Rand, info *Info) []map[string]any {
	g := &defGen{r: r, info: info}
	n := 2 + r.IntN(5)
	var out []map[string]any
	for i := range n {
		e := pick(r, info.Entities[1:]...)
		fn, src := g.aggregateFunc(e, true)
		name := fmt.Sprintf("%s%s%d", e.Name, strings.ToUpper(fn[:1])+fn[1:], i)
		m := map[string]any{"name": name, "related": e.Name}
		if len(e.Paths) > 1 || r.IntN(4) == 0 {
			m["path"] = pick(r, e.Paths...)
		}
		if r.IntN(5) < 3 {
			m["where"] = g.rowCond(e, 2)
		}
		agg := map[string]any{"function": fn}
		if src != nil {
			agg["attribute"] = e.Name + "." + src.Name
		}
		if fn == "first" || fn == "last" {
			var order []*Attr
			for _, a := range e.Attrs {
				if a.Type != "boolean" {
					order = append(order, a)
				}
			}
			agg["orderBy"] = e.Name + "." + pick(r, order...).Name
		}
		m["aggregate"] = agg
		typ := "number"
		switch fn {
		case "count", "countDistinct":
			typ = "integer"
		case "min", "max", "first", "last":
			typ = src.Type
		}
		info.Measures = append(info.Measures, &Measure{Name: name, Type: typ, Func: fn, Source: src})
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["name"].(string), b["name"].(string)) })
	return out
}
