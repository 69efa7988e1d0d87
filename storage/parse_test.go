package storage

import (
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/stretchr/testify/require"
)

func TestParseDatetime(t *testing.T) {
	tests := []struct {
		in  string
		ok  bool
		out string // as time.RFC3339Nano in UTC
	}{
		{"2024-03-10T12:00:00+02:00", true, "2024-03-10T10:00:00Z"},
		{"2024-03-10T12:00:00-23:59", true, "2024-03-11T11:59:00Z"},
		{"0000-01-01T00:00:00Z", true, "0000-01-01T00:00:00Z"},
		{"9999-12-31T23:59:59.999999Z", true, "9999-12-31T23:59:59.999999Z"},
		{"2024-01-01T00:00:00.123456000Z", true, "2024-01-01T00:00:00.123456Z"},
		{"2024-01-01T00:00:00.1234567Z", false, ""},
		{"2024-01-01T00:00:00.Z", false, ""},
		{"2024-01-01T00:00:60Z", false, ""},
		{"2024-01-01T00:00:00z", false, ""},
		{"2024-01-01T00:00:00+0100", false, ""},
		{"2024-01-01T00:00:00+01:60", false, ""},
		{"2024-01-01T00:00:00Z ", false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			us, err := parseDatetime(tt.in)
			if !tt.ok {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.out, formatDatetime(us))
			// Agrees with the standard library where both accept.
			ref, err := time.Parse(time.RFC3339Nano, tt.in)
			require.NoError(t, err)
			require.Equal(t, ref.UnixMicro(), us)
		})
	}
}

func TestParseDate(t *testing.T) {
	for _, s := range []string{"0000-01-01", "0000-02-29", "1900-02-28", "1969-12-31", "1970-01-01", "2000-02-29", "2024-12-31", "9999-12-31"} {
		d, err := parseDate(s)
		require.NoError(t, err, s)
		ref, err := time.Parse(time.DateOnly, s)
		require.NoError(t, err)
		require.Equal(t, ref.Unix()/secondsPerDay, int64(d), s)
		require.Equal(t, s, formatDate(arrow.Date32(d)))
	}
	for _, s := range []string{"1900-02-29", "2023-02-29", "2024-04-31", "2024-00-10", "2024-01-00", "+024-01-01", "2024/01/01", "20240101"} {
		_, err := parseDate(s)
		require.Error(t, err, s)
	}
}

func TestQuoteValue(t *testing.T) {
	require.Equal(t, `"a\xff"`, quoteValue("a\xff"))
	long := strings.Repeat("é", 40) // 80 bytes
	q := quoteValue(long)
	require.True(t, strings.HasSuffix(q, `"...`))
	require.Equal(t, `"`+strings.Repeat("é", 32)+`"...`, q)
}
