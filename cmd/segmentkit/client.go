package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/server"
)

// The segments verbs through a running segmentkit server (--server URL):
// client is a store that sends each operation to the server's API
// (docs/service.md) and decodes its answers into the catalog's types, and
// its problem documents into errors the verbs report as they report the
// catalog's own.

// The environment variables of --server.
const (
	// envServer is the server's URL when --server is not given (and
	// --catalog is not either).
	envServer = "SEGMENTKIT_SERVER"
	// envToken is the API token sent to the server. It is read from the
	// environment only, so that it never shows in a process list.
	envToken = "SEGMENTKIT_TOKEN"
)

// apiMaxList is the most items one answer of the API's lists holds, and
// apiMaxPreviewRows the most rows of a preview.
const (
	apiMaxList        = 1000
	apiMaxPreviewRows = 1000
)

// unsupportedError is something a verb does on the catalog file that the
// server's API does not offer; the verb reports it as a usage error.
type unsupportedError struct{ msg string }

func (e *unsupportedError) Error() string { return e.msg }

func notThroughServer(format string, args ...any) error {
	return &unsupportedError{msg: "through --server, " + fmt.Sprintf(format, args...)}
}

// serverError is an error the server answered with, rebuilt from its
// problem document: the message as the library wrote it, the problems,
// and the sentinel of its code, so that errors.Is and the CLI's reporting
// see what they would see of the library's own error.
type serverError struct {
	msg      string
	sentinel error
	problems diag.List
}

func (e *serverError) Error() string { return e.msg }

// Unwrap returns the sentinel of the problem's code, when it is known, and
// the problems.
func (e *serverError) Unwrap() []error {
	var errs []error
	if e.sentinel != nil {
		errs = append(errs, e.sentinel)
	}
	if len(e.problems) > 0 {
		errs = append(errs, e.problems)
	}
	return errs
}

// client is a segmentkit server, as a store.
type client struct {
	// base is the server's URL without a trailing slash.
	base  string
	token string
	hc    *http.Client
	// warn reports what an answer leaves out (a list cut at the API's
	// limit); nil says nothing.
	warn func(msg string)
	// poll is the longest wait between two looks at a running job.
	poll time.Duration
}

var _ store = (*client)(nil)

// parseServerURL reads the server's URL, given by from (--server or the
// environment variable): an http or https URL, or HOST:PORT for http.
// Credentials belong in SEGMENTKIT_TOKEN, not in the URL.
func parseServerURL(from, raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	switch {
	case err != nil, u.Scheme != "http" && u.Scheme != "https", u.Host == "", u.RawQuery != "", u.Fragment != "":
		return "", fmt.Errorf("%s %q: want the server's URL, such as http://127.0.0.1:8080", from, raw)
	case u.User != nil:
		return "", fmt.Errorf("%s %q: put no credentials in the URL; set %s to the API token", from, u.Redacted(), envToken)
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func newClient(base, token string, warn func(string)) *client {
	return &client{base: base, token: strings.TrimSpace(token), hc: &http.Client{}, warn: warn, poll: 500 * time.Millisecond}
}

// segPath is the API path of a segment, or of one of its operations.
func segPath(name string, rest ...string) string { return itemPath("/api/segments/", name, rest) }

// itemPath is the API path of the named item of a collection (with its
// trailing slash), then the parts of rest.
func itemPath(collection, name string, rest []string) string {
	p := collection + url.PathEscape(name)
	for _, r := range rest {
		p += "/" + r
	}
	return p
}

// apiTime writes an instant as the API reads it.
func apiTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// timeRangeQuery is the from and to parameters; zero ends are left out.
func timeRangeQuery(from, to time.Time) url.Values {
	q := url.Values{}
	if !from.IsZero() {
		q.Set("from", apiTime(from))
	}
	if !to.IsZero() {
		q.Set("to", apiTime(to))
	}
	return q
}

// send sends a request, with body as JSON when it is not nil, and returns
// a successful answer; an answer that is not is returned as its error.
func (c *client) send(ctx context.Context, method, path string, q url.Values, body any) (*http.Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, fmt.Errorf("--server %s: %w", c.base, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json, application/problem+json")
	req.Header.Set("User-Agent", "segmentkit-cli")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.unreachable(ctx, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, c.problem(resp, method, path)
	}
	return resp, nil
}

// do sends a request and decodes the JSON answer into out (nil: the
// answer is dropped).
func (c *client) do(ctx context.Context, method, path string, q url.Values, body, out any) error {
	resp, err := c.send(ctx, method, path, q, body)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("read the answer of the segmentkit server at %s to %s %s: %w", c.base, method, path, err)
	}
	return nil
}

// unreachable words a request that got no answer, naming the server.
func (c *client) unreachable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	cause := err
	var ue *url.Error
	if errors.As(err, &ue) {
		cause = ue.Err
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		cause = op.Err
	}
	return fmt.Errorf("cannot reach the segmentkit server at %s: %w", c.base, cause)
}

// problem reads an error answer: a problem document becomes the error it
// describes; anything else (a proxy's page) is named as not segmentkit's.
func (c *client) problem(resp *http.Response, method, path string) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	var p server.Problem
	if (mt == "application/problem+json" || mt == "application/json") && json.Unmarshal(b, &p) == nil && p.Code != "" {
		return c.problemError(&p)
	}
	return fmt.Errorf("the server at %s answered %s %s with %s, and no problem document: is it a segmentkit server?", c.base, method, path, resp.Status)
}

// serverOneLine joins the lines of a message as the server does in a
// problem's detail.
var serverOneLine = strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ")

// problemError rebuilds the error a problem document describes. The
// detail is the error's message on one line; when it ends with the
// problems, they are given back their lines, and when it is the problems
// alone the error is their list, as the catalog returns it.
func (c *client) problemError(p *server.Problem) error {
	msg := p.Detail
	if msg == "" {
		msg = p.Title
	}
	if l := p.Problems; len(l) > 0 {
		joined := serverOneLine.Replace(l.Error())
		if msg == joined {
			return l
		}
		if head, ok := strings.CutSuffix(msg, joined); ok {
			msg = head + l.Error()
		}
	}
	switch p.Code {
	case diag.Code(server.ErrUnauthenticated):
		if c.token == "" {
			msg = fmt.Sprintf("the segmentkit server at %s requires an API token: set %s to one (an admin makes them with 'segmentkit serve token create')", c.base, envToken)
		}
	case diag.Code(catalog.ErrUnauthorized):
		msg = fmt.Sprintf("the segmentkit server at %s refuses the token in %s: %s", c.base, envToken, msg)
	}
	return &serverError{msg: msg, sentinel: diag.Sentinel(p.Code), problems: p.Problems}
}

// --- segments ---

func (c *client) Create(ctx context.Context, definition []byte, opts catalog.CreateOptions) (*catalog.Segment, error) {
	// The definition goes as a string, so that the server keeps its
	// bytes as they are written, as the catalog file does.
	body := map[string]any{"definition": string(definition)}
	if opts.Name != "" {
		body["name"] = opts.Name
	}
	var seg catalog.Segment
	if err := c.do(ctx, http.MethodPost, "/api/segments", nil, body, &seg); err != nil {
		return nil, err
	}
	if !opts.Active {
		return &seg, nil
	}
	// Created inactive, then activated: the activation's refresh is a job
	// the server runs for as long as it takes, where a refresh inside the
	// create request would be cut at the server's request timeout.
	if seg.State == catalog.Draft {
		return &seg, fmt.Errorf("segment %q %w, saved but not activated: %w", seg.Name, catalog.ErrDraft, seg.Problems)
	}
	job, err := c.ActivateWith(ctx, seg.Name, catalog.RefreshOptions{AsOf: opts.AsOf})
	if err != nil && job == nil {
		return nil, err
	}
	gctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer stop()
	now, gerr := c.Get(gctx, seg.Name)
	if gerr != nil {
		return nil, errors.Join(err, gerr)
	}
	return now, err
}

func (c *client) Edit(ctx context.Context, name string, definition []byte) (*catalog.Segment, error) {
	var seg catalog.Segment
	if err := c.do(ctx, http.MethodPut, segPath(name), nil, map[string]any{"definition": string(definition)}, &seg); err != nil {
		return nil, err
	}
	return &seg, nil
}

// PreviewEdit asks the server what an edit would change.
func (c *client) PreviewEdit(ctx context.Context, name string, definition []byte, opts catalog.EditPreviewOptions) (*catalog.EditPreview, error) {
	body := map[string]any{"definition": string(definition)}
	if !opts.AsOf.IsZero() {
		body["asOf"] = apiTime(opts.AsOf)
	}
	if opts.Samples != 0 {
		body["samples"] = opts.Samples
	}
	var p catalog.EditPreview
	if err := c.do(ctx, http.MethodPost, segPath(name, "edit-preview"), nil, body, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

func (c *client) Rename(ctx context.Context, oldName, newName string) error {
	return c.do(ctx, http.MethodPost, segPath(oldName, "rename"), nil, map[string]any{"name": newName}, nil)
}

func (c *client) Delete(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodDelete, segPath(name), nil, nil, nil)
}

func (c *client) Get(ctx context.Context, name string) (*catalog.Segment, error) {
	var seg catalog.Segment
	if err := c.do(ctx, http.MethodGet, segPath(name), nil, nil, &seg); err != nil {
		return nil, err
	}
	return &seg, nil
}

// List reads every page of the list.
func (c *client) List(ctx context.Context, opts catalog.ListOptions) ([]*catalog.Segment, error) {
	out := make([]*catalog.Segment, 0)
	for {
		q := url.Values{"offset": {strconv.Itoa(len(out))}, "limit": {strconv.Itoa(apiMaxList)}}
		if opts.Sort != "" {
			q.Set("sort", string(opts.Sort))
		}
		if opts.Desc {
			q.Set("desc", "true")
		}
		if opts.Search != "" {
			q.Set("search", opts.Search)
		}
		var page struct {
			Segments []*catalog.Segment `json:"segments"`
			Total    int                `json:"total"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/segments", q, nil, &page); err != nil {
			return nil, err
		}
		out = append(out, page.Segments...)
		if len(page.Segments) == 0 || len(out) >= page.Total {
			return out, nil
		}
	}
}

// --- states, schedules and jobs ---

// ActivateWith activates the segment and waits for the refresh the server
// starts; an active segment gives a nil job, as the catalog's does.
func (c *client) ActivateWith(ctx context.Context, name string, opts catalog.RefreshOptions) (*catalog.Job, error) {
	body := map[string]any{}
	if !opts.AsOf.IsZero() {
		body["asOf"] = apiTime(opts.AsOf)
	}
	var a struct {
		Job *catalog.Job `json:"job"`
	}
	if err := c.do(ctx, http.MethodPost, segPath(name, "activate"), nil, body, &a); err != nil {
		return nil, err
	}
	if a.Job == nil {
		return nil, nil
	}
	return c.wait(ctx, a.Job)
}

func (c *client) Deactivate(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPost, segPath(name, "deactivate"), nil, map[string]any{}, nil)
}

// ScheduleActivation schedules the activation; a zero at cancels the
// scheduled one.
func (c *client) ScheduleActivation(ctx context.Context, name string, at time.Time) error {
	return c.do(ctx, http.MethodPost, segPath(name, "activate"), nil, scheduleBody(at), nil)
}

// ScheduleDeactivation schedules the deactivation; a zero at cancels the
// scheduled one.
func (c *client) ScheduleDeactivation(ctx context.Context, name string, at time.Time) error {
	return c.do(ctx, http.MethodPost, segPath(name, "deactivate"), nil, scheduleBody(at), nil)
}

// scheduleBody is the body that schedules at at, or cancels with a zero at.
func scheduleBody(at time.Time) map[string]any {
	if at.IsZero() {
		return map[string]any{"cancel": true}
	}
	return map[string]any{"at": apiTime(at)}
}

func (c *client) SetSchedule(ctx context.Context, name, spec string) error {
	return c.do(ctx, http.MethodPut, segPath(name, "schedule"), nil, map[string]any{"cron": spec}, nil)
}

func (c *client) RefreshWith(ctx context.Context, opts catalog.RefreshOptions, names ...string) (*catalog.Job, error) {
	return c.refresh(ctx, map[string]any{"segments": names}, opts)
}

func (c *client) RefreshAllWith(ctx context.Context, opts catalog.RefreshOptions) (*catalog.Job, error) {
	return c.refresh(ctx, map[string]any{"all": true}, opts)
}

// refresh starts a refresh job, which the server answers as soon as it
// runs, and waits for its end.
func (c *client) refresh(ctx context.Context, body map[string]any, opts catalog.RefreshOptions) (*catalog.Job, error) {
	if !opts.AsOf.IsZero() {
		body["asOf"] = apiTime(opts.AsOf)
	}
	var job catalog.Job
	if err := c.do(ctx, http.MethodPost, "/api/refresh", nil, body, &job); err != nil {
		return nil, err
	}
	return c.wait(ctx, &job)
}

// sleep waits d, or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// wait polls the job until it has ended, and then until the exports that
// follow its refresh have, so that it returns what the catalog's refresh
// returns. When ctx ends first, the job is cancelled on the server, as
// an interrupted refresh of the catalog file is: the job comes back with
// an error wrapping catalog.ErrCancelled and ctx's error.
func (c *client) wait(ctx context.Context, job *catalog.Job) (*catalog.Job, error) {
	delay := 20 * time.Millisecond
	for !job.Status.Done() {
		err := sleep(ctx, delay)
		if err == nil {
			var j *catalog.Job
			if j, err = c.Job(ctx, job.ID); err == nil {
				job = j
			}
		}
		if ctx.Err() != nil {
			return c.cancel(ctx, job)
		}
		if err != nil {
			return nil, err
		}
		delay = min(2*delay, c.poll)
	}
	// The exports after a refresh run once its job has ended, and the job
	// lists them when the last has: wait for that, or for every
	// destination to be done (an export that could not start is a warning
	// of the job instead).
	settled := 0
	for job.Status != catalog.Cancelled && len(job.Exports) == 0 && settled < 10 {
		pending, some, err := c.exportsPending(ctx, job)
		if err != nil || !some {
			return job, err
		}
		if !pending {
			settled++
		}
		if err := sleep(ctx, c.poll/2); err != nil {
			return job, err
		}
		j, err := c.Job(ctx, job.ID)
		if err != nil {
			return job, err
		}
		job = j
	}
	return job, nil
}

// cancel cancels an interrupted job on the server and returns it as it
// ends, with an error wrapping catalog.ErrCancelled and ctx's error.
func (c *client) cancel(ctx context.Context, job *catalog.Job) (*catalog.Job, error) {
	cause := fmt.Errorf("job %d %w: %w", job.ID, catalog.ErrCancelled, ctx.Err())
	cctx, stop := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer stop()
	var j catalog.Job
	if err := c.do(cctx, http.MethodPost, "/api/jobs/"+strconv.FormatUint(job.ID, 10)+"/cancel", nil, nil, &j); err != nil {
		return nil, cause
	}
	for !j.Status.Done() && sleep(cctx, 50*time.Millisecond) == nil {
		next, err := c.Job(cctx, job.ID)
		if err != nil {
			break
		}
		j = *next
	}
	return &j, cause
}

// exportsPending reports whether any destination the job's refresh
// exports to (those of its successful segments, but the on-demand ones)
// has not had its export for the job done, and whether there are some.
func (c *client) exportsPending(ctx context.Context, job *catalog.Job) (pending, some bool, err error) {
	for _, t := range job.Tasks {
		if t.Status != catalog.Successful || exportWarned(job, t.Segment) {
			continue
		}
		ds, err := c.Destinations(ctx, t.Segment)
		if errors.Is(err, catalog.ErrNotFound) {
			continue // renamed or deleted since
		}
		if err != nil {
			return false, false, err
		}
		for _, d := range ds {
			if d.OnDemand || d.Created.After(job.Ended) {
				continue
			}
			some = true
			if d.LastExport == 0 {
				return true, true, nil
			}
			ej, err := c.ExportJob(ctx, d.LastExport)
			if err != nil {
				return false, true, err
			}
			switch {
			case ej.RefreshJob == job.ID && !ej.Status.Done():
				return true, true, nil
			case ej.RefreshJob != job.ID && ej.Created.Before(job.Ended):
				return true, true, nil // the job's export has not started
			}
		}
	}
	return false, some, nil
}

// exportWarned reports whether the job warns that the exports of the
// segment could not run.
func exportWarned(job *catalog.Job, seg string) bool {
	return slices.ContainsFunc(job.Warnings, func(w string) bool {
		return strings.HasPrefix(w, "export of "+seg+": ") || strings.HasPrefix(w, "exports of "+seg+": ")
	})
}

func (c *client) Job(ctx context.Context, id uint64) (*catalog.Job, error) {
	var job catalog.Job
	if err := c.do(ctx, http.MethodGet, "/api/jobs/"+strconv.FormatUint(id, 10), nil, nil, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// listLimit is the limit asked of the API for limit (0: all), and a
// function that warns when the answer may have been cut at the API's.
func (c *client) listLimit(limit int, what string) (int, func(got int)) {
	if limit > 0 && limit <= apiMaxList {
		return limit, func(int) {}
	}
	return apiMaxList, func(got int) {
		if got == apiMaxList && c.warn != nil {
			c.warn(fmt.Sprintf("the server lists at most the latest %d %s", apiMaxList, what))
		}
	}
}

func (c *client) Jobs(ctx context.Context, limit int) ([]*catalog.Job, error) {
	n, check := c.listLimit(limit, "jobs")
	var out struct {
		Jobs []*catalog.Job `json:"jobs"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/jobs", url.Values{"limit": {strconv.Itoa(n)}}, nil, &out); err != nil {
		return nil, err
	}
	check(len(out.Jobs))
	return out.Jobs, nil
}

// --- members ---

func (c *client) History(ctx context.Context, name string, from, to time.Time) ([]catalog.HistoryEntry, error) {
	var out struct {
		History []catalog.HistoryEntry `json:"history"`
	}
	if err := c.do(ctx, http.MethodGet, segPath(name, "history"), timeRangeQuery(from, to), nil, &out); err != nil {
		return nil, err
	}
	return out.History, nil
}

func (c *client) Changes(ctx context.Context, name string, from, to time.Time) ([]catalog.Change, error) {
	var out struct {
		Changes []catalog.Change `json:"changes"`
	}
	if err := c.do(ctx, http.MethodGet, segPath(name, "changes"), timeRangeQuery(from, to), nil, &out); err != nil {
		return nil, err
	}
	return out.Changes, nil
}

func (c *client) SegmentsOf(ctx context.Context, customerKey string) ([]catalog.Membership, error) {
	var out struct {
		Segments []catalog.Membership `json:"segments"`
	}
	if err := c.do(ctx, http.MethodGet, "/api/customers/"+url.PathEscape(customerKey)+"/segments", nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Segments, nil
}

func (c *client) PreviewWith(ctx context.Context, name string, n int, opts catalog.PreviewOptions) (*catalog.Preview, error) {
	if n > apiMaxPreviewRows {
		return nil, notThroughServer("--rows is at most %d, not %d", apiMaxPreviewRows, n)
	}
	q := url.Values{"rows": {strconv.Itoa(n)}}
	if !opts.AsOf.IsZero() {
		q.Set("asOf", apiTime(opts.AsOf))
	}
	var p catalog.Preview
	if err := c.do(ctx, http.MethodGet, segPath(name, "preview"), q, nil, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// Overlap asks the server for the overlap of the named segments.
func (c *client) Overlap(ctx context.Context, names []string, opts analysis.OverlapOptions) (*analysis.OverlapResult, error) {
	q := url.Values{"segments": {strings.Join(names, ",")}}
	if opts.By != "" {
		q.Set("by", opts.By)
	}
	var ov analysis.OverlapResult
	if err := c.do(ctx, http.MethodGet, "/api/overlap", q, nil, &ov); err != nil {
		return nil, err
	}
	return &ov, nil
}

// Differentiators asks the server what sets the named segment apart.
func (c *client) Differentiators(ctx context.Context, name string, opts catalog.DifferentiatorsOptions) (*analysis.DifferentiatorsResult, error) {
	q := url.Values{"segment": {name}}
	if opts.Against != "" {
		q.Set("against", opts.Against)
	}
	if len(opts.Attributes) > 0 {
		q.Set("attributes", strings.Join(opts.Attributes, ","))
	}
	if opts.Top != 0 {
		q.Set("top", strconv.Itoa(opts.Top))
	}
	var d analysis.DifferentiatorsResult
	if err := c.do(ctx, http.MethodGet, "/api/differentiators", q, nil, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

// DownloadWith copies the server's CSV to w as it streams in.
func (c *client) DownloadWith(ctx context.Context, name string, w io.Writer, fields []string, opts catalog.PreviewOptions) error {
	q := url.Values{}
	if len(fields) > 0 {
		q.Set("fields", strings.Join(fields, ","))
	}
	if !opts.AsOf.IsZero() {
		q.Set("asOf", apiTime(opts.AsOf))
	}
	resp, err := c.send(ctx, http.MethodGet, segPath(name, "download"), q, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(w, resp.Body); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("download %s from the segmentkit server at %s: %w", name, c.base, err)
	}
	return nil
}

// --- exports ---

func (c *client) Export(ctx context.Context, name, destination string) (*catalog.ExportJob, error) {
	var job catalog.ExportJob
	if err := c.do(ctx, http.MethodPost, segPath(name, "exports"), nil, map[string]any{"destination": destination}, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// ExportTo exports to the segment's destination with the target, as the
// catalog's does: the destination with that target (and name, when opts
// has one) when it has the same settings, or else a new on-demand one,
// which the server lets admins add. The API cannot change the settings of
// a destination, so a destination with the target and other settings is
// an error. Without a target, the destination opts names is exported.
func (c *client) ExportTo(ctx context.Context, name string, opts catalog.DestinationOptions) (*catalog.ExportJob, error) {
	if opts.To == "" {
		return c.Export(ctx, name, opts.Name)
	}
	if stdoutKind(opts.To) != "" {
		return nil, notThroughServer("--to %s would write the server's standard output, not this command's", opts.To)
	}
	target, err := export.ParseDestination(strings.TrimSpace(opts.To))
	if err != nil {
		return nil, fmt.Errorf("export %q: %w", name, err)
	}
	where := target.String()
	if opts.Mode == 0 {
		opts.Mode = export.Full
	}
	ds, err := c.Destinations(ctx, name)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if opts.Name != "" && d.Name == opts.Name && d.Where != where {
			return nil, fmt.Errorf("destination %q of segment %q %w: it exports to %s, not %s; name another destination, or export to its target",
				d.Name, name, catalog.ErrExists, d.Where, where)
		}
		if d.Where != where || opts.Name != "" && d.Name != opts.Name {
			continue
		}
		if d.Mode != opts.Mode || d.Changes != opts.Changes || d.BatchSize != opts.BatchSize || d.Group != opts.Group ||
			!slices.Equal(d.Fields, opts.Fields.Names) || !slices.Equal(d.Hash, opts.Fields.Hash) {
			return nil, notThroughServer("destination %q of %s, which exports to %s, cannot be given other settings: the API cannot change them; "+
				"export with its settings, or name another destination with --name", d.Name, name, d.Where)
		}
		return c.Export(ctx, name, d.Name)
	}
	opts.OnDemand = true
	d, err := c.AddDestination(ctx, name, opts)
	if err != nil {
		var se *serverError
		if errors.As(err, &se) {
			// The catalog's ExportTo names the export, not the destination.
			if rest, ok := strings.CutPrefix(se.msg, fmt.Sprintf("destination of %q: ", name)); ok {
				se.msg = fmt.Sprintf("export %q: %s", name, rest)
			}
		}
		return nil, err
	}
	return c.Export(ctx, name, d.Name)
}

func (c *client) ExportJob(ctx context.Context, id uint64) (*catalog.ExportJob, error) {
	var job catalog.ExportJob
	if err := c.do(ctx, http.MethodGet, "/api/exports/"+strconv.FormatUint(id, 10), nil, nil, &job); err != nil {
		return nil, err
	}
	return &job, nil
}

// Exports lists the export jobs of one segment, or of every segment when
// name is "".
func (c *client) Exports(ctx context.Context, name string, limit int) ([]*catalog.ExportJob, error) {
	n, check := c.listLimit(limit, "export jobs")
	var out struct {
		Exports []*catalog.ExportJob `json:"exports"`
	}
	path := "/api/exports"
	if name != "" {
		path = segPath(name, "exports")
	}
	if err := c.do(ctx, http.MethodGet, path, url.Values{"limit": {strconv.Itoa(n)}}, nil, &out); err != nil {
		return nil, err
	}
	check(len(out.Exports))
	return out.Exports, nil
}

func (c *client) AddDestination(ctx context.Context, name string, opts catalog.DestinationOptions) (*catalog.Destination, error) {
	if stdoutKind(opts.To) != "" {
		return nil, notThroughServer("--to %s would write the server's standard output, not this command's", opts.To)
	}
	mode := opts.Mode
	if mode == 0 {
		mode = export.Full
	}
	body := map[string]any{"name": opts.Name, "to": opts.To, "mode": mode, "fields": opts.Fields.Names, "hash": opts.Fields.Hash,
		"changes": opts.Changes, "batchSize": opts.BatchSize, "onDemand": opts.OnDemand, "group": opts.Group}
	var d catalog.Destination
	if err := c.do(ctx, http.MethodPost, segPath(name, "destinations"), nil, body, &d); err != nil {
		return nil, err
	}
	return &d, nil
}

func (c *client) Destinations(ctx context.Context, name string) ([]*catalog.Destination, error) {
	var out struct {
		Destinations []*catalog.Destination `json:"destinations"`
	}
	if err := c.do(ctx, http.MethodGet, segPath(name, "destinations"), nil, nil, &out); err != nil {
		return nil, err
	}
	return out.Destinations, nil
}

func (c *client) RemoveDestination(ctx context.Context, name, destination string) error {
	return c.do(ctx, http.MethodDelete, segPath(name, "destinations", url.PathEscape(destination)), nil, nil, nil)
}

// Close drops the connections kept for the next request.
func (c *client) Close() error {
	c.hc.CloseIdleConnections()
	return nil
}
