package catalog

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTokens(t *testing.T) {
	e := newEnv(t, Options{})
	secret, tok, err := e.cat.CreateToken("ci robot", Editor)
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(secret, "sk_"), secret)
	require.Equal(t, Editor, tok.Role)
	require.Equal(t, "ci robot", tok.Name)

	got, err := e.cat.CheckToken(secret)
	require.NoError(t, err)
	require.Equal(t, tok.ID, got.ID)
	require.Equal(t, Editor, got.Role)

	for _, bad := range []string{"", "sk_", secret + "x", secret[:len(secret)-1], strings.Repeat("sk_a", 100)} {
		_, err := e.cat.CheckToken(bad)
		require.ErrorIs(t, err, ErrUnauthorized, "%q", bad)
		require.NotContains(t, err.Error(), secret)
	}

	second, _, err := e.cat.CreateToken("viewer", Viewer)
	require.NoError(t, err)
	require.NotEqual(t, secret, second)
	ts, err := e.cat.Tokens()
	require.NoError(t, err)
	require.Len(t, ts, 2)
	require.Equal(t, []Role{Editor, Viewer}, []Role{ts[0].Role, ts[1].Role})

	require.NoError(t, e.cat.RevokeToken(tok.ID))
	_, err = e.cat.CheckToken(secret)
	require.ErrorIs(t, err, ErrUnauthorized)
	require.ErrorIs(t, e.cat.RevokeToken(tok.ID), ErrNotFound)
	require.NoError(t, e.cat.Verify())

	// The file holds the hash, never the secret.
	require.NoError(t, e.cat.Close())
	raw, err := os.ReadFile(e.path)
	require.NoError(t, err)
	require.False(t, bytes.Contains(raw, []byte(second)))
	require.False(t, bytes.Contains(raw, []byte(second[3:])))
	e.open(t, Options{})
	_, err = e.cat.CheckToken(second)
	require.NoError(t, err)
}

func TestTokenInputs(t *testing.T) {
	e := newEnv(t, Options{})
	_, _, err := e.cat.CreateToken("x", Role(9))
	require.ErrorIs(t, err, ErrRole)
	_, _, err = e.cat.CreateToken("bad\nname", Viewer)
	require.ErrorIs(t, err, ErrInvalidName)
	_, _, err = e.cat.CreateToken(strings.Repeat("n", 201), Viewer)
	require.ErrorIs(t, err, ErrInvalidName)

	_, err = ParseRole("editr")
	require.ErrorIs(t, err, ErrRole)
	require.Contains(t, err.Error(), "did you mean editor?")
	r, err := ParseRole("admin")
	require.NoError(t, err)
	require.True(t, r.Allows(Editor))
	require.True(t, Editor.Allows(Viewer))
	require.False(t, Viewer.Allows(Editor))
	require.False(t, Editor.Allows(Admin))
}

func TestRefreshStarted(t *testing.T) {
	e := newEnv(t, Options{})
	_, err := e.cat.Create(t.Context(), def("Older", ageOver(30)), CreateOptions{Active: true})
	require.NoError(t, err)
	var seen uint64
	job, err := e.cat.RefreshWith(t.Context(), RefreshOptions{Started: func(id uint64) {
		seen = id
		j, err := e.cat.Job(id)
		require.NoError(t, err)
		require.Equal(t, id, j.ID)
	}}, "Older")
	require.NoError(t, err)
	require.NotZero(t, seen)
	require.Equal(t, job.ID, seen)
}
