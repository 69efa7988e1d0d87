// Package regular opens and reads the files a user names (data files,
// schema.json, definitions) only when they are regular files: a named
// pipe with no writer would block the open, and a device such as
// /dev/zero never ends. It is segmentkit's one rule for that.
package regular

import (
	"io"
	"io/fs"
	"os"

	"github.com/segmentkit/segmentkit/diag"
)

// ErrNotRegular: the path names a FIFO, a device, a socket or a directory.
// The error's message says which.
var ErrNotRegular = diag.NewSentinel("file.not_regular", "not a regular file")

// ErrTooLong: a file holds more bytes than ReadFile's limit.
var ErrTooLong = diag.NewSentinel("file.too_long", "file too long")

// notRegular is the error for what is not a regular file: what it is.
type notRegular string

func (e notRegular) Error() string   { return "is " + string(e) }
func (notRegular) Is(err error) bool { return err == ErrNotRegular }

// Open opens path for reading if it is a regular file (symbolic links
// followed). It opens without blocking and checks what it opened, not
// what the name named a moment before. Other errors are the operating
// system's (errors.Is(err, fs.ErrNotExist)).
func Open(path string) (*os.File, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openNonblock, 0)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if err := Check(st); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// Check returns nil if st is a regular file's, and an error wrapping
// ErrNotRegular that says what it is otherwise.
func Check(st fs.FileInfo) error {
	m := st.Mode()
	switch {
	case m.IsRegular():
		return nil
	case m.IsDir():
		return notRegular("a directory, not a file")
	case m&fs.ModeNamedPipe != 0:
		return notRegular("a named pipe (FIFO), not a regular file")
	case m&fs.ModeDevice != 0:
		return notRegular("a device, not a regular file")
	case m&fs.ModeSocket != 0:
		return notRegular("a socket, not a regular file")
	}
	return notRegular("not a regular file")
}

// ReadFile reads the regular file path if it holds at most limit bytes; a
// longer one gives ErrTooLong, having read no more than limit+1 bytes.
func ReadFile(path string, limit int64) ([]byte, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ReadAtMost(f, limit)
}

// ReadAtMost reads r to its end if it holds at most limit bytes, and
// returns ErrTooLong, having read limit+1, if it holds more.
func ReadAtMost(r io.Reader, limit int64) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, ErrTooLong
	}
	return data, nil
}
