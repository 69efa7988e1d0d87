package catalog

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Splits: a segment's members divided into named groups by percentages
// (an A/B test, a campaign with a control group), with an optional
// holdout group that no export receives.
//
// Each customer falls in one of SplitBuckets buckets, a function of the
// split's salt and the customer's key alone (SplitBucket, documented in
// docs/format.md so that another system can compute it). Each group owns
// a set of buckets, kept as ranges; a member is in the group that owns
// its bucket. So a customer stays in its group across refreshes and data
// reloads for as long as the split's salt and buckets are unchanged, and
// a new split is laid out contiguously: the first group owns buckets 0
// to its share, the next group the following ones, and so on.
//
// Changing the percentages (SetSplit with the same salt) moves as few
// customers as possible: every group keeps as many of its buckets as its
// new share allows (its lowest ones), and the buckets given up (by
// groups that shrank or were removed) go to the groups that grew or are
// new, in the split's order, lowest first. Only the buckets of shrinking
// groups change owner, so no customer moves from a group that did not
// shrink, and none moves into a group that did not grow. A new salt lays
// the split out afresh, which reassigns customers at random.
//
// A split is stored in the splits bucket under its segment's id, so it
// follows the segment through a rename and goes with it when it is
// deleted.

// SplitBuckets is the number of buckets a split divides customers into:
// a group's share is a whole number of buckets, so percentages are
// multiples of 0.01.
const SplitBuckets = 10000

// SplitBucket returns the bucket, 0 to SplitBuckets-1, of the customer
// whose key, written as text as in a CSV file (storage.Snapshot's
// CustomerKey), is key, in a split with that salt: the first 8 bytes of
// SHA-256(salt, a zero byte, key), read as a big-endian unsigned
// integer, modulo SplitBuckets.
func SplitBucket(salt, key string) int {
	h := sha256.New()
	h.Write([]byte(salt))
	h.Write([]byte{0})
	h.Write([]byte(key))
	var sum [sha256.Size]byte
	return int(binary.BigEndian.Uint64(h.Sum(sum[:0])[:8]) % SplitBuckets)
}

// bucketer computes SplitBucket for one salt, key after key, in one
// reused buffer: no hasher or copy of the salt per key.
type bucketer struct{ buf []byte }

func newBucketer(salt string) *bucketer {
	return &bucketer{buf: append([]byte(salt), 0)}
}

// bucket returns SplitBucket(salt, key).
func (b *bucketer) bucket(key string) int {
	n := len(b.buf)
	b.buf = append(b.buf, key...)
	sum := sha256.Sum256(b.buf)
	b.buf = b.buf[:n]
	return int(binary.BigEndian.Uint64(sum[:8]) % SplitBuckets)
}

// BucketRange is the buckets From to To-1 of a split. JSON writes it as
// [From, To].
type BucketRange [2]int

// SplitGroup is one group of a split.
type SplitGroup struct {
	// Name names the group among the split's; it follows the rules of
	// segment names.
	Name string `json:"name"`
	// Percent is the group's share of the segment's members, more than 0
	// and in steps of 0.01; the shares of a split add up to 100.
	Percent float64 `json:"percent"`
	// Holdout marks the group no export receives: an export of the
	// segment sends its members but the holdout's, and an export of the
	// holdout itself is refused (ErrHoldout). A split has at most one.
	Holdout bool `json:"holdout,omitempty"`
	// Buckets are the buckets the group owns, as ascending ranges. The
	// catalog sets them; SetSplit ignores what the caller gives.
	Buckets []BucketRange `json:"buckets,omitempty"`
}

// Split is a segment's division into groups. A Split returned by the
// catalog is the caller's copy.
type Split struct {
	// Segment is the split segment's name.
	Segment string `json:"segment"`
	// Salt is the salt of SplitBucket.
	Salt string `json:"salt"`
	// Groups are the groups, in the order they were given.
	Groups []SplitGroup `json:"groups"`
	// Created is when the segment was first split; Modified when its
	// split last changed.
	Created  time.Time `json:"created"`
	Modified time.Time `json:"modified"`
}

// Group returns the split's group of that name, or nil.
func (s *Split) Group(name string) *SplitGroup {
	for i := range s.Groups {
		if s.Groups[i].Name == name {
			return &s.Groups[i]
		}
	}
	return nil
}

// Holdout returns the split's holdout group, or nil when it has none.
func (s *Split) Holdout() *SplitGroup {
	for i := range s.Groups {
		if s.Groups[i].Holdout {
			return &s.Groups[i]
		}
	}
	return nil
}

// owners returns, for every bucket, the index of the group that owns it.
func (s *Split) owners() []uint16 {
	out := make([]uint16, SplitBuckets)
	for gi, g := range s.Groups {
		for _, r := range g.Buckets {
			for b := r[0]; b < r[1]; b++ {
				out[b] = uint16(gi)
			}
		}
	}
	return out
}

// SplitOptions describe the split SetSplit gives a segment.
type SplitOptions struct {
	// Salt is the salt of SplitBucket. Empty keeps the salt of the
	// segment's current split, or for a segment not split yet is the
	// segment's name. A salt other than the current one lays the split out
	// afresh.
	Salt string
	// Groups are the groups, in order: at least two, names unique,
	// percentages adding up to 100, at most one holdout.
	Groups []SplitGroup
}

// GroupCount is a group of a split with its current member count.
type GroupCount struct {
	SplitGroup
	// Members is the number of the segment's current members in the
	// group.
	Members uint64 `json:"members"`
}

// SplitCounts is a split with the number of the segment's current
// members in each group.
type SplitCounts struct {
	// Segment and Salt are as in Split.
	Segment string `json:"segment"`
	Salt    string `json:"salt"`
	// Members is the segment's current member count.
	Members uint64 `json:"members"`
	// Groups are the split's groups, in order, with their counts.
	Groups []GroupCount `json:"groups"`
}

// splitRecord is a split as the file keeps it: each group's share in
// buckets, so that no float is read back.
type splitRecord struct {
	Salt     string        `json:"salt"`
	Groups   []splitGroupR `json:"groups"`
	Created  time.Time     `json:"created"`
	Modified time.Time     `json:"modified"`
}

// names returns the names of the split's groups, in order.
func (sr *splitRecord) names() []string {
	names := make([]string, len(sr.Groups))
	for i, g := range sr.Groups {
		names[i] = g.Name
	}
	return names
}

// index returns the index of the named group in sr.Groups, or -1.
func (sr *splitRecord) index(group string) int {
	return slices.IndexFunc(sr.Groups, func(g splitGroupR) bool { return g.Name == group })
}

type splitGroupR struct {
	Name    string        `json:"name"`
	Share   int           `json:"share"`
	Holdout bool          `json:"holdout,omitempty"`
	Buckets []BucketRange `json:"buckets"`
}

func (sr *splitRecord) public(segName string) *Split {
	out := &Split{Segment: segName, Salt: sr.Salt, Created: sr.Created, Modified: sr.Modified}
	for _, g := range sr.Groups {
		out.Groups = append(out.Groups, SplitGroup{Name: g.Name, Percent: float64(g.Share) / 100, Holdout: g.Holdout,
			Buckets: slices.Clone(g.Buckets)})
	}
	return out
}

// check validates the record's shape as read from the file: shares and
// buckets that cover every bucket once.
func (sr *splitRecord) check() error {
	seen := make([]bool, SplitBuckets)
	for _, g := range sr.Groups {
		n := 0
		for _, r := range g.Buckets {
			if r[0] < 0 || r[1] > SplitBuckets || r[0] >= r[1] {
				return fmt.Errorf("group %q has bucket range %v", excerpt(g.Name), r)
			}
			for b := r[0]; b < r[1]; b++ {
				if seen[b] {
					return fmt.Errorf("bucket %d has two groups", b)
				}
				seen[b] = true
			}
			n += r[1] - r[0]
		}
		if n != g.Share {
			return fmt.Errorf("group %q has %d buckets for a share of %d", excerpt(g.Name), n, g.Share)
		}
	}
	if slices.Contains(seen, false) {
		return fmt.Errorf("some buckets have no group")
	}
	return nil
}

func getSplit(tx *bolt.Tx, segID uint64) (*splitRecord, error) {
	b := tx.Bucket(bucketSplits)
	if b == nil {
		return nil, nil
	}
	v := b.Get(u64(segID))
	if v == nil {
		return nil, nil
	}
	sr := new(splitRecord)
	if err := decodeRecord(u64(segID), v, sr); err != nil {
		return nil, corrupt("the split of segment %d: %s", segID, unwrapCorrupt(err))
	}
	if err := sr.check(); err != nil {
		return nil, corrupt("the split of segment %d: %v", segID, err)
	}
	return sr, nil
}

func putSplit(tx *bolt.Tx, segID uint64, sr *splitRecord) error {
	b, err := tx.CreateBucketIfNotExists(bucketSplits)
	if err != nil {
		return err
	}
	v, err := encodeRecord(u64(segID), sr)
	if err != nil {
		return err
	}
	return b.Put(u64(segID), v)
}

func deleteSplit(tx *bolt.Tx, segID uint64) error {
	if b := tx.Bucket(bucketSplits); b != nil {
		return b.Delete(u64(segID))
	}
	return nil
}

// checkSplit returns the groups' shares in buckets, or every problem with
// opts, each with its path ("groups[1].percent").
func checkSplit(opts SplitOptions) ([]int, error) {
	var l diag.List
	if len(opts.Groups) < 2 {
		l.Add("groups", ErrSplit, "a split needs at least two groups, not %d", len(opts.Groups))
	}
	if len(opts.Groups) > SplitBuckets {
		l.Add("groups", ErrSplit, "a split has at most %d groups", SplitBuckets)
		return nil, l.Err()
	}
	shares := make([]int, len(opts.Groups))
	sum, holdouts, badPercent := 0, 0, false
	seen := map[string]int{}
	for i, g := range opts.Groups {
		path := fmt.Sprintf("groups[%d]", i)
		if err := segment.ValidateName(g.Name); err != nil {
			msg := strings.TrimPrefix(err.Error(), segment.ErrName.Error()+": ")
			l.Add(path+".name", ErrSplit, "group name: %s", msg)
		} else if j, ok := seen[g.Name]; ok {
			l.Add(path+".name", ErrSplit, "group %s is also groups[%d]; group names must be unique", diag.QuoteName(g.Name), j)
		} else {
			seen[g.Name] = i
		}
		p := g.Percent * 100
		r := math.Round(p)
		switch {
		case math.IsNaN(g.Percent) || g.Percent <= 0 || g.Percent > 100:
			l.Add(path+".percent", ErrSplit, "percent %v is not more than 0 and at most 100", g.Percent)
			badPercent = true
		case math.Abs(p-r) > 1e-6:
			l.Add(path+".percent", ErrSplit, "percent %v is not a multiple of 0.01", g.Percent)
			badPercent = true
		case r == 0:
			l.Add(path+".percent", ErrSplit, "percent %v is less than 0.01, the smallest share of a group", g.Percent)
			badPercent = true
		default:
			shares[i] = int(r)
			sum += int(r)
		}
		if g.Holdout {
			holdouts++
			if holdouts == 2 {
				l.Add(path+".holdout", ErrSplit, "a split has at most one holdout group")
			}
		}
	}
	if !badPercent && len(opts.Groups) > 0 && sum != SplitBuckets {
		l.Add("groups", ErrSplit, "the percentages add up to %s, not 100", formatShare(sum))
	}
	if err := l.Err(); err != nil {
		return nil, err
	}
	return shares, nil
}

// formatShare writes a share in buckets as a percentage: 4550 is "45.5".
func formatShare(n int) string {
	return strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%d.%02d", n/100, n%100), "0"), ".")
}

// layout returns the groups' buckets: contiguous in order when old is nil
// (or has another salt), else moving as few buckets as possible from old.
func layout(names []string, shares []int, old *splitRecord, salt string) [][]BucketRange {
	out := make([][]BucketRange, len(names))
	if old == nil || old.Salt != salt {
		at := 0
		for i, n := range shares {
			out[i] = []BucketRange{{at, at + n}}
			at += n
		}
		return out
	}
	owned := make([]bool, SplitBuckets)
	need := make([]int, len(names))
	for i, name := range names {
		need[i] = shares[i]
		for _, g := range old.Groups {
			if g.Name != name {
				continue
			}
			// Keep the group's lowest buckets, up to its new share.
			for _, r := range g.Buckets {
				take := min(r[1]-r[0], need[i])
				if take > 0 {
					out[i] = append(out[i], BucketRange{r[0], r[0] + take})
					need[i] -= take
					for b := r[0]; b < r[0]+take; b++ {
						owned[b] = true
					}
				}
			}
		}
	}
	// The buckets given up go to the groups that need more, in order,
	// lowest first.
	b := 0
	for i := range names {
		for need[i] > 0 {
			for owned[b] {
				b++
			}
			from := b
			for b < SplitBuckets && !owned[b] && b-from < need[i] {
				owned[b] = true
				b++
			}
			out[i] = append(out[i], BucketRange{from, b})
			need[i] -= b - from
		}
		out[i] = mergeRanges(out[i])
	}
	return out
}

// mergeRanges sorts ranges and joins the adjacent ones.
func mergeRanges(rs []BucketRange) []BucketRange {
	slices.SortFunc(rs, func(a, b BucketRange) int { return a[0] - b[0] })
	var out []BucketRange
	for _, r := range rs {
		if n := len(out); n > 0 && out[n-1][1] == r[0] {
			out[n-1][1] = r[1]
			continue
		}
		out = append(out, r)
	}
	return out
}

// SetSplit splits the segment into groups, or changes its split (see the
// comment on splits above for what moves). Problems with opts (fewer than
// two groups, a bad or repeated group name, a percentage that is not a
// multiple of 0.01, percentages that do not add up to 100, two holdouts)
// are returned together, each with its path, wrapping ErrSplit; nothing
// is stored then. A group that a destination of the segment exports or a
// definition references ({"segment": NAME, "group": GROUP}) may not be
// removed, nor made the holdout (ErrReferenced, ErrHoldout), and one that
// a priority list names may not be removed either. SetSplit does not
// refresh the segment (segments that reference its groups see the change
// at their next refresh) and needs no Source.
func (c *Catalog) SetSplit(ctx context.Context, segmentName string, opts SplitOptions) (*Split, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	shares, err := checkSplit(opts)
	if err != nil {
		return nil, fmt.Errorf("split of %q: %w", segmentName, err)
	}
	var out *Split
	err = c.updateRecord(segmentName, func(tx *bolt.Tx, r *record) error {
		old, err := getSplit(tx, r.ID)
		if err != nil {
			return err
		}
		salt := opts.Salt
		switch {
		case salt != "":
		case old != nil:
			salt = old.Salt
		default:
			salt = r.Name
		}
		names := make([]string, len(opts.Groups))
		for i, g := range opts.Groups {
			names[i] = g.Name
		}
		if err := checkGroupUses(tx, r, opts.Groups); err != nil {
			return err
		}
		buckets := layout(names, shares, old, salt)
		now := c.now()
		sr := &splitRecord{Salt: salt, Created: now, Modified: now}
		if old != nil {
			sr.Created = old.Created
		}
		for i, g := range opts.Groups {
			sr.Groups = append(sr.Groups, splitGroupR{Name: g.Name, Share: shares[i], Holdout: g.Holdout, Buckets: buckets[i]})
		}
		if err := sr.check(); err != nil {
			panic("BUG: split layout: " + err.Error())
		}
		out = sr.public(r.Name)
		return putSplit(tx, r.ID, sr)
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// checkGroupUses refuses a new set of groups that drops a group a
// destination of r exports or a priority list names, or that makes such
// a group the holdout.
func checkGroupUses(tx *bolt.Tx, r *record, groups []SplitGroup) error {
	// use checks one use of a group, by a user (`its destination "D"`)
	// that fix would free of it.
	use := func(group, user, fix string) error {
		i := slices.IndexFunc(groups, func(g SplitGroup) bool { return g.Name == group })
		switch {
		case i < 0:
			return fmt.Errorf("group %q of segment %q %w by %s; %s before removing the group", group, r.Name, ErrReferenced, user, fix)
		case groups[i].Holdout:
			return fmt.Errorf("group %q of segment %q is used by %s and cannot be the %w; %s first", group, r.Name, user, ErrHoldout, fix)
		}
		return nil
	}
	ds, err := segmentDests(tx, r.ID)
	if err != nil {
		return err
	}
	for _, d := range ds {
		if d.Group == "" {
			continue
		}
		if err := use(d.Group, fmt.Sprintf("its destination %q", d.Name), "remove the destination"); err != nil {
			return err
		}
	}
	refs, err := groupRefsTo(tx, r.Name)
	if err != nil {
		return err
	}
	for _, g := range slices.Sorted(maps.Keys(refs)) {
		if err := use(g, fmt.Sprintf("segment %q", refs[g]), "change its definition"); err != nil {
			return err
		}
	}
	lists, err := allPriorityLists(tx)
	if err != nil {
		return err
	}
	for _, pl := range lists {
		for _, e := range pl.Entries {
			if e.SegID != r.ID || e.Group == "" {
				continue
			}
			if err := use(e.Group, fmt.Sprintf("priority list %q", pl.Name), "change the list"); err != nil {
				return err
			}
		}
	}
	return nil
}

// Split returns the segment's split; an error wraps ErrNotFound when the
// segment does not exist or is not split.
func (c *Catalog) Split(segmentName string) (*Split, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out *Split
	err := c.view(func(tx *bolt.Tx) error {
		r, sr, err := splitOf(tx, segmentName)
		if err == nil {
			out = sr.public(r.Name)
		}
		return err
	})
	return out, err
}

// splitOf returns the named segment's record and split, or an error
// wrapping ErrNotFound.
func splitOf(tx *bolt.Tx, segmentName string) (*record, *splitRecord, error) {
	r, err := getByName(tx, segmentName)
	if err != nil {
		return nil, nil, err
	}
	sr, err := getSplit(tx, r.ID)
	if err != nil {
		return nil, nil, err
	}
	if sr == nil {
		return nil, nil, fmt.Errorf("split of segment %q %w: the segment is not split", segmentName, ErrNotFound)
	}
	return r, sr, nil
}

// RemoveSplit removes the segment's split, so that its exports send every
// member again. It refuses (ErrReferenced) while a destination of the
// segment or a priority list names one of its groups. Removing the split
// of a segment that has none does nothing.
func (c *Catalog) RemoveSplit(segmentName string) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	return c.updateRecord(segmentName, func(tx *bolt.Tx, r *record) error {
		if err := checkGroupUses(tx, r, nil); err != nil {
			return err
		}
		return deleteSplit(tx, r.ID)
	})
}

// groupNotFound returns the error for a group the split does not have,
// suggesting the nearest name.
func groupNotFound(segName string, sr *splitRecord, group string) error {
	names := sr.names()
	if s := diag.Nearest(group, names); s != "" {
		return fmt.Errorf("group %s of segment %q %w%s", diag.QuoteName(group), segName, ErrNotFound, diag.DidYouMean(s))
	}
	return fmt.Errorf("group %s of segment %q %w; its groups are %s", diag.QuoteName(group), segName, ErrNotFound, strings.Join(names, ", "))
}

// splitMembers returns members divided into the split's groups: one new
// bitmap per group, in the split's order. It hashes the key of every
// member, checking ctx every 64K members.
func splitMembers(ctx context.Context, snap *storage.Snapshot, sr *splitRecord, members *roaring.Bitmap) ([]*roaring.Bitmap, error) {
	s := sr.public("")
	owner := s.owners()
	out := make([]*roaring.Bitmap, len(s.Groups))
	bufs := make([][]uint32, len(s.Groups))
	for i := range out {
		out[i] = roaring.New()
	}
	flush := func(i int) {
		out[i].AddMany(bufs[i])
		bufs[i] = bufs[i][:0]
	}
	n := 0
	bk := newBucketer(sr.Salt)
	it := members.Iterator()
	for it.HasNext() {
		if n&0xffff == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		n++
		id := it.Next()
		g := owner[bk.bucket(snap.CustomerKey(id))]
		bufs[g] = append(bufs[g], id)
		if len(bufs[g]) == 4096 {
			flush(int(g))
		}
	}
	for i := range bufs {
		flush(i)
	}
	return out, nil
}

// GroupMembers returns the members of the segment's split group: those
// of its current members whose bucket the group owns, as customer ids of
// the source's current snapshot. An unknown group is an error wrapping
// ErrNotFound that suggests the nearest group. The bitmap is new and
// belongs to the caller. GroupMembers needs a Source (ErrNoSource).
func (c *Catalog) GroupMembers(ctx context.Context, segmentName, group string) (*roaring.Bitmap, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	d, err := c.loadData(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release()
	bm, _, err := c.groupMembers(ctx, segmentName, group, d)
	return bm, err
}

// GroupMembersIn returns the members of the segment's split group as
// customer ids of snap, a snapshot the caller holds (and keeps ownership
// of), as MembersIn does for a segment. It needs no Source. The bitmap is
// new and belongs to the caller.
func (c *Catalog) GroupMembersIn(ctx context.Context, segmentName, group string, snap *storage.Snapshot) (*roaring.Bitmap, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if snap == nil {
		return nil, errors.New("GroupMembersIn: nil snapshot")
	}
	keys, err := c.fp.get(ctx, snap)
	if err != nil {
		return nil, err
	}
	bm, _, err := c.groupMembers(ctx, segmentName, group, &loadedData{snap: snap, keys: keys, release: func() {}})
	return bm, err
}

// groupMembers returns the group's members mapped to d, with the
// segment's split.
func (c *Catalog) groupMembers(ctx context.Context, segmentName, group string, d *loadedData) (*roaring.Bitmap, *splitRecord, error) {
	sr, _, members, err := c.splitAndMembers(segmentName, d, group)
	if err != nil {
		return nil, nil, err
	}
	groups, err := splitMembers(ctx, d.snap, sr, members)
	if err != nil {
		return nil, nil, err
	}
	return groups[sr.index(group)], sr, nil
}

// splitAndMembers reads the segment's split, name and members mapped to d
// in one transaction, so that they belong together; a group not empty
// must be one of the split's (groupNotFound).
func (c *Catalog) splitAndMembers(segmentName string, d *loadedData, group string) (*splitRecord, string, *roaring.Bitmap, error) {
	var sr *splitRecord
	var name string
	var members *roaring.Bitmap
	err := c.view(func(tx *bolt.Tx) error {
		r, s, err := splitOf(tx, segmentName)
		if err != nil {
			return err
		}
		if group != "" && s.index(group) < 0 {
			return groupNotFound(r.Name, s, group)
		}
		sr, name = s, r.Name
		members, err = c.storedMembers(tx, r.ID, d)
		return err
	})
	return sr, name, members, err
}

// GroupCounts returns the segment's split with the number of its current
// members in each group. It needs a Source (ErrNoSource).
func (c *Catalog) GroupCounts(ctx context.Context, segmentName string) (*SplitCounts, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	d, err := c.loadData(ctx)
	if err != nil {
		return nil, err
	}
	defer d.release()
	sr, name, members, err := c.splitAndMembers(segmentName, d, "")
	if err != nil {
		return nil, err
	}
	groups, err := splitMembers(ctx, d.snap, sr, members)
	if err != nil {
		return nil, err
	}
	s := sr.public(name)
	out := &SplitCounts{Segment: s.Segment, Salt: s.Salt, Members: members.GetCardinality()}
	for i, g := range s.Groups {
		out.Groups = append(out.Groups, GroupCount{SplitGroup: g, Members: groups[i].GetCardinality()})
	}
	return out, nil
}

// withoutHoldout removes from members, in place, the members of the
// segment's holdout group, if it is split and has one.
func withoutHoldout(ctx context.Context, tx *bolt.Tx, segID uint64, snap *storage.Snapshot, members *roaring.Bitmap) error {
	sr, err := getSplit(tx, segID)
	if err != nil || sr == nil {
		return err
	}
	hi := slices.IndexFunc(sr.Groups, func(g splitGroupR) bool { return g.Holdout })
	if hi < 0 {
		return nil
	}
	groups, err := splitMembers(ctx, snap, sr, members)
	if err != nil {
		return err
	}
	members.AndNot(groups[hi])
	return nil
}

// checkExportGroup checks the group a destination of r is to be sent:
// none, or a group of r's split that is not the holdout.
func checkExportGroup(tx *bolt.Tx, r *record, group string) error {
	_, err := exportSplit(tx, r, group)
	return err
}

// exportSplit returns r's split, having checked that group is one of its
// groups and not the holdout; nil for no group.
func exportSplit(tx *bolt.Tx, r *record, group string) (*splitRecord, error) {
	if group == "" {
		return nil, nil
	}
	sr, err := getSplit(tx, r.ID)
	if err != nil {
		return nil, err
	}
	if sr == nil {
		return nil, fmt.Errorf("group %s of segment %q %w: the segment is not split", diag.QuoteName(group), r.Name, ErrNotFound)
	}
	i := sr.index(group)
	if i < 0 {
		return nil, groupNotFound(r.Name, sr, group)
	}
	if sr.Groups[i].Holdout {
		return nil, fmt.Errorf("group %q of segment %q is its %w: no export receives it", group, r.Name, ErrHoldout)
	}
	return sr, nil
}

// exportMembers returns the members an export of r sends: those of group
// when it is not empty, else members without the holdout's. members is
// not modified.
func exportMembers(ctx context.Context, tx *bolt.Tx, r *record, group string, snap *storage.Snapshot, members *roaring.Bitmap) (*roaring.Bitmap, error) {
	if group == "" {
		out := members.Clone()
		return out, withoutHoldout(ctx, tx, r.ID, snap, out)
	}
	sr, err := exportSplit(tx, r, group)
	if err != nil {
		return nil, err
	}
	groups, err := splitMembers(ctx, snap, sr, members)
	if err != nil {
		return nil, err
	}
	return groups[sr.index(group)], nil
}
