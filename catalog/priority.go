package catalog

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/segment"
)

// Priority lists: an ordered list of segments (or groups of split
// segments) in which each customer is assigned to the first entry that
// contains them, so that overlapping campaigns reach each customer once.
// An entry's customers are its current members (those of its segment's
// last successful refresh, a group's part of them) less the customers of
// every entry before it. A list is stored by name in the priority bucket,
// its entries by segment id, so that a rename keeps it; a segment a list
// names cannot be deleted.

// PriorityEntry is one entry of a priority list: a segment, or one group
// of a split segment.
type PriorityEntry struct {
	// Segment names the segment.
	Segment string `json:"segment"`
	// Group names a group of the segment's split; empty means the whole
	// segment.
	Group string `json:"group,omitempty"`
}

// String returns "Segment", or "Segment/Group" for a group: what an
// export of the list writes in its entry column. A slash never occurs in
// a segment name, so the text is unambiguous.
func (e PriorityEntry) String() string {
	if e.Group == "" {
		return e.Segment
	}
	return e.Segment + "/" + e.Group
}

// PriorityList is an ordered list of entries. A PriorityList returned by
// the catalog is the caller's copy.
type PriorityList struct {
	// Name is unique among the catalog's priority lists and follows the
	// rules of segment names.
	Name string `json:"name"`
	// Description is free text.
	Description string `json:"description,omitempty"`
	// Entries are the entries, first priority first.
	Entries []PriorityEntry `json:"entries"`
	// Created and Modified are set by the catalog.
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// PriorityCount is an entry of a priority list with the number of
// customers assigned to it.
type PriorityCount struct {
	PriorityEntry
	// Members is the number of customers assigned to the entry: its
	// members that no earlier entry has.
	Members uint64 `json:"members"`
	// Held is how many of them are in the holdout group of the entry's
	// segment: they are assigned to the entry, so no later entry gets
	// them, and no export sends them.
	Held uint64 `json:"held,omitempty"`
}

// PriorityCounts is a priority list with the count of each entry.
type PriorityCounts struct {
	// List is the list's name.
	List string `json:"list"`
	// Entries are the entries in priority order with their counts.
	Entries []PriorityCount `json:"entries"`
	// Customers is the number of customers assigned to some entry.
	Customers uint64 `json:"customers"`
}

type priorityRecord struct {
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Entries     []priorityEntryR `json:"entries"`
	Created     time.Time        `json:"created"`
	Modified    time.Time        `json:"modified"`
}

type priorityEntryR struct {
	SegID uint64 `json:"segment"`
	Group string `json:"group,omitempty"`
}

func (pr *priorityRecord) public(tx *bolt.Tx) (*PriorityList, error) {
	out := &PriorityList{Name: pr.Name, Description: pr.Description, Created: pr.Created, Modified: pr.Modified}
	for i, e := range pr.Entries {
		r, err := getRecord(tx, e.SegID)
		if err != nil {
			return nil, err
		}
		if r == nil {
			return nil, corrupt("priority list %q: entries[%d] names segment %d, which does not exist", excerpt(pr.Name), i, e.SegID)
		}
		out.Entries = append(out.Entries, PriorityEntry{Segment: r.Name, Group: e.Group})
	}
	return out, nil
}

func getPriorityList(tx *bolt.Tx, name string) (*priorityRecord, error) {
	b := tx.Bucket(bucketPriority)
	var v []byte
	if b != nil {
		v = b.Get([]byte(name))
	}
	if v == nil {
		lists, err := allPriorityLists(tx)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, l := range lists {
			names = append(names, l.Name)
		}
		return nil, fmt.Errorf("priority list %s %w%s", diag.QuoteName(name), ErrNotFound, diag.DidYouMean(diag.Nearest(name, names)))
	}
	pr := new(priorityRecord)
	if err := decodeRecord([]byte(name), v, pr); err != nil {
		return nil, corrupt("priority list %q: %s", excerpt(name), unwrapCorrupt(err))
	}
	return pr, nil
}

// allPriorityLists returns every priority list, in name order.
func allPriorityLists(tx *bolt.Tx) ([]*priorityRecord, error) {
	b := tx.Bucket(bucketPriority)
	if b == nil {
		return nil, nil
	}
	var out []*priorityRecord
	err := b.ForEach(func(k, v []byte) error {
		pr := new(priorityRecord)
		if err := decodeRecord(k, v, pr); err != nil {
			return corrupt("priority list %q: %s", excerpt(string(k)), unwrapCorrupt(err))
		}
		out = append(out, pr)
		return nil
	})
	return out, err
}

func putPriorityList(tx *bolt.Tx, pr *priorityRecord) error {
	b, err := tx.CreateBucketIfNotExists(bucketPriority)
	if err != nil {
		return err
	}
	v, err := encodeRecord([]byte(pr.Name), pr)
	if err != nil {
		return err
	}
	return b.Put([]byte(pr.Name), v)
}

// priorityListsOf returns the names of the priority lists that name the
// segment.
func priorityListsOf(tx *bolt.Tx, segID uint64) ([]string, error) {
	lists, err := allPriorityLists(tx)
	var out []string
	for _, l := range lists {
		if slices.ContainsFunc(l.Entries, func(e priorityEntryR) bool { return e.SegID == segID }) {
			out = append(out, l.Name)
		}
	}
	return out, err
}

// CreatePriorityList saves a new priority list from list's Name,
// Description and Entries. Every problem is reported together, each with
// its path: a bad name (ErrPriorityList), no entries, an entry given
// twice (ErrPriorityList), an entry naming no segment, a group of a
// segment that is not split or has no such group (ErrNotFound, with the
// nearest name), a holdout group (ErrHoldout). A list of that name that
// exists already is ErrExists. CreatePriorityList needs no Source.
func (c *Catalog) CreatePriorityList(ctx context.Context, list PriorityList) (*PriorityList, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var out *PriorityList
	err := c.update(func(tx *bolt.Tx) error {
		var l diag.List
		if err := segment.ValidateName(list.Name); err != nil {
			l.Add("name", ErrPriorityList, "%s", strings.TrimPrefix(err.Error(), segment.ErrName.Error()+": "))
		}
		if len(list.Entries) == 0 {
			l.Add("entries", ErrPriorityList, "a priority list needs at least one entry")
		}
		segNames := names(tx) // for suggestions
		now := c.now()
		pr := &priorityRecord{Name: list.Name, Description: list.Description, Created: now, Modified: now}
		seen := map[PriorityEntry]int{}
		for i, e := range list.Entries {
			path := fmt.Sprintf("entries[%d]", i)
			if j, ok := seen[e]; ok {
				l.Add(path, ErrPriorityList, "%s is also entries[%d]; each entry may be given once", e, j)
				continue
			}
			seen[e] = i
			id, ok := lookup(tx, e.Segment)
			if !ok {
				l.AddSuggest(path+".segment", ErrNotFound, e.Segment, segNames, "no segment is named %s", diag.QuoteName(e.Segment))
				continue
			}
			if e.Group != "" {
				sr, err := getSplit(tx, id)
				if err != nil {
					return err
				}
				if sr == nil {
					l.Add(path+".group", ErrNotFound, "segment %s is not split, so it has no group %s", e.Segment, diag.QuoteName(e.Group))
					continue
				}
				gi := sr.index(e.Group)
				if gi < 0 {
					gs := sr.names()
					l.AddSuggest(path+".group", ErrNotFound, e.Group, gs, "segment %s has no group %s; its groups are %s",
						e.Segment, diag.QuoteName(e.Group), strings.Join(gs, ", "))
					continue
				}
				if sr.Groups[gi].Holdout {
					l.Add(path+".group", ErrHoldout, "group %s of segment %s is its holdout, which nothing receives", e.Group, e.Segment)
					continue
				}
			}
			pr.Entries = append(pr.Entries, priorityEntryR{SegID: id, Group: e.Group})
		}
		if err := l.Err(); err != nil {
			return fmt.Errorf("%w %s: %w", ErrPriorityList, diag.QuoteName(list.Name), err)
		}
		if b := tx.Bucket(bucketPriority); b != nil && b.Get([]byte(list.Name)) != nil {
			return fmt.Errorf("priority list %q %w", list.Name, ErrExists)
		}
		if err := putPriorityList(tx, pr); err != nil {
			return err
		}
		var err error
		out, err = pr.public(tx)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.notify()
	return out, nil
}

// GetPriorityList returns the named priority list, or an error wrapping
// ErrNotFound that suggests the nearest name.
func (c *Catalog) GetPriorityList(name string) (*PriorityList, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out *PriorityList
	err := c.view(func(tx *bolt.Tx) error {
		pr, err := getPriorityList(tx, name)
		if err != nil {
			return err
		}
		out, err = pr.public(tx)
		return err
	})
	return out, err
}

// PriorityLists returns every priority list, in name order.
func (c *Catalog) PriorityLists() ([]*PriorityList, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out []*PriorityList
	err := c.view(func(tx *bolt.Tx) error {
		lists, err := allPriorityLists(tx)
		if err != nil {
			return err
		}
		for _, pr := range lists {
			pl, err := pr.public(tx)
			if err != nil {
				return err
			}
			out = append(out, pl)
		}
		return nil
	})
	return out, err
}

// DeletePriorityList removes the named priority list; its segments stay.
func (c *Catalog) DeletePriorityList(name string) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	err := c.update(func(tx *bolt.Tx) error {
		if _, err := getPriorityList(tx, name); err != nil {
			return err
		}
		return tx.Bucket(bucketPriority).Delete([]byte(name))
	})
	if err == nil {
		c.notify()
	}
	return err
}

// assignment is a priority list's customers, entry by entry.
type assignment struct {
	list    *PriorityList
	entries []*roaring.Bitmap // disjoint, in priority order
	held    []*roaring.Bitmap // the part of each entry in its segment's holdout
}

// assign computes the list's assignment over d. An entry whose segment
// was never refreshed is an error wrapping ErrNoMembers: its customers
// are unknown, and treating them as none would hand them to later
// entries.
func (c *Catalog) assign(ctx context.Context, name string, d *loadedData) (*assignment, error) {
	a := &assignment{}
	type part struct {
		segID   uint64
		members *roaring.Bitmap
		split   *splitRecord
		group   string
		segName string
	}
	var parts []part
	err := c.view(func(tx *bolt.Tx) error {
		pr, err := getPriorityList(tx, name)
		if err != nil {
			return err
		}
		if a.list, err = pr.public(tx); err != nil {
			return err
		}
		for i, e := range pr.Entries {
			r, err := getRecord(tx, e.SegID)
			if err != nil {
				return err
			}
			if r.LastRefreshed.IsZero() && !r.Frozen {
				return fmt.Errorf("priority list %q: entries[%d]: segment %q %w: it has never been refreshed; refresh it first",
					name, i, r.Name, ErrNoMembers)
			}
			m, err := c.storedMembers(tx, r.ID, d)
			if err != nil {
				return err
			}
			sr, err := getSplit(tx, r.ID)
			if err != nil {
				return err
			}
			if e.Group != "" && (sr == nil || sr.index(e.Group) < 0) {
				return fmt.Errorf("priority list %q: entries[%d]: group %q of segment %q %w", name, i, e.Group, r.Name, ErrNotFound)
			}
			parts = append(parts, part{segID: r.ID, members: m, split: sr, group: e.Group, segName: r.Name})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	taken := roaring.New()
	hashed := map[uint64][]*roaring.Bitmap{} // a segment's groups, hashed once for all its entries
	for _, p := range parts {
		m := p.members
		held := roaring.New()
		// The groups are hashed for a group entry, or to hold back a
		// whole segment's holdout; a split without one changes nothing.
		if p.split != nil && (p.group != "" || slices.ContainsFunc(p.split.Groups, func(g splitGroupR) bool { return g.Holdout })) {
			groups, ok := hashed[p.segID]
			if !ok {
				var err error
				if groups, err = splitMembers(ctx, d.snap, p.split, m); err != nil {
					return nil, err
				}
				hashed[p.segID] = groups
			}
			for gi, g := range p.split.Groups {
				switch {
				case p.group != "" && g.Name == p.group:
					m = groups[gi]
					if g.Holdout {
						// A list never names a holdout (SetSplit and
						// the list's checks refuse it); were one named,
						// its customers would still be held back.
						held = groups[gi].Clone() // the groups serve later entries
					}
				case p.group == "" && g.Holdout:
					held = groups[gi].Clone()
				}
			}
		}
		m = roaring.AndNot(m, taken)
		held.And(m)
		taken.Or(m)
		a.entries = append(a.entries, m)
		a.held = append(a.held, held)
	}
	return a, nil
}

// PriorityMembers returns the customers assigned to each entry of the
// list, in priority order, as customer ids of the source's current
// snapshot: no customer is in two of them. The customers of a segment's
// holdout group are in its entry's bitmap (they are assigned to it), but
// no export sends them. The bitmaps are new and belong to the caller.
// PriorityMembers needs a Source (ErrNoSource).
func (c *Catalog) PriorityMembers(ctx context.Context, name string) ([]*roaring.Bitmap, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	d, err := c.loadData(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release()
	a, err := c.assign(ctx, name, d)
	if err != nil {
		return nil, err
	}
	return a.entries, nil
}

// PriorityCounts returns the number of customers assigned to each entry
// of the list. It needs a Source (ErrNoSource).
func (c *Catalog) PriorityCounts(ctx context.Context, name string) (*PriorityCounts, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	d, err := c.loadData(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release()
	a, err := c.assign(ctx, name, d)
	if err != nil {
		return nil, err
	}
	out := &PriorityCounts{List: a.list.Name}
	for i, e := range a.list.Entries {
		n := a.entries[i].GetCardinality()
		out.Entries = append(out.Entries, PriorityCount{PriorityEntry: e, Members: n, Held: a.held[i].GetCardinality()})
		out.Customers += n
	}
	return out, nil
}

// ExportPriorityList writes the list's customers to w as CSV, each
// customer once, in customer id order: a header row, then one row per
// customer with its entry first (PriorityEntry.String: "Segment" or
// "Segment/Group"), then the columns Download writes for fields (the
// customer key, then the fields; nil means every customer attribute).
// Customers of a holdout group are not sent. Measures are computed at
// the catalog clock's now. It needs a Source (ErrNoSource).
func (c *Catalog) ExportPriorityList(ctx context.Context, name string, w io.Writer, fields []string) error {
	_, err := c.exportPriority(ctx, name, export.NewCSVTo(w, name), fields)
	return err
}

// ExportPriorityListTo sends the list's customers to the target as
// ExportPriorityList writes them, each once with its entry as the first
// column ("entry"), in one full export: to a file (csv:, jsonl:,
// parquet:, arrow:) or a webhook (webhook:, whose rows then carry
// "entry"). A target that keeps no entry column (roaring:, postgres:) is
// refused (export.ErrDestination). Unlike a segment's destinations, the
// target is not kept and no delta state is: each export sends every
// customer. It returns what the writer delivered.
func (c *Catalog) ExportPriorityListTo(ctx context.Context, name, to string, fields []string) (export.Stats, error) {
	dest, err := c.openDestination(strings.TrimSpace(to))
	if err != nil {
		return export.Stats{}, err
	}
	if !export.KeepsColumns(dest) {
		return export.Stats{}, fmt.Errorf("%w: a priority list's export needs a column for each customer's entry, which %s does not keep; export to csv:, jsonl:, parquet:, arrow: or webhook:",
			export.ErrDestination, dest)
	}
	return c.exportPriority(ctx, name, dest, fields)
}

// exportPriority sends the list's customers to dest, with their entry.
func (c *Catalog) exportPriority(ctx context.Context, name string, dest export.Destination, fields []string) (export.Stats, error) {
	if err := c.enter(); err != nil {
		return export.Stats{}, err
	}
	defer c.leave()
	d, err := c.loadData(ctx)
	if err != nil {
		return export.Stats{}, err
	}
	defer d.release()
	a, err := c.assign(ctx, name, d)
	if err != nil {
		return export.Stats{}, err
	}
	all := roaring.New()
	sends := make([]*roaring.Bitmap, len(a.entries))
	for i, m := range a.entries {
		sends[i] = roaring.AndNot(m, a.held[i])
		all.Or(sends[i])
	}
	plan, err := export.NewPlan(ctx, d.snap, export.Fields{Names: fields}, c.now(), all)
	if err != nil {
		return export.Stats{}, err
	}
	labels := make([]string, len(a.list.Entries))
	for i, e := range a.list.Entries {
		labels[i] = e.String()
	}
	stats, err := export.Run(ctx, &entryDest{inner: dest, labels: labels, entries: sends}, plan, export.FullSet(all), export.RunOptions{Segment: name})
	if err != nil {
		return stats, fmt.Errorf("export priority list %q: %w", name, err)
	}
	return stats, nil
}

// EntryColumn is the first column of a priority list's export: each
// customer's entry (PriorityEntry.String).
const EntryColumn = "entry"

// entryDest is a destination that receives a full export with an entry
// column first: it adds the column to the header's schema and to each
// batch, and hands them to the destination it wraps, so that every file
// format and the webhook carry it as they carry the other columns.
type entryDest struct {
	inner  export.Destination
	labels []string
	// entries are the disjoint customers of each entry: a row's entry is
	// the one whose bitmap has it (a few Contains per row, where a map of
	// every customer would cost tens of bytes each).
	entries []*roaring.Bitmap
}

type entryWriter struct {
	export.Writer
	d      *entryDest
	schema *arrow.Schema
}

var (
	_ export.Destination = (*entryDest)(nil)
	_ export.Writer      = (*entryWriter)(nil)
)

func (e *entryDest) String() string { return e.inner.String() }

func (e *entryDest) Open(ctx context.Context, h *export.Header) (export.Writer, error) {
	fs := append([]arrow.Field{{Name: EntryColumn, Type: arrow.BinaryTypes.String}}, h.Schema.Fields()...)
	h2 := *h
	h2.Schema = arrow.NewSchema(fs, nil)
	w, err := e.inner.Open(ctx, &h2)
	if err != nil {
		return nil, err
	}
	return &entryWriter{Writer: w, d: e, schema: h2.Schema}, nil
}

// Write adds the entry column to the batch and writes it.
func (w *entryWriter) Write(ctx context.Context, b *export.Batch) error {
	sb := array.NewStringBuilder(memory.DefaultAllocator)
	defer sb.Release()
	for _, r := range b.Rows {
		label := ""
		for i, m := range w.d.entries {
			if m.Contains(r.ID) {
				label = w.d.labels[i]
				break
			}
		}
		sb.Append(label)
	}
	col := sb.NewArray()
	defer col.Release()
	rec := array.NewRecordBatch(w.schema, append([]arrow.Array{col}, b.Record.Columns()...), b.Record.NumRows())
	defer rec.Release()
	b2 := *b
	b2.Record = rec
	return w.Writer.Write(ctx, &b2)
}
