package catalog

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/segmentkit/segmentkit/export"
)

// buildFixture fills e's catalog with something of everything the file
// keeps: valid, static, referencing and draft segments, refresh jobs and
// their history and changes (three refreshes a day apart, data changed
// in between), a schedule, a destination with what it was sent, an export
// job and a token. The catalog stays open.
func buildFixture(t testing.TB, e *env) {
	t.Helper()
	ctx := context.Background()
	c := e.cat
	_, err := c.Create(ctx, def("Older", ageOver(24)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = c.Create(ctx, staticDef("Frozen", ageOver(26)), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = c.Create(ctx, []byte(`{"name": "OlderVips", "groups": [{"condition": {"and": [{"segment": "Older"},
	  {"attribute": "Customer.IsVip", "operator": "isTrue"}]}}]}`), CreateOptions{Active: true})
	require.NoError(t, err)
	_, err = c.Create(ctx, def("Broken", `{"attribute": "Customer.Nope", "operator": "equals", "value": 1}`), CreateOptions{})
	require.NoError(t, err)
	require.NoError(t, c.SetSchedule("Older", "0 6 * * *"))
	out := filepath.Join(t.TempDir(), "older.csv")
	_, err = c.AddDestination(ctx, "Older", DestinationOptions{To: "csv:" + out, Mode: export.Delta})
	require.NoError(t, err)
	for i := range 3 {
		e.clock.Advance(24 * time.Hour)
		if i == 1 {
			writeData(t, e.dir, people(14), someOrders(14))
		}
		_, err = c.RefreshAll(ctx)
		require.NoError(t, err)
	}
	_, err = c.Export(ctx, "Older", "csv")
	require.NoError(t, err)
	_, _, err = c.CreateToken("ci", Viewer)
	require.NoError(t, err)
}
