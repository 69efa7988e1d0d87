package storage

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// ErrAppendNeedsLoad: Append cannot give the snapshot a load of all the
// rows would give, and the caller should load them all instead. It
// happens when rows that linked to no customer now link to one that has
// other rows of the same entity, and the snapshot no longer knows where
// in the data file those rows were among the others (the order in which
// sums add them, FORMAT.md section 6).
var ErrAppendNeedsLoad = diag.NewSentinel("storage.append_needs_load", "append needs a full load")

// Append returns a new snapshot holding the rows of s and, after them,
// the rows of records: one arrow.RecordBatch per entity that gains rows,
// keyed by entity name, with the columns FromRecords reads. It is the
// snapshot a load of every entity's old rows followed by its new ones
// would give, value for value: new customers take the ids after the old
// ones; rows whose foreign keys dangled and now find their row link up
// (along every hop of a relationship path); link reports count again.
//
// The new rows are converted and checked as FromRecords checks them
// (the same conversions and errors, named "<entity> (appended)"), and
// their keys against the old rows' keys too (ErrDuplicateKey). Nothing
// about s changes, and s stays valid.
//
// The new snapshot shares with s what the new rows leave as it was: the
// tables, columns (with what readers derived from them, Column.Derived),
// key index and links of every entity that gained no rows and whose rows
// link as before. A related entity with new rows, or whose rows now link
// differently, is built anew, its rows kept clustered by customer if s's
// were (or with opts.Cluster): each customer's old rows, then the new
// ones, in file order. That is a sequential copy of the entity's columns;
// the rest costs in proportion to the new rows (and, for an entity with
// new rows, a pass to index its old keys the first time).
//
// Either snapshot may be released first: each holds its own references
// to the Arrow memory they share. Rows that linked to no customer and now
// link to one that has other rows of the entity, in a snapshot whose
// order of those rows in the data file is not known, give an error
// wrapping ErrAppendNeedsLoad. Errors, cancellation and memory are
// otherwise as for FromRecords; on error nothing new stays allocated.
// Append may be called concurrently, also on the same snapshot.
func (s *Snapshot) Append(ctx context.Context, records map[string]arrow.RecordBatch, opts Options) (_ *Snapshot, err error) {
	if s == nil || s.released.Load() {
		return nil, errors.New("append: the snapshot is nil or released")
	}
	sch := s.schema
	var problems diag.List
	for _, name := range mapKeys(records) {
		if _, ok := sch.Entity(name); !ok {
			problems.AddSuggest(name, ErrData, name, sch.EntityNames(), "no entity %s in the schema", name)
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	ap := &appender{ctx: ctx, s: s, mem: opts.allocator(), cluster: opts.Cluster, ents: map[string]*appendEntity{}}
	defer func() {
		if err != nil {
			ap.release()
		}
		// The new rows are copied into the new tables.
		for _, a := range ap.ents {
			if a.add != nil {
				a.add.release()
			}
		}
	}()
	for i := range sch.Entities {
		e := &sch.Entities[i]
		a := &appendEntity{e: e, old: s.tables[e.Name]}
		ap.ents[e.Name] = a
		r := records[e.Name]
		if r == nil || r.NumRows() == 0 {
			continue
		}
		org := &origin{name: e.Name + " (appended)"}
		if int64(a.old.NumRows)+r.NumRows() > maxRows {
			var l diag.List
			l.Add(org.name, tooManyErr(sch, e), "%d rows and %d more, more than %d", a.old.NumRows, r.NumRows(), maxRows)
			return nil, l
		}
		t, err := tableFromArrow(ctx, ap.mem, e, org, arrowSource{
			schema: r.Schema(),
			rows:   r.NumRows(),
			chunks: func(i int) []arrow.Array { return []arrow.Array{r.Column(i)} },
		}, tooManyErr(sch, e))
		if err != nil {
			return nil, err
		}
		a.add = t
		if err := ap.checkKeys(a, org); err != nil {
			return nil, err
		}
		opts.progress(e.Name, int64(t.NumRows), 0, 0)
	}
	ap.numCustomers = s.customers.NumRows
	if a := ap.ents[sch.CustomerEntity]; a.add != nil {
		ap.numCustomers += a.add.NumRows
	}
	for _, e := range sch.Entities {
		if _, err := ap.entity(e.Name); err != nil {
			return nil, err
		}
	}
	return ap.snapshot()
}

// appender builds the snapshot Append returns.
type appender struct {
	ctx          context.Context
	s            *Snapshot
	mem          memory.Allocator
	cluster      bool
	numCustomers int
	ents         map[string]*appendEntity
	keys         *keyIndex // of the new snapshot's customers
}

// appendEntity is one entity of an append: its old table, its new rows,
// and what Append makes of them.
type appendEntity struct {
	e   *schema.Entity
	old *Table
	add *Table // the new rows in file order; nil if none

	oldKeys *keyIndex // of old's rows; nil until needed
	addKeys *keyIndex // of add's rows

	done bool
	// place maps the rows of old followed by those of add to their rows
	// in table; nil when they keep their order.
	place []uint32
	table *Table
	links []*Links // in the order of the schema's paths
	// shared reports that table is old's, shared.
	shared bool
}

// oldRows is the number of old rows, addRows that of new ones.
func (a *appendEntity) oldRows() int { return a.old.NumRows }

func (a *appendEntity) addRows() int {
	if a.add == nil {
		return 0
	}
	return a.add.NumRows
}

// row returns the row of the new table that row r of old followed by add
// went to.
func (a *appendEntity) row(r int32) int32 {
	if a.place == nil || r < 0 {
		return r
	}
	return int32(a.place[r])
}

// find returns the row of the new table whose key is the value of row i
// of fk, or -1.
func (a *appendEntity) find(fk arrow.Array, i int) int32 {
	if r := findValue(a.oldKeys, fk, i); r >= 0 {
		return a.row(r)
	}
	if r := findValue(a.addKeys, fk, i); r >= 0 {
		return a.row(int32(a.oldRows()) + r)
	}
	return -1
}

// keysKey keys the index of an entity's key column (Column.Derived), kept
// once built for every snapshot that shares the column.
var keysKey = NewDerivedKey("storage: key index")

// oldKeyIndex returns the index of the old rows' keys of a.
func (ap *appender) oldKeyIndex(a *appendEntity) (*keyIndex, error) {
	if a.oldKeys != nil {
		return a.oldKeys, nil
	}
	if a.e.Name == ap.s.schema.CustomerEntity {
		a.oldKeys = ap.s.customerKeys()
	} else {
		col := a.old.Column(a.e.Key)
		v, err := col.Derived(keysKey, func() (any, error) {
			if ki := indexKeys(col.Data); ki != nil {
				return ki, nil
			}
			return nil, fmt.Errorf("BUG: key column %s.%s of type %s", a.e.Name, a.e.Key, col.Data.DataType())
		})
		if err != nil {
			return nil, err
		}
		a.oldKeys = v.(*keyIndex)
	}
	if a.oldKeys == nil {
		return nil, fmt.Errorf("BUG: no index of the keys of %s", a.e.Name)
	}
	return a.oldKeys, nil
}

// checkKeys indexes the keys of a's new rows, reporting null keys and
// duplicates among them as Load does, and keys that old rows hold
// already.
func (ap *appender) checkKeys(a *appendEntity, org *origin) error {
	col := a.add.Column(a.e.Key)
	ki, err := buildKeyIndex(ap.ctx, col, org)
	if err != nil {
		return err
	}
	a.addKeys = ki
	old, err := ap.oldKeyIndex(a)
	if err != nil {
		return err
	}
	var problems diag.List
	for i := range a.add.NumRows {
		if i%batchRows == batchRows-1 {
			if err := ap.ctx.Err(); err != nil {
				return fmt.Errorf("append %s: %w", a.e.Name, err)
			}
		}
		if findValue(old, col.Data, i) >= 0 {
			problems.Add(fmt.Sprintf("%s: column %s", org.at(i), a.e.Key), ErrDuplicateKey, "duplicate key %s (a row of the snapshot has it)", quoteValue(col.Format(i)))
			if len(problems) >= maxProblems {
				problems.Add(org.name, ErrData, "stopped checking keys after %d problems", len(problems))
				break
			}
		}
	}
	return problems.Err()
}

// findValue returns the row of k whose key is the value of row i of a
// (a foreign key column of the key's type), or -1 when that is null or
// no row's key; k may be nil (no rows).
func findValue(k *keyIndex, a arrow.Array, i int) int32 {
	if k == nil || a.IsNull(i) {
		return -1
	}
	switch a := a.(type) {
	case *array.Int64:
		return k.findInt(a.Value(i))
	case *array.Timestamp:
		return k.findInt(int64(a.Value(i)))
	case *array.Date32:
		return k.findInt(int64(a.Value(i)))
	case *array.Boolean:
		if a.Value(i) {
			return k.findInt(1)
		}
		return k.findInt(0)
	case *array.Float64:
		return k.findFloat(a.Value(i))
	case *array.String:
		return k.findString(a.Value(i))
	case *array.Dictionary:
		d, ok := a.Dictionary().(*array.String)
		j := a.GetValueIndex(i)
		if !ok || j < 0 || j >= d.Len() || d.IsNull(j) {
			return -1
		}
		return k.findString(d.Value(j))
	}
	return -1
}

// pathChanged reports whether an entity that path passes through, the
// customer entity included, gained rows.
func (ap *appender) pathChanged(path schema.Path) bool {
	for _, name := range path {
		rel, _ := ap.s.schema.Relationship(name)
		if ap.ents[rel.To.Entity].add != nil {
			return true
		}
	}
	return false
}

// entity builds the new table and links of the named entity, and those
// of the entities its paths pass through first.
func (ap *appender) entity(name string) (*appendEntity, error) {
	a := ap.ents[name]
	if a.done {
		return a, nil
	}
	a.done = true
	if err := ap.ctx.Err(); err != nil {
		return nil, fmt.Errorf("append %s: %w", name, err)
	}
	sch := ap.s.schema
	if name == sch.CustomerEntity {
		return a, ap.customers(a)
	}
	paths := sch.Paths(name)
	oldN, addN := a.oldRows(), a.addRows()
	// cust[j] holds the customers of path j for old's rows followed by
	// add's.
	cust := make([][]int32, len(paths))
	relinked := false // an old row links to a customer now
	var primaryRelinked []int32
	for j, p := range paths {
		old := ap.s.Links(name, p)
		if old == nil {
			return nil, fmt.Errorf("BUG: no links for %s along %s", name, p)
		}
		changed := ap.pathChanged(p)
		if !changed && addN == 0 {
			cust[j] = old.Customer
			continue
		}
		rel, _ := sch.Relationship(p[0])
		to, err := ap.entity(rel.To.Entity)
		if err != nil {
			return nil, err
		}
		var up []int32 // the customers of to's rows along the rest of p
		if len(p) > 1 {
			l := to.linksAlong(p[1:])
			if l == nil {
				return nil, fmt.Errorf("BUG: no links for %s along %s", rel.To.Entity, p[1:])
			}
			up = l.Customer
		}
		if (changed && old.Broken > 0) || addN > 0 {
			if _, err := ap.oldKeyIndex(to); err != nil {
				return nil, err
			}
		}
		customerOf := func(t int32) int32 {
			if t < 0 || up == nil {
				return t
			}
			return up[t]
		}
		c := make([]int32, oldN+addN)
		copy(c, old.Customer)
		if changed && old.Broken > 0 {
			fk := a.old.Column(rel.From.Attribute).Data
			for i, v := range old.Customer {
				if v != NoCustomer {
					continue
				}
				if cu := customerOf(to.find(fk, i)); cu >= 0 {
					c[i] = cu
					relinked = true
					if j == 0 {
						primaryRelinked = append(primaryRelinked, int32(i))
					}
				}
			}
		}
		if addN > 0 {
			fk := a.add.Column(rel.From.Attribute).Data
			for i := range addN {
				if i%batchRows == batchRows-1 {
					if err := ap.ctx.Err(); err != nil {
						return nil, fmt.Errorf("append %s: %w", name, err)
					}
				}
				c[oldN+i] = customerOf(to.find(fk, i))
			}
		}
		cust[j] = c
	}
	if addN == 0 && !relinked {
		return a, ap.share(a, paths)
	}
	return a, ap.rebuild(a, paths, cust, primaryRelinked)
}

// linksAlong returns the new links of a's rows along path.
func (a *appendEntity) linksAlong(path schema.Path) *Links {
	for _, l := range a.links {
		if slices.Equal(l.Path, path) {
			return l
		}
	}
	return nil
}

// share makes a's table and links the old ones, shared.
func (ap *appender) share(a *appendEntity, paths []schema.Path) error {
	a.table, a.shared = a.old, true
	for _, p := range paths {
		old := ap.s.Links(a.e.Name, p)
		if ap.numCustomers == ap.s.customers.NumRows {
			a.links = append(a.links, old)
			continue
		}
		// The same customers of the same rows, among more customers: the
		// per-customer views are built again, for the new number.
		l := &Links{Path: old.Path, Customer: old.Customer, Broken: old.Broken, Sorted: old.Sorted, numCustomers: ap.numCustomers, fileOrder: old.fileOrder}
		a.links = append(a.links, l)
	}
	return nil
}

// customers builds the new customer table: the old rows, then the new.
func (ap *appender) customers(a *appendEntity) error {
	if a.add == nil {
		a.table, a.shared = a.old, true
		ap.keys = ap.s.customerKeys()
		return nil
	}
	t, err := ap.concat(a, nil)
	if err != nil {
		return err
	}
	a.table = t
	ap.keys = indexKeys(t.Column(a.e.Key).Data)
	if ap.keys == nil {
		return fmt.Errorf("BUG: no index of the keys of %s", a.e.Name)
	}
	return nil
}

// rebuild builds a's new table and links from the customers of its rows
// (old ones, then new ones) along every path.
func (ap *appender) rebuild(a *appendEntity, paths []schema.Path, cust [][]int32, relinked []int32) error {
	oldN, addN := a.oldRows(), a.addRows()
	n := oldN + addN
	primaryOld := ap.s.Links(a.e.Name, paths[0])
	// The rows stay clustered by customer when they were (a snapshot that
	// was not clustered may happen to be sorted too, and is clustered
	// from now on; clustering it again would leave it so).
	clustered := primaryOld.Sorted || ap.cluster
	if !clustered {
		for j, p := range paths {
			l := &Links{Path: slices.Clone(p), Customer: cust[j], numCustomers: ap.numCustomers}
			l.Broken, l.Sorted = linkOrder(l.Customer)
			a.links = append(a.links, l)
		}
		t, err := ap.concat(a, nil)
		a.table = t
		return err
	}
	// seq lists the rows (old, then new) in the order of the data files.
	var fileOrder []uint32
	for _, p := range paths[1:] {
		if l := ap.s.Links(a.e.Name, p); l != nil && l.fileOrder != nil {
			fileOrder = l.fileOrder
			break
		}
	}
	if fileOrder == nil {
		fileOrder = primaryOld.placed
	}
	// Without either, the rows are in file order, unless they come from a
	// snapshot file, which keeps the file order of entities with one
	// path only in the order of each customer's rows.
	known := fileOrder != nil || ap.s.file == nil || len(paths) > 1
	var seq []uint32
	if fileOrder != nil {
		seq = make([]uint32, n)
		copy(seq, fileOrder)
		for i := range addN {
			seq[oldN+i] = uint32(oldN + i)
		}
	} else if len(relinked) > 0 && !known {
		// A row that links to a customer only now belongs among that
		// customer's other rows in file order, which is not known.
		starts := primaryOld.Starts()
		for _, i := range relinked {
			c := cust[0][i]
			if int(c) < len(starts)-1 && starts[c+1] > starts[c] {
				var l diag.List
				l.Add(a.e.Name, ErrAppendNeedsLoad, "%d rows of %s that linked to no customer now link to customers with other rows, whose order in the data file is not kept", len(relinked), a.e.Name)
				return l
			}
		}
	}
	bySeq := cust[0]
	if seq != nil {
		bySeq = make([]int32, n)
		for k, r := range seq {
			bySeq[k] = cust[0][r]
		}
	}
	starts := customerStarts(bySeq, ap.numCustomers, true)
	placeSeq := placeByStarts(bySeq, starts)
	identity := true
	for k, r := range placeSeq {
		if int(r) != k {
			identity = false
			break
		}
	}
	if seq == nil {
		if !identity {
			a.place = placeSeq
		}
	} else {
		a.place = make([]uint32, n)
		for k, r := range seq {
			a.place[r] = placeSeq[k]
		}
	}
	var perm []uint32
	for j, p := range paths {
		l := &Links{Path: slices.Clone(p), numCustomers: ap.numCustomers}
		switch {
		case j == 0:
			l.Customer = clusteredCustomers(starts, ap.numCustomers)
			l.Broken, l.Sorted = int(starts[ap.numCustomers+1]-starts[ap.numCustomers]), true
			s := starts[:ap.numCustomers+1]
			l.startsOnce.Do(func() { l.starts = s })
			if l.Broken > 0 && known {
				l.placed = placeSeq
			}
		case a.place == nil:
			l.Customer = cust[j]
			l.Broken, l.Sorted = linkOrder(l.Customer)
		default:
			l.Customer = placeInt32(cust[j], a.place)
			if identity {
				l.Broken, l.Sorted = linkOrder(l.Customer)
				break
			}
			if perm == nil {
				perm = inversePlace(placeSeq)
			}
			l.fileOrder = placeSeq
			l.Broken, _ = linkOrder(l.Customer)
			l.Sorted = sortedInFileOrder(l.Customer, perm)
		}
		a.links = append(a.links, l)
	}
	t, err := ap.concat(a, a.place)
	a.table = t
	return err
}

// concat builds a table of a's old rows followed by its new ones, placed
// by place unless it is nil. A column that neither new rows nor place
// change is shared.
func (ap *appender) concat(a *appendEntity, place []uint32) (*Table, error) {
	t := &Table{Entity: a.e, NumRows: a.oldRows() + a.addRows(), Columns: make([]*Column, len(a.e.Attributes))}
	for i, c := range a.old.Columns {
		if err := ap.ctx.Err(); err != nil {
			t.release()
			return nil, fmt.Errorf("append %s: %w", a.e.Name, err)
		}
		if a.add == nil && place == nil {
			c.Data.Retain()
			t.Columns[i] = c
			continue
		}
		arr := c.Data
		arr.Retain()
		if a.add != nil {
			joined, err := concatArrays(ap.mem, arr, a.add.Columns[i].Data)
			arr.Release()
			if err != nil {
				t.release()
				return nil, fmt.Errorf("append %s.%s: %w", a.e.Name, c.Attr.Name, err)
			}
			arr = joined
		}
		if place != nil {
			placed, err := scatter(ap.mem, arr, place)
			arr.Release()
			if err != nil {
				t.release()
				return nil, fmt.Errorf("append %s.%s: %w", a.e.Name, c.Attr.Name, err)
			}
			arr = placed
		}
		t.Columns[i] = &Column{Attr: c.Attr, Data: withValueBuffer(arr)}
	}
	return t, nil
}

// concatArrays returns old's rows followed by add's, two columns of one
// attribute in the normalized types; strings stay dictionary-encoded if
// old's are, the dictionary extended by add's new values.
func concatArrays(mem memory.Allocator, old, add arrow.Array) (arrow.Array, error) {
	if od, ok := old.(*array.Dictionary); ok {
		return concatDictionary(mem, od, add)
	}
	if ad, ok := add.(*array.Dictionary); ok {
		b := array.NewStringBuilder(mem)
		defer b.Release()
		d := ad.Dictionary().(*array.String)
		for i := range ad.Len() {
			if j := ad.GetValueIndex(i); ad.IsValid(i) && d.IsValid(j) {
				b.Append(d.Value(j))
			} else {
				b.AppendNull()
			}
		}
		plain := b.NewArray()
		defer plain.Release()
		add = plain
	}
	return array.Concatenate([]arrow.Array{old, add}, mem)
}

// concatDictionary is concatArrays for an old dictionary column.
func concatDictionary(mem memory.Allocator, old *array.Dictionary, add arrow.Array) (arrow.Array, error) {
	dict, ok := old.Dictionary().(*array.String)
	if !ok {
		return nil, fmt.Errorf("BUG: a dictionary of %s", old.Dictionary().DataType())
	}
	codes := make(map[string]int32, dict.Len())
	for j := range dict.Len() {
		if dict.IsValid(j) {
			if _, dup := codes[dict.Value(j)]; !dup {
				codes[dict.Value(j)] = int32(j)
			}
		}
	}
	more := array.NewStringBuilder(mem)
	defer more.Release()
	idx := array.NewInt32Builder(mem)
	defer idx.Release()
	idx.Reserve(add.Len())
	value := func(i int) (string, bool) {
		switch a := add.(type) {
		case *array.String:
			return a.Value(i), a.IsValid(i)
		case *array.Dictionary:
			d := a.Dictionary().(*array.String)
			j := a.GetValueIndex(i)
			return d.Value(j), a.IsValid(i) && d.IsValid(j)
		}
		return "", false
	}
	switch add.(type) {
	case *array.String, *array.Dictionary:
	default:
		return nil, fmt.Errorf("BUG: strings appended as %s", add.DataType())
	}
	next := int32(dict.Len())
	for i := range add.Len() {
		v, valid := value(i)
		if !valid {
			idx.AppendNull()
			continue
		}
		c, ok := codes[v]
		if !ok {
			c = next
			next++
			codes[v] = c
			more.Append(v)
		}
		idx.Append(c)
	}
	addIdx := idx.NewArray()
	defer addIdx.Release()
	indices, err := array.Concatenate([]arrow.Array{old.Indices(), addIdx}, mem)
	if err != nil {
		return nil, err
	}
	defer indices.Release()
	values := arrow.Array(dict)
	if more.Len() > 0 {
		extra := more.NewArray()
		defer extra.Release()
		if values, err = array.Concatenate([]arrow.Array{dict, extra}, mem); err != nil {
			return nil, err
		}
		defer values.Release()
	}
	return array.NewDictionaryArray(old.DataType(), indices, values), nil
}

// snapshot assembles the new snapshot.
func (ap *appender) snapshot() (*Snapshot, error) {
	s := ap.s
	reports, err := ap.reports()
	if err != nil {
		return nil, err
	}
	ns := &Snapshot{
		reports: reports,
		schema:  s.schema,
		tables:  make(map[string]*Table, len(s.entries)),
		links:   map[string][]*Links{},
		entries: make([]*Table, 0, len(s.entries)),
		keys:    ap.keys,
	}
	for _, e := range s.schema.Entities {
		a := ap.ents[e.Name]
		if a.shared {
			for _, c := range a.table.Columns {
				c.Data.Retain()
			}
		}
		ns.tables[e.Name] = a.table
		ns.entries = append(ns.entries, a.table)
		if len(a.links) > 0 {
			ns.links[e.Name] = a.links
		}
	}
	ns.customers = ns.tables[s.schema.CustomerEntity]
	var changed []string
	for _, e := range s.schema.Entities {
		if !ap.ents[e.Name].shared {
			changed = append(changed, e.Name)
		}
	}
	lin := s.lineage().then(s.ID(), changed)
	ns.derived.get(lineageKey, func() (any, error) { return lin, nil })
	if s.file != nil {
		ns.file, ns.fileRefs = s.file, s.shareFile()
	}
	ns.makeDictionaries()
	ns.memBytes = ns.computeMemory()
	return ns, nil
}

// reports counts the null and dangling foreign keys of every relationship
// again where rows were added on either side: the old counts, less the
// old rows whose keys now find their row, plus the new rows'.
func (ap *appender) reports() ([]LinkReport, error) {
	s := ap.s
	out := slices.Clone(s.reports)
	for k, r := range s.schema.Relationships {
		from, to := ap.ents[r.From.Entity], ap.ents[r.To.Entity]
		if from.add == nil && to.add == nil {
			continue
		}
		rep := &out[k]
		if _, err := ap.oldKeyIndex(to); err != nil {
			return nil, err
		}
		if to.add != nil {
			// Only the old rows that linked to no customer along a path
			// through r can have dangled; without such a path, all.
			fk := from.old.Column(r.From.Attribute).Data
			var broken *Links
			for _, p := range s.schema.Paths(r.From.Entity) {
				if p[0] == r.Name {
					broken = s.Links(r.From.Entity, p)
					break
				}
			}
			for i := range from.old.NumRows {
				if broken != nil && broken.Customer[i] != NoCustomer {
					continue
				}
				if !fk.IsNull(i) && findValue(to.oldKeys, fk, i) < 0 && findValue(to.addKeys, fk, i) >= 0 {
					rep.Dangling--
				}
			}
		}
		if from.add != nil {
			fk := from.add.Column(r.From.Attribute).Data
			for i := range from.add.NumRows {
				switch {
				case fk.IsNull(i):
					rep.Null++
				case to.find(fk, i) < 0:
					rep.Dangling++
				}
			}
		}
	}
	return out, nil
}

// release releases what an append that failed built.
func (ap *appender) release() {
	for _, a := range ap.ents {
		if a.table != nil && !a.shared {
			a.table.release()
		}
	}
}

// fileShare counts the snapshots that share one mapped snapshot file.
type fileShare struct {
	mu   sync.Mutex
	refs int
}

var fileShareKey = NewDerivedKey("storage: file share")

// shareFile returns the count of the snapshots sharing s's file, with one
// more reference for a new snapshot.
func (s *Snapshot) shareFile() *fileShare {
	v, _ := s.derived.get(fileShareKey, func() (any, error) {
		if s.fileRefs != nil {
			return s.fileRefs, nil
		}
		return &fileShare{refs: 1}, nil
	})
	fs := v.(*fileShare)
	fs.mu.Lock()
	fs.refs++
	fs.mu.Unlock()
	return fs
}

// releaseFile closes s's mapped file, if it has one, once no other
// snapshot shares it.
func (s *Snapshot) releaseFile() {
	if s.file == nil {
		return
	}
	if v, _ := s.derived.get(fileShareKey, func() (any, error) { return s.fileRefs, nil }); v != nil {
		if fs, _ := v.(*fileShare); fs != nil {
			fs.mu.Lock()
			fs.refs--
			last := fs.refs == 0
			fs.mu.Unlock()
			if !last {
				return
			}
		}
	}
	s.file.close()
}

// A snapshot's lineage: the snapshots it came from by Append, nearest
// first, with what changed since each.
type lineage []ancestor

type ancestor struct {
	id      uint64
	changed []string // the entities whose tables differ
}

// maxLineage is how many ancestors a snapshot remembers.
const maxLineage = 32

var (
	lineageKey = NewDerivedKey("storage: lineage")
	idKey      = NewDerivedKey("storage: id")
	lastID     atomic.Uint64
	noLineage  = lineage(nil)
)

func (s *Snapshot) lineage() lineage {
	v, _ := s.derived.get(lineageKey, func() (any, error) { return noLineage, nil })
	return v.(lineage)
}

// then returns the lineage of a snapshot appended to one with lineage l
// and id parent, changed being the entities the append changed.
func (l lineage) then(parent uint64, changed []string) lineage {
	out := lineage{{id: parent, changed: changed}}
	for _, a := range l {
		if len(out) == maxLineage {
			break
		}
		union := slices.Clone(a.changed)
		for _, c := range changed {
			if !slices.Contains(union, c) {
				union = append(union, c)
			}
		}
		out = append(out, ancestor{id: a.id, changed: union})
	}
	return out
}

// ID returns a number that identifies the snapshot among every snapshot
// of the process (not across processes), for ChangedSince.
func (s *Snapshot) ID() uint64 {
	v, _ := s.derived.get(idKey, func() (any, error) { return lastID.Add(1), nil })
	return v.(uint64)
}

// ChangedSince returns the entities whose tables (rows, their order or
// their links to customers) differ between s and the snapshot whose ID
// is id, when s came from that one by Append, in one step or several
// (the last 32 are remembered), or is that one (no entity then). Every
// other entity's table, columns and links are the same objects in both,
// and so is everything read from them. ok is false when s did not come
// from that snapshot: the caller must then take every entity as changed.
// A change of the customer entity (new customers) changes what every
// segment may hold, since a new customer may satisfy any condition.
func (s *Snapshot) ChangedSince(id uint64) (entities []string, ok bool) {
	if id == s.ID() {
		return nil, true
	}
	for _, a := range s.lineage() {
		if a.id == id {
			return slices.Clone(a.changed), true
		}
	}
	return nil, false
}
