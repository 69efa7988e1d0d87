package catalog

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// CreateOptions adjusts Create. The zero value creates an inactive segment
// named by its definition.
type CreateOptions struct {
	// Name names the segment when the definition has no readable name (a
	// draft whose JSON does not parse). When both are given they must
	// match.
	Name string
	// Active creates the segment active and refreshes it at once, as
	// Activate does. A definition that does not validate is still saved,
	// as a draft, and Create returns it with an error wrapping ErrDraft.
	Active bool
	// AsOf is the instant the refresh that Active starts evaluates the
	// segment at, as RefreshOptions.AsOf; zero means the catalog clock's
	// now.
	AsOf time.Time
}

// schema returns the source's schema, for validation.
func (c *Catalog) schema(ctx context.Context) (*schema.Schema, error) {
	src, err := c.sourceOrErr()
	if err != nil {
		return nil, err
	}
	sch, err := src.Schema(ctx)
	if err != nil {
		return nil, fmt.Errorf("read the schema of %s: %w", src, err)
	}
	return sch, nil
}

// apply sets the record's definition fields from a checked definition.
func (r *record) apply(raw []byte, ck checked) {
	r.Definition = bytes.Clone(raw)
	r.DisplayName, r.Description = ck.displayName, ck.description
	r.Membership = ck.membership.String()
	r.Refs = ck.refs
	r.Problems = storeProblems(ck.problems)
	r.Draft = len(ck.problems) > 0
	if r.Draft {
		r.Active = false
	}
}

// Create saves a new segment from its definition's JSON (FORMAT.md
// section 2). A definition that validates against the source's schema and
// the catalog's segments is saved inactive, or active when opts.Active
// asks (and then refreshed at once, as Activate does); one that does not is
// saved as a draft with its problems listed in the returned Segment. The
// segment's name is the definition's; it must be a valid name
// (ErrInvalidName) not used by another segment (ErrExists).
//
// Create needs a Source for the schema (ErrNoSource). It does not keep or
// modify definition.
func (c *Catalog) Create(ctx context.Context, definition []byte, opts CreateOptions) (*Segment, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	rec, err := c.save(ctx, func(tx *bolt.Tx, sch *schema.Schema) (*record, error) {
		ck := check(tx, definition, sch, 0)
		name := ck.name
		switch {
		case name == "" && opts.Name == "":
			return nil, fmt.Errorf("%w: the definition has no name; give it a \"name\", or name the segment in the create options", ErrInvalidName)
		case name == "":
			name = opts.Name
		case opts.Name != "" && opts.Name != name:
			return nil, fmt.Errorf("%w: the definition is named %q, not %q", ErrInvalidName, name, opts.Name)
		}
		if err := segment.ValidateName(name); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidName, err)
		}
		if _, ok := lookup(tx, name); ok {
			return nil, fmt.Errorf("segment %q %w", name, ErrExists)
		}
		id, err := tx.Bucket(bucketSegments).NextSequence()
		if err != nil {
			return nil, err
		}
		now := c.now()
		rec := &record{ID: id, Name: name, Revision: 1, Created: now, Modified: now}
		rec.apply(definition, ck)
		rec.Active = opts.Active && !rec.Draft
		if err := putRecord(tx, rec); err != nil {
			return nil, err
		}
		return rec, tx.Bucket(bucketNames).Put([]byte(name), u64(id))
	})
	if err != nil {
		return nil, err
	}
	if opts.Active && rec.Draft {
		return rec.public(), fmt.Errorf("segment %q %w, saved but not activated: %w", rec.Name, ErrDraft, loadProblems(rec.Problems))
	}
	if rec.Active && c.src != nil {
		if _, err := c.refresh(ctx, refreshRequest{ids: []uint64{rec.ID}, trigger: TriggerActivation, asOf: opts.AsOf}); err != nil {
			return c.getByID(rec.ID, err)
		}
	}
	return c.getByID(rec.ID, nil)
}

// save checks and stores a definition: fn runs in one write transaction
// with the source's schema and returns the record it stored. Watchers are
// told of the change once it is committed.
func (c *Catalog) save(ctx context.Context, fn func(tx *bolt.Tx, sch *schema.Schema) (*record, error)) (*record, error) {
	sch, err := c.schema(ctx)
	if err != nil {
		return nil, err
	}
	var rec *record
	err = c.update(func(tx *bolt.Tx) error {
		var err error
		rec, err = fn(tx, sch)
		return err
	})
	if err != nil {
		return nil, err
	}
	c.notify()
	return rec, nil
}

// getByID returns the segment's current view, and err.
func (c *Catalog) getByID(id uint64, err error) (*Segment, error) {
	var out *Segment
	verr := c.view(func(tx *bolt.Tx) error {
		r, err := getRecord(tx, id)
		if r != nil {
			out = r.public()
		}
		return err
	})
	if out != nil {
		c.overlay(out, id)
	}
	if err == nil {
		err = verr
	}
	return out, err
}

// Edit replaces the named segment's definition (and so its display name,
// description and type) and validates it again, as Create does. A name in
// the definition must be the segment's; rename with Rename. A definition
// that does not validate turns the segment into a draft, which is
// inactive: an active segment stops being refreshed until an edit makes it
// valid again. An edit that changes what a static segment selects (its
// groups or type) unfreezes it: the next successful refresh computes and
// freezes its members again. Edit does not refresh the segment.
//
// Edit needs a Source for the schema (ErrNoSource). It does not keep or
// modify definition.
func (c *Catalog) Edit(ctx context.Context, name string, definition []byte) (*Segment, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	rec, err := c.save(ctx, func(tx *bolt.Tx, sch *schema.Schema) (*record, error) {
		r, err := getByName(tx, name)
		if err != nil {
			return nil, err
		}
		ck := check(tx, definition, sch, r.ID)
		if ck.name != "" && ck.name != name {
			return nil, fmt.Errorf("%w: the definition is named %q but edits segment %q; to change a segment's name, rename it", ErrInvalidName, ck.name, name)
		}
		old, _ := segment.Parse(r.Definition)
		if meaningOf(old, r.Definition) != ck.meaning {
			r.Revision++
			r.Frozen = false
		}
		r.apply(definition, ck)
		r.Modified = c.now()
		return r, putRecord(tx, r)
	})
	if err != nil {
		return nil, err
	}
	return c.getByID(rec.ID, nil)
}

// Rename gives the segment a new name. The name in its definition and
// every reference to it in other segments' definitions (drafts included)
// are rewritten in the same transaction, keeping the rest of each
// definition's JSON as written, so that no reference breaks. Members,
// history, change entries and schedules stay with the segment.
func (c *Catalog) Rename(oldName, newName string) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	return c.updateRecord(oldName, func(tx *bolt.Tx, r *record) error {
		if oldName == newName {
			return nil
		}
		if err := segment.ValidateName(newName); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidName, err)
		}
		if _, ok := lookup(tx, newName); ok {
			return fmt.Errorf("segment %q %w", newName, ErrExists)
		}
		now := c.now()
		recs, err := allRecords(tx)
		if err != nil {
			return err
		}
		for _, o := range recs {
			self := o.ID == r.ID
			if !self && !slices.Contains(o.Refs, oldName) {
				continue
			}
			if self {
				o.Definition = segment.Rename(o.Definition, oldName, newName)
			} else {
				o.Definition = segment.RenameRefs(o.Definition, oldName, newName)
			}
			for i, ref := range o.Refs {
				if ref == oldName {
					o.Refs[i] = newName
				}
			}
			if self {
				o.Name = newName
			}
			o.Modified = now
			if err := putRecord(tx, o); err != nil {
				return err
			}
		}
		nb := tx.Bucket(bucketNames)
		if err := nb.Delete([]byte(oldName)); err != nil {
			return err
		}
		return nb.Put([]byte(newName), u64(r.ID))
	})
}

// Delete removes the segment with its members, history, change entries,
// destinations and split. It refuses
// (ErrReferenced) while other segments' definitions or priority lists
// reference it, naming them. Jobs keep their records of it.
func (c *Catalog) Delete(name string) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	return c.updateRecord(name, func(tx *bolt.Tx, r *record) error {
		recs, err := allRecords(tx)
		if err != nil {
			return err
		}
		var by []string
		for _, o := range recs {
			if o.ID != r.ID && slices.Contains(o.Refs, name) {
				by = append(by, o.Name)
			}
		}
		if len(by) > 0 {
			slices.Sort(by)
			return fmt.Errorf("segment %q %w by %s; remove those references before deleting it", name, ErrReferenced, strings.Join(by, ", "))
		}
		lists, err := priorityListsOf(tx, r.ID)
		if err != nil {
			return err
		}
		if len(lists) > 0 {
			return fmt.Errorf("segment %q %w by priority list %s; remove it from those lists before deleting it", name, ErrReferenced, strings.Join(lists, ", "))
		}
		if err := deleteSplit(tx, r.ID); err != nil {
			return err
		}
		if err := tx.Bucket(bucketSegments).Delete(u64(r.ID)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketNames).Delete([]byte(name)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMembers).Delete(u64(r.ID)); err != nil {
			return err
		}
		if h := tx.Bucket(bucketHistory); h.Bucket(u64(r.ID)) != nil {
			if err := h.DeleteBucket(u64(r.ID)); err != nil {
				return err
			}
		}
		if err := deleteChanges(tx, r.ID); err != nil {
			return err
		}
		if err := deleteSegmentDests(tx, r.ID); err != nil {
			return err
		}
		return gcKeysets(tx)
	})
}

// Activate activates the segment as ActivateWith does with zero options:
// its refresh evaluates at the catalog clock's now.
func (c *Catalog) Activate(ctx context.Context, name string) (*Job, error) {
	return c.ActivateWith(ctx, name, RefreshOptions{})
}

// ActivateWith makes the segment active and then refreshes it at
// opts.AsOf, as the product page says: the activation is committed first, then the segment (and the
// segments it references) are refreshed as one job, which Activate returns
// when it ends. A draft cannot be activated (ErrDraft); neither can a
// segment whose definition no longer validates against the source's
// current schema (ErrInvalid). Activating an active segment does nothing
// and returns a nil job; so does the refresh part when the catalog has no
// Source. A pending scheduled activation is cleared.
//
// The returned error concerns the activation, except that when ctx ends
// during the refresh Activate returns the cancelled job and an error
// wrapping ErrCancelled; the segment stays active either way. A refresh
// that fails is reported by the job's status, with a nil error.
func (c *Catalog) ActivateWith(ctx context.Context, name string, opts RefreshOptions) (*Job, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	id, changed, err := c.setActive(ctx, name, time.Time{})
	if err != nil || !changed || c.src == nil {
		return nil, err
	}
	return c.refresh(ctx, refreshRequest{ids: []uint64{id}, trigger: TriggerActivation, asOf: opts.AsOf, started: opts.Started})
}

// setActive commits the segment's activation, validating its definition
// again against the source's schema when there is a source. With a
// non-zero due it acts only if the segment's scheduled activation is
// still due, for the Scheduler. It reports whether the state changed. The
// caller has entered the catalog.
func (c *Catalog) setActive(ctx context.Context, name string, due time.Time) (uint64, bool, error) {
	var sch *schema.Schema
	if c.src != nil {
		var err error
		if sch, err = c.schema(ctx); err != nil {
			return 0, false, err
		}
	}
	var id uint64
	changed := false
	err := c.updateRecord(name, func(tx *bolt.Tx, r *record) error {
		if !due.IsZero() && !r.ActivateAt.Equal(due) {
			return nil // the schedule changed meanwhile
		}
		id = r.ID
		if r.Draft {
			return fmt.Errorf("segment %q %w; it cannot be activated until an edit makes it valid: %w", name, ErrDraft, loadProblems(r.Problems))
		}
		r.ActivateAt, r.ScheduleError = time.Time{}, ""
		if !r.Active {
			if sch != nil {
				if ck := check(tx, r.Definition, sch, r.ID); len(ck.problems) > 0 {
					return fmt.Errorf("segment %q %w against the current data, so it cannot be activated: %w", name, ErrInvalid, ck.problems)
				}
			}
			r.Active, changed = true, true
		}
		return putRecord(tx, r)
	})
	if err != nil {
		return 0, false, err
	}
	return id, changed, nil
}

// Deactivate makes the segment inactive: refreshes skip it from now on.
// It keeps the members of its last refresh (a static segment its frozen
// members). A pending scheduled deactivation is cleared. Deactivating an
// inactive segment or a draft does nothing.
func (c *Catalog) Deactivate(name string) error {
	return c.deactivate(name, time.Time{})
}

func (c *Catalog) deactivate(name string, due time.Time) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	return c.updateRecord(name, func(tx *bolt.Tx, r *record) error {
		if !due.IsZero() && !r.DeactivateAt.Equal(due) {
			return nil
		}
		r.Active = false
		r.DeactivateAt = time.Time{}
		return putRecord(tx, r)
	})
}

// ScheduleActivation schedules the segment's activation at the instant at;
// a zero at cancels a scheduled activation. A running Scheduler applies it
// once its clock passes at (at once if at is already past), activating
// and refreshing the segment as Activate does. A draft cannot be
// scheduled for activation (ErrDraft); if a segment becomes a draft
// before its activation is due, the Scheduler records why in
// Segment.ScheduleError instead.
func (c *Catalog) ScheduleActivation(name string, at time.Time) error {
	return c.setSchedule(name, func(r *record) error {
		if r.Draft && !at.IsZero() {
			return fmt.Errorf("segment %q %w; it cannot be scheduled for activation until an edit makes it valid", name, ErrDraft)
		}
		r.ActivateAt = utcOrZero(at)
		r.ScheduleError = ""
		return nil
	})
}

// ScheduleDeactivation schedules the segment's deactivation at the instant
// at; a zero at cancels a scheduled deactivation. A running Scheduler
// applies it once its clock passes at.
func (c *Catalog) ScheduleDeactivation(name string, at time.Time) error {
	return c.setSchedule(name, func(r *record) error {
		r.DeactivateAt = utcOrZero(at)
		return nil
	})
}

// SetSchedule sets the segment's own refresh schedule, a cron
// specification as ParseSchedule reads it; "" removes it. A running
// Scheduler refreshes the segment on it while the segment is active.
func (c *Catalog) SetSchedule(name, spec string) error {
	if spec != "" {
		if _, err := ParseSchedule(spec); err != nil {
			return err
		}
	}
	return c.setSchedule(name, func(r *record) error {
		if r.Schedule != spec {
			r.Schedule, r.ScheduleSince = spec, c.now()
		}
		return nil
	})
}

func (c *Catalog) setSchedule(name string, fn func(*record) error) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	return c.setScheduleLocked(name, fn)
}

// updateRecord runs fn on the named segment's record in one write
// transaction (ErrNotFound when there is none); fn writes what it
// changes. Watchers are told once the transaction has committed.
func (c *Catalog) updateRecord(name string, fn func(tx *bolt.Tx, r *record) error) error {
	err := c.update(func(tx *bolt.Tx) error {
		r, err := getByName(tx, name)
		if err != nil {
			return err
		}
		return fn(tx, r)
	})
	if err != nil {
		return err
	}
	c.notify()
	return nil
}

// setScheduleLocked changes a record's schedule fields; the caller has
// entered the catalog.
func (c *Catalog) setScheduleLocked(name string, fn func(*record) error) error {
	return c.updateRecord(name, func(tx *bolt.Tx, r *record) error {
		if err := fn(r); err != nil {
			return err
		}
		return putRecord(tx, r)
	})
}

// ParseSchedule parses a cron specification: five fields (minute, hour,
// day of month, month, day of week, as in "0 3 * * *"), a descriptor such
// as "@daily" or "@every 6h", optionally prefixed by "CRON_TZ=Zone ". The
// error wraps ErrSchedule and says what is wrong.
func ParseSchedule(spec string) (cron.Schedule, error) {
	s, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v; want five fields (minute hour day-of-month month day-of-week, such as \"0 3 * * *\") or a descriptor such as @daily", ErrSchedule, spec, err)
	}
	// cron runs "@every D" with a D under a second every second.
	if _, every, ok := strings.Cut(spec, "@every "); ok {
		if d, err := time.ParseDuration(strings.TrimSpace(every)); err == nil && d <= 0 {
			return nil, fmt.Errorf("%w: %q: the interval must be positive", ErrSchedule, spec)
		}
	}
	// cron gives up looking for the next run after five years; from the
	// start of a leap year, any day that exists comes in that time.
	if s.Next(scheduleCheckFrom).IsZero() {
		return nil, fmt.Errorf("%w: %q never fires (no such day)", ErrSchedule, spec)
	}
	return s, nil
}

// scheduleCheckFrom is where ParseSchedule looks for a schedule's first
// run: a fixed instant, so that a specification parses alike whenever it
// is read.
var scheduleCheckFrom = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

func utcOrZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Get returns the named segment, or an error wrapping ErrNotFound that
// suggests the nearest name.
func (c *Catalog) Get(name string) (*Segment, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var out *Segment
	var id uint64
	err := c.view(func(tx *bolt.Tx) error {
		r, err := getByName(tx, name)
		if err != nil {
			return err
		}
		out, id = r.public(), r.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	c.overlay(out, id)
	return out, nil
}

// SortBy names a column of the segment list.
type SortBy string

// The columns List sorts by.
const (
	SortName          SortBy = "name"
	SortDisplayName   SortBy = "displayName"
	SortType          SortBy = "type"
	SortState         SortBy = "state"
	SortMemberCount   SortBy = "members"
	SortLastRefreshed SortBy = "lastRefreshed"
	SortStatus        SortBy = "status"
	SortCreated       SortBy = "created"
	SortModified      SortBy = "modified"
)

// SortColumns returns every SortBy, in the order of the segments page.
func SortColumns() []SortBy {
	return []SortBy{SortName, SortDisplayName, SortType, SortState, SortMemberCount, SortLastRefreshed, SortStatus, SortCreated, SortModified}
}

// ListOptions selects and orders List's segments. The zero value lists
// every segment by name.
type ListOptions struct {
	// Sort is the column to sort by; "" means SortName. Text columns
	// (name, display name, type, state, status) sort case-insensitively by
	// the text shown; members and times numerically.
	Sort SortBy
	// Desc sorts in descending order. Segments equal in the column are
	// always ordered by name, ascending.
	Desc bool
	// Search keeps the segments whose name, display name or description
	// contains it, ignoring case; "" keeps all.
	Search string
}

// List returns the segments that match opts.Search, sorted by opts.Sort,
// with the live status of segments a running job works on. An unknown
// sort column is an error wrapping ErrUnknownField that suggests the
// nearest one.
func (c *Catalog) List(opts ListOptions) ([]*Segment, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	cmp, err := compareBy(opts.Sort)
	if err != nil {
		return nil, err
	}
	var recs []*record
	if err := c.view(func(tx *bolt.Tx) error {
		var err error
		recs, err = allRecords(tx)
		return err
	}); err != nil {
		return nil, err
	}
	live := c.liveStatuses()
	needle := strings.ToLower(opts.Search)
	out := make([]*Segment, 0, len(recs))
	for _, r := range recs {
		if needle != "" && !strings.Contains(strings.ToLower(r.Name), needle) &&
			!strings.Contains(strings.ToLower(r.DisplayName), needle) &&
			!strings.Contains(strings.ToLower(r.Description), needle) {
			continue
		}
		s := r.public()
		if st, ok := live[r.ID]; ok {
			s.Status = st
		}
		out = append(out, s)
	}
	slices.SortStableFunc(out, func(a, b *Segment) int {
		d := cmp(a, b)
		if opts.Desc {
			d = -d
		}
		if d != 0 {
			return d
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

func compareBy(by SortBy) (func(a, b *Segment) int, error) {
	text := func(f func(*Segment) string) func(a, b *Segment) int {
		return func(a, b *Segment) int { return strings.Compare(strings.ToLower(f(a)), strings.ToLower(f(b))) }
	}
	times := func(f func(*Segment) time.Time) func(a, b *Segment) int {
		return func(a, b *Segment) int { return f(a).Compare(f(b)) }
	}
	switch by {
	case "", SortName:
		return text(func(s *Segment) string { return s.Name }), nil
	case SortDisplayName:
		return text(func(s *Segment) string { return s.DisplayName }), nil
	case SortType:
		return text(func(s *Segment) string { return s.Membership.String() }), nil
	case SortState:
		return text(func(s *Segment) string { return s.State.String() }), nil
	case SortStatus:
		return text(func(s *Segment) string { return s.Status.String() }), nil
	case SortMemberCount:
		return func(a, b *Segment) int {
			switch {
			case a.MemberCount < b.MemberCount:
				return -1
			case a.MemberCount > b.MemberCount:
				return 1
			}
			return 0
		}, nil
	case SortLastRefreshed:
		return times(func(s *Segment) time.Time { return s.LastRefreshed }), nil
	case SortCreated:
		return times(func(s *Segment) time.Time { return s.Created }), nil
	case SortModified:
		return times(func(s *Segment) time.Time { return s.Modified }), nil
	}
	cols := make([]string, 0, 9)
	for _, s := range SortColumns() {
		cols = append(cols, string(s))
	}
	msg := fmt.Sprintf("unknown sort column %q; use one of %s", by, strings.Join(cols, ", "))
	if s := diag.Nearest(string(by), cols); s != "" {
		msg = fmt.Sprintf("unknown sort column %q%s", by, diag.DidYouMean(s))
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownField, msg)
}
