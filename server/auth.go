package server

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/segmentkit/segmentkit/catalog"
)

// Names of the session cookie and the CSRF header.
const (
	SessionCookie = "segmentkit_session"
	CSRFHeader    = "X-CSRF-Token"
)

// principal is who makes a request.
type principal struct {
	role catalog.Role
	// name is the token's name, or "local" for a loopback call without
	// one.
	name string
	// tokenID is the token's id (0 for a loopback call without one).
	tokenID uint64
	// session is the page session the request came with, or nil.
	session *session
}

type principalKey struct{}

func principalOf(ctx context.Context) *principal {
	p, _ := ctx.Value(principalKey{}).(*principal)
	return p
}

// session is a page session.
type session struct {
	role    catalog.Role
	name    string
	tokenID uint64
	csrf    string
	expires time.Time
}

// maxSessions bounds the sessions kept: past it, the tenth that expires
// first is dropped to make room.
const maxSessions = 10000

// sessions holds the page sessions, by the SHA-256 of their cookie value:
// the values themselves are kept nowhere.
type sessions struct {
	clock clockwork.Clock
	ttl   time.Duration
	mu    sync.Mutex
	m     map[[32]byte]*session
}

func newSessions(clock clockwork.Clock, ttl time.Duration) *sessions {
	return &sessions{clock: clock, ttl: ttl, m: map[[32]byte]*session{}}
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// create makes a session and returns its cookie value.
func (s *sessions) create(p *principal) (string, *session) {
	value := randomToken()
	ses := &session{role: p.role, name: p.name, tokenID: p.tokenID, csrf: randomToken(), expires: s.clock.Now().Add(s.ttl)}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	for k, v := range s.m {
		if now.After(v.expires) {
			delete(s.m, k)
		}
	}
	if len(s.m) >= maxSessions {
		// Drop the tenth that expires first.
		type entry struct {
			k [32]byte
			t time.Time
		}
		all := make([]entry, 0, len(s.m))
		for k, v := range s.m {
			all = append(all, entry{k, v.expires})
		}
		slices.SortFunc(all, func(a, b entry) int { return a.t.Compare(b.t) })
		for _, e := range all[:len(all)/10+1] {
			delete(s.m, e.k)
		}
	}
	s.m[sha256.Sum256([]byte(value))] = ses
	return value, ses
}

// get returns the live session with the cookie value, extending it.
func (s *sessions) get(value string) *session {
	k := sha256.Sum256([]byte(value))
	s.mu.Lock()
	defer s.mu.Unlock()
	ses := s.m[k]
	if ses == nil {
		return nil
	}
	now := s.clock.Now()
	if now.After(ses.expires) {
		delete(s.m, k)
		return nil
	}
	ses.expires = now.Add(s.ttl)
	return ses
}

func (s *sessions) delete(value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, sha256.Sum256([]byte(value)))
}

// dropToken ends every session made from the token.
func (s *sessions) dropToken(id uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.m {
		if v.tokenID == id {
			delete(s.m, k)
		}
	}
}

// authenticate finds who makes the request: a bearer token, else the
// session cookie, else (when tokens are not required) the local admin.
// A request with no credentials where they are required gets a nil
// principal and no error.
func (s *Server) authenticate(r *http.Request) (*principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return nil, badRequestAuth()
		}
		t, err := s.cat.CheckToken(strings.TrimSpace(secret))
		if err != nil {
			return nil, err
		}
		return &principal{role: t.Role, name: t.Name, tokenID: t.ID}, nil
	}
	if c, err := r.Cookie(SessionCookie); err == nil && c.Value != "" {
		if ses := s.sessions.get(c.Value); ses != nil {
			return &principal{role: ses.role, name: ses.name, tokenID: ses.tokenID, session: ses}, nil
		}
	}
	if !s.opts.RequireTokens {
		return &principal{role: catalog.Admin, name: "local"}, nil
	}
	return nil, nil
}

func badRequestAuth() error {
	return &authError{"the Authorization header must be \"Bearer TOKEN\""}
}

// authError is a malformed credential: unauthenticated, with its reason.
type authError struct{ msg string }

func (e *authError) Error() string { return e.msg }
func (e *authError) Unwrap() error { return ErrUnauthenticated }

// safeMethod reports whether a method only reads.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions
}

// checkCSRF checks a change made with the session cookie: it must carry
// the session's CSRF token.
func checkCSRF(r *http.Request, p *principal) bool {
	if safeMethod(r.Method) || p.session == nil {
		return true
	}
	got := r.Header.Get(CSRFHeader)
	return got != "" && subtle.ConstantTimeCompare([]byte(got), []byte(p.session.csrf)) == 1
}

// loopbackHost reports whether a request's Host names a loopback address
// (localhost, 127.0.0.1, [::1], with or without a port). A server on
// loopback refuses other names, so a page of another site cannot reach it
// through a name that resolves to 127.0.0.1 (DNS rebinding).
func loopbackHost(host string) bool {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	h = strings.TrimSuffix(strings.TrimPrefix(h, "["), "]")
	if strings.EqualFold(h, "localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
