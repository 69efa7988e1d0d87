package export

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/cespare/xxhash/v2"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Fields chooses what each exported row carries besides the customer key.
// The zero value exports every customer attribute (the key aside), in
// schema order, with no transform.
type Fields struct {
	// Names are customer attributes ("Email" or "Customer.Email") and
	// measures ("Measures.Spend90d"), in column order. Empty means every
	// customer attribute but the key. The key is always the first column
	// after the change; naming it among the fields adds nothing.
	Names []string `json:"fields,omitempty"`
	// Hash names fields to send as the SHA-256 hex digest of their value,
	// trimmed of surrounding white space and lower-cased first, as ad
	// platforms' customer-match uploads require. Null stays null. Each
	// must be one of the exported fields.
	Hash []string `json:"hash,omitempty"`
}

// Column describes one exported field.
type Column struct {
	// Name is the column's name: the attribute's name, or
	// "Measures.Name" for a measure.
	Name string `json:"name"`
	// Type is the column's type; string for a hashed field.
	Type schema.Type `json:"type"`
	// Hashed reports the SHA-256 transform.
	Hashed bool `json:"hashed,omitempty"`
}

// AvailableFields returns the fields an export (and a download) accepts
// for the schema: every customer attribute, then "Measures.X" for each
// measure that parses.
func AvailableFields(sch *schema.Schema) []string {
	if sch == nil || sch.Customer() == nil {
		return nil
	}
	out := sch.Customer().AttributeNames()
	ms, _ := segment.ParseMeasures(sch)
	for _, m := range ms {
		out = append(out, schema.MeasuresEntity+"."+m.Name)
	}
	return out
}

// Plan is what one export sends for each customer: the key and the
// fields, read from one snapshot. It is safe for concurrent use and valid
// while its snapshot is.
type Plan struct {
	snap    *storage.Snapshot
	keyName string
	cols    []Column
	vals    []fieldValues
}

// NewPlan resolves fields against snap. Measures are computed at asOf for
// the customers of members alone (the customers an export may send with
// their fields; nil means none), which must be ids of snap. Unknown fields, and hashes of fields not exported, come
// back as a diag.List whose problems wrap ErrUnknownField and suggest the
// nearest name (Fields.Check finds the same problems from a schema).
func NewPlan(ctx context.Context, snap *storage.Snapshot, fields Fields, asOf time.Time, members *roaring.Bitmap) (*Plan, error) {
	if snap == nil {
		return nil, fmt.Errorf("export: nil snapshot")
	}
	if members == nil {
		members = roaring.New()
	}
	rs, err := fields.resolve(snap.Schema(), engine.Measures(snap).List())
	if err != nil {
		return nil, err
	}
	cust := snap.Customers()
	p := &Plan{snap: snap, keyName: cust.Entity.Key}
	if err := p.checkIDs("members", members); err != nil {
		return nil, err
	}
	for _, r := range rs {
		if r.measure == nil {
			p.vals = append(p.vals, attrValues{cust.Column(r.attr)})
			p.cols = append(p.cols, r.Column)
			continue
		}
		vals, err := engine.EvalMeasureFor(ctx, snap, r.measure, asOf, members)
		if err != nil {
			return nil, fmt.Errorf("field %s: %w", r.Name, err)
		}
		p.vals = append(p.vals, measureValues{vals})
		p.cols = append(p.cols, r.Column)
	}
	return p, nil
}

// Check reports the problems NewPlan would find in the fields against the
// schema: unknown fields, fields given twice, hashes of fields not
// exported or of the key.
func (f Fields) Check(sch *schema.Schema) error {
	_, err := f.Columns(sch)
	return err
}

// CheckMode reports what Check reports, and for a delta a field whose
// name is the change column's ("change"): a row with two "change" members
// would not tell what changed. That error wraps ErrMode.
func (f Fields) CheckMode(sch *schema.Schema, m Mode) error {
	cols, err := f.Columns(sch)
	if err != nil {
		return err
	}
	return checkColumns(cols, m)
}

// checkColumns checks that a delta's change column does not collide with
// a field.
func checkColumns(cols []Column, m Mode) error {
	if m != Delta {
		return nil
	}
	for _, c := range cols {
		if c.Name == ChangeColumn {
			return fmt.Errorf("%w: the field %q has the name of a delta's %q column, so a delta cannot send it; export it in a full export, or leave it out",
				ErrMode, c.Name, ChangeColumn)
		}
	}
	return nil
}

// Columns returns the columns the fields export from data of the schema,
// or the problems Check reports.
func (f Fields) Columns(sch *schema.Schema) ([]Column, error) {
	if sch == nil || sch.Customer() == nil {
		return nil, fmt.Errorf("export: no customer entity in the schema")
	}
	ms, _ := segment.ParseMeasures(sch)
	rs, err := f.resolve(sch, ms)
	if err != nil {
		return nil, err
	}
	out := make([]Column, len(rs))
	for i, r := range rs {
		out[i] = r.Column
	}
	return out, nil
}

// resolved is one field found in the schema.
type resolved struct {
	Column
	attr    string           // a customer attribute's name, or
	measure *segment.Measure // a measure
}

// resolve finds each field among the customer attributes and measures.
func (f Fields) resolve(sch *schema.Schema, measures []*segment.Measure) ([]resolved, error) {
	cust := sch.Customer()
	key := cust.Key
	names := f.Names
	if len(names) == 0 {
		names = slices.DeleteFunc(cust.AttributeNames(), func(n string) bool { return n == key })
	}
	var out []resolved
	var problems diag.List
	seen := map[string]int{}
	for i, n := range names {
		name := strings.TrimSpace(n)
		path := fmt.Sprintf("fields[%d]", i)
		var r resolved
		if ent, attr, ok := strings.Cut(name, "."); ok && ent == schema.MeasuresEntity {
			j := slices.IndexFunc(measures, func(m *segment.Measure) bool { return m.Name == attr })
			if j < 0 {
				problems.AddSuggest(path, ErrUnknownField, name, AvailableFields(sch), "unknown field %q", name)
				continue
			}
			r = resolved{Column: Column{Name: name, Type: measures[j].Type(sch)}, measure: measures[j]}
		} else {
			attr := strings.TrimPrefix(name, cust.Name+".")
			a, ok := cust.Attribute(attr)
			switch {
			case !ok:
				problems.AddSuggest(path, ErrUnknownField, name, AvailableFields(sch), "unknown field %q", name)
				continue
			case attr == key:
				// The key is always there.
				continue
			}
			r = resolved{Column: Column{Name: attr, Type: a.Type}, attr: attr}
		}
		if _, dup := seen[r.Name]; dup {
			problems.Add(path, ErrUnknownField, "field %q is given twice", name)
			continue
		}
		seen[r.Name] = len(out)
		out = append(out, r)
	}
	for i, h := range f.Hash {
		name := strings.TrimSpace(h)
		path := fmt.Sprintf("hash[%d]", i)
		j, ok := seen[name]
		if !ok {
			j, ok = seen[strings.TrimPrefix(name, cust.Name+".")]
		}
		switch {
		case !ok && (name == key || name == cust.Name+"."+key):
			problems.Add(path, ErrUnknownField, "the customer key %s identifies each row and cannot be hashed; export a copy of it as another attribute to hash", key)
		case !ok:
			var exported []string
			for _, c := range out {
				exported = append(exported, c.Name)
			}
			problems.AddSuggest(path, ErrUnknownField, name, exported, "hash field %q is not among the exported fields", name)
		default:
			out[j].Hashed = true
			out[j].Type = schema.String
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return out, nil
}

// Snapshot returns the snapshot the plan reads.
func (p *Plan) Snapshot() *storage.Snapshot { return p.snap }

// KeyColumn returns the customer key attribute's name.
func (p *Plan) KeyColumn() string { return p.keyName }

// Columns returns the exported fields, in order. The slice is the
// caller's.
func (p *Plan) Columns() []Column { return slices.Clone(p.cols) }

// Header returns the header of an export of the plan in mode m with the
// id.
func (p *Plan) Header(segment string, m Mode, id string) *Header {
	fs := make([]arrow.Field, 0, len(p.cols)+2)
	if m == Delta {
		fs = append(fs, arrow.Field{Name: ChangeColumn, Type: arrow.BinaryTypes.String})
	}
	fs = append(fs, arrow.Field{Name: p.keyName, Type: arrow.BinaryTypes.String})
	for _, c := range p.cols {
		fs = append(fs, arrow.Field{Name: c.Name, Type: storage.ArrowType(c.Type), Nullable: true})
	}
	return &Header{Segment: segment, Mode: m, ID: id, Schema: arrow.NewSchema(fs, nil), KeyColumn: p.keyName, Fields: p.Columns()}
}

// Text returns field i's value for customer id as text, in the form of
// the data directory's CSV files (a hashed field as its hex digest), and
// false for null.
func (p *Plan) Text(i int, id uint32) (string, bool) {
	v := p.vals[i]
	if !v.valid(id) {
		return "", false
	}
	s := v.text(id)
	if p.cols[i].Hashed {
		s = HashValue(s)
	}
	return s, true
}

// Hash returns a hash of customer id's exported field values (after
// transforms): two customers, or one customer at two exports, with equal
// values have equal hashes. It hashes each value's typed form (an
// integer's 8 bytes, a string's bytes, a hashed field's digest), so it is
// stable across processes and versions of the data, and the catalog
// stores it to tell changed rows. It is never zero.
func (p *Plan) Hash(id uint32) uint64 {
	var buf [256]byte
	return p.row(nil, buf[:0], id)
}

// row appends customer id's values to the field builders bs (which
// follow the header's key column) unless bs is nil, and returns the row's
// Hash; buf is scratch space.
func (p *Plan) row(bs []array.Builder, buf []byte, id uint32) uint64 {
	for i, v := range p.vals {
		switch {
		case !v.valid(id):
			buf = append(buf, 0)
			if bs != nil {
				bs[i].AppendNull()
			}
		case p.cols[i].Hashed:
			h := HashValue(v.text(id))
			buf = append(buf, 1)
			buf = appendString(buf, h)
			if bs != nil {
				bs[i].(*array.StringBuilder).Append(h)
			}
		default:
			buf = append(buf, 1)
			buf = v.appendKey(buf, id)
			if bs != nil {
				v.appendTo(bs[i], id)
			}
		}
	}
	h := xxhash.Sum64(buf)
	if h == 0 {
		h = 1 // zero means "no hash" to callers
	}
	return h
}

// appendString appends s with its length first, so that no two lists of
// strings run together alike.
func appendString(buf []byte, s string) []byte {
	buf = binary.AppendUvarint(buf, uint64(len(s)))
	return append(buf, s...)
}

// HashValue returns the transform of a hashed field: the lower-case hex
// SHA-256 digest of s trimmed of surrounding white space and lower-cased.
func HashValue(s string) string {
	sum := sha256.Sum256([]byte(strings.ToLower(strings.TrimSpace(s))))
	return hex.EncodeToString(sum[:])
}

// fieldValues reads one field.
type fieldValues interface {
	valid(id uint32) bool
	text(id uint32) string
	// appendTo appends the (valid) value to a builder of storage.ArrowType.
	appendTo(b array.Builder, id uint32)
	// appendKey appends the (valid) value's typed bytes, for Plan.Hash.
	appendKey(buf []byte, id uint32) []byte
}

type attrValues struct{ col *storage.Column }

func (a attrValues) valid(id uint32) bool  { return a.col.Data.IsValid(int(id)) }
func (a attrValues) text(id uint32) string { return a.col.Format(int(id)) }

func (a attrValues) appendTo(b array.Builder, id uint32) {
	i := int(id)
	switch d := a.col.Data.(type) {
	case *array.Int64:
		b.(*array.Int64Builder).Append(d.Value(i))
	case *array.Float64:
		b.(*array.Float64Builder).Append(d.Value(i))
	case *array.String:
		b.(*array.StringBuilder).Append(d.Value(i))
	case *array.Date32:
		b.(*array.Date32Builder).Append(d.Value(i))
	case *array.Timestamp:
		b.(*array.TimestampBuilder).Append(d.Value(i))
	case *array.Boolean:
		b.(*array.BooleanBuilder).Append(d.Value(i))
	default:
		// Dictionary-encoded strings, and anything else: their text.
		b.(*array.StringBuilder).Append(a.col.Format(i))
	}
}

func (a attrValues) appendKey(buf []byte, id uint32) []byte {
	i := int(id)
	switch d := a.col.Data.(type) {
	case *array.Int64:
		return binary.BigEndian.AppendUint64(buf, uint64(d.Value(i)))
	case *array.Float64:
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(d.Value(i)))
	case *array.String:
		return appendString(buf, d.Value(i))
	case *array.Date32:
		return binary.BigEndian.AppendUint32(buf, uint32(d.Value(i)))
	case *array.Timestamp:
		return binary.BigEndian.AppendUint64(buf, uint64(d.Value(i)))
	case *array.Boolean:
		if d.Value(i) {
			return append(buf, 1)
		}
		return append(buf, 0)
	}
	return appendString(buf, a.col.Format(i))
}

type measureValues struct{ v *engine.Values }

func (m measureValues) valid(id uint32) bool  { return m.v.Valid(id) }
func (m measureValues) text(id uint32) string { return m.v.Format(id) }

func (m measureValues) appendTo(b array.Builder, id uint32) {
	switch b := b.(type) {
	case *array.Int64Builder:
		b.Append(m.v.Int64(id))
	case *array.Float64Builder:
		b.Append(m.v.Float64(id))
	case *array.Date32Builder:
		b.Append(arrow.Date32(m.v.Day(id)))
	case *array.TimestampBuilder:
		b.Append(arrow.Timestamp(m.v.Int64(id)))
	case *array.BooleanBuilder:
		b.Append(m.v.Bool(id))
	case *array.StringBuilder:
		b.Append(m.v.String(id))
	}
}

func (m measureValues) appendKey(buf []byte, id uint32) []byte {
	switch m.v.Type() {
	case schema.Integer, schema.Datetime:
		return binary.BigEndian.AppendUint64(buf, uint64(m.v.Int64(id)))
	case schema.Number:
		return binary.BigEndian.AppendUint64(buf, math.Float64bits(m.v.Float64(id)))
	case schema.Date:
		return binary.BigEndian.AppendUint32(buf, uint32(m.v.Day(id)))
	case schema.Boolean:
		if m.v.Bool(id) {
			return append(buf, 1)
		}
		return append(buf, 0)
	}
	return appendString(buf, m.v.String(id))
}
