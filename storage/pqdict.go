package storage

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"unsafe"

	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/file"
)

// A dictionary-encoded Parquet string column is read a row group at a
// time from its pages: the dictionary page's entries, and for every row
// the entry it holds, decoded from the data pages' definition levels and
// dictionary indices (the RLE / bit-packing hybrid of the Parquet
// format). No value is materialized per row: a row is an entry number,
// which the placer maps to the snapshot dictionary's code (see
// stringPlacer.internGroup).

// errNotDictPages says a column chunk holds a page that decodeDictGroup
// does not read (a data page not dictionary-encoded, levels in the
// deprecated BIT_PACKED encoding): the row group is then read as byte
// arrays.
var errNotDictPages = errors.New("not a dictionary-encoded column chunk")

// dictRows is one row group of a dictionary-encoded string column.
type dictRows struct {
	data []byte  // the entries' bytes, one after another (copied: page buffers are reused)
	offs []int32 // entry j is data[offs[j]:offs[j+1]]
	// idx holds every row's entry, or noEntry for a null row.
	idx []int32
	// nulls lists the null rows, relative to the row group.
	nulls []int32

	// pool, if not nil, holds idx (in idxBuf) and the scratch of
	// definition levels (levelBuf), until release.
	pool             *scratchPool
	idxBuf, levelBuf []byte
}

// uint32s returns n uint32 in *buf: memory of d's pool, replaced when too
// small, or of Go's heap without a pool.
func (d *dictRows) uint32s(buf *[]byte, n int) []uint32 {
	if cap(*buf) < 4*n {
		if d.pool != nil {
			if *buf != nil {
				d.pool.Free(*buf)
			}
			*buf = d.pool.Allocate(4 * n)
		} else {
			*buf = make([]byte, 4*n)
		}
	}
	*buf = (*buf)[:4*n]
	return unsafe.Slice((*uint32)(unsafe.Pointer(unsafe.SliceData(*buf))), n)
}

// release returns d's memory to its pool.
func (d *dictRows) release() {
	if d.pool != nil {
		for _, b := range []*[]byte{&d.idxBuf, &d.levelBuf} {
			if *b != nil {
				d.pool.Free(*b)
				*b = nil
			}
		}
	}
	d.idx = nil
}

const noEntry int32 = -1

// size is the number of entries.
func (d *dictRows) size() int { return max(len(d.offs)-1, 0) }

// entry returns the bytes of entry j.
func (d *dictRows) entry(j int32) []byte { return d.data[d.offs[j]:d.offs[j+1]] }

// reset empties d for a row group of rows rows, keeping its memory.
func (d *dictRows) reset(rows int) {
	d.data, d.offs, d.nulls = d.data[:0], d.offs[:0], d.nulls[:0]
	d.idx = int32s(d.uint32s(&d.idxBuf, rows))
}

// decodeDictGroup decodes row group g of leaf column leaf, of rows rows
// and maximum definition level maxDef, into d. It returns errNotDictPages
// for a page it does not read, and any other problem as the row group's.
func decodeDictGroup(rdr *file.Reader, g, leaf, rows int, maxDef int16, d *dictRows) error {
	d.reset(rows)
	pr, err := rdr.RowGroup(g).GetColumnPageReader(leaf)
	if err != nil {
		return err
	}
	defer pr.Close()
	var levels []uint32 // a page's definition levels
	row, haveDict := 0, false
	for pr.Next() {
		var n int
		var defs, vals []byte
		var defsPrefixed bool
		switch p := pr.Page().(type) {
		case *file.DictionaryPage:
			if haveDict {
				return errors.New("a second dictionary page")
			}
			if e := parquet.Encoding(p.Encoding()); e != parquet.Encodings.Plain && e != parquet.Encodings.PlainDict {
				return errNotDictPages
			}
			if err := d.readDictionary(p.Data(), int(p.NumValues())); err != nil {
				return err
			}
			haveDict = true
			continue
		case *file.DataPageV1:
			if maxDef > 0 && p.DefinitionLevelEncoding() != parquet.Encodings.RLE {
				return errNotDictPages
			}
			n, vals, defsPrefixed = int(p.NumValues()), p.Data(), true
			if e := parquet.Encoding(p.Encoding()); e != parquet.Encodings.RLEDict && e != parquet.Encodings.PlainDict {
				return errNotDictPages
			}
		case *file.DataPageV2:
			if e := parquet.Encoding(p.Encoding()); e != parquet.Encodings.RLEDict && e != parquet.Encodings.PlainDict {
				return errNotDictPages
			}
			n, vals = int(p.NumValues()), p.Data()
			rep, def := int(p.RepetitionLevelByteLen()), int(p.DefinitionLevelByteLen())
			if rep != 0 || rep+def > len(vals) || int(p.NumRows()) != n {
				return fmt.Errorf("data page of %d values and %d rows with %d+%d bytes of levels in %d", n, p.NumRows(), rep, def, len(vals))
			}
			defs, vals = vals[:def], vals[def:]
		default:
			continue
		}
		if !haveDict {
			return errors.New("a data page before the dictionary page")
		}
		if n < 0 || n > rows-row {
			return fmt.Errorf("a data page of %d rows after %d of %d", n, row, rows)
		}
		out := d.idx[row : row+n]
		valid := n
		if maxDef > 0 {
			if defsPrefixed {
				if len(vals) < 4 {
					return errors.New("truncated definition levels")
				}
				size := binary.LittleEndian.Uint32(vals)
				if uint64(size) > uint64(len(vals)-4) {
					return errors.New("truncated definition levels")
				}
				defs, vals = vals[4:4+size], vals[4+size:]
			}
			levels = d.uint32s(&d.levelBuf, n)
			if err := decodeHybrid(defs, uint(bits.Len16(uint16(maxDef))), levels); err != nil {
				return fmt.Errorf("definition levels: %w", err)
			}
			valid = 0
			for _, l := range levels {
				if l == uint32(maxDef) {
					valid++
				}
			}
		}
		if err := d.readIndices(vals, out[:valid]); err != nil {
			return err
		}
		if valid < n {
			// Spread the values to their rows, from the last.
			k := valid
			for r := n - 1; r >= 0; r-- {
				if levels[r] == uint32(maxDef) {
					k--
					out[r] = out[k]
				} else {
					out[r] = noEntry
				}
			}
			for r, l := range levels {
				if l != uint32(maxDef) {
					d.nulls = append(d.nulls, int32(row+r))
				}
			}
		}
		row += n
	}
	if err := pr.Err(); err != nil {
		return err
	}
	if row != rows {
		return fmt.Errorf("%d rows decoded of %d", row, rows)
	}
	return nil
}

// readDictionary reads a dictionary page of n PLAIN byte arrays (each a
// little-endian uint32 length and its bytes).
func (d *dictRows) readDictionary(page []byte, n int) error {
	if n < 0 || n > len(page)/4 {
		return fmt.Errorf("a dictionary page of %d values in %d bytes", n, len(page))
	}
	d.offs = append(d.offs, 0)
	for range n {
		if len(page) < 4 {
			return errors.New("truncated dictionary page")
		}
		size := binary.LittleEndian.Uint32(page)
		if uint64(size) > uint64(len(page)-4) {
			return errors.New("truncated dictionary page")
		}
		d.data = append(d.data, page[4:4+size]...)
		if len(d.data) > 1<<31-1 {
			return errors.New("dictionary page too large")
		}
		d.offs = append(d.offs, int32(len(d.data)))
		page = page[4+size:]
	}
	return nil
}

// readIndices decodes len(out) dictionary indices (a byte of bit width,
// then the hybrid encoding), each checked to be an entry.
func (d *dictRows) readIndices(vals []byte, out []int32) error {
	if len(out) == 0 {
		return nil
	}
	if len(vals) < 1 {
		return errors.New("truncated dictionary indices")
	}
	width := uint(vals[0])
	if width > 32 {
		return fmt.Errorf("dictionary indices of %d bits", width)
	}
	u := int32Bytes(out)
	if err := decodeHybrid(vals[1:], width, u); err != nil {
		return fmt.Errorf("dictionary indices: %w", err)
	}
	size := uint32(d.size())
	for i, j := range u {
		if j >= size {
			return fmt.Errorf("dictionary index %d of value %d is outside the dictionary of %d values", j, i, size)
		}
	}
	return nil
}

// decodeHybrid decodes len(out) values of width bits (at most 32) in the
// RLE / bit-packing hybrid encoding from data: runs, each a ULEB128
// header whose low bit tells a bit-packed run (header>>1 groups of eight
// values, width bits each, least significant bit first) from a repeated
// one (header>>1 times the value in the next ceil(width/8) bytes, little
// endian). Values past len(out) in a last group are ignored.
func decodeHybrid(data []byte, width uint, out []uint32) error {
	byteWidth := int(width+7) / 8
	mask := uint64(1)<<width - 1
	n := 0
	for n < len(out) {
		h, k := binary.Uvarint(data)
		if k <= 0 {
			return errors.New("truncated run header")
		}
		data = data[k:]
		if h&1 == 0 {
			if len(data) < byteWidth {
				return errors.New("truncated run value")
			}
			var v uint64
			for b := range byteWidth {
				v |= uint64(data[b]) << (8 * b)
			}
			data = data[byteWidth:]
			m := int(min(h>>1, uint64(len(out)-n)))
			run := out[n : n+m]
			for i := range run {
				run[i] = uint32(v)
			}
			n += m
			continue
		}
		groups := h >> 1
		if width > 0 && groups > uint64(len(data))/uint64(width) {
			return errors.New("truncated bit-packed run")
		}
		packed := data[:int(groups)*int(width)]
		data = data[len(packed):]
		m := int(min(groups*8, uint64(len(out)-n)))
		unpackBits(packed, width, mask, out[n:n+m])
		n += m
	}
	return nil
}

// unpackBits reads len(out) values of width bits from packed, least
// significant bit first.
func unpackBits(packed []byte, width uint, mask uint64, out []uint32) {
	if width == 0 {
		clear(out)
		return
	}
	bit := uint(0)
	i := 0
	// Eight bytes at a time while they are there: a value of up to 32
	// bits at any shift of up to 7 fits in 64.
	for ; i < len(out) && int(bit>>3)+8 <= len(packed); i++ {
		w := binary.LittleEndian.Uint64(packed[bit>>3:])
		out[i] = uint32(w >> (bit & 7) & mask)
		bit += width
	}
	for ; i < len(out); i++ {
		var w uint64
		for b, at := 0, int(bit>>3); b < 8 && at+b < len(packed); b++ {
			w |= uint64(packed[at+b]) << (8 * b)
		}
		out[i] = uint32(w >> (bit & 7) & mask)
		bit += width
	}
}
