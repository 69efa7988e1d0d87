package export

import "github.com/apache/arrow-go/v18/arrow/memory"

// WithFileAllocator returns a copy of the file destination d whose
// encoders allocate their Arrow memory from mem, so that tests can check
// that the Parquet and Arrow writers release it. It exists in tests only.
func WithFileAllocator(d Destination, mem memory.Allocator) Destination {
	c := *d.(*fileDest)
	c.mem = mem
	return &c
}
