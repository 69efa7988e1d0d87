package export

import (
	"io"

	"github.com/apache/arrow-go/v18/arrow/memory"
)

var jsonlFormat = &fileFormat{name: "jsonl", stream: true, start: startJSONL}

// NewJSONL returns a destination that writes the export to the JSON Lines
// file at path: one JSON object per customer and line, its members the
// columns in order (Header.AppendJSONRow: numbers and booleans as JSON
// numbers and booleans, other values as strings in their text form, null
// as null). The file appears at path whole when the export commits; a
// failed export leaves the file that was there. The path "-" writes
// standard output, which an aborted export cannot take back.
func NewJSONL(path string) Destination { return &fileDest{format: jsonlFormat, path: path} }

// NewJSONLTo returns a destination that writes JSON Lines as NewJSONL
// does to w, a stream, named name in String ("jsonl:" + name). Commit
// flushes; Abort cannot take back what was written and does nothing.
func NewJSONLTo(w io.Writer, name string) Destination {
	return &fileDest{format: jsonlFormat, path: name, to: w}
}

// jsonlFlushSize is how much a JSON Lines batch buffers before writing.
const jsonlFlushSize = 64 << 10

type jsonlEncoder struct {
	h   *Header
	w   io.Writer
	buf []byte
}

func startJSONL(h *Header, o *fileOutputs, _ memory.Allocator) (encoder, error) {
	out, err := o.create("")
	if err != nil {
		return nil, err
	}
	return &jsonlEncoder{h: h, w: out}, nil
}

func (e *jsonlEncoder) write(b *Batch) error {
	rec := b.Record
	buf := e.buf[:0]
	for row := range int(rec.NumRows()) {
		buf = e.h.AppendJSONRow(buf, rec, row)
		buf = append(buf, '\n')
		if len(buf) >= jsonlFlushSize {
			if _, err := e.w.Write(buf); err != nil {
				return err
			}
			buf = buf[:0]
		}
	}
	_, err := e.w.Write(buf)
	e.buf = buf[:0]
	return err
}

func (e *jsonlEncoder) finish() error { return nil }

func (e *jsonlEncoder) release() {}
