package column

import "testing"

func BenchmarkBitsetAnd(b *testing.B) {
	x, y := FullBitset(10_000_000), NewBitset(10_000_000)
	for i := 0; i < 10_000_000; i += 97 {
		y.Set(i)
	}
	b.SetBytes(int64(len(x) * 16))
	b.ReportAllocs()
	for b.Loop() {
		x.And(y)
	}
}
