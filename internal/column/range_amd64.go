//go:build !purego

package column

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX2 {
		rangeInt32Blocks = rangeInt32sAVX2
	}
}

// rangeInt32sAVX2 is rangeInt32Blocks with AVX2, eight values to a
// register.
//
//go:noescape
func rangeInt32sAVX2(vals []int32, lo int32, width uint32, out []uint64)
