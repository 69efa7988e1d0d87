package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/segmentkit/segmentkit/analysis"
	"github.com/segmentkit/segmentkit/catalog"
	"github.com/segmentkit/segmentkit/diag"
	"github.com/segmentkit/segmentkit/engine"
	"github.com/segmentkit/segmentkit/export"
	"github.com/segmentkit/segmentkit/segment"
)

// The service's own kinds of problem.
var (
	// ErrBadRequest reports a request that is not what the API takes: a
	// body that is not the JSON an operation expects, a query parameter
	// that does not parse.
	ErrBadRequest = diag.NewSentinel("server.bad_request", "bad request")
	// ErrBodyTooLarge reports a request body over the server's limit.
	ErrBodyTooLarge = diag.NewSentinel("server.body_too_large", "request body too large")
	// ErrUnauthenticated reports a call without a token or session where
	// one is required, or with one that is not valid.
	ErrUnauthenticated = diag.NewSentinel("server.unauthenticated", "authentication required")
	// ErrForbidden reports a call its token's role does not allow.
	ErrForbidden = diag.NewSentinel("server.forbidden", "not allowed for this role")
	// ErrCSRF reports a change made with the session cookie without the
	// session's CSRF token, or a cross-origin change.
	ErrCSRF = diag.NewSentinel("server.csrf", "missing or wrong CSRF token")
	// ErrNoRoute reports a path or method the API does not have.
	ErrNoRoute = diag.NewSentinel("server.no_route", "no such API operation")
	// ErrTimeout reports a request whose work ran past the server's
	// request timeout.
	ErrTimeout = diag.NewSentinel("server.timeout", "request timed out")
)

// problemType is the URI of a problem document's type: a URN naming the
// code, the same code segmentkit's JSON output and errors.Is use.
func problemType(code string) string { return "urn:segmentkit:problem:" + code }

// Problem is an RFC 9457 problem document as the API writes it, with
// segmentkit's code and problem list as extension members.
type Problem struct {
	// Type identifies the kind of problem: urn:segmentkit:problem:CODE.
	Type string `json:"type"`
	// Title is the kind of problem in words.
	Title string `json:"title"`
	// Status is the HTTP status code.
	Status int `json:"status"`
	// Detail says what went wrong with this request.
	Detail string `json:"detail,omitempty"`
	// Instance is the request's path.
	Instance string `json:"instance,omitempty"`
	// Code is the stable code of the problem's kind ("catalog.not_found").
	Code string `json:"code"`
	// Problems are the problems the library found, each with its path,
	// for an invalid definition or input.
	Problems diag.List `json:"problems,omitempty"`
}

// statuses maps kinds of errors to HTTP statuses, in order: the first
// that matches wins.
var statuses = []struct {
	err    error
	status int
}{
	{ErrBadRequest, http.StatusBadRequest},
	{ErrBodyTooLarge, http.StatusRequestEntityTooLarge},
	{ErrUnauthenticated, http.StatusUnauthorized},
	{catalog.ErrUnauthorized, http.StatusUnauthorized},
	{ErrForbidden, http.StatusForbidden},
	{ErrCSRF, http.StatusForbidden},
	{ErrNoRoute, http.StatusNotFound},
	{ErrTimeout, http.StatusGatewayTimeout},
	// A split or priority list that is not valid is 422 even when one of
	// its problems names an unknown segment or group.
	{catalog.ErrSplit, http.StatusUnprocessableEntity},
	{catalog.ErrPriorityList, http.StatusUnprocessableEntity},
	{catalog.ErrHoldout, http.StatusConflict},
	{catalog.ErrNotFound, http.StatusNotFound},
	{engine.ErrUnknownCustomer, http.StatusNotFound},
	{catalog.ErrExists, http.StatusConflict},
	{catalog.ErrDraft, http.StatusConflict},
	{catalog.ErrNoMembers, http.StatusConflict},
	{catalog.ErrReferenced, http.StatusConflict},
	{catalog.ErrCancelled, http.StatusConflict},
	{catalog.ErrInvalid, http.StatusUnprocessableEntity},
	{catalog.ErrInvalidName, http.StatusUnprocessableEntity},
	{catalog.ErrSchedule, http.StatusUnprocessableEntity},
	{catalog.ErrRole, http.StatusUnprocessableEntity},
	{catalog.ErrUnknownField, http.StatusUnprocessableEntity},
	{analysis.ErrSets, http.StatusUnprocessableEntity},
	{analysis.ErrUnknownField, http.StatusUnprocessableEntity},
	{analysis.ErrEmpty, http.StatusUnprocessableEntity},
	{analysis.ErrOptions, http.StatusUnprocessableEntity},
	{export.ErrDestination, http.StatusUnprocessableEntity},
	{export.ErrMode, http.StatusUnprocessableEntity},
	{export.ErrDelivery, http.StatusBadGateway},
	{catalog.ErrClosed, http.StatusServiceUnavailable},
	{catalog.ErrLocked, http.StatusServiceUnavailable},
	{catalog.ErrNoSource, http.StatusServiceUnavailable},
	{segment.ErrUnknownSegment, http.StatusUnprocessableEntity},
	{context.DeadlineExceeded, http.StatusGatewayTimeout},
	{context.Canceled, 499},
}

// inputPackages are the packages whose problems are about what a client
// sent (a definition, a value, a field): 422.
var inputPackages = []string{"segment.", "schema.", "exact.", "quick.", "sqlgen."}

// statusOf returns the HTTP status for err.
func statusOf(err error) int {
	for _, s := range statuses {
		if errors.Is(err, s.err) {
			return s.status
		}
	}
	code := diag.Code(err)
	for _, p := range inputPackages {
		if strings.HasPrefix(code, p) {
			return http.StatusUnprocessableEntity
		}
	}
	return http.StatusInternalServerError
}

// problemOf builds the problem document for err.
func problemOf(r *http.Request, err error) *Problem {
	status := statusOf(err)
	p := &Problem{Status: status, Code: diag.Code(err), Detail: oneLine(err.Error()), Instance: r.URL.Path}
	var l diag.List
	if errors.As(err, &l) {
		p.Problems = l
		if p.Code == "" && len(l) > 0 {
			p.Code = diag.Code(l[0])
		}
	} else {
		var one *diag.Problem
		if errors.As(err, &one) {
			p.Problems = diag.List{one}
		}
	}
	if p.Code == "" {
		p.Code = "server.internal"
		if status == 499 {
			p.Code = "server.cancelled"
		}
	}
	p.Type = problemType(p.Code)
	p.Title = http.StatusText(status)
	if s := diag.Sentinel(p.Code); s != nil {
		p.Title = s.Error()
	}
	if status == 499 {
		p.Title = "client closed the request"
	}
	return p
}

// writeProblem writes err as a problem document.
func (s *Server) writeProblem(w http.ResponseWriter, r *http.Request, err error) {
	p := problemOf(r, err)
	if p.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "status", p.Status, "err", p.Detail)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	status := p.Status
	if status == 499 {
		status = http.StatusServiceUnavailable // the client is gone; any status will do
	}
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(p)
}

// badRequest wraps a message in ErrBadRequest.
func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrBadRequest, fmt.Sprintf(format, args...))
}

// oneLine joins the lines of s with "; ".
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", "; ", "\n", "; ", "\r", "; ").Replace(s)
}
