package catalog

import (
	"context"
	"fmt"

	"github.com/segmentkit/segmentkit/analysis"
)

// Overlap counts how the stored members of the named segments (those of
// each one's latest refresh) overlap: the customers in every region of
// their Venn diagram, optionally by the values of a customer attribute
// (analysis.Overlap). It loads the data to map the members to its
// customers. A segment never refreshed has no members to compare: it is
// an error, as it is for an export.
func (c *Catalog) Overlap(ctx context.Context, names []string, opts analysis.OverlapOptions) (*analysis.OverlapResult, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if len(names) < analysis.MinSets || len(names) > analysis.MaxSets {
		return nil, fmt.Errorf("%w: an overlap compares %d to %d segments, not %d", analysis.ErrSets, analysis.MinSets, analysis.MaxSets, len(names))
	}
	d, err := c.loadData(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release()
	sets := make([]analysis.Set, len(names))
	for i, name := range names {
		st, err := c.comparable(name, d, false)
		if err != nil {
			return nil, err
		}
		sets[i] = analysis.Set{Name: st.rec.Name, Members: st.members}
	}
	return analysis.Overlap(ctx, d.snap, sets, opts)
}

// DifferentiatorsOptions configures Catalog.Differentiators. The zero
// value compares a segment with all customers, on every customer attribute
// but the key and every measure.
type DifferentiatorsOptions struct {
	// Against names the segment to compare with; empty compares with all
	// customers. Its members are taken as they are, those it shares with
	// the segment included.
	Against string
	// Attributes and Top are analysis.DifferentiatorsOptions'.
	Attributes []string
	Top        int
}

// Differentiators ranks the attributes and measures by how much they set
// the named segment's stored members (those of its latest refresh) apart
// from all customers, or from the stored members of opts.Against
// (analysis.Differentiators). Measures are computed at the instant the
// segment's members were. A segment never refreshed has no members to
// compare: it is an error (ErrNoMembers), as it is for an overlap.
func (c *Catalog) Differentiators(ctx context.Context, name string, opts DifferentiatorsOptions) (*analysis.DifferentiatorsResult, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	d, err := c.loadData(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release()
	st, err := c.comparable(name, d, true)
	if err != nil {
		return nil, err
	}
	aopts := analysis.DifferentiatorsOptions{Attributes: opts.Attributes, Top: opts.Top, AsOf: st.asOf}
	if aopts.AsOf.IsZero() {
		aopts.AsOf = c.now()
	}
	if opts.Against != "" {
		base, err := c.comparable(opts.Against, d, true)
		if err != nil {
			return nil, err
		}
		aopts.Against = &analysis.Set{Name: base.rec.Name, Members: base.members}
	}
	return analysis.Differentiators(ctx, d.snap, analysis.Set{Name: st.rec.Name, Members: st.members}, aopts)
}

// comparable returns the stored segment an analysis compares (Catalog.stored,
// withAsOf as it says), or ErrNoMembers for one never refreshed.
func (c *Catalog) comparable(name string, d *loadedData, withAsOf bool) (*storedSegment, error) {
	st, err := c.stored(name, d, withAsOf)
	if err != nil {
		return nil, err
	}
	if st.rec.LastRefreshed.IsZero() {
		return nil, fmt.Errorf("%w: segment %q has never been refreshed, so it has no members to compare; refresh it first", ErrNoMembers, st.rec.Name)
	}
	return st, nil
}
