package storage

import (
	"slices"
	"sync"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// Sentinel errors of the storage package; test with errors.Is.
var (
	// ErrData: a data file or record does not match the schema (a value that
	// does not parse, a missing column, a wrong Arrow type).
	ErrData = diag.NewSentinel("storage.data", "invalid data")
	// ErrDuplicateKey: two rows of an entity share a key value.
	ErrDuplicateKey = diag.NewSentinel("storage.duplicate_key", "duplicate key")
	// ErrNullKey: a key value is null.
	ErrNullKey = diag.NewSentinel("storage.null_key", "null key")
	// ErrTooManyCustomers: the customer entity has more rows than customer
	// ids: 2^31-1, since Links holds ids as int32 beside NoCustomer.
	ErrTooManyCustomers = diag.NewSentinel("storage.too_many_customers", "too many customers")
	// ErrLimit: a data file beyond a limit of docs/limits.md, such as a CSV
	// field longer than MaxFieldBytes or a record longer than
	// MaxRecordBytes.
	ErrLimit = diag.NewSentinel("storage.limit", "beyond a limit")
)

// NoCustomer marks a related row that links to no customer: its foreign key
// is null or dangling somewhere along the path.
const NoCustomer int32 = -1

// Options configures loading. The zero value is ready to use: Go's default
// allocator, no progress reports.
type Options struct {
	// Allocator allocates every Arrow buffer of the snapshot; nil means
	// memory.DefaultAllocator. Loading uses it from several goroutines at
	// once, so it must be safe for concurrent use, as arrow-go's
	// allocators are.
	Allocator memory.Allocator
	// Progress, if not nil, is called as entities load, from the loading
	// goroutine: the entity, rows read so far, and the source's size in
	// bytes read so far and in all (0 when unknown). Load reads several
	// entities at once, so reports of different entities interleave; each
	// entity's counts only grow. For a Parquet file, the rows are those of
	// the row groups whose every column was read, the bytes those of the
	// column chunks read.
	Progress func(entity string, rows int64, bytesRead, bytesTotal int64)
	// Cluster re-sorts the rows of related entities given as Arrow data
	// (FromTables, FromRecords) by customer, which copies their columns
	// but makes aggregates one sequential pass. Without it Arrow input is
	// used as given, without copying. Load always clusters: it builds its
	// columns itself.
	Cluster bool
	// NoSnapshotCache makes LoadCached load the data files as Load does,
	// neither reading nor writing the data directory's snapshot file.
	// Everything else ignores it.
	NoSnapshotCache bool
	// VerifySnapshotFile makes LoadCached wait for the check of the
	// snapshot file's values (Snapshot.Verify) before it returns, and load
	// the data files instead when the check finds damage. Everything else
	// ignores it.
	VerifySnapshotFile bool
	// AllowExternalSources lets an entity's source name a file outside the
	// data directory: a path with ".." that leads out of it.
	// Without it Load refuses such a schema: a data directory copied or
	// shared elsewhere would otherwise read files it does not hold.
	AllowExternalSources bool
}

// Column is one attribute's values, one Arrow array in a normalized type:
//
//	integer   *array.Int64
//	number    *array.Float64
//	string    *array.String, or *array.Dictionary with int32 indices and a
//	          *array.String dictionary
//	date      *array.Date32 (days since 1970-01-01)
//	datetime  *array.Timestamp, unit microsecond, time zone "UTC"
//	boolean   *array.Boolean
//
// A Column belongs to its Snapshot; it is valid until the snapshot is
// released and safe for concurrent readers. A column shared from the
// caller's Arrow data (FromTables, FromRecords) may have a non-zero
// offset; read it through the array's accessors or mind Data().Offset().
type Column struct {
	Attr schema.Attribute
	Data arrow.Array

	derived derivedValues // see Derived
}

// A DerivedKey names one value derived from columns, for Column.Derived.
// Keys compare by identity: every NewDerivedKey is distinct from every
// other, so two readers that derive different values cannot collide.
type DerivedKey struct{ name string }

// NewDerivedKey returns a new key; name says what it derives, for
// printing only.
func NewDerivedKey(name string) *DerivedKey { return &DerivedKey{name: name} }

// String returns the key's name.
func (k *DerivedKey) String() string { return k.name }

// Derived returns what build derives from the column for key: build runs
// on the first call for key, and its result is kept for the snapshot's
// life and returned to every later call. It lets a reader (the engine's
// typed views of a column, say) pay for a derivation once per snapshot
// rather than once per use. Derived is safe for concurrent use; the kept
// value must not be modified. A build that fails is not kept; build must
// not call Derived on the same column.
func (c *Column) Derived(key *DerivedKey, build func() (any, error)) (any, error) {
	return c.derived.get(key, build)
}

// derivedValues keeps what readers derive from a column or a snapshot,
// one value per key, built once (Column.Derived, Snapshot.Derived).
type derivedValues struct {
	mu sync.Mutex
	m  map[*DerivedKey]any
}

func (d *derivedValues) get(key *DerivedKey, build func() (any, error)) (any, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if v, ok := d.m[key]; ok {
		return v, nil
	}
	v, err := build()
	if err != nil {
		return nil, err
	}
	if d.m == nil {
		d.m = map[*DerivedKey]any{}
	}
	d.m[key] = v
	return v, nil
}

// Table is one entity's rows.
type Table struct {
	Entity  *schema.Entity
	NumRows int
	// Columns are in the order of Entity.Attributes.
	Columns []*Column
}

// Column returns the column of the attribute named name, or nil.
func (t *Table) Column(name string) *Column {
	if i := t.Entity.AttributeIndex(name); i >= 0 {
		return t.Columns[i]
	}
	return nil
}

// Links maps the rows of one entity to customers along one relationship
// path. It is built at load and immutable; safe for concurrent use.
type Links struct {
	// Path is the relationship path.
	Path schema.Path
	// Customer holds, for every row of the entity, the customer id it links
	// to, or NoCustomer.
	Customer []int32
	// Broken counts the rows that link to no customer.
	Broken int
	// Sorted reports that the rows are in customer order: Customer is
	// non-decreasing, with the NoCustomer rows at the end, and each
	// customer's rows in the order of the data file. Load makes it true
	// for every entity's first path (see Options.Cluster); the rows of one
	// customer are then contiguous.
	Sorted bool

	numCustomers int // the universe of Customer values, for group
	groupOnce    sync.Once
	offsets      []uint32
	rows         []uint32
	// fileOrder, for a path other than the first of a clustered entity,
	// lists the rows in the order of the data file (see cluster).
	fileOrder []uint32
	// placed, for the first path of an entity whose rows were clustered
	// and include rows of no customer, lists the rows in the order of the
	// data file (FileOrder's form), so that Append can place a row that
	// links to a customer only later among that customer's rows.
	placed []uint32

	startsOnce sync.Once
	starts     []uint32
}

// Starts returns, for links whose rows are Sorted, the first row of every
// customer: the rows of customer c are starts[c] to starts[c+1]-1, and
// starts has one entry more than there are customers. It returns nil when
// the rows are not sorted. It is computed on first use and cached; the
// caller must not modify it.
func (l *Links) Starts() []uint32 {
	if !l.Sorted {
		return nil
	}
	l.startsOnce.Do(func() {
		l.starts = customerStarts(l.Customer, l.numCustomers, false)
	})
	return l.starts
}

// Grouped returns the entity's rows clustered by customer: the rows of
// customer c are rows[offsets[c]:offsets[c+1]], in the order of the data
// file. Rows that link
// to no customer are left out. It is computed on first use and cached; the
// caller must not modify the slices.
func (l *Links) Grouped() (offsets, rows []uint32) {
	l.groupOnce.Do(l.group)
	return l.offsets, l.rows
}

// FileOrder returns the entity's rows in the order of its data file when
// that is not their row order along this path (a path other than the
// first of an entity whose rows Load clustered by customer), and nil when
// increasing row order is file order. Sums of numbers add each customer's
// rows in file order (FORMAT.md section 6). The caller must not modify it.
func (l *Links) FileOrder() []uint32 { return l.fileOrder }

// LinkReport describes the foreign keys of one relationship.
type LinkReport struct {
	Relationship string `json:"relationship"`
	// Null counts rows whose foreign key is null.
	Null int `json:"null"`
	// Dangling counts rows whose foreign key matches no row.
	Dangling int `json:"dangling"`
}

// Snapshot is a loaded data directory: one Table per entity, the customer
// key <-> id mapping, and the Links of every entity along every
// relationship path. It is immutable once built, so any number of
// goroutines may read it at once. Its Arrow memory is released by
// Release; nothing read from the snapshot may be used after that.
type Snapshot struct {
	schema    *schema.Schema
	tables    map[string]*Table
	entries   []*Table // in schema order
	customers *Table
	keys      *keyIndex           // of the customer entity
	links     map[string][]*Links // by entity
	reports   []LinkReport
	memBytes  int64
	released  atomic.Bool
	derived   derivedValues // see Derived

	file *snapFile // the mapped file of a snapshot from Open
	// fileRefs, when not nil, counts the snapshots sharing file (see
	// Append); the last one to be released closes it.
	fileRefs *fileShare
	keysOnce sync.Once // builds keys on first use, for a snapshot from Open

	info LoadInfo // see LoadInfo
	// sources, for a snapshot loaded from a data directory, records the
	// files it was loaded from, for Reload.
	sources *dirSignature
	// appended reports that rows were appended to the snapshot, or to
	// the one saved in the file it was opened from.
	appended bool
}

// Release releases every Arrow buffer of the snapshot. It is idempotent;
// the caller must make sure no reader still uses the snapshot.
func (s *Snapshot) Release() {
	if s == nil || !s.released.CompareAndSwap(false, true) {
		return
	}
	for _, t := range s.entries {
		t.release()
	}
	s.releaseFile()
}

// Derived returns what build derives from the whole snapshot for key, as
// Column.Derived does for one column: build runs on the first call for
// key, and its result is kept for the snapshot's life and returned to
// every later call (the engine keeps the schema's parsed measures so,
// engine.Measures). Derived is safe for concurrent use; the kept value
// must not be modified. A build that fails is not kept; build must not
// call Derived on the same snapshot.
func (s *Snapshot) Derived(key *DerivedKey, build func() (any, error)) (any, error) {
	return s.derived.get(key, build)
}

// Schema returns the snapshot's schema: the one Load parsed, or the
// validated copy of the one given to FromTables or FromRecords. The caller
// must not modify it.
func (s *Snapshot) Schema() *schema.Schema { return s.schema }

// NumCustomers returns the number of customers; their ids are
// 0..NumCustomers()-1.
func (s *Snapshot) NumCustomers() int { return s.customers.NumRows }

// Customers returns the table of the customer entity: row i is customer i.
// It belongs to the snapshot and must not be modified.
func (s *Snapshot) Customers() *Table { return s.customers }

// Table returns the table of the named entity, or nil if the schema has no
// such entity. It belongs to the snapshot and must not be modified.
func (s *Snapshot) Table(entity string) *Table { return s.tables[entity] }

// Links returns the links of entity's rows to customers along path, or
// nil if path is not a relationship path of entity (the customer entity
// has none). The result belongs to the snapshot and must not be modified.
func (s *Snapshot) Links(entity string, path schema.Path) *Links {
	for _, l := range s.links[entity] {
		if slices.Equal(l.Path, path) {
			return l
		}
	}
	return nil
}

// LinkReports returns, for every relationship in schema order, how many
// foreign keys are null and how many dangle. The slice is the caller's.
func (s *Snapshot) LinkReports() []LinkReport { return slices.Clone(s.reports) }

// CustomerID returns the id of the customer whose key, written as text as
// in a CSV file, is key. It reports false when key does not parse as the
// key's type or names no customer.
func (s *Snapshot) CustomerID(key string) (uint32, bool) {
	a, _ := s.customers.Entity.Attribute(s.customers.Entity.Key)
	ki := s.customerKeys()
	if ki == nil {
		return 0, false
	}
	r, ok := ki.lookupText(a.Type, key)
	if !ok {
		return 0, false
	}
	return uint32(r), true
}

// CustomerKey returns the key of customer id as text, as CustomerID reads
// it; "" if there is no such customer.
func (s *Snapshot) CustomerKey(id uint32) string {
	if uint64(id) >= uint64(s.customers.NumRows) {
		return ""
	}
	return s.customers.Column(s.customers.Entity.Key).Format(int(id))
}

// MemoryBytes returns the bytes held by the snapshot's columns (whole
// Arrow buffers, shared ones included), key index and links. The row
// orders that Links.Grouped builds on demand are not counted.
func (s *Snapshot) MemoryBytes() int64 { return s.memBytes }

func (s *Snapshot) computeMemory() int64 {
	var n int64
	for _, t := range s.entries {
		for _, c := range t.Columns {
			n += arrayBytes(c.Data.Data())
		}
	}
	n += s.keys.bytes()
	seen := map[*int32]bool{}
	for _, ls := range s.links {
		for _, l := range ls {
			if len(l.Customer) > 0 && !seen[&l.Customer[0]] {
				seen[&l.Customer[0]] = true
				n += int64(len(l.Customer)) * 4
			}
			for _, order := range [][]uint32{l.fileOrder, l.placed} {
				if len(order) > 0 && !seen[(*int32)(unsafe.Pointer(&order[0]))] {
					seen[(*int32)(unsafe.Pointer(&order[0]))] = true
					n += int64(len(order)) * 4
				}
			}
		}
	}
	return n
}

func arrayBytes(d arrow.ArrayData) int64 {
	var n int64
	for _, b := range d.Buffers() {
		if b != nil {
			n += int64(b.Len())
		}
	}
	for _, c := range d.Children() {
		n += arrayBytes(c)
	}
	// Dictionary returns a typed nil for an array without one.
	if dict, ok := d.Dictionary().(*array.Data); ok && dict != nil {
		n += arrayBytes(dict)
	}
	return n
}
