package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
)

// param is a documented query parameter.
type param struct {
	name, typ, doc string
}

// route is one API operation: how it is served and how the OpenAPI
// document describes it. The mux and the document are both built from
// routes, and a test checks that every operation answers as documented.
type route struct {
	method, path string
	id, summary  string
	// role is what a caller needs; 0: anyone (the session and the
	// document).
	role catalog.Role
	// query are the query parameters.
	query []param
	// body is the request body's schema name, "" for none.
	body string
	// ok is the success status and resp its body's schema name ("" for
	// no body, "csv" for a CSV stream).
	ok   int
	resp string
	// errs are the error statuses the operation documents besides those
	// every operation may answer (400, 401, 403, 413, 500, 503, 504).
	errs []int
	// stream marks an operation that streams its response for as long
	// as the client reads: it has no request timeout.
	stream bool
	h      func(s *Server, w http.ResponseWriter, r *http.Request) error
}

// commonErrors are the statuses any operation may answer.
var commonErrors = []int{400, 401, 403, 413, 500, 503, 504}

var (
	qSegmentName = param{"name", "string", "the segment's name"}
	qFrom        = param{"from", "date-time", "the start of the time range (RFC 3339); default: the beginning"}
	qTo          = param{"to", "date-time", "the end of the time range (RFC 3339); default: now"}
	qAsOf        = param{"asOf", "date-time", "evaluate as of this instant (RFC 3339); default: now"}
	qLimit       = param{"limit", "integer", "at most this many, newest first"}
)

// apiRoutes is the API.
func apiRoutes() []route {
	return append([]route{
		{method: "GET", path: "/api/session", id: "getSession", summary: "Who the caller is, and the session's CSRF token", ok: 200, resp: "Session", h: (*Server).getSession},
		{method: "POST", path: "/api/session", id: "createSession", summary: "Start a page session from a token (or, on loopback, without one)", body: "Login", ok: 200, resp: "Session", h: (*Server).createSession},
		{method: "DELETE", path: "/api/session", id: "deleteSession", summary: "End the page session", ok: 204, h: (*Server).deleteSession},
		{method: "GET", path: "/api/openapi.json", id: "getOpenAPI", summary: "This document", ok: 200, resp: "OpenAPI", h: (*Server).getOpenAPI},

		{method: "GET", path: "/api/data", id: "getData", summary: "The loaded data: schema, relationship paths, operators, customers", role: catalog.Viewer, ok: 200, resp: "Data", h: (*Server).getData},

		{method: "GET", path: "/api/segments", id: "listSegments", summary: "List segments, sorted, searched and paged", role: catalog.Viewer,
			query: []param{{"sort", "string", "the column to sort by: " + sortNames()}, {"desc", "boolean", "sort descending"}, {"search", "string", "only segments whose name or display name contains this text (any case)"},
				{"offset", "integer", "skip this many"}, {"limit", "integer", "at most this many (default 100, at most 1000)"}},
			ok: 200, resp: "SegmentList", errs: []int{422}, h: (*Server).listSegments},
		{method: "POST", path: "/api/segments", id: "createSegment", summary: "Create a segment; an invalid definition is saved as a draft with its problems", role: catalog.Editor, body: "CreateSegment", ok: 201, resp: "Segment", errs: []int{409, 422}, h: (*Server).createSegment},
		{method: "GET", path: "/api/segments/{name}", id: "getSegment", summary: "A segment", role: catalog.Viewer, ok: 200, resp: "Segment", errs: []int{404}, h: (*Server).getSegment},
		{method: "PUT", path: "/api/segments/{name}", id: "editSegment", summary: "Replace a segment's definition", role: catalog.Editor, body: "EditSegment", ok: 200, resp: "Segment", errs: []int{404, 409, 422}, h: (*Server).editSegment},
		{method: "DELETE", path: "/api/segments/{name}", id: "deleteSegment", summary: "Delete a segment", role: catalog.Editor, ok: 204, errs: []int{404, 409}, h: (*Server).deleteSegment},
		{method: "POST", path: "/api/segments/{name}/edit-preview", id: "previewEdit", summary: "What a changed definition would add to and remove from a segment's current members, without saving it", role: catalog.Viewer, body: "EditPreviewRequest", ok: 200, resp: "EditPreview", errs: []int{404, 422}, h: (*Server).previewEdit},
		{method: "POST", path: "/api/segments/{name}/rename", id: "renameSegment", summary: "Rename a segment (references to it follow)", role: catalog.Editor, body: "Rename", ok: 200, resp: "Segment", errs: []int{404, 409, 422}, h: (*Server).renameSegment},
		{method: "POST", path: "/api/segments/{name}/activate", id: "activateSegment", summary: "Activate a segment now (and refresh it), or schedule its activation", role: catalog.Editor, body: "Activate", ok: 202, resp: "Activation", errs: []int{404, 409, 422}, h: (*Server).activateSegment},
		{method: "POST", path: "/api/segments/{name}/deactivate", id: "deactivateSegment", summary: "Deactivate a segment now, or schedule its deactivation", role: catalog.Editor, body: "Deactivate", ok: 200, resp: "Segment", errs: []int{404, 422}, h: (*Server).deactivateSegment},
		{method: "PUT", path: "/api/segments/{name}/schedule", id: "scheduleSegment", summary: "Set (or clear, with \"\") a segment's refresh schedule", role: catalog.Editor, body: "Schedule", ok: 200, resp: "Segment", errs: []int{404, 422}, h: (*Server).scheduleSegment},
		{method: "GET", path: "/api/segments/{name}/history", id: "segmentHistory", summary: "A segment's member counts over time (the trend)", role: catalog.Viewer, query: []param{qFrom, qTo}, ok: 200, resp: "History", errs: []int{404}, h: (*Server).segmentHistory},
		{method: "GET", path: "/api/segments/{name}/preview", id: "previewSegment", summary: "The first members with the definition's fields", role: catalog.Viewer,
			query: []param{{"rows", "integer", "how many rows (default 100, at most 1000)"}, qAsOf}, ok: 200, resp: "Preview", errs: []int{404, 409}, h: (*Server).previewSegment},
		{method: "GET", path: "/api/segments/{name}/download", id: "downloadSegment", summary: "Every member as CSV, streamed", role: catalog.Viewer,
			query: []param{{"fields", "string", "comma-separated fields (Entity.Attribute or measure names); default: the download's fields"}, qAsOf}, ok: 200, resp: "csv", errs: []int{404, 409, 422}, stream: true, h: (*Server).downloadSegment},
		{method: "GET", path: "/api/segments/{name}/changes", id: "segmentChanges", summary: "Who entered and left the segment, refresh by refresh", role: catalog.Viewer, query: []param{qFrom, qTo}, ok: 200, resp: "Changes", errs: []int{404}, h: (*Server).segmentChanges},
		{method: "GET", path: "/api/segments/{name}/destinations", id: "listDestinations", summary: "A segment's destinations", role: catalog.Viewer, ok: 200, resp: "Destinations", errs: []int{404}, h: (*Server).listDestinations},
		{method: "POST", path: "/api/segments/{name}/destinations", id: "addDestination", summary: "Add a destination to a segment", role: catalog.Admin, body: "AddDestination", ok: 201, resp: "Destination", errs: []int{404, 409, 422}, h: (*Server).addDestination},
		{method: "DELETE", path: "/api/segments/{name}/destinations/{destination}", id: "removeDestination", summary: "Remove a destination", role: catalog.Admin, ok: 204, errs: []int{404}, h: (*Server).removeDestination},
		{method: "GET", path: "/api/segments/{name}/exports", id: "listExports", summary: "A segment's export jobs, newest first", role: catalog.Viewer, query: []param{qLimit}, ok: 200, resp: "Exports", errs: []int{404}, h: (*Server).listExports},
		{method: "POST", path: "/api/segments/{name}/exports", id: "exportSegment", summary: "Export a segment's members to one of its destinations (Add to), and wait for the export", role: catalog.Editor, body: "Export", ok: 200, resp: "ExportJob", errs: []int{404, 409, 422, 502}, h: (*Server).exportSegment},
		{method: "GET", path: "/api/overlap", id: "segmentOverlap", summary: "How 2 to 8 segments' members overlap: every region's count, optionally by a customer attribute's values", role: catalog.Viewer,
			query: []param{{"segments", "string", "the segments' names, comma-separated (2 to 8)"}, {"by", "string", "break every region down by this customer attribute (Entity.Attribute)"}},
			ok:    200, resp: "Overlap", errs: []int{404, 409, 422}, h: (*Server).segmentOverlap},
		{method: "GET", path: "/api/differentiators", id: "segmentDifferentiators", summary: "What sets a segment apart from all customers or another segment: every customer attribute and measure ranked by total variation distance or the Kolmogorov-Smirnov statistic, with the values that drive it", role: catalog.Viewer,
			query: []param{{"segment", "string", "the segment's name"}, {"against", "string", "compare with this segment's members instead of all customers"},
				{"attributes", "string", "compare only these attributes, comma-separated (Entity.Attribute or Measures.Name)"}, {"top", "integer", "list each categorical attribute's top values, 1 to 100 (5)"}},
			ok: 200, resp: "Differentiators", errs: []int{400, 404, 409, 422}, h: (*Server).segmentDifferentiators},
		{method: "GET", path: "/api/exports", id: "listAllExports", summary: "Every segment's export jobs, newest first", role: catalog.Viewer, query: []param{qLimit}, ok: 200, resp: "Exports", h: (*Server).listExports},
		{method: "GET", path: "/api/exports/{id}", id: "getExport", summary: "An export job", role: catalog.Viewer, ok: 200, resp: "ExportJob", errs: []int{404}, h: (*Server).getExport},
		{method: "GET", path: "/api/customers/{key}/segments", id: "customerSegments", summary: "The segments a customer is in, entered or left", role: catalog.Viewer, ok: 200, resp: "CustomerSegments", errs: []int{404}, h: (*Server).customerSegments},

		{method: "POST", path: "/api/refresh", id: "refresh", summary: "Refresh segments (some, or all) as one job; answers once the job runs", role: catalog.Editor, body: "Refresh", ok: 202, resp: "Job", errs: []int{404}, h: (*Server).refresh},
		{method: "GET", path: "/api/jobs", id: "listJobs", summary: "Refresh jobs, newest first", role: catalog.Viewer, query: []param{qLimit}, ok: 200, resp: "Jobs", h: (*Server).listJobs},
		{method: "GET", path: "/api/jobs/{id}", id: "getJob", summary: "A refresh job with its tasks", role: catalog.Viewer, ok: 200, resp: "Job", errs: []int{404}, h: (*Server).getJob},
		{method: "POST", path: "/api/jobs/{id}/cancel", id: "cancelJob", summary: "Cancel a running job", role: catalog.Editor, ok: 202, resp: "Job", errs: []int{404}, h: (*Server).cancelJob},

		{method: "POST", path: "/api/validate", id: "validate", summary: "Every problem of a definition, with its path", role: catalog.Viewer, query: []param{{"editing", "string", "the segment whose definition this would replace"}}, body: "Definition", ok: 200, resp: "Validation", errs: []int{404}, h: (*Server).validate},
		{method: "POST", path: "/api/evaluate", id: "evaluate", summary: "Evaluate a definition: its size and first members (the builder's live size)", role: catalog.Viewer, body: "Evaluate", ok: 200, resp: "Evaluation", errs: []int{422}, h: (*Server).evaluate},
		{method: "POST", path: "/api/inspect", id: "inspect", summary: "Inspect a definition: each group's size, each top-level condition's alone, the running size after each set operation", role: catalog.Viewer, body: "Inspect", ok: 200, resp: "Inspection", errs: []int{422}, h: (*Server).inspect},
		{method: "POST", path: "/api/explain", id: "explain", summary: "Explain why a customer is or is not a member of a definition: each condition's truth, their values, the related rows that decided", role: catalog.Viewer, body: "Explain", ok: 200, resp: "Explanation", errs: []int{404, 422}, h: (*Server).explain},

		{method: "GET", path: "/api/quick/fields", id: "quickFields", summary: "The fields a quick segment can use", role: catalog.Viewer, query: []param{{"source", "string", "profiles, measures or intelligence; default: all"}}, ok: 200, resp: "QuickFields", errs: []int{422}, h: (*Server).quickFields},
		{method: "GET", path: "/api/quick/insights", id: "quickInsights", summary: "A field's top 10 values or percentiles", role: catalog.Viewer, query: []param{{"field", "string", "the field, such as Customer.Country"}, qAsOf}, ok: 200, resp: "QuickInsights", errs: []int{422}, h: (*Server).quickInsights},
		{method: "GET", path: "/api/quick/estimate", id: "quickEstimate", summary: "The exact size of a quick segment", role: catalog.Viewer,
			query: []param{{"field", "string", "the field"}, {"op", "string", "is, between, greaterThan or lessThan"}, {"value", "string", "the value (between: LOW,HIGH)"}, qAsOf}, ok: 200, resp: "QuickEstimate", errs: []int{422}, h: (*Server).quickEstimate},
		{method: "POST", path: "/api/quick/segments", id: "quickCreate", summary: "Save a quick segment", role: catalog.Editor, body: "QuickCreate", ok: 201, resp: "Segment", errs: []int{409, 422}, h: (*Server).quickCreate},

		{method: "GET", path: "/api/tokens", id: "listTokens", summary: "The API tokens (never their secrets)", role: catalog.Admin, ok: 200, resp: "Tokens", h: (*Server).listTokens},
		{method: "POST", path: "/api/tokens", id: "createToken", summary: "Create a token; its secret is in this answer only", role: catalog.Admin, body: "CreateToken", ok: 201, resp: "NewToken", errs: []int{422}, h: (*Server).createToken},
		{method: "DELETE", path: "/api/tokens/{id}", id: "revokeToken", summary: "Revoke a token", role: catalog.Admin, ok: 204, errs: []int{404}, h: (*Server).revokeToken},
	}, splitRoutes()...)
}

func sortNames() string {
	var names []string
	for _, c := range catalog.SortColumns() {
		names = append(names, string(c))
	}
	return strings.Join(names, ", ")
}

// routes builds the handler: every API route behind the checks, a
// problem for any other /api/ path, and the page.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range apiRoutes() {
		mux.Handle(rt.method+" "+rt.path, s.api(rt))
	}
	mux.Handle("/api/", s.api(route{id: "noRoute", h: func(s *Server, w http.ResponseWriter, r *http.Request) error {
		return fmt.Errorf("%w: %s %s", ErrNoRoute, r.Method, r.URL.Path)
	}}))
	page := http.FileServerFS(assets())
	mux.Handle("GET /assets/", s.guard(http.StripPrefix("/assets/", page)))
	mux.Handle("GET /{$}", s.guard(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		http.ServeFileFS(w, r, assets(), "index.html")
	})))
	return mux
}

// securityHeaders are set on every answer.
func securityHeaders(h http.Header) {
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
}

// guard applies the checks every request gets: the Host of a loopback
// server, the security headers.
func (s *Server) guard(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		securityHeaders(w.Header())
		if !s.opts.RequireTokens && !loopbackHost(r.Host) {
			s.writeProblem(w, r, fmt.Errorf("%w: this server answers on loopback names only (localhost, 127.0.0.1, [::1]), not %q", ErrForbidden, r.Host))
			return
		}
		h.ServeHTTP(w, r)
	})
}

// statusWriter records the status a handler wrote (0 until it writes).
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// crossOrigin refuses changes a browser sends from another origin.
var crossOrigin = http.NewCrossOriginProtection()

// api wraps an operation's handler: authentication, role, CSRF, body
// limit, timeout, recovery from a panic, the log line.
func (s *Server) api(rt route) http.Handler {
	return s.guard(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		start := s.clock.Now()
		w := &statusWriter{ResponseWriter: rw}
		var who string
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v) // end the connection: the answer is cut short
				}
				s.log.Error("panic", "method", r.Method, "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				if w.status == 0 {
					s.writeProblem(w, r, fmt.Errorf("internal error in %s", rt.id))
				}
			}
			s.log.Info("request", "method", r.Method, "path", r.URL.Path, "status", w.status, "by", who,
				"duration", s.clock.Since(start).Round(time.Microsecond))
		}()
		err := func() error {
			if err := crossOrigin.Check(r); err != nil {
				return fmt.Errorf("%w: %v", ErrCSRF, err)
			}
			p, err := s.authenticate(r)
			if err != nil {
				return err
			}
			if p == nil && rt.role != 0 {
				return fmt.Errorf("%w: this server requires a token: send \"Authorization: Bearer TOKEN\", or sign in on the page", ErrUnauthenticated)
			}
			if p != nil {
				who = p.name
				if !p.role.Allows(rt.role) && rt.role != 0 {
					return fmt.Errorf("%w: %s needs the %s role; this token is %s", ErrForbidden, rt.id, rt.role, p.role)
				}
				if !checkCSRF(r, p) {
					return fmt.Errorf("%w: a change made with the session cookie must carry the %s header", ErrCSRF, CSRFHeader)
				}
				r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
			}
			r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBody)
			if !rt.stream {
				ctx, cancel := context.WithTimeout(r.Context(), s.opts.RequestTimeout)
				defer cancel()
				r = r.WithContext(ctx)
			}
			err = rt.h(s, w, r)
			if err != nil && errors.Is(err, context.DeadlineExceeded) && r.Context().Err() != nil {
				err = fmt.Errorf("%w after %s: %w", ErrTimeout, s.opts.RequestTimeout, err)
			}
			return err
		}()
		if err != nil {
			if w.status != 0 {
				// The answer had started (a download): it cannot become a
				// problem document; the connection ends it.
				s.log.Warn("request failed after the answer started", "method", r.Method, "path", r.URL.Path, "err", oneLine(err.Error()))
				panic(http.ErrAbortHandler)
			}
			s.writeProblem(w, r, err)
		}
	}))
}

// writeJSON writes v with the status.
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(b, '\n'))
	return err
}

// decode reads the request's JSON body into v: application/json, one
// value, no unknown members (an unknown one is named, with the nearest
// known one). An empty body decodes as {}.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || mt != "application/json" {
			return badRequest("the body must be application/json, not %q", ct)
		}
	} else if r.ContentLength != 0 {
		return badRequest("the body must be application/json (set Content-Type)")
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return fmt.Errorf("%w: the body is over %d bytes", ErrBodyTooLarge, tooLarge.Limit)
		}
		return badRequest("read the body: %v", err)
	}
	if len(strings.TrimSpace(string(b))) == 0 {
		b = []byte("{}")
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("the body: %s", jsonError(err, v))
	}
	if dec.More() {
		return badRequest("the body holds more than one JSON value")
	}
	return nil
}

// jsonError words a decoding error, naming an unknown member's nearest
// known one.
func jsonError(err error, v any) string {
	msg := err.Error()
	if name, ok := strings.CutPrefix(msg, "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		known := jsonNames(v)
		msg = fmt.Sprintf("unknown member %q (members: %s)", name, strings.Join(known, ", "))
		if n := diag.Nearest(name, known); n != "" {
			msg = fmt.Sprintf("unknown member %q%s", name, diag.DidYouMean(n))
		}
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		msg = fmt.Sprintf("member %q must be %s, not a JSON %s", te.Field, jsonKind(te.Type), te.Value)
	}
	return msg
}

func jsonKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Uint64, reflect.Uint32, reflect.Int32, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "an array"
	}
	return "an object"
}

// jsonNames returns the JSON member names of the struct v points to.
func jsonNames(v any) []string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return nil
	}
	var out []string
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch {
		case f.Anonymous && name == "":
			out = append(out, jsonNames(reflect.New(f.Type).Interface())...)
		case name != "" && name != "-":
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
