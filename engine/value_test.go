package engine

import (
	"encoding/json"
	"math/big"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNumberOperand(t *testing.T) {
	tests := []struct {
		text  string
		exact string // big.Rat form
		f     float64
	}{
		{"30", "30", 30},
		{"30.5", "61/2", 30.5},
		{"-0", "0", 0},
		{"9007199254740993", "9007199254740993", 9007199254740992},
		{"9007199254740993.0", "9007199254740993", 9007199254740992},
		{"9223372036854775807e0", "9223372036854775807", 9223372036854775808},
		{"1e-400", "1/10000000000000000000000000000000000000000", 0},
		{"-1e-400", "-1/10000000000000000000000000000000000000000", 0},
		{"1E+3", "1000", 1000},
		{"0.001", "1/1000", 0.001},
		{"-2.5e1", "-25", -25},
		{"1e999999999999999999999", "10000000000000000000000000000000000000000", 0},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			o, err := numberOperand(json.Number(tt.text))
			require.NoError(t, err)
			want, ok := new(big.Rat).SetString(tt.exact)
			require.True(t, ok)
			require.Zero(t, want.Cmp(o.r), "exact value %s", o.r.RatString())
			if tt.f != 0 || tt.text == "-0" || tt.text == "1e-400" || tt.text == "-1e-400" {
				require.Equal(t, tt.f, o.f)
			}
		})
	}
	for _, bad := range []string{"", "abc", "1e", "--1", "1.2.3", ".5", "0x10"} {
		_, err := numberOperand(json.Number(bad))
		require.Error(t, err, bad)
	}
}
