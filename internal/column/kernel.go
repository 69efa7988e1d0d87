package column

import (
	"math"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is what a kernel tests, fixed when it is built.
type Kind uint8

const (
	KindNull Kind = iota
	KindNotNull
	KindInts   // integer, date, datetime: value in one of ir
	KindFloats // number: value in one of fr
	KindStrings
	KindBool
	KindNone // no value matches (still false on null)
)

// IRange is an inclusive range of int64 values.
type IRange struct{ Lo, Hi int64 }

// FRange is a range of float64 values with open or closed ends.
type FRange struct {
	Lo, Hi         float64
	LoOpen, HiOpen bool
}

// Has reports whether x is in the range; NaN never is.
func (r FRange) Has(x float64) bool {
	return (x > r.Lo || !r.LoOpen && x == r.Lo) && (x < r.Hi || !r.HiOpen && x == r.Hi)
}

// Kernel is a predicate bound to its operand and as-of instant, ready to run
// over a column. All dispatch on type and operator happens when it is built;
// the loops in eval are per kind only.
type Kernel struct {
	Kind Kind
	// Negate selects the non-null values that do NOT match (notEquals,
	// notIn, notContains).
	Negate bool
	IR     []IRange
	FR     []FRange
	Match  func(string) bool
	Want   bool
	// Needle, when not empty, is a contains (or notContains) operand:
	// plain string columns then search their whole value buffer at once
	// instead of row by row. With fold set the Needle is folded and ASCII,
	// and the buffer is searched under ASCII case folding.
	Needle string
	Fold   *FoldNeedle
	// Affix, when not nil, tests startsWith or endsWith on plain string
	// columns in place.
	Affix *Affix
	// Hit holds the results per dictionary entry of the column being
	// evaluated; see Prepare.
	Hit Bitset
}

// MergeRanges sorts rs and merges the ranges that overlap or touch, in
// place; it returns the merged ranges, sorted and disjoint, as InRanges
// wants them.
func MergeRanges(rs []IRange) []IRange {
	slices.SortFunc(rs, func(a, b IRange) int {
		switch {
		case a.Lo < b.Lo:
			return -1
		case a.Lo > b.Lo:
			return 1
		}
		return 0
	})
	out := rs[:0]
	for _, r := range rs {
		if n := len(out); n > 0 && (r.Lo <= out[n-1].Hi || out[n-1].Hi != math.MaxInt64 && r.Lo == out[n-1].Hi+1) {
			out[n-1].Hi = max(out[n-1].Hi, r.Hi)
			continue
		}
		out = append(out, r)
	}
	return out
}

// foldRune maps r to one fixed member of its simple case folding orbit (the
// smallest), so that two strings are equal under simple Unicode case folding
// exactly when their folded forms are equal.
func foldRune(r rune) rune {
	m := r
	for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
		m = min(m, f)
	}
	return m
}

// FoldString returns s under simple Unicode case folding, each rune
// mapped to one fixed member of its orbit (ASCII letters to upper case),
// so that two strings are equal under case folding exactly when their
// folded forms are equal.
func FoldString(s string) string {
	ascii := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= utf8.RuneSelf || c >= 'a' && c <= 'z' {
			ascii = false
			break
		}
	}
	if ascii {
		return s
	}
	return strings.Map(foldRune, s)
}

// The folded comparisons below take s folded already (foldString) and fold
// x rune by rune as they go, as foldString would, without a folded copy of
// x: invalid UTF-8 in x decodes, and folds, to U+FFFD a byte at a time,
// as in foldString.

// foldAt returns the first rune of x folded, and its width.
func foldAt(x string) (rune, int) {
	if c := x[0]; c < utf8.RuneSelf {
		return rune(upperByte(c)), 1 // an ASCII letter folds to its upper case
	}
	r, n := utf8.DecodeRuneInString(x)
	return foldRune(r), n
}

// EqualFold reports whether foldString(x) == s.
func EqualFold(x, s string) bool {
	x, ok := trimPrefixFold(x, s)
	return ok && x == ""
}

// HasPrefixFold reports whether foldString(x) starts with s.
func HasPrefixFold(x, s string) bool {
	_, ok := trimPrefixFold(x, s)
	return ok
}

// trimPrefixFold returns x without the prefix that folds to s, and whether
// there is one.
func trimPrefixFold(x, s string) (string, bool) {
	for s != "" {
		if x == "" {
			return x, false
		}
		rx, nx := foldAt(x)
		rs, ns := utf8.DecodeRuneInString(s)
		if rx != rs {
			return x, false
		}
		x, s = x[nx:], s[ns:]
	}
	return x, true
}

// HasSuffixFold reports whether foldString(x) ends with s.
func HasSuffixFold(x, s string) bool {
	for s != "" {
		if x == "" {
			return false
		}
		rx, nx := utf8.DecodeLastRuneInString(x)
		rs, ns := utf8.DecodeLastRuneInString(s)
		if foldRune(rx) != rs {
			return false
		}
		x, s = x[:len(x)-nx], s[:len(s)-ns]
	}
	return true
}

// ContainsFold reports whether foldString(x) contains s.
func ContainsFold(x, s string) bool {
	for {
		if HasPrefixFold(x, s) {
			return true
		}
		if x == "" {
			return false
		}
		_, n := utf8.DecodeRuneInString(x)
		x = x[n:]
	}
}

// IsASCII reports whether s has only ASCII bytes.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}
