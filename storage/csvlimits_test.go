package storage

import (
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/stretchr/testify/require"
)

const limitsSchema = `{"customerEntity": "P", "entities": [{"name": "P", "key": "K", "source": "P.csv",
  "attributes": [{"name": "K", "type": "integer"}, {"name": "S", "type": "string"}]}]}`

// TestCSVFieldAndRecordLimits: a field longer than MaxFieldBytes and a
// record longer than MaxRecordBytes are refused with ErrLimit, the line
// (and the field's column), and fields and records of exactly the
// limits load.
func TestCSVFieldAndRecordLimits(t *testing.T) {
	// wide is a header of 17 columns and one row whose record (its
	// fields, commas and line break) has size bytes, no field longer than
	// MaxFieldBytes.
	wide := func(size int) string {
		var b strings.Builder
		b.WriteString("K,S")
		for i := 2; i < 17; i++ {
			fmt.Fprintf(&b, ",x%d", i)
		}
		b.WriteString("\n1")
		left := size - 2 // "1" and the line break
		for i := 1; i < 17; i++ {
			n := min(MaxFieldBytes, left-1-(16-i)) // leave a comma for each field to come
			b.WriteString("," + strings.Repeat("v", n))
			left -= 1 + n
		}
		b.WriteString("\n")
		return b.String()
	}
	for _, tc := range []struct {
		name, csv, want string
	}{
		{"field one byte too long", "K,S\n1,a\n2," + strings.Repeat("é", MaxFieldBytes/2) + "x\n",
			"P.csv:3: column S: a field of 1,048,577 bytes is longer than 1,048,576 (storage.MaxFieldBytes)"},
		{"field too long in a quoted field over lines", "K,S\n1,\"" + strings.Repeat("ab\n", MaxFieldBytes/3+1) + "\"\n",
			"P.csv:2: column S: a field of 1,048,578 bytes is longer than"},
		{"field of an unnamed column", "K,S,\n1,a," + strings.Repeat("v", MaxFieldBytes+1) + "\n",
			"P.csv:2: column 3: a field of 1,048,577 bytes"},
		{"record too long", wide(MaxRecordBytes + 1),
			"P.csv:2: a record longer than 16,777,216 bytes (storage.MaxRecordBytes) starts here"},
		{"header too long", strings.Repeat("h", MaxRecordBytes+1) + "\n",
			"P.csv:1: a record longer than 16,777,216 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			dir := writeDir(t, limitsSchema, map[string]string{"P.csv": tc.csv})
			_, err := Load(t.Context(), dir, Options{Allocator: mem})
			require.ErrorIs(t, err, ErrLimit)
			// The message quotes no value: it stays short.
			require.Less(t, len(err.Error()), 300, clip(err.Error()))
			require.Contains(t, err.Error(), tc.want)
		})
	}
	// At the limits: a field of MaxFieldBytes, a record of MaxRecordBytes.
	mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
	defer mem.AssertSize(t, 0)
	field := "K,S\n1," + strings.Repeat("v", MaxFieldBytes) + "\n"
	snap, err := Load(t.Context(), writeDir(t, limitsSchema, map[string]string{"P.csv": field}), Options{Allocator: mem})
	require.NoError(t, err)
	require.Len(t, snap.Customers().Column("S").Format(0), MaxFieldBytes)
	snap.Release()
	rec := wide(MaxRecordBytes)
	require.Equal(t, MaxRecordBytes, len(rec)-strings.IndexByte(rec, '\n')-1)
	snap, err = Load(t.Context(), writeDir(t, limitsSchema, map[string]string{"P.csv": rec}), Options{Allocator: mem})
	require.NoError(t, err)
	snap.Release()
}

// endless is a reader that never ends: the pattern, again and again; it
// counts the bytes it gave.
type endless struct {
	pattern []byte
	n       int64
}

func (e *endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = e.pattern[(e.n+int64(i))%int64(len(e.pattern))]
	}
	e.n += int64(len(p))
	return len(p), nil
}

// TestCSVEndlessRecord: a source that is one endless record (zeros, as
// /dev/zero gives, or one endless line) fails with ErrLimit having read
// no more than a record's limit and a read buffer, in bounded memory.
func TestCSVEndlessRecord(t *testing.T) {
	sch := mustParseSchema(t, limitsSchema)
	ent, _ := sch.Entity("P")
	for _, tc := range []struct {
		name    string
		pattern string
		line    string
	}{
		{"zeros", "\x00", "P.csv:1: a record"},
		{"an endless row after the header", "", "P.csv:2: a record"},
		{"an endless quoted field", "", "P.csv:2: a record"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			e := &endless{pattern: []byte(tc.pattern)}
			var r io.Reader = e
			switch tc.name {
			case "an endless row after the header":
				e.pattern = []byte("x")
				r = io.MultiReader(strings.NewReader("K,S\n1,"), e)
			case "an endless quoted field":
				e.pattern = []byte("y\n")
				r = io.MultiReader(strings.NewReader("K,S\n1,\""), e)
			}
			_, _, err := readCSV(t.Context(), r, 0, "P.csv", 0, ent, ErrTooManyCustomers, mem, nil)
			require.ErrorIs(t, err, ErrLimit)
			require.Contains(t, err.Error(), tc.line)
			require.LessOrEqual(t, e.n, int64(MaxRecordBytes+2*csvReadAhead))
		})
	}
}

// TestCSVCancelEndless: cancelling a load that reads an endless source,
// of short rows or of one endless field, returns within 100 ms with the
// context's error.
func TestCSVCancelEndless(t *testing.T) {
	sch := mustParseSchema(t, limitsSchema)
	ent, _ := sch.Entity("P")
	for _, tc := range []struct {
		name string
		r    func() io.Reader
	}{
		{"rows", func() io.Reader {
			return io.MultiReader(strings.NewReader("K,S\n"), &endless{pattern: []byte("1,abc\n")})
		}},
		{"a slow endless field", func() io.Reader {
			return io.MultiReader(strings.NewReader("K,S\n1,"), &slow{r: &endless{pattern: []byte("x")}})
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mem := memory.NewCheckedAllocator(memory.NewGoAllocator())
			defer mem.AssertSize(t, 0)
			ctx, cancel := context.WithCancel(t.Context())
			done := make(chan error, 1)
			go func() {
				_, _, err := readCSV(ctx, tc.r(), 0, "P.csv", 0, ent, ErrTooManyCustomers, mem, nil)
				done <- err
			}()
			time.Sleep(50 * time.Millisecond)
			cancel()
			start := time.Now()
			select {
			case err := <-done:
				require.ErrorIs(t, err, context.Canceled)
				require.Less(t, time.Since(start), 100*time.Millisecond)
			case <-time.After(5 * time.Second):
				require.Fail(t, "readCSV did not return after its context was cancelled")
			}
		})
	}
}

// slow is a reader that gives a little at a time, as a pipe or a slow
// disk does.
type slow struct{ r io.Reader }

func (s *slow) Read(p []byte) (int, error) {
	time.Sleep(time.Millisecond)
	return s.r.Read(p[:min(len(p), 512)])
}

// clip shortens s for a failure message.
func clip(s string) string { return s[:min(len(s), 300)] }
