package catalog

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
	bolt "go.etcd.io/bbolt"
)

func TestTriggerNames(t *testing.T) {
	for tr, want := range map[Trigger]string{
		TriggerManual: "manual", TriggerActivation: "activation", TriggerSchedule: "schedule",
		TriggerSegmentSchedule: "segment schedule", TriggerScheduledActivation: "scheduled activation",
		0: "Trigger(0)", 7: "Trigger(7)", 255: "Trigger(255)",
	} {
		require.Equal(t, want, tr.String())
		b, err := json.Marshal(tr)
		require.NoError(t, err)
		var back Trigger
		require.NoError(t, json.Unmarshal(b, &back), string(b))
		require.Equal(t, tr, back)
	}
	var tr Trigger
	require.Error(t, tr.UnmarshalText([]byte("cron")))
	require.Error(t, tr.UnmarshalText([]byte("Trigger(300)")))
	require.Error(t, tr.UnmarshalText([]byte("Trigger(07)")))
}

// TestJobTriggerJSON: a job's JSON names its trigger, and jobs stored with
// the string triggers of earlier versions read, "schedule" telling a
// segment's schedule from the catalog's by All.
func TestJobTriggerJSON(t *testing.T) {
	b, err := json.Marshal(&Job{ID: 3, Trigger: TriggerSegmentSchedule, Tasks: []Task{}})
	require.NoError(t, err)
	require.Contains(t, string(b), `"trigger":"segment schedule"`)

	for _, c := range []struct {
		json string
		want Trigger
	}{
		{`{"id": 1, "trigger": "manual"}`, TriggerManual},
		{`{"id": 1, "trigger": "activation"}`, TriggerActivation},
		{`{"id": 1, "trigger": "scheduled activation"}`, TriggerScheduledActivation},
		{`{"id": 1, "trigger": "schedule", "all": true}`, TriggerSchedule},
		{`{"id": 1, "trigger": "schedule", "requested": ["A"]}`, TriggerSegmentSchedule},
		{`{"id": 1, "trigger": "segment schedule"}`, TriggerSegmentSchedule},
		{`{"id": 1}`, 0},
	} {
		var j Job
		require.NoError(t, json.Unmarshal([]byte(c.json), &j), c.json)
		require.Equal(t, c.want, j.Trigger, c.json)
		require.EqualValues(t, 1, j.ID)
	}
	var j Job
	require.Error(t, json.Unmarshal([]byte(`{"trigger": "sometime"}`), &j))

	// An old file's job header, as the file stores it.
	e := newEnv(t, Options{})
	_, err = e.cat.Create(context.Background(), def("A", ageOver(25)), CreateOptions{Active: true})
	require.NoError(t, err)
	job, err := e.cat.Refresh(context.Background(), "A")
	require.NoError(t, err)
	require.NoError(t, e.cat.Close())
	db, err := bolt.Open(e.path, 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketJobs).Bucket(u64(job.ID))
		var m map[string]any
		if err := decodeRecord(keyJob, b.Get(keyJob), &m); err != nil {
			return err
		}
		m["trigger"] = "schedule"
		v, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return b.Put(keyJob, v)
	}))
	require.NoError(t, db.Close())
	e.open(t, Options{})
	old, err := e.cat.Job(job.ID)
	require.NoError(t, err)
	require.Equal(t, TriggerSegmentSchedule, old.Trigger)
	require.Equal(t, job.Tasks, old.Tasks)
	first, err := e.cat.Job(job.ID - 1)
	require.NoError(t, err)
	require.Equal(t, TriggerActivation, first.Trigger)
}
