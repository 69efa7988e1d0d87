package catalog

import (
	"cmp"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	bolt "go.etcd.io/bbolt"

	"github.com/segmentkit/segmentkit/diag"
)

// API tokens: the secrets a segment service's clients present. The
// catalog keeps only each token's SHA-256 hash: a token is 32 random
// bytes, so a fast hash is as strong as a slow one, and the file never
// holds a value that would let its reader call the service.

// ErrUnauthorized reports a token that is not one of the catalog's.
var ErrUnauthorized = diag.NewSentinel("catalog.unauthorized", "unknown or revoked token")

// ErrRole reports a role that is not viewer, editor or admin.
var ErrRole = diag.NewSentinel("catalog.role", "unknown role")

// Role is what a token may do. Each role may do what the roles below it
// may.
type Role uint8

const (
	// Viewer reads: segments, jobs, history, previews, downloads,
	// insights and estimates.
	Viewer Role = iota + 1
	// Editor changes segments: create, edit, rename, delete, activate,
	// deactivate, schedule, refresh and export to existing destinations.
	Editor
	// Admin manages tokens and destinations.
	Admin
)

var roleNames = []string{Viewer: "viewer", Editor: "editor", Admin: "admin"}

// String returns the role's name: viewer, editor or admin.
func (r Role) String() string {
	if int(r) < len(roleNames) && r > 0 {
		return roleNames[r]
	}
	return fmt.Sprintf("Role(%d)", uint8(r))
}

// Allows reports whether a token of role r may do what needs role need.
func (r Role) Allows(need Role) bool { return r >= need && r <= Admin }

// MarshalText returns the role's name.
func (r Role) MarshalText() ([]byte, error) {
	if r < Viewer || r > Admin {
		return nil, fmt.Errorf("%w %d", ErrRole, r)
	}
	return []byte(r.String()), nil
}

// UnmarshalText parses a role's name (ParseRole).
func (r *Role) UnmarshalText(b []byte) error {
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// ParseRole parses viewer, editor or admin. Anything else is an error
// wrapping ErrRole that names the nearest role.
func ParseRole(s string) (Role, error) {
	for r := Viewer; r <= Admin; r++ {
		if s == r.String() {
			return r, nil
		}
	}
	msg := fmt.Sprintf("role %q is not viewer, editor or admin", s)
	if n := diag.Nearest(s, roleNames[1:]); n != "" {
		msg += diag.DidYouMean(n)
	}
	return 0, fmt.Errorf("%w: %s", ErrRole, msg)
}

// Token describes an API token. The secret itself is shown once, by
// CreateToken, and kept nowhere.
type Token struct {
	// ID identifies the token for listing and revoking.
	ID uint64 `json:"id"`
	// Name says whose or what the token is for.
	Name string `json:"name"`
	// Role is what the token may do.
	Role Role `json:"role"`
	// Created is when the token was made.
	Created time.Time `json:"created"`
}

// tokenPrefix starts every token, so that a token found in a file or a
// log is recognisable as segmentkit's.
const tokenPrefix = "sk_"

// maxTokenName bounds a token's name.
const maxTokenName = 200

// tokenHash is the key a token is stored under.
func tokenHash(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// CreateToken makes a token with the role and returns its secret (shown
// once: the catalog keeps only its hash) and its description.
func (c *Catalog) CreateToken(name string, role Role) (string, *Token, error) {
	if err := c.enter(); err != nil {
		return "", nil, err
	}
	defer c.leave()
	if _, err := role.MarshalText(); err != nil {
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	if len(name) > maxTokenName || !utf8.ValidString(name) || strings.ContainsFunc(name, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return "", nil, fmt.Errorf("create token: the name must be valid UTF-8 text of at most %d bytes without control characters (%w)", maxTokenName, ErrInvalidName)
	}
	var raw [32]byte
	rand.Read(raw[:])
	secret := tokenPrefix + base64.RawURLEncoding.EncodeToString(raw[:])
	t := &Token{Name: name, Role: role, Created: c.now()}
	err := c.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		id, err := b.NextSequence()
		if err != nil {
			return err
		}
		t.ID = id
		v, err := encodeRecord(tokenHash(secret), t)
		if err != nil {
			return err
		}
		return b.Put(tokenHash(secret), v)
	})
	if err != nil {
		return "", nil, fmt.Errorf("create token: %w", err)
	}
	return secret, t, nil
}

// Tokens returns every token's description, by id.
func (c *Catalog) Tokens() ([]Token, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	var ts []Token
	err := c.view(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTokens).ForEach(func(k, v []byte) error {
			t, err := decodeToken(k, v)
			if err != nil {
				return err
			}
			ts = append(ts, *t)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", err)
	}
	slices.SortFunc(ts, func(a, b Token) int { return cmp.Compare(a.ID, b.ID) })
	return ts, nil
}

// decodeToken decodes a stored token, checking what it reads.
func decodeToken(k, v []byte) (*Token, error) {
	if len(k) != sha256.Size {
		return nil, corrupt("a token is stored under a key of %d bytes, not %d", len(k), sha256.Size)
	}
	var t Token
	if err := decodeRecord(k, v, &t); err != nil || t.ID == 0 {
		return nil, corrupt("token %x is unreadable", k[:4])
	}
	return &t, nil
}

// RevokeToken removes the token with the id; its secret is refused from
// then on. An unknown id is an error wrapping ErrNotFound.
func (c *Catalog) RevokeToken(id uint64) error {
	if err := c.enter(); err != nil {
		return err
	}
	defer c.leave()
	err := c.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketTokens)
		var key []byte
		err := b.ForEach(func(k, v []byte) error {
			t, err := decodeToken(k, v)
			if err != nil {
				return err
			}
			if t.ID == id {
				key = append([]byte(nil), k...)
			}
			return nil
		})
		if err != nil {
			return err
		}
		if key == nil {
			return fmt.Errorf("token %d %w", id, ErrNotFound)
		}
		return b.Delete(key)
	})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// CheckToken returns the description of the token whose secret is given,
// or an error wrapping ErrUnauthorized. The error never quotes the secret.
func (c *Catalog) CheckToken(secret string) (*Token, error) {
	if err := c.enter(); err != nil {
		return nil, err
	}
	defer c.leave()
	if !strings.HasPrefix(secret, tokenPrefix) || len(secret) > 128 {
		return nil, ErrUnauthorized
	}
	var t *Token
	err := c.view(func(tx *bolt.Tx) error {
		k := tokenHash(secret)
		v := tx.Bucket(bucketTokens).Get(k)
		if v == nil {
			return ErrUnauthorized
		}
		var err error
		t, err = decodeToken(k, v)
		return err
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// verifyTokens checks the tokens bucket for Verify.
func verifyTokens(tx *bolt.Tx, l *diag.List) {
	var seq uint64
	tx.Bucket(bucketTokens).ForEach(func(k, v []byte) error {
		t, err := decodeToken(k, v)
		if err != nil {
			l.Add("tokens", ErrCorrupt, "%v", err)
			return nil
		}
		seq = max(seq, t.ID)
		return nil
	})
	if b := tx.Bucket(bucketTokens); seq > b.Sequence() {
		l.Add("tokens", ErrCorrupt, "token id %d is above the bucket's sequence %d", seq, b.Sequence())
	}
}
