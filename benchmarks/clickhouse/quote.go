package clickhouse

import "strings"

// ClickHouse reads a backslash in a quoted string or identifier as an
// escape: \\ is a backslash, \' a quote, \0 a NUL byte.
var (
	literalEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, "\x00", `\0`)
	identEscaper   = strings.NewReplacer(`\`, `\\`, "`", "\\`", "\x00", `\0`)
)

// Quote returns s as a ClickHouse string literal, quoted and escaped.
func Quote(s string) string { return "'" + literalEscaper.Replace(s) + "'" }

// QuoteIdent returns name as a ClickHouse identifier in backquotes,
// escaped.
func QuoteIdent(name string) string { return "`" + identEscaper.Replace(name) + "`" }
