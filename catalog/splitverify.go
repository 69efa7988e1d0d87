package catalog

import (
	"fmt"
	"slices"

	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
)

// verifySplitsAndLists adds to l every split and priority list that does
// not decode or names a segment that does not exist.
func verifySplitsAndLists(tx *bolt.Tx, recs map[uint64]*record, broken map[uint64]bool, l *diag.List) {
	if b := tx.Bucket(bucketSplits); b != nil {
		b.ForEach(func(k, v []byte) error {
			if len(k) != 8 {
				l.Add("splits", ErrCorrupt, "key %x is not a segment id", k)
				return nil
			}
			id := beUint64(k)
			if _, err := getSplit(tx, id); err != nil {
				l.Add(fmt.Sprintf("splits[%d]", id), ErrCorrupt, "%s", unwrapCorrupt(err))
			} else if recs[id] == nil && !broken[id] {
				l.Add("splits", ErrCorrupt, "the split of segment %d, which does not exist", id)
			}
			return nil
		})
	}
	if b := tx.Bucket(bucketPriority); b != nil {
		b.ForEach(func(k, v []byte) error {
			pr := new(priorityRecord)
			if err := decodeRecord(k, v, pr); err != nil {
				l.Add(fmt.Sprintf("priority[%s]", excerpt(string(k))), ErrCorrupt, "%s", unwrapCorrupt(err))
				return nil
			}
			for i, e := range pr.Entries {
				if recs[e.SegID] == nil && !broken[e.SegID] {
					l.Add(fmt.Sprintf("priority list %s", excerpt(pr.Name)), ErrCorrupt, "entries[%d] names segment %d, which does not exist", i, e.SegID)
				}
			}
			return nil
		})
	}
}

// salvageSplitsAndLists copies the splits and priority lists of sv that
// decode and whose segments were copied (segs) into tx.
func salvageSplitsAndLists(sv *salvaged, tx *bolt.Tx, segs map[uint64]*record, rep *SalvageReport) error {
	lose := func(format string, args ...any) { rep.Lost = append(rep.Lost, fmt.Sprintf(format, args...)) }
	for _, e := range sv.in(bucketSplits) {
		sr := new(splitRecord)
		err := decodeRecord(e.k, e.v, sr)
		if err == nil {
			err = sr.check()
		}
		switch {
		case len(e.k) != 8:
			lose("a split under the key %x", e.k)
		case err != nil:
			lose("the split of segment %d: %s", beUint64(e.k), unwrapCorrupt(err))
		case segs[beUint64(e.k)] == nil:
			lose("the split of segment %d: the segment is lost", beUint64(e.k))
		default:
			if err := putSplit(tx, beUint64(e.k), sr); err != nil {
				return err
			}
			rep.Copied["splits"]++
		}
	}
	for _, e := range sv.in(bucketPriority) {
		pr := new(priorityRecord)
		if err := decodeRecord(e.k, e.v, pr); err != nil {
			lose("priority list %q: %s", excerpt(string(e.k)), unwrapCorrupt(err))
			continue
		}
		if slices.ContainsFunc(pr.Entries, func(en priorityEntryR) bool { return segs[en.SegID] == nil }) {
			lose("priority list %q: a segment it names is lost", excerpt(pr.Name))
			continue
		}
		if err := putPriorityList(tx, pr); err != nil {
			return err
		}
		rep.Copied["priority lists"]++
	}
	return nil
}
