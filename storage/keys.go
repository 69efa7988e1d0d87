package storage

import (
	"context"
	"fmt"
	"hash/maphash"
	"math"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/schema"
)

// keyIndex maps the key values of an entity to rows. It is an open
// addressing table of row numbers that reads the values from the key
// column itself, so a string key costs no copy of the string: 4 bytes per
// slot, at most half of the slots used. Integer keys that count up by one
// from the first row (1, 2, 3, ..., as exports of numbered rows often are)
// need no table: the row is the key less the first key.
type keyIndex struct {
	// dense: the key of row i is base+i, for the n rows, and slots is
	// nil; the index does not read the column.
	dense bool
	base  int64
	n     int
	// slots hold row+1; 0 is an empty slot.
	slots []int32
	mask  uint64
	kind  keyKind
	ints  []int64   // kindInt: the values (booleans as 0/1, days widened)
	nums  []float64 // kindFloat
	strs  strView   // kindString
	owned bool      // ints is a copy, not the column's buffer
	seed  maphash.Seed
	salt  uint64
}

type keyKind uint8

const (
	kindInt keyKind = iota
	kindFloat
	kindString
)

// strView reads the values of a plain or dictionary string column.
type strView struct {
	plain *array.String
	codes []int32
	dict  *array.String
}

func (v *strView) at(i int) string {
	if v.plain != nil {
		return v.plain.Value(i)
	}
	return v.dict.Value(int(v.codes[i]))
}

// int64s reinterprets a slice of an int64-based Arrow type.
func int64s[T ~int64](s []T) []int64 {
	return unsafe.Slice((*int64)(unsafe.Pointer(unsafe.SliceData(s))), len(s))
}

// newKeyView prepares a keyIndex over column c, without slots. Int64,
// timestamp, float and string values are read from c's buffers in place.
func newKeyView(c arrow.Array) (*keyIndex, error) {
	ki := &keyIndex{seed: maphash.MakeSeed()}
	ki.salt = maphash.Comparable(ki.seed, uint64(0x9e3779b97f4a7c15))
	switch c := c.(type) {
	case *array.Int64:
		ki.kind, ki.ints = kindInt, c.Int64Values()
	case *array.Timestamp:
		ki.kind, ki.ints = kindInt, int64s(c.TimestampValues())
	case *array.Date32:
		ki.kind, ki.ints, ki.owned = kindInt, make([]int64, c.Len()), true
		for i, v := range c.Date32Values() {
			ki.ints[i] = int64(v)
		}
	case *array.Boolean:
		ki.kind, ki.ints, ki.owned = kindInt, make([]int64, c.Len()), true
		for i := range c.Len() {
			if c.Value(i) {
				ki.ints[i] = 1
			}
		}
	case *array.Float64:
		ki.kind, ki.nums = kindFloat, c.Float64Values()
	case *array.String:
		ki.kind, ki.strs = kindString, strView{plain: c}
	case *array.Dictionary:
		dict, ok := c.Dictionary().(*array.String)
		if !ok || c.Indices().DataType().ID() != arrow.INT32 {
			return nil, fmt.Errorf("BUG: key column of type %s", c.DataType())
		}
		ki.kind, ki.strs = kindString, strView{codes: c.Indices().(*array.Int32).Int32Values(), dict: dict}
	default:
		return nil, fmt.Errorf("BUG: key column of type %s", c.DataType())
	}
	return ki, nil
}

func mix(h uint64) uint64 {
	// The finalizer of SplitMix64: every input bit affects every output bit.
	h ^= h >> 30
	h *= 0xbf58476d1ce4e5b9
	h ^= h >> 27
	h *= 0x94d049bb133111eb
	h ^= h >> 31
	return h
}

func (k *keyIndex) hashInt(v int64) uint64 { return mix(uint64(v) ^ k.salt) }

// floatBits maps equal floats to equal bits: -0 to 0, every NaN to one.
func floatBits(f float64) uint64 {
	switch {
	case f == 0:
		return 0
	case f != f:
		return 0x7ff8000000000001
	}
	return math.Float64bits(f)
}

func (k *keyIndex) hashRow(i int) uint64 {
	switch k.kind {
	case kindInt:
		return k.hashInt(k.ints[i])
	case kindFloat:
		return k.hashInt(int64(floatBits(k.nums[i])))
	}
	return maphash.String(k.seed, k.strs.at(i))
}

func (k *keyIndex) sameRows(a, b int) bool {
	switch k.kind {
	case kindInt:
		return k.ints[a] == k.ints[b]
	case kindFloat:
		return floatBits(k.nums[a]) == floatBits(k.nums[b])
	}
	return k.strs.at(a) == k.strs.at(b)
}

// insert adds row i; if its value is already present it returns the row
// holding it and false.
func (k *keyIndex) insert(i int) (int, bool) {
	for s := k.hashRow(i) & k.mask; ; s = (s + 1) & k.mask {
		r := k.slots[s]
		if r == 0 {
			k.slots[s] = int32(i + 1)
			return 0, true
		}
		if k.sameRows(int(r-1), i) {
			return int(r - 1), false
		}
	}
}

func (k *keyIndex) findInt(v int64) int32 {
	if k.dense {
		if d := uint64(v) - uint64(k.base); d < uint64(k.n) {
			return int32(d)
		}
		return -1
	}
	for s := k.hashInt(v) & k.mask; ; s = (s + 1) & k.mask {
		r := k.slots[s]
		if r == 0 {
			return -1
		}
		if k.ints[r-1] == v {
			return r - 1
		}
	}
}

func (k *keyIndex) findFloat(f float64) int32 {
	b := floatBits(f)
	for s := k.hashInt(int64(b)) & k.mask; ; s = (s + 1) & k.mask {
		r := k.slots[s]
		if r == 0 {
			return -1
		}
		if floatBits(k.nums[r-1]) == b {
			return r - 1
		}
	}
}

func (k *keyIndex) findString(v string) int32 {
	for s := maphash.String(k.seed, v) & k.mask; ; s = (s + 1) & k.mask {
		r := k.slots[s]
		if r == 0 {
			return -1
		}
		if k.strs.at(int(r-1)) == v {
			return r - 1
		}
	}
}

// bytes is the memory the index holds beyond the key column.
func (k *keyIndex) bytes() int64 {
	n := int64(len(k.slots)) * 4
	if k.owned {
		n += int64(len(k.ints)) * 8
	}
	return n
}

// buildKeyIndex indexes col, the key column of an entity whose rows came
// from org, in their order there, reporting null and duplicate keys (at
// most maxProblems) as a diag.List wrapping ErrNullKey and ErrDuplicateKey.
// The index reads col's values unless it is dense.
func buildKeyIndex(ctx context.Context, col *Column, org *origin) (*keyIndex, error) {
	ki, err := newKeyView(col.Data)
	if err != nil {
		return nil, err
	}
	n := col.Data.Len()
	if ki.denseInts(col.Data) {
		return ki, nil
	}
	size := uint64(8)
	if n > 2 {
		size = max(size, 1<<bits.Len64(uint64(n)*2-1))
	}
	ki.slots = make([]int32, size)
	ki.mask = size - 1

	var problems diag.List
	key := col.Attr.Name
	at := func(row int) string { return fmt.Sprintf("%s: column %s", org.at(row), key) }
	data := col.Data
	for i := range n {
		if i%batchRows == batchRows-1 {
			if err := ctx.Err(); err != nil {
				return nil, fmt.Errorf("load %s: %w", org.name, err)
			}
		}
		if data.IsNull(i) {
			problems.Add(at(i), ErrNullKey, "key %s is null", key)
		} else if first, ok := ki.insert(i); !ok {
			problems.Add(at(i), ErrDuplicateKey, "duplicate key %s (first at %s)", quoteValue(col.Format(i)), org.ref(first))
		}
		if len(problems) >= maxProblems {
			problems.Add(org.name, ErrData, "stopped checking keys after %d problems", len(problems))
			break
		}
	}
	if err := problems.Err(); err != nil {
		return nil, err
	}
	return ki, nil
}

// denseInts reports, and records, whether the keys are integers counting
// up by one from the first row's, without nulls: such keys are distinct
// and need no table.
func (k *keyIndex) denseInts(data arrow.Array) bool {
	if k.kind != kindInt || data.NullN() > 0 || len(k.ints) == 0 {
		return false
	}
	base := k.ints[0]
	if base > math.MaxInt64-int64(len(k.ints)-1) {
		return false // the last key would overflow
	}
	for i, v := range k.ints {
		if v != base+int64(i) {
			return false
		}
	}
	k.dense, k.base, k.n = true, base, len(k.ints)
	return true
}

// lookupText finds the row whose key, written as text, is s.
func (k *keyIndex) lookupText(t schema.Type, s string) (int32, bool) {
	var r int32 = -1
	switch t {
	case schema.Integer:
		v, err := parseInteger(s)
		if err != nil {
			return 0, false
		}
		r = k.findInt(v)
	case schema.Number:
		v, err := parseNumber(s)
		if err != nil {
			return 0, false
		}
		r = k.findFloat(v)
	case schema.String:
		r = k.findString(s)
	case schema.Date:
		v, err := parseDate(s)
		if err != nil {
			return 0, false
		}
		r = k.findInt(int64(v))
	case schema.Datetime:
		v, err := parseDatetime(s)
		if err != nil {
			return 0, false
		}
		r = k.findInt(v)
	case schema.Boolean:
		v, err := parseBoolean(s)
		if err != nil {
			return 0, false
		}
		var i int64
		if v {
			i = 1
		}
		r = k.findInt(i)
	}
	return r, r >= 0
}
