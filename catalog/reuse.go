package catalog

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// Selective refresh. When a job's snapshot came from the one a segment's
// stored members were evaluated on by appending rows (not the same
// snapshot: a refresh of unchanged data evaluates, as it always did)
// (storage.Snapshot.ChangedSince), and none of the entities the
// segment's conditions read changed, nor the customers, nor what its
// relative dates count from (the as-of day, or instant), its members are
// the same as an evaluation would give: the task reuses them instead of
// evaluating, and says so (Task.Reused, HistoryEntry.Reused). The
// evaluations behind stored members are remembered in memory only, so a
// catalog opened by a new process evaluates every segment once.

// evalStamp records the evaluation behind a segment's stored members.
type evalStamp struct {
	job      uint64
	snap     uint64 // storage.Snapshot.ID
	asOf     time.Time
	revision uint64 // of the segment's record
	keys     [32]byte
	count    uint64
}

// stampCache holds the stamps of the segments, by segment id.
type stampCache struct {
	mu sync.Mutex
	m  map[uint64]evalStamp
}

func (c *stampCache) get(id uint64) (evalStamp, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s, ok := c.m[id]
	return s, ok
}

func (c *stampCache) put(id uint64, s evalStamp) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[uint64]evalStamp{}
	}
	c.m[id] = s
}

// asOfUse says how a definition's members depend on the as-of instant.
type asOfUse uint8

const (
	asOfUnused  asOfUse = iota
	asOfDay             // relative dates on date attributes: the UTC day
	asOfInstant         // relative dates on datetimes, or not known
)

// reads is what a definition's conditions read.
type reads struct {
	entities []string
	all      bool // something could not be told: take every entity as read
	asOf     asOfUse
}

func (r *reads) entity(name string) {
	if !slices.Contains(r.entities, name) {
		r.entities = append(r.entities, name)
	}
}

func (r *reads) use(u asOfUse) { r.asOf = max(r.asOf, u) }

// readsOf returns the entities the conditions of def read, with every
// entity along the relationship paths they follow, and how its members
// depend on the as-of instant. References to segments are not followed:
// the job reuses a segment's members only when those of the segments it
// references were reused too.
func readsOf(def *segment.Definition, sch *schema.Schema) reads {
	r := reads{}
	if sch == nil {
		r.all, r.asOf = true, asOfInstant
		return r
	}
	measures := segment.MeasuresOf(sch)
	// related adds entity and the entities along path (every path of the
	// entity when path is empty).
	related := func(entity string, path []string) {
		r.entity(entity)
		paths := []schema.Path{path}
		if len(path) == 0 {
			paths = sch.Paths(entity)
		}
		for _, p := range paths {
			for _, name := range p {
				rel, ok := sch.Relationship(name)
				if !ok {
					r.all = true
					continue
				}
				r.entity(rel.From.Entity)
				r.entity(rel.To.Entity)
			}
		}
	}
	// typeOf returns the type of "Entity.Attribute", if known.
	typeOf := func(attr string) (schema.Type, bool) {
		ent, name, ok := strings.Cut(attr, ".")
		if !ok {
			return 0, false
		}
		e, ok := sch.Entity(ent)
		if !ok {
			return 0, false
		}
		a, ok := e.Attribute(name)
		return a.Type, ok
	}
	// A day in a time zone other than UTC is not the UTC day asOfDay
	// compares.
	utc := def.TimeZone == "" || def.TimeZone == "UTC"
	relative := func(op segment.Op, attr string) {
		if !op.Relative() {
			return
		}
		if t, ok := typeOf(attr); ok && t == schema.Date && utc {
			r.use(asOfDay)
			return
		}
		r.use(asOfInstant)
	}
	var visit func(c segment.Condition)
	visit = func(c segment.Condition) {
		segment.Inspect(c, func(c segment.Condition) bool {
			switch n := c.(type) {
			case *segment.Related:
				related(n.Entity, n.Path)
				if n.Aggregate != nil {
					relative(n.Op, n.Aggregate.Attribute)
				}
				if n.Change != nil {
					// Its windows count back from the as-of instant.
					relative(segment.InLastDays, n.Change.Attribute)
				}
			case *segment.Predicate:
				ent, name, ok := strings.Cut(n.Attribute, ".")
				switch {
				case !ok:
					r.all = true
				case ent == schema.MeasuresEntity:
					m, ok := measures.Lookup(name)
					if !ok {
						r.all, r.asOf = true, asOfInstant
						return true
					}
					related(m.Entity, m.Path)
					visit(m.Where)
					// What a measure's value is (a date, say) is not
					// told here: a relative date on one counts from the
					// instant.
					if n.Op.Relative() {
						r.use(asOfInstant)
					}
				case ent == sch.CustomerEntity:
					r.entity(ent)
				default:
					related(ent, nil)
				}
				relative(n.Op, n.Attribute)
			}
			return true
		})
	}
	for _, g := range def.Groups {
		visit(g.Condition)
	}
	return r
}

// reusable reports whether task i may keep its segment's stored members,
// m.prev, instead of evaluating def, and if so a note that says why.
func (ex *execution) reusable(i int, def *segment.Definition, m *computedMembers) (string, bool) {
	tr := ex.tasks[i]
	st, ok := ex.c.stamps.get(tr.rec.ID)
	if !ok || !m.hasPrev || st.revision != tr.rec.Revision || st.keys != ex.data.keys ||
		m.prev.keys != ex.data.keys || m.prev.members.GetCardinality() != st.count {
		return "", false
	}
	for _, d := range tr.deps {
		if !ex.tasks[d].reused {
			return "", false
		}
	}
	if hasGroupRefs(def) {
		return "", false
	}
	snap := ex.data.snap
	// A refresh of the very snapshot evaluates again, as it always did:
	// reuse is for the snapshots that appends made.
	changed, ok := snap.ChangedSince(st.snap)
	if !ok || st.snap == snap.ID() || slices.Contains(changed, ex.sch.CustomerEntity) {
		return "", false
	}
	r := readsOf(def, ex.sch)
	if r.all && len(changed) > 0 {
		return "", false
	}
	for _, e := range r.entities {
		if slices.Contains(changed, e) {
			return "", false
		}
	}
	switch r.asOf {
	case asOfDay:
		if !sameDay(st.asOf, ex.asOf) {
			return "", false
		}
	case asOfInstant:
		if !st.asOf.Equal(ex.asOf) {
			return "", false
		}
	}
	what := "rows were appended, to no entity"
	if len(changed) > 0 {
		what = "only " + strings.Join(changed, ", ") + " changed (rows appended), which its conditions do not read"
	}
	return fmt.Sprintf("members reused from job %d: %s", st.job, what), true
}

// sameDay reports whether a and b fall on one UTC day.
func sameDay(a, b time.Time) bool {
	ay, am, ad := a.UTC().Date()
	by, bm, bd := b.UTC().Date()
	return ay == by && am == bm && ad == bd
}
