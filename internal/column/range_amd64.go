//go:build !purego

package column

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX2 {
		rangeInt32Blocks = rangeInt32sAVX2
		rangeByteBlocks = rangeBytesAVX2
		rangeUint16Blocks = rangeUint16sAVX2
		twoOfFour = true
		codeBlocks16 = codeBytes16AVX2
	}
}

// rangeInt32sAVX2 is rangeInt32Blocks with AVX2, eight values to a
// register.
//
//go:noescape
func rangeInt32sAVX2(vals []int32, lo int32, width uint32, out []uint64)

// rangeBytesAVX2 is rangeByteBlocks with AVX2, 32 bytes to a register.
//
//go:noescape
func rangeBytesAVX2(vals []uint8, lo, width uint8, out []uint64)

// codeBytes16AVX2 is codeBlocks16 with AVX2: a byte shuffle looks up 32
// codes at a time in table.
//
//go:noescape
func codeBytes16AVX2(codes []uint8, table *[16]uint8, out []uint64)

// rangeUint16sAVX2 is rangeUint16Blocks with AVX2, 16 values to a
// register.
//
//go:noescape
func rangeUint16sAVX2(vals []uint16, lo, width uint16, out []uint64)
