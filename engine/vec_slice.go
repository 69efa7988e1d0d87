package engine

// slice returns the view of values [lo, hi) of v; lo must be a multiple of
// 64 so that the bit-packed parts stay word aligned.
func (v *vec) slice(lo, hi int) *vec {
	s := &vec{n: hi - lo, typ: v.typ, str: v.str, dict: v.dict, base: v.base + lo}
	wlo, whi := lo/64, (hi+63)/64
	if v.valid != nil {
		s.valid = v.valid[wlo:whi]
	}
	if v.b != nil {
		s.b = v.b[wlo:whi]
	}
	switch {
	case v.i64 != nil:
		s.i64 = v.i64[lo:hi]
	case v.f64 != nil:
		s.f64 = v.f64[lo:hi]
	case v.i32 != nil:
		s.i32 = v.i32[lo:hi]
	case v.codes != nil:
		s.codes = v.codes[lo:hi]
	case v.strs != nil:
		s.strs = v.strs[lo:hi]
	}
	return s
}
