package catalog

import (
	"context"
	"fmt"
	"time"

	"github.com/RoaringBitmap/roaring/v2"

	"github.com/segmentkit/segmentkit/engine"
)

// DefaultEditSamples is how many customer keys an edit preview lists of
// those it would add and of those it would remove.
const DefaultEditSamples = 10

// MaxEditSamples bounds EditPreviewOptions.Samples.
const MaxEditSamples = 1000

// EditPreviewOptions configures PreviewEdit.
type EditPreviewOptions struct {
	// AsOf evaluates the new definition as of this instant; zero means
	// the instant the segment's current members were computed at (so
	// that the difference is the edit's alone), or now for a segment
	// never refreshed.
	AsOf time.Time
	// Samples is how many keys to list of the customers added and of those
	// removed; 0 means DefaultEditSamples, at most MaxEditSamples.
	Samples int
}

// EditPreview is what an edit of a segment's definition would change in
// its members (PreviewEdit), before it is saved.
type EditPreview struct {
	// Segment is the segment's name.
	Segment string `json:"segment"`
	// AsOf is the instant the new definition was evaluated at.
	AsOf time.Time `json:"asOf"`
	// Refreshed reports whether the segment has current members; without
	// them every member of the new definition is added.
	Refreshed bool `json:"refreshed"`
	// Current is the number of current members, Members the number the
	// new definition gives.
	Current uint64 `json:"current"`
	Members uint64 `json:"members"`
	// Added and Removed count the customers the edit would add and remove;
	// AddedKeys and RemovedKeys list up to Samples of each, in customer id
	// order.
	Added       uint64   `json:"added"`
	Removed     uint64   `json:"removed"`
	AddedKeys   []string `json:"addedKeys"`
	RemovedKeys []string `json:"removedKeys"`
}

// PreviewEdit evaluates a changed definition of the named segment, without
// saving it, and compares its members with the segment's current ones:
// the customers it would add and remove, counted, with sample keys. The
// definition is checked as Edit checks it; one with problems is an error
// (ErrInvalid, with every problem). References to other segments read
// their current members.
func (c *Catalog) PreviewEdit(ctx context.Context, name string, definition []byte, opts EditPreviewOptions) (*EditPreview, error) {
	if opts.Samples < 0 || opts.Samples > MaxEditSamples {
		return nil, fmt.Errorf("%w: samples must be from 0 to %d, not %d", ErrInvalid, MaxEditSamples, opts.Samples)
	}
	if opts.Samples == 0 {
		opts.Samples = DefaultEditSamples
	}
	def, problems, err := c.Check(ctx, definition, name)
	if err != nil {
		return nil, err
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, problems)
	}
	if def.Name != name {
		return nil, fmt.Errorf("%w: the definition is named %q but edits segment %q; to change a segment's name, rename it", ErrInvalidName, def.Name, name)
	}
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	d, err := c.loadData(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release()
	st, err := c.stored(name, d, true)
	if err != nil {
		return nil, err
	}
	refs, err := c.references(ctx, def, d)
	if err != nil {
		return nil, err
	}
	plan, err := engine.Compile(def, d.snap, engine.Options{Segments: refs})
	if err != nil {
		return nil, fmt.Errorf("%w: the definition does not fit the data: %w", ErrInvalid, err)
	}
	p := &EditPreview{Segment: st.rec.Name, AsOf: opts.AsOf, Refreshed: !st.rec.LastRefreshed.IsZero()}
	if p.AsOf.IsZero() {
		p.AsOf = st.asOf
	}
	if p.AsOf.IsZero() {
		p.AsOf = c.now()
	}
	members, err := plan.Eval(ctx, p.AsOf)
	if err != nil {
		return nil, err
	}
	added := roaring.AndNot(members, st.members)
	removed := roaring.AndNot(st.members, members)
	p.Current, p.Members = st.members.GetCardinality(), members.GetCardinality()
	p.Added, p.Removed = added.GetCardinality(), removed.GetCardinality()
	p.AddedKeys, p.RemovedKeys = sampleKeys(d, added, opts.Samples), sampleKeys(d, removed, opts.Samples)
	return p, nil
}

// sampleKeys returns the keys of the first n customers of ids.
func sampleKeys(d *loadedData, ids *roaring.Bitmap, n int) []string {
	out := []string{}
	for it := ids.Iterator(); it.HasNext() && len(out) < n; {
		out = append(out, d.snap.CustomerKey(it.Next()))
	}
	return out
}
