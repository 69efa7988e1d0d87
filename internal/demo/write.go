package demo

import (
	"os"
	"strconv"
	"strings"

	"github.com/segmentkit/segmentkit/internal/exact"
)

// fileWriter appends rows to a byte buffer and writes it to the file in
// large chunks. Values are formatted with strconv appends: the writer runs
// for millions of fields, where fmt would dominate the time.
type fileWriter struct {
	f     *os.File
	buf   []byte
	bytes int64
	err   error
}

const flushAt = 256 << 10

func createFile(path string) (*fileWriter, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &fileWriter{f: f, buf: make([]byte, 0, flushAt+4096)}, nil
}

// endRow ends a CSV row and flushes when the buffer is full.
func (w *fileWriter) endRow() {
	w.buf = append(w.buf, '\n')
	if len(w.buf) >= flushAt {
		w.flush()
	}
}

func (w *fileWriter) flush() {
	if w.err == nil && len(w.buf) > 0 {
		var n int
		n, w.err = w.f.Write(w.buf)
		w.bytes += int64(n)
	}
	w.buf = w.buf[:0]
}

// close flushes and closes the file, returning the first error.
func (w *fileWriter) close() error {
	w.flush()
	if err := w.f.Close(); w.err == nil {
		w.err = err
	}
	return w.err
}

// appendPadded appends prefix and n zero-padded to width digits.
func appendPadded(b []byte, prefix string, n int, width int) []byte {
	b = append(b, prefix...)
	var tmp [20]byte
	d := strconv.AppendInt(tmp[:0], int64(n), 10)
	for i := len(d); i < width; i++ {
		b = append(b, '0')
	}
	return append(b, d...)
}

// appendFixed appends v / 10^scale with exactly scale decimals, for amounts
// held as integer cents and scores held as integer ten-thousandths.
func appendFixed(b []byte, v int64, scale int) []byte {
	if v < 0 {
		b = append(b, '-')
		v = -v
	}
	p := int64(1)
	for range scale {
		p *= 10
	}
	b = strconv.AppendInt(b, v/p, 10)
	b = append(b, '.')
	frac := v % p
	for q := p / 10; q > 0; q /= 10 {
		b = append(b, byte('0'+frac/q%10))
	}
	return b
}

// appendCSV appends s, quoted as RFC 4180 requires when it holds a comma,
// quote or line break.
func appendCSV(b []byte, s string) []byte {
	if !strings.ContainsAny(s, ",\"\r\n") {
		return append(b, s...)
	}
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' {
			b = append(b, '"')
		}
		b = append(b, s[i])
	}
	return append(b, '"')
}

// appendDate appends the calendar day d (days since 1970-01-01) as
// YYYY-MM-DD.
func appendDate(b []byte, d int32) []byte {
	y, m, dd := civil(int64(d))
	b = appendPadded(b, "", int(y), 4)
	b = append(b, '-', byte('0'+m/10), byte('0'+m%10), '-', byte('0'+dd/10), byte('0'+dd%10))
	return b
}

// appendDatetime appends the instant sec (seconds since the Unix epoch) in
// RFC 3339, UTC.
func appendDatetime(b []byte, sec int64) []byte {
	day := exact.FloorDiv(sec, 86400)
	rem := sec - day*86400
	b = appendDate(b, int32(day))
	h, mi, s := rem/3600, rem/60%60, rem%60
	return append(b, 'T', byte('0'+h/10), byte('0'+h%10), ':', byte('0'+mi/10), byte('0'+mi%10),
		':', byte('0'+s/10), byte('0'+s%10), 'Z')
}

// civil converts days since 1970-01-01 to a proleptic Gregorian date
// (Howard Hinnant's civil_from_days).
func civil(z int64) (year int64, month, day int) {
	z += 719468
	era := z / 146097
	if z < 0 && z%146097 != 0 {
		era = (z - 146096) / 146097
	}
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	y := yoe + era*400
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	d := doy - (153*mp+2)/5 + 1
	m := mp + 3
	if mp >= 10 {
		m = mp - 9
	}
	if m <= 2 {
		y++
	}
	return y, int(m), int(d)
}
