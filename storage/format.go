package storage

import (
	"strconv"
	"time"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
)

// Format returns the value at row as text, exactly as it is written in a
// CSV data file: "" for null; integers in decimal; numbers as
// strconv.FormatFloat(v, 'g', -1, 64); strings as they are; dates as
// YYYY-MM-DD; datetimes as RFC 3339 in UTC, with fractional seconds only
// when they are not zero; booleans as true or false. row must be in
// [0, Data.Len()). Format is safe for concurrent use.
func (c *Column) Format(row int) string {
	if c.Data.IsNull(row) {
		return ""
	}
	switch a := c.Data.(type) {
	case *array.Int64:
		return strconv.FormatInt(a.Value(row), 10)
	case *array.Float64:
		return strconv.FormatFloat(a.Value(row), 'g', -1, 64)
	case *array.String:
		return a.Value(row)
	case *array.Dictionary:
		i := a.GetValueIndex(row)
		if d, ok := a.Dictionary().(*array.String); ok && i >= 0 && i < d.Len() && d.IsValid(i) {
			return d.Value(i)
		}
		return ""
	case *array.Date32:
		return formatDate(a.Value(row))
	case *array.Timestamp:
		return formatDatetime(int64(a.Value(row)))
	case *array.Boolean:
		return strconv.FormatBool(a.Value(row))
	}
	return c.Data.ValueStr(row)
}

func formatDate(d arrow.Date32) string {
	return time.Unix(int64(d)*secondsPerDay, 0).UTC().Format(time.DateOnly)
}

func formatDatetime(us int64) string {
	return time.UnixMicro(us).UTC().Format(time.RFC3339Nano)
}
