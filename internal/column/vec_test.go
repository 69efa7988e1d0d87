package column

import (
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/schema"
)

// TestOf checks the views of each normalized type, on arrays sliced at an
// offset that is not a multiple of 8, so that validity and boolean bits
// are realigned, and that other Arrow types are refused.
func TestOf(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	const n, off = 150, 5
	valid := func(i int) bool { return i%3 != 0 }

	ib := array.NewInt64Builder(mem)
	db := array.NewDate32Builder(mem)
	bb := array.NewBooleanBuilder(mem)
	sb := array.NewStringBuilder(mem)
	for i := range n {
		if !valid(i) {
			ib.AppendNull()
			db.AppendNull()
			bb.AppendNull()
			sb.AppendNull()
			continue
		}
		ib.Append(int64(i - 70))
		db.Append(arrow.Date32(i - 70))
		bb.Append(i%2 == 0)
		sb.Append(string(rune('a' + i%26)))
	}
	arrays := []struct {
		typ schema.Type
		arr arrow.Array
	}{
		{schema.Integer, ib.NewArray()},
		{schema.Date, db.NewArray()},
		{schema.Boolean, bb.NewArray()},
		{schema.String, sb.NewArray()},
	}
	for _, b := range []interface{ Release() }{ib, db, bb, sb} {
		b.Release()
	}
	for _, a := range arrays {
		t.Run(a.typ.String(), func(t *testing.T) {
			defer a.arr.Release()
			sl := array.NewSlice(a.arr, off, n)
			defer sl.Release()
			v, err := Of(a.typ, sl)
			require.NoError(t, err)
			require.Equal(t, n-off, v.N)
			for i := range v.N {
				j := i + off
				require.Equal(t, valid(j), v.IsValid(i), "row %d", j)
				if !valid(j) {
					continue
				}
				switch a.typ {
				case schema.Integer:
					require.Equal(t, int64(j-70), v.I64[i])
				case schema.Date:
					require.Equal(t, int32(j-70), v.I32[i])
				case schema.Boolean:
					require.Equal(t, j%2 == 0, v.B.Has(i), "row %d", j)
				case schema.String:
					require.Equal(t, string(rune('a'+j%26)), v.StringAt(i))
				}
			}
		})
	}

	i32 := array.NewInt32Builder(mem)
	i32.Append(1)
	arr := i32.NewArray()
	i32.Release()
	defer arr.Release()
	_, err := Of(schema.Integer, arr)
	require.ErrorIs(t, err, ErrNotNormalized)
}

// TestOfEmpty checks that an empty column still tells its representation
// by a non-nil slice, as the kernels read it.
func TestOfEmpty(t *testing.T) {
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	b := array.NewFloat64Builder(mem)
	arr := b.NewArray()
	b.Release()
	defer arr.Release()
	v, err := Of(schema.Number, arr)
	require.NoError(t, err)
	require.NotNil(t, v.F64)
	require.Nil(t, v.I64)
}
