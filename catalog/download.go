package catalog

import (
	"context"
	"fmt"
	"io"

	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/schema"
)

// Download writes every member of the segment to w as CSV, as a full
// export to export.NewCSVTo(w) does: a header row, then one row per
// member in customer id order, streamed, the customer key first. fields
// chooses the other columns: customer attributes ("Age" or
// "Customer.Age") and measures ("Measures.Spend90d"); nil or empty means
// every customer attribute, in schema order (the key, named among them,
// stays first). An unknown field is an error wrapping ErrUnknownField that
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
	plan, err := export.NewPlan(ctx, d.snap, export.Fields{Names: fields}, opts.asOf(c, st), st.members)
	if err != nil {
		return err
	}
	if _, err := export.Run(ctx, export.NewCSVTo(w, "download"), plan, export.FullSet(st.members), export.RunOptions{Segment: name}); err != nil {
		return fmt.Errorf("download %q: %w", name, err)
	}
	return nil
}

// DownloadFields returns the fields Download accepts for the schema:
// every customer attribute, then "Measures.X" for each measure
// (export.AvailableFields, the fields exports accept too).
func DownloadFields(sch *schema.Schema) []string { return export.AvailableFields(sch) }
