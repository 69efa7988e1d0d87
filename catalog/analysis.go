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
		st, err := c.stored(name, d, false)
		if err != nil {
			return nil, err
		}
		if st.rec.LastRefreshed.IsZero() {
			return nil, fmt.Errorf("%w: segment %q has never been refreshed, so it has no members to compare; refresh it first", ErrNoMembers, st.rec.Name)
		}
		sets[i] = analysis.Set{Name: st.rec.Name, Members: st.members}
	}
	return analysis.Overlap(ctx, d.snap, sets, opts)
}
