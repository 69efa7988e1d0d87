package catalog

import (
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Download writes every member of the segment to w as CSV: a header row,
// then one row per member in customer id order, streamed. fields chooses
// the columns: customer attributes ("Age" or "Customer.Age") and measures
// ("Measures.Spend90d"); nil or empty means every customer attribute, in
// schema order. An unknown field is an error wrapping ErrUnknownField that
// suggests the nearest name; nothing is written then. Values are written
// as in the data's CSV files; measures are computed for the members alone,
// at the as-of of the refresh that computed them. Download checks ctx
// every 4096 rows and needs a Source (ErrNoSource).
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
	cols, header, err := downloadColumns(ctx, d.snap, fields, opts.asOf(c, st), members)
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
			record[i] = col.format(id)
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
// every customer attribute, then "Measures.X" for each measure
// (export.AvailableFields, the fields exports accept too).
func DownloadFields(sch *schema.Schema) []string { return export.AvailableFields(sch) }

// downloadColumns returns the columns of fields and their header, with the
// measures computed at asOf for the members alone.
func downloadColumns(ctx context.Context, snap *storage.Snapshot, fields []string, asOf time.Time, members *roaring.Bitmap) ([]*previewCol, []string, error) {
	sch := snap.Schema()
	cust := snap.Customers()
	if len(fields) == 0 {
		fields = cust.Entity.AttributeNames()
	}
	measures := engine.Measures(snap).List()
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
			vals, err := engine.EvalMeasureFor(ctx, snap, measures[i], asOf, members)
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
