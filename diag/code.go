package diag

import (
	"errors"
	"fmt"
	"slices"
	"sync"
)

// A sentinel is an error kind with a stable code. Its identity is the
// pointer: two sentinels with the same text are different kinds.
type sentinel struct {
	code, text string
}

func (s *sentinel) Error() string { return s.text }

var registry = struct {
	sync.RWMutex
	byCode map[string]*sentinel
	former map[string]*sentinel // codes sentinels had before, see RenameCode
}{byCode: map[string]*sentinel{}}

// NewSentinel returns a new sentinel error whose message is text,
// registered under code. Every exported sentinel of segmentkit is made
// with it, so that [Code] names the kind of any error that wraps one and
// [Sentinel] gives the kind back from the code (the catalog stores
// problems that way).
//
// A code is a stable name, never derived from the message: the package
// that declares the sentinel, a dot, and lower-case words joined by '_'
// ("segment.unknown_attribute"). Messages may be reworded; codes may not
// change once released. NewSentinel panics when code is malformed or
// already registered: two kinds with one code are a programming error,
// caught when the program starts.
func NewSentinel(code, text string) error {
	if !validCode(code) {
		panic(fmt.Sprintf("BUG: diag.NewSentinel: malformed code %q", code))
	}
	s := &sentinel{code: code, text: text}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.byCode[code]; dup {
		panic(fmt.Sprintf("BUG: diag.NewSentinel: code %q is registered twice", code))
	}
	registry.byCode[code] = s
	return s
}

// Code returns the stable code of the sentinel err is or wraps, as
// errors.As finds it (depth first: for a [List], the first problem's
// sentinel that has one), or "" when err wraps no sentinel made by
// [NewSentinel]. For a single [Problem] it is the code of its Err.
func Code(err error) string {
	var s *sentinel
	if errors.As(err, &s) {
		return s.code
	}
	return ""
}

// Sentinel returns the sentinel registered under code (or under a former
// code, see [RenameCode]), or nil when none is. errors.Is(err,
// Sentinel(Code(err))) holds for every err with a code.
func Sentinel(code string) error {
	registry.RLock()
	defer registry.RUnlock()
	if s, ok := registry.byCode[code]; ok {
		return s
	}
	if s, ok := registry.former[code]; ok {
		return s
	}
	return nil
}

// RenameCode records that the sentinel s, made by [NewSentinel], was
// known by the code former before it moved to the package its code names
// now: Sentinel(former) returns s, so that codes stored or sent by older
// versions keep their meaning. Code(err) gives the new code. RenameCode
// panics when former is malformed or taken, or s is not a sentinel.
func RenameCode(former string, s error) {
	sen, ok := s.(*sentinel)
	if !ok || !validCode(former) {
		panic(fmt.Sprintf("BUG: diag.RenameCode(%q, %v)", former, s))
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.byCode[former]; dup {
		panic(fmt.Sprintf("BUG: diag.RenameCode: code %q is registered", former))
	}
	if registry.former == nil {
		registry.former = map[string]*sentinel{}
	}
	registry.former[former] = sen
}

// Codes returns every registered code, sorted.
func Codes() []string {
	registry.RLock()
	defer registry.RUnlock()
	out := make([]string, 0, len(registry.byCode))
	for c := range registry.byCode {
		out = append(out, c)
	}
	slices.Sort(out)
	return out
}

// validCode reports whether code is two or more dot-separated words of
// lower-case letters, digits and '_', each starting with a letter.
func validCode(code string) bool {
	start, words := true, 0
	for i := 0; i < len(code); i++ {
		c := code[i]
		switch {
		case c >= 'a' && c <= 'z':
			if start {
				words++
			}
			start = false
		case !start && (c >= '0' && c <= '9' || c == '_'):
		case !start && c == '.':
			start = true
		default:
			return false
		}
	}
	return !start && words >= 2
}
