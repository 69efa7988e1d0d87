package diag

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"
)

var (
	errTestA = NewSentinel("diagtest.alpha", "same text")
	errTestB = NewSentinel("diagtest.beta", "same text")
)

func TestCode(t *testing.T) {
	require.Equal(t, "diagtest.alpha", Code(errTestA))
	require.Equal(t, "diagtest.beta", Code(errTestB), "the code, not the text, names the kind")
	require.Equal(t, "diagtest.alpha", Code(fmt.Errorf("context: %w", errTestA)))
	p := &Problem{Path: "x", Message: "m", Err: errTestB}
	require.Equal(t, "diagtest.beta", Code(p))
	var l List
	l.Add("a", nil, "no sentinel")
	l.Add("b", errTestA, "first with one")
	l.Add("c", errTestB, "second")
	require.Equal(t, "diagtest.alpha", Code(l.Err()))
	require.Equal(t, "", Code(errors.New("same text")), "an error made by errors.New has no code")
	require.Equal(t, "", Code(nil))
	require.Equal(t, "", Code(&Problem{Message: "no sentinel"}))
}

func TestSentinel(t *testing.T) {
	require.Same(t, errTestA, Sentinel("diagtest.alpha"))
	require.ErrorIs(t, fmt.Errorf("w: %w", errTestB), Sentinel(Code(errTestB)))
	require.NotErrorIs(t, errTestA, errTestB)
	require.Nil(t, Sentinel("diagtest.none"))
	require.Nil(t, Sentinel(""))
	require.Contains(t, Codes(), "diagtest.alpha")
	require.Contains(t, Codes(), "diagtest.beta")
}

func TestNewSentinelPanics(t *testing.T) {
	require.PanicsWithValue(t, `BUG: diag.NewSentinel: code "diagtest.alpha" is registered twice`,
		func() { NewSentinel("diagtest.alpha", "other text") })
	for _, bad := range []string{"", "alpha", "Diag.alpha", "diag.", ".alpha", "diag..alpha", "diag.1alpha", "diag.al-pha", "diag.alpha "} {
		require.Panics(t, func() { NewSentinel(bad, "x") }, "code %q", bad)
		require.Nil(t, Sentinel(bad))
	}
	for _, good := range []string{"diagtest.gamma_2", "diagtest.sub.delta"} {
		require.NotPanics(t, func() { NewSentinel(good, "x") }, "code %q", good)
	}
}

func TestRenameCode(t *testing.T) {
	s := NewSentinel("diagtest.renamed_new", "renamed")
	RenameCode("diagtest.renamed_old", s)
	require.Equal(t, s, Sentinel("diagtest.renamed_old"))
	require.Equal(t, s, Sentinel("diagtest.renamed_new"))
	require.Equal(t, "diagtest.renamed_new", Code(fmt.Errorf("x: %w", s)))
	require.Panics(t, func() { RenameCode("diagtest.renamed_new", s) }, "a registered code")
	require.Panics(t, func() { RenameCode("Bad", s) })
	require.Panics(t, func() { RenameCode("diagtest.other", errors.New("not a sentinel")) })
}
