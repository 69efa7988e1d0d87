package sqlgen_test

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/sqlgen"
)

// TestClickHouseLiteral checks the forms of ClickHouse literals; the
// benchmarks module's sqldiff tests read every hostile string back from a
// real server.
func TestClickHouseLiteral(t *testing.T) {
	d := sqlgen.ClickHouse
	for v, want := range map[any]string{
		nil: "NULL", true: "1", false: "0", int64(-3): "-3", int64(math.MinInt64): "(-9223372036854775807 - 1)",
		0.1: "0.1", 1.0: "1.0", -2.5: "-2.5", 1e300: "1e+300",
		5e-324:                       "reinterpretAsFloat64(unhex('0100000000000000'))",
		-math.SmallestNonzeroFloat64: "reinterpretAsFloat64(unhex('0100000000000080'))",
		"O'Brien":                    `'O\'Brien'`, `a\b`: `'a\\b'`, "a\nb\x00": `'a\x0ab\x00'`, "ΣΊ": "'ΣΊ'",
	} {
		got, err := d.Literal(v)
		require.NoError(t, err, "%#v", v)
		require.Equal(t, want, got, "%#v", v)
	}
	for _, s := range append(append([]string{}, hostile...), withNUL...) {
		got, err := d.Literal(s)
		require.NoError(t, err, "%q", s)
		require.NotContains(t, got, "\n")
		require.NotContains(t, got, "\r")
		// Inside the quotes every ' and \ is escaped.
		inner := got[1 : len(got)-1]
		unescaped := strings.NewReplacer(`\\`, "", `\'`, "").Replace(inner)
		require.NotContains(t, unescaped, "'", "%q: %s", s, got)
		require.False(t, strings.HasSuffix(unescaped, `\`), "%q: %s", s, got)
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), "\xff", int32(1)} {
		_, err := d.Literal(bad)
		require.ErrorIs(t, err, sqlgen.ErrUnsupported, "%#v", bad)
	}
	id, err := d.Ident("a`b\\c")
	require.NoError(t, err)
	require.Equal(t, "`a\\`b\\\\c`", id)
	_, err = d.Ident("line\nbreak")
	require.ErrorIs(t, err, sqlgen.ErrUnsupported)
}
