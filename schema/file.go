package schema

import (
	"errors"
	"fmt"

	"github.com/segmentkit/segmentkit/internal/exact"
	"github.com/segmentkit/segmentkit/internal/regular"
)

// ReadFile reads the schema.json at path, which must be a regular file (a
// FIFO or a device is refused at once, not read until it ends) of at most
// MaxSchemaBytes (a longer one is an error wrapping ErrLimit). Errors of
// the file system are the operating system's, naming path
// (errors.Is(err, fs.ErrNotExist)). Parse reads what it returns.
func ReadFile(path string) ([]byte, error) {
	data, err := regular.ReadFile(path, MaxSchemaBytes)
	switch {
	case errors.Is(err, regular.ErrTooLong):
		return nil, fmt.Errorf("%s: %w: the file is larger than %s bytes, the most a schema may have",
			path, ErrLimit, exact.FormatCount(MaxSchemaBytes))
	case errors.Is(err, regular.ErrNotRegular):
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return data, err
}
