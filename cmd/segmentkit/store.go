package main

import (
	"context"
	"io"
	"time"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/export"
)

// store is what the segments verbs do with a catalog. The verbs are
// written once against it: fileStore opens the catalog file itself, and
// client (client.go) sends each operation to a running segmentkit server
// (--server). Both answer with the catalog's types and errors, so that a
// verb prints the same output, and exits the same way, either way.
type store interface {
	Create(ctx context.Context, definition []byte, opts catalog.CreateOptions) (*catalog.Segment, error)
	Edit(ctx context.Context, name string, definition []byte) (*catalog.Segment, error)
	PreviewEdit(ctx context.Context, name string, definition []byte, opts catalog.EditPreviewOptions) (*catalog.EditPreview, error)
	Rename(ctx context.Context, oldName, newName string) error
	Delete(ctx context.Context, name string) error
	Get(ctx context.Context, name string) (*catalog.Segment, error)
	List(ctx context.Context, opts catalog.ListOptions) ([]*catalog.Segment, error)

	// ActivateWith and the refreshes return when the job has ended, as the
	// catalog's do.
	ActivateWith(ctx context.Context, name string, opts catalog.RefreshOptions) (*catalog.Job, error)
	Deactivate(ctx context.Context, name string) error
	ScheduleActivation(ctx context.Context, name string, at time.Time) error
	ScheduleDeactivation(ctx context.Context, name string, at time.Time) error
	SetSchedule(ctx context.Context, name, spec string) error
	RefreshWith(ctx context.Context, opts catalog.RefreshOptions, names ...string) (*catalog.Job, error)
	RefreshAllWith(ctx context.Context, opts catalog.RefreshOptions) (*catalog.Job, error)
	Job(ctx context.Context, id uint64) (*catalog.Job, error)
	Jobs(ctx context.Context, limit int) ([]*catalog.Job, error)

	History(ctx context.Context, name string, from, to time.Time) ([]catalog.HistoryEntry, error)
	Changes(ctx context.Context, name string, from, to time.Time) ([]catalog.Change, error)
	SegmentsOf(ctx context.Context, customerKey string) ([]catalog.Membership, error)
	PreviewWith(ctx context.Context, name string, n int, opts catalog.PreviewOptions) (*catalog.Preview, error)
	DownloadWith(ctx context.Context, name string, w io.Writer, fields []string, opts catalog.PreviewOptions) error
	Overlap(ctx context.Context, names []string, opts analysis.OverlapOptions) (*analysis.OverlapResult, error)
	Differentiators(ctx context.Context, name string, opts catalog.DifferentiatorsOptions) (*analysis.DifferentiatorsResult, error)

	Export(ctx context.Context, name, destination string) (*catalog.ExportJob, error)
	ExportTo(ctx context.Context, name string, opts catalog.DestinationOptions) (*catalog.ExportJob, error)
	ExportJob(ctx context.Context, id uint64) (*catalog.ExportJob, error)
	Exports(ctx context.Context, name string, limit int) ([]*catalog.ExportJob, error)
	AddDestination(ctx context.Context, name string, opts catalog.DestinationOptions) (*catalog.Destination, error)
	Destinations(ctx context.Context, name string) ([]*catalog.Destination, error)
	RemoveDestination(ctx context.Context, name, destination string) error

	// Splits and priority lists (splits.go).
	SetSplit(ctx context.Context, name string, opts catalog.SplitOptions) (*catalog.Split, error)
	Split(ctx context.Context, name string) (*catalog.Split, error)
	RemoveSplit(ctx context.Context, name string) error
	GroupCounts(ctx context.Context, name string) (*catalog.SplitCounts, error)
	CreatePriorityList(ctx context.Context, list catalog.PriorityList) (*catalog.PriorityList, error)
	PriorityLists(ctx context.Context) ([]*catalog.PriorityList, error)
	DeletePriorityList(ctx context.Context, name string) error
	PriorityCounts(ctx context.Context, name string) (*catalog.PriorityCounts, error)
	ExportPriorityList(ctx context.Context, name string, w io.Writer, fields []string) error
	ExportPriorityListTo(ctx context.Context, name, to string, fields []string) (export.Stats, error)

	// Close ends the work with the catalog.
	Close() error
}

// fileStore is the catalog file, opened by the verb.
type fileStore struct{ cat *catalog.Catalog }

var _ store = fileStore{}

func (f fileStore) Create(ctx context.Context, definition []byte, opts catalog.CreateOptions) (*catalog.Segment, error) {
	return f.cat.Create(ctx, definition, opts)
}

func (f fileStore) Edit(ctx context.Context, name string, definition []byte) (*catalog.Segment, error) {
	return f.cat.Edit(ctx, name, definition)
}

func (f fileStore) Rename(_ context.Context, oldName, newName string) error {
	return f.cat.Rename(oldName, newName)
}

func (f fileStore) Delete(_ context.Context, name string) error { return f.cat.Delete(name) }

func (f fileStore) Get(_ context.Context, name string) (*catalog.Segment, error) {
	return f.cat.Get(name)
}

func (f fileStore) List(_ context.Context, opts catalog.ListOptions) ([]*catalog.Segment, error) {
	return f.cat.List(opts)
}

func (f fileStore) ActivateWith(ctx context.Context, name string, opts catalog.RefreshOptions) (*catalog.Job, error) {
	return f.cat.ActivateWith(ctx, name, opts)
}

func (f fileStore) Deactivate(_ context.Context, name string) error { return f.cat.Deactivate(name) }

func (f fileStore) ScheduleActivation(_ context.Context, name string, at time.Time) error {
	return f.cat.ScheduleActivation(name, at)
}

func (f fileStore) ScheduleDeactivation(_ context.Context, name string, at time.Time) error {
	return f.cat.ScheduleDeactivation(name, at)
}

func (f fileStore) SetSchedule(_ context.Context, name, spec string) error {
	return f.cat.SetSchedule(name, spec)
}

func (f fileStore) RefreshWith(ctx context.Context, opts catalog.RefreshOptions, names ...string) (*catalog.Job, error) {
	return f.cat.RefreshWith(ctx, opts, names...)
}

func (f fileStore) RefreshAllWith(ctx context.Context, opts catalog.RefreshOptions) (*catalog.Job, error) {
	return f.cat.RefreshAllWith(ctx, opts)
}

func (f fileStore) Job(_ context.Context, id uint64) (*catalog.Job, error) { return f.cat.Job(id) }

func (f fileStore) Jobs(_ context.Context, limit int) ([]*catalog.Job, error) {
	return f.cat.Jobs(limit)
}

func (f fileStore) History(_ context.Context, name string, from, to time.Time) ([]catalog.HistoryEntry, error) {
	return f.cat.History(name, from, to)
}

func (f fileStore) Changes(ctx context.Context, name string, from, to time.Time) ([]catalog.Change, error) {
	return f.cat.Changes(ctx, name, from, to)
}

func (f fileStore) SegmentsOf(ctx context.Context, customerKey string) ([]catalog.Membership, error) {
	return f.cat.SegmentsOf(ctx, customerKey)
}

func (f fileStore) PreviewWith(ctx context.Context, name string, n int, opts catalog.PreviewOptions) (*catalog.Preview, error) {
	return f.cat.PreviewWith(ctx, name, n, opts)
}

func (f fileStore) PreviewEdit(ctx context.Context, name string, definition []byte, opts catalog.EditPreviewOptions) (*catalog.EditPreview, error) {
	return f.cat.PreviewEdit(ctx, name, definition, opts)
}

func (f fileStore) Overlap(ctx context.Context, names []string, opts analysis.OverlapOptions) (*analysis.OverlapResult, error) {
	return f.cat.Overlap(ctx, names, opts)
}

func (f fileStore) Differentiators(ctx context.Context, name string, opts catalog.DifferentiatorsOptions) (*analysis.DifferentiatorsResult, error) {
	return f.cat.Differentiators(ctx, name, opts)
}

func (f fileStore) DownloadWith(ctx context.Context, name string, w io.Writer, fields []string, opts catalog.PreviewOptions) error {
	return f.cat.DownloadWith(ctx, name, w, fields, opts)
}

func (f fileStore) Export(ctx context.Context, name, destination string) (*catalog.ExportJob, error) {
	return f.cat.Export(ctx, name, destination)
}

func (f fileStore) ExportTo(ctx context.Context, name string, opts catalog.DestinationOptions) (*catalog.ExportJob, error) {
	return f.cat.ExportTo(ctx, name, opts)
}

func (f fileStore) ExportJob(_ context.Context, id uint64) (*catalog.ExportJob, error) {
	return f.cat.ExportJob(id)
}

func (f fileStore) Exports(_ context.Context, name string, limit int) ([]*catalog.ExportJob, error) {
	return f.cat.Exports(name, limit)
}

func (f fileStore) AddDestination(ctx context.Context, name string, opts catalog.DestinationOptions) (*catalog.Destination, error) {
	return f.cat.AddDestination(ctx, name, opts)
}

func (f fileStore) Destinations(_ context.Context, name string) ([]*catalog.Destination, error) {
	return f.cat.Destinations(name)
}

func (f fileStore) RemoveDestination(_ context.Context, name, destination string) error {
	return f.cat.RemoveDestination(name, destination)
}

func (f fileStore) Close() error { return f.cat.Close() }
