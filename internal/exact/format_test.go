package exact

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestFormatNumber(t *testing.T) {
	for x, want := range map[float64]string{
		0: "0", 1493.8500000000001: "1493.85", 13875.879999999994: "13875.88", 0.1 + 0.2: "0.3",
		-2.5: "-2.5", 1e22: "1e+22", 123456789012: "123456789012", 1e-7: "1e-07",
		1667.6900000000003: "1667.69", math.Inf(-1): "-Inf", 0.000001: "0.000001",
	} {
		require.Equal(t, want, FormatNumber(x), "%v", x)
	}
	require.Equal(t, "NaN", FormatNumber(math.NaN()))
}

func TestFormatCount(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 999: "999", 15833: "15,833", 1234567: "1,234,567", -1234: "-1,234", math.MinInt64: "-9,223,372,036,854,775,808"} {
		require.Equal(t, want, FormatCount(n))
	}
	require.Equal(t, "18,446,744,073,709,551,615", FormatCount(uint64(math.MaxUint64)))
}
