package fuzzedit

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestApply(t *testing.T) {
	file := []byte{0, 1, 2, 3, 4, 5}
	// Offset 1 XOR 0xff; offset 0x010004 (65540 % 6 = 2) XOR 0x10; the
	// trailing byte is ignored.
	got := Apply(file, []byte{0, 0, 1, 0xff, 1, 0, 4, 0x10, 9}, 0)
	require.Equal(t, []byte{0, 0xfe, 0x12, 3, 4, 5}, got)
	require.Equal(t, []byte{0, 1, 2, 3, 4, 5}, file, "the input is not changed")
	require.Len(t, Apply(file, nil, 4), 4)
	require.Len(t, Apply(file, nil, 6), 0, "cut is taken modulo the length")
	require.Empty(t, Apply(nil, []byte{1, 2, 3, 4}, 5))
}
