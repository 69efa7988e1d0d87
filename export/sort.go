package export

import (
	"context"
	"slices"
)

// sortRun is how many keys sortKeys sorts between looks at its context:
// a few milliseconds of work.
const sortRun = 1 << 14

// sortKeys sorts keys as slices.Sort does, and stops with ctx's error
// within a few milliseconds of its cancellation: a bottom-up merge sort
// over runs of sortRun keys, each sorted by slices.Sort, looking at ctx
// between runs and every sortRun keys merged. Keys already in order (a
// store that ranges in key order) cost one comparison per merge.
func sortKeys(ctx context.Context, keys []string) error {
	n := len(keys)
	for lo := 0; lo < n; lo += sortRun {
		if err := ctx.Err(); err != nil {
			return err
		}
		slices.Sort(keys[lo:min(lo+sortRun, n)])
	}
	if n <= sortRun {
		return nil
	}
	src, dst := keys, make([]string, n)
	for width := sortRun; width < n; width *= 2 {
		for lo := 0; lo < n; lo += 2 * width {
			mid, hi := min(lo+width, n), min(lo+2*width, n)
			if err := merge(ctx, dst[lo:hi], src[lo:mid], src[mid:hi]); err != nil {
				return err
			}
		}
		src, dst = dst, src
	}
	if &src[0] != &keys[0] {
		copy(keys, src)
	}
	return nil
}

// merge writes the sorted a and b, in order, to out (len(a)+len(b)
// long); a key of a comes before an equal key of b.
func merge(ctx context.Context, out, a, b []string) error {
	if len(b) == 0 || len(a) == 0 || a[len(a)-1] <= b[0] {
		copy(out, a)
		copy(out[len(a):], b)
		return nil
	}
	i, j := 0, 0
	for k := range out {
		if k%sortRun == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if j == len(b) || (i < len(a) && a[i] <= b[j]) {
			out[k] = a[i]
			i++
		} else {
			out[k] = b[j]
			j++
		}
	}
	return nil
}
