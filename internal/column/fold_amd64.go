//go:build !purego

package column

import "golang.org/x/sys/cpu"

func init() {
	if cpu.X86.HasAVX2 {
		foldBlocks = foldBlocksAVX2
	}
}

// foldBlocksAVX2 is foldBlocks with AVX2, 32 positions to a register; it
// flags no false candidates.
//
//go:noescape
func foldBlocksAVX2(s []byte, i, last int, or0, eq0, orN, eqN byte) (at int, mask uint32)
