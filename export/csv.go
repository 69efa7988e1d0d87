package export

import (
	"encoding/csv"
	"io"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

var csvFormat = &fileFormat{name: "csv", stream: true, start: startCSV}

// NewCSV returns a destination that writes the export to the CSV file at
// path: a header row of the column names (the change column in a delta,
// the customer key, the fields), then one row per customer with each value
// in its text form (Header.Text; null is an empty field). The file appears
// at path whole when the export commits; a failed export leaves the file
// that was there. The path "-" writes standard output, which an aborted
// export cannot take back.
func NewCSV(path string) Destination { return &fileDest{format: csvFormat, path: path} }

// NewCSVTo returns a destination that writes CSV as NewCSV does to w, a
// stream, named name in String ("csv:" + name). Commit flushes; Abort
// cannot take back what was written and does nothing.
func NewCSVTo(w io.Writer, name string) Destination {
	return &fileDest{format: csvFormat, path: name, to: w}
}

type csvEncoder struct {
	h      *Header
	w      *csv.Writer
	record []string
}

func startCSV(h *Header, o *fileOutputs, _ memory.Allocator) (encoder, error) {
	out, err := o.create("")
	if err != nil {
		return nil, err
	}
	e := &csvEncoder{h: h, w: csv.NewWriter(out), record: make([]string, h.Schema.NumFields())}
	for i, f := range h.Schema.Fields() {
		e.record[i] = f.Name
	}
	if err := e.w.Write(e.record); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *csvEncoder) write(b *Batch) error {
	rec := b.Record
	for row := range int(rec.NumRows()) {
		for col := range e.record {
			e.record[col], _ = e.h.Text(rec, col, row)
		}
		if err := e.w.Write(e.record); err != nil {
			return err
		}
	}
	e.w.Flush()
	return e.w.Error()
}

func (e *csvEncoder) finish() error {
	e.w.Flush()
	return e.w.Error()
}

func (e *csvEncoder) release() {}
