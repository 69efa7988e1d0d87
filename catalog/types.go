package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/segment"
	"github.com/segmentkit/segmentkit/storage"
)

// State is a segment's state. A Draft is an inactive segment whose
// definition does not validate; it cannot be activated until an edit makes
// it valid.
type State uint8

const (
	// Inactive segments keep their definition (and the members of their
	// last refresh, if any) but are skipped by refreshes.
	Inactive State = iota
	// Active segments are refreshed by refresh jobs and schedules.
	Active
	// Draft segments are inactive and their definition does not validate.
	Draft
)

var stateNames = [...]string{"inactive", "active", "draft"}

// String returns "inactive", "active", "draft" or "State(N)".
func (s State) String() string {
	if int(s) < len(stateNames) {
		return stateNames[s]
	}
	return fmt.Sprintf("State(%d)", uint8(s))
}

// MarshalText returns the state's name.
func (s State) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a state's name.
func (s *State) UnmarshalText(b []byte) error {
	i := slices.Index(stateNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("unknown state %q", b)
	}
	*s = State(i)
	return nil
}

// Status is the status of a refresh job, of one task of a job, or of a
// segment's most recent refresh: the statuses the product page lists.
type Status uint8

const (
	// NotStarted: the job waits for another job to finish, or the task for
	// the segments it references.
	NotStarted Status = iota
	// Queued: the task is ready and waits for a worker.
	Queued
	// Refreshing: the job or task is running.
	Refreshing
	// Successful: the job or task finished and its members are stored.
	Successful
	// Failed: the task could not compute members (its definition does not
	// compile against the data, the data did not load, a segment it
	// references failed, ...); a job is failed when one of its tasks is.
	Failed
	// Skipped: the segment is inactive or a draft, so it was not refreshed.
	Skipped
	// Cancelled: the job was cancelled before the task finished; the
	// segment keeps its previous members.
	Cancelled
)

var statusNames = [...]string{"not started", "queued", "refreshing", "successful", "failed", "skipped", "cancelled"}

// String returns the status as the product page writes it ("not
// started", "successful", ...) or "Status(N)".
func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", uint8(s))
}

// Done reports whether the status is final: successful, failed, skipped or
// cancelled.
func (s Status) Done() bool { return s >= Successful && int(s) < len(statusNames) }

// MarshalText returns the status's name.
func (s Status) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// UnmarshalText reads a status's name.
func (s *Status) UnmarshalText(b []byte) error {
	i := slices.Index(statusNames[:], string(b))
	if i < 0 {
		return fmt.Errorf("unknown status %q", b)
	}
	*s = Status(i)
	return nil
}

// Trigger says what started a refresh job.
type Trigger uint8

const (
	// TriggerManual: Refresh or RefreshAll (the CLI's refresh).
	TriggerManual Trigger = iota + 1
	// TriggerActivation: Activate, or Create with CreateOptions.Active.
	TriggerActivation
	// TriggerSchedule: a Scheduler's refresh of all segments on the
	// catalog-wide schedule (ScheduleOptions.Cron).
	TriggerSchedule
	// TriggerSegmentSchedule: a Scheduler's refresh of one segment on its
	// own schedule (Segment.Schedule).
	TriggerSegmentSchedule
	// TriggerScheduledActivation: a Scheduler applied a scheduled
	// activation (Catalog.ScheduleActivation).
	TriggerScheduledActivation
	// TriggerRefresh: an export job that followed a successful refresh of
	// its segment (ExportJob.RefreshJob names the refresh job).
	TriggerRefresh
)

// triggerNames are the triggers' names, by value; 0 is no trigger.
var triggerNames = [...]string{"", "manual", "activation", "schedule", "segment schedule", "scheduled activation", "refresh"}

// String returns "manual", "activation", "schedule", "segment schedule",
// "scheduled activation", "refresh", or "Trigger(N)" for another value.
func (t Trigger) String() string {
	if t > 0 && int(t) < len(triggerNames) {
		return triggerNames[t]
	}
	return fmt.Sprintf("Trigger(%d)", uint8(t))
}

// MarshalText returns the trigger's String.
func (t Trigger) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText reads what MarshalText writes. An empty text is the zero
// Trigger.
func (t *Trigger) UnmarshalText(b []byte) error {
	if len(b) == 0 {
		*t = 0
		return nil
	}
	if i := slices.Index(triggerNames[:], string(b)); i > 0 {
		*t = Trigger(i)
		return nil
	}
	var n uint8
	if _, err := fmt.Sscanf(string(b), "Trigger(%d)", &n); err == nil && fmt.Sprintf("Trigger(%d)", n) == string(b) {
		*t = Trigger(n)
		return nil
	}
	return fmt.Errorf("unknown trigger %q", b)
}

// Segment describes one segment of a catalog. A Segment returned by the
// catalog is a copy: the caller owns it, and changing it changes nothing
// in the catalog.
type Segment struct {
	// Name is unique in the catalog.
	Name string
	// DisplayName and Description are the definition's free text.
	DisplayName string
	Description string
	// Membership is dynamic or static.
	Membership segment.Membership
	// State is active, inactive or draft.
	State State
	// Definition is the definition's JSON as it was written (rewritten only
	// where a rename changed a name in it). A draft's definition may be any
	// bytes.
	Definition []byte
	// Problems lists why a draft does not validate; nil for other states.
	// Each problem wraps the segment package's sentinel for its kind, so
	// errors.Is(s.Problems, segment.ErrUnknownAttribute) works.
	Problems diag.List
	// References names the segments the definition references.
	References []string
	// Created and Modified are when the segment was created and when its
	// definition or name last changed.
	Created  time.Time
	Modified time.Time
	// ActivateAt and DeactivateAt are scheduled state changes; zero when
	// none is scheduled.
	ActivateAt   time.Time
	DeactivateAt time.Time
	// Schedule is the segment's own cron schedule ("" for none), on which
	// a Scheduler refreshes it while it is active, in addition to the
	// schedule of all segments.
	Schedule string
	// ScheduleError says why the last scheduled activation could not be
	// applied; "" when none failed.
	ScheduleError string
	// MemberCount is the number of members stored by the last successful
	// refresh.
	MemberCount uint64
	// Frozen reports that a static segment's members are fixed: later
	// refreshes keep them.
	Frozen bool
	// LastRefreshed is the time of the last successful refresh; zero if
	// there was none.
	LastRefreshed time.Time
	// Status is the status of the segment's latest refresh task, live
	// while a job runs; NotStarted if it was never refreshed.
	Status Status
	// LastJob is the id of the job of that task; 0 if none.
	LastJob uint64
	// LastError is the latest failed task's first error; "" after a
	// success.
	LastError string
}

// MarshalJSON writes the segment for scripts: the definition as JSON when
// it is valid JSON (otherwise as a string), problems as their messages,
// zero times left out.
func (s Segment) MarshalJSON() ([]byte, error) {
	type out struct {
		Name          string          `json:"name"`
		DisplayName   string          `json:"displayName,omitempty"`
		Description   string          `json:"description,omitempty"`
		Type          string          `json:"type"`
		State         State           `json:"state"`
		Status        Status          `json:"status"`
		MemberCount   uint64          `json:"members"`
		Frozen        bool            `json:"frozen,omitempty"`
		LastRefreshed time.Time       `json:"lastRefreshed,omitzero"`
		LastJob       uint64          `json:"lastJob,omitempty"`
		LastError     string          `json:"lastError,omitempty"`
		Created       time.Time       `json:"created"`
		Modified      time.Time       `json:"modified"`
		ActivateAt    time.Time       `json:"activateAt,omitzero"`
		DeactivateAt  time.Time       `json:"deactivateAt,omitzero"`
		Schedule      string          `json:"schedule,omitempty"`
		ScheduleError string          `json:"scheduleError,omitempty"`
		References    []string        `json:"references,omitempty"`
		Problems      diag.List       `json:"problems,omitempty"`
		Definition    json.RawMessage `json:"definition"`
	}
	o := out{
		Name: s.Name, DisplayName: s.DisplayName, Description: s.Description, Type: s.Membership.String(),
		State: s.State, Status: s.Status, MemberCount: s.MemberCount, Frozen: s.Frozen, LastRefreshed: s.LastRefreshed,
		LastJob: s.LastJob, LastError: s.LastError, Created: s.Created, Modified: s.Modified,
		ActivateAt: s.ActivateAt, DeactivateAt: s.DeactivateAt, Schedule: s.Schedule,
		ScheduleError: s.ScheduleError, References: s.References,
	}
	o.Problems = s.Problems
	if json.Valid(s.Definition) {
		o.Definition = compactJSON(s.Definition)
	} else {
		b, err := json.Marshal(string(s.Definition))
		if err != nil {
			return nil, err
		}
		o.Definition = b
	}
	return json.Marshal(o)
}

// UnmarshalJSON reads what MarshalJSON writes, so that a program reading
// segmentkit's JSON (the CLI's --json, the service's answers) gets the
// Segment back. A definition written as a JSON string (one that was not
// valid JSON) reads back as the string's bytes; each problem's sentinel
// comes back from its code (diag.Sentinel).
func (s *Segment) UnmarshalJSON(b []byte) error {
	var in struct {
		Name          string          `json:"name"`
		DisplayName   string          `json:"displayName"`
		Description   string          `json:"description"`
		Type          string          `json:"type"`
		State         State           `json:"state"`
		Status        Status          `json:"status"`
		MemberCount   uint64          `json:"members"`
		Frozen        bool            `json:"frozen"`
		LastRefreshed time.Time       `json:"lastRefreshed"`
		LastJob       uint64          `json:"lastJob"`
		LastError     string          `json:"lastError"`
		Created       time.Time       `json:"created"`
		Modified      time.Time       `json:"modified"`
		ActivateAt    time.Time       `json:"activateAt"`
		DeactivateAt  time.Time       `json:"deactivateAt"`
		Schedule      string          `json:"schedule"`
		ScheduleError string          `json:"scheduleError"`
		References    []string        `json:"references"`
		Problems      diag.List       `json:"problems"`
		Definition    json.RawMessage `json:"definition"`
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return err
	}
	var membership segment.Membership
	switch in.Type {
	case segment.Dynamic.String(), "":
		membership = segment.Dynamic
	case segment.Static.String():
		membership = segment.Static
	default:
		return fmt.Errorf("unknown segment type %q", in.Type)
	}
	var def []byte
	switch {
	case len(in.Definition) == 0 || string(in.Definition) == "null":
	case in.Definition[0] == '"':
		var text string
		if err := json.Unmarshal(in.Definition, &text); err != nil {
			return err
		}
		def = []byte(text)
	default:
		def = []byte(in.Definition)
	}
	*s = Segment{
		Name: in.Name, DisplayName: in.DisplayName, Description: in.Description, Membership: membership,
		State: in.State, Definition: def, Problems: in.Problems, References: in.References,
		Created: in.Created, Modified: in.Modified, ActivateAt: in.ActivateAt, DeactivateAt: in.DeactivateAt,
		Schedule: in.Schedule, ScheduleError: in.ScheduleError, MemberCount: in.MemberCount, Frozen: in.Frozen,
		LastRefreshed: in.LastRefreshed, Status: in.Status, LastJob: in.LastJob, LastError: in.LastError,
	}
	return nil
}

// Job is a refresh job: one run over one or more segments. A Job returned
// by the catalog is a copy the caller owns.
type Job struct {
	// ID identifies the job; ids increase with time.
	ID uint64 `json:"id"`
	// Trigger says what started the job. JSON writes its name.
	Trigger Trigger `json:"trigger"`
	// All is true for a refresh of all segments.
	All bool `json:"all,omitempty"`
	// Requested names the segments asked for (empty when All).
	Requested []string `json:"requested,omitempty"`
	// Status is the job's status: not started while it waits for another
	// job, refreshing while it runs, then cancelled, failed (a task
	// failed), skipped (every task was skipped) or successful.
	Status Status `json:"status"`
	// Created is when the job was asked for; Started and Ended bound its
	// run, and Duration is its processing time (Ended - Started).
	Created  time.Time     `json:"created"`
	Started  time.Time     `json:"started,omitzero"`
	Ended    time.Time     `json:"ended,omitzero"`
	Duration time.Duration `json:"duration"`
	// AsOf is the instant every segment of the job was evaluated at: the
	// one asked for (RefreshOptions.AsOf, CreateOptions.AsOf), or else the
	// job's start; a job that ended before it started records its end.
	// Zero only in jobs stored by versions that did not record it.
	AsOf time.Time `json:"asOf,omitzero"`
	// Data describes the data snapshot the job used; nil if none loaded.
	Data *DataInfo `json:"data,omitempty"`
	// Tasks holds one task per segment, in the order they were planned:
	// requested segments, then the segments they reference.
	Tasks []Task `json:"tasks"`
	// Errors and Warnings concern the whole job (the data did not load;
	// relationships with broken links).
	Errors   []string `json:"errors,omitempty"`
	Warnings []string `json:"warnings,omitempty"`
	// Exports lists the export jobs that followed the refresh: one per
	// destination of each segment refreshed successfully (ExportJob).
	Exports []uint64 `json:"exports,omitempty"`
}

// UnmarshalJSON reads a job as encoding/json does. Files written before a
// segment's schedule had a trigger of its own store "schedule" for both
// schedules: a job of one segment's schedule, told by All being false,
// reads as TriggerSegmentSchedule.
func (j *Job) UnmarshalJSON(b []byte) error {
	type plain Job
	aux := struct {
		*plain
		Trigger string `json:"trigger"`
	}{plain: (*plain)(j)}
	if err := json.Unmarshal(b, &aux); err != nil {
		return err
	}
	if err := j.Trigger.UnmarshalText([]byte(aux.Trigger)); err != nil {
		return err
	}
	if j.Trigger == TriggerSchedule && !j.All {
		j.Trigger = TriggerSegmentSchedule
	}
	return nil
}

// DataInfo describes the data snapshot a job ran on.
type DataInfo struct {
	// Source describes where the data came from ("data directory ...").
	Source string `json:"source"`
	// Customers is the number of customers.
	Customers int `json:"customers"`
	// Keys identifies the snapshot's customer key list (a hash): two
	// snapshots with equal Keys number their customers alike.
	Keys string `json:"keys"`
	// LoadDuration is how long getting the snapshot took (near zero when
	// the source had it cached).
	LoadDuration time.Duration `json:"loadDuration"`
	// MemoryBytes is the snapshot's memory.
	MemoryBytes int64 `json:"memoryBytes"`
	// BrokenLinks lists the relationships with null or dangling foreign
	// keys.
	BrokenLinks []storage.LinkReport `json:"brokenLinks,omitempty"`
}

// Task is one segment's part of a job.
type Task struct {
	// Segment is the segment's name when the job was planned.
	Segment string `json:"segment"`
	// Reason says why the task is in the job: "requested", "all" or
	// "referenced by X".
	Reason string `json:"reason"`
	// Status is the task's status.
	Status Status `json:"status"`
	// Started and Ended bound the evaluation; Duration is its processing
	// time.
	Started  time.Time     `json:"started,omitzero"`
	Ended    time.Time     `json:"ended,omitzero"`
	Duration time.Duration `json:"duration"`
	// MemberCount is the member count stored by a successful task.
	MemberCount uint64 `json:"members"`
	// Entered and Left count the customers that joined and left the
	// segment compared with its previous members; Entered - Left is the
	// change in MemberCount.
	Entered uint64 `json:"entered"`
	Left    uint64 `json:"left"`
	// Kept is true when a static segment kept its frozen members.
	Kept bool `json:"kept,omitempty"`
	// Reused is true when the segment was not evaluated: the data its
	// conditions read had not changed since its stored members were
	// evaluated (rows were appended to other entities only), so it kept
	// them; a warning says from which job and what changed.
	Reused bool `json:"reused,omitempty"`
	// Errors and Warnings concern this segment.
	Errors   []string `json:"errors,omitempty"`
	Warnings []string `json:"warnings,omitempty"`

	segID uint64
}

// HistoryEntry is one successful refresh of a segment.
type HistoryEntry struct {
	// Time is when the refresh stored its result.
	Time time.Time `json:"time"`
	// Job is the refresh job's id.
	Job uint64 `json:"job"`
	// AsOf is the instant the job evaluated at (Job.AsOf); zero in
	// entries stored by versions that did not record it.
	AsOf time.Time `json:"asOf,omitzero"`
	// MemberCount, Entered and Left are as in Task.
	MemberCount uint64 `json:"members"`
	Entered     uint64 `json:"entered"`
	Left        uint64 `json:"left"`
	// Kept is true when a static segment kept its frozen members.
	Kept bool `json:"kept,omitempty"`
	// Reused is as in Task.
	Reused bool `json:"reused,omitempty"`
}
