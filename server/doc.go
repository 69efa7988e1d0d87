// Package server is segmentkit's service: one process that holds a
// catalog and its loaded data, and serves an HTTP JSON API over every
// catalog and quick capability, and the Segments page.
//
// The API is described by an OpenAPI 3.1 document served at
// /api/openapi.json (built from the same route table the handlers are
// registered from). Errors are problem documents (RFC 9457,
// application/problem+json) that carry segmentkit's problem list and
// codes. Routing uses the standard library's [http.ServeMux] patterns
// (method and path wildcards), which is all the API needs.
//
// Access: on a loopback address, calls without a token act as an admin;
// anywhere else every call needs a token ([catalog.Catalog.CreateToken]),
// presented as "Authorization: Bearer sk_...", or the page's session
// cookie, whose changes must carry the session's CSRF token in the
// X-CSRF-Token header. Roles limit what a token may do: viewers read,
// editors change segments, admins manage tokens and destinations.
//
// The data is loaded once and reloaded in the background when the data
// directory changes; a request reads the snapshot that was current when
// it started, whole, until it ends.
package server
