package column

// Slice returns the view of values [lo, hi) of v; lo must be a multiple of
// 64 so that the bit-packed parts stay word aligned.
func (v *Vec) Slice(lo, hi int) *Vec {
	s := &Vec{N: hi - lo, Type: v.Type, Str: v.Str, Dict: v.Dict, Base: v.Base + lo, Off: v.Off, Span: v.Span}
	wlo, whi := lo/64, (hi+63)/64
	if v.Valid != nil {
		s.Valid = v.Valid[wlo:whi]
	}
	if v.B != nil {
		s.B = v.B[wlo:whi]
	}
	switch {
	case v.I64 != nil:
		s.I64 = v.I64[lo:hi]
	case v.F64 != nil:
		s.F64 = v.F64[lo:hi]
	case v.I32 != nil:
		s.I32 = v.I32[lo:hi]
	case v.Codes != nil:
		s.Codes = v.Codes[lo:hi]
	case v.Strs != nil:
		s.Strs = v.Strs[lo:hi]
	case v.U8 != nil:
		s.U8 = v.U8[lo:hi]
	case v.U16 != nil:
		s.U16 = v.U16[lo:hi]
	case v.U32 != nil:
		s.U32 = v.U32[lo:hi]
	}
	return s
}
