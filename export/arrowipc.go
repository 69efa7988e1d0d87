package export

import (
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

var arrowFormat = &fileFormat{name: "arrow", start: startArrow}

// NewArrow returns a destination that writes the export to the Arrow IPC
// file at path (the random-access file format, ipc.NewFileReader reads
// it), with typed columns in the header's Arrow schema, one record batch
// per export batch. The file appears at path whole when the export
// commits; a failed export leaves the file that was there.
func NewArrow(path string) Destination { return &fileDest{format: arrowFormat, path: path} }

type arrowEncoder struct {
	fw     *ipc.FileWriter
	closed bool
}

func startArrow(h *Header, o *fileOutputs, mem memory.Allocator) (encoder, error) {
	out, err := o.create("")
	if err != nil {
		return nil, err
	}
	fw, err := ipc.NewFileWriter(out, ipc.WithSchema(h.Schema), ipc.WithAllocator(mem))
	if err != nil {
		return nil, err
	}
	return &arrowEncoder{fw: fw}, nil
}

func (e *arrowEncoder) write(b *Batch) (err error) {
	defer recoverEncoder("Arrow IPC", &err)
	return e.fw.Write(b.Record)
}

func (e *arrowEncoder) finish() (err error) {
	defer recoverEncoder("Arrow IPC", &err)
	e.closed = true
	return e.fw.Close()
}

func (e *arrowEncoder) release() {
	if !e.closed {
		e.closed = true
		func() {
			defer func() { _ = recover() }()
			_ = e.fw.Close()
		}()
	}
}
