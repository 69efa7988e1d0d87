package engine

import "bytes"

// eval writes into out (len (v.n+63)/64 words, overwritten) the rows where
// the predicate holds. Null rows never hold, except for isNull. The loops
// build one 64-bit word at a time from typed slices; the operator was fixed
// when the kernel was built.
func (k *kernel) eval(v *vec, out bitset) {
	n := v.n
	switch k.kind {
	case kNull:
		if v.valid == nil {
			clear(out)
			return
		}
		copy(out, v.valid)
		out.not(n)
		return
	case kNotNull:
		if v.valid == nil {
			copy(out, fullBitset(n))
			return
		}
		copy(out, v.valid)
		return
	case kNone:
		clear(out)
		return
	case kInts:
		switch {
		case v.i64 != nil:
			evalInts(v.i64, k.ir, out)
		default:
			evalInts(v.i32, k.ir, out)
		}
	case kFloats:
		evalFloats(v.f64, k.fr, out)
	case kStrings:
		k.evalStrings(v, out)
	case kBool:
		copy(out, v.b)
		if !k.want {
			out.not(n)
		}
	}
	if k.negate {
		out.not(n)
	}
	if v.valid != nil {
		out.and(v.valid)
	}
}

type integer interface{ ~int32 | ~int64 }

func evalInts[T integer](vals []T, rs []irange, out bitset) {
	n := len(vals)
	if len(rs) == 1 {
		// One range is one unsigned comparison: x-lo <= hi-lo in wrapping
		// arithmetic holds exactly when lo <= x <= hi.
		lo, width := uint64(rs[0].lo), uint64(rs[0].hi)-uint64(rs[0].lo)
		for w := 0; w*64 < n; w++ {
			block := vals[w*64 : min(n, w*64+64)]
			var word uint64
			for j, x := range block {
				word |= b2u(uint64(int64(x))-lo <= width) << uint(j)
			}
			out[w] = word
		}
		return
	}
	for w := 0; w*64 < n; w++ {
		block := vals[w*64 : min(n, w*64+64)]
		var word uint64
		for j, x := range block {
			if inRanges(int64(x), rs) {
				word |= 1 << uint(j)
			}
		}
		out[w] = word
	}
}

// inRanges reports whether x is in one of the sorted, disjoint ranges.
func inRanges(x int64, rs []irange) bool {
	lo, hi := 0, len(rs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		switch {
		case x < rs[m].lo:
			hi = m
		case x > rs[m].hi:
			lo = m + 1
		default:
			return true
		}
	}
	return false
}

func evalFloats(vals []float64, rs []frange, out bitset) {
	n := len(vals)
	if len(rs) == 1 && !rs[0].loOpen && !rs[0].hiOpen {
		lo, hi := rs[0].lo, rs[0].hi
		for w := 0; w*64 < n; w++ {
			block := vals[w*64 : min(n, w*64+64)]
			var word uint64
			for j, x := range block {
				word |= b2u(x >= lo) & b2u(x <= hi) << uint(j)
			}
			out[w] = word
		}
		return
	}
	for w := 0; w*64 < n; w++ {
		block := vals[w*64 : min(n, w*64+64)]
		var word uint64
		for j, x := range block {
			for _, r := range rs {
				if r.has(x) {
					word |= 1 << uint(j)
					break
				}
			}
		}
		out[w] = word
	}
}

// evalStrings runs the string predicate once per dictionary entry when the
// column is dictionary-encoded, then maps codes; plain strings are tested
// row by row.
func (k *kernel) evalStrings(v *vec, out bitset) {
	n := v.n
	clear(out)
	if v.codes != nil {
		hit := newBitset(v.dict.Len())
		for i := 0; i < v.dict.Len(); i++ {
			if v.dict.IsValid(i) && k.match(v.dict.Value(i)) {
				hit.set(i)
			}
		}
		for w := 0; w*64 < n; w++ {
			block := v.codes[w*64 : min(n, w*64+64)]
			var word uint64
			for j, c := range block {
				if uint(c) < uint(len(hit)*64) && hit.has(int(c)) {
					word |= 1 << uint(j)
				}
			}
			out[w] = word
		}
		return
	}
	if v.str != nil && k.needle != "" {
		containsScan(v, k.needle, out)
		return
	}
	for i := 0; i < n; i++ {
		if v.isValid(i) && k.match(v.stringAt(i)) {
			out.set(i)
		}
	}
}

// containsScan marks the rows of a plain string column that contain
// needle. It searches the column's value buffer, all rows back to back,
// with bytes.Index (vectorized by the Go runtime), and maps each match to
// its row by walking the offsets forward; a match that crosses into the
// next value is not one, and the search goes on from the byte after it.
// Null rows may be marked: the caller masks them.
func containsScan(v *vec, needle string, out bitset) {
	offs := v.str.ValueOffsets()[v.base : v.base+v.n+1]
	data := v.str.ValueBytes()
	base := int(v.str.ValueOffsets()[0])
	nb := []byte(needle)
	lo, hi := int(offs[0])-base, int(offs[v.n])-base
	row := 0
	for pos := lo; pos < hi; {
		i := bytes.Index(data[pos:hi], nb)
		if i < 0 {
			return
		}
		p := pos + i
		for int(offs[row+1])-base <= p {
			row++
		}
		end := int(offs[row+1]) - base
		if p+len(nb) <= end {
			out.set(row)
			pos = end // the row is marked; search from the next one
			continue
		}
		pos = p + 1
	}
}

// b2u converts a comparison result to 0 or 1 without a branch, so that
// kernels with unpredictable outcomes do not pay for mispredictions.
func b2u(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}
