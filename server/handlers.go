package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
	"github.com/segmentkit/segmentkit/segment"
)

// Limits of the list parameters.
const (
	defaultListLimit = 100
	maxListLimit     = 1000
	maxPreviewRows   = 1000
	maxFirst         = 1000
)

// queryList reads a comma-separated query parameter, each item's spaces
// trimmed, nil when absent. An empty item is kept, for the catalog to name
// as what it is not.
func queryList(r *http.Request, name string) []string {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil
	}
	var out []string
	for f := range strings.SplitSeq(v, ",") {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}

// queryInt reads an integer query parameter in [lo, hi], def when absent.
func queryInt(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("query parameter %s=%q must be an integer from %d to %d", name, v, lo, hi)
	}
	return n, nil
}

// queryBool reads a boolean query parameter.
func queryBool(r *http.Request, name string) (bool, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest("query parameter %s=%q must be true or false", name, v)
	}
	return b, nil
}

// queryTime reads an RFC 3339 query parameter; zero when absent.
func queryTime(r *http.Request, name string) (time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return time.Time{}, nil
	}
	t, err := parseTime(v)
	if err != nil {
		return time.Time{}, badRequest("query parameter %s: %v", name, err)
	}
	return t, nil
}

// queryRange reads the from and to query parameters; a zero end is open.
func queryRange(r *http.Request) (from, to time.Time, err error) {
	if from, err = queryTime(r, "from"); err != nil {
		return from, to, err
	}
	to, err = queryTime(r, "to")
	return from, to, err
}

// parseTime parses an RFC 3339 instant.
func parseTime(v string) (time.Time, error) {
	sec, nsec, err := exact.ParseRFC3339(v)
	if exact.Specific(err) {
		return time.Time{}, err
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not an RFC 3339 date-time such as 2026-06-30T00:00:00Z", v)
	}
	return time.Unix(sec, nsec).UTC(), nil
}

// optTime is an optional RFC 3339 instant in a request body.
type optTime struct{ time.Time }

func (t *optTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New("must be an RFC 3339 date-time string")
	}
	if s == "" {
		t.Time = time.Time{}
		return nil
	}
	v, err := parseTime(s)
	if err != nil {
		return err
	}
	t.Time = v
	return nil
}

// id reads a numeric path value.
func pathID(r *http.Request, name string) (uint64, error) {
	v := r.PathValue(name)
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("%w: %s %q is not a positive integer", catalog.ErrNotFound, name, v)
	}
	return n, nil
}

// definition is a definition in a request body: a JSON object (or, for a
// definition kept as text, a string holding it).
type definition json.RawMessage

func (d *definition) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = definition(s)
		return nil
	}
	*d = append((*d)[:0], b...)
	return nil
}

// defBody is the "definition" member of a request body; bodies embed it.
type defBody struct {
	Definition definition `json:"definition"`
}

func (b *defBody) raw() ([]byte, error) {
	if len(b.Definition) == 0 || string(b.Definition) == "null" {
		return nil, badRequest("the body has no \"definition\"")
	}
	return []byte(b.Definition), nil
}

// decodeDefinition decodes a body that embeds defBody and returns its
// definition, which must be there.
func decodeDefinition(r *http.Request, body interface{ raw() ([]byte, error) }) ([]byte, error) {
	if err := decode(r, body); err != nil {
		return nil, err
	}
	return body.raw()
}

// --- session ---

type sessionJSON struct {
	Role           catalog.Role `json:"role"`
	Name           string       `json:"name"`
	CSRFToken      string       `json:"csrfToken,omitempty"`
	Session        bool         `json:"session"`
	TokensRequired bool         `json:"tokensRequired"`
}

func (s *Server) sessionOut(p *principal) sessionJSON {
	out := sessionJSON{Role: p.role, Name: p.name, TokensRequired: s.opts.RequireTokens}
	if p.session != nil {
		out.CSRFToken, out.Session = p.session.csrf, true
	}
	return out
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r.Context())
	if p == nil {
		return fmt.Errorf("%w: no session; sign in with a token", ErrUnauthenticated)
	}
	return writeJSON(w, http.StatusOK, s.sessionOut(p))
}

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Token string `json:"token"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	var p *principal
	switch {
	case body.Token != "":
		t, err := s.cat.CheckToken(body.Token)
		if err != nil {
			return err
		}
		p = &principal{role: t.Role, name: t.Name, tokenID: t.ID}
	case !s.opts.RequireTokens:
		p = &principal{role: catalog.Admin, name: "local"}
	default:
		return fmt.Errorf("%w: this server requires a token to sign in", ErrUnauthenticated)
	}
	value, ses := s.sessions.create(p)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: value, Path: "/", HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil, MaxAge: int(s.opts.SessionTTL / time.Second)})
	p.session = ses
	return writeJSON(w, http.StatusOK, s.sessionOut(p))
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) error {
	if c, err := r.Cookie(SessionCookie); err == nil {
		s.sessions.delete(c.Value)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode, MaxAge: -1})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) getOpenAPI(w http.ResponseWriter, r *http.Request) error {
	return writeJSON(w, http.StatusOK, OpenAPI())
}

// --- data ---

func (s *Server) getData(w http.ResponseWriter, r *http.Request) error {
	ref, err := s.acquire()
	if err != nil {
		return err
	}
	defer ref.done()
	sch := ref.snap.Schema()
	paths := map[string][]schema.Path{}
	for _, e := range sch.Entities {
		if e.Name == sch.CustomerEntity {
			continue
		}
		if ps := sch.Paths(e.Name); len(ps) > 0 {
			paths[e.Name] = ps
		}
	}
	ops := map[string][]string{}
	for _, t := range schema.TypeNames() {
		typ, _ := schema.ParseType(t)
		ops[t] = []string{}
		for _, op := range segment.Operators(typ) {
			ops[t] = append(ops[t], op.String())
		}
	}
	return writeJSON(w, http.StatusOK, map[string]any{
		"source": s.opts.Source.String(), "customers": ref.snap.NumCustomers(), "loaded": ref.loaded.UTC(),
		"schema": sch, "paths": paths, "operators": ops,
	})
}

// --- segments ---

// answerSegment answers with the named segment as it is now, after a
// change.
func (s *Server) answerSegment(w http.ResponseWriter, status int, name string) error {
	seg, err := s.cat.Get(name)
	if err != nil {
		return err
	}
	return writeJSON(w, status, seg)
}

func (s *Server) listSegments(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	opts := catalog.ListOptions{Search: q.Get("search")}
	if v := q.Get("sort"); v != "" {
		opts.Sort = catalog.SortBy(v)
	}
	var err error
	if opts.Desc, err = queryBool(r, "desc"); err != nil {
		return err
	}
	offset, err := queryInt(r, "offset", 0, 0, 1<<30)
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", defaultListLimit, 1, maxListLimit)
	if err != nil {
		return err
	}
	segs, err := s.cat.List(opts)
	if err != nil {
		return err
	}
	total := len(segs)
	segs = segs[min(offset, total):min(offset+limit, total)]
	if segs == nil {
		segs = []*catalog.Segment{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"segments": segs, "total": total, "offset": offset, "limit": limit})
}

func (s *Server) createSegment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		defBody
		Name   string  `json:"name"`
		Active bool    `json:"active"`
		AsOf   optTime `json:"asOf"`
	}
	def, err := decodeDefinition(r, &body)
	if err != nil {
		return err
	}
	seg, err := s.cat.Create(r.Context(), def, catalog.CreateOptions{Name: body.Name, Active: body.Active, AsOf: body.AsOf.Time})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, seg)
}

func (s *Server) getSegment(w http.ResponseWriter, r *http.Request) error {
	return s.answerSegment(w, http.StatusOK, r.PathValue("name"))
}

func (s *Server) editSegment(w http.ResponseWriter, r *http.Request) error {
	var body defBody
	def, err := decodeDefinition(r, &body)
	if err != nil {
		return err
	}
	seg, err := s.cat.Edit(r.Context(), r.PathValue("name"), def)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, seg)
}

func (s *Server) deleteSegment(w http.ResponseWriter, r *http.Request) error {
	if err := s.cat.Delete(r.PathValue("name")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) renameSegment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Name string `json:"name"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Name == "" {
		return badRequest("the body has no \"name\": the segment's new name")
	}
	if err := s.cat.Rename(r.PathValue("name"), body.Name); err != nil {
		return err
	}
	return s.answerSegment(w, http.StatusOK, body.Name)
}

// startJob runs a refresh job in the background, under the server's job
// context, and returns once it is recorded (or has ended without being
// recorded, with its error). run calls the catalog with the started
// callback.
func (s *Server) startJob(run func(ctx context.Context, started func(uint64)) (*catalog.Job, error)) (*catalog.Job, error) {
	if s.closed.Load() {
		return nil, catalog.ErrClosed
	}
	ids := make(chan uint64, 1)
	type result struct {
		job *catalog.Job
		err error
	}
	done := make(chan result, 1)
	s.wg.Go(func() {
		job, err := run(s.jobs, func(id uint64) { ids <- id })
		done <- result{job, err}
		if err != nil && !errors.Is(err, catalog.ErrCancelled) {
			s.log.Warn("job failed", "err", oneLine(err.Error()))
		}
	})
	select {
	case id := <-ids:
		return s.cat.Job(id)
	case res := <-done:
		return res.job, res.err
	}
}

func (s *Server) activateSegment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		At     optTime `json:"at"`
		AsOf   optTime `json:"asOf"`
		Cancel bool    `json:"cancel"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	name := r.PathValue("name")
	if body.Cancel && !body.At.IsZero() {
		return badRequest("give \"at\" to schedule the activation, or \"cancel\": true to cancel the scheduled one, not both")
	}
	if !body.At.IsZero() || body.Cancel {
		if err := s.cat.ScheduleActivation(name, body.At.Time); err != nil {
			return err
		}
		seg, err := s.cat.Get(name)
		if err != nil {
			return err
		}
		return writeJSON(w, http.StatusAccepted, map[string]any{"segment": seg})
	}
	job, err := s.startJob(func(ctx context.Context, started func(uint64)) (*catalog.Job, error) {
		return s.cat.ActivateWith(ctx, name, catalog.RefreshOptions{AsOf: body.AsOf.Time, Started: started})
	})
	if err != nil {
		return err
	}
	seg, err := s.cat.Get(name)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, map[string]any{"segment": seg, "job": job})
}

func (s *Server) deactivateSegment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		At     optTime `json:"at"`
		Cancel bool    `json:"cancel"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	name := r.PathValue("name")
	if body.Cancel && !body.At.IsZero() {
		return badRequest("give \"at\" to schedule the deactivation, or \"cancel\": true to cancel the scheduled one, not both")
	}
	var err error
	if body.At.IsZero() && !body.Cancel {
		err = s.cat.Deactivate(name)
	} else {
		err = s.cat.ScheduleDeactivation(name, body.At.Time)
	}
	if err != nil {
		return err
	}
	return s.answerSegment(w, http.StatusOK, name)
}

func (s *Server) scheduleSegment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Cron *string `json:"cron"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Cron == nil {
		return badRequest("the body has no \"cron\": a schedule such as \"0 6 * * *\", or \"\" for none")
	}
	name := r.PathValue("name")
	if err := s.cat.SetSchedule(name, *body.Cron); err != nil {
		return err
	}
	return s.answerSegment(w, http.StatusOK, name)
}

func (s *Server) segmentHistory(w http.ResponseWriter, r *http.Request) error {
	from, to, err := queryRange(r)
	if err != nil {
		return err
	}
	h, err := s.cat.History(r.PathValue("name"), from, to)
	if err != nil {
		return err
	}
	if h == nil {
		h = []catalog.HistoryEntry{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"segment": r.PathValue("name"), "history": h})
}

func (s *Server) previewSegment(w http.ResponseWriter, r *http.Request) error {
	rows, err := queryInt(r, "rows", catalog.DefaultPreviewRows, 0, maxPreviewRows)
	if err != nil {
		return err
	}
	asOf, err := queryTime(r, "asOf")
	if err != nil {
		return err
	}
	p, err := s.cat.PreviewWith(r.Context(), r.PathValue("name"), rows, catalog.PreviewOptions{AsOf: asOf})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) previewEdit(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		defBody
		AsOf    optTime `json:"asOf"`
		Samples int     `json:"samples"`
	}
	raw, err := decodeDefinition(r, &body)
	if err != nil {
		return err
	}
	if body.Samples < 0 || body.Samples > catalog.MaxEditSamples {
		return badRequest("\"samples\" must be from 0 to %d", catalog.MaxEditSamples)
	}
	p, err := s.cat.PreviewEdit(r.Context(), r.PathValue("name"), raw, catalog.EditPreviewOptions{AsOf: body.AsOf.Time, Samples: body.Samples})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, p)
}

func (s *Server) segmentOverlap(w http.ResponseWriter, r *http.Request) error {
	names := queryList(r, "segments")
	if names == nil {
		return badRequest("query parameter segments is required: the names of 2 to 8 segments, comma-separated")
	}
	ov, err := s.cat.Overlap(r.Context(), names, analysis.OverlapOptions{By: r.URL.Query().Get("by")})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ov)
}

func (s *Server) segmentDifferentiators(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	name := q.Get("segment")
	if name == "" {
		return badRequest("query parameter segment is required: the name of the segment to compare")
	}
	top, err := queryInt(r, "top", analysis.DefaultTop, 1, analysis.MaxByValues)
	if err != nil {
		return err
	}
	opts := catalog.DifferentiatorsOptions{Against: q.Get("against"), Top: top, Attributes: queryList(r, "attributes")}
	d, err := s.cat.Differentiators(r.Context(), name, opts)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, d)
}

// lazyCSV sets the CSV headers on the first write, so that an error
// before it can still be a problem document.
type lazyCSV struct {
	w    http.ResponseWriter
	name string
	n    int64
}

func (l *lazyCSV) Write(b []byte) (int, error) {
	if l.n == 0 {
		h := l.w.Header()
		h.Set("Content-Type", "text/csv; charset=utf-8")
		h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", l.name+".csv"))
		h.Set("Cache-Control", "no-store")
		l.w.WriteHeader(http.StatusOK)
	}
	n, err := l.w.Write(b)
	l.n += int64(n)
	return n, err
}

func (s *Server) downloadSegment(w http.ResponseWriter, r *http.Request) error {
	fields := queryList(r, "fields")
	asOf, err := queryTime(r, "asOf")
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	out := &lazyCSV{w: w, name: name}
	if err := s.cat.DownloadWith(r.Context(), name, out, fields, catalog.PreviewOptions{AsOf: asOf}); err != nil {
		return err
	}
	if out.n == 0 {
		out.Write(nil)
	}
	return nil
}

func (s *Server) segmentChanges(w http.ResponseWriter, r *http.Request) error {
	from, to, err := queryRange(r)
	if err != nil {
		return err
	}
	ch, err := s.cat.Changes(r.Context(), r.PathValue("name"), from, to)
	if err != nil {
		return err
	}
	if ch == nil {
		ch = []catalog.Change{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"segment": r.PathValue("name"), "changes": ch})
}

// --- destinations and exports ---

func (s *Server) listDestinations(w http.ResponseWriter, r *http.Request) error {
	ds, err := s.cat.Destinations(r.PathValue("name"))
	if err != nil {
		return err
	}
	if ds == nil {
		ds = []*catalog.Destination{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"segment": r.PathValue("name"), "destinations": ds})
}

// destinationBody is a destination in a request body.
type destinationBody struct {
	Name      string      `json:"name"`
	To        string      `json:"to"`
	Mode      export.Mode `json:"mode"`
	Fields    []string    `json:"fields"`
	Hash      []string    `json:"hash"`
	Changes   bool        `json:"changes"`
	BatchSize int         `json:"batchSize"`
	OnDemand  bool        `json:"onDemand"`
	Group     string      `json:"group"`
}

func (b destinationBody) options() catalog.DestinationOptions {
	return catalog.DestinationOptions{Name: b.Name, To: b.To, Mode: b.Mode, Fields: export.Fields{Names: b.Fields, Hash: b.Hash},
		Changes: b.Changes, BatchSize: b.BatchSize, OnDemand: b.OnDemand, Group: b.Group}
}

func (s *Server) addDestination(w http.ResponseWriter, r *http.Request) error {
	var body destinationBody
	if err := decode(r, &body); err != nil {
		return err
	}
	d, err := s.cat.AddDestination(r.Context(), r.PathValue("name"), body.options())
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusCreated, d)
}

func (s *Server) removeDestination(w http.ResponseWriter, r *http.Request) error {
	if err := s.cat.RemoveDestination(r.PathValue("name"), r.PathValue("destination")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) listExports(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", defaultListLimit, 1, maxListLimit)
	if err != nil {
		return err
	}
	name := r.PathValue("name") // "" for /api/exports: every segment's
	if name != "" {
		if _, err := s.cat.Get(name); err != nil {
			return err
		}
	}
	es, err := s.cat.Exports(name, limit)
	if err != nil {
		return err
	}
	if es == nil {
		es = []*catalog.ExportJob{}
	}
	out := map[string]any{"exports": es}
	if name != "" {
		out["segment"] = name
	}
	return writeJSON(w, http.StatusOK, out)
}

func (s *Server) exportSegment(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Destination string `json:"destination"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.Destination == "" {
		return badRequest("the body has no \"destination\": the name of one of the segment's destinations")
	}
	job, err := s.cat.Export(r.Context(), r.PathValue("name"), body.Destination)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, job)
}

func (s *Server) getExport(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	job, err := s.cat.ExportJob(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, job)
}

func (s *Server) customerSegments(w http.ResponseWriter, r *http.Request) error {
	key := r.PathValue("key")
	ms, err := s.cat.SegmentsOf(r.Context(), key)
	if err != nil {
		return err
	}
	if ms == nil {
		ms = []catalog.Membership{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"customer": key, "segments": ms})
}

// --- jobs ---

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Segments []string `json:"segments"`
		All      bool     `json:"all"`
		AsOf     optTime  `json:"asOf"`
	}
	if err := decode(r, &body); err != nil {
		return err
	}
	if body.All == (len(body.Segments) > 0) {
		return badRequest("give either \"segments\" (the names to refresh) or \"all\": true")
	}
	job, err := s.startJob(func(ctx context.Context, started func(uint64)) (*catalog.Job, error) {
		opts := catalog.RefreshOptions{AsOf: body.AsOf.Time, Started: started}
		if body.All {
			return s.cat.RefreshAllWith(ctx, opts)
		}
		return s.cat.RefreshWith(ctx, opts, body.Segments...)
	})
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, job)
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request) error {
	limit, err := queryInt(r, "limit", defaultListLimit, 1, maxListLimit)
	if err != nil {
		return err
	}
	jobs, err := s.cat.Jobs(limit)
	if err != nil {
		return err
	}
	if jobs == nil {
		jobs = []*catalog.Job{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs})
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	job, err := s.cat.Job(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, job)
}

func (s *Server) cancelJob(w http.ResponseWriter, r *http.Request) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.cat.CancelJob(id); err != nil {
		return err
	}
	job, err := s.cat.Job(id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusAccepted, job)
}

// --- definitions being edited ---

func (s *Server) validate(w http.ResponseWriter, r *http.Request) error {
	var body defBody
	def, err := decodeDefinition(r, &body)
	if err != nil {
		return err
	}
	_, problems, err := s.cat.Check(r.Context(), def, r.URL.Query().Get("editing"))
	if err != nil {
		return err
	}
	if problems == nil {
		problems = diag.List{}
	}
	return writeJSON(w, http.StatusOK, map[string]any{"valid": len(problems) == 0, "problems": problems})
}

func (s *Server) evaluate(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		defBody
		AsOf  optTime `json:"asOf"`
		First *int    `json:"first"`
	}
	raw, err := decodeDefinition(r, &body)
	if err != nil {
		return err
	}
	first := 10
	if body.First != nil {
		first = *body.First
	}
	if first < 0 || first > maxFirst {
		return badRequest("\"first\" must be from 0 to %d", maxFirst)
	}
	plan, ref, err := s.compile(r, raw)
	if err != nil {
		return err
	}
	defer ref.done()
	asOf := s.asOfOr(body.AsOf)
	bm, err := plan.Eval(r.Context(), asOf)
	if err != nil {
		return err
	}
	keys := make([]string, 0, min(uint64(first), bm.GetCardinality()))
	it := bm.Iterator()
	for it.HasNext() && len(keys) < first {
		keys = append(keys, ref.snap.CustomerKey(it.Next()))
	}
	return writeJSON(w, http.StatusOK, map[string]any{"members": bm.GetCardinality(), "customers": ref.snap.NumCustomers(),
		"asOf": asOf.Format(time.RFC3339Nano), "first": keys})
}

// compile checks a request's definition and compiles it against the
// current snapshot, its segment references resolved to their stored
// members. The caller calls the reference's done when it is through with
// the plan.
func (s *Server) compile(r *http.Request, raw []byte) (*engine.Plan, *snapshotRef, error) {
	def, problems, err := s.cat.Check(r.Context(), raw, "")
	if err != nil {
		return nil, nil, err
	}
	if len(problems) > 0 {
		return nil, nil, fmt.Errorf("%w: %w", catalog.ErrInvalid, problems)
	}
	ref, err := s.acquire()
	if err != nil {
		return nil, nil, err
	}
	refs, err := s.cat.ReferencesIn(r.Context(), def, ref.snap)
	if err != nil {
		ref.done()
		return nil, nil, err
	}
	plan, err := engine.Compile(def, ref.snap, engine.Options{Segments: refs})
	if err != nil {
		ref.done()
		return nil, nil, err
	}
	return plan, ref, nil
}

// asOfOr returns t, or now when it was not given.
func (s *Server) asOfOr(t optTime) time.Time {
	if t.Time.IsZero() {
		return s.clock.Now().UTC()
	}
	return t.Time
}

func (s *Server) inspect(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		defBody
		AsOf optTime `json:"asOf"`
	}
	raw, err := decodeDefinition(r, &body)
	if err != nil {
		return err
	}
	plan, ref, err := s.compile(r, raw)
	if err != nil {
		return err
	}
	defer ref.done()
	ins, err := plan.Inspect(r.Context(), s.asOfOr(body.AsOf))
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ins)
}

func (s *Server) explain(w http.ResponseWriter, r *http.Request) error {
	var body struct {
		defBody
		AsOf     optTime `json:"asOf"`
		Customer string  `json:"customer"`
	}
	raw, err := decodeDefinition(r, &body)
	if err != nil {
		return err
	}
	if body.Customer == "" {
		return badRequest("\"customer\" is required: the key of the customer to explain")
	}
	plan, ref, err := s.compile(r, raw)
	if err != nil {
		return err
	}
	defer ref.done()
	id, ok := ref.snap.CustomerID(body.Customer)
	if !ok {
		return fmt.Errorf("%w: no customer has the key %q", engine.ErrUnknownCustomer, body.Customer)
	}
	ex, err := plan.Explain(r.Context(), s.asOfOr(body.AsOf), id)
	if err != nil {
		return err
	}
	return writeJSON(w, http.StatusOK, ex)
}
