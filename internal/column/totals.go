package column

// Running totals, for sums whose additions are exact (Scaled) over rows
// clustered by customer. A customer's rows are consecutive, so a running
// total over the rows, stored at every row into the row's customer, leaves
// at each customer the total at its last row; a customer's sum is its
// total less the one before. There is no branch per customer (where a
// customer's rows end is mispredicted about once a customer otherwise)
// and the loop's one chain is of integer additions.

// TotalCountBits is the low bits of a packed running total (PackedTotals)
// that count rows; the bits above them add the values.
const TotalCountBits = 24

// PackedTotals adds the rows that sel selects (bit off+i, for row i of cust
// and u) into the running total p, each as u[i]<<TotalCountBits | 1, and
// stores p at each row into out[cust[i]]. It returns p, and false, leaving
// out partly written, if a customer is outside out. u must be as long as
// cust, and sel hold a bit for each row from off.
//
// The difference of two totals modulo 2^64 holds the sum of the values
// between them above TotalCountBits and their count below, as long as the
// count is below 2^TotalCountBits and the sum below 2^(64-TotalCountBits).
func PackedTotals(cust []int32, u []uint16, sel []uint64, off int, p uint64, out []int64) (uint64, bool) {
	if len(u) < len(cust) || (off+len(cust)+63)>>6 > len(sel) || off < 0 {
		panic("column: PackedTotals: short slices")
	}
	return packedTotals(cust, u, sel, off, p, out)
}

// packedTotals is PackedTotals' loop: in assembly on amd64, where the Go
// compiler's loop kept a register on the stack and ran at 7 cycles a row.
var packedTotals = packedTotalsGo

func packedTotalsGo(cust []int32, u []uint16, sel []uint64, off int, p uint64, out []int64) (uint64, bool) {
	if len(cust) == 0 {
		return p, true
	}
	u = u[:len(cust)]
	w := sel[off>>6] >> (uint(off) & 63)
	for i, c := range cust {
		if r := off + i; r&63 == 0 {
			w = sel[r>>6]
		}
		p += (uint64(u[i])<<TotalCountBits | 1) & -(w & 1)
		w >>= 1
		if uint(c) >= uint(len(out)) {
			return p, false
		}
		out[c] = int64(p)
	}
	return p, true
}
