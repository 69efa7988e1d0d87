package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// PreviewOptions adjusts Preview and Download.
type PreviewOptions struct {
	// AsOf is the instant the computed columns (measures and aggregates
	// over related rows) are evaluated at. Zero means the as-of of the
	// refresh job that computed the stored members, so that the values
	// are the ones that explain them; the catalog clock's now for a
	// segment never refreshed.
	AsOf time.Time
}

// asOf returns the instant to compute columns at for st.
func (o PreviewOptions) asOf(c *Catalog, st *storedSegment) time.Time {
	switch {
	case !o.AsOf.IsZero():
		return o.AsOf.UTC()
	case !st.asOf.IsZero():
		return st.asOf
	}
	return c.now()
}

// Preview is the first members of a segment with the values that explain
// them. It belongs to the caller.
type Preview struct {
	// Segment is the segment's name.
	Segment string `json:"segment"`
	// Total is the number of members.
	Total uint64 `json:"total"`
	// Columns name the values of each row; the first is the customer key.
	Columns []PreviewColumn `json:"columns"`
	// Rows hold one member each, in customer id order: its values as text,
	// in the form of the data's CSV files ("" for null).
	Rows [][]string `json:"rows"`
	// AsOf is the instant the computed columns were evaluated at.
	AsOf time.Time `json:"asOf"`
	// Warnings lists columns that could not be computed.
	Warnings []string `json:"warnings,omitempty"`
}

// PreviewColumn describes one column of a preview.
type PreviewColumn struct {
	// Name is "Entity.Attribute" for a customer attribute or measure, or
	// the aggregate computed over related rows, as
	// "count() of Order where Order.Channel = \"web\"" or
	// "sum(Order.Amount) of Order where Order.OrderDate inLastDays 90".
	Name string `json:"name"`
	// Type is the values' type.
	Type schema.Type `json:"type"`
}

// DefaultPreviewRows is the number of members a preview shows when asked
// for n <= 0, as the product page does.
const DefaultPreviewRows = 100

// previewCol is a column and how to compute it.
type previewCol struct {
	PreviewColumn
	attr    *storage.Column
	measure *segment.Measure
	values  *engine.Values
}

// Preview returns the segment's first n members (DefaultPreviewRows when
// n <= 0) with the attributes of the entities its definition uses:
//
//   - the customer key, then each customer attribute the definition names,
//     as stored;
//   - each measure it names (Measures.X), computed per customer;
//   - for each condition on a related entity, one value per customer: the
//     aggregate itself (with the condition's where) for an aggregate
//     condition, and the count of related rows that satisfy the where for
//     match conditions (any, all, none, and the Entity.Attribute
//     shorthand).
//
// Columns appear in the order the definition first uses them, once each.
// Relative operators and measures count from the as-of of the refresh that
// computed the members. Preview needs a Source (ErrNoSource).
func (c *Catalog) Preview(ctx context.Context, name string, n int) (*Preview, error) {
	return c.PreviewWith(ctx, name, n, PreviewOptions{})
}

// PreviewWith returns the segment's first n members as Preview does, with
// the computed columns evaluated at opts.AsOf.
func (c *Catalog) PreviewWith(ctx context.Context, name string, n int, opts PreviewOptions) (*Preview, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	ctx = ctxOrBackground(ctx)
	if n <= 0 {
		n = DefaultPreviewRows
	}
	d, err := c.loadData(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release()
	st, err := c.stored(name, d, true)
	if err != nil {
		return nil, err
	}
	members, rec := st.members, st.rec
	asOf := opts.asOf(c, st)
	p := &Preview{Segment: rec.Name, Total: members.GetCardinality(), Rows: [][]string{}, AsOf: asOf}
	sch := d.snap.Schema()
	def, _ := segment.Parse(rec.Definition)
	cols := previewColumns(def, sch, d.snap)
	for _, col := range cols {
		if col.measure == nil {
			continue
		}
		vals, err := engine.EvalMeasure(ctx, d.snap, col.measure, asOf)
		if err != nil {
			if ctx.Err() != nil {
				return nil, fmt.Errorf("preview of %q: %w", name, ctx.Err())
			}
			p.Warnings = append(p.Warnings, fmt.Sprintf("column %s: %s", col.Name, oneLine(err.Error())))
			continue
		}
		col.values = vals
		col.Type = vals.Type()
	}
	cols = slices.DeleteFunc(cols, func(col *previewCol) bool { return col.attr == nil && col.values == nil })
	for _, col := range cols {
		p.Columns = append(p.Columns, col.PreviewColumn)
	}
	it := members.Iterator()
	for len(p.Rows) < n && it.HasNext() {
		id := it.Next()
		row := make([]string, len(cols))
		for i, col := range cols {
			if col.attr != nil {
				row[i] = col.attr.Format(int(id))
			} else {
				row[i] = col.values.Format(id)
			}
		}
		p.Rows = append(p.Rows, row)
	}
	return p, nil
}

// previewColumns lists the columns of a preview of def: the customer key,
// then what the definition uses.
func previewColumns(def *segment.Definition, sch *schema.Schema, snap *storage.Snapshot) []*previewCol {
	cust := snap.Customers()
	key := cust.Column(cust.Entity.Key)
	cols := []*previewCol{{PreviewColumn: PreviewColumn{Name: cust.Entity.Name + "." + cust.Entity.Key, Type: key.Attr.Type}, attr: key}}
	if def == nil {
		return cols
	}
	seen := map[string]bool{cols[0].Name: true}
	measures, _ := segment.ParseMeasures(sch)
	add := func(col *previewCol) {
		if !seen[col.Name] {
			seen[col.Name] = true
			cols = append(cols, col)
		}
	}
	related := func(entity string, path []string, where segment.Condition, agg *segment.Aggregate) {
		m := &segment.Measure{Name: fmt.Sprintf("preview%d", len(cols)), Entity: entity, Path: path, Where: where}
		if agg != nil {
			m.Aggregate = *agg
		} else {
			m.Aggregate = segment.Aggregate{Func: segment.Count}
		}
		label := m.String()
		if _, rest, ok := strings.Cut(label, " = "); ok {
			label = rest
		}
		add(&previewCol{PreviewColumn: PreviewColumn{Name: label}, measure: m})
	}
	for _, g := range def.Groups {
		segment.Inspect(g.Condition, func(cond segment.Condition) bool {
			switch n := cond.(type) {
			case *segment.Related:
				if n != nil {
					related(n.Entity, n.Path, n.Where, n.Aggregate)
				}
				return false
			case *segment.Predicate:
				if n == nil {
					return false
				}
				ent, attr, ok := strings.Cut(n.Attribute, ".")
				switch {
				case !ok:
				case ent == sch.CustomerEntity:
					if col := cust.Column(attr); col != nil {
						add(&previewCol{PreviewColumn: PreviewColumn{Name: n.Attribute, Type: col.Attr.Type}, attr: col})
					}
				case ent == schema.MeasuresEntity:
					for _, m := range measures {
						if m.Name == attr {
							add(&previewCol{PreviewColumn: PreviewColumn{Name: n.Attribute}, measure: m})
						}
					}
				default:
					related(ent, nil, n, nil)
				}
			}
			return true
		})
	}
	return cols
}
