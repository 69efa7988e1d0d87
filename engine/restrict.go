package engine

// Conjunctions restrict their later conditions to the customers still in
// the running. While ec.cand is set, a node's result needs to be right only
// for the customers in ec.cand: the caller intersects with it. A related
// condition over rows clustered by customer then tests only the rows of
// those customers, one by one, instead of scanning every row: a VIP who has
// not ordered lately costs the VIPs' orders, not all orders.

// defaultCandidateShare is the share of customers below which a running
// conjunction restricts its later related conditions.
const defaultCandidateShare = 0.25

// restrictTo returns cand if it is sparse enough to restrict evaluation to,
// or nil.
func (ec *evalCtx) restrictTo(cand bitset) bitset {
	share := ec.candidateShare
	if cand == nil || share <= 0 {
		return nil
	}
	if float64(cand.count()) >= share*float64(ec.n) {
		return nil
	}
	return cand
}

// withCand evaluates n with ec.cand set to cand (nil: unrestricted).
func (ec *evalCtx) withCand(cand bitset, n node) (bitset, error) {
	old := ec.cand
	ec.cand = cand
	defer func() { ec.cand = old }()
	return n.eval(ec)
}

// rowsOf returns the rows of the candidate customers, in order, and the
// same rows as a bitset over all rows.
func rowsOf(starts []uint32, cand bitset, rows int) ([]uint32, bitset) {
	var list []uint32
	dom := newBitset(rows)
	cand.forEach(func(c int) {
		for r := starts[c]; r < starts[c+1]; r++ {
			list = append(list, r)
			dom.set(int(r))
		}
	})
	return list, dom
}

// evalAt tests the rows in list (ascending) and sets their bits in out, a
// bitset over the whole column. The dispatch on kind is outside the loops.
func (k *kernel) evalAt(v *vec, list []uint32, out bitset) {
	k = k.prepare(v)
	test := k.rowTest(v)
	for _, r := range list {
		i := int(r)
		valid := v.valid == nil || v.valid.has(i)
		if k.kind == kNull {
			if !valid {
				out.set(i)
			}
			continue
		}
		if valid && test(i) != k.negate {
			out.set(i)
		}
	}
}

// rowTest returns the kernel's test of one non-null value, before negation.
func (k *kernel) rowTest(v *vec) func(i int) bool {
	switch k.kind {
	case kNotNull:
		return func(int) bool { return true }
	case kNone, kNull:
		return func(int) bool { return false }
	case kInts:
		if v.i32 != nil {
			return func(i int) bool { return inRanges(int64(v.i32[i]), k.ir) }
		}
		return func(i int) bool { return inRanges(v.i64[i], k.ir) }
	case kFloats:
		return func(i int) bool {
			x := v.f64[i]
			for _, r := range k.fr {
				if r.has(x) {
					return true
				}
			}
			return false
		}
	case kBool:
		return func(i int) bool { return v.b.has(i) == k.want }
	case kStrings:
		if v.codes != nil {
			return func(i int) bool { return k.hit.hasCode(v.codes[i]) }
		}
		return func(i int) bool { return k.match(v.stringAt(i)) }
	}
	return func(int) bool { return false }
}
