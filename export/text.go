package export

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/schema"
)

// How text destinations (CSV, JSON Lines, the webhook) write values: as
// the data directory's CSV files write them (storage.Column.Format), with
// a measure's number as exact.FormatNumber prints it (as a download
// does).

// Text returns the value of column col of rec at row as text, and false
// for null. Columns follow h.Schema: the change and key columns are text;
// a field column's number prints as the data's CSV files write it, or
// with at most 15 significant digits for a measure.
func (h *Header) Text(rec arrow.RecordBatch, col, row int) (string, bool) {
	arr := rec.Column(col)
	if arr.IsNull(row) {
		return "", false
	}
	switch a := arr.(type) {
	case *array.String:
		return a.Value(row), true
	case *array.Int64:
		return strconv.FormatInt(a.Value(row), 10), true
	case *array.Float64:
		if h.isMeasure(col) {
			return exact.FormatNumber(a.Value(row)), true
		}
		return strconv.FormatFloat(a.Value(row), 'g', -1, 64), true
	case *array.Date32:
		return exact.FormatDay(int64(a.Value(row))), true
	case *array.Timestamp:
		return exact.FormatMicros(int64(a.Value(row))), true
	case *array.Boolean:
		return strconv.FormatBool(a.Value(row)), true
	}
	return arr.ValueStr(row), true
}

// isMeasure reports whether column col of the schema is a measure field.
func (h *Header) isMeasure(col int) bool {
	return strings.HasPrefix(h.Schema.Field(col).Name, schema.MeasuresEntity+".")
}

// AppendJSONRow appends row of rec as one JSON object, its members the
// schema's columns in order: numbers and booleans as JSON numbers and
// booleans, the rest (dates and datetimes too) as strings in their text
// form, null as null.
func (h *Header) AppendJSONRow(buf []byte, rec arrow.RecordBatch, row int) []byte {
	buf = append(buf, '{')
	for col, f := range h.Schema.Fields() {
		if col > 0 {
			buf = append(buf, ',')
		}
		buf = AppendJSONString(buf, f.Name)
		buf = append(buf, ':')
		buf = h.appendJSONValue(buf, rec, col, row)
	}
	return append(buf, '}')
}

func (h *Header) appendJSONValue(buf []byte, rec arrow.RecordBatch, col, row int) []byte {
	arr := rec.Column(col)
	if arr.IsNull(row) {
		return append(buf, "null"...)
	}
	switch a := arr.(type) {
	case *array.Int64:
		return strconv.AppendInt(buf, a.Value(row), 10)
	case *array.Float64:
		if v := a.Value(row); math.IsInf(v, 0) || math.IsNaN(v) {
			return append(buf, "null"...)
		}
		s, _ := h.Text(rec, col, row)
		return append(buf, s...)
	case *array.Boolean:
		return strconv.AppendBool(buf, a.Value(row))
	}
	s, _ := h.Text(rec, col, row)
	return AppendJSONString(buf, s)
}

// AppendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as encoding/json writes it.
func AppendJSONString(buf []byte, s string) []byte {
	const hex = "0123456789abcdef"
	buf = append(buf, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				buf = append(buf, '\\', c)
			case c == '\n':
				buf = append(buf, '\\', 'n')
			case c == '\r':
				buf = append(buf, '\\', 'r')
			case c == '\t':
				buf = append(buf, '\\', 't')
			case c < 0x20:
				buf = append(buf, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				buf = append(buf, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			buf = append(buf, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			buf = append(buf, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			buf = append(buf, s[i:i+size]...)
		}
		i += size
	}
	return append(buf, '"')
}
