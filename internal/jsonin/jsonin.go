// Package jsonin holds the rules segmentkit applies to the text of every
// JSON document a user writes (schema.json, definitions) before it is
// decoded: a byte order mark at the start is skipped, and bytes that are
// not UTF-8 are an error rather than U+FFFD, which encoding/json would
// silently read them as.
package jsonin

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// BOM is the UTF-8 byte order mark.
var BOM = []byte("\xEF\xBB\xBF")

// Text checks data as the text of a JSON document: it returns data without
// a leading byte order mark, or an error that names the line and column of
// the first byte that is not UTF-8.
func Text(data []byte) ([]byte, error) {
	data = bytes.TrimPrefix(data, BOM)
	if utf8.Valid(data) {
		return data, nil
	}
	for i := 0; i < len(data); {
		r, n := utf8.DecodeRune(data[i:])
		if r == utf8.RuneError && n == 1 {
			line, col := Position(data, i)
			return nil, fmt.Errorf("line %d, column %d: byte 0x%02x is not UTF-8 (save the file as UTF-8)", line, col, data[i])
		}
		i += n
	}
	return data, nil
}

// BOMAt reports whether a byte order mark starts at offset: a decoder's
// "invalid character 'ï'" is better said as what it is.
func BOMAt(data []byte, offset int) bool {
	return offset >= 0 && offset <= len(data) && bytes.HasPrefix(data[offset:], BOM)
}

// BOMMessage says what a byte order mark after the start is.
const BOMMessage = "a byte order mark (U+FEFF) where JSON must continue; only one, at the very start, is allowed"

// Position returns the 1-based line and column of the byte at offset.
func Position(data []byte, offset int) (line, col int) {
	offset = min(max(offset, 0), len(data))
	before := data[:offset]
	line = bytes.Count(before, []byte("\n")) + 1
	col = offset - bytes.LastIndexByte(before, '\n')
	return line, col
}
