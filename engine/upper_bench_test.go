package engine

import "testing"

func BenchmarkUpperASCII(b *testing.B) {
	src := make([]byte, 256<<10)
	for i := range src {
		src[i] = byte('a' + i%40)
	}
	dst := make([]byte, len(src))
	b.SetBytes(int64(len(src)))
	b.ReportAllocs()
	for b.Loop() {
		upperASCII(dst, src)
	}
}
