package export

import (
	"fmt"

	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/apache/arrow-go/v18/parquet"
	"github.com/apache/arrow-go/v18/parquet/compress"
	"github.com/apache/arrow-go/v18/parquet/pqarrow"
)

var parquetFormat = &fileFormat{name: "parquet", start: startParquet}

// Parquet row groups: batches are small (DefaultBatchSize rows), and a
// row group per batch would make a footer of thousands of row groups, so
// batches are buffered into row groups of up to parquetRowGroupRows rows
// or parquetRowGroupBytes encoded bytes, whichever comes first. That
// bounds the memory an export holds to one row group's encoded pages.
const (
	parquetRowGroupRows  = 64 << 10
	parquetRowGroupBytes = 16 << 20
)

// NewParquet returns a destination that writes the export to the Parquet
// file at path, with typed columns: the schema is the header's Arrow
// schema (storage.ArrowType of each field; the change column and the key are
// strings), stored in the file so that Arrow readers get it back exactly.
// Columns are Snappy-compressed, in row groups of at most 65536 rows. The
// file appears at path whole when the export commits; a failed export
// leaves the file that was there.
func NewParquet(path string) Destination { return &fileDest{format: parquetFormat, path: path} }

type parquetEncoder struct {
	fw     *pqarrow.FileWriter
	cut    bool // start a new row group before the next batch
	closed bool
}

func startParquet(h *Header, o *fileOutputs, mem memory.Allocator) (encoder, error) {
	out, err := o.create("")
	if err != nil {
		return nil, err
	}
	props := parquet.NewWriterProperties(
		parquet.WithAllocator(mem),
		parquet.WithCompression(compress.Codecs.Snappy),
		parquet.WithMaxRowGroupLength(parquetRowGroupRows),
	)
	fw, err := pqarrow.NewFileWriter(h.Schema, out, props,
		pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema()))
	if err != nil {
		return nil, err
	}
	return &parquetEncoder{fw: fw}, nil
}

func (e *parquetEncoder) write(b *Batch) (err error) {
	defer recoverEncoder("Parquet", &err)
	if e.cut {
		if err := e.fw.NewBufferedRowGroupChecked(); err != nil {
			return err
		}
		e.cut = false
	}
	if err := e.fw.WriteBuffered(b.Record); err != nil {
		return err
	}
	n, err := e.fw.RowGroupNumRows()
	if err != nil {
		return err
	}
	e.cut = n >= parquetRowGroupRows || e.fw.RowGroupTotalBytesWritten() >= parquetRowGroupBytes
	return nil
}

func (e *parquetEncoder) finish() (err error) {
	defer recoverEncoder("Parquet", &err)
	e.closed = true
	return e.fw.Close()
}

func (e *parquetEncoder) release() {
	if !e.closed {
		e.closed = true
		// Closing writes a footer into the temporary file, which is
		// removed; it is what frees the buffered row group.
		func() {
			defer func() { _ = recover() }()
			_ = e.fw.Close()
		}()
	}
}

// recoverEncoder turns a panic of an Arrow encoder into an error: the
// export fails, the process does not.
func recoverEncoder(format string, err *error) {
	if p := recover(); p != nil {
		*err = fmt.Errorf("the %s encoder failed: %v", format, p)
	}
}
