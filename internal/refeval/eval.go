package refeval

import (
	"errors"
	"fmt"
	"math"
	"math/big"
	"slices"
	"strings"
	"time"
)

// Eval evaluates the definition defJSON at the as-of instant asOf and
// returns the member customers' row indices, sorted. segments gives the
// members of the segments that {"segment": name} may refer to; it may be
// nil.
func (d *Data) Eval(defJSON []byte, asOf time.Time, segments map[string][]uint32) (ids []uint32, err error) {
	defer func() {
		// The evaluator assumes valid input; a type assertion it did not
		// foresee still must not crash the caller.
		if p := recover(); p != nil {
			ids, err = nil, fmt.Errorf("refeval: unexpected input: %v", p)
		}
	}()
	def, err := decodeObject(defJSON)
	if err != nil {
		return nil, err
	}
	ev := &evaluator{d: d, asOf: asOf, segments: segments, measureValues: map[string][]any{}, loc: time.UTC}
	if tz, given := def["timeZone"].(string); given && tz != "" {
		if ev.loc, err = time.LoadLocation(tz); err != nil {
			return nil, err
		}
	}
	groups, ok := def["groups"].([]any)
	if !ok || len(groups) == 0 {
		return nil, errors.New("definition has no groups")
	}
	n := len(d.entities[d.customer].rows)
	var members []bool
	for gi, g := range groups {
		gm, ok := g.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("groups[%d] is not an object", gi)
		}
		cond, ok := gm["condition"].(map[string]any)
		if !ok {
			return nil, fmt.Errorf("groups[%d] has no condition", gi)
		}
		in := make([]bool, n)
		for c := range n {
			if in[c], err = ev.customer(cond, c); err != nil {
				return nil, fmt.Errorf("groups[%d]: %w", gi, err)
			}
		}
		if gi == 0 {
			members = in
			continue
		}
		op, _ := gm["setOperator"].(string)
		for c := range n {
			switch op {
			case "union":
				members[c] = members[c] || in[c]
			case "intersect":
				members[c] = members[c] && in[c]
			case "except":
				members[c] = members[c] && !in[c]
			default:
				return nil, fmt.Errorf("groups[%d]: unknown setOperator %q", gi, op)
			}
		}
	}
	ids = []uint32{}
	for c, in := range members {
		if in {
			ids = append(ids, uint32(c))
		}
	}
	return ids, nil
}

type evaluator struct {
	d             *Data
	asOf          time.Time
	segments      map[string][]uint32
	measureValues map[string][]any
	// loc is the definition's time zone, UTC unless it names one.
	loc *time.Location
}

// logical evaluates cond when it is an and, an or or a not, with eval for
// the conditions it combines; done reports that it was one of them.
func logical(cond map[string]any, eval func(map[string]any) (bool, error)) (ok, done bool, err error) {
	switch {
	case cond["and"] != nil:
		list, _ := cond["and"].([]any)
		for _, x := range list {
			if ok, err := eval(x.(map[string]any)); err != nil || !ok {
				return false, true, err
			}
		}
		return len(list) > 0, true, nil
	case cond["or"] != nil:
		list, _ := cond["or"].([]any)
		for _, x := range list {
			if ok, err := eval(x.(map[string]any)); err != nil || ok {
				return ok, true, err
			}
		}
		return false, true, nil
	case cond["not"] != nil:
		ok, err := eval(cond["not"].(map[string]any))
		return !ok, true, err
	}
	return false, false, nil
}

// customer reports whether cond holds for customer row c.
func (ev *evaluator) customer(cond map[string]any, c int) (bool, error) {
	if ok, done, err := logical(cond, func(x map[string]any) (bool, error) { return ev.customer(x, c) }); done {
		return ok, err
	}
	switch {
	case cond["segment"] != nil:
		name := cond["segment"].(string)
		if g, ok := cond["group"].(string); ok {
			name += "/" + g // as engine.Options.Segments keys a group
		}
		ids, found := ev.segments[name]
		if !found {
			return false, fmt.Errorf("unknown segment %q", name)
		}
		return slices.Contains(ids, uint32(c)), nil
	case cond["related"] != nil:
		return ev.related(cond, c)
	case cond["attribute"] != nil:
		entName, attr, err := splitAttribute(cond["attribute"])
		if err != nil {
			return false, err
		}
		switch entName {
		case ev.d.customer:
			cust := ev.d.entities[ev.d.customer]
			typ, ok := cust.types[attr]
			if !ok {
				return false, fmt.Errorf("unknown attribute %s.%s", entName, attr)
			}
			return ev.predicate(typ, cust.rows[c][attr], cond)
		case "Measures":
			typ, values, err := ev.measure(attr)
			if err != nil {
				return false, err
			}
			return ev.predicate(typ, values[c], cond)
		default:
			// Shorthand for a related condition with this predicate as
			// its where and match any.
			return ev.related(map[string]any{"related": entName, "where": cond}, c)
		}
	}
	return false, fmt.Errorf("unknown condition %v", cond)
}

func splitAttribute(v any) (entity, attr string, err error) {
	s, _ := v.(string)
	entity, attr, ok := strings.Cut(s, ".")
	if !ok {
		return "", "", fmt.Errorf("attribute %q is not Entity.Attribute", s)
	}
	return entity, attr, nil
}

// relatedRows returns the entity of a related condition or measure and the
// rows linked to customer row c along its path.
func (ev *evaluator) relatedRows(node map[string]any, c int) (*entity, []int, error) {
	name, _ := node["related"].(string)
	e := ev.d.entities[name]
	if e == nil || name == ev.d.customer {
		return nil, nil, fmt.Errorf("related %q is not a related entity", name)
	}
	var path []string
	if p, given := node["path"].([]any); given {
		for _, x := range p {
			path = append(path, x.(string))
		}
	} else {
		if len(e.paths) != 1 {
			return nil, nil, fmt.Errorf("related %s: %d paths and no path given", name, len(e.paths))
		}
		path = e.paths[0]
	}
	rows, ok := e.linked[strings.Join(path, "/")]
	if !ok {
		return nil, nil, fmt.Errorf("related %s: %v is not a path to %s", name, path, ev.d.customer)
	}
	return e, rows[c], nil
}

// whereRows returns the rows of rows that satisfy node's where.
func (ev *evaluator) whereRows(e *entity, node map[string]any, rows []int) ([]int, error) {
	where, hasWhere := node["where"].(map[string]any)
	if !hasWhere {
		return rows, nil
	}
	var out []int
	for _, r := range rows {
		ok, err := ev.row(e, where, r)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

func (ev *evaluator) related(node map[string]any, c int) (bool, error) {
	e, rows, err := ev.relatedRows(node, c)
	if err != nil {
		return false, err
	}
	matching, err := ev.whereRows(e, node, rows)
	if err != nil {
		return false, err
	}
	switch {
	case node["sequence"] != nil:
		return ev.sequence(e, node["sequence"].(map[string]any), matching)
	case node["stopped"] != nil:
		return ev.change(e, node["stopped"].(map[string]any), matching, true)
	case node["started"] != nil:
		return ev.change(e, node["started"].(map[string]any), matching, false)
	}
	if agg, ok := node["aggregate"].(map[string]any); ok {
		typ, v, err := ev.aggregate(e, agg, matching)
		if err != nil {
			return false, err
		}
		return ev.predicate(typ, v, node)
	}
	match, _ := node["match"].(string)
	switch match {
	case "", "any":
		return len(matching) > 0, nil
	case "all":
		return len(rows) > 0 && len(matching) == len(rows), nil
	case "none":
		return len(matching) == 0, nil
	}
	return false, fmt.Errorf("unknown match %q", match)
}

// row reports whether cond holds for row r of e.
func (ev *evaluator) row(e *entity, cond map[string]any, r int) (bool, error) {
	if ok, done, err := logical(cond, func(x map[string]any) (bool, error) { return ev.row(e, x, r) }); done {
		return ok, err
	}
	switch {
	case cond["attribute"] != nil:
		entName, attr, err := splitAttribute(cond["attribute"])
		if err != nil {
			return false, err
		}
		typ, ok := e.types[attr]
		if entName != e.name || !ok {
			return false, fmt.Errorf("where over %s: attribute %s.%s", e.name, entName, attr)
		}
		return ev.predicate(typ, e.rows[r][attr], cond)
	}
	return false, fmt.Errorf("unknown row condition %v", cond)
}

// measure returns the type of the measure named name and its value for
// every customer, computed once per evaluation.
func (ev *evaluator) measure(name string) (string, []any, error) {
	m, ok := ev.d.measures[name]
	if !ok {
		return "", nil, fmt.Errorf("unknown measure %q", name)
	}
	agg, ok := m["aggregate"].(map[string]any)
	if !ok {
		return "", nil, fmt.Errorf("measure %s has no aggregate", name)
	}
	if values, done := ev.measureValues[name]; done {
		typ, _, err := ev.aggregate(ev.d.entities[m["related"].(string)], agg, nil)
		return typ, values, err
	}
	n := len(ev.d.entities[ev.d.customer].rows)
	values := make([]any, n)
	var typ string
	for c := range n {
		e, rows, err := ev.relatedRows(m, c)
		if err != nil {
			return "", nil, fmt.Errorf("measure %s: %w", name, err)
		}
		matching, err := ev.whereRows(e, m, rows)
		if err != nil {
			return "", nil, fmt.Errorf("measure %s: %w", name, err)
		}
		typ, values[c], err = ev.aggregate(e, agg, matching)
		if err != nil {
			return "", nil, fmt.Errorf("measure %s: %w", name, err)
		}
	}
	if n == 0 {
		var err error
		if typ, _, err = ev.aggregate(ev.d.entities[m["related"].(string)], agg, nil); err != nil {
			return "", nil, err
		}
	}
	ev.measureValues[name] = values
	return typ, values, nil
}

// aggregate computes agg over rows of e and returns the result's type and
// value (nil for null). sum and avg are numbers (float64), as FORMAT.md
// section 3 types them; an integer sum is added exactly and then rounded
// once to the nearest float64.
func (ev *evaluator) aggregate(e *entity, agg map[string]any, rows []int) (string, any, error) {
	fn, _ := agg["function"].(string)
	if fn == "count" {
		return "integer", int64(len(rows)), nil
	}
	_, attr, err := splitAttribute(agg["attribute"])
	if err != nil {
		return "", nil, err
	}
	typ, ok := e.types[attr]
	if !ok {
		return "", nil, fmt.Errorf("aggregate: %s has no attribute %s", e.name, attr)
	}
	var values []any // the non-null values, in row order
	for _, r := range rows {
		if v := e.rows[r][attr]; v != nil {
			values = append(values, v)
		}
	}
	switch fn {
	case "countDistinct":
		seen := map[any]bool{}
		if period, ok := agg["period"].(string); ok {
			for _, v := range values {
				p, err := ev.periodOf(typ, v, period)
				if err != nil {
					return "", nil, err
				}
				seen[p] = true
			}
			return "integer", int64(len(seen)), nil
		}
		for _, v := range values {
			if t, isTime := v.(time.Time); isTime {
				v = t.UnixNano()
			}
			seen[v] = true
		}
		return "integer", int64(len(seen)), nil
	case "sum", "avg":
		if len(values) == 0 {
			if fn == "avg" {
				return "number", nil, nil
			}
			return "number", 0.0, nil
		}
		var exact *big.Rat
		var fsum float64
		switch typ {
		case "integer":
			s := new(big.Int)
			for _, v := range values {
				s.Add(s, big.NewInt(v.(int64)))
			}
			exact = new(big.Rat).SetInt(s)
			fsum, _ = exact.Float64()
		case "number":
			for _, v := range values {
				fsum += v.(float64)
			}
		default:
			return "", nil, fmt.Errorf("%s over %s attribute %s", fn, typ, attr)
		}
		if fn == "avg" {
			if exact != nil {
				q := new(big.Rat).Quo(exact, new(big.Rat).SetInt64(int64(len(values))))
				f, _ := q.Float64()
				return "number", f, nil
			}
			if math.IsInf(fsum, 0) {
				// The sum in row order overflowed; the mean of finite
				// values is finite: the exact mean, rounded once.
				q := new(big.Rat)
				for _, v := range values {
					q.Add(q, new(big.Rat).SetFloat64(v.(float64)))
				}
				f, _ := q.Quo(q, new(big.Rat).SetInt64(int64(len(values)))).Float64()
				return "number", f, nil
			}
			return "number", fsum / float64(len(values)), nil
		}
		return "number", fsum, nil
	case "min", "max":
		if len(values) == 0 {
			return typ, nil, nil
		}
		best := values[0]
		for _, v := range values[1:] {
			cmp, err := compareValues(typ, v, best)
			if err != nil {
				return "", nil, err
			}
			if (fn == "min" && cmp < 0) || (fn == "max" && cmp > 0) {
				best = v
			}
		}
		return typ, best, nil
	case "first", "last":
		_, orderAttr, err := splitAttribute(agg["orderBy"])
		if err != nil {
			return "", nil, err
		}
		orderType, ok := e.types[orderAttr]
		if !ok {
			return "", nil, fmt.Errorf("orderBy: %s has no attribute %s", e.name, orderAttr)
		}
		var ordered []int
		for _, r := range rows {
			if e.rows[r][orderAttr] != nil {
				ordered = append(ordered, r)
			}
		}
		if len(ordered) == 0 {
			return typ, nil, nil
		}
		var sortErr error
		slices.SortStableFunc(ordered, func(a, b int) int {
			cmp, err := compareValues(orderType, e.rows[a][orderAttr], e.rows[b][orderAttr])
			if err != nil {
				sortErr = err
			}
			if cmp != 0 {
				return cmp
			}
			cmp, err = compareValues(e.types[e.key], e.rows[a][e.key], e.rows[b][e.key])
			if err != nil {
				sortErr = err
			}
			return cmp
		})
		if sortErr != nil {
			return "", nil, sortErr
		}
		pick := ordered[0]
		if fn == "last" {
			pick = ordered[len(ordered)-1]
		}
		return typ, e.rows[pick][attr], nil
	}
	return "", nil, fmt.Errorf("unknown aggregate function %q", fn)
}

// compareValues orders two non-null values of one attribute type.
func compareValues(typ string, a, b any) (int, error) {
	switch typ {
	case "integer", "number":
		return toRat(a).Cmp(toRat(b)), nil
	case "string":
		return strings.Compare(a.(string), b.(string)), nil
	case "date":
		return cmpOrdered(a.(day), b.(day)), nil
	case "datetime":
		return a.(time.Time).Compare(b.(time.Time)), nil
	case "boolean":
		x, y := a.(bool), b.(bool)
		switch {
		case x == y:
			return 0, nil
		case !x:
			return -1, nil
		}
		return 1, nil
	}
	return 0, fmt.Errorf("cannot order values of type %q", typ)
}

func cmpOrdered[T int64 | day](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// toRat converts a numeric value (int64, float64 or *big.Rat) exactly.
func toRat(v any) *big.Rat {
	switch x := v.(type) {
	case int64:
		return new(big.Rat).SetInt64(x)
	case float64:
		return new(big.Rat).SetFloat64(x)
	case *big.Rat:
		return x
	}
	panic(fmt.Sprintf("not a number: %T", v))
}
