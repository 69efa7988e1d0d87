package column

// RowTest returns the kernel's test of one non-null value, before negation.
func (k *Kernel) RowTest(v *Vec) func(i int) bool {
	switch k.Kind {
	case KindNotNull:
		return func(int) bool { return true }
	case KindNone, KindNull:
		return func(int) bool { return false }
	case KindInts:
		if v.narrowInts() {
			return func(i int) bool { return InRanges(v.narrowAt(i), k.IR) }
		}
		if v.I32 != nil {
			return func(i int) bool { return InRanges(int64(v.I32[i]), k.IR) }
		}
		return func(i int) bool { return InRanges(v.I64[i], k.IR) }
	case KindFloats:
		return func(i int) bool {
			x := v.F64[i]
			for _, r := range k.FR {
				if r.Has(x) {
					return true
				}
			}
			return false
		}
	case KindBool:
		return func(i int) bool { return v.B.Has(i) == k.Want }
	case KindStrings:
		if v.Codes != nil {
			return func(i int) bool { return k.Hit.HasCode(v.Codes[i]) }
		}
		if v.U8 != nil && v.Dict != nil {
			return func(i int) bool { return k.Hit.HasCode(int32(v.U8[i])) }
		}
		return func(i int) bool { return k.Match(v.StringAt(i)) }
	}
	return func(int) bool { return false }
}

// EvalCandidates tests the string values of the customers in cand only, row by
// row, and sets their bits in out. startsWith and endsWith on a plain
// column compare each value's bytes in place (Affix), as the whole
// column's scan does.
func (k *Kernel) EvalCandidates(v *Vec, cand Bitset, out Bitset) {
	if a := k.Affix; a != nil && v.Str != nil {
		offs := v.Str.ValueOffsets()
		base := int(offs[0])
		offs = offs[v.Base:]
		data := v.Str.ValueBytes()
		n := len(a.s)
		cand.ForEach(func(i int) {
			if i >= v.N || !v.IsValid(i) {
				return
			}
			lo, hi := int(offs[i])-base, int(offs[i+1])-base
			match := hi-lo >= n
			if match {
				if a.end {
					lo = hi - n
				}
				match = a.at(data, lo)
			}
			if match != k.Negate {
				out.Set(i)
			}
		})
		return
	}
	cand.ForEach(func(i int) {
		if i < v.N && v.IsValid(i) && k.Match(v.StringAt(i)) != k.Negate {
			out.Set(i)
		}
	})
}
