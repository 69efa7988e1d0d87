package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/parquet"
)

// A Parquet column of many row groups is decoded and placed a row group
// per task, so that one large column (the order lines' twenty million
// categories) keeps every core busy rather than one: the tasks write to
// rows that no other task writes, and what they share (validity bits,
// the dictionary of a string column) is taken in turn. The problem a
// column reports is the one its reading in file order would: a row group
// that cannot be decoded, the earliest; else a chunk that breaks Arrow's
// layout, the earliest; else its type; else the earliest bad value.

// groupFirsts returns the first row of every row group.
func (s *parquetSource) groupFirsts() []int {
	firsts := make([]int, len(s.groups))
	first := 0
	for g, n := range s.groups {
		firsts[g] = first
		first += int(n)
	}
	return firsts
}

// groupProblems are the problems a task found in its row group.
type groupProblems struct {
	err    error // the row group's decoding, or cancellation
	layout error // a chunk that breaks Arrow's layout
	value  error // a bad value
}

// firstGroupProblem returns the problem the column reports, given the
// problems of its row groups in order and its type problem.
func firstGroupProblem(probs []groupProblems, typeErr error) error {
	for _, p := range probs {
		if p.err != nil {
			return p.err
		}
	}
	for _, p := range probs {
		if p.layout != nil {
			return p.layout
		}
	}
	if typeErr != nil {
		return typeErr
	}
	for _, p := range probs {
		if p.value != nil {
			return p.value
		}
	}
	return nil
}

// sharedPlacer is a placer whose chunks may come in any order, from
// several goroutines at once (fixedPlacer).
type sharedPlacer interface {
	placer
	putShared(c arrow.Array, first int, nulls *[]int32) error
}

// placeGroups builds attribute i's column, of fixed-width values, from
// the Parquet source's row groups, a task each (see placeColumn). p is
// nil for a column whose type cannot hold its values: the row groups are
// still decoded, for the problems that come before the type.
func (el *entityLoad) placeGroups(ps *parquetSource, i int, p sharedPlacer, urgent bool) error {
	l := el.l
	firsts := ps.groupFirsts()
	probs := make([]groupProblems, len(ps.groups))
	var wg sync.WaitGroup
	for g := range ps.groups {
		wg.Go(func() {
			pr := &probs[g]
			pr.err = l.work(urgent, func() error {
				var nulls []int32
				return ps.scanGroup(l.ctx, i, g, firsts[g], func(c arrow.Array, first int, _ bool) error {
					if pr.layout != nil {
						return nil
					}
					if err := checkLayout(c); err != nil {
						pr.layout = &layoutError{err}
						return nil
					}
					if p == nil || pr.value != nil {
						return nil
					}
					pr.value = p.putShared(c, first, &nulls)
					return nil
				})
			})
			if pr.err == nil {
				ps.decoded(i, g)
			}
		})
	}
	wg.Wait()
	return firstGroupProblem(probs, ps.typeErr[i])
}

// placeDictGroups builds attribute i's column, a dictionary-encoded
// string column, into p from the Parquet source's row groups: each is
// decoded to its dictionary and its rows' entries as a task, its entries
// then taken into the column's dictionary in row group order
// (internGroup), and its rows placed. It reports plain when the column
// turns plain, after which p holds nothing of use.
func (el *entityLoad) placeDictGroups(ps *parquetSource, i int, p *stringPlacer, urgent bool) (plain bool, err error) {
	l := el.l
	firsts := ps.groupFirsts()
	probs := make([]groupProblems, len(ps.groups))
	// turns[g] is closed once the row groups before g took their entries.
	turns := make([]chan struct{}, len(ps.groups)+1)
	for g := range turns {
		turns[g] = make(chan struct{})
	}
	close(turns[0])
	// stop (read and written in turn) tells that no later row group is
	// taken: a bad value came, or the column turns plain.
	stop := false
	var wg sync.WaitGroup
	for g := range ps.groups {
		wg.Go(func() {
			pr := &probs[g]
			passed := false
			pass := func() {
				if !passed {
					passed = true
					close(turns[g+1])
				}
			}
			defer pass()
			d := &dictRows{pool: l.scratch}
			defer d.release()
			pr.err = l.work(urgent, func() error { return ps.readDictGroup(l.ctx, i, g, firsts[g], d) })
			<-turns[g]
			if pr.err != nil {
				stop = true
			}
			if stop {
				return
			}
			ps.decoded(i, g)
			// Urgent: the row group's memory goes once it is placed.
			pr.err = l.work(true, func() error {
				var codes []int32
				gPlain, err := p.internGroup(l.ctx, d, firsts[g], &codes)
				switch {
				case err != nil && err == l.ctx.Err():
					stop = true
					return err
				case err != nil:
					pr.value, stop = err, true
				case gPlain:
					plain, stop = true, true
				}
				placing := !stop
				pass()
				if placing {
					p.placeGroup(d, firsts[g], codes)
				}
				return nil
			})
			if pr.err != nil {
				// Cancelled before its turn was taken.
				stop = true
			}
		})
	}
	wg.Wait()
	if err := firstGroupProblem(probs, nil); err != nil {
		return false, err
	}
	return plain, nil
}

// readDictGroup decodes row group g of attribute i, a dictionary-encoded
// string column whose rows start at first, into d: from its pages, or
// read as byte arrays when they hold a page decodeDictGroup does not
// read. A problem is the row group's *decodeError.
func (s *parquetSource) readDictGroup(ctx context.Context, i, g, first int, d *dictRows) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &decodeError{group: g, err: fmt.Errorf("corrupt Parquet file: %v", p)}
		}
	}()
	if err := ctx.Err(); err != nil {
		return err
	}
	rows := int(s.groups[g])
	maxDef := s.rdr.MetaData().Schema.Column(s.leaves[i]).MaxDefinitionLevel()
	err = decodeDictGroup(ctx, s.rdr, g, s.leaves[i], rows, maxDef, d)
	if errors.Is(err, errNotDictPages) {
		return s.bytesDictGroup(ctx, i, g, first, d)
	}
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return &decodeError{group: g, err: err}
	}
	return nil
}

// bytesDictGroup is readDictGroup for a row group read as byte arrays:
// its dictionary holds its distinct values, in the order its rows first
// hold them.
func (s *parquetSource) bytesDictGroup(ctx context.Context, i, g, first int, d *dictRows) error {
	rows := int(s.groups[g])
	d.reset(rows)
	d.offs = append(d.offs, 0)
	local := map[string]int32{}
	vals := make([]parquet.ByteArray, batchRows)
	defs := make([]int16, batchRows)
	maxDef := s.rdr.MetaData().Schema.Column(s.leaves[i]).MaxDefinitionLevel()
	return s.scanGroupBytes(ctx, i, g, first, rows, vals, defs, maxDef, func(vals []parquet.ByteArray, defs []int16, maxDef int16, at, n int) error {
		k := 0
		for r := range n {
			row := at - first + r
			if defs != nil && defs[r] < maxDef {
				d.idx[row] = noEntry
				d.nulls = append(d.nulls, int32(row))
				continue
			}
			v := vals[k]
			k++
			j, ok := local[string(v)]
			if !ok {
				j = int32(d.size())
				d.data = append(d.data, v...)
				if len(d.data) > 1<<31-1 {
					return &decodeError{group: g, err: errors.New("dictionary too large")}
				}
				d.offs = append(d.offs, int32(len(d.data)))
				local[string(v)] = j
			}
			d.idx[row] = j
		}
		return nil
	})
}
