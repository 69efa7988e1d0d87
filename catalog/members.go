package catalog

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Members returns the segment's current members (those stored by its last
// successful refresh, or a static segment's frozen members) as customer
// ids of the source's current snapshot. Customers no longer in the data
// are left out. A segment never refreshed has no members. The bitmap is
// new and belongs to the caller. Members needs a Source (ErrNoSource).
func (c *Catalog) Members(ctx context.Context, name string) (*roaring.Bitmap, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	d, err := c.loadData(ctxOrBackground(ctx))
	if err != nil {
		return nil, err
	}
	defer d.release()
	bm, _, err := c.members(name, d)
	return bm, err
}

// MembersIn returns the segment's current members as customer ids of snap,
// a snapshot the caller holds (and keeps ownership of). It needs no
// Source. The bitmap is new and belongs to the caller.
func (c *Catalog) MembersIn(ctx context.Context, name string, snap *storage.Snapshot) (*roaring.Bitmap, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if snap == nil {
		return nil, errors.New("MembersIn: nil snapshot")
	}
	keys, err := c.fp.get(ctx, snap)
	if err != nil {
		return nil, err
	}
	bm, _, err := c.members(name, &loadedData{snap: snap, keys: keys, release: func() {}})
	return bm, err
}

// members reads the named segment's record and members mapped to d.
func (c *Catalog) members(name string, d *loadedData) (*roaring.Bitmap, *record, error) {
	st, err := c.stored(name, d, false)
	if err != nil {
		return nil, nil, err
	}
	return st.members, st.rec, nil
}

// storedSegment is a segment's record with its stored members.
type storedSegment struct {
	rec     *record
	members *roaring.Bitmap
	// asOf is the instant the members were computed at (zero when the
	// segment has none), read when asked for.
	asOf time.Time
}

// stored reads the named segment's record and members mapped to d, in one
// transaction, and with withAsOf the as-of instant they were computed at.
func (c *Catalog) stored(name string, d *loadedData, withAsOf bool) (*storedSegment, error) {
	var st storedSegment
	err := c.view(func(tx *bolt.Tx) error {
		r, err := getByName(tx, name)
		if err != nil {
			return err
		}
		st.rec = r
		if st.members, err = c.storedMembers(tx, r.ID, d); err != nil {
			return err
		}
		if withAsOf {
			st.asOf, err = computedAsOf(tx, r)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// computedAsOf returns the as-of instant of the refresh that computed the
// segment's stored members: that of its newest history entry that did not
// keep frozen members. For an entry stored before history recorded it,
// it is the entry's job's as-of if the file still has the job, else the
// entry's time (close to it: such versions evaluated at the job's start).
// It is zero for a segment never refreshed.
func computedAsOf(tx *bolt.Tx, r *record) (time.Time, error) {
	b := tx.Bucket(bucketHistory).Bucket(u64(r.ID))
	if b == nil {
		return time.Time{}, nil
	}
	var e *HistoryEntry
	cur := b.Cursor()
	for k, v := cur.Last(); k != nil; k, v = cur.Prev() {
		e = new(HistoryEntry)
		if err := json.Unmarshal(v, e); err != nil {
			return time.Time{}, corrupt("history of %q: %v", r.Name, err)
		}
		if !e.Kept {
			break
		}
	}
	switch {
	case e == nil:
		return time.Time{}, nil
	case !e.AsOf.IsZero():
		return e.AsOf, nil
	}
	if j, err := readJob(tx, e.Job); err == nil && !j.AsOf.IsZero() {
		return j.AsOf, nil
	} else if err != nil && !errors.Is(err, errNoJob) {
		return time.Time{}, err
	}
	return e.Time, nil
}

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

// Download writes every member of the segment to w as CSV: a header row,
// then one row per member in customer id order, streamed. fields chooses
// the columns: customer attributes ("Age" or "Customer.Age") and measures
// ("Measures.Spend90d"); nil or empty means every customer attribute, in
// schema order. An unknown field is an error wrapping ErrUnknownField that
// suggests the nearest name; nothing is written then. Values are written
// as in the data's CSV files; measures are computed at the as-of of the
// refresh that computed the members. Download checks ctx every 4096 rows
// and needs a Source (ErrNoSource).
func (c *Catalog) Download(ctx context.Context, name string, w io.Writer, fields []string) error {
	return c.DownloadWith(ctx, name, w, fields, PreviewOptions{})
}

// DownloadWith writes every member of the segment to w as Download does,
// with the measures computed at opts.AsOf.
func (c *Catalog) DownloadWith(ctx context.Context, name string, w io.Writer, fields []string, opts PreviewOptions) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	ctx = ctxOrBackground(ctx)
	d, err := c.loadData(ctx)
	if err != nil {
		return err
	}
	defer d.release()
	st, err := c.stored(name, d, true)
	if err != nil {
		return err
	}
	members := st.members
	cols, header, err := downloadColumns(ctx, d.snap, fields, opts.asOf(c, st))
	if err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(header); err != nil {
		return fmt.Errorf("download %q: %w", name, err)
	}
	record := make([]string, len(cols))
	it := members.Iterator()
	for n := 0; it.HasNext(); n++ {
		if n&4095 == 0 {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("download %q: %w", name, err)
			}
		}
		id := it.Next()
		for i, col := range cols {
			if col.attr != nil {
				record[i] = col.attr.Format(int(id))
			} else {
				record[i] = col.values.Format(id)
			}
		}
		if err := cw.Write(record); err != nil {
			return fmt.Errorf("download %q: %w", name, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("download %q: %w", name, err)
	}
	return nil
}

// DownloadFields returns the fields Download accepts for the schema:
// every customer attribute, then "Measures.X" for each measure.
func DownloadFields(sch *schema.Schema) []string {
	var out []string
	if sch == nil || sch.Customer() == nil {
		return nil
	}
	out = append(out, sch.Customer().AttributeNames()...)
	ms, _ := segment.ParseMeasures(sch)
	for _, m := range ms {
		out = append(out, schema.MeasuresEntity+"."+m.Name)
	}
	return out
}

func downloadColumns(ctx context.Context, snap *storage.Snapshot, fields []string, asOf time.Time) ([]*previewCol, []string, error) {
	sch := snap.Schema()
	cust := snap.Customers()
	if len(fields) == 0 {
		fields = cust.Entity.AttributeNames()
	}
	measures, _ := segment.ParseMeasures(sch)
	var cols []*previewCol
	var header []string
	var problems diag.List
	for _, f := range fields {
		name := strings.TrimSpace(f)
		if ent, attr, ok := strings.Cut(name, "."); ok && ent == schema.MeasuresEntity {
			i := slices.IndexFunc(measures, func(m *segment.Measure) bool { return m.Name == attr })
			if i < 0 {
				problems.AddSuggest("", ErrUnknownField, name, DownloadFields(sch), "unknown field %q", name)
				continue
			}
			vals, err := engine.EvalMeasure(ctx, snap, measures[i], asOf)
			if err != nil {
				return nil, nil, fmt.Errorf("field %s: %w", name, err)
			}
			cols = append(cols, &previewCol{values: vals})
			header = append(header, name)
			continue
		}
		attr := strings.TrimPrefix(name, cust.Entity.Name+".")
		col := cust.Column(attr)
		if col == nil {
			problems.AddSuggest("", ErrUnknownField, name, DownloadFields(sch), "unknown field %q", name)
			continue
		}
		cols = append(cols, &previewCol{attr: col})
		header = append(header, attr)
	}
	if err := problems.Err(); err != nil {
		return nil, nil, err
	}
	return cols, header, nil
}

// History returns the segment's successful refreshes with a time in
// [from, to], oldest first; a zero from or to leaves that end open. The
// slice is the caller's.
func (c *Catalog) History(name string, from, to time.Time) ([]HistoryEntry, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out []HistoryEntry
	err := c.view(func(tx *bolt.Tx) error {
		r, err := getByName(tx, name)
		if err != nil {
			return err
		}
		b := tx.Bucket(bucketHistory).Bucket(u64(r.ID))
		if b == nil {
			return nil
		}
		cur := b.Cursor()
		var k, v []byte
		if from.IsZero() {
			k, v = cur.First()
		} else {
			k, v = cur.Seek(historyTimeKey(from))
		}
		for ; k != nil; k, v = cur.Next() {
			var e HistoryEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return corrupt("history of %q: %v", name, err)
			}
			if !to.IsZero() && e.Time.After(to) {
				break
			}
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
