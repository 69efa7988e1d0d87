package exact

import "time"

// Key is a between bound placed in its type's order, for the rule that a
// between's low bound is not above its high bound. Numbers compare as
// int64 when both are written as one and as their nearest float64
// otherwise; days and instants compare exactly. Keys of different types
// do not meet: the callers compare two bounds of one attribute.
type Key struct {
	isInt, isTime bool
	i             int64
	f             float64
	t             time.Time
}

// Key returns the number's place in the order of between bounds.
func (n Number) Key() Key {
	if n.IsInt {
		return Key{isInt: true, i: n.Int}
	}
	return Key{f: n.Float}
}

// DayKey returns day d's place in the order of between bounds.
func DayKey(d int64) Key { return Key{isInt: true, i: d} }

// TimeKey returns instant t's place in the order of between bounds.
func TimeKey(t time.Time) Key { return Key{isTime: true, t: t} }

// Above reports whether k is above o: a between with low k and high o
// holds no value.
func (k Key) Above(o Key) bool {
	switch {
	case k.isInt && o.isInt:
		return k.i > o.i
	case k.isTime && o.isTime:
		return k.t.After(o.t)
	}
	return k.float() > o.float()
}

func (k Key) float() float64 {
	if k.isInt {
		return float64(k.i)
	}
	return k.f
}
