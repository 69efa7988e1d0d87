package export

import (
	"fmt"
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
// An error wraps ErrDestination and says what is wrong, with the nearest
// kind for a misspelt one.
func ParseDestination(target string) (Destination, error) {
	kind, rest, ok := strings.Cut(strings.TrimSpace(target), ":")
	if !ok || kind == "" {
		return nil, fmt.Errorf("%w %q: write KIND:WHERE, with KIND one of %s (csv:members.csv, webhook:https://..., postgres:CONNSTRING#TABLE)",
			ErrDestination, redactTarget(target), strings.Join(Kinds, ", "))
	}
	kind = strings.ToLower(kind)
	if !slices.Contains(Kinds, kind) {
		hint := ""
		if s := diag.Nearest(kind, Kinds); s != "" {
			hint = fmt.Sprintf(" (did you mean %s?)", s)
		}
		return nil, fmt.Errorf("%w %q: unknown kind %q; the kinds are %s%s", ErrDestination, redactTarget(target), kind, strings.Join(Kinds, ", "), hint)
	}
	if rest == "" {
		return nil, fmt.Errorf("%w %q: %s needs %s after the colon", ErrDestination, redactTarget(target), kind, kindArgument(kind))
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

func kindArgument(kind string) string {
	switch kind {
	case "webhook":
		return "a URL"
	case "postgres":
		return "CONNSTRING#TABLE"
	}
	return "a file name"
}

// redactTarget hides what looks like a password in a target for messages.
func redactTarget(target string) string {
	if i := strings.Index(target, "://"); i >= 0 {
		if j := strings.Index(target[i+3:], "@"); j >= 0 {
			user := target[i+3 : i+3+j]
			if u, _, ok := strings.Cut(user, ":"); ok {
				return target[:i+3] + u + ":xxxxx" + target[i+3+j:]
			}
		}
	}
	return target
}
