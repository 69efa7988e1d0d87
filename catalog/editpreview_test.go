package catalog

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestPreviewEdit previews edits of a refreshed segment (ages over 24 of
// C001..C010, aged 20..29): a wider one adds C003..C005, a narrower one
// removes C006..C007, and a shifted one both; samples are bounded; the
// segment is left as it was; and wrong edits get their errors.
func TestPreviewEdit(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, Options{})
	_, err := e.cat.Create(ctx, def("Older", ageOver(24)), CreateOptions{})
	require.NoError(t, err)
	fresh, err := e.cat.PreviewEdit(ctx, "Older", def("Older", ageOver(21)), EditPreviewOptions{})
	require.NoError(t, err)
	require.False(t, fresh.Refreshed)
	require.Equal(t, uint64(0), fresh.Current)
	require.Equal(t, uint64(8), fresh.Added)
	_, err = e.cat.Activate(ctx, "Older")
	require.NoError(t, err)
	before := memberKeys(t, e, "Older")
	require.Equal(t, keysFrom(6, 10), before)

	for _, c := range []struct {
		over           int
		added, removed []string
	}{
		{21, keysFrom(3, 5), []string{}},
		{26, []string{}, keysFrom(6, 7)},
		{24, []string{}, []string{}},
	} {
		p, err := e.cat.PreviewEdit(ctx, "Older", def("Older", ageOver(c.over)), EditPreviewOptions{})
		require.NoError(t, err)
		require.True(t, p.Refreshed)
		require.Equal(t, uint64(5), p.Current)
		require.Equal(t, c.added, p.AddedKeys, "over %d", c.over)
		require.Equal(t, c.removed, p.RemovedKeys, "over %d", c.over)
		require.Equal(t, uint64(len(c.added)), p.Added)
		require.Equal(t, uint64(len(c.removed)), p.Removed)
		require.Equal(t, p.Current+p.Added-p.Removed, p.Members)
	}
	p, err := e.cat.PreviewEdit(ctx, "Older", def("Older", `{"attribute": "Customer.IsVip", "operator": "isFalse"}`), EditPreviewOptions{Samples: 1})
	require.NoError(t, err)
	require.Len(t, p.AddedKeys, 1)
	require.Len(t, p.RemovedKeys, 1)
	require.Greater(t, p.Added, uint64(1))
	require.Equal(t, before, memberKeys(t, e, "Older"), "a preview changes nothing")
	seg, err := e.cat.Get("Older")
	require.NoError(t, err)
	require.Contains(t, string(seg.Definition), `"value": 24`)

	for _, c := range []struct {
		name string
		def  []byte
		opts EditPreviewOptions
		err  error
	}{
		{"Older", def("Older", `{"attribute": "Customer.Agee", "operator": "isNull"}`), EditPreviewOptions{}, ErrInvalid},
		{"Older", def("Other", ageOver(3)), EditPreviewOptions{}, ErrInvalidName},
		{"Nope", def("Nope", ageOver(3)), EditPreviewOptions{}, ErrNotFound},
		{"Older", def("Older", ageOver(3)), EditPreviewOptions{Samples: MaxEditSamples + 1}, ErrInvalid},
	} {
		_, err := e.cat.PreviewEdit(ctx, c.name, c.def, c.opts)
		require.True(t, errors.Is(err, c.err), "%s: %v", c.def, err)
	}
}
