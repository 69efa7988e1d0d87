//go:build !purego

package column

func init() { packedTotals = packedTotalsAsm }

// packedTotalsAsm is packedTotalsGo in assembly.
//
//go:noescape
func packedTotalsAsm(cust []int32, u []uint16, sel []uint64, off int, p uint64, out []int64) (uint64, bool)
