//go:build !unix

package regular

// openNonblock is 0 where there are no FIFOs to block an open.
const openNonblock = 0
