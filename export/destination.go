package export

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/segmentkit/segmentkit/diag"
)

// Kinds lists the kinds of destination ParseDestination reads, in the
// order the documentation gives them.
var Kinds = []string{"csv", "jsonl", "parquet", "arrow", "roaring", "webhook", "postgres"}

// ParseDestination returns the destination a target names:
//
//	csv:FILE        CSV with a header row; "-" as FILE writes standard output
//	jsonl:FILE      JSON Lines, one object per row; "-" writes standard output
//	parquet:FILE    Parquet, typed columns
//	arrow:FILE      Arrow IPC file, typed columns
//	roaring:FILE    a portable roaring bitmap of customer ids, the keys in FILE.keys
//	webhook:URL     JSON batches POSTed to an http or https URL
//	postgres:CONNSTRING#TABLE  a PostgreSQL table mirroring the segment
//
// A postgres:// or postgresql:// URL with #TABLE may be given as is,
// without the postgres: kind before it. An error wraps ErrDestination and
// says what is wrong, with the nearest kind for a misspelt one (and the
// kind a file name's extension or an http URL calls for); it never shows
// a password, a URL's user part or query values.
func ParseDestination(target string) (Destination, error) {
	target = strings.TrimSpace(target)
	kind, rest, ok := strings.Cut(target, ":")
	if !ok || kind == "" {
		return nil, fmt.Errorf("%w %q: write KIND:WHERE, with KIND one of %s (csv:members.csv, webhook:https://..., postgres:CONNSTRING#TABLE)%s",
			ErrDestination, redactTarget(target), strings.Join(Kinds, ", "), targetHint(target, ""))
	}
	kind = strings.ToLower(kind)
	if (kind == "postgres" || kind == "postgresql") && strings.HasPrefix(rest, "//") {
		// A postgres:// URL: the kind is the URL's scheme.
		kind, rest = "postgres", target
	}
	if !slices.Contains(Kinds, kind) {
		hint := targetHint(target, kind)
		if s := diag.Nearest(kind, Kinds); hint == "" && s != "" {
			hint = diag.DidYouMean(s)
		}
		return nil, fmt.Errorf("%w %q: unknown kind %q; the kinds are %s%s", ErrDestination, redactTarget(target), kind, strings.Join(Kinds, ", "), hint)
	}
	rest = strings.TrimSpace(rest)
	if rest == "" {
		return nil, fmt.Errorf("%w %q: %s needs %s after the colon", ErrDestination, redactTarget(target), kind, kindArgument(kind))
	}
	if rest == "-" && kind != "csv" && kind != "jsonl" {
		return nil, fmt.Errorf("%w %q: %s cannot be written to standard output (only csv and jsonl can); name a file: %s:members.%s",
			ErrDestination, target, kindArticle(kind), kind, kind)
	}
	switch kind {
	case "csv":
		return NewCSV(rest), nil
	case "jsonl":
		return NewJSONL(rest), nil
	case "parquet":
		return NewParquet(rest), nil
	case "arrow":
		return NewArrow(rest), nil
	case "roaring":
		return NewRoaring(rest), nil
	case "webhook":
		return NewWebhook(rest, WebhookOptions{})
	}
	conn, table, ok := strings.Cut(rest, "#")
	if !ok || conn == "" || table == "" {
		return nil, fmt.Errorf("%w %q: postgres needs CONNSTRING#TABLE (postgres://user@host/db#segment_members)", ErrDestination, redactTarget(target))
	}
	return NewPostgres(conn, table)
}

// targetHint suggests the target a newcomer meant when the kind is
// missing (kind ""), or unknown: a file name's extension names its kind,
// an http URL is a webhook.
func targetHint(target, kind string) string {
	if kind == "http" || kind == "https" {
		return fmt.Sprintf(" (did you mean webhook:%s?)", redactTarget(target))
	}
	if kind != "" {
		return ""
	}
	ext := strings.TrimPrefix(strings.ToLower(filepath.Ext(target)), ".")
	if slices.Contains(Kinds[:5], ext) {
		return fmt.Sprintf(" (did you mean %s:%s?)", ext, target)
	}
	return ""
}

// kindArticle returns "a csv file", "an arrow file".
func kindArticle(kind string) string {
	if strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind + " file"
	}
	return "a " + kind + " file"
}

func kindArgument(kind string) string {
	switch kind {
	case "webhook":
		return "a URL"
	case "postgres":
		return "CONNSTRING#TABLE"
	}
	return "a file name"
}

// redactTarget hides what may be a secret in a target, for messages
// about a target that did not parse: the user part of a URL (a user name
// before a password is kept, a lone user part may be a token), query
// values, and the passwords of keyword=value connection strings.
func redactTarget(target string) string {
	s := target
	if i := strings.Index(s, "://"); i >= 0 {
		rest := s[i+3:]
		end := len(rest)
		if q := strings.IndexAny(rest, "?#"); q >= 0 {
			end = q
		}
		// The last @ before the query: a password may hold a / or an @.
		if at := strings.LastIndex(rest[:end], "@"); at >= 0 {
			info := "xxxxx"
			if user, _, ok := strings.Cut(rest[:at], ":"); ok && !strings.Contains(user, "/") {
				info = user + ":xxxxx"
			}
			s = s[:i+3] + info + rest[at:]
		}
	}
	if q := strings.IndexByte(s, '?'); q >= 0 {
		query, frag, hasFrag := strings.Cut(s[q+1:], "#")
		parts := strings.Split(query, "&")
		for j, p := range parts {
			if k, _, ok := strings.Cut(p, "="); ok {
				parts[j] = k + "=xxxxx"
			} else if p != "" {
				parts[j] = "xxxxx"
			}
		}
		s = s[:q+1] + strings.Join(parts, "&")
		if hasFrag {
			s += "#" + frag
		}
	}
	// A connection string's passwords, also right after the kind.
	kind, rest, ok := strings.Cut(s, ":")
	if !ok {
		kind, rest = "", s
	}
	rest = kvPassword.ReplaceAllStringFunc(rest, func(m string) string {
		lead := m[:len(m)-len(strings.TrimLeft(m, " \t\r\n"))]
		name, _, _ := strings.Cut(strings.TrimSpace(m), "=")
		return lead + strings.TrimSpace(name) + "=xxxxx"
	})
	if !ok {
		return rest
	}
	return kind + ":" + rest
}

// KeepsColumns reports whether d writes every column of the batches it
// is given, as the files of csv:, jsonl:, parquet: and arrow: and the
// rows of webhook: do. A roaring: file keeps customer ids and keys only,
// and a postgres: table mirrors the columns its header names; a column
// added to a batch (a priority list's entry) would be lost in either.
// Destinations of other packages' making are taken to keep them.
func KeepsColumns(d Destination) bool {
	switch d := d.(type) {
	case *fileDest:
		return d.format != roaringFormat
	case *postgresDest:
		return false
	}
	return true
}
