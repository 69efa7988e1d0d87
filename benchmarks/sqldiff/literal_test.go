package sqldiff

import (
	"context"
	"math"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/benchmarks/clickhouse"
	"github.com/segmentkit/segmentkit/sqlgen"
)

// TestClickHouseLiterals reads every kind of literal sqlgen's ClickHouse
// dialect writes back from the server: hostile strings, extreme integers
// and floats (subnormal ones included), booleans.
func TestClickHouseLiterals(t *testing.T) {
	c, ok, err := clickhouse.FromEnv()
	require.NoError(t, err)
	require.True(t, ok, "no ClickHouse cluster: set %s and %s", clickhouse.EnvURL, clickhouse.EnvShards)
	ctx := context.Background()
	d := sqlgen.ClickHouse
	strs := []string{
		"", "plain", "O'Brien", "''", "'", `\`, `\'`, `\\'`, `"`, "a\"b'c", "`", "-- comment", "/* open",
		"*/ DROP TABLE x; --", "line\nbreak", "cr\rlf\r\n", "tab\t", "\x00", "a\x00b", "\x01\x1f\x7f",
		"ümlaut", "ΣΊΣΥΦΟΣ", "\u212Aelvin", "😀", "\u2028\u2029", "%_*?[]^$.()|+{}", "{x:String}", "\\x41",
	}
	for _, s := range strs {
		lit, err := d.Literal(s)
		require.NoError(t, err)
		rows, err := c.Rows(ctx, "SELECT "+lit+", length("+lit+")")
		require.NoError(t, err, "%q as %s", s, lit)
		require.Equal(t, s, rows[0][0].Text, "%q as %s", s, lit)
		require.Equal(t, strconv.Itoa(len(s)), rows[0][1].Text, "%q as %s", s, lit)
	}
	for _, i := range []int64{0, 1, -1, 255, 256, -129, math.MaxInt32 + 1, math.MaxInt64, math.MinInt64, math.MinInt64 + 1} {
		lit, err := d.Literal(i)
		require.NoError(t, err)
		rows, err := c.Rows(ctx, "SELECT toString(toInt64("+lit+")), toTypeName("+lit+") LIKE '%Int%'")
		require.NoError(t, err, "%d as %s", i, lit)
		require.Equal(t, strconv.FormatInt(i, 10), rows[0][0].Text, "%d as %s", i, lit)
		require.Equal(t, "1", rows[0][1].Text)
	}
	for _, f := range []float64{0, math.Copysign(0, -1), 0.1, -2.5, 1e300, -1e-300, math.MaxFloat64, math.SmallestNonzeroFloat64,
		-math.SmallestNonzeroFloat64, 2.2250738585072014e-308, 2.225073858507201e-308, 9007199254740993, 1.0 / 3} {
		lit, err := d.Literal(f)
		require.NoError(t, err)
		// The server writes floats exactly (the shortest text that reads
		// back, -0 included).
		rows, err := c.Rows(ctx, "SELECT toFloat64("+lit+")")
		require.NoError(t, err, "%v as %s", f, lit)
		back, err := strconv.ParseFloat(rows[0][0].Text, 64)
		require.NoError(t, err)
		require.Equal(t, math.Float64bits(f), math.Float64bits(back), "%v as %s: %s", f, lit, rows[0][0].Text)
	}
	for b, want := range map[bool]string{true: "1", false: "0"} {
		lit, err := d.Literal(b)
		require.NoError(t, err)
		got, err := c.Query(ctx, "SELECT "+lit+" = toUInt8("+want+")")
		require.NoError(t, err)
		require.Equal(t, []string{"1"}, got)
	}
}
