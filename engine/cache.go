package engine

import (
	"container/list"
	"strconv"
	"sync"

	"github.com/segmentkit/segmentkit/internal/column"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Cache keeps the results of conditions evaluated against one snapshot, so
// that re-evaluating a definition, or another definition that shares
// conditions with it (the same predicate, related condition or group), reuses
// their members instead of scanning again. Results of conditions that use
// inLastDays or inNextDays are kept per as-of instant.
//
// A Cache belongs to one snapshot: create it next to the snapshot and drop
// it with it. It holds at most MaxBytes of results, evicting the least
// recently used. It is safe for concurrent use.
type Cache struct {
	snap     *storage.Snapshot
	maxBytes int64

	mu      sync.Mutex
	used    int64
	entries map[string]*list.Element
	lru     list.List // of *cacheEntry, most recent first
	hits    uint64
	misses  uint64
}

type cacheEntry struct {
	key  string
	bits column.Bitset
}

// NewCache returns an empty cache for results over snap holding at most
// maxBytes of results; maxBytes <= 0 means 256 MiB.
func NewCache(snap *storage.Snapshot, maxBytes int64) *Cache {
	if maxBytes <= 0 {
		maxBytes = 256 << 20
	}
	return &Cache{snap: snap, maxBytes: maxBytes, entries: map[string]*list.Element{}}
}

// Clear drops every cached result.
func (c *Cache) Clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entries = map[string]*list.Element{}
	c.lru.Init()
	c.used = 0
}

// CacheStats counts a cache's lookups.
type CacheStats struct {
	Entries      int
	Bytes        int64
	Hits, Misses uint64
}

// Stats returns the cache's size and lookup counts.
func (c *Cache) Stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{Entries: len(c.entries), Bytes: c.used, Hits: c.hits, Misses: c.misses}
}

// get returns a copy of the cached result for key, which the caller owns.
func (c *Cache) get(key string) (column.Bitset, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.entries[key]
	if !ok {
		c.misses++
		return nil, false
	}
	c.hits++
	c.lru.MoveToFront(el)
	return el.Value.(*cacheEntry).bits.Clone(), true
}

// put stores a copy of b under key.
func (c *Cache) put(key string, b column.Bitset) {
	size := int64(len(b)*8 + len(key))
	if size > c.maxBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.entries[key]; ok {
		c.lru.MoveToFront(el)
		return
	}
	c.entries[key] = c.lru.PushFront(&cacheEntry{key: key, bits: b.Clone()})
	c.used += size
	for c.used > c.maxBytes {
		el := c.lru.Back()
		e := el.Value.(*cacheEntry)
		c.lru.Remove(el)
		delete(c.entries, e.key)
		c.used -= int64(len(e.bits)*8 + len(e.key))
	}
}

// cachedNode wraps a node whose result is worth keeping: a predicate, a
// related condition, a group. key identifies the condition; relative says
// whether its result depends on the as-of instant.
type cachedNode struct {
	node
	key      string
	relative bool
}

func (cn cachedNode) eval(ec *evalCtx) (column.Bitset, error) {
	if ec.cache == nil {
		return cn.node.eval(ec)
	}
	key := cn.key
	if cn.relative {
		key += "@" + strconv.FormatInt(ec.asOf.Unix(), 10) + "." + strconv.Itoa(ec.asOf.Nanosecond())
	}
	if b, ok := ec.cache.get(key); ok {
		// A hit scans nothing, so it checks for cancellation itself.
		if err := ec.err(); err != nil {
			return nil, err
		}
		return b, nil
	}
	// A result restricted to candidates is not the condition's whole
	// result: use it, but do not keep it.
	outer := ec.partial
	ec.partial = false
	b, err := cn.node.eval(ec)
	partial := ec.partial
	ec.partial = outer || partial
	if err != nil {
		return nil, err
	}
	if !partial {
		ec.cache.put(key, b)
	}
	return b, nil
}

// conditionKey returns a key for a condition that is equal for conditions
// with equal meaning as written (their JSON) in the definition's time zone
// tz ("" for UTC), and whether the condition depends on the as-of instant:
// it uses a relative operator (inLastDays, inNextDays, an anniversary),
// stopped or started, or a measure, whose where may. The key of a
// condition that depends on the calendar (those, and calendar periods)
// holds tz.
//
// Conditions that reference other segments are not cached (ok false): the
// referenced members are an input that may change between evaluations.
func conditionKey(c segment.Condition, tz string) (key string, relative, ok bool) {
	b, err := segment.MarshalCondition(c)
	if err != nil {
		return "", false, false
	}
	relative, ok = false, true
	period := false
	segment.Inspect(c, func(n segment.Condition) bool {
		switch n := n.(type) {
		case *segment.Predicate:
			entity, _, isAttr := splitAttr(n.Attribute)
			if n.Op.Relative() || isAttr && entity == schema.MeasuresEntity {
				relative = true
			}
		case *segment.SegmentRef:
			ok = false
		case *segment.Related:
			if n.Op.Relative() || n.Change != nil {
				relative = true
			}
			if n.Aggregate != nil && n.Aggregate.Period != segment.NoPeriod {
				period = true
			}
		}
		return true
	})
	key = string(b)
	if tz != "" && (relative || period) {
		key = "timeZone " + tz + "\x00" + key
	}
	return key, relative, ok
}

// cached wraps n so that its results go through the evaluation's cache.
func (cc *compiler) cached(n node, c segment.Condition) node {
	key, relative, ok := conditionKey(c, cc.tz)
	if !ok {
		return n
	}
	return cachedNode{node: n, key: key, relative: relative}
}
