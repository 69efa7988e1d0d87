package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/RoaringBitmap/roaring/v2"
	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// Split groups in definitions: {"segment": NAME, "group": GROUP} holds
// for the members of one group of NAME's split. The catalog validates
// such references (the split is its to know), computes the group's
// members for the engine at each refresh, and keeps a referenced group
// in the split.

// checkGroupRefs returns the problems of def's references to split
// groups ({"segment": NAME, "group": GROUP}) as of tx: the segment must be
// split, have the group, and the group must not be the holdout, which
// nothing may receive.
func checkGroupRefs(tx *bolt.Tx, def *segment.Definition) (diag.List, error) {
	var l diag.List
	for _, ref := range def.Refs() {
		if ref.Group == "" {
			continue
		}
		id, ok := lookup(tx, ref.Name)
		if !ok {
			continue // an unknown segment, which validation reports
		}
		path := strings.TrimSuffix(ref.Path, "segment") + "group"
		sr, err := getSplit(tx, id)
		if err != nil {
			return nil, err
		}
		if sr == nil {
			l.Add(path, segment.ErrUnknownSegment, "segment %s is not split, so it has no group %s", ref.Name, diag.QuoteName(ref.Group))
			continue
		}
		i := sr.index(ref.Group)
		if i < 0 {
			names := sr.names()
			l.AddSuggest(path, segment.ErrUnknownSegment, ref.Group, names, "segment %s has no group %s; its groups are %s",
				ref.Name, diag.QuoteName(ref.Group), strings.Join(names, ", "))
			continue
		}
		if sr.Groups[i].Holdout {
			l.Add(path, ErrHoldout, "group %s of segment %s is its holdout, which no segment or export receives", ref.Group, ref.Name)
		}
	}
	return l, nil
}

// hasGroupRefs reports whether def references a split group. The
// members of such a segment depend on the split as well as on the data,
// so they are never reused.
func hasGroupRefs(def *segment.Definition) bool {
	return slices.ContainsFunc(def.Refs(), func(r segment.Ref) bool { return r.Group != "" })
}

// addGroupMembers adds to segs, which holds the members of the segments
// def references by name, the members of the split groups it references,
// under NAME/GROUP as engine.Options.Segments keys them.
func (c *Catalog) addGroupMembers(ctx context.Context, def *segment.Definition, snap *storage.Snapshot, segs map[string]*roaring.Bitmap) error {
	for _, ref := range def.Refs() {
		key := ref.Name + "/" + ref.Group
		if ref.Group == "" || segs[key] != nil {
			continue
		}
		members, ok := segs[ref.Name]
		if !ok {
			continue // the engine reports the unknown segment
		}
		var sr *splitRecord
		err := c.view(func(tx *bolt.Tx) error {
			id, ok := lookup(tx, ref.Name)
			if !ok {
				return fmt.Errorf("references segment %q, which does not exist", ref.Name)
			}
			var err error
			sr, err = getSplit(tx, id)
			return err
		})
		if err != nil {
			return err
		}
		i := -1
		if sr != nil {
			i = sr.index(ref.Group)
		}
		switch {
		case i < 0:
			return fmt.Errorf("references group %q of segment %q, which its split does not have", ref.Group, ref.Name)
		case sr.Groups[i].Holdout:
			return fmt.Errorf("references group %q of segment %q, which is its holdout: no segment or export receives it", ref.Group, ref.Name)
		}
		groups, err := splitMembers(ctx, snap, sr, members)
		if err != nil {
			return err
		}
		// Every group but the holdout, so that the segment is hashed once
		// for all the references to its groups.
		for gi, g := range sr.Groups {
			if k := ref.Name + "/" + g.Name; !g.Holdout && segs[k] == nil {
				segs[k] = groups[gi]
			}
		}
	}
	return nil
}

// groupRefsTo returns, for each group of the segment named seg that
// another segment's definition references, the first such segment's
// name.
func groupRefsTo(tx *bolt.Tx, seg string) (map[string]string, error) {
	recs, err := allRecords(tx)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, o := range recs {
		if o.Draft || !slices.Contains(o.Refs, seg) {
			continue
		}
		def, err := segment.Parse(o.Definition)
		if err != nil {
			continue
		}
		for _, ref := range def.Refs() {
			if ref.Name == seg && ref.Group != "" && out[ref.Group] == "" {
				out[ref.Group] = o.Name
			}
		}
	}
	return out, nil
}
